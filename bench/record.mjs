// Recording: for a room recording of N seconds (default 60) with two members, the time from stop() to the file being
// ready for each path — native MP4, MP4 + AAC (made while recording: a streaming AAC encoder, muxed in JS), WebM → H.264 transcode (ffmpeg.wasm) — and the
// peak memory of Chromium (PSS of every process of it: the renderer holds MediaRecorder's chunks and ffmpeg.wasm's
// heap; PSS splits shared pages between processes, so the sum does not count them several times).
// Baseline, in the same browser: a bare MediaRecorder recording the camera to MP4 for as long (no grid, no mix).
// Last, Firefox ESR's path to MP4 (WebM → H.264 with ffmpeg.wasm), recorded by a Firefox member of the same room.
// The MP4 + AAC file is checked with Debian's ffprobe (codecs, profile, each stream's duration).
// Usage: node bench/record.mjs [seconds=60]   (ONLY=AAC runs the bare baseline and the paths whose label has AAC)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium, launchFirefox, startBuiltServer } from './lib/setup.mjs';

const SECONDS = Number(process.argv[2] ?? 60);
const MARK = `--av-bench-record=${process.pid}`;
const server = await startBuiltServer();
const chromium = await launchChromium(['--use-fake-device-for-media-stream=fps=30', '--js-flags=--expose-gc', MARK]);

/** Proportional memory (PSS) of every process of our Chromium (the marked browser process and its descendants), in bytes. */
function chromiumPss() {
  const procs = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const marked = readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(MARK);
      const chromiumish = marked || /chrom/i.test(stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')));
      const pss = chromiumish ? Number(/Pss:\s+(\d+)/.exec(readFileSync(`/proc/${name}/smaps_rollup`, 'utf8'))?.[1] ?? 0) * 1024 : 0;
      procs.push({ pid: Number(name), ppid, pss, marked });
    } catch {
      // The process ended while we looked.
    }
  }
  const ours = new Set(procs.filter((p) => p.marked && !procs.some((q) => q.marked && q.pid === p.ppid)).map((p) => p.pid));
  for (let grew = true; grew;) {
    grew = false;
    for (const p of procs) if (!ours.has(p.pid) && ours.has(p.ppid)) (ours.add(p.pid), (grew = true));
  }
  return procs.filter((p) => ours.has(p.pid)).reduce((sum, p) => sum + p.pss, 0);
}

/** Samples Chromium's memory every 250 ms until stopped; resolves the peak. */
function sampleMemory() {
  let peak = chromiumPss();
  const timer = setInterval(() => (peak = Math.max(peak, chromiumPss())), 250);
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
  await ann.page.evaluate(() => window.gc?.());
  await ann.page.waitForTimeout(1000);
  const before = chromiumPss();
  const heap = await ann.page.evaluate(() => performance.memory?.usedJSHeapSize ?? 0);
  const stopSampling = sampleMemory();
  const out = await ann.page.evaluate(
    async ({ attrs, seconds, keep }) => {
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
      let loaded = 0;
      rec.addEventListener('av-recorder-progress', (e) => (loaded ||= e.detail.stage === 'converting' ? performance.now() - t0 : 0));
      const result = await new Promise((resolve, reject) => {
        rec.addEventListener('av-recorder-complete', (e) => resolve(e.detail), { once: true });
        rec.addEventListener('av-recorder-error', (e) => reject(new Error(e.detail.message)), { once: true });
        void rec.stop();
      });
      const ms = performance.now() - t0;
      rec.remove();
      let file = '';
      if (keep) {
        const bytes = new Uint8Array(await result.blob.arrayBuffer());
        for (let i = 0; i < bytes.length; i += 0x8000) file += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
        file = btoa(file);
      }
      return { ms, loaded, size: result.size, mimeType: result.mimeType, file };
    },
    { attrs, seconds: SECONDS, keep: !!attrs?.['audio-codec'] },
  );
  return { ...out, peak: stopSampling(), before, heap };
}

