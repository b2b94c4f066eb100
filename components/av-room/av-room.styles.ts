import { css } from 'lit';
import { themeStyles } from '../shared/theme.js';

export const styles = [
  themeStyles('av-room'),
  css`
  :host {
    display: block;
    box-sizing: border-box;
    container-type: inline-size;
  }
  :host([hidden]) {
    display: none;
  }
  *,
  *::before,
  *::after {
    box-sizing: inherit;
  }
  .grid {
    margin: 0;
    padding: 0;
    list-style: none;
    display: grid;
    gap: var(--av-room-gap, var(--_space-m));
    grid-template-columns: repeat(auto-fit, minmax(var(--av-room-tile-min-width, 14rem), 1fr));
  }
  .tile {
    position: relative;
    margin: 0;
    aspect-ratio: 4 / 3;
    overflow: hidden;
    border-radius: var(--av-room-tile-radius, var(--_radius));
    background: var(--av-room-tile-background, #20242c);
  }
  .tile video {
    display: block;
    width: 100%;
    height: 100%;
    object-fit: var(--av-room-video-fit, cover);
  }
  .tile.self video {
    transform: scaleX(-1);
  }
  .tile .avatar {
    position: absolute;
    inset: 0;
    display: grid;
    place-items: center;
    font-size: 2.5rem;
    color: #fff;
    background: var(--av-room-tile-background, #20242c);
  }
  figcaption {
    position: absolute;
    left: 0.5rem;
    bottom: 0.5rem;
    max-width: calc(100% - 1rem);
    padding: 0.2rem 0.5rem;
    border-radius: 0.4rem;
    background: rgb(0 0 0 / 0.55);
    color: #fff;
    font-size: 0.85rem;
    overflow: hidden;
    text-overflow: ellipsis;
    white-space: nowrap;
  }
  .controls {
    display: flex;
    flex-wrap: wrap;
    justify-content: center;
    gap: var(--_space-s);
    margin-top: var(--av-room-gap, var(--_space-m));
  }
  button {
    min-width: 2.75rem;
    min-height: 2.75rem;
    padding: 0.5rem 1rem;
    border: 1px solid transparent;
    border-radius: 999px;
    font: inherit;
    cursor: pointer;
    background: var(--av-room-button-background, var(--_subtle));
    color: inherit;
  }
  button[aria-pressed='true'] {
    background: var(--av-room-button-active-background, var(--_fg));
    color: var(--_bg);
  }
  button.primary {
    background: var(--_accent);
    color: var(--_on-accent);
  }
  button.leave {
    background: var(--_danger);
    color: var(--_on-danger);
  }
  button:focus-visible {
    outline: 3px solid var(--_accent);
    outline-offset: 2px;
  }
  .status {
    margin: 0.5rem 0 0;
    text-align: center;
    font-size: 0.9rem;
    opacity: 0.8;
  }
  .sound {
    display: block;
    margin: 0.5rem auto 0;
    background: var(--_accent);
    color: var(--_on-accent);
  }
  .tile[data-speaking] {
    outline: 3px solid var(--av-room-speaking-color, #2ecc71);
    outline-offset: -3px;
  }
  .tile.screen video {
    object-fit: contain;
    transform: none;
  }
  :host([layout='speaker']) li.spotlight {
    grid-column: 1 / -1;
    order: -1;
  }
  .quality {
    display: inline-block;
    width: 0.6rem;
    height: 0.6rem;
    margin-inline-end: 0.35rem;
    border-radius: 50%;
    background: #2ecc71;
  }
  .quality[data-quality='fair'] {
    background: #f1c40f;
  }
  .quality[data-quality='poor'] {
    background: #e74c3c;
  }
  .panel {
    display: grid;
    gap: 0.75rem;
    max-width: 28rem;
    padding: 1rem;
    border: 1px solid var(--_border);
    border-radius: var(--av-room-tile-radius, var(--_radius));
    background: var(--av-room-panel-background, var(--_bg));
    color: var(--_fg);
  }
  form.panel {
    margin: 0 auto;
  }
  .panel h2 {
    margin: 0;
    font-size: 1.1rem;
  }
  dialog::backdrop {
    background: rgb(0 0 0 / 0.4);
  }
  label[part~='field'] {
    display: grid;
    gap: 0.25rem;
  }
  /* The whole label is the touch target of its checkbox: 44 px tall. */
  label.check {
    display: flex;
    align-items: center;
    gap: 0.5rem;
    min-height: 2.75rem;
  }
  label.check input {
    width: 1.25rem;
    height: 1.25rem;
    margin: 0;
  }
  select,
  input:not([type='checkbox']) {
    min-height: 2.75rem;
    font: inherit;
    padding: 0.25rem 0.5rem;
    border: 1px solid var(--_border);
    border-radius: calc(var(--_radius) / 2);
    background: var(--_bg);
    color: var(--_fg);
  }
  meter {
    width: 100%;
  }
  .note {
    margin: 0;
  }

  /* Participants, pin, full screen, icons */
  .icon {
    flex: none;
    width: 1.25rem;
    height: 1.25rem;
  }
  .controls button {
    display: inline-flex;
    align-items: center;
    justify-content: center;
    gap: var(--_space-s);
  }
  .controls button .count {
    display: none;
  }
  /* Narrow: the buttons become round icon buttons (still 44 px); their text stays as the accessible name. */
  @container (max-width: 34rem) {
    .controls button {
      position: relative;
      width: 2.75rem;
      padding: 0;
    }
    .controls button .label {
      position: absolute;
      width: 1px;
      height: 1px;
      margin: -1px;
      padding: 0;
      overflow: hidden;
      clip-path: inset(50%);
      white-space: nowrap;
      border: 0;
    }
    .controls button .count {
      display: block;
      position: absolute;
      top: -0.25rem;
      right: -0.25rem;
      min-width: 1.25rem;
      padding: 0 0.25rem;
      border-radius: 999px;
      font-size: 0.75rem;
      line-height: 1.25rem;
      background: var(--_accent);
      color: var(--_on-accent);
    }
  }
  /* The pinned tile: first and full width, in either layout; the whole picture. */
  li.pinned {
    grid-column: 1 / -1;
    order: -1;
  }
  li.pinned .tile {
    aspect-ratio: 16 / 9;
    max-height: 75vh;
    width: 100%;
  }
  li.pinned .tile video,
  .tile:fullscreen video {
    object-fit: contain;
  }
  .tile:fullscreen {
    aspect-ratio: auto;
    border-radius: 0;
  }
  /* Pin and full-screen buttons over the video: shown on hover and keyboard focus, always on touch screens. */
  .tile-actions {
    position: absolute;
    top: var(--_space-s);
    right: var(--_space-s);
    display: flex;
    gap: var(--_space-s);
  }
  .tile-actions button {
    display: grid;
    place-items: center;
    padding: 0;
    border-radius: 50%;
    background: rgb(0 0 0 / 0.55);
    color: #fff;
    opacity: 0;
    transition: opacity 0.15s;
  }
  .tile:hover .tile-actions button,
  .tile:focus-within .tile-actions button,
  .tile-actions button.on {
    opacity: 1;
  }
  @media (hover: none) {
    .tile-actions button {
      opacity: 1;
    }
  }
  .participants {
    display: grid;
    gap: var(--_space-s);
    max-width: 28rem;
    margin: var(--_space-m) auto 0;
    padding: var(--_space-m);
    border: 1px solid var(--_border);
    border-radius: var(--_radius);
    background: var(--_bg);
    color: var(--_fg);
  }
  .participants[hidden] {
    display: none;
  }
  .participants h2 {
    margin: 0;
    font-size: 1.1rem;
  }
  .participants ul {
    display: grid;
    gap: var(--_space-s);
    margin: 0;
    padding: 0;
    list-style: none;
  }
  [part~='participant'] {
    display: flex;
    align-items: center;
    gap: var(--_space-s);
    padding: var(--_space-s);
    border-radius: var(--_radius);
    background: var(--_subtle);
  }
  [part~='participant'] .who {
    display: grid;
    flex: 1;
    min-width: 0;
    overflow-wrap: anywhere;
  }
  [part~='participant'] .muted {
    font-size: 0.85rem;
  }
  button.pin {
    display: grid;
    place-items: center;
    padding: 0;
    border-radius: 50%;
    background: var(--_bg);
    color: var(--_fg);
  }
  button.pin.on {
    background: var(--_accent);
    color: var(--_on-accent);
  }
`,
];
