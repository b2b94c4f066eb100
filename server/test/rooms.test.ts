// The room service against a real server process: every bad input gets a clear error and the server stays up.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import { roomClient } from '../../test/helpers/room-client.js';
import { serverMetrics, startServer, type RunningServer } from '../../test/helpers/server.js';

let server: RunningServer;
before(async () => {
  server = await startServer(['--member-grace', '1']);
});
after(() => server.stop());

const client = (room = 'unit') => roomClient(server.url, room);

async function healthy() {
  const res = await fetch(`${server.url}/healthz`);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'ok');
  return { ok: true, members: (await serverMetrics(server.url)).av_members };
}

test('bad input gets a clear error and the server stays up', async () => {
  const c = await client();
  const expectError = async (input: unknown, code: string, reason: RegExp) => {
    c.send(input);
    const m = await c.next('error');
    assert.equal(m.code, code, `for ${String(input).slice(0, 40)}`);
    assert.match(m.message, reason);
  };
  await expectError('not json at all', 'bad-json', /JSON/);
  await expectError({ type: 'fly' }, 'unknown-type', /fly/);
  await expectError({ type: 'join', name: 'x'.repeat(70 * 1024) }, 'too-large', /65536/);
  await expectError({ type: 'join' }, 'invalid-message', /name/);
  await expectError({ name: 'Ann' }, 'invalid-message', /type/);
  await expectError(Buffer.from([0xff, 0x00, 0x13]), 'bad-json', /binary/);
  await expectError({ type: 'leave' }, 'not-joined', /not joined/);
  await expectError({ type: 'update', media: { audio: true, video: true } }, 'not-joined', /not joined/);
  c.send({ type: 'join', name: 'Ann' });
  const joined = await c.next('joined');
  assert.equal(joined.self.name, 'Ann');
  assert.deepEqual(joined.iceServers, []);
  await expectError({ type: 'join', name: 'Ann again' }, 'already-joined', /already joined/);
  assert.equal(c.ws.readyState, WebSocket.OPEN, 'the socket survives all of it');
  assert.equal((await healthy()).members, 1);
  c.close();
});

test('roster: members hear of joins, media updates and leaves; a socket that drops leaves after the grace period', async () => {
  const a = await client('roster');
  a.send({ type: 'join', name: 'Ann', media: { audio: true, video: false } });
  const aj = await a.next('joined');
  assert.deepEqual(aj.peers, []);

  const b = await client('roster');
  b.send({ type: 'join', name: 'Bob' });
  const bj = await b.next('joined');
  assert.deepEqual(bj.peers, [{ peerId: aj.self.peerId, name: 'Ann', media: { audio: true, video: false }, role: 'member' }]);
  assert.equal(bj.peerPath, '/r/roster/peerjs');
  assert.match(bj.peerToken, /^[0-9a-f]{32}$/);
  assert.match(bj.self.peerId, /^p[0-9a-f]{31}$/);
  assert.equal((await a.next('peer-joined')).peer.peerId, bj.self.peerId);

  b.send({ type: 'update', media: { audio: false, video: true } });
  assert.deepEqual(await a.next('peer-updated'), { type: 'peer-updated', peerId: bj.self.peerId, media: { audio: false, video: true } });

  b.send({ type: 'leave' });
  assert.equal((await b.next('left')).type, 'left');
  assert.equal((await a.next('peer-left')).peerId, bj.self.peerId);

  // A page going away closes its socket properly: gone at once.
  const c = await client('roster');
  c.send({ type: 'join', name: 'Cy' });
  await c.next('joined');
  await a.next('peer-joined');
  const closedAt = Date.now();
  c.ws.close(1001);
  assert.ok((await a.next('peer-left', 900)).peerId);
  assert.ok(Date.now() - closedAt < 900);

  // A connection lost without a close is kept for the grace period (1 s here), then announced as left.
  const d = await client('roster');
  d.send({ type: 'join', name: 'Di' });
  const dj = await d.next('joined');
  await a.next('peer-joined');
  const lostAt = Date.now();
  d.ws.terminate();
  assert.equal((await a.next('peer-left', 4000)).peerId, dj.self.peerId);
  assert.ok(Date.now() - lostAt >= 900, 'not before the grace period');

  // Coming back within the grace period with the resume token: the same member, no leave, no join.
  const e = await client('roster');
  e.send({ type: 'join', name: 'Ed' });
  const ej = await e.next('joined');
  await a.next('peer-joined');
  e.ws.terminate();
  const e2 = await client('roster');
  e2.send({ type: 'join', name: 'Ed', resume: ej.resumeToken });
  const back = await e2.next('joined');
  assert.equal(back.self.peerId, ej.self.peerId);
  assert.notEqual(back.peerToken, ej.peerToken, 'a new signalling token at every join');
  assert.equal((await a.next('peer-updated')).peerId, ej.self.peerId);
  await new Promise((r) => setTimeout(r, 1500));
  await assert.rejects(a.next('peer-left', 100), 'Ed came back: no leave after the grace period');
  a.close();
  e2.close();
});

test('peer ids are issued, never chosen: only the resume token takes an id, and it is bound to its room', async () => {
  const a = await client('ids');
  a.send({ type: 'join', name: 'Ann', peerId: 'fixed-id-1' });
  assert.equal((await a.next('error')).code, 'invalid-message', 'a client cannot name its id');
  a.send({ type: 'join', name: 'Ann' });
  const aj = await a.next('joined');
  // Someone else cannot come back as Ann: a made-up resume token derives another id.
  const b = await client('ids');
  b.send({ type: 'join', name: 'Mallory', resume: 'x'.repeat(32) });
  const bj = await b.next('joined');
  assert.notEqual(bj.self.peerId, aj.self.peerId);
  // Ann's own token used in another room gives another id there: ids are bound to one room.
  const other = await client('other room');
  other.send({ type: 'join', name: 'Ann', resume: aj.resumeToken });
  const oj = await other.next('joined');
  assert.notEqual(oj.self.peerId, aj.self.peerId);
  assert.deepEqual(oj.peers, []);
  for (const c of [a, b, other]) c.close();
});

test('bad URLs are refused at the upgrade, and floods are rate-limited without harm', async () => {
  for (const path of ['/nope', '/r//ws', '/r/%E0%A4%A/ws', `/r/${'x'.repeat(65)}/ws`]) {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}${path}`);
    const status = await new Promise<number>((resolve) =>
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)).once('error', () => resolve(-1)),
    );
    assert.ok(status === 404 || status === 400, `${path} → ${status}`);
  }
  const c = await client('flood');
  const closed = new Promise<number>((resolve) => c.ws.once('close', (code) => resolve(code)));
  for (let i = 0; i < 500; i++) c.send({ type: 'ping', t: i });
  assert.equal(await closed, 1008, 'past its message budget the socket is closed as a policy violation');
  const d = await client('flood');
  d.send({ type: 'join', name: 'Di' });
  assert.equal((await d.next('joined')).self.name, 'Di', 'others are not affected');
  assert.equal((await healthy()).ok, true);
  d.close();
});

test('a frame over the hard limit closes only that socket', async () => {
  const c = await client('huge');
  const closed = new Promise<number>((resolve) => c.ws.once('close', (code) => resolve(code)));
  c.send('x'.repeat(2 * 1024 * 1024));
  assert.equal(await closed, 1009);
  assert.equal((await healthy()).ok, true);
});
