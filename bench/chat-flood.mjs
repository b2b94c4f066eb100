// Responsiveness under a flood from one member: a page holding <av-chat> (inside <av-room audio="off" video="off">)
// while another member sends it 1,000 chat messages of ~3,900 characters with 70 links each in about a second, and
// a page holding <av-file> while it is sent 1,000 file offers. Baseline, in the same process and run alternately: a
// bare page with stock PeerJS (peerjs.min.js, registered through the same server after a plain room-socket join)
// that receives the same 1,000 frames (the same bytes: `raw` serialization, av's JSON envelope) from another bare
// PeerJS page and appends each as an <li> with textContent.
// Per run, on the receiving page: longest task and long tasks (> 50 ms; PerformanceObserver 'longtask'), the worst
// lateness of a 10 ms timer chain (finer: it also sees tasks under 50 ms), items in the DOM once it is quiet (<av-chat>
// shows the newest `max-shown` = 200, <av-file> lists at most 8 pending offers per member), JS heap
// (performance.memory.usedJSHeapSize once quiet, and after a forced GC), time from the first frame sent to the last
// received, and to the last DOM change (watched from the end of the flood on). Then median and worst over runs, and
// the av/baseline ratios of the longest task (and of the timer lag). Pages and server use a private copy of dist/
// taken at start, so a rebuild meanwhile changes nothing; a run that hangs is abandoned after 2 minutes.
// Usage: node bench/chat-flood.mjs [runs=3]
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REGISTERED_PEER, launchChromium, median, startBuiltServer } from './lib/setup.mjs';

const RUNS = Number(process.argv[2] ?? 3);
const COUNT = 1000;
/** A run that takes longer is abandoned (its pages closed) and reported as failed. */
const RUN_TIMEOUT_MS = 120_000;
const MiB = 2 ** 20;
const uptime = () => execFileSync('uptime', { encoding: 'utf8' }).trim();

console.log(`uptime before: ${uptime()}`);
if (!existsSync('dist/lib/server/cli.js') || !existsSync('dist/av-elements.js')) {
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
}
const peerjsUmd = readFileSync('node_modules/peerjs/dist/peerjs.min.js', 'utf8');
const snapshot = await snapshotDist();
const bundle = statSync(join(snapshot, 'dist/av-elements.js'));
console.log(`bundle: dist/av-elements.js ${(bundle.size / 1024).toFixed(1)} KiB, built ${bundle.mtime.toISOString()}`);
// The server runs from the snapshot (its static root is the dist/ beside its code).
const cwd = process.cwd();
process.chdir(snapshot);
const server = await startBuiltServer().finally(() => process.chdir(cwd));
const chromium = await launchChromium(['--enable-precise-memory-info']);

/**
 * A private copy of dist/ (without ffmpeg), with package.json and a link to node_modules: a rebuild of dist/ while
 * the bench runs (which deletes it for some seconds) must not break pages half-way. Retried until the copy is whole
 * (the bundle and every chunk it names are there).
 */
async function snapshotDist() {
  const dir = mkdtempSync(join(tmpdir(), 'av-chat-flood-'));
  for (let attempt = 1; ; attempt++) {
    rmSync(join(dir, 'dist'), { recursive: true, force: true });
    try {
      cpSync('dist', join(dir, 'dist'), {
        recursive: true,
        preserveTimestamps: true,
        filter: (src) => !/(^|\/)dist\/ffmpeg(\/|$)/.test(src),
      });
      const main = readFileSync(join(dir, 'dist/av-elements.js'), 'utf8');
      const chunks = [...main.matchAll(/chunks\/[\w.-]+\.js/g)].map((m) => m[0]);
      if (existsSync(join(dir, 'dist/lib/server/cli.js')) && chunks.every((c) => existsSync(join(dir, 'dist', c)))) break;
    } catch (err) {
      if (attempt >= 10) throw err;
    }
    if (attempt >= 10) throw new Error('dist/ is incomplete (a build running?)');
    await sleep(3000);
  }
  cpSync('package.json', join(dir, 'package.json'));
  symlinkSync(resolve('node_modules'), join(dir, 'node_modules'));
  return dir;
}

/**
 * In every page. Receiving side: `watch(expected)` starts counting frames (`arrived()`) and recording long tasks;
 * `settle(host, selector)` waits until all frames are in and the DOM count has not changed for 1.5 s.
 * Sending side: `flood(send, kind)` sends COUNT chat messages or file offers in batches of 10 every 10 ms, as
 * test/security/peer-untrusted.test.ts does. Times are epoch ms (`timeOrigin + now()`), comparable across pages.
 */
