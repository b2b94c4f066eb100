// Small inline icons for the elements' buttons: 24×24, drawn with strokes in currentColor, hidden from assistive
// technology (the button's text or aria-label names it). No dependency, nothing fetched; each is a few dozen bytes.
import { html, svg, type SVGTemplateResult, type TemplateResult } from 'lit';

/** Wraps an icon's shapes in its <svg>; sized by CSS (`.icon`), 20 px where no style applies. */
const icon = (shapes: SVGTemplateResult): TemplateResult =>
  html`<svg
    class="icon"
    viewBox="0 0 24 24"
    width="20"
    height="20"
    fill="none"
    stroke="currentColor"
    stroke-width="2"
    stroke-linecap="round"
    stroke-linejoin="round"
    aria-hidden="true"
    focusable="false"
  >
    ${shapes}
  </svg>`;

// Functions, not values, so that a bundle keeps only the icons it uses (a tagged template at the top level of a module
// would count as a side effect); lit caches each template by its call site, so calling one per render costs little.

/** A diagonal stroke across an icon: the "off" variants. */
const slash = () => svg`<path d="M3 3l18 18" />`;

const micShape = () =>
  svg`<rect x="9" y="2.5" width="6" height="11" rx="3" /><path d="M5.5 10.5a6.5 6.5 0 0 0 13 0M12 17v4.5M8.5 21.5h7" />`;
const cameraShape = () => svg`<rect x="2.5" y="6" width="13" height="12" rx="2" /><path d="M15.5 10.5l6-3.5v10l-6-3.5" />`;
const screenShape = () => svg`<rect x="2.5" y="3.5" width="19" height="13" rx="2" /><path d="M8 21h8M12 16.5V21" />`;
const pinShape = () => svg`<path d="M8 3h8M9.5 3v5.5L6 13v1.5h12V13l-3.5-4.5V3M12 14.5V21" />`;

export const micIcon = (): TemplateResult => icon(micShape());
export const micOffIcon = (): TemplateResult => icon(svg`${micShape()}${slash()}`);
export const cameraIcon = (): TemplateResult => icon(cameraShape());
export const cameraOffIcon = (): TemplateResult => icon(svg`${cameraShape()}${slash()}`);
export const screenShareIcon = (): TemplateResult => icon(svg`${screenShape()}<path d="M9 10l3-3 3 3M12 7v6" />`);
export const screenShareOffIcon = (): TemplateResult => icon(svg`${screenShape()}<path d="M9.5 7.5l5 5M14.5 7.5l-5 5" />`);
/** Three sliders. */
export const settingsIcon = (): TemplateResult =>
  icon(
    svg`<path d="M3 6h10M17 6h4M3 12h4M11 12h10M3 18h12M19 18h2" /><circle cx="15" cy="6" r="2" /><circle cx="9" cy="12" r="2" /><circle cx="17" cy="18" r="2" />`,
  );
/** A door with an arrow going out. */
export const leaveIcon = (): TemplateResult =>
  icon(svg`<path d="M10 3.5H5.5a2 2 0 0 0-2 2v13a2 2 0 0 0 2 2H10M15.5 16.5L20 12l-4.5-4.5M20 12H9" />`);
/** A door with an arrow coming in. */
export const joinIcon = (): TemplateResult =>
  icon(svg`<path d="M14 3.5h4.5a2 2 0 0 1 2 2v13a2 2 0 0 1-2 2H14M9.5 16.5L14 12 9.5 7.5M14 12H3" />`);
/** Two people. */
export const usersIcon = (): TemplateResult =>
  icon(
    svg`<circle cx="9" cy="8" r="3.5" /><path d="M2.5 20.5v-1a5.5 5.5 0 0 1 11 0v1M15.5 4.8a3.5 3.5 0 0 1 0 6.4M21.5 20.5v-1a5.5 5.5 0 0 0-3.5-5.1" />`,
  );
export const pinIcon = (): TemplateResult => icon(pinShape());
export const pinOffIcon = (): TemplateResult => icon(svg`${pinShape()}${slash()}`);
/** Four corners pointing out: full screen. */
export const maximizeIcon = (): TemplateResult => icon(svg`<path d="M3.5 9V3.5H9M15 3.5h5.5V9M20.5 15v5.5H15M9 20.5H3.5V15" />`);
/** Four corners pointing in: exit full screen. */
export const minimizeIcon = (): TemplateResult => icon(svg`<path d="M9 3.5V9H3.5M20.5 9H15V3.5M15 20.5V15h5.5M3.5 15H9v5.5" />`);

// For the other elements (chat, file transfer, recorder).
/** A paper plane. */
export const sendIcon = (): TemplateResult => icon(svg`<path d="M21 3L10.5 13.5M21 3l-6.5 18-4-7.5L3 9.5z" />`);
export const paperclipIcon = (): TemplateResult =>
  icon(svg`<path d="M20 11.5l-8.3 8.3a5 5 0 0 1-7.1-7.1l8.7-8.7a3.3 3.3 0 0 1 4.7 4.7l-8.7 8.7a1.7 1.7 0 0 1-2.4-2.4l8-8" />`);
/** A filled circle. */
export const recordIcon = (): TemplateResult => icon(svg`<circle cx="12" cy="12" r="7" fill="currentColor" />`);
/** A filled square. */
export const stopIcon = (): TemplateResult => icon(svg`<rect x="6" y="6" width="12" height="12" rx="1.5" fill="currentColor" />`);
/** A camera body with its lens. */
export const snapshotIcon = (): TemplateResult =>
  icon(
    svg`<path d="M3 8.5a2 2 0 0 1 2-2h2.5L9 4h6l1.5 2.5H19a2 2 0 0 1 2 2V18a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2z" /><circle cx="12" cy="13" r="3.5" />`,
  );
export const downloadIcon = (): TemplateResult => icon(svg`<path d="M12 3.5v12M7 10.5l5 5 5-5M4 20.5h16" />`);
