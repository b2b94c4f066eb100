// The room service against a real server process: every bad input gets a clear error and the server stays up.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import { roomClient } from '../../test/helpers/room-client.js';
import { startServer, type RunningServer } from '../../test/helpers/server.js';

let server: RunningServer;
before(async () => {
  server = await startServer();
});
after(() => server.stop());

const client = (room = 'unit') => roomClient(server.url, room);

async function healthy() {
  const res = await fetch(`${server.url}/healthz`);
  assert.equal(res.status, 200);
  return (await res.json()) as { ok: boolean; members: number };
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

test('roster: members hear of joins, media updates and leaves; a socket that drops counts as leaving', async () => {
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
  assert.equal((await a.next('peer-joined')).peer.peerId, bj.self.peerId);

  b.send({ type: 'update', media: { audio: false, video: true } });
  assert.deepEqual(await a.next('peer-updated'), { type: 'peer-updated', peerId: bj.self.peerId, media: { audio: false, video: true } });

  b.send({ type: 'leave' });
  assert.equal((await b.next('left')).type, 'left');
  assert.equal((await a.next('peer-left')).peerId, bj.self.peerId);

  const c = await client('roster');
  c.send({ type: 'join', name: 'Cy' });
  await c.next('joined');
  await a.next('peer-joined');
  c.ws.terminate();
  assert.ok((await a.next('peer-left')).peerId);
  a.close();
});

test('a peer id already in the room is refused; rooms are separate', async () => {
  const a = await client('ids');
  a.send({ type: 'join', name: 'Ann', peerId: 'fixed-id-1' });
  assert.equal((await a.next('joined')).self.peerId, 'fixed-id-1');
  const b = await client('ids');
  b.send({ type: 'join', name: 'Bob', peerId: 'fixed-id-1' });
  assert.equal((await b.next('error')).code, 'id-taken');
  const other = await client('other room');
  other.send({ type: 'join', name: 'Bob', peerId: 'fixed-id-1' });
  assert.deepEqual((await other.next('joined')).peers, []);
  for (const c of [a, b, other]) c.close();
});

test('bad URLs are refused at the upgrade, and floods are rate-limited without harm', async () => {
  for (const path of ['/nope', '/r//ws', '/r/%E0%A4%A/ws', `/r/${'x'.repeat(65)}/ws`]) {
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}${path}`);
    const status = await new Promise<number>((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)).once('error', () => resolve(-1)));
    assert.ok(status === 404 || status === 400, `${path} → ${status}`);
  }
  const c = await client('flood');
  for (let i = 0; i < 500; i++) c.send({ type: 'ping', t: i });
  const limited = await c.next('error');
  assert.equal(limited.code, 'rate-limited');
  assert.equal((await healthy()).ok, true);
  c.close();
});

test('a frame over the hard limit closes only that socket', async () => {
  const c = await client('huge');
  const closed = new Promise<number>((resolve) => c.ws.once('close', (code) => resolve(code)));
  c.send('x'.repeat(2 * 1024 * 1024));
  assert.equal(await closed, 1009);
  assert.equal((await healthy()).ok, true);
});
