// Recording: for a room recording of N seconds (default 60) with two members, the time from stop() to the file being
// ready for each path — native MP4, MP4 + AAC remux (ffmpeg.wasm), WebM → H.264 transcode (ffmpeg.wasm) — and the
// peak memory of Chromium (every process of it: the renderer holds MediaRecorder's chunks and ffmpeg.wasm's heap).
// Baseline, in the same browser: a bare MediaRecorder recording the camera to MP4 for as long (no grid, no mix).
// Usage: node bench/record.mjs [seconds=60]
import { readdirSync, readFileSync } from 'node:fs';
import { launchChromium, startBuiltServer } from './lib/setup.mjs';

const SECONDS = Number(process.argv[2] ?? 60);
const MARK = `--av-bench-record=${process.pid}`;
const server = await startBuiltServer();
const chromium = await launchChromium(['--use-fake-device-for-media-stream=fps=30', MARK]);

/** Resident memory of every process of our Chromium (the marked browser process and its descendants), in bytes. */
function chromiumRss() {
  const procs = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const rss = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${name}/status`, 'utf8'))?.[1] ?? 0) * 1024;
      const marked = readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(MARK);
      procs.push({ pid: Number(name), ppid, rss, marked });
    } catch {
      // The process ended while we looked.
    }
  }
  const ours = new Set(procs.filter((p) => p.marked && !procs.some((q) => q.marked && q.pid === p.ppid)).map((p) => p.pid));
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) if (!ours.has(p.pid) && ours.has(p.ppid)) ours.add(p.pid), (grew = true);
  }
  return procs.filter((p) => ours.has(p.pid)).reduce((sum, p) => sum + p.rss, 0);
}

/** Samples Chromium's memory every 250 ms until stopped; resolves the peak. */
function sampleMemory() {
  let peak = chromiumRss();
  const timer = setInterval(() => (peak = Math.max(peak, chromiumRss())), 250);
  return () => (clearInterval(timer), peak);
}

async function memberPage(room, name) {
  const context = await chromium.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.url}/healthz`);
  await page.setContent(`<!doctype html><meta charset="utf-8"><script type="module" src="/av-elements.js"></script>`);
  await page.evaluate(
    async ({ room, name }) => {
      await customElements.whenDefined('av-room');
      const el = Object.assign(document.createElement('av-room'), { room, name });
      document.body.append(el);
      await new Promise((r) => el.addEventListener('av-room-join', r, { once: true }));
    },
    { room, name },
  );
  return { page, close: () => context.close() };
}

const ann = await memberPage('bench-record', 'Ann');
const bob = await memberPage('bench-record', 'Bob');
await ann.page.waitForFunction(() => document.querySelector('av-room').peers[0]?.stream, null, { timeout: 20_000 });

/** Records for SECONDS with `attrs` (or a bare MediaRecorder), then times stop → file. */
async function run(attrs) {
  await ann.page.waitForTimeout(1000);
  const before = chromiumRss();
  const stopSampling = sampleMemory();
  const out = await ann.page.evaluate(
    async ({ attrs, seconds }) => {
      const wait = (ms) => new Promise((r) => setTimeout(r, ms));
      if (!attrs) {
        // Baseline: the camera as it is, straight into MediaRecorder, in 1 s timeslices like ours.
        const stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
        const rec = new MediaRecorder(stream, { mimeType: 'video/mp4;codecs=avc1,opus' });
        const chunks = [];
        rec.ondataavailable = (e) => chunks.push(e.data);
        rec.start(1000);
        await wait(seconds * 1000);
        const t0 = performance.now();
        const blob = await new Promise((r) => {
          rec.onstop = () => r(new Blob(chunks, { type: rec.mimeType }));
          rec.stop();
        });
        const ms = performance.now() - t0;
        stream.getTracks().forEach((t) => t.stop());
        return { ms, size: blob.size, mimeType: blob.type };
      }
      const rec = document.createElement('av-recorder');
      Object.entries({ source: 'room', ...attrs }).forEach(([k, v]) => rec.setAttribute(k, v));
      document.querySelector('av-room').append(rec);
      await rec.updateComplete;
      await rec.start();
      await wait(seconds * 1000);
      const t0 = performance.now();
      const result = await new Promise((resolve, reject) => {
        rec.addEventListener('av-recorder-complete', (e) => resolve(e.detail), { once: true });
        rec.addEventListener('av-recorder-error', (e) => reject(new Error(e.detail.message)), { once: true });
        void rec.stop();
      });
      const ms = performance.now() - t0;
      rec.remove();
      return { ms, size: result.size, mimeType: result.mimeType };
    },
    { attrs, seconds: SECONDS },
  );
  return { ...out, peak: stopSampling(), before };
}

const MiB = (b) => `${(b / 1048576).toFixed(0)} MiB`;
try {
  console.log(`${SECONDS} s recordings of a 2-member room (1280x720 grid, 30 fps), stop → file ready; Chromium RSS peak (before)`);
  const baseline = await run(null);
  const rows = [['bare MediaRecorder (camera, MP4)', baseline]];
  for (const [label, attrs] of [
    ['<av-recorder> native MP4', { format: 'mp4' }],
    ['<av-recorder> MP4 + AAC remux', { 'audio-codec': 'aac' }],
    ['<av-recorder> WebM → H.264 transcode', { 'native-mp4': 'off' }],
  ]) {
    rows.push([label, await run(attrs)]);
  }
  for (const [label, r] of rows) {
    console.log(`  ${label.padEnd(38)} ${`${r.ms.toFixed(0)} ms`.padStart(9)}   ${(r.size / 1048576).toFixed(1).padStart(5)} MiB file   peak ${MiB(r.peak)} (before ${MiB(r.before)})   ${r.mimeType}`);
  }
  for (const [label, r] of rows.slice(1)) {
    console.log(`  ratio stop→ready (${label.replace('<av-recorder> ', '')} / bare): ${(r.ms / baseline.ms).toFixed(1)}; peak memory ratio ${(r.peak / baseline.peak).toFixed(2)}`);
  }
} finally {
  await ann.close();
  await bob.close();
  await chromium.close();
  await server.stop();
}
