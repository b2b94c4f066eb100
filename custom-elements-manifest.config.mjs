// custom-elements.json is generated from the elements' JSDoc (`npm run analyze`) and committed; a test checks it is fresh.
export default {
  globs: ['components/av-*/*.ts'],
  exclude: ['components/**/*.test.ts', 'components/**/*.styles.ts', 'components/**/*.strings.ts'],
  outdir: '.',
  litelement: true,
  packagejson: false,
  quiet: true,
  plugins: [
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