const HELPERS = `
window.now = () => performance.timeOrigin + performance.now();
window.watch = (expected) => {
  const b = (window.bench = { expected, received: 0, lastAt: 0, longest: 0, tasks: 0, lag: 0 });
  // Finer than long tasks (reported from 50 ms only): how late a 10 ms timer chain fires, until the page is quiet.
  let due = performance.now() + 10;
  const probe = () => {
    b.lag = Math.max(b.lag, performance.now() - due);
    due = performance.now() + 10;
    if (!b.stopped) setTimeout(probe, 10);
  };
  setTimeout(probe, 10);
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      b.longest = Math.max(b.longest, e.duration);
      if (e.duration > 50) b.tasks++;
    }
  }).observe({ type: 'longtask' });
};
window.arrived = () => {
  const b = window.bench;
  if (b && ++b.received === b.expected) b.lastAt = now();
};
window.settle = (host, selector, quietMs = 1500, maxMs = 30000) =>
  new Promise((resolve) => {
    const count = () => (host ? document.querySelector(host).shadowRoot : document).querySelectorAll(selector).length;
    const start = now();
    let last = count();
    let lastChange = start;
    const tick = () => {
      const n = count();
      if (n !== last) [last, lastChange] = [n, now()];
      const b = window.bench;
      const done = b.received >= b.expected && now() - Math.max(lastChange, b.lastAt) >= quietMs;
      if (done || now() - start > maxMs) {
        b.stopped = true;
        resolve({ dom: n, lastChange, received: b.received, lastAt: b.lastAt });
      }
      else setTimeout(tick, 100);
    };
    tick();
  });
window.frameOf = (kind, n) => {
  window.filler ??= 'see https://example.test/a/very/long/path?query=1 and '.repeat(70);
  return kind === 'chat'
    ? { t: 'msg', id: 'flood' + String(n).padStart(8, '0'), text: 'flood message ' + n + ' ' + window.filler, ts: Date.now(), seq: n + 1 }
    : { t: 'offer', id: 'flood' + String(n).padStart(12, '0'), name: 'flood-' + n + '.bin', size: 1000, type: 'application/octet-stream', dc: 256 + 2 * (n % 300) };
};
window.flood = async (send, kind, count) => {
  const channel = kind === 'chat' ? 'chat' : 'file';
  const t0 = now();
  const p0 = performance.now();
  for (let n = 0; n < count; n++) {
    send(frameOf(kind, n), channel);
    if (n % 10 === 9) await new Promise((r) => setTimeout(r, Math.max(0, p0 + (n + 1) - performance.now())));
  }
  return { t0, ms: performance.now() - p0 };
};
`;

/** Browser contexts of the current run (closed when it times out). */
const opened = [];

/** A page on the server's origin (real response: local-network-access checks), with our helpers. */
async function page(head, scripts = []) {
  const context = await chromium.browser.newContext();
  opened.push(context);
  const p = await context.newPage();
  await p.goto(`${server.url}/healthz`);
  await p.setContent(`<!doctype html><meta charset="utf-8">${head}`);
  for (const content of [...scripts, HELPERS, REGISTERED_PEER]) await p.addScriptTag({ content });
  return { page: p, close: () => context.close() };
}

/** A member page: <av-room audio="off" video="off"> holding `children`, created from script once defined. */
async function member(room, name, children = '') {
  const m = await page(`<script type="module" src="${server.url}/av-elements.js"></script>`);
  await m.page.evaluate(
    async ({ room, name, children }) => {
      await customElements.whenDefined('av-room');
      const el = document.createElement('av-room');
      for (const [k, v] of Object.entries({ room, name, audio: 'off', video: 'off' })) el.setAttribute(k, v);
      el.innerHTML = children;
      document.body.append(el);
    },
    { room, name, children },
  );
  return m;
}

/** Waits (in the page) until the member has a data path with one other member; returns its peer id. */
const joinedWithData = (m) =>
  m.page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const start = performance.now();
        const poll = () => {
          const room = document.querySelector('av-room');
          const peers = room.peers ?? [];
          if (room.session?.peerId && peers.length === 1 && peers[0].path) resolve(room.session.peerId);
          else if (performance.now() - start > 20_000) reject(new Error('no data path within 20 s'));
          else setTimeout(poll, 100);
        };
        poll();
      }),
  );

