// Broadcast through a forwarding tree against a flat broadcast of the same size (every viewer served by the presenter),
// same server, same browser, same process: the presenter's media connections and sent bitrate, and each viewer's time
// from joining to its first decoded frame, by tree level. Every run is printed.
// Usage: node bench/broadcast.mjs [viewers=10] [fanout=3] [runs=2]
import { launchChromium, median, startBuiltServer } from './lib/setup.mjs';

const VIEWERS = Number(process.argv[2] ?? 10);
const FANOUT = Number(process.argv[3] ?? 3);
const RUNS = Number(process.argv[4] ?? 2);
/** What the presenter sends: small, so eleven pages fit two cores. */
const PRESENTER = { resolution: '320x240', 'frame-rate': '15' };

// The server's fanout is a ceiling pages cannot pass: high here, so the flat run can serve everyone directly.
const server = await startBuiltServer(['--fanout', '64']);
const chromium = await launchChromium();

/** A page holding one <av-room>; its RTCPeerConnections are kept in window.__pcs. */
async function member(room, attrs) {
  const context = await chromium.browser.newContext();
  await context.addInitScript(() => {
    window.__pcs = [];
    const Original = window.RTCPeerConnection;
    window.RTCPeerConnection = class extends Original {
      constructor(config) {
        super(config);
        window.__pcs.push(this);
      }
    };
  });
  const page = await context.newPage();
  await page.goto(`${server.url}/healthz`);
  await page.setContent(`<!doctype html><meta charset="utf-8"><script type="module" src="${server.url}/av-elements.js"></script>`);
  // Joining starts when the element is added: the first decoded frame is timed from then (requestVideoFrameCallback).
  await page.evaluate(
    async ({ room, attrs }) => {
      await customElements.whenDefined('av-room');
      const el = document.createElement('av-room');
      for (const [k, v] of Object.entries({ room, mode: 'broadcast', ...attrs })) el.setAttribute(k, v);
      const t0 = performance.now();
      window.__firstFrame = new Promise((resolve) => {
        const poll = () => {
          const video = el.shadowRoot?.querySelector('video.remote');
          if (video) video.requestVideoFrameCallback(() => resolve(performance.now() - t0));
          else requestAnimationFrame(poll);
        };
        poll();
      });
      document.body.append(el);
      await new Promise((r) => el.addEventListener('av-room-join', r, { once: true }));
    },
    { room, attrs },
  );
  return { page, close: () => context.close() };
}

/** The presenter's live media connections and the bits per second it sends on all of them (over `ms`). */
async function uplink(page, ms = 5000) {
  const sample = () =>
    page.evaluate(async () => {
      let bytes = 0;
      let connections = 0;
      for (const pc of window.__pcs) {
        if (pc.connectionState === 'closed' || pc.getTransceivers().length === 0) continue;
        connections++;
        (await pc.getStats()).forEach((s) => {
          if (s.type === 'outbound-rtp') bytes += s.bytesSent ?? 0;
        });
      }
      return { bytes, connections, t: performance.now() };
    });
  const a = await sample();
  await new Promise((r) => setTimeout(r, ms));
  const b = await sample();
  return { connections: b.connections, kbps: ((b.bytes - a.bytes) * 8) / (b.t - a.t) };
}

