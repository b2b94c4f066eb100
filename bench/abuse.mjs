// Join latency under abuse: 20 honest members join again and again (room socket join + PeerServer registration;
// latency = from opening the room socket to PeerServer's OPEN), first with no flood (baseline), then while one
// client (a worker thread, from another address: 127.0.0.2) floods at full speed: malformed frames on a room socket and 63 KB OFFERs to
// made-up ids on a signalling socket, joining and registering again whenever it is cut off. Prints every run (join
// p50/p99, failures, server RSS start/peak/end, what the flooder got through) and the flood/baseline ratios.
// Usage: node bench/abuse.mjs [runs=3] [seconds=10]
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldNow, setTimeout as sleep } from 'node:timers/promises';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { WebSocket } from 'ws';

const MiB = 2 ** 20;
const HONEST = 20;
/** The flooder is another host than the honest members (the server refuses an address it keeps cutting off). */
const FLOODER = '127.0.0.2';

/** Opens a room socket, joins; resolves `{ ws, joined }` (rejects on an error answer, a close, or after 10 s). */
function join(url, room, name, localAddress) {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/r/${room}/ws`, localAddress ? { localAddress } : {});
  ws.on('error', () => {});
  ws.once('open', () => ws.send(JSON.stringify({ type: 'join', name })));
  return answer(ws, 'joined').then((joined) => ({ ws, joined }));
}

/** Registers with PeerServer using the join's id and token; resolves the socket once PeerServer says OPEN. */
function register(url, joined, localAddress) {
  const q = `key=peerjs&id=${joined.self.peerId}&token=${joined.peerToken}&version=1.5.5`;
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}${joined.peerPath}/peerjs?${q}`, localAddress ? { localAddress } : {});
  ws.on('error', () => {});
  return answer(ws, 'OPEN').then(() => ws);
}

/** The first message of type `type` on `ws`; the socket is terminated if it does not come. */
function answer(ws, type, ms = 10_000) {
  return new Promise((resolve, reject) => {
    const fail = (why) => {
      cleanup();
      ws.terminate();
      reject(new Error(why));
    };
    const timer = setTimeout(() => fail(`no ${type} within ${ms} ms`), ms);
    const onMessage = (data) => {
      let msg;
      try {
        msg = JSON.parse(String(data));
      } catch {
        return;
      }
      if (msg.type === type) {
        cleanup();
        resolve(msg);
      } else if (msg.type === 'error' || msg.type === 'ERROR') fail(`${msg.code ?? msg.payload?.msg}`);
    };
    const onClose = (code) => fail(`closed (${code}) before ${type}`);
    const cleanup = () => {
      clearTimeout(timer);
      ws.off('message', onMessage);
      ws.off('close', onClose);
    };
    ws.on('message', onMessage);
    ws.on('close', onClose);
  });
}

const closed = (ws) => (ws.readyState === WebSocket.CLOSED ? Promise.resolve() : new Promise((r) => ws.once('close', r)));

