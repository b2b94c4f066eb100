// <av-recorder> from the script-tag bundle, offline: every request to a host other than 127.0.0.1 is refused (and
// counted) by Playwright routing, and Chromium resolves no other host. Files are checked with Debian's ffprobe/ffmpeg.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { startServer, type RunningServer } from '../helpers/server.js';

let server: RunningServer;
let chromium: Awaited<ReturnType<typeof launchChromium>>;
let context: BrowserContext;
const blocked: string[] = [];
const dir = mkdtempSync(join(tmpdir(), 'av-recorder-'));

before(async () => {
  server = await startServer();
  chromium = await launchChromium([
    '--use-fake-device-for-media-stream=fps=30',
    '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
  ]);
  context = await chromium.browser.newContext();
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === '127.0.0.1') return route.continue();
    blocked.push(url.href);
    return route.abort();
  });
});
after(async () => {
  await context?.close().catch(() => {});
  await chromium?.close();
  await server?.stop();
  if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true });
});

interface Member {
  /** A tone as the microphone and a moving canvas as the camera, instead of the fake devices. */
  tone?: number;
  /** Camera constraints for the fake device. */
  camera?: MediaTrackConstraints;
  recorder?: Record<string, string>;
}

/** A page with one <av-room> (and maybe an <av-recorder> inside) from the bundle, joined to `room`. */
async function member(room: string, name: string, m: Member = {}): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${server.url}/healthz`);
  await page.setContent(`<!doctype html><meta charset="utf-8"><script type="module" src="${server.url}/av-elements.js"></script>`);
  await page.evaluate(
    async ({ server, room, name, m }) => {
      await customElements.whenDefined('av-room');
      const el = document.createElement('av-room');
      Object.entries({ server, room, name }).forEach(([k, v]) => el.setAttribute(k, v));
      if (m.tone) {
        const audio = new AudioContext();
        const osc = Object.assign(audio.createOscillator(), { type: 'sine' });
        osc.frequency.value = m.tone;
        const gain = audio.createGain();
        gain.gain.value = 0.9;
        const dest = audio.createMediaStreamDestination();
        osc.connect(gain).connect(dest);
        osc.start();
        const canvas = Object.assign(document.createElement('canvas'), { width: 640, height: 480 });
        const ctx = canvas.getContext('2d')!;
        let n = 0;
        setInterval(() => {
          ctx.fillStyle = `hsl(${(n += 5) % 360} 60% 50%)`;
          ctx.fillRect(0, 0, 640, 480);
        }, 33);
        el.localStream = new MediaStream([...canvas.captureStream(30).getVideoTracks(), ...dest.stream.getAudioTracks()]);
      } else if (m.camera) {
        el.localStream = await navigator.mediaDevices.getUserMedia({ video: m.camera, audio: true });
      }
      if (m.recorder) {
        const rec = document.createElement('av-recorder');
        Object.entries(m.recorder).forEach(([k, v]) => rec.setAttribute(k, v));
        el.append(rec);
      }
      document.body.append(el);
      const end = performance.now() + 15_000;
      while (el.session?.state !== 'connected' && performance.now() < end) await new Promise((r) => setTimeout(r, 100));
    },
    { server: server.url, room, name, m },
  );
  return page;
}

/** Starts the page's recorder, waits for the finished file (max-duration stops it), and saves it for ffprobe. */
async function record(
  page: Page,
  file: string,
  timeoutMs = 60_000,
): Promise<{ path: string; mimeType: string; duration: number; start: { conversion?: string } }> {
  const out = await page.evaluate(async (timeoutMs) => {
    const rec = document.querySelector('av-recorder')!;
    const start = new Promise<any>((r) => rec.addEventListener('av-recorder-start', (e) => r((e as CustomEvent).detail), { once: true }));
    const done = new Promise<any>((resolve, reject) => {
      rec.addEventListener('av-recorder-complete', (e) => resolve((e as CustomEvent).detail), { once: true });
      rec.addEventListener('av-recorder-error', (e) => reject(new Error((e as CustomEvent).detail.message)), { once: true });
      setTimeout(() => reject(new Error('no recording in time')), timeoutMs);
    });
    await rec.start();
    const result = await done;
    const url = await new Promise<string>((r) => {
      const reader = new FileReader();
      reader.onload = () => r(reader.result as string);
      reader.readAsDataURL(result.blob);
    });
    // The MIME type has a comma of its own (codecs=avc1,opus): cut after ';base64,'.
    return { data: url.slice(url.indexOf(';base64,') + 8), mimeType: result.mimeType, duration: result.duration, start: await start };
  }, timeoutMs);
  const path = join(dir, file);
  writeFileSync(path, Buffer.from(out.data, 'base64'));
  return { path, mimeType: out.mimeType, duration: out.duration, start: out.start };
}

interface Probe {
  streams: {
    codec_type: string;
    codec_name: string;
    width?: number;
    height?: number;
    r_frame_rate?: string;
    avg_frame_rate?: string;
    nb_frames?: string;
    profile?: string;
    start_time?: string;
    duration?: string;
  }[];
  format: { duration: string; format_name: string };
}

function probe(path: string): Probe {
  return JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', path], { encoding: 'utf8' }));
}

/** Decodes every frame and sample; ffmpeg prints nothing at `-v error` when the file is clean. */
function decodeErrors(path: string): string {
  return execFileSync('ffmpeg', ['-v', 'error', '-i', path, '-f', 'null', '-'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

const rate = (r = '0/1') => {
  const [a, b] = r.split('/').map(Number);
  return a! / (b || 1);
};

test('source="self": 5 s to native MP4 with H.264 and audio', async () => {
  const page = await member('rec-self', 'Ann', { recorder: { source: 'self', 'max-duration': '5' } });
  const file = await record(page, 'self.mp4');
  await page.close();
  assert.equal(file.start.conversion, undefined);
  assert.match(file.mimeType, /^video\/mp4;codecs=avc1/);
  const p = probe(file.path);
  const video = p.streams.find((s) => s.codec_type === 'video');
  assert.equal(video?.codec_name, 'h264');
  assert.ok(
    p.streams.some((s) => s.codec_type === 'audio'),
    'an audio stream',
  );
  assert.equal(video?.width, 640);
  const duration = Number(p.format.duration);
  assert.ok(duration >= 4.5 && duration <= 5.5, `duration ${duration}`);
  assert.equal(decodeErrors(file.path), '');
});

/** Power of `freq` in mono float samples (Goertzel). */
function power(samples: Float32Array, sampleRate: number, freq: number): number {
  const k = 2 * Math.cos((2 * Math.PI * freq) / sampleRate);
  let s1 = 0;
  let s2 = 0;
  for (const x of samples) {
    const s = x + k * s1 - s2;
    s2 = s1;
    s1 = s;
  }
  return (s1 * s1 + s2 * s2 - k * s1 * s2) / samples.length;
}

test('source="room": two members with distinct tones are both in the mix, on the asked grid size, without clipping', async () => {
  const bob = await member('rec-room', 'Bob', { tone: 1250 });
  const ann = await member('rec-room', 'Ann', {
    tone: 440,
    recorder: { source: 'room', width: '960', height: '540', 'max-duration': '5' },
  });
  // Ann decodes Bob's video and receives his audio (getStats) before recording starts.
  await ann.waitForFunction(
    async () => {
      const room = document.querySelector('av-room')!;
      const peer = room.peers[0];
      if (!peer) return false;
      let frames = 0;
      let packets = 0;
      (await room.session!.getStats(peer.peerId))?.forEach((s: any) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') frames += s.framesDecoded ?? 0;
        if (s.type === 'inbound-rtp' && s.kind === 'audio') packets += s.packetsReceived ?? 0;
      });
      return frames > 30 && packets > 50;
    },
    null,
    { timeout: 20_000, polling: 250 },
  );
  const file = await record(ann, 'room.mp4');
  await ann.close();
  await bob.close();
  const p = probe(file.path);
  const video = p.streams.find((s) => s.codec_type === 'video');
  assert.equal(video?.codec_name, 'h264');
  assert.deepEqual([video?.width, video?.height], [960, 540]);
  const duration = Number(p.format.duration);
  assert.ok(duration >= 4.5 && duration <= 5.5, `duration ${duration}`);
  // The grid at 3 s: two tiles side by side, each showing its member's coloured canvas (not the dark tile background).
  const frame = execFileSync(
    'ffmpeg',
    ['-v', 'error', '-ss', '3', '-i', file.path, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'],
    { maxBuffer: 16 << 20 },
  );
  for (const [x, who] of [
    [240, 'Ann (left)'],
    [720, 'Bob (right)'],
  ] as const) {
    const i = (270 * 960 + x) * 3;
    const [r, g, b] = [frame[i]!, frame[i + 1]!, frame[i + 2]!];
    assert.ok(Math.max(r, g, b) - Math.min(r, g, b) > 60, `${who} tile shows video: rgb(${r}, ${g}, ${b})`);
  }
  const sampleRate = 16000;
  // One channel as it is: `-ac 1` to float sums the channels at -3 dB each, +3 dB over either (not clipping).
  const pcm = execFileSync(
    'ffmpeg',
    ['-v', 'error', '-i', file.path, '-vn', '-af', 'pan=mono|c0=c0', '-ar', String(sampleRate), '-f', 'f32le', '-'],
    { maxBuffer: 64 << 20 },
  );
  const all = new Float32Array(pcm.buffer, pcm.byteOffset, pcm.byteLength / 4);
  // The middle seconds: both voices flowing.
  const samples = all.subarray(sampleRate, sampleRate * 4);
  const [ours, theirs, none] = [440, 1250, 2900].map((f) => power(samples, sampleRate, f)) as [number, number, number];
  assert.ok(ours > 100 * none, `440 Hz (ours) ${ours} vs 2900 Hz ${none}`);
  assert.ok(theirs > 100 * none, `1250 Hz (theirs) ${theirs} vs 2900 Hz ${none}`);
  const clipped = samples.filter((x) => Math.abs(x) >= 0.999).length / samples.length;
  const peak = samples.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  assert.ok(clipped < 0.001, `clipped samples ${(clipped * 100).toFixed(2)}% (peak ${peak.toFixed(3)})`);
  assert.ok(peak > 0.3, `the mix is audible (peak ${peak.toFixed(3)})`);
});

test('audio-codec="aac": the AAC is made while recording in a worker (bundled chunk, no ffmpeg.wasm) and muxed with the H.264 as it was', async () => {
  const page = await member('rec-aac', 'Ann', { tone: 440, recorder: { source: 'self', 'audio-codec': 'aac', 'max-duration': '3' } });
  const requested: string[] = [];
  page.on('request', (r) => requested.push(new URL(r.url()).pathname));
  const workers: string[] = [];
  page.on('worker', (w) => workers.push(w.url()));
  const file = await record(page, 'aac.mp4');
  await page.close();
  assert.equal(file.start.conversion, 'aac');
  assert.ok(
    requested.some((u) => /\/chunks\/aac-worker-[\w-]+\.js$/.test(u)),
    `the worker's chunk was loaded: ${requested.join(' ')}`,
  );
  // Ours (a module from the chunk) and the AAC encoder's own, both from blob URLs.
  assert.ok(workers.filter((u) => u.startsWith('blob:')).length >= 2, `workers: ${workers.join(' ')}`);
  assert.ok(!requested.some((u) => u.includes('ffmpeg-core')), `ffmpeg.wasm was not needed: ${requested.join(' ')}`);
  const p = probe(file.path);
  const video = p.streams.find((s) => s.codec_type === 'video')!;
  const audio = p.streams.find((s) => s.codec_type === 'audio')!;
  assert.equal(video.codec_name, 'h264');
  assert.equal(audio.codec_name, 'aac');
  assert.equal(audio.profile, 'LC');
  const duration = Number(p.format.duration);
  assert.ok(duration >= 2.5 && duration <= 3.5, `duration ${duration}`);
  // In sync: the audio starts with the video (within 0.1 s) and lasts as long (within 0.3 s).
  assert.ok(Math.abs(Number(audio.start_time) - Number(video.start_time)) < 0.1, `starts ${audio.start_time} / ${video.start_time}`);
  assert.ok(Math.abs(Number(audio.duration) - Number(video.duration)) < 0.3, `durations ${audio.duration} / ${video.duration}`);
  assert.equal(decodeErrors(file.path), '');
  // The AAC carries the microphone's tone, not silence or noise: 440 Hz stands far above 2900 Hz in the middle second.
  const sampleRate = 16000;
  const pcm = execFileSync('ffmpeg', ['-v', 'error', '-i', file.path, '-vn', '-ac', '1', '-ar', String(sampleRate), '-f', 'f32le', '-'], {
    maxBuffer: 64 << 20,
  });
  const samples = new Float32Array(pcm.buffer, pcm.byteOffset, pcm.byteLength / 4).subarray(sampleRate, sampleRate * 2);
  const [tone, none] = [440, 2900].map((f) => power(samples, sampleRate, f)) as [number, number];
  assert.ok(tone > 100 * none, `440 Hz ${tone} vs 2900 Hz ${none}`);
});

