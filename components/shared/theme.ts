import { unsafeCSS, type CSSResult } from 'lit';

const rgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

/**
 * `light` behind dark text, `dark` behind light text: one colour of a pair, picked by the lightness of the element's
 * text colour (`--_fg`, a relative colour). Keying every default on the text colour, not on `light-dark()`, keeps a page
 * that only sets `--av-color: #eee` (but no `color-scheme`) consistent: light text, dark surface, light accent.
 */
function pick(light: string, dark: string): string {
  const [a, b] = [rgb(light), rgb(dark)];
  const isLightText = 'clamp(0, ((r + g + b) / 3 - 140) * 1000, 1)';
  return `rgb(from var(--_fg) ${[0, 1, 2].map((i) => `calc(${a[i]} + ${b[i]! - a[i]!} * ${isLightText})`).join(' ')})`;
}

/**
 * White on a dark fill, black on a light one, whatever colour the page chose for the fill: its relative luminance
 * (WCAG's, from linear sRGB) against 0.183: below it white has at least 4.5:1, from it black has.
 */
function readableOn(fill: string): string {
  const white = 'clamp(0, (0.183 - (0.2126 * r + 0.7152 * g + 0.0722 * b)) * 1000, 1)';
  return `color(from ${fill} srgb-linear ${white} ${white} ${white})`;
}

/**
 * The suite's design tokens, resolved once per element into private variables that its styles use everywhere.
 *
 * Each value is taken from the element's own property (`--av-room-accent`), else the suite token (`--av-accent`), else
 * a default. The text colour's default follows the colour scheme (`light-dark()`): a page in `color-scheme: dark`, or
 * an element with `theme="dark"`, is dark without setting anything. Every other default follows the text colour: the
 * surface is white behind dark text and near black behind light text, the accent and danger colours take their light
 * or dark variant, text on them is white or near black (whichever reads on that fill, also for a page's own accent),
 * and fills and borders are mixes of text and surface. So a page that only sets `--av-color: #eee`
 * stays readable.
 *
 * `tag` is one of our element names (a constant, never page input).
 */
export function themeStyles(tag: string): CSSResult {
  const own = (name: string) => `--${tag}-${name}`;
  return unsafeCSS(`
    :host {
      --_fg: var(${own('color')}, var(--av-color, light-dark(#1d2330, #e6e8ee)));
      --_bg: var(${own('background')}, var(--av-background, oklch(from var(--_fg) clamp(0.19, (0.6 - l) * 1000, 1) calc(c * 0.3) h)));
      --_accent: var(${own('accent')}, var(--av-accent, ${pick('#2f6fed', '#8ab4ff')}));
      --_on-accent: var(--av-on-accent, ${readableOn('var(--_accent)')});
      --_danger: var(${own('danger')}, var(--av-danger, ${pick('#c62828', '#ff8a80')}));
      --_on-danger: var(--av-on-danger, ${readableOn('var(--_danger)')});
      --_subtle: color-mix(in srgb, var(--_fg) 9%, var(--_bg));
      --_border: color-mix(in srgb, var(--_fg) 28%, var(--_bg));
      --_radius: var(${own('radius')}, var(--av-radius, 0.75rem));
      --_font: var(${own('font')}, var(--av-font, system-ui, sans-serif));
      --_space-s: var(--av-space-s, 0.5rem);
      --_space-m: var(--av-space-m, 0.75rem);
      color: var(--_fg);
      font-family: var(--_font);
    }
    /* A theme chosen on the element itself also paints its surface, so it reads on any page. */
    :host([theme]) {
      background: var(--_bg);
    }
    select {
      max-width: 100%;
      border: 1px solid var(--_border);
      background: var(--_bg);
      color: inherit;
    }
    :host([theme='dark']) {
      color-scheme: dark;
    }
    :host([theme='light']) {
      color-scheme: light;
    }
    .icon {
      flex: none;
      width: 1.25em;
      height: 1.25em;
    }
    button:has(> .icon),
    a:has(> .icon) {
      display: inline-flex;
      align-items: center;
      justify-content: center;
      gap: 0.4em;
    }
    button:disabled,
    select:disabled,
    textarea:disabled,
    input:disabled {
      opacity: 0.45;
      cursor: not-allowed;
      filter: saturate(0.4);
    }
  `);
}
