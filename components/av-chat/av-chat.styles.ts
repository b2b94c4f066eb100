import { css } from 'lit';

export const styles = css`
  :host {
    display: flex;
    flex-direction: column;
    box-sizing: border-box;
    min-height: 12rem;
    height: var(--av-chat-height, 24rem);
    font-family: var(--av-chat-font, var(--av-font, system-ui, sans-serif));
    color: var(--av-chat-color, var(--av-color, #1d2330));
    background: var(--av-chat-background, #fff);
    border: 1px solid var(--av-chat-border-color, #d5d9e0);
    border-radius: var(--av-chat-radius, var(--av-radius, 0.75rem));
    overflow: hidden;
    position: relative;
  }
  :host([hidden]) {
    display: none;
  }
  *,
  *::before,
  *::after {
    box-sizing: inherit;
  }
  .list {
    flex: 1;
    padding: var(--av-chat-gap, var(--av-space-m, 0.75rem));
    overflow-y: auto;
  }
  .items {
    margin: 0;
    padding: 0;
    list-style: none;
    display: flex;
    flex-direction: column;
    gap: var(--av-space-s, 0.5rem);
  }
  .message {
    max-width: 85%;
    padding: 0.4rem 0.7rem;
    border-radius: 0.7rem;
    background: var(--av-chat-other-background, #eef1f5);
    align-self: flex-start;
    overflow-wrap: anywhere;
    /* Messages out of view are not laid out: appending to a long list of long texts stays cheap. */
    content-visibility: auto;
    contain-intrinsic-size: auto 12rem auto 3.5rem;
  }
  .message.own {
    align-self: flex-end;
    background: var(--av-chat-own-background, #dfe9ff);
  }
  .meta {
    display: flex;
    gap: 0.4rem;
    font-size: 0.75rem;
    opacity: 0.75;
  }
  .name {
    font-weight: 600;
  }
  .text {
    margin: 0.15rem 0 0;
    white-space: pre-wrap;
  }
  .status {
    display: block;
    text-align: end;
    font-size: 0.7rem;
    opacity: 0.7;
  }
  .private,
  .mark {
    font-style: italic;
  }
  .earlier {
    display: block;
    margin: 0 auto var(--av-space-s, 0.5rem);
    min-height: 2.25rem;
    background: transparent;
    color: var(--av-chat-link-color, var(--av-accent, #2f6fed));
    text-decoration: underline;
  }
  a {
    color: var(--av-chat-link-color, var(--av-accent, #2f6fed));
  }
  .state {
    margin: auto;
    padding: 1rem;
    text-align: center;
    opacity: 0.7;
  }
  form {
    display: flex;
    flex-wrap: wrap;
    gap: var(--av-space-s, 0.5rem);
    padding: var(--av-space-s, 0.5rem);
    border-top: 1px solid var(--av-chat-border-color, #d5d9e0);
  }
  textarea {
    flex: 1 1 12rem;
    min-height: 2.75rem;
    max-height: 8rem;
    resize: vertical;
    font: inherit;
    padding: 0.5rem;
    border: 1px solid var(--av-chat-border-color, #d5d9e0);
    border-radius: 0.5rem;
  }
  select,
  button {
    font: inherit;
    min-height: 2.75rem;
    border-radius: 0.5rem;
  }
  button {
    padding: 0.5rem 1rem;
    border: 0;
    background: var(--av-chat-accent, var(--av-accent, #2f6fed));
    color: #fff;
    cursor: pointer;
  }
  button:focus-visible,
  textarea:focus-visible,
  select:focus-visible {
    outline: 3px solid var(--av-chat-accent, var(--av-accent, #2f6fed));
    outline-offset: 1px;
  }
  .unread {
    position: absolute;
    left: 50%;
    transform: translateX(-50%);
    bottom: 4.5rem;
  }
  .notice {
    margin: 0;
    padding: 0 0.5rem 0.4rem;
    font-size: 0.8rem;
    color: var(--av-chat-danger, var(--av-danger, #c62828));
  }
  .notice:empty {
    display: none;
  }
`;
