// Access control against a real server: server password, room passwords, signed tokens, PeerServer registration.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import { createToken, verifyToken } from '../auth.js';
import { roomClient } from '../../test/helpers/room-client.js';
import { startServer, type RunningServer } from '../../test/helpers/server.js';

const SECRET = 'token-secret-for-tests';
let server: RunningServer;
before(async () => {
  server = await startServer(['--password', 'server-pw', '--room-password', 'locked=room-pw', '--token-secret', SECRET]);
});
after(() => server.stop());

async function join(room: string, fields: Record<string, unknown>) {
  const c = await roomClient(server.url, room);
  c.send({ type: 'join', name: 'Ann', ...fields });
  const answer = await c.next();
  return { c, answer };
}

async function refused(room: string, fields: Record<string, unknown>, reason: RegExp) {
  const { c, answer } = await join(room, fields);
  assert.equal(answer.type, 'error', JSON.stringify(answer));
  assert.equal(answer.code, 'auth-failed');
  assert.match(answer.message, reason);
  c.close();
}

test('tokens: signed, expiring, bound to a room (pure)', () => {
  const now = Date.now();
  const t = createToken({ room: 'a', identity: 'u1', ttlSeconds: 60, now }, SECRET);
  assert.deepEqual(verifyToken(t, SECRET, 'a', now), {
    ok: true,
    claims: { room: 'a', identity: 'u1', expiresAt: Math.floor(now / 1000) + 60 },
  });
  assert.deepEqual(verifyToken(t, SECRET, 'b', now), { ok: false, reason: 'token is for another room' });
  assert.deepEqual(verifyToken(t, SECRET, 'a', now + 61_000), { ok: false, reason: 'token expired' });
  assert.deepEqual(verifyToken(t, 'other-secret', 'a', now), { ok: false, reason: 'bad token signature' });
  assert.deepEqual(verifyToken(t.slice(0, -2) + 'xx', SECRET, 'a', now), { ok: false, reason: 'bad token signature' });
  assert.deepEqual(verifyToken('v1.garbage', SECRET, 'a', now), { ok: false, reason: 'malformed token' });
});

test('server password: missing and wrong are refused, right is accepted (as key or password)', async () => {
  await refused('open', {}, /needs a password/);
  await refused('open', { key: 'nope' }, /wrong server password/);
  for (const fields of [{ key: 'server-pw' }, { password: 'server-pw' }]) {
    const { c, answer } = await join('open', fields);
    assert.equal(answer.type, 'joined');
    c.close();
  }
});

test('room password: needed on top of the server password', async () => {
  await refused('locked', { key: 'server-pw' }, /room needs a password/);
  await refused('locked', { key: 'server-pw', password: 'guess' }, /wrong room password/);
  const { c, answer } = await join('locked', { key: 'server-pw', password: 'room-pw' });
  assert.equal(answer.type, 'joined');
  c.close();
});

test('tokens stand for both passwords; expired, foreign and forged ones are refused', async () => {
  await refused('locked', { token: createToken({ room: 'locked', identity: 'u1', ttlSeconds: -5 }, SECRET) }, /expired/);
  await refused('locked', { token: createToken({ room: 'elsewhere', identity: 'u1' }, SECRET) }, /another room/);
  await refused('locked', { token: createToken({ room: 'locked', identity: 'u1' }, 'forged') }, /signature/);
  const { c, answer } = await join('locked', { token: createToken({ room: 'locked', identity: 'user-42' }, SECRET) });
  assert.equal(answer.type, 'joined');
  assert.equal(answer.self.identity, 'user-42');
  c.close();
});

/** What a bare PeerJS client does: open PeerServer's socket with an id and a token of its choosing. */
function peerServerSocket(path: string, id: string, token: string): Promise<string> {
  const ws = new WebSocket(`${server.url.replace('http', 'ws')}${path}?key=peerjs&id=${id}&token=${token}&version=1.5.5`);
  return new Promise((resolve) => {
    ws.once('unexpected-response', (_req, res) => resolve(`http ${res.statusCode}`));
    ws.once('message', (m) => {
      resolve(JSON.parse((m as Buffer).toString()).type);
      ws.close();
    });
    ws.once('error', () => resolve('error'));
  });
}

test('PeerServer registers only the id and token a room join issued', async () => {
  assert.equal(await peerServerSocket('/peerjs/peerjs', 'bare-client-1', 'whatever'), 'http 404', 'only room-scoped signalling exists');
  assert.equal(await peerServerSocket('/r/open/peerjs/peerjs', 'bare-client-2', 'whatever'), 'http 401');
  const { c, answer } = await join('open', { key: 'server-pw' });
  assert.equal(await peerServerSocket('/r/open/peerjs/peerjs', answer.self.peerId, 'wrong-token'), 'http 401');
  assert.equal(await peerServerSocket('/r/other/peerjs/peerjs', answer.self.peerId, answer.peerToken), 'http 401', 'not in another room');
  assert.equal(await peerServerSocket('/r/open/peerjs/peerjs', answer.self.peerId, answer.peerToken), 'OPEN');
  c.close();
});

test('failed attempts are rate-limited per address and room', async () => {
  const limited = await startServer(['--password', 'pw']);
  try {
    const codes: string[] = [];
    for (let i = 0; i < 12; i++) {
      const c = await roomClient(limited.url, 'r');
      c.send({ type: 'join', name: 'x', key: `guess-${i}` });
      codes.push((await c.next('error')).code);
      c.close();
    }
    assert.deepEqual(codes.slice(0, 10), Array(10).fill('auth-failed'));
    assert.deepEqual(codes.slice(10), ['rate-limited', 'rate-limited']);
    const c = await roomClient(limited.url, 'r');
    c.send({ type: 'join', name: 'x', key: 'pw' });
    assert.equal((await c.next()).code, 'rate-limited', 'from this address, even the right password waits out the block');
    c.close();
    const elsewhere = await roomClient(limited.url, 'another room');
    elsewhere.send({ type: 'join', name: 'x', key: 'pw' });
    assert.equal((await elsewhere.next()).type, 'joined', 'the same address still joins other rooms');
    elsewhere.close();
  } finally {
    await limited.stop();
  }
});

test('logs: one line per join, leave and auth failure, with room and peer id, never a secret', async () => {
  const { c, answer } = await join('logged', { key: 'server-pw' });
  c.send({ type: 'leave' });
  await c.next('left');
  c.close();
  await refused('locked', { key: 'server-pw', password: 'wrong-room-pw-attempt' }, /wrong room password/);
  await new Promise((r) => setTimeout(r, 200));
  const lines = server.logs.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  const mine = (msg: string) => lines.filter((l) => l.msg === msg && l.room === 'logged' && l.peerId === answer.self.peerId);
  assert.equal(mine('join').length, 1);
  assert.equal(mine('leave').length, 1);
  assert.ok(lines.some((l) => l.msg === 'auth failure' && l.room === 'locked' && /wrong room password/.test(l.reason)));
  const all = server.logs.join('\n');
  for (const secret of ['server-pw', 'room-pw', 'wrong-room-pw-attempt', SECRET, answer.peerToken]) {
    assert.ok(!all.includes(secret), `the logs never contain "${secret}"`);
  }
});