test('native-mp4="off": WebM transcoded to H.264 MP4 with a sane frame rate', async () => {
  const page = await member('rec-x264', 'Ann', { recorder: { source: 'self', 'native-mp4': 'off', fps: '25', 'max-duration': '4' } });
  const file = await record(page, 'transcoded.mp4');
  await page.close();
  assert.equal(file.start.conversion, 'h264');
  assert.match(file.mimeType, /^video\/mp4/);
  const p = probe(file.path);
  const video = p.streams.find((s) => s.codec_type === 'video')!;
  assert.equal(video.codec_name, 'h264');
  assert.equal(rate(video.r_frame_rate), 25);
  assert.ok(Math.abs(rate(video.avg_frame_rate) - 25) < 1, `avg_frame_rate ${video.avg_frame_rate}`);
  const duration = Number(p.format.duration);
  assert.ok(duration >= 3.5 && duration <= 4.6, `duration ${duration}`);
  // Constant 25 fps: the frames fill the video stream's own duration. (Against the file's duration, which is the longer
  // of audio and video, a loaded machine that ended the video a few frames before the audio failed it: 98 frames in
  // 4.061 s.)
  const videoDuration = Number(video.duration ?? duration);
  assert.ok(videoDuration >= 3.4, `video duration ${videoDuration}`);
  assert.ok(Math.abs(Number(video.nb_frames) - 25 * videoDuration) <= 2, `${video.nb_frames} frames in ${videoDuration} s of video`);
  assert.ok(
    p.streams.some((s) => s.codec_type === 'audio'),
    'an audio stream',
  );
  assert.equal(decodeErrors(file.path), '');
});

