// custom-elements.json is generated from the elements' JSDoc (`npm run analyze`) and committed; a test checks it is fresh.
export default {
  globs: ['components/av-*/*.ts'],
  exclude: ['components/**/*.test.ts', 'components/**/*.styles.ts', 'components/**/*.strings.ts'],
  outdir: '.',
  litelement: true,
  packagejson: false,
  quiet: true,
};
