import { css } from 'lit';

export const styles = css`
  :host {
    display: block;
    box-sizing: border-box;
    font-family: var(--av-file-font, var(--av-font, system-ui, sans-serif));
    color: var(--av-file-color, var(--av-color, #1d2330));
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
    gap: var(--av-space-s, 0.5rem);
    padding: var(--av-file-gap, var(--av-space-m, 0.75rem));
    border: 2px dashed var(--av-file-border-color, #c3c9d4);
    border-radius: var(--av-file-radius, var(--av-radius, 0.75rem));
  }
  .drop.over {
    border-color: var(--av-file-accent, var(--av-accent, #2f6fed));
    background: var(--av-file-drop-background, #eef3ff);
  }
  button,
  select {
    font: inherit;
    min-height: 2.75rem;
    border-radius: 0.5rem;
  }
  button {
    padding: 0.4rem 0.9rem;
    border: 0;
    background: var(--av-file-accent, var(--av-accent, #2f6fed));
    color: #fff;
    cursor: pointer;
  }
  button.secondary {
    background: var(--av-file-secondary-background, #e8ebf1);
    color: inherit;
  }
  button:focus-visible,
  select:focus-visible,
  a:focus-visible {
    outline: 3px solid var(--av-file-accent, var(--av-accent, #2f6fed));
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
    margin: var(--av-space-s, 0.5rem) 0 0;
    padding: 0;
    display: grid;
    gap: var(--av-space-s, 0.5rem);
  }
  li {
    padding: 0.5rem 0.75rem;
    border-radius: 0.5rem;
    background: var(--av-file-item-background, #f3f5f8);
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
    accent-color: var(--av-file-accent, var(--av-accent, #2f6fed));
  }
  .actions {
    display: flex;
    gap: 0.5rem;
    margin-top: 0.3rem;
  }
  .error {
    color: var(--av-file-danger, var(--av-danger, #c62828));
    font-size: 0.85rem;
  }
`;