async function run(room, fanout) {
  const presenter = await member(room, { name: 'Presenter', presenter: '', fanout: String(fanout), ...PRESENTER });
  const viewers = [];
  try {
    for (let i = 0; i < VIEWERS; i++) viewers.push(await member(room, { name: `Viewer ${i + 1}`, fanout: String(fanout) }));
    const ttff = await Promise.all(
      viewers.map((v) => v.page.evaluate(() => Promise.race([window.__firstFrame, new Promise((r) => setTimeout(() => r(NaN), 60_000))]))),
    );
    // Levels from the tree the server told the presenter (1: served by the presenter).
    const tree = await presenter.page.evaluate(() => document.querySelector('av-room').session.route?.tree ?? []);
    const parentOf = new Map(tree.map((e) => [e.id, e.parent]));
    const level = (id) => (parentOf.get(id) ? 1 + level(parentOf.get(id)) : 1);
    const ids = await Promise.all(viewers.map((v) => v.page.evaluate(() => document.querySelector('av-room').session.peerId)));
    await new Promise((r) => setTimeout(r, 3000));
    const up = await uplink(presenter.page);
    // What one hop adds at a forwarder, from its getStats: jitter buffer and decode of what it receives, encode of what
    // it sends on (loopback: no network delay in between).
    const hops = [];
    for (const v of viewers) {
      const hop = await v.page.evaluate(async () => {
        let jb = 0,
          emitted = 0,
          decode = 0,
          decoded = 0,
          encode = 0,
          encoded = 0;
        for (const pc of window.__pcs) {
          if (pc.connectionState === 'closed' || pc.getTransceivers().length === 0) continue;
          (await pc.getStats()).forEach((s) => {
            if (s.kind !== 'video') return;
            if (s.type === 'inbound-rtp') {
              jb += s.jitterBufferDelay ?? 0;
              emitted += s.jitterBufferEmittedCount ?? 0;
              decode += s.totalDecodeTime ?? 0;
              decoded += s.framesDecoded ?? 0;
            }
            if (s.type === 'outbound-rtp') {
              encode += s.totalEncodeTime ?? 0;
              encoded += s.framesEncoded ?? 0;
            }
          });
        }
        return encoded && emitted && decoded ? (1000 * jb) / emitted + (1000 * decode) / decoded + (1000 * encode) / encoded : undefined;
      });
      if (hop !== undefined) hops.push(hop);
    }
    const byLevel = new Map();
    ids.forEach((id, i) => byLevel.set(level(id), [...(byLevel.get(level(id)) ?? []), ttff[i]]));
    return { ...up, byLevel, hops, depth: Math.max(...byLevel.keys()) };
  } finally {
    for (const p of [presenter, ...viewers]) await p.close();
  }
}

const fmt = (xs) => xs.map((x) => x.toFixed(0)).join(', ');
try {
  const results = { tree: [], flat: [] };
  for (let i = 0; i < RUNS; i++) {
    // Alternate the order, so drift on the machine hits both alike.
    const order = i % 2 ? ['flat', 'tree'] : ['tree', 'flat'];
    for (const kind of order) {
      const r = await run(`${kind}-${i}`, kind === 'tree' ? FANOUT : 64);
      results[kind].push(r);
      const levels = [...r.byLevel].sort(([a], [b]) => a - b).map(([l, xs]) => `L${l}: ${fmt(xs)} ms`);
      console.log(
        `run ${i + 1} ${kind.padEnd(4)}: presenter ${r.connections} media connections, sends ${r.kbps.toFixed(0)} kbit/s; first frame ${levels.join('; ')}`,
      );
      if (r.hops.length) console.log(`           delay a forwarder adds (jitter buffer + decode + encode): ${fmt(r.hops)} ms`);
    }
  }
  const all = (kind, f) => results[kind].map(f);
  const med = (kind, f) => median(all(kind, f));
  const ttffAt = (kind, l) => median(results[kind].flatMap((r) => r.byLevel.get(l) ?? []));
  const ttffAll = (kind) => median(results[kind].flatMap((r) => [...r.byLevel.values()].flat()));
  console.log(
    `\nbroadcast to ${VIEWERS} viewers (Chromium, fake camera ${PRESENTER.resolution} at ${PRESENTER['frame-rate']} fps, loopback), medians of ${RUNS} runs:`,
  );
  console.log(`  tree (fanout ${FANOUT}) vs flat (every viewer on the presenter):`);
  const row = (label, t, f, unit) =>
    console.log(
      `  ${label.padEnd(34)} ${t.toFixed(0).padStart(6)} vs ${f.toFixed(0).padStart(6)} ${unit.padEnd(8)} ratio ${(t / f).toFixed(2)}`,
    );
  row(
    'presenter media connections',
    med('tree', (r) => r.connections),
    med('flat', (r) => r.connections),
    '',
  );
  row(
    'presenter sent bitrate',
    med('tree', (r) => r.kbps),
    med('flat', (r) => r.kbps),
    'kbit/s',
  );
  const depth = Math.max(...results.tree.map((r) => r.depth));
  for (let l = 1; l <= depth; l++) row(`time to first frame, level ${l}`, ttffAt('tree', l), ttffAt('flat', 1), 'ms');
  row('time to first frame, all viewers', ttffAll('tree'), ttffAll('flat'), 'ms');
  console.log('  (flat has one level; each tree level is compared with it)');
  const hops = results.tree.flatMap((r) => r.hops);
  if (hops.length)
    console.log(
      `  delay added per hop at a forwarder: median ${median(hops).toFixed(0)} ms, worst ${Math.max(...hops).toFixed(0)} ms (${hops.length} forwarders)`,
    );
} finally {
  await chromium.close();
  await server.stop();
}
