// ESLint: type-aware TypeScript rules (floating and misused promises among them), lit and web-component rules, and
// lit-a11y for templates. `npm run lint` runs it with the other checks (tsc over the tests, lit-analyzer, Prettier,
// knip). Plain JS (bench scripts, build scripts, configs) gets the JS rules only: it has no types to check against.
import js from '@eslint/js';
import lit from 'eslint-plugin-lit';
import litA11y from 'eslint-plugin-lit-a11y';
import wc from 'eslint-plugin-wc';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const elements = ['components/**/*.ts'];

export default tseslint.config(
  // examples/ and the generated types/ are type-checked by the examples' tsconfig.json (test/e2e/frameworks.test.ts).
  { ignores: ['dist/**', 'node_modules/**', 'scratch/**', 'examples/**', 'types/**'] },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { project: './tsconfig.check.json', tsconfigRootDir: import.meta.dirname } },
  },
  {
    files: ['**/*.ts'],
    rules: {
      // node:test's test() returns a promise the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] },
            // @open-wc/semantic-dom-diff types every chai `equal` as async (for its DOM snapshots, which we do not use).
            { from: 'package', package: '@open-wc/semantic-dom-diff', name: ['Equal'] },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.ts'],
    rules: {
      // A leading underscore marks a parameter kept for its position (a callback's signature).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // lit calls event listeners bound in templates (`@click=${this.onClick}`) with the host as `this`.
    files: ['components/av-*/*.ts'],
    rules: { '@typescript-eslint/unbound-method': 'off' },
  },
  {
    // Tests read untyped wire data on purpose (JSON from sockets, values from page.evaluate): typing every message
    // would add noise without catching bugs, so `any` is allowed there. Everything else applies to tests too.
    files: ['**/*.test.ts', 'test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  { languageOptions: { globals: { ...globals.browser, ...globals.node } } },
  { files: elements, ...lit.configs['flat/recommended'] },
  { files: elements, ...wc.configs['flat/recommended'] },
  { files: elements, plugins: { 'lit-a11y': litA11y }, rules: litA11y.configs.recommended.rules },
);
