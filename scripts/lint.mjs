// npm run lint (and the first stage of npm test): every static check, each timed. Types (tests included), ESLint,
// lit-analyzer over the elements' templates, Prettier, knip. Exits non-zero when any finds something.
import { spawn } from 'node:child_process';

const checks = [
  ['types', 'tsc over code, tests and helpers'],
  ['code', 'ESLint (typescript-eslint type-aware, lit, wc, lit-a11y)'],
  ['templates', 'lit-analyzer over the elements'],
  ['format', 'Prettier --check'],
  ['dead', 'knip: unused files, exports, dependencies'],
];

function run(name) {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', `lint:${name}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ name, code: code ?? 1, out, seconds: (performance.now() - started) / 1000 }));
  });
}

const started = performance.now();
// Two at a time: the machine has two cores, and tsc and ESLint each want one.
const results = [];
const queue = [...checks];
await Promise.all(
  [0, 1].map(async () => {
    for (let next = queue.shift(); next; next = queue.shift()) results.push(await run(next[0]));
  }),
);
let failed = 0;
for (const [name, what] of checks) {
  const r = results.find((x) => x.name === name);
  const ok = r.code === 0;
  if (!ok) failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} lint:${name.padEnd(9)} ${r.seconds.toFixed(1).padStart(5)} s  ${what}`);
  const text = r.out.split('\n').filter((l) => l.trim() && !/Unknown user config "nodedir"/.test(l));
  if (!ok) console.log(text.map((l) => `     ${l}`).join('\n'));
}
console.log(`lint: ${checks.length - failed} passed, ${failed} failed (${((performance.now() - started) / 1000).toFixed(1)} s)`);
process.exit(failed ? 1 : 0);
