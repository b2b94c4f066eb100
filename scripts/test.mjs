// npm test: every test. System packages, build, node:test suites (server units, manifest, end-to-end with
// Playwright), then @web/test-runner element tests. Ends with one "N passed, N failed" line.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { ensureSystemDeps } from './system-deps.mjs';

ensureSystemDeps();

const files = (dir) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.test.ts'))
    .sort()
    .map((f) => `${dir}/${f}`);

/** Runs a command, echoing its output, and returns [output, exit code]. */
function run(cmd, args) {
  return new Promise((resolve) => {
    console.log(`\n$ ${cmd} ${args.join(' ')}`);
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' } });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      process.stdout.write(d);
    });
    child.on('close', (code) => resolve([out.replace(/\x1b\[[0-9;]*[A-Za-z]/g, ''), code ?? 1]));
  });
}

const stages = [];
const [, buildCode] = await run(process.execPath, ['scripts/build.mjs']);
if (buildCode !== 0) {
  console.log('\ntests: 0 passed, 1 failed (build failed)');
  process.exit(1);
}

const nodeTests = [...files('server/test'), ...files('test'), ...files('test/e2e')];
const [nodeOut, nodeCode] = await run(process.execPath, ['--import', 'tsx', '--test', '--test-force-exit', '--test-concurrency=1', '--test-reporter=spec', ...nodeTests]);
stages.push({
  name: 'node:test',
  passed: Number(/ℹ pass (\d+)/.exec(nodeOut)?.[1] ?? 0),
  failed: Number(/ℹ fail (\d+)/.exec(nodeOut)?.[1] ?? 0) + Number(/ℹ cancelled (\d+)/.exec(nodeOut)?.[1] ?? 0),
  code: nodeCode,
});

const [wtrOut, wtrCode] = await run(process.execPath, ['node_modules/@web/test-runner/dist/bin.js']);
const wtr = [...wtrOut.matchAll(/(\d+) passed, (\d+) failed/g)].at(-1);
stages.push({ name: 'web-test-runner', passed: Number(wtr?.[1] ?? 0), failed: Number(wtr?.[2] ?? 0), code: wtrCode });

console.log('');
for (const s of stages) console.log(`${s.name}: ${s.passed} passed, ${s.failed} failed${s.code ? ` (exit ${s.code})` : ''}`);
const passed = stages.reduce((n, s) => n + s.passed, 0);
const failed = stages.reduce((n, s) => n + s.failed + (s.code && !s.failed ? 1 : 0), 0);
console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(failed || stages.some((s) => s.code) || passed === 0 ? 1 : 0);
