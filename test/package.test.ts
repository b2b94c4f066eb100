// The package as a user gets it: `npm pack`, installed into a fresh project outside this clone, its `av-server`
// started with npx, its types checked by tsc, and an app importing it bundled by rollup and run in Chromium.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { launchChromium } from './helpers/chromium.mjs';

const repo = resolve('.');
const project = mkdtempSync(join(tmpdir(), 'av-package-'));
const npm = (args: string[]) => execFileSync('npm', args, { cwd: project, stdio: 'pipe', encoding: 'utf8', timeout: 5 * 60_000 });

before(() => {
  const packed = execFileSync('npm', ['pack', '--pack-destination', project, '--json'], { cwd: repo, encoding: 'utf8', stdio: 'pipe' });
  const tarball = (JSON.parse(packed) as { filename: string }[])[0]!.filename;
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'my-app', private: true, type: 'module' }));
  // From npm's cache when `npm ci` filled it (CI), else from the registry.
  npm(['install', '--no-audit', '--no-fund', '--prefer-offline', `./${tarball}`]);
});

after(() => rmSync(project, { recursive: true, force: true }));

/** `npx av-server` in the project; resolves with its URL and a stop function (by PID). */
async function startInstalledServer() {
  const child = spawn('npx', ['--no-install', 'av-server', '--host', '127.0.0.1', '--port', '0'], {
    cwd: project,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`av-server did not start within 30 s: ${out}`)), 30_000);
    child.stdout.on('data', () => {
      const m = /"url":"(http[^"]+)","msg":"listening"/.exec(out);
      if (m) {
        clearTimeout(timer);
        ok(m[1]!);
      }
    });
    child.once('exit', (code) => fail(new Error(`av-server exited ${code}: ${out}`)));
  });
  return {
    url,
    stop: async () => {
      if (child.exitCode !== null) return;
      const closed = new Promise((r) => child.once('close', r));
      process.kill(-child.pid!, 'SIGTERM');
      await closed;
    },
  };
}

test('the packed package installs into a fresh project and `npx av-server` serves the bundle, the core and the demo', async () => {
  const installed = JSON.parse(readFileSync(join(project, 'node_modules/av-elements/package.json'), 'utf8')) as { version: string };
  assert.ok(installed.version);
  const server = await startInstalledServer();
  try {
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    const bundle = await fetch(`${server.url}/av-elements.js`);
    assert.equal(bundle.status, 200);
    assert.match(await bundle.text(), /customElements\.define/);
    assert.equal((await fetch(`${server.url}/ffmpeg/ffmpeg-core.wasm`, { method: 'HEAD' })).status, 200);
    assert.match(await (await fetch(`${server.url}/`)).text(), /<av-room/);
  } finally {
    await server.stop();
  }
});

test('an app importing `connect` from the package type-checks (and a wrong option does not), bundles with rollup and joins a room', async () => {
  const app = `import { connect, type RoomSession } from 'av-elements';
export async function join(server: string): Promise<string> {
  const session: RoomSession = await connect({ server, room: 'package-test', name: 'App', video: false });
  const state: 'connected' | 'idle' | 'connecting' | 'reconnecting' | 'closed' | 'error' = session.state;
  session.destroy();
  return state + ' ' + (session.peerId ?? '').length;
}
(window as unknown as { join: typeof join }).join = join;
`;
  writeFileSync(join(project, 'app.ts'), app);
  writeFileSync(join(project, 'wrong.ts'), `import { connect } from 'av-elements';\nvoid connect({ room: 42, name: 'x' });\n`);
  const tsconfig = (files: string[]) =>
    JSON.stringify({
      compilerOptions: {
        module: 'ESNext',
        moduleResolution: 'Bundler',
        target: 'ES2022',
        lib: ['ES2022', 'DOM'],
        strict: true,
        skipLibCheck: true,
        types: [],
        outDir: 'out',
      },
      files,
    });
  const tsc = (config: string) => {
    writeFileSync(join(project, 'tsconfig.json'), config);
    return execFileSync(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], {
      cwd: project,
      encoding: 'utf8',
      stdio: 'pipe',
    });
  };
  assert.throws(
    () => tsc(tsconfig(['wrong.ts'])),
    (err: { stdout?: string }) => /wrong\.ts.*TS2322/s.test(err.stdout ?? ''),
    'a number as room name is a type error',
  );
  // Type-checked and compiled to out/app.js, which the bundler takes.
  tsc(tsconfig(['app.ts']));

  const { rollup } = await import('rollup');
  const { nodeResolve } = await import('@rollup/plugin-node-resolve');
  const { default: commonjs } = (await import('@rollup/plugin-commonjs')) as unknown as {
    default: typeof import('@rollup/plugin-commonjs').default;
  };
  const bundle = await rollup({
    input: join(project, 'out/app.js'),
    plugins: [nodeResolve({ browser: true, rootDir: project }), commonjs()],
    onwarn: () => {},
  });
  const { output } = await bundle.generate({ format: 'es', inlineDynamicImports: true });
  await bundle.close();
  const code = output[0].code;
  assert.ok(code.includes('package-test'));

  const server = await startInstalledServer();
  const chromium = await launchChromium();
  try {
    const page = await (await chromium.browser.newContext()).newPage();
    await page.goto(`${server.url}/healthz`);
    await page.addScriptTag({ type: 'module', content: code });
    await page.waitForFunction(() => 'join' in window);
    const result = await page.evaluate((url) => (window as unknown as { join(s: string): Promise<string> }).join(url), server.url);
    assert.match(result, /^connected \d+$/);
    assert.notEqual(result, 'connected 0', 'the server gave it a peer id');
  } finally {
    await chromium.close();
    await server.stop();
  }
});
