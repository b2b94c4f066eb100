import commonjs from '@rollup/plugin-commonjs';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';

/**
 * The script-tag bundle: our code (already compiled by tsc into dist/lib) + lit + peerjs in one minified ES module.
 * `sdp` (a peerjs dependency) is CommonJS, hence the commonjs plugin.
 */
export default {
  input: 'dist/lib/components/index.js',
  output: {
    file: 'dist/av-elements.js',
    format: 'es',
    sourcemap: true,
  },
  plugins: [nodeResolve({ browser: true }), commonjs(), terser({ format: { comments: false } })],
  onwarn(warning, warn) {
    if (warning.code === 'THIS_IS_UNDEFINED') return;
    warn(warning);
  },
};
