// Service mode: SIGTERM tells members and exits within 5 s; /readyz and /healthz; the systemd unit verifies; static files carry CORS.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { test } from 'node:test';
import { roomClient } from '../../test/helpers/room-client.js';
import { startServer } from '../../test/helpers/server.js';

test('SIGTERM: members get server-shutdown, the server stops being ready, and the process exits within 5 s', async () => {
  const server = await startServer();
  try {
    assert.equal(await (await fetch(`${server.url}/readyz`)).text(), 'ready');
    assert.equal(await (await fetch(`${server.url}/healthz`)).text(), 'ok');
    const c = await roomClient(server.url, 'lifecycle');
    c.send({ type: 'join', name: 'Ann' });
    await c.next('joined');
    const exited = new Promise<number | null>((resolve) => server.process.once('exit', (code) => resolve(code)));
    const sentAt = Date.now();
    server.process.kill('SIGTERM');
    const notice = await c.next('server-shutdown', 5000);
    assert.match(notice.message, /shutting down/);
    const code = await Promise.race([exited, new Promise<'late'>((r) => setTimeout(() => r('late'), 5000))]);
    assert.equal(code, 0, `exited with 0 within 5 s (took ${Date.now() - sentAt} ms)`);
  } finally {
    await server.stop();
  }
});

test(
  'the systemd unit passes systemd-analyze verify',
  { skip: !existsSync('/usr/bin/systemd-analyze') && 'systemd-analyze is not installed' },
  () => {
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', 'server/av-server.service'], { encoding: 'utf8' });
    const complaints = `${r.stdout}${r.stderr}`
      .split('\n')
      // The unit names a user and an install path that exist on the target machine, not necessarily here.
      .filter(
        (l) => l.trim() && !/Command .* is not executable|No such file or directory|Failed to resolve user|user .* does not exist/i.test(l),
      );
    assert.deepEqual(complaints, [], 'no complaints');
    assert.equal(r.status, 0);
  },
);

test('the bundle, its chunks and the ffmpeg.wasm core are served with CORS, for pages and workers on other origins', async () => {
  const server = await startServer();
  try {
    const bundle = await fetch(`${server.url}/av-elements.js`, { headers: { Origin: 'https://customer.example' } });
    assert.equal(bundle.status, 200);
    assert.equal(bundle.headers.get('access-control-allow-origin'), '*');
    const chunk = /import\("\.\/(chunks\/recording-[\w-]+\.js)"\)/.exec(await bundle.text())?.[1];
    assert.ok(chunk, 'the bundle loads the recording chunk lazily');
    const lazy = await fetch(`${server.url}/${chunk}`, { method: 'HEAD' });
    assert.equal(lazy.headers.get('access-control-allow-origin'), '*');
    assert.match(lazy.headers.get('cache-control') ?? '', /immutable/);
    const wasm = await fetch(`${server.url}/ffmpeg/ffmpeg-core.wasm`, { method: 'HEAD' });
    assert.equal(wasm.status, 200);
    assert.equal(wasm.headers.get('content-type'), 'application/wasm');
    assert.equal(wasm.headers.get('access-control-allow-origin'), '*');
    assert.equal(wasm.headers.get('cross-origin-resource-policy'), 'cross-origin');
    assert.equal((await fetch(`${server.url}/ffmpeg/ffmpeg-core.js`, { method: 'HEAD' })).status, 200);
  } finally {
    await server.stop();
  }
});

test('public files go out precompressed (brotli, else gzip) with validators, and byte for byte what was built', async () => {
  const server = await startServer();
  /** One GET with raw bytes (fetch would decode them): status, headers, body. */
  const get = (path: string, headers: Record<string, string>) =>
    new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      request(`${server.url}${path}`, { headers }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      })
        .on('error', reject)
        .end();
    });
  try {
    const built = readFileSync('dist/av-elements.js');
    const br = await get('/av-elements.js', { 'Accept-Encoding': 'gzip, deflate, br' });
    assert.equal(br.status, 200);
    assert.equal(br.headers['content-encoding'], 'br');
    assert.match(br.headers['content-type'] ?? '', /^text\/javascript/);
    assert.match(String(br.headers.vary), /Accept-Encoding/);
    assert.equal(br.headers['access-control-allow-origin'], '*');
    assert.match(br.headers['cache-control'] ?? '', /no-cache/, 'the entry keeps its name: checked at every use');
    assert.ok(br.body.length < built.length / 3, `brotli: ${br.body.length} of ${built.length} bytes`);
    assert.deepEqual(brotliDecompressSync(br.body), built);

    const gz = await get('/av-elements.js', { 'Accept-Encoding': 'gzip' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    assert.deepEqual(gunzipSync(gz.body), built);

    const plain = await get('/av-elements.js', {});
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.deepEqual(plain.body, built);

    // Revalidation: the ETag of the copy sent answers 304 with no body.
    const again = await get('/av-elements.js', { 'Accept-Encoding': 'br', 'If-None-Match': String(br.headers.etag) });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);

    const wasm = await get('/ffmpeg/ffmpeg-core.wasm', { 'Accept-Encoding': 'br' });
    assert.equal(wasm.headers['content-type'], 'application/wasm');
    assert.equal(wasm.headers['content-encoding'], 'br');
    assert.ok(wasm.body.length < 10e6, `core: ${wasm.body.length} bytes brotli`);

    // The copies are not files of their own.
    assert.equal((await get('/av-elements.js.br', {})).status, 404);
  } finally {
    await server.stop();
  }
});

test('a browser asking for /favicon.ico gets the icon, not a 404', async () => {
  const server = await startServer();
  try {
    const icon = await fetch(`${server.url}/favicon.ico`);
    assert.equal(icon.status, 200);
    assert.equal(icon.headers.get('content-type'), 'image/svg+xml');
    assert.match(await icon.text(), /^<svg /);
  } finally {
    await server.stop();
  }
});

test('started at a terminal, the server says in words where to open it; its JSON log stays as it was', async () => {
  // `script` gives the server a real terminal (as `npm start` in a shell has).
  const child = spawn('script', ['-qefc', `${process.execPath} dist/lib/server/cli.js --host 127.0.0.1 --port 0`, '/dev/null'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  try {
    const line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no line within 15 s: ${out}`)), 15_000);
      child.stdout.on('data', () => {
        const m = /av-server on (http:\/\/127\.0\.0\.1:\d+) — open it in two tabs[^\r\n]*/.exec(out);
        if (m && out.includes('"msg":"listening"')) {
          clearTimeout(timer);
          resolve(m[0]);
        }
      });
    });
    // (It was waited for: the JSON log for machines is still written.)
    const url = /http:\/\/127\.0\.0\.1:\d+/.exec(line)![0];
    assert.equal((await fetch(`${url}/healthz`)).status, 200, 'the URL it names answers');
  } finally {
    process.kill(-child.pid!, 'SIGTERM');
    await new Promise((r) => child.once('close', r));
  }
});
