// Floods against a real av-server child process, with plain `ws` and `net` clients on loopback: malformed frames on
// both sockets, 63 KB OFFERs to made-up ids (while two honest members keep relaying), 6,000 registered members,
// 1,000 sockets that never join, and a slowloris from a second address. Every loop is bounded in count and in time,
// and every socket and server a test opens is closed before it ends. Figures are printed for the report.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { metricSum, serverMetrics, startServer, type RunningServer } from '../helpers/server.js';

const MiB = 2 ** 20;
const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
const wsBase = (url: string) => url.replace(/^http/, 'ws');

interface Joined {
  self: { peerId: string };
  peerToken: string;
  peerPath: string;
}

/** `promise`, or a rejection naming `what` after `ms`. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The close code of `ws` (-1 if it was already closed), or 'open' if it is still open after `ms`. */
function closeCode(ws: WebSocket, ms: number): Promise<number | 'open'> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve(-1);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('open'), ms);
    ws.once('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** The first message of `ws` that `match` accepts; rejects when the socket closes first or after `ms`. */
function firstMessage<T>(ws: WebSocket, what: string, match: (msg: any) => T | undefined, ms: number): Promise<T> {
  return within(
    ms,
    what,
    new Promise<T>((resolve, reject) => {
      const onMessage = (data: Buffer) => {
        let msg: any;
        try {
          msg = JSON.parse(String(data));
        } catch {
          return;
        }
        if (msg?.type === 'error') return done(new Error(`${what}: ${msg.code} ${msg.message}`));
        const value = match(msg);
        if (value !== undefined) done(undefined, value);
      };
      const onClose = (code: number) => done(new Error(`${what}: socket closed (${code})`));
      const onRefused = (_req: unknown, res: { statusCode?: number }) => done(new Error(`${what}: refused with HTTP ${res.statusCode}`));
      const done = (err?: Error, value?: T) => {
        ws.off('message', onMessage);
        ws.off('close', onClose);
        ws.off('unexpected-response', onRefused);
        if (err) reject(err);
        else resolve(value as T);
      };
      ws.on('message', onMessage);
      ws.on('close', onClose);
      ws.on('unexpected-response', onRefused);
    }),
  ).catch((err: unknown) => {
    ws.terminate();
    throw err;
  });
}

/** A room member as a plain client: its room socket and the server's `joined` answer. */
async function join(url: string, room: string, name: string, ms = 10_000): Promise<{ ws: WebSocket; joined: Joined }> {
  const ws = new WebSocket(`${wsBase(url)}/r/${encodeURIComponent(room)}/ws`);
  ws.on('error', () => {});
  ws.once('open', () => ws.send(JSON.stringify({ type: 'join', name })));
  const joined = await firstMessage(ws, `join ${room}`, (m) => (m.type === 'joined' ? (m as Joined) : undefined), ms);
  return { ws, joined };
}

/** Registers a joined member with PeerServer (its issued id and token); resolves once PeerServer says OPEN. */
async function register(url: string, joined: Joined, ms = 10_000): Promise<WebSocket> {
  const q = `key=peerjs&id=${joined.self.peerId}&token=${joined.peerToken}&version=1.5.5`;
  const ws = new WebSocket(`${wsBase(url)}${joined.peerPath}/peerjs?${q}`);
  ws.on('error', () => {});
  await firstMessage(ws, 'signalling OPEN', (m) => (m.type === 'OPEN' ? true : undefined), ms);
  return ws;
}

/** A seeded PRNG (LCG): a failing run replays with the same seed. */
function seeded(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.floor((s / 2 ** 32) * n);
  };
}

