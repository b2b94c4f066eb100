import { css } from 'lit';
import { themeStyles } from '../shared/theme.js';

export const styles = [
  themeStyles('av-file'),
  css`
  :host {
    display: block;
    box-sizing: border-box;
  }
  :host([hidden]) {
    display: none;
  }
  *,
  *::before,
  *::after {
    box-sizing: inherit;
  }
  .drop {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: var(--_space-s);
    padding: var(--av-file-gap, var(--_space-m));
    border: 2px dashed var(--av-file-border-color, var(--_border));
    border-radius: var(--_radius);
  }
  .drop.over {
    border-color: var(--_accent);
    background: var(--av-file-drop-background, color-mix(in srgb, var(--_accent) 10%, var(--_bg)));
  }
  button,
  select {
    font: inherit;
    min-height: 2.75rem;
    border-radius: calc(var(--_radius) * 2 / 3);
  }
  button {
    padding: 0.4rem 0.9rem;
    border: 0;
    background: var(--_accent);
    color: var(--_on-accent);
    cursor: pointer;
  }
  button.secondary {
    background: var(--av-file-secondary-background, color-mix(in srgb, var(--_fg) 12%, var(--_bg)));
    color: inherit;
  }
  button:focus-visible,
  select:focus-visible,
  a:focus-visible {
    outline: 3px solid var(--_accent);
    outline-offset: 2px;
  }
  input[type='file'] {
    position: absolute;
    width: 1px;
    height: 1px;
    opacity: 0;
    pointer-events: none;
  }
  ul {
    list-style: none;
    margin: var(--_space-s) 0 0;
    padding: 0;
    display: grid;
    gap: var(--_space-s);
  }
  li {
    padding: 0.5rem 0.75rem;
    border-radius: calc(var(--_radius) * 2 / 3);
    background: var(--av-file-item-background, var(--_subtle));
  }
  .head {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem;
    align-items: baseline;
  }
  .name {
    font-weight: 600;
    overflow-wrap: anywhere;
  }
  .meta {
    font-size: 0.8rem;
    opacity: 0.75;
  }
  progress {
    width: 100%;
    accent-color: var(--_accent);
  }
  .actions {
    display: flex;
    gap: 0.5rem;
    margin-top: 0.3rem;
  }
  .error {
    color: var(--_danger);
    font-size: 0.85rem;
  }
`,
];
