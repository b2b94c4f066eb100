import { css } from 'lit';
import { themeStyles } from '../shared/theme.js';

export const styles = [
  themeStyles('av-chat'),
  css`
  :host {
    display: flex;
    flex-direction: column;
    box-sizing: border-box;
    min-height: 12rem;
    height: var(--av-chat-height, 24rem);
    background: var(--_bg);
    border: 1px solid var(--av-chat-border-color, var(--_border));
    border-radius: var(--_radius);
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
    padding: var(--av-chat-gap, var(--_space-m));
    overflow-y: auto;
  }
  .items {
    margin: 0;
    padding: 0;
    list-style: none;
    display: flex;
    flex-direction: column;
    gap: var(--_space-s);
  }
  .message {
    max-width: 85%;
    padding: 0.4rem 0.7rem;
    border-radius: 0.7rem;
    background: var(--av-chat-other-background, var(--_subtle));
    align-self: flex-start;
    overflow-wrap: anywhere;
    /* Messages out of view are not laid out: appending to a long list of long texts stays cheap. */
    content-visibility: auto;
    contain-intrinsic-size: auto 12rem auto 3.5rem;
  }
  .message.own {
    align-self: flex-end;
    background: var(--av-chat-own-background, color-mix(in srgb, var(--_accent) 16%, var(--_bg)));
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
    margin: 0 auto var(--_space-s);
    min-height: 2.25rem;
    background: transparent;
    color: var(--av-chat-link-color, var(--_accent));
    text-decoration: underline;
  }
  a {
    color: var(--av-chat-link-color, var(--_accent));
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
    gap: var(--_space-s);
    padding: var(--_space-s);
    border-top: 1px solid var(--av-chat-border-color, var(--_border));
  }
  textarea {
    flex: 1 1 12rem;
    /* Grows with its text (up to max-height), then scrolls. */
    height: 2.75rem;
    min-height: 2.75rem;
    max-height: 10rem;
    resize: none;
    overflow-y: auto;
    font: inherit;
    line-height: 1.4;
    padding: 0.55rem 0.6rem;
    border: 1px solid var(--av-chat-border-color, var(--_border));
    border-radius: calc(var(--_radius) * 2 / 3);
    background: var(--_bg);
    color: inherit;
  }
  textarea::placeholder {
    color: color-mix(in srgb, var(--_fg) 62%, var(--_bg));
    opacity: 1;
  }
  select,
  button {
    font: inherit;
    min-height: 2.75rem;
    border-radius: calc(var(--_radius) * 2 / 3);
  }
  select {
    border-color: var(--av-chat-border-color, var(--_border));
  }
  button {
    padding: 0.5rem 1rem;
    border: 0;
    background: var(--_accent);
    color: var(--_on-accent);
    cursor: pointer;
  }
  button.earlier {
    background: transparent;
    color: var(--av-chat-link-color, var(--_accent));
  }
  button:focus-visible,
  textarea:focus-visible,
  select:focus-visible {
    outline: 3px solid var(--_accent);
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
    color: var(--_danger);
  }
  .notice:empty {
    display: none;
  }
`,
];
