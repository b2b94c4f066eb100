import { css } from 'lit';

export const styles = css`
  :host {
    display: block;
    box-sizing: border-box;
    font-family: var(--av-recorder-font, var(--av-font, system-ui, sans-serif));
    color: var(--av-recorder-color, var(--av-color, #1d2330));
  }
  :host([hidden]) {
    display: none;
  }
  [part~='controls'],
  .result {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: var(--av-space-s, 0.5rem);
  }
  button {
    font: inherit;
    min-height: 2.75rem;
    padding: 0.4rem 0.9rem;
    border: 0;
    border-radius: 0.5rem;
    background: var(--av-recorder-button-background, #e8ebf1);
    color: inherit;
    cursor: pointer;
  }
  button[part~='start-button'] {
    background: var(--av-recorder-record-color, var(--av-danger, #c62828));
    color: #fff;
  }
  button:disabled {
    opacity: 0.5;
    cursor: default;
  }
  button:focus-visible,
  a:focus-visible {
    outline: 3px solid var(--av-recorder-accent, var(--av-accent, #2f6fed));
    outline-offset: 2px;
  }
  [part~='elapsed'] {
    font-variant-numeric: tabular-nums;
    min-width: 3.5rem;
  }
  :host([state='recording']) [part~='elapsed']::before {
    content: '● ';
    color: var(--av-recorder-record-color, var(--av-danger, #c62828));
  }
  progress {
    flex: 1;
    min-width: 8rem;
    accent-color: var(--av-recorder-accent, var(--av-accent, #2f6fed));
  }
  .meta {
    font-size: 0.85rem;
    opacity: 0.75;
  }
  .error {
    color: var(--av-recorder-danger, var(--av-danger, #c62828));
    font-size: 0.85rem;
  }
  .result {
    margin-top: var(--av-space-s, 0.5rem);
  }
  a {
    color: var(--av-recorder-accent, var(--av-accent, #2f6fed));
  }
`;
