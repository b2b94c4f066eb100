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
      // The analyzer lists modules in the order its file reads finish, which varies from run to run: sort them, so
      // the committed file only changes when the API does.
      name: 'stable-module-order',
      packageLinkPhase({ customElementsManifest }) {
        customElementsManifest.modules.sort((a, b) => a.path.localeCompare(b.path));
      },
    },
  ],
};