if (!isMainThread) {
  // The flooder. Every loop stops at `until`.
  const { url, until } = workerData;
  const stats = { joins: 0, registrations: 0, malformed: 0, offers: 0, roomCuts: 0, signallingCuts: 0, failures: 0 };
  const junk = [
    '{"type":"relay","to":',
    Buffer.from([0x00, 0xff, 0x7b, 0x22]),
    '{"type":"teleport","to":"*"}',
    '[1,2,3]',
    '{"type":42}',
    '"just a string"',
  ];
  const sdp = 'x'.repeat(63_000);

  /** Malformed frames on a room socket until it is cut off, then joins again. */
  const roomFlood = async () => {
    for (let round = 0; Date.now() < until && round < 100_000; round++) {
      let ws;
      try {
        ({ ws } = await join(url, 'flood-room', 'Mallory', FLOODER));
        stats.joins++;
      } catch {
        stats.failures++;
        await sleep(10);
        continue;
      }
      for (let i = 0; ws.readyState === WebSocket.OPEN && Date.now() < until; i++) {
        ws.send(junk[i % junk.length]);
        stats.malformed++;
        await yieldNow();
      }
      if (ws.readyState !== WebSocket.OPEN) stats.roomCuts++;
      ws.terminate();
    }
  };

  /** OFFERs to made-up ids on a registered signalling socket until it is cut off, then registers (or joins) again. */
  const offerFlood = async () => {
    let member;
    for (let round = 0; Date.now() < until && round < 100_000; round++) {
      try {
        if (!member || member.ws.readyState !== WebSocket.OPEN) {
          member?.ws.terminate();
          member = await join(url, 'flood-signalling', 'Mallory', FLOODER);
          stats.joins++;
        }
        // A cut revokes the signalling token: after one, only a new join registers again.
        const signalling = await register(url, member.joined, FLOODER).catch((err) => {
          member.ws.terminate();
          throw err;
        });
        stats.registrations++;
        while (signalling.readyState === WebSocket.OPEN && Date.now() < until) {
          const n = stats.offers++;
          signalling.send(JSON.stringify({ type: 'OFFER', dst: `made-up-${n}`, payload: { sdp, type: 'media', connectionId: `c${n}` } }));
          await yieldNow();
          while (signalling.readyState === WebSocket.OPEN && signalling.bufferedAmount > MiB && Date.now() < until) await sleep(1);
        }
        if (signalling.readyState !== WebSocket.OPEN) stats.signallingCuts++;
        signalling.terminate();
      } catch {
        stats.failures++;
        await sleep(10);
      }
    }
    member?.ws.terminate();
  };

  await Promise.all([roomFlood(), offerFlood()]);
  parentPort.postMessage(stats);
} else {
  const RUNS = Number(process.argv[2] ?? 3);
  const SECONDS = Number(process.argv[3] ?? 10);
  const { startBuiltServer } = await import('./lib/setup.mjs');

  const uptime = () => execFileSync('uptime').toString().trim();
  const q = (xs, p) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN;
  };
  const median = (xs) => q(xs, 0.5);
  const mib = (b) => `${(b / MiB).toFixed(1)} MiB`;

  /** The server's metrics as numbers by series. */
  const metrics = async (url) => {
    const text = await (await fetch(`${url}/metrics`)).text();
    return Object.fromEntries(
      text
        .split('\n')
        .map((l) => /^([a-z_:]+(?:\{[^}]*\})?) (\S+)$/.exec(l))
        .filter(Boolean)
        .map((m) => [m[1], Number(m[2])]),
    );
  };
  const rss = async (url) => (await metrics(url)).av_process_resident_memory_bytes;
  const cutTotal = (m) =>
    Object.entries(m)
      .filter(([k]) => k.startsWith('av_sockets_cut_total'))
      .reduce((n, [, v]) => n + v, 0);

  /** One phase: honest members join and leave for SECONDS, optionally with the flooder; returns its figures. */
  const phase = async (url, flood) => {
    const before = await metrics(url);
    const start = before.av_process_resident_memory_bytes;
    let peak = start;
    const until = Date.now() + SECONDS * 1000;
    const sampling = (async () => {
      while (Date.now() < until) {
        peak = Math.max(peak, await rss(url).catch(() => 0));
        await sleep(250);
      }
    })();
    const flooder = flood ? new Worker(new URL(import.meta.url), { workerData: { url, until } }) : undefined;
    const flooderStats = flooder && new Promise((resolve, reject) => flooder.once('message', resolve).once('error', reject));
    const latencies = [];
    let failures = 0;
    const honest = Array.from({ length: HONEST }, async (_, k) => {
      for (let round = 0; Date.now() < until && round < 10_000; round++) {
        const t = performance.now();
        let ws;
        try {
          const member = await join(url, `honest-${k % 4}`, `h${k}`);
          ws = member.ws;
          const signalling = await register(url, member.joined);
          latencies.push(performance.now() - t);
          signalling.close();
          await closed(signalling);
        } catch {
          failures++;
        }
        if (ws) {
          ws.close();
          await closed(ws);
        }
        await sleep(100);
      }
    });
    await Promise.all([...honest, sampling]);
    const stats = flooderStats ? await flooderStats : undefined;
    await flooder?.terminate();
    await sleep(2_000);
    const after = await metrics(url);
    const cpu = after.av_process_cpu_seconds_total - before.av_process_cpu_seconds_total;
    return {
      latencies,
      failures,
      start,
      peak,
      end: after.av_process_resident_memory_bytes,
      cut: cutTotal(after) - cutTotal(before),
      cpu,
      stats,
    };
  };

  const line = (name, r) =>
    `${name}: ${r.latencies.length} joins, ${r.failures} failed; join p50 ${q(r.latencies, 0.5).toFixed(1)} ms, p99 ${q(r.latencies, 0.99).toFixed(1)} ms; ` +
    `server RSS start ${mib(r.start)}, peak ${mib(r.peak)}, end ${mib(r.end)}; server CPU ${r.cpu.toFixed(1)} s; ${r.cut} sockets cut` +
    (r.stats
      ? `\n    flooder: ${r.stats.joins} joins, ${r.stats.registrations} registrations, ${r.stats.malformed} malformed frames, ` +
        `${r.stats.offers} OFFERs (${mib(r.stats.offers * 63_000)}), cut ${r.stats.roomCuts} room + ${r.stats.signallingCuts} signalling sockets, ${r.stats.failures} failed attempts`
      : '');

  console.log(`uptime before: ${uptime()}`);
  console.log(
    `abuse bench: ${HONEST} honest members joining repeatedly (connect → PeerServer OPEN), ${RUNS} runs of ${SECONDS} s baseline + ${SECONDS} s under flood`,
  );
  // Two servers: as shipped (a flooding address is refused after 5 cut-offs a minute), and with only the per-socket
  // budgets (--offender-cuts 0), where the flooder re-joins as fast as it is cut off.
  for (const [label, args] of [
    ['as shipped', []],
    ['budgets only (--offender-cuts 0)', ['--offender-cuts', '0']],
  ]) {
    console.log(`\nserver ${label}:`);
    const server = await startBuiltServer(args);
    const baselines = [];
    const floods = [];
    try {
      // Warm-up: JIT and first allocations, not measured.
      await join(server.url, 'warmup', 'w').then(({ ws }) => ws.close());
      for (let i = 1; i <= RUNS; i++) {
        const base = await phase(server.url, false);
        console.log(line(`run ${i} baseline`, base));
        const flood = await phase(server.url, true);
        console.log(line(`run ${i} flood   `, flood));
        console.log(
          `  run ${i} ratio flood/baseline: p50 ${(q(flood.latencies, 0.5) / q(base.latencies, 0.5)).toFixed(2)}, p99 ${(q(flood.latencies, 0.99) / q(base.latencies, 0.99)).toFixed(2)}`,
        );
        baselines.push(base);
        floods.push(flood);
      }
      const p = (runs, x) => runs.map((r) => q(r.latencies, x));
      console.log(
        `median over runs: baseline p50 ${median(p(baselines, 0.5)).toFixed(1)} ms, p99 ${median(p(baselines, 0.99)).toFixed(1)} ms; ` +
          `flood p50 ${median(p(floods, 0.5)).toFixed(1)} ms, p99 ${median(p(floods, 0.99)).toFixed(1)} ms; ` +
          `ratio p50 ${(median(p(floods, 0.5)) / median(p(baselines, 0.5))).toFixed(2)}, p99 ${(median(p(floods, 0.99)) / median(p(baselines, 0.99))).toFixed(2)}; ` +
          `worst flood p99 ${Math.max(...p(floods, 0.99)).toFixed(1)} ms; peak RSS ${mib(Math.max(...floods.map((r) => r.peak)))}`,
      );
    } finally {
      await server.stop();
    }
  }
  console.log(`uptime after: ${uptime()}`);
  // Every phase is bounded in time; exit even if a socket of a cut-off flooder lingers.
  process.exit(0);
}
