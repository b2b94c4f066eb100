// Join time: "element connected → first decoded remote frame" for <av-room>, against a bare PeerJS page making
// the same call through the same server (baseline), median of 9 runs each, and their ratio. The member already in the
// room joined 2.5 s before the newcomer, in both variants.
// Usage: node bench/join.mjs [runs=9]
import { readFileSync } from 'node:fs';
import { REGISTERED_PEER, launchChromium, median, startBuiltServer } from './lib/setup.mjs';

const RUNS = Number(process.argv[2] ?? 9);
const server = await startBuiltServer();
const chromium = await launchChromium();
const peerjsUmd = readFileSync('node_modules/peerjs/dist/peerjs.min.js', 'utf8');

/**
 * A page on the server's origin (a loopback, secure context for getUserMedia) holding only what we give it.
 * It must be a real response from our server: Chromium's local-network-access checks block loopback requests from
 * a page that Playwright fulfilled itself.
 */
async function page(head, scripts = []) {
  const context = await chromium.browser.newContext();
  const p = await context.newPage();
  await p.goto(`${server.url}/healthz`);
  // No favicon request: Chromium decoding the server's SVG icon in the middle of a join cost up to 160 ms of the
  // page's main thread, in either variant, at random.
  await p.setContent(`<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">${head}`);
  for (const content of scripts) await p.addScriptTag({ content });
  return { page: p, close: () => context.close() };
}

/**
 * The member already in the room has been there a moment when the newcomer joins (both variants): its own start (the
 * self-view's first frames, its first render) is not the newcomer's join.
 */
const SETTLE_MS = 2500;
const settle = () => new Promise((r) => setTimeout(r, SETTLE_MS));

/**
 * In the page: resolves when `video` presents its first frame (performance.now()); `window.sizes` gets that frame's
 * width, and `window.fullAt` the time a frame 640 wide (the camera's size) is first presented, within 5 s.
 */
const FIRST_FRAME = `window.firstFrame = (video) => new Promise((resolve) => {
  let first = true;
  const t0 = performance.now();
  const frame = (now, meta) => {
    if (first) {
      first = false;
      window.firstWidth = meta.width;
      resolve(performance.now());
    }
    if (meta.width >= 640) window.fullAt = performance.now();
    else if (performance.now() - t0 < 5000) video.requestVideoFrameCallback(frame);
  };
  video.requestVideoFrameCallback(frame);
});
window.fullSize = (t0) => new Promise((resolve) => {
  const check = () => (window.fullAt || performance.now() - t0 > 6000 ? resolve(window.fullAt ? window.fullAt - t0 : NaN) : setTimeout(check, 50));
  check();
});`;

async function avRoomRun(room) {
  const a = await page('<script type="module" src="/av-elements.js"></script>');
  const b = await page('<script type="module" src="/av-elements.js"></script>', [FIRST_FRAME]);
  try {
    await a.page.evaluate(async (room) => {
      await customElements.whenDefined('av-room');
      const el = Object.assign(document.createElement('av-room'), { room, name: 'A' });
      document.body.append(el);
      await new Promise((r) => el.addEventListener('av-room-join', r, { once: true }));
    }, room);
    await settle();
    return await b.page.evaluate(async (room) => {
      await customElements.whenDefined('av-room');
      const el = Object.assign(document.createElement('av-room'), { room, name: 'B' });
      const t0 = performance.now();
      document.body.append(el);
      const video = await new Promise((resolve) => {
        const find = () => el.shadowRoot?.querySelector('video.remote');
        const poll = () => (find() ? resolve(find()) : requestAnimationFrame(poll));
        poll();
      });
      const first = (await window.firstFrame(video)) - t0;
      return { first, width: window.firstWidth, full: await window.fullSize(t0) };
    }, room);
  } finally {
    await a.close();
    await b.close();
  }
}

/**
 * The baseline: PeerJS alone. PeerServer registrations need an id and token issued by a room join (a bare client
 * cannot register otherwise), so the page first sends one `join` on the room socket, as av-room does.
 */
async function bareRun(room, selfView = false) {
  const a = await page('', [peerjsUmd, REGISTERED_PEER, BARE_HELPERS]);
  const b = await page('', [peerjsUmd, REGISTERED_PEER, BARE_HELPERS, FIRST_FRAME]);
  try {
    const idA = await a.page.evaluate(
      async ({ room, selfView }) => {
        const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
        if (selfView) window.showSelf(stream);
        const peer = await window.registeredPeer(room, 'A');
        peer.on('call', (call) => {
          call.answer(stream);
          if (selfView) call.on('stream', (remote) => window.showSelf(remote, false));
        });
        return peer.id;
      },
      { room, selfView },
    );
    await settle();
    return await b.page.evaluate(
      async ({ room, idA, selfView }) => {
        const t0 = performance.now();
        const [stream, peer] = await Promise.all([
          navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } }),
          window.registeredPeer(room, 'B'),
        ]);
        if (selfView) window.showSelf(stream);
        const call = peer.call(idA, stream);
        const remote = await new Promise((r) => call.on('stream', r));
        const video = Object.assign(document.createElement('video'), { autoplay: true, playsInline: true, srcObject: remote });
        document.body.append(video);
        const first = (await window.firstFrame(video)) - t0;
        return { first, width: window.firstWidth, full: await window.fullSize(t0) };
      },
      { room, idA, selfView },
    );
  } finally {
    await a.close();
    await b.close();
  }
}

/**
 * In the page: show a stream in a video (the "+ self-view" baseline renders what <av-room> renders: own camera and the remote video).
 */
const BARE_HELPERS = `window.showSelf = (stream, muted = true) => {
  const v = Object.assign(document.createElement('video'), { autoplay: true, playsInline: true, muted, srcObject: stream });
  document.body.append(v);
};`;

try {
  // Warm-up: the first seconds after browser start drop frames.
  await avRoomRun('warmup-1');
  await bareRun('warmup-2');
  const ours = [];
  const bare = [];
  const bareSelf = [];
  for (let i = 0; i < RUNS; i++) {
    // Rotate the order so drift on the machine hits all alike.
    const runs = [
      async () => ours.push(await avRoomRun(`r${i}`)),
      async () => bare.push(await bareRun(`b${i}`)),
      async () => bareSelf.push(await bareRun(`s${i}`, true)),
    ];
    for (let k = 0; k < runs.length; k++) await runs[(i + k) % runs.length]();
  }
  const fmt = (xs) => xs.map((x) => x.toFixed(0)).join(', ');
  const first = (rs) => rs.map((r) => r.first);
  const line = (label, rs) =>
    `  ${label.padEnd(17)}  ${median(first(rs)).toFixed(1)} ms   runs: ${fmt(first(rs))}\n` +
    `  ${''.padEnd(17)}  first frame ${[...new Set(rs.map((r) => r.width))].join('/')} wide; 640 wide after ${median(rs.map((r) => r.full)).toFixed(0)} ms (median)`;
  console.log(`join: element connected → first decoded remote frame, median of ${RUNS} runs (Chromium, fake devices, loopback)`);
  console.log(line('<av-room>', ours));
  console.log(line('bare PeerJS page', bare));
  console.log(line('bare + self-view', bareSelf));
  console.log(`  ratio (av-room / bare PeerJS): ${(median(first(ours)) / median(first(bare))).toFixed(2)}`);
  console.log(
    `  ratio (av-room / bare PeerJS with the same videos on screen): ${(median(first(ours)) / median(first(bareSelf))).toFixed(2)}`,
  );
} finally {
  await chromium.close();
  await server.stop();
}