/** What the receiving page shows, once quiet, and what it cost; the sender's `t0` is the first frame's time. */
async function measure(receiver, { t0, ms: sentMs }, host, selector) {
  const s = await receiver.page.evaluate(({ host, selector }) => window.settle(host, selector), { host, selector });
  const { longest, tasks, lag } = await receiver.page.evaluate(() => window.bench);
  const heap = await receiver.page.evaluate(() => performance.memory.usedJSHeapSize);
  const cdp = await receiver.page.context().newCDPSession(receiver.page);
  await cdp.send('HeapProfiler.collectGarbage');
  const heapGc = await receiver.page.evaluate(() => performance.memory.usedJSHeapSize);
  return {
    longest,
    tasks,
    lag,
    dom: s.dom,
    received: s.received,
    heap,
    heapGc,
    receiveMs: s.received >= COUNT ? s.lastAt - t0 : NaN,
    shownMs: s.lastChange - t0,
    sentMs,
  };
}

const AV = {
  chat: { children: '<av-chat></av-chat>', host: 'av-chat', selector: '[part~="message"]', channel: 'chat', t: 'msg' },
  offer: { children: '<av-file></av-file>', host: 'av-file', selector: '[part~="transfer"]', channel: 'file', t: 'offer' },
};

/** <av-chat> or <av-file> on the receiving page; the sender drives its own RoomSession. */
async function avRun(kind, room) {
  const { children, host, selector, channel, t } = AV[kind];
  const victim = await member(room, 'Victim', children);
  const sender = await member(room, 'Sender');
  try {
    const victimId = await joinedWithData(victim);
    await joinedWithData(sender);
    await new Promise((r) => setTimeout(r, 500));
    await victim.page.evaluate(
      ({ count, channel, t }) => {
        window.watch(count);
        document
          .querySelector('av-room')
          .session.on('message', ({ data, channel: c }) => c === channel && data?.t === t && window.arrived());
      },
      { count: COUNT, channel, t },
    );
    const sent = await sender.page.evaluate(
      ({ to, kind, count }) => {
        const session = document.querySelector('av-room').session;
        return window.flood((frame, channel) => session.send(frame, { to, channel }), kind, count);
      },
      { to: victimId, kind, count: COUNT },
    );
    return await measure(victim, sent, host, selector);
  } finally {
    await sender.close();
    await victim.close();
  }
}

/** The baseline: a bare PeerJS page receiving the same frames over a PeerJS data connection, one <li> each. */
async function bareRun(kind, room) {
  const victim = await page('<ul></ul>', [peerjsUmd]);
  const sender = await page('', [peerjsUmd]);
  try {
    const victimId = await victim.page.evaluate(async (room) => {
      const peer = await window.registeredPeer(room, 'Victim');
      const list = document.querySelector('ul');
      window.connected = new Promise((resolve) =>
        peer.on('connection', (conn) => {
          conn.on('open', resolve);
          conn.on('data', (raw) => {
            const { data } = JSON.parse(raw);
            const li = document.createElement('li');
            li.textContent = data.t === 'msg' ? data.text : `${data.name} (${data.size} bytes)`;
            list.append(li);
            window.arrived();
          });
        }),
      );
      return peer.id;
    }, room);
    await sender.page.evaluate(
      async ({ room, victimId }) => {
        const peer = await window.registeredPeer(room, 'Sender');
        window.conn = peer.connect(victimId, { serialization: 'raw', reliable: true });
        await new Promise((resolve) => window.conn.on('open', resolve));
      },
      { room, victimId },
    );
    await victim.page.evaluate(() => window.connected);
    await new Promise((r) => setTimeout(r, 500));
    await victim.page.evaluate((count) => window.watch(count), COUNT);
    const sent = await sender.page.evaluate(
      ({ kind, count }) => window.flood((frame, c) => window.conn.send(JSON.stringify({ k: 'app', c, data: frame })), kind, count),
      { kind, count: COUNT },
    );
    return await measure(victim, sent, null, 'li');
  } finally {
    await sender.close();
    await victim.close();
  }
}

