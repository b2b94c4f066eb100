import { css } from 'lit';
import { themeStyles } from '../shared/theme.js';

export const styles = [
  themeStyles('av-recorder'),
  css`
  :host {
    display: block;
    box-sizing: border-box;
  }
  :host([hidden]) {
    display: none;
  }
  [part~='controls'],
  .result {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: var(--_space-s);
  }
  button {
    font: inherit;
    min-height: 2.75rem;
    padding: 0.4rem 0.9rem;
    border: 0;
    border-radius: calc(var(--_radius) * 2 / 3);
    background: var(--av-recorder-button-background, var(--_subtle));
    color: inherit;
    cursor: pointer;
  }
  button[part~='start-button'] {
    background: var(--av-recorder-record-color, var(--_danger));
    color: var(--_on-danger);
  }
  button:focus-visible,
  a:focus-visible {
    outline: 3px solid var(--_accent);
    outline-offset: 2px;
  }
  [part~='elapsed'] {
    font-variant-numeric: tabular-nums;
    min-width: 3.5rem;
  }
  :host([state='recording']) [part~='elapsed']::before {
    content: '● ';
    color: var(--av-recorder-record-color, var(--_danger));
  }
  progress {
    flex: 1;
    min-width: 8rem;
    accent-color: var(--_accent);
  }
  .meta {
    font-size: 0.85rem;
    opacity: 0.75;
  }
  .error {
    color: var(--_danger);
    font-size: 0.85rem;
  }
  .result {
    margin-top: var(--_space-s);
  }
  a {
    color: var(--_accent);
  }
`,
];
