// What the server shows the world and whom it believes, tried from outside with curl-like requests and plain `ws`
// clients: public files, headers, origins, health and metrics, lockout behind a proxy, the participants ceiling, and
// the local coturn's secret.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import { roomClient } from '../helpers/room-client.js';
import { freePort, startServer } from '../helpers/server.js';

test('only the bundle, its chunks and the ffmpeg core are public; headers say nosniff, a CSP on the demo, no X-Powered-By', async () => {
  const server = await startServer();
  try {
    const get = (path: string, init?: RequestInit) => fetch(`${server.url}${path}`, init);
    for (const path of ['/av-elements.js', '/ffmpeg/ffmpeg-core.wasm', '/'])
      assert.equal((await get(path, { method: 'HEAD' })).status, 200, path);
    for (const path of [
      '/lib/server/cli.js',
      '/lib/server/rooms.js',
      '/av-elements.js.map',
      '/lib/components/index.js',
      '/../package.json',
      '/%2e%2e/package.json',
    ]) {
      assert.equal((await get(path)).status, 404, `${path} is not served`);
    }
    const page = await get('/');
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.match(csp, /frame-ancestors 'none'/);
    for (const path of ['/', '/av-elements.js', '/healthz', '/r/x/peerjs/', '/r/x/peerjs/peerjs/id', '/nope']) {
      const res = await get(path);
      assert.equal(res.headers.get('x-powered-by'), null, `${path}: no X-Powered-By`);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', `${path}: nosniff`);
    }
  } finally {
    await server.stop();
  }
});

test('health says only "ok"; metrics go to this machine or a bearer token, never through a proxy', async () => {
  const server = await startServer();
  const guarded = await startServer(['--metrics-token', 'metrics-token-for-tests']);
  try {
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(await health.text(), 'ok');
    const local = await fetch(`${server.url}/metrics`);
    assert.equal(local.status, 200);
    assert.match(await local.text(), /^av_members \d+$/m);
    const viaProxy = await fetch(`${server.url}/metrics`, { headers: { 'X-Forwarded-For': '198.51.100.7' } });
    assert.equal(viaProxy.status, 404, 'a proxied request is not local');
    assert.equal((await fetch(`${guarded.url}/metrics`)).status, 404, 'with a token set, the token is needed');
    assert.equal((await fetch(`${guarded.url}/metrics`, { headers: { Authorization: 'Bearer wrong-token-xxxxxxxx' } })).status, 404);
    assert.equal((await fetch(`${guarded.url}/metrics`, { headers: { Authorization: 'Bearer metrics-token-for-tests' } })).status, 200);
  } finally {
    await Promise.all([server.stop(), guarded.stop()]);
  }
});

/** Upgrade status of a WebSocket to `path` sent with `origin`. */
function upgradeStatus(url: string, origin?: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, origin ? { headers: { Origin: origin } } : {});
    ws.once('open', () => {
      resolve(101);
      ws.close();
    });
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.once('error', () => resolve(-1));
  });
}

test("allowed-origins: other pages are refused on the room socket, PeerServer and CORS; the server's own page is fine", async () => {
  const server = await startServer(['--allowed-origin', 'https://app.example']);
  const open = await startServer();
  try {
    const ws = (s: string) => `${s.replace('http', 'ws')}/r/room/ws`;
    assert.equal(await upgradeStatus(ws(server.url), 'https://app.example'), 101);
    assert.equal(await upgradeStatus(ws(server.url), 'https://evil.example'), 403);
    assert.equal(await upgradeStatus(ws(server.url), server.url), 101, 'the demo served by this server');
    assert.equal(await upgradeStatus(ws(server.url)), 101, 'not a browser page: no Origin to check');
    assert.equal(
      await upgradeStatus(`${server.url.replace('http', 'ws')}/r/room/peerjs/peerjs?key=peerjs&id=x1234&token=t`, 'https://evil.example'),
      403,
    );
    const cors = async (s: string, path: string, origin: string) =>
      (await fetch(`${s}${path}`, { headers: { Origin: origin } })).headers.get('access-control-allow-origin');
    assert.equal(await cors(server.url, '/av-elements.js', 'https://app.example'), 'https://app.example');
    assert.equal(await cors(server.url, '/av-elements.js', 'https://evil.example'), null);
    assert.equal(await cors(server.url, '/r/room/peerjs/', 'https://evil.example'), null, 'PeerServer API echoes no foreign origin');
    assert.equal(await cors(server.url, '/r/room/peerjs/', 'https://app.example'), 'https://app.example');
    assert.equal(await cors(open.url, '/av-elements.js', 'https://anyone.example'), '*', 'by default the bundle is for any page');
    assert.equal(await upgradeStatus(ws(open.url), 'https://anyone.example'), 101);
  } finally {
    await Promise.all([server.stop(), open.stop()]);
  }
});

