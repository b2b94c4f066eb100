// npm run build: tsc (npm ESM build + .d.ts + server) then rollup (script-tag bundle); prints the bundle's gzip size.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { compressPublicFiles } from './compress.mjs';

const run = (cmd, args) => execFileSync(cmd, args, { stdio: 'inherit' });
rmSync('dist', { recursive: true, force: true });
run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json']);
run(process.execPath, ['node_modules/rollup/dist/bin/rollup', '-c', 'rollup.config.js', '--silent']);
const bundle = readFileSync('dist/av-elements.js');
const gz = gzipSync(bundle, { level: 9 }).length;
const budget = 60 * 1024;
console.log(
  `dist/av-elements.js: ${(bundle.length / 1024).toFixed(1)} KiB, ${(gz / 1024).toFixed(1)} KiB gzip (budget ${budget / 1024} KiB)`,
);
const sizes = compressPublicFiles('dist');
const total = (key) => sizes.reduce((n, s) => n + s[key], 0);
console.log(
  `precompressed ${sizes.length} public files: ${(total('bytes') / 1e6).toFixed(1)} MB, ${(total('br') / 1e6).toFixed(1)} MB brotli, ${(total('gz') / 1e6).toFixed(1)} MB gzip`,
);
if (gz > budget) {
  console.error('the script-tag bundle is over its gzip budget');
  process.exit(1);
}
