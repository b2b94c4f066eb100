// Cluster capacity: fills 1 node alone (no Redis: the baseline), then 1 and 2 nodes sharing rooms through Redis, with
// plain `ws` members (a real join, then PeerServer registration), rooms of 5 members spread over the nodes
// round-robin. Prints per node: members held, RSS added per member, p50/p99 join latency; and the ratios to the
// baseline. Every run is printed. Usage: node bench/cluster.mjs [members=3000] [runs=2]
import { execFileSync } from 'node:child_process';
import { WebSocket } from 'ws';
import { percentile, startBuiltServer, startRedis } from './lib/setup.mjs';

const MEMBERS = Number(process.argv[2] ?? 3000);
const RUNS = Number(process.argv[3] ?? 2);
const ROOM_SIZE = 5;
const BATCH = 100;

console.log(`uptime: ${execFileSync('uptime', { encoding: 'utf8' }).trim()}`);
console.log(`${MEMBERS} members, rooms of ${ROOM_SIZE}, joins ${BATCH} at a time; ${RUNS} runs per setup\n`);

async function metrics(url) {
  const text = await (await fetch(`${url}/metrics?gc=1`)).text();
  const get = (name) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { rss: get('av_process_resident_memory_bytes'), members: get('av_members'), signalling: get('av_signalling_sockets') };
}

/** One member: room socket → joined → PeerServer socket → OPEN. Resolves with the sockets and the time taken. */
function join(url, room, name) {
  const started = performance.now();
  const ws = new WebSocket(`${url.replace('http', 'ws')}/r/${room}/ws`);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`join of ${name} timed out`)), 30_000);
    ws.on('error', reject);
    ws.once('open', () => ws.send(JSON.stringify({ type: 'join', name, media: { audio: false, video: false } })));
    ws.once('message', (m) => {
      const joined = JSON.parse(m.toString());
      if (joined.type !== 'joined') return reject(new Error(`${name}: ${m}`));
      const sig = new WebSocket(
        `${url.replace('http', 'ws')}${joined.peerPath}/peerjs?key=peerjs&id=${joined.self.peerId}&token=${joined.peerToken}&version=1.5.5`,
      );
      sig.on('error', reject);
      sig.once('message', (o) => {
        clearTimeout(timer);
        if (JSON.parse(o.toString()).type !== 'OPEN') return reject(new Error(`${name}: ${o}`));
        resolve({ sockets: [ws, sig], ms: performance.now() - started });
      });
    });
  });
}

async function fill(nodes) {
  const before = await Promise.all(nodes.map((n) => metrics(n.url)));
  const latencies = nodes.map(() => []);
  const sockets = [];
  for (let i = 0; i < MEMBERS; i += BATCH) {
    const batch = [];
    for (let j = i; j < Math.min(MEMBERS, i + BATCH); j++) {
      const k = j % nodes.length;
      batch.push(
        join(nodes[k].url, `room-${Math.floor(j / ROOM_SIZE)}`, `m${j}`).then((r) => {
          latencies[k].push(r.ms);
          sockets.push(...r.sockets);
        }),
      );
    }
    await Promise.all(batch);
  }
  await new Promise((r) => setTimeout(r, 1000));
  const after = await Promise.all(nodes.map((n) => metrics(n.url)));
  const rows = nodes.map((_, k) => ({
    members: after[k].members,
    signalling: after[k].signalling,
    rssMiB: after[k].rss / 2 ** 20,
    kibPerMember: (after[k].rss - before[k].rss) / 1024 / Math.max(1, after[k].members),
    p50: percentile(latencies[k], 50),
    p99: percentile(latencies[k], 99),
  }));
  for (const s of sockets) s.terminate();
  await new Promise((r) => setTimeout(r, 1500));
  return rows;
}

const results = {};
async function setup(label, count, clustered) {
  for (let run = 1; run <= RUNS; run++) {
    const redis = clustered ? await startRedis() : undefined;
    const args = ['--max-sockets-per-address', '100000', ...(redis ? ['--redis', redis.url] : [])];
    const nodes = [];
    for (let i = 0; i < count; i++) nodes.push(await startBuiltServer(args, ['--expose-gc']));
    try {
      const rows = await fill(nodes);
      (results[label] ??= []).push(rows);
      rows.forEach((r, k) =>
        console.log(
          `${label} run ${run} node ${k + 1}: ${r.members} members held (${r.signalling} registered), RSS ${r.rssMiB.toFixed(1)} MiB, ` +
            `${r.kibPerMember.toFixed(1)} KiB per member, join p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms`,
        ),
      );
    } finally {
      await Promise.all(nodes.map((n) => n.stop()));
      await redis?.stop();
    }
  }
}

await setup('1 node alone', 1, false);
await setup('1 node + redis', 1, true);
await setup('2 nodes + redis', 2, true);

const worst = (label, key) => Math.max(...results[label].flat().map((r) => r[key]));
const base = { p50: worst('1 node alone', 'p50'), p99: worst('1 node alone', 'p99'), kib: worst('1 node alone', 'kibPerMember') };
console.log('\nworst run of each setup, against one node alone:');
for (const label of Object.keys(results)) {
  const held = results[label].map((rows) => rows.reduce((n, r) => n + r.members, 0));
  const p50 = worst(label, 'p50');
  const p99 = worst(label, 'p99');
  const kib = worst(label, 'kibPerMember');
  console.log(
    `${label}: held ${Math.min(...held)} of ${MEMBERS}; KiB/member ${kib.toFixed(1)} (x${(kib / base.kib).toFixed(2)}); ` +
      `join p50 ${p50.toFixed(1)} ms (x${(p50 / base.p50).toFixed(2)}), p99 ${p99.toFixed(1)} ms (x${(p99 / base.p99).toFixed(2)})`,
  );
}
process.exit(0);
