// Abuse against a real server process: malformed floods on both sockets, relays to made-up peers, 1 MiB frames,
// rapid join/leave. The server stays up, answers errors, and its heap comes back. Every loop is bounded.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import { roomClient } from '../../test/helpers/room-client.js';
import { serverMetrics, startServer, type RunningServer } from '../../test/helpers/server.js';

let server: RunningServer;
before(async () => {
  // Cut-offs from this one address are the point here: the offender lockout is tried on its own below.
  server = await startServer(['--log-level', 'info', '--offender-cuts', '0'], { nodeArgs: ['--expose-gc'] });
});
after(() => server.stop());

async function health(): Promise<{ ok: boolean; members: number; rooms: number; memory: { heapUsed: number } }> {
  const res = await fetch(`${server.url}/healthz`);
  assert.equal(res.status, 200);
  const m = await serverMetrics(server.url, { gc: true });
  return { ok: true, members: m.av_members!, rooms: m.av_rooms!, memory: { heapUsed: m.av_nodejs_heap_size_used_bytes! } };
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
  const types = [
    'join',
    'leave',
    'update',
    'ping',
    'relay',
    'app',
    'OFFER',
    'ANSWER',
    'CANDIDATE',
    'HEARTBEAT',
    'LEAVE',
    '__proto__',
    'constructor',
    '',
  ];
  for (let i = 0; i < count; i++) {
    switch (Math.floor(r() * 8)) {
      case 0:
        yield Buffer.from(Array.from({ length: 1 + Math.floor(r() * 200) }, () => Math.floor(r() * 256)));
        break;
      case 1:
        yield JSON.stringify({ type: pick(types), name: r() }).slice(0, Math.floor(r() * 30));
        break;
      case 2:
        yield JSON.stringify({
          type: pick(types),
          to: pick(['*', 'ghost', '', 'x'.repeat(80)]),
          data: { a: r() },
          bin: pick(['@@', 'AAAA', undefined]),
        });
        break;
      case 3:
        yield JSON.stringify({
          type: pick(types),
          media: { audio: pick([true, 'no', null]), video: r() },
          name: pick(['', 'x'.repeat(100), '\u0000', 'ok']),
        });
        break;
      case 4:
        yield '['.repeat(5000) + ']'.repeat(5000);
        break;
      case 5:
        yield JSON.stringify([pick(types), r(), null]);
        break;
      case 6:
        yield JSON.stringify({
          type: pick(types),
          dst: `made-up-${Math.floor(r() * 1e6)}`,
          payload: { sdp: 'x'.repeat(Math.floor(r() * 2000)) },
        });
        break;
      default:
        yield String.fromCharCode(...Array.from({ length: 50 }, () => Math.floor(r() * 0xffff)));
    }
  }
}

const wsUrl = (path: string) => `${server.url.replace('http', 'ws')}${path}`;