/** Well-formed messages of both sockets; the generator below breaks each one so that neither socket accepts it. */
const WELL_FORMED = [
  { type: 'join', name: 'Mallory' },
  { type: 'relay', to: '*', data: { n: 1 } },
  { type: 'update', media: { audio: true, video: false } },
  { type: 'ping', t: 1 },
  { type: 'OFFER', dst: 'someone', payload: { sdp: 'v=0', type: 'media', connectionId: 'c1' } },
  { type: 'CANDIDATE', dst: 'someone', payload: { candidate: { candidate: '' } } },
  { type: 'HEARTBEAT' },
];
const NOT_A_TYPE = ['__proto__', 'constructor', '', 'OFFER ', 'join\u0000', 'Heartbeat', 'toString'];

/**
 * Malformed frames, never acceptable to the room socket nor to the signalling socket: cut-off JSON, binary frames,
 * JSON that is no object, types nobody knows or that are no string, deep nesting without a type.
 */
function* malformed(count: number, seed: number): Generator<string | Buffer> {
  const int = seeded(seed);
  for (let i = 0; i < count; i++) {
    const msg = WELL_FORMED[int(WELL_FORMED.length)]!;
    const text = JSON.stringify(msg);
    const kind = int(6);
    if (kind === 0) yield text.slice(0, int(text.length));
    else if (kind === 1) yield Buffer.from(Buffer.from(text).map((b) => (int(4) === 0 ? int(256) : b)));
    else if (kind === 2) yield JSON.stringify([text, 42, 'x', null, true][int(5)]);
    else if (kind === 3) yield JSON.stringify({ ...msg, type: int(3) ? NOT_A_TYPE[int(NOT_A_TYPE.length)] : `x-${int(1e6)}` });
    else if (kind === 4) yield JSON.stringify({ ...msg, type: [7, null, ['OFFER'], { join: 1 }, false][int(5)] });
    else {
      const depth = 1 + int(2000);
      yield `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    }
  }
}

/**
 * Sends 10,000 malformed frames at `ws` while it is open (a 5 ms pause every 100); asserts the server closes it as a
 * policy violation (1008) well before the last.
 */
async function malformedFlood(ws: WebSocket, label: string, seed: number): Promise<void> {
  const closed = closeCode(ws, 15_000);
  const t0 = performance.now();
  let sent = 0;
  for (const frame of malformed(10_000, seed)) {
    if (ws.readyState !== WebSocket.OPEN) break;
    ws.send(frame);
    if (++sent % 100 === 0) await sleep(5);
  }
  const code = await closed;
  console.log(
    `${label}: ${sent} of 10,000 malformed frames sent before the close (${code}) after ${(performance.now() - t0).toFixed(0)} ms`,
  );
  assert.equal(code, 1008, `the ${label} is closed as a policy violation`);
  assert.ok(sent < 2_000, `the ${label} is cut off well before 10,000 (${sent})`);
}

/** Waits (at most `ms`) until at most `bytes` wait in `ws`'s send buffer or the socket is no longer open. */
async function drained(ws: WebSocket, bytes: number, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (ws.readyState === WebSocket.OPEN && ws.bufferedAmount > bytes && Date.now() < end) await sleep(1);
}

/** The server's metrics, asked again once if the first request fails (a kept-alive connection closed meanwhile). */
async function metrics(url: string, gc = false): Promise<Record<string, number>> {
  return serverMetrics(url, { gc }).catch(() => sleep(100).then(() => serverMetrics(url, { gc })));
}

/** Server RSS in bytes, after a GC (the server runs with --expose-gc). */
async function rss(url: string, gc = true): Promise<number> {
  return (await metrics(url, gc)).av_process_resident_memory_bytes!;
}

/** Samples the server's RSS every `everyMs` until stopped; reports the peak. */
function rssPeak(url: string, everyMs = 200) {
  let peak = 0;
  let samples = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      try {
        peak = Math.max(peak, await rss(url, false));
        samples++;
      } catch {
        // a sample lost under load; the next one counts
      }
      await sleep(everyMs);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { peak, samples };
    },
  };
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))]! : NaN;
};

/** The limit on open files of process `pid`, from /proc. */
function openFilesLimit(pid: number): number {
  const line = readFileSync(`/proc/${pid}/limits`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  return Number(/Max open files\s+(\d+)/.exec(line ?? '')?.[1]);
}

async function withServer(args: string[], body: (server: RunningServer) => Promise<void>): Promise<void> {
  const server = await startServer(['--log-level', 'info', ...args], { nodeArgs: ['--expose-gc'] });
  try {
    await body(server);
  } finally {
    await server.stop();
  }
}

test(
  '10,000 malformed frames: the signalling socket, then the room socket, are closed with 1008 long before; RSS comes back',
  { timeout: 90_000 },
  () =>
    withServer([], async (server) => {
      await rss(server.url);
      const start = await rss(server.url);
      const { ws: room, joined } = await join(server.url, 'flood-a', 'Mallory');
      const signalling = await register(server.url, joined);

      // The signalling socket first (cutting the room socket ends the membership, and its signalling with it).
      await malformedFlood(signalling, 'signalling socket', 11);

      // The member is still in its room: its room socket answers.
      room.send(JSON.stringify({ type: 'ping', t: 1 }));
      await firstMessage(room, 'pong after the signalling cut', (m) => (m.type === 'pong' ? true : undefined), 5000);

      await malformedFlood(room, 'room socket', 12);

      // The client sees the close frame before the server has run its close handler: wait for it, bounded.
      let m = await metrics(server.url);
      for (const end = Date.now() + 5000; (m.av_members || m.av_signalling_sockets) && Date.now() < end; await sleep(100)) {
        m = await metrics(server.url);
      }
      assert.equal(m['av_sockets_cut_total{socket="signalling",reason="too many invalid messages"}'], 1);
      assert.equal(m['av_sockets_cut_total{socket="room",reason="too many invalid messages"}'], 1);
      assert.equal(m.av_members, 0, 'the member cut off on its room socket is gone');
      assert.equal(m.av_signalling_sockets, 0);

      await sleep(10_000);
      const end = await rss(server.url);
      console.log(`server RSS: start ${mib(start)}, 10 s after the floods ${mib(end)} (${mib(end - start)})`);
      assert.ok(end - start < 30 * MiB, `RSS within 30 MiB of its start (${mib(end - start)})`);
    }),
);

test(
  '30,000 OFFERs of 63 KB to made-up ids: the sender is cut off at once, RSS stays bounded, relays between others keep flowing',
  { timeout: 120_000 },
  () =>
    withServer([], async (server) => {
      await rss(server.url);
      const startMetrics = await metrics(server.url, true);
      const start = startMetrics.av_process_resident_memory_bytes!;
      const before = await metrics(server.url);

      // Two honest members of another room relay to each other, 10 messages a second each way, throughout.
      const ann = await join(server.url, 'honest', 'Ann');
      const bob = await join(server.url, 'honest', 'Bob');
      const relays: { sentAt: number; ms: number }[] = [];
      let relaysSent = 0;
      for (const { ws } of [ann, bob]) {
        ws.on('message', (data: Buffer) => {
          const msg = JSON.parse(String(data));
          if (msg.type === 'relayed') relays.push({ sentAt: msg.data.t, ms: performance.now() - msg.data.t });
        });
      }
      let relaying = true;
      const relayLoop = (async () => {
        for (let i = 0; relaying && i < 3_000; i++) {
          const [from, to] = i % 2 ? [bob, ann] : [ann, bob];
          from.ws.send(JSON.stringify({ type: 'relay', to: to.joined.self.peerId, data: { i, t: performance.now() } }));
          relaysSent++;
          await sleep(50);
        }
      })();

      const { ws: offenderRoom, joined } = await join(server.url, 'flood-b', 'Mallory');
      let signalling = await register(server.url, joined);
      const sdp = 'x'.repeat(63_000);
      const offer = (i: number) =>
        JSON.stringify({ type: 'OFFER', dst: `made-up-${i}`, payload: { sdp, type: 'media', connectionId: `c${i}` } });
      /** Sends OFFERs on `ws` while it is open (at most 1 MiB waiting in its buffer), up to `total` in all. */
      const flood = async (ws: WebSocket, from: number, total: number, deadline: number) => {
        let i = from;
        while (i < total && ws.readyState === WebSocket.OPEN && Date.now() < deadline) {
          ws.send(offer(i++));
          // Yield after every frame: a loop that never does would not see the server's close frame, and would go on
          // "sending" synchronously into a socket the server has already destroyed.
          await new Promise(setImmediate);
          if (ws.bufferedAmount > MiB) await drained(ws, 256 * 1024);
        }
        return i - from;
      };
      const peak = rssPeak(server.url);
      // Two quiet seconds of relays first, to compare with.
      await sleep(2_000);

      // One socket: cut off after its invalid-frame budget (50), long before 30,000.
      const closed = closeCode(signalling, 15_000);
      const t0 = performance.now();
      const firstSent = await flood(signalling, 0, 30_000, Date.now() + 20_000);
      const code = await closed;
      const cutMs = performance.now() - t0;
      console.log(
        `offender: ${firstSent} OFFERs (${mib(firstSent * 63_000)}) sent before the close (${code}) after ${cutMs.toFixed(0)} ms`,
      );
      assert.equal(code, 1008, 'the offender is cut off as a policy violation');
      assert.ok(firstSent < 2_000, `cut off well before 30,000 (${firstSent})`);
      assert.ok(cutMs < 5_000, `cut off quickly (${cutMs.toFixed(0)} ms)`);

      // The offender keeps trying. Its signalling token was revoked with the cut: the same URL registers no more.
      let refused = '';
      try {
        signalling = await register(server.url, joined, 5_000);
      } catch (err) {
        refused = (err as Error).message;
      }
      assert.match(refused, /401/, 'a cut-off signalling socket cannot simply register again');
      // It joins again for new credentials, and floods again, until its address is refused (5 cuts a minute).
      let sent = firstSent;
      let registrations = 1;
      const perSocket: number[] = [];
      const codes = new Map<string, number>();
      const deadline = Date.now() + 15_000;
      let rejoins = 0;
      while (sent < 30_000 && Date.now() < deadline) {
        try {
          const again = await join(server.url, 'flood-b', 'Mallory', 5_000);
          rejoins++;
          signalling = await register(server.url, again.joined, 5_000);
        } catch (err) {
          refused = (err as Error).message;
          break;
        }
        registrations++;
        const socketClosed = closeCode(signalling, 5_000);
        const n = await flood(signalling, sent, 30_000, deadline);
        if (signalling.readyState === WebSocket.OPEN) break; // the deadline, not a cut
        sent += n;
        const c = String(await socketClosed);
        codes.set(c, (codes.get(c) ?? 0) + 1);
        perSocket.push(n);
      }
      assert.match(refused, /429/, `after repeated cuts the address is refused (${refused})`);
      assert.ok(registrations <= 6, `at most 5 cuts a minute (${registrations} registrations)`);
      signalling.terminate();
      console.log(
        `offender, registering again after each cut: ${sent} OFFERs (${mib(sent * 63_000)}) over ${registrations} registrations in ` +
          `${((performance.now() - t0) / 1000).toFixed(1)} s (${rejoins} re-joins; ${perSocket.join(', ')} a socket; close codes ` +
          `${JSON.stringify(Object.fromEntries(codes))})${refused ? `; then refused: ${refused}` : ''}`,
      );

      relaying = false;
      await relayLoop;
      const { peak: peakRss, samples } = await peak.stop();
      await within(
        5_000,
        'every relay delivered',
        (async () => {
          while (relays.length < relaysSent) await sleep(20);
        })(),
      ).catch(() => {});
      const quiet = relays.filter((r) => r.sentAt < t0).map((r) => r.ms);
      const flooded = relays.filter((r) => r.sentAt >= t0).map((r) => r.ms);
      const after = await metrics(server.url);
      const dropped = metricSum(after, 'av_signalling_dropped_total') - metricSum(before, 'av_signalling_dropped_total');
      const cuts = after['av_sockets_cut_total{socket="signalling",reason="too many invalid messages"}'] ?? 0;
      const figures = (xs: number[]) =>
        `p50 ${quantile(xs, 0.5).toFixed(1)} ms, p99 ${quantile(xs, 0.99).toFixed(1)} ms, max ${Math.max(...xs).toFixed(1)} ms`;
      console.log(
        `honest relays: ${relays.length} of ${relaysSent} arrived; latency before the flood (${quiet.length}) ${figures(quiet)}; during it (${flooded.length}) ${figures(flooded)}`,
      );
      console.log(`server: ${dropped} signalling messages dropped, ${cuts} signalling sockets cut for invalid messages`);

      for (const { ws } of [ann, bob]) ws.close();
      offenderRoom.close();
      await sleep(10_000);
      const endMetrics = await metrics(server.url, true);
      const end = endMetrics.av_process_resident_memory_bytes!;
      const heap = (m: Record<string, number>) => mib(m.av_nodejs_heap_size_used_bytes!);
      console.log(
        `server RSS: start ${mib(start)}, peak ${mib(peakRss)} (${samples} samples), end ${mib(end)} (10 s after, after GC); heap used ${heap(startMetrics)} → ${heap(endMetrics)}`,
      );
      assert.equal(relays.length, relaysSent, 'every relay between the honest members arrived');
      // ws holds at most one 64 KiB message per socket, and each OFFER is parsed and dropped: nothing scales with
      // the number sent. 100 MiB leaves room for V8's young generation growing under this allocation rate.
      assert.ok(peakRss < start + 100 * MiB, `RSS peak within 100 MiB of its start (${mib(peakRss - start)})`);
    }),
);

test('6,000 members register with the signalling server (12,000 sockets), and all go when closed', { timeout: 180_000 }, async () => {
  const own = Number(execFileSync('sh', ['-c', 'ulimit -n']).toString().trim());
  await withServer(['--max-sockets-per-address', '20000'], async (server) => {
    const theirs = openFilesLimit(server.process.pid!);
    console.log(`open files limit: test process ${own}, server ${theirs}`);
    assert.ok(own >= 12_100 && theirs >= 12_100, 'room for 12,000 sockets on both sides');
    const start = await rss(server.url);
    const members: { ws: WebSocket; signalling: WebSocket }[] = [];
    const t0 = performance.now();
    try {
      for (let batch = 0; batch < 30; batch++) {
        const joins = Array.from({ length: 200 }, async (_, k) => {
          const i = batch * 200 + k;
          // Rooms of six: the default largest mesh.
          const { ws, joined } = await join(server.url, `mass-${Math.floor(i / 6)}`, `m${i}`, 30_000);
          try {
            members.push({ ws, signalling: await register(server.url, joined, 30_000) });
          } catch (err) {
            ws.terminate();
            throw err;
          }
        });
        const results = await Promise.allSettled(joins);
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed)
          throw new Error(`batch ${batch}: ${results.filter((r) => r.status === 'rejected').length} failed, e.g. ${failed.reason}`);
      }
      const seconds = (performance.now() - t0) / 1000;
      const m = await metrics(server.url, true);
      console.log(
        `${members.length} members joined and registered in ${seconds.toFixed(1)} s (${(members.length / seconds).toFixed(0)}/s); ` +
          `server RSS ${mib(start)} → ${mib(m.av_process_resident_memory_bytes!)} (${((m.av_process_resident_memory_bytes! - start) / members.length / 1024).toFixed(1)} KiB a member)`,
      );
      assert.equal(members.length, 6_000, '6,000 OPENs');
      assert.equal(m.av_signalling_sockets, 6_000);
      assert.equal(m.av_members, 6_000);
    } finally {
      for (const { ws, signalling } of members) {
        signalling.close(1000);
        ws.close(1000);
      }
    }
    let m = await metrics(server.url);
    for (const end = Date.now() + 30_000; (m.av_members || m.av_signalling_sockets) && Date.now() < end; await sleep(250)) {
      m = await metrics(server.url);
    }
    console.log(`after closing: members ${m.av_members}, signalling sockets ${m.av_signalling_sockets}, rooms ${m.av_rooms}`);
    assert.equal(m.av_members, 0);
    assert.equal(m.av_signalling_sockets, 0);
    assert.equal(m.av_rooms, 0);
  });
});

test('1,000 room sockets that never join are all closed by the server (1008) after the join timeout', { timeout: 60_000 }, () =>
  withServer(['--join-timeout', '2', '--max-sockets-per-address', '2000'], async (server) => {
    const sockets: { ws: WebSocket; opened: number; closed: Promise<{ code: number | 'open'; at: number }> }[] = [];
    try {
      for (let batch = 0; batch < 10; batch++) {
        await Promise.all(
          Array.from({ length: 100 }, async (_, k) => {
            const ws = new WebSocket(`${wsBase(server.url)}/r/idle-${(batch * 100 + k) % 50}/ws`);
            ws.on('error', () => {});
            await within(10_000, 'idle socket open', new Promise((resolve, reject) => ws.once('open', resolve).once('close', reject)));
            const opened = performance.now();
            sockets.push({ ws, opened, closed: closeCode(ws, 15_000).then((code) => ({ code, at: performance.now() })) });
          }),
        );
      }
      const ends = await Promise.all(sockets.map((s) => s.closed));
      const lifetimes = ends.map((e, i) => e.at - sockets[i]!.opened);
      const codes = new Map<string, number>();
      for (const e of ends) codes.set(String(e.code), (codes.get(String(e.code)) ?? 0) + 1);
      console.log(
        `1,000 idle sockets: close codes ${JSON.stringify(Object.fromEntries(codes))}; open for ${Math.min(...lifetimes).toFixed(0)}–${Math.max(...lifetimes).toFixed(0)} ms`,
      );
      assert.deepEqual(Object.fromEntries(codes), { 1008: 1000 }, 'every idle socket closed with 1008');
      assert.ok(Math.max(...lifetimes) < 5_000, `all closed within 5 s of opening (longest ${Math.max(...lifetimes).toFixed(0)} ms)`);
      const m = await metrics(server.url);
      assert.equal(m['av_sockets_cut_total{socket="room",reason="join timeout"}'], 1000);
    } finally {
      for (const { ws } of sockets) ws.terminate();
    }
  }),
);

test(
  'slowloris from 127.0.0.2: 1,000 trickled request headers are capped at 256 and dropped at the headers timeout; /readyz keeps answering',
  { timeout: 90_000 },
  () =>
    withServer([], async (server) => {
      const port = Number(new URL(server.url).port);
      // A partial request, one byte every 2 s: never complete within the headers timeout.
      const partial = `GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ${'a'.repeat(200)}`;
      interface Slow {
        socket: Socket;
        connected?: number;
        closed?: number;
        answer: string;
        sent: number;
      }
      const slow: Slow[] = [];
      const t0 = performance.now();
      const trickle = setInterval(() => {
        for (const s of slow)
          if (s.connected !== undefined && s.closed === undefined && s.sent < partial.length) s.socket.write(partial[s.sent++]!);
      }, 2_000);
      try {
        for (let i = 0; i < 1_000; i++) {
          const s: Slow = { socket: connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' }), answer: '', sent: 0 };
          s.socket.on('connect', () => {
            s.connected = performance.now();
            s.socket.write(partial[s.sent++]!);
          });
          s.socket.on('data', (d) => (s.answer += d.toString('latin1')));
          s.socket.on('error', () => {});
          s.socket.on('close', () => (s.closed = performance.now()));
          slow.push(s);
          if (i % 100 === 99) await sleep(10);
        }
        // Every connection is either accepted or refused within a second.
        await within(
          10_000,
          'all slow connections connected or refused',
          (async () => {
            while (slow.some((s) => s.connected === undefined && s.closed === undefined)) await sleep(50);
          })(),
        );
        await sleep(1_000);
        const held = slow.filter((s) => s.closed === undefined);
        const cut = (await metrics(server.url))['av_sockets_cut_total{socket="http",reason="address cap"}'] ?? 0;
        console.log(`slowloris: ${held.length} of 1,000 slow connections held by the server, ${cut} cut at once for the address cap`);
        assert.equal(held.length, 256, 'the server holds at most 256 connections from 127.0.0.2');
        assert.equal(cut, 1000 - 256);

        // Meanwhile, /readyz from 127.0.0.1 (a new connection each time) answers within a second, every second for 15 s.
        const samples: { status: number; ms: number }[] = [];
        for (let i = 0; i < 15; i++) {
          const t = performance.now();
          const status = await new Promise<number>((resolve) => {
            const req = request({ host: '127.0.0.1', port, path: '/readyz', agent: false, timeout: 1_000 }, (res) => {
              res.resume();
              resolve(res.statusCode ?? 0);
            });
            req.on('timeout', () => req.destroy());
            req.on('error', () => resolve(0));
            req.end();
          });
          samples.push({ status, ms: performance.now() - t });
          await sleep(Math.max(0, 1_000 - (performance.now() - t)));
        }
        const worst = Math.max(...samples.map((s) => s.ms));
        console.log(
          `/readyz during the slowloris: ${samples.filter((s) => s.status === 200).length} of 15 answered 200, slowest ${worst.toFixed(1)} ms`,
        );
        assert.ok(
          samples.every((s) => s.status === 200 && s.ms < 1_000),
          `every /readyz answered 200 within 1 s: ${JSON.stringify(samples.map((s) => [s.status, Math.round(s.ms)]))}`,
        );

        // The held ones go at the headers timeout (10 s), which Node checks every connectionsCheckingInterval (30 s
        // by default): at most 40 s after they connected.
        await within(
          45_000,
          'held slow connections closed',
          (async () => {
            while (held.some((s) => s.closed === undefined)) await sleep(100);
          })(),
        ).catch(() => {});
        const lifetimes = held.filter((s) => s.closed !== undefined).map((s) => (s.closed! - s.connected!) / 1000);
        const answers = new Map<string, number>();
        for (const s of held) {
          const line = s.answer.split('\r\n')[0] || (s.closed === undefined ? '(still open)' : '(nothing)');
          answers.set(line, (answers.get(line) ?? 0) + 1);
        }
        console.log(
          `held slow connections: ${lifetimes.length} of ${held.length} closed, after ${Math.min(...lifetimes).toFixed(1)}–${Math.max(...lifetimes).toFixed(1)} s ` +
            `(${Math.max(...held.map((s) => s.sent))} bytes sent at most); answers ${JSON.stringify(Object.fromEntries(answers))}; since start ${((performance.now() - t0) / 1000).toFixed(1)} s`,
        );
        assert.deepEqual(Object.fromEntries(answers), { 'HTTP/1.1 408 Request Timeout': 256 }, 'closed by the headers timeout (408)');
        assert.ok(Math.min(...lifetimes) >= 9.5, 'not before the 10 s headers timeout');
        assert.ok(
          Math.max(...lifetimes) <= 13,
          `within the 10 s headers timeout and a 1 s check interval (${Math.max(...lifetimes).toFixed(1)} s)`,
        );
      } finally {
        clearInterval(trickle);
        for (const s of slow) s.socket.destroy();
      }
    }),
);