const MiB = (b) => `${(b / 1048576).toFixed(0)} MiB`;
let firefox;
try {
  console.log(`${SECONDS} s recordings of a 2-member room (1280x720 grid, 30 fps) on a 2-core machine that also runs the call:`);
  console.log(
    'stop → file ready (of which: until the encoder or ffmpeg.wasm is loaded and converting), file size, Chromium PSS peak (before the run)',
  );
  const baseline = await run(null);
  const rows = [['bare MediaRecorder (camera, MP4)', baseline]];
  for (const [label, attrs] of [
    ['<av-recorder> native MP4', { format: 'mp4' }],
    ['<av-recorder> MP4 + AAC (made live)', { 'audio-codec': 'aac' }],
    ['<av-recorder> WebM → H.264 transcode', { 'native-mp4': 'off' }],
  ].filter(([l]) => !process.env.ONLY || l.includes(process.env.ONLY))) {
    rows.push([label, await run(attrs)]);
  }
  for (const [label, r] of rows) {
    const load = r.loaded ? ` (${r.loaded.toFixed(0)} ms)` : '';
    console.log(
      `  ${label.padEnd(38)} ${`${r.ms.toFixed(0)} ms${load}`.padStart(18)}   ${(r.size / 1048576).toFixed(1).padStart(5)} MiB file   peak ${MiB(r.peak)} (before ${MiB(r.before)}, page JS heap ${MiB(r.heap)})   ${r.mimeType}`,
    );
  }
  for (const [label, r] of rows.slice(1)) {
    const speed = r.loaded ? `; converted at ${(SECONDS / ((r.ms - r.loaded) / 1000)).toFixed(1)}x real time` : '';
    console.log(
      `  ratio (${label.replace('<av-recorder> ', '')} / bare): stop→ready ${(r.ms / baseline.ms).toFixed(1)}, peak memory ${(r.peak / baseline.peak).toFixed(2)}${speed}`,
    );
  }
  const aac = rows.find(([, r]) => r.file)?.[1];
  if (aac) {
    const dir = mkdtempSync(join(tmpdir(), 'av-bench-record-'));
    try {
      writeFileSync(join(dir, 'aac.mp4'), Buffer.from(aac.file, 'base64'));
      const probe = execFileSync('ffprobe', [
        '-v',
        'error',
        '-show_entries',
        'stream=codec_name,profile,start_time,duration',
        '-of',
        'csv=p=0',
        join(dir, 'aac.mp4'),
      ]);
      console.log(`  ffprobe of the MP4 + AAC file (codec, profile, start, duration): ${String(probe).trim().split('\n').join(' | ')}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  // Firefox ESR records WebM only: its MP4 is the WebM → H.264 transcode, timed the same way by a third member.
  firefox = await launchFirefox();
  const context = await firefox.browser.createBrowserContext();
  const cy = await context.newPage();
  await cy.goto(`${server.url}/healthz`);
  await cy.setContent(`<!doctype html><meta charset="utf-8"><script type="module" src="/av-elements.js"></script>`);
  await cy.evaluate(async () => {
    await customElements.whenDefined('av-room');
    const room = Object.assign(document.createElement('av-room'), { room: 'bench-record', name: 'Cy' });
    document.body.append(room);
    for (let i = 0; i < 200 && room.peers.filter((p) => p.stream).length < 2; i++) await new Promise((r) => setTimeout(r, 100));
  });
  const ff = await cy.evaluate(
    async ({ seconds }) => {
      const rec = document.createElement('av-recorder');
      rec.setAttribute('source', 'room');
      document.querySelector('av-room').append(rec);
      await rec.updateComplete;
      await rec.start();
      await new Promise((r) => setTimeout(r, seconds * 1000));
      const t0 = performance.now();
      let loaded = 0;
      rec.addEventListener('av-recorder-progress', (e) => (loaded ||= e.detail.stage === 'converting' ? performance.now() - t0 : 0));
      const result = await rec.stop();
      return { ms: performance.now() - t0, loaded, size: result.size, mimeType: result.mimeType, duration: result.duration };
    },
    { seconds: SECONDS },
  );
  console.log(
    `  Firefox ESR: <av-recorder> WebM → H.264 ${`${ff.ms.toFixed(0)} ms (${ff.loaded.toFixed(0)} ms)`.padStart(18)}   ${(ff.size / 1048576).toFixed(1).padStart(5)} MiB file   converted at ${(SECONDS / ((ff.ms - ff.loaded) / 1000)).toFixed(1)}x real time   ${ff.mimeType}`,
  );
  await context.close();
} finally {
  await ann.close();
  await bob.close();
  await chromium.close();
  await firefox?.close();
  await server.stop();
}
