// custom-elements.json is generated from the elements' JSDoc (`npm run analyze`) and committed; a test checks it is fresh.

/** The tokens every element follows (`light-dark()` defaults: light / dark). */
export const SUITE_TOKENS = [
  { name: '--av-color', default: '#1d2330 / #e6e8ee', description: 'Text colour.' },
  {
    name: '--av-background',
    default: 'derived',
    description:
      'Surface of panels, dialogs, the chat and inputs (default: white behind dark text, near black behind light text, derived from the text colour).',
  },
  { name: '--av-accent', default: '#2f6fed / #8ab4ff', description: 'Primary buttons, links, progress and focus rings.' },
  {
    name: '--av-on-accent',
    default: 'derived',
    description: 'Text on the accent (default: white or near black, whichever reads on the accent).',
  },
  { name: '--av-danger', default: '#c62828 / #ff8a80', description: 'Leave and Record buttons, errors.' },
  {
    name: '--av-on-danger',
    default: 'derived',
    description: 'Text on the danger colour (default: white or near black, whichever reads on it).',
  },
  { name: '--av-radius', default: '0.75rem', description: 'Corner radius (controls use two thirds of it).' },
  { name: '--av-font', default: 'system-ui, sans-serif', description: 'Font family.' },
  { name: '--av-space-s', default: '0.5rem', description: 'Small spacing: between controls.' },
  { name: '--av-space-m', default: '0.75rem', description: 'Medium spacing: paddings, between tiles.' },
].map((t) => ({ ...t, description: `Suite token. ${t.description}` }));
export default {
  globs: ['components/av-*/*.ts'],
  exclude: ['components/**/*.test.ts', 'components/**/*.styles.ts', 'components/**/*.strings.ts'],
  outdir: '.',
  litelement: true,
  packagejson: false,
  quiet: true,
  plugins: [
    {
      // The suite's design tokens are every element's CSS custom properties too (components/shared/theme.ts reads
      // them): listed once here, added to each element. A test checks theme.ts and this list agree.
      name: 'suite-tokens',
      packageLinkPhase({ customElementsManifest }) {
        for (const m of customElementsManifest.modules) {
          for (const d of m.declarations ?? []) {
            if (d.customElement) d.cssProperties = [...(d.cssProperties ?? []), ...SUITE_TOKENS];
          }
        }
      },
    },
    {
      // A helper like `fire(type, detail)` that dispatches `new CustomEvent(type, …)` reads to the analyzer as an event
      // named "type": only the events documented with @fires (names starting with av-) are the API.
      name: 'documented-events-only',
      packageLinkPhase({ customElementsManifest }) {
        for (const m of customElementsManifest.modules) {
          for (const d of m.declarations ?? []) {
            if (d.events) d.events = d.events.filter((e) => e.name?.startsWith('av-'));
          }
        }
      },
    },
    {
      // The analyzer lists modules in the order its file reads finish, which varies from run to run: sort them, so
      // the committed file only changes when the API does.
      name: 'stable-module-order',
      packageLinkPhase({ customElementsManifest }) {
        customElementsManifest.modules.sort((a, b) => a.path.localeCompare(b.path));
      },
    },
  ],
};