test('snapshots of 640x480 and 1280x720 sources are JPEGs of those sizes, as files the browser saves', async () => {
  for (const [width, height] of [
    [640, 480],
    [1280, 720],
  ] as const) {
    const page = await member(`rec-shot-${width}`, 'Ann', { camera: { width, height }, recorder: { source: 'self', quality: '0.8' } });
    await page.evaluate(async () => {
      const rec = document.querySelector('av-recorder')!;
      const event = new Promise<any>((r) => rec.addEventListener('av-snapshot', (e) => r((e as CustomEvent).detail), { once: true }));
      const shot = await rec.snapshot();
      const detail = await event;
      if (detail.blob !== shot.blob || detail.source !== 'self') throw new Error('av-snapshot detail');
      await rec.updateComplete;
    });
    // The recorder's "Save snapshot" link, then <av-room>.snapshot(undefined, quality, true): both are downloads.
    const files: string[] = [];
    for (const save of [
      () =>
        page.evaluate(() =>
          document.querySelector('av-recorder')!.shadowRoot!.querySelector<HTMLAnchorElement>('a[part~="snapshot-download"]')!.click(),
        ),
      () =>
        page.evaluate(() =>
          document
            .querySelector('av-room')!
            .snapshot(undefined, 0.8, true)
            .then(() => {}),
        ),
    ]) {
      const [download] = await Promise.all([page.waitForEvent('download'), save()]);
      const path = join(dir, `${files.length}-${download.suggestedFilename()}`);
      await download.saveAs(path);
      files.push(path);
    }
    await page.close();
    assert.match(files[1]!, /snapshot-Ann\.jpg$/);
    for (const path of files) {
      const stream = probe(path).streams[0]!;
      assert.equal(stream.codec_name, 'mjpeg');
      assert.deepEqual([stream.width, stream.height], [width, height]);
    }
  }
});

test('nothing was requested from any host but 127.0.0.1', () => {
  assert.deepEqual(blocked, []);
});
