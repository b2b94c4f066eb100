// Abuse against a real server process: malformed floods on both sockets, relays to made-up peers, 1 MiB frames,
// rapid join/leave. The server stays up, answers errors, and its heap comes back. Every loop is bounded.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import { roomClient } from '../../test/helpers/room-client.js';
import { startServer, type RunningServer } from '../../test/helpers/server.js';

let server: RunningServer;
before(async () => {
  server = await startServer(['--log-level', 'info'], { nodeArgs: ['--expose-gc'] });
});
after(() => server.stop());

async function health(): Promise<{ ok: boolean; members: number; rooms: number; memory: { heapUsed: number } }> {
  const res = await fetch(`${server.url}/healthz?gc=1`);
  assert.equal(res.status, 200);
  return res.json() as never;
}

/** A small seeded PRNG, so a failure can be replayed. */
function rng(seed: number) {
  return () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
}

/** Random and malformed frames: bytes, broken JSON, wrong shapes, known types with bad fields, deep nesting. */
function* frames(count: number, seed: number): Generator<string | Buffer> {
  const r = rng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const types = ['join', 'leave', 'update', 'ping', 'relay', 'app', 'OFFER', 'ANSWER', 'CANDIDATE', 'HEARTBEAT', 'LEAVE', '__proto__', 'constructor', ''];
  for (let i = 0; i < count; i++) {
    switch (Math.floor(r() * 8)) {
      case 0:
        yield Buffer.from(Array.from({ length: 1 + Math.floor(r() * 200) }, () => Math.floor(r() * 256)));
        break;
      case 1:
        yield JSON.stringify({ type: pick(types), name: r() }).slice(0, Math.floor(r() * 30));
        break;
      case 2:
        yield JSON.stringify({ type: pick(types), to: pick(['*', 'ghost', '', 'x'.repeat(80)]), data: { a: r() }, bin: pick(['@@', 'AAAA', undefined]) });
        break;
      case 3:
        yield JSON.stringify({ type: pick(types), media: { audio: pick([true, 'no', null]), video: r() }, name: pick(['', 'x'.repeat(100), '\u0000', 'ok']) });
        break;
      case 4:
        yield '['.repeat(5000) + ']'.repeat(5000);
        break;
      case 5:
        yield JSON.stringify([pick(types), r(), null]);
        break;
      case 6:
        yield JSON.stringify({ type: pick(types), dst: `made-up-${Math.floor(r() * 1e6)}`, payload: { sdp: 'x'.repeat(Math.floor(r() * 2000)) } });
        break;
      default:
        yield String.fromCharCode(...Array.from({ length: 50 }, () => Math.floor(r() * 0xffff)));
    }
  }
}

const wsUrl = (path: string) => `${server.url.replace('http', 'ws')}${path}`;

test('floods, made-up peers, 1 MiB frames and join/leave churn: the server stays up and its heap comes back', { timeout: 180_000 }, async () => {
  await health();
  const start = (await health()).memory.heapUsed;

  // A member, registered at PeerServer with its issued id and token, whose sockets we abuse.
  const member = await roomClient(server.url, 'abuse');
  member.send({ type: 'join', name: 'Mallory' });
  const joined = await member.next('joined');
  const peerWs = new WebSocket(wsUrl(`/r/abuse/peerjs/peerjs?key=peerjs&id=${joined.self.peerId}&token=${joined.peerToken}`));
  await new Promise((resolve, reject) => peerWs.once('message', resolve).once('error', reject));
  peerWs.on('error', () => {});

  // 10,000 malformed frames on the PeerServer socket (it has no per-socket limit of its own; ws caps frame size).
  let n = 0;
  for (const f of frames(10_000, 1)) {
    if (peerWs.readyState !== WebSocket.OPEN) break;
    peerWs.send(f);
    if (++n % 500 === 0) await new Promise((r) => setImmediate(r));
  }
  assert.equal(n, 10_000, 'the PeerServer socket took every frame');

  // 10,000 malformed frames on room sockets: 50 sockets x 200 (each socket's burst), every one answered.
  let errors = 0;
  let answered = 0;
  const gen = frames(10_000, 2);
  for (let s = 0; s < 50; s++) {
    const c = await roomClient(server.url, `abuse-${s % 5}`);
    let sent = 0;
    for (let i = 0; i < 200; i++) {
      const { value } = gen.next();
      c.send(value);
      sent++;
    }
    for (let i = 0; i < sent; i++) {
      const m = await c.next(undefined, 5000);
      answered++;
      if (m.type === 'error') errors++;
    }
    c.close();
  }
  assert.equal(answered, 10_000, 'every frame got an answer');
  assert.ok(errors > 9_000, `malformed frames get errors (${errors})`);

  // Relays to made-up peer ids: refused one by one, within the rate limit.
  let unknown = 0;
  for (let i = 0; i < 150; i++) member.send({ type: 'relay', to: `ghost-${i}`, data: { i } });
  for (let i = 0; i < 150; i++) if ((await member.next('error')).code === 'unknown-peer') unknown++;
  assert.equal(unknown, 150);

  // 1 MiB frames: the room socket answers too-large; PeerServer's socket (64 KiB cap) closes with 1009.
  member.send(Buffer.alloc(1024 * 1024, 0x41).toString());
  assert.equal((await member.next('error')).code, 'too-large');
  const ws = new WebSocket(wsUrl(`/r/abuse/peerjs/peerjs?key=peerjs&id=${joined.self.peerId}&token=${joined.peerToken}`));
  ws.on('error', () => {});
  await new Promise((r) => ws.once('open', r));
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
  ws.send(Buffer.alloc(1024 * 1024, 0x41));
  assert.equal(await closed, 1009);
  // 500 rapid join/leave cycles.
  for (let i = 0; i < 500; i++) {
    const c = await roomClient(server.url, `churn-${i % 7}`);
    c.send({ type: 'join', name: `Churn ${i}` });
    await c.next('joined');
    c.send({ type: 'leave' });
    await c.next('left');
    if (i % 2) c.ws.terminate();
    else c.close();
  }

  member.close();
  peerWs.close();
  // Let PeerServer expire the messages it queued for made-up ids (5 s), then compare heaps.
  await new Promise((r) => setTimeout(r, 7000));
  const end = await health();
  assert.equal(end.ok, true);
  assert.equal(end.members, 0, 'every member is gone');
  assert.equal(end.rooms, 0, 'every room is gone');
  const growthMiB = (end.memory.heapUsed - start) / 2 ** 20;
  console.log(`heap: start ${(start / 2 ** 20).toFixed(1)} MiB, end ${(end.memory.heapUsed / 2 ** 20).toFixed(1)} MiB, growth ${growthMiB.toFixed(1)} MiB`);
  assert.ok(growthMiB < 20, `heap returns within 20 MiB of its start (grew ${growthMiB.toFixed(1)} MiB)`);

  const after = await roomClient(server.url, 'after');
  after.send({ type: 'join', name: 'Ann' });
  assert.equal((await after.next('joined')).type, 'joined', 'still serving joins');
  after.close();
});