async function closeCode(ws: WebSocket, timeoutMs = 5000): Promise<number | 'open'> {
  if (ws.readyState === WebSocket.CLOSED) return -1;
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve('open'), timeoutMs);
    ws.once('close', (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
}

test(
  'malformed floods on both sockets and relays to nobody are cut off (1008); 1 MiB frames refused; churn: the heap comes back',
  { timeout: 180_000 },
  async () => {
    await health();
    const start = (await health()).memory.heapUsed;

    // A member, registered at PeerServer with its issued id and token, whose sockets we abuse.
    const member = await roomClient(server.url, 'abuse');
    member.send({ type: 'join', name: 'Mallory' });
    const joined = await member.next('joined');
    const peerWs = new WebSocket(wsUrl(`/r/abuse/peerjs/peerjs?key=peerjs&id=${joined.self.peerId}&token=${joined.peerToken}`));
    await new Promise((resolve, reject) => peerWs.once('message', resolve).once('error', reject));
    peerWs.on('error', () => {});

    // Malformed frames on the PeerServer socket: it is closed long before 10,000.
    const peerClosed = closeCode(peerWs, 10_000);
    let n = 0;
    for (const f of frames(10_000, 1)) {
      if (peerWs.readyState !== WebSocket.OPEN) break;
      peerWs.send(f);
      if (++n % 100 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(await peerClosed, 1008, 'the signalling socket is closed as a policy violation');
    assert.ok(n < 10_000, `cut off after ${n} frames`);

    // Malformed frames on room sockets: 50 sockets, each answered with errors until its budget is spent, then closed.
    const gen = frames(10_000, 2);
    let cut = 0;
    let errors = 0;
    for (let s = 0; s < 50; s++) {
      const c = await roomClient(server.url, `abuse-${s % 5}`);
      const closed = closeCode(c.ws);
      for (let i = 0; i < 200 && c.ws.readyState === WebSocket.OPEN; i++) c.send(gen.next().value);
      if ((await closed) === 1008) cut++;
      for (;;) {
        const m = await c.next(undefined, 10).catch(() => undefined);
        if (!m) break;
        if (m.type === 'error') errors++;
      }
    }
    assert.equal(cut, 50, 'every flooding room socket was closed with 1008');
    assert.ok(errors >= 50 * 10, `bad frames were answered with errors before the cut (${errors})`);

    // Relays to made-up peer ids: refused one by one, then the socket is cut off.
    const memberClosed = closeCode(member.ws);
    for (let i = 0; i < 150 && member.ws.readyState === WebSocket.OPEN; i++) member.send({ type: 'relay', to: `ghost-${i}`, data: { i } });
    assert.equal((await member.next('error')).code, 'unknown-peer');
    assert.equal(await memberClosed, 1008);

    // 1 MiB frames: the room socket answers too-large; PeerServer's socket (64 KiB cap) closes with 1009.
    const big = await roomClient(server.url, 'abuse');
    big.send({ type: 'join', name: 'Big' });
    const bigJoined = await big.next('joined');
    big.send(Buffer.alloc(1024 * 1024, 0x41).toString());
    assert.equal((await big.next('error')).code, 'too-large');
    const ws = new WebSocket(wsUrl(`/r/abuse/peerjs/peerjs?key=peerjs&id=${bigJoined.self.peerId}&token=${bigJoined.peerToken}`));
    ws.on('error', () => {});
    await new Promise((r) => ws.once('open', r));
    const closed = closeCode(ws);
    ws.send(Buffer.alloc(1024 * 1024, 0x41));
    assert.equal(await closed, 1009);
    big.close();
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

    peerWs.close();
    await new Promise((r) => setTimeout(r, 2000));
    const end = await health();
    assert.equal(end.ok, true);
    assert.equal(end.members, 0, 'every member is gone');
    assert.equal(end.rooms, 0, 'every room is gone');
    const growthMiB = (end.memory.heapUsed - start) / 2 ** 20;
    console.log(
      `heap: start ${(start / 2 ** 20).toFixed(1)} MiB, end ${(end.memory.heapUsed / 2 ** 20).toFixed(1)} MiB, growth ${growthMiB.toFixed(1)} MiB`,
    );
    assert.ok(growthMiB < 20, `heap returns within 20 MiB of its start (grew ${growthMiB.toFixed(1)} MiB)`);

    const after = await roomClient(server.url, 'after');
    after.send({ type: 'join', name: 'Ann' });
    assert.equal((await after.next('joined')).type, 'joined', 'still serving joins');
    after.close();
  },
);

test('an address whose sockets keep being cut off is refused for a minute; other addresses are not', async () => {
  const strict = await startServer([]);
  try {
    const flood = async (localAddress: string) => {
      const ws = new WebSocket(`${strict.url.replace('http', 'ws')}/r/offender/ws`, { localAddress });
      ws.on('error', () => {});
      const outcome = await new Promise<string>((resolve) => {
        ws.once('unexpected-response', (_req, res) => resolve(`http ${res.statusCode}`));
        ws.once('open', () => {
          for (let i = 0; i < 30; i++) ws.send('not json');
        });
        ws.once('close', (code) => resolve(`closed ${code}`));
      });
      return outcome;
    };
    const outcomes: string[] = [];
    for (let i = 0; i < 6; i++) outcomes.push(await flood('127.0.0.1'));
    assert.deepEqual(outcomes, [...Array(5).fill('closed 1008'), 'http 429']);
    const other = await new Promise<string>((resolve) => {
      const ws = new WebSocket(`${strict.url.replace('http', 'ws')}/r/offender/ws`, { localAddress: '127.0.0.2' });
      ws.once('open', () => {
        resolve('open');
        ws.close();
      });
      ws.once('unexpected-response', (_req, res) => resolve(`http ${res.statusCode}`));
      ws.once('error', () => resolve('error'));
    });
    assert.equal(other, 'open', 'another address still gets in');
  } finally {
    await strict.stop();
  }
});