const LABEL = { 'av:chat': '<av-chat>', 'bare:chat': 'bare chat', 'av:offer': '<av-file>', 'bare:offer': 'bare offers' };
const ms = (x) => (Number.isFinite(x) ? `${x.toFixed(0)} ms` : 'n/a');
const mib = (x) => `${(x / MiB).toFixed(1)} MiB`;
const line = (r) =>
  `longest task ${ms(r.longest).padStart(6)}  long tasks ${String(r.tasks).padStart(3)}  timer lag ${ms(r.lag).padStart(6)}  ` +
  `in DOM ${String(r.dom).padStart(4)}  heap ${mib(r.heap).padStart(8)} (after GC ${mib(r.heapGc).padStart(8)})  ` +
  `received ${r.received} in ${ms(r.receiveMs)}  DOM quiet after ${ms(r.shownMs)}  (sent in ${ms(r.sentMs)})`;

const results = Object.fromEntries(Object.keys(LABEL).map((k) => [k, []]));
const run = async (key, room) => {
  const [side, kind] = key.split(':');
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    for (const context of opened) void context.close().catch(() => {});
  }, RUN_TIMEOUT_MS);
  try {
    return await (side === 'av' ? avRun(kind, room) : bareRun(kind, room));
  } catch (err) {
    const why = timedOut ? `timed out after ${RUN_TIMEOUT_MS / 1000} s` : err.message.split('\n')[0];
    console.log(`  ${LABEL[key].padEnd(12)} failed: ${why}`);
    return undefined;
  } finally {
    clearTimeout(timer);
    opened.length = 0;
  }
};

try {
  // Warm-up (not counted): the first pages after browser start are slower.
  await run('av:chat', 'warm-a');
  await run('bare:chat', 'warm-b');
  const keys = Object.keys(LABEL);
  for (let i = 0; i < RUNS; i++) {
    console.log(`run ${i + 1}`);
    // Rotate the order so drift on the machine hits all alike.
    for (let k = 0; k < keys.length; k++) {
      const key = keys[(i + k) % keys.length];
      const r = await run(key, `r${i}-${key.replace(':', '-')}`);
      if (!r) continue;
      results[key].push(r);
      console.log(`  ${LABEL[key].padEnd(12)} ${line(r)}`);
    }
  }
  const max = (xs) => Math.max(...xs);
  const medWorst = (xs, f = ms) => `${f(median(xs))} / ${f(max(xs))}`;
  console.log(`\nover ${RUNS} runs: median / worst (${COUNT} frames in ~1 s from one member; Chromium, loopback)`);
  for (const key of keys) {
    const rs = results[key];
    if (!rs.length) continue;
    const col = (f) => rs.map(f);
    const recv = col((r) => r.receiveMs).filter(Number.isFinite);
    const doms = col((r) => r.dom);
    console.log(
      `  ${LABEL[key].padEnd(12)} longest task ${medWorst(col((r) => r.longest))}  long tasks ${medWorst(
        col((r) => r.tasks),
        String,
      )}` +
        `  timer lag ${medWorst(col((r) => r.lag))}  in DOM ${median(doms)} (min ${Math.min(...doms)})` +
        `  heap ${medWorst(
          col((r) => r.heap),
          mib,
        )} (after GC ${medWorst(
          col((r) => r.heapGc),
          mib,
        )})` +
        `  received all in ${recv.length ? medWorst(recv) : 'n/a'}${recv.length < rs.length ? ` (${rs.length - recv.length} runs incomplete)` : ''}`,
    );
  }
  const ratio = (a, b, field, f) => {
    if (!results[a].length || !results[b].length) return 'n/a';
    const [x, y] = [f(results[a].map((r) => r[field])), f(results[b].map((r) => r[field]))];
    if (y === 0) return x === 0 ? 'n/a (none on either)' : `${ms(x)} vs none`;
    return (x / y).toFixed(2);
  };
  for (const [a, b] of [
    ['av:chat', 'bare:chat'],
    ['av:offer', 'bare:offer'],
  ]) {
    const name = `${LABEL[a]} / ${LABEL[b]}:`.padEnd(26);
    console.log(
      `  ratio ${name} longest task median ${ratio(a, b, 'longest', median)}, worst ${ratio(a, b, 'longest', max)};` +
        ` timer lag median ${ratio(a, b, 'lag', median)}, worst ${ratio(a, b, 'lag', max)}`,
    );
  }
} finally {
  await chromium.close();
  await server.stop();
  rmSync(snapshot, { recursive: true, force: true });
}
console.log(`uptime after: ${uptime()}`);
process.exit(0);