/** A room client whose requests come "through a proxy" that says the client is `forwardedFor`. */
async function proxiedJoin(url: string, room: string, forwardedFor: string, join: Record<string, unknown>) {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/r/${room}/ws`, { headers: { 'X-Forwarded-For': forwardedFor } });
  ws.on('error', () => {});
  await new Promise((resolve) => ws.once('open', resolve));
  const answer = new Promise<{ type: string; code?: string }>((resolve) =>
    ws.once('message', (m) => resolve(JSON.parse((m as Buffer).toString()))),
  );
  ws.send(JSON.stringify({ type: 'join', name: 'x', ...join }));
  const a = await answer;
  ws.close();
  return a.type === 'joined' ? 'joined' : (a.code ?? a.type);
}

test('behind a trusted proxy, 10 wrong passwords lock out that address for that room only', async () => {
  const server = await startServer(['--trust-proxy', 'loopback', '--room-password', 'board=right', '--room-password', 'other=right']);
  const untrusting = await startServer(['--room-password', 'board=right']);
  try {
    const x = '203.0.113.5';
    const y = '203.0.113.6';
    const codes: string[] = [];
    for (let i = 0; i < 11; i++) codes.push(await proxiedJoin(server.url, 'board', x, { password: `guess-${i}` }));
    assert.deepEqual(codes, [...Array(10).fill('auth-failed'), 'rate-limited']);
    assert.equal(await proxiedJoin(server.url, 'board', y, { password: 'right' }), 'joined', 'the right password from Y gets in');
    assert.equal(await proxiedJoin(server.url, 'other', x, { password: 'right' }), 'joined', 'X can still join another room');
    assert.equal(await proxiedJoin(server.url, 'board', x, { password: 'right' }), 'rate-limited', 'X waits out its block in that room');

    // Without trust-proxy the header is not believed: a forged X-Forwarded-For does not dodge the lockout.
    for (let i = 0; i < 10; i++) await proxiedJoin(untrusting.url, 'board', `198.51.100.${i}`, { password: `guess-${i}` });
    assert.equal(await proxiedJoin(untrusting.url, 'board', '198.51.100.99', { password: 'right' }), 'rate-limited');
  } finally {
    await Promise.all([server.stop(), untrusting.stop()]);
  }
});

test("the server's max-participants is a ceiling no client can raise", async () => {
  const server = await startServer(['--max-participants', '2']);
  try {
    const results: string[] = [];
    const clients = [];
    for (const name of ['Ann', 'Bob', 'Cy']) {
      const c = await roomClient(server.url, 'small');
      c.send({ type: 'join', name, maxParticipants: 64 });
      const m = await c.next();
      results.push(m.type === 'joined' ? `joined (limit ${m.maxParticipants})` : m.code);
      clients.push(c);
    }
    assert.deepEqual(results, ['joined (limit 2)', 'joined (limit 2)', 'room-full']);
    for (const c of clients) c.close();
  } finally {
    await server.stop();
  }
});

test(
  'the local coturn gets its secret from a file only this user can read, never from its command line',
  { skip: !hasCoturn() && 'coturn is not installed' },
  async () => {
    const [port, minPort] = await Promise.all([freePort(), freePort()]);
    const before = new Set(readdirSync(tmpdir()).filter((d) => d.startsWith('av-coturn-')));
    const server = await startServer([
      '--turn',
      '--turn-port',
      String(port),
      '--turn-min-port',
      String(minPort),
      '--turn-max-port',
      String(minPort + 10),
    ]);
    try {
      const c = await roomClient(server.url, 'turn');
      c.send({ type: 'join', name: 'Ann' });
      const joined = await c.next('joined');
      assert.ok(joined.iceServers.length > 0, 'TURN credentials handed out');
      c.close();
      const dir = readdirSync(tmpdir()).find((d) => d.startsWith('av-coturn-') && !before.has(d));
      assert.ok(dir, 'the coturn folder exists');
      const conf = join(tmpdir(), dir, 'turnserver.conf');
      assert.equal(statSync(conf).mode & 0o777, 0o600);
      assert.equal(statSync(join(tmpdir(), dir)).mode & 0o777, 0o700);
      const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
      const turnLines = ps.split('\n').filter((l) => l.includes('turnserver'));
      assert.ok(turnLines.length > 0, 'coturn runs');
      for (const line of turnLines) assert.doesNotMatch(line, /static-auth-secret|auth-secret=/, 'no secret on its command line');
      assert.ok(!server.logs.join('\n').includes('static-auth-secret'), 'nor in the logs');
    } finally {
      await server.stop();
    }
  },
);

function hasCoturn(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v turnserver'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
