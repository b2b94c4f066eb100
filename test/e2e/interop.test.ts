// Two engines in one room: a Chromium member and a Firefox ESR member (WebDriver BiDi, puppeteer-core) through a real
// server. Media proven by getStats on both sides, chat and files both ways (SHA-256), a recording made in Firefox read
// by Debian's ffprobe.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { engineMember, expectFramesRising, inboundByPeer, waitFor, type EnginePage, type Evaluator } from '../helpers/browser.js';
import { twoEngines } from '../helpers/e2e.js';
import { collectReceivedFiles, receivedFiles, sendRandomFiles } from '../helpers/files.js';

const ctx = twoEngines();
const { open } = ctx;

async function member(engine: 'chromium' | 'firefox', room: string, name: string, children = ''): Promise<EnginePage> {
  const p = await engineMember(ctx.browser(engine), ctx.server.url, { room, name }, children);
  open.push(p);
  return p;
}

const chatTexts = (p: Evaluator) => p.evaluate(() => document.querySelector('av-chat')!.messages.map((m) => `${m.name}: ${m.text}`));

/** Video frames decoded and audio packets received from the other member keep rising for 3 s. */
async function expectMediaRising(p: Evaluator, what: string) {
  await expectFramesRising(p, `${what} video`, 1, 30_000);
  const first = await waitFor(
    `${what} audio`,
    () => inboundByPeer(p),
    (r) => Object.values(r)[0]!.audioPackets > 0,
  );
  await new Promise((r) => setTimeout(r, 1500));
  const later = await inboundByPeer(p);
  assert.ok(Object.values(later)[0]!.audioPackets > Object.values(first)[0]!.audioPackets, `${what}: audio packets keep rising`);
}

/** Sizes of the received files <av-file> keeps on disk in this page's origin (OPFS). */
const filesOnDisk = (p: Evaluator) =>
  p.evaluate(async () => {
    const sizes: number[] = [];
    const root = await navigator.storage.getDirectory();
    const folder = await root.getDirectoryHandle('av-file-received').catch(() => undefined);
    if (!folder) return sizes;
    for await (const page of (folder as any).values())
      for await (const file of page.values()) {
        // A file being removed (a cancelled transfer) may vanish between listing and reading.
        const read = await (file as FileSystemFileHandle).getFile().catch(() => undefined);
        if (read) sizes.push(read.size);
      }
    return sizes;
  });

const codecs = (p: Evaluator) =>
  p.evaluate(async () => {
    const room = document.querySelector('av-room')!;
    const report = await room.session!.getStats(room.peers[0]!.peerId);
    const out: string[] = [];
    report?.forEach((s: any) => {
      if (s.type === 'inbound-rtp' && s.codecId) out.push(report.get(s.codecId)?.mimeType);
    });
    return out.sort();
  });

test('Chromium and Firefox in one room: video and audio both ways, chat both ways, a file each way intact', async () => {
  const kids = '<av-chat></av-chat><av-file auto-accept></av-file>';
  const ann = await member('chromium', 'interop', 'Ann', kids);
  const bob = await member('firefox', 'interop', 'Bob', kids);
  await collectReceivedFiles(ann);
  await collectReceivedFiles(bob);

  await expectMediaRising(ann, 'Chromium receives from Firefox');
  await expectMediaRising(bob, 'Firefox receives from Chromium');
  console.log(`codecs: Chromium receives ${(await codecs(ann)).join(', ')}; Firefox receives ${(await codecs(bob)).join(', ')}`);

  await waitFor(
    'p2p data both ways',
    async () => [
      ...(await ann.evaluate(() => document.querySelector('av-room')!.peers.map((x) => x.path))),
      ...(await bob.evaluate(() => document.querySelector('av-room')!.peers.map((x) => x.path))),
    ],
    (x) => x.length === 2 && x.every((y) => y === 'p2p'),
  );
  await ann.evaluate(() => document.querySelector('av-chat')!.send('hello from Chromium <b>bold?</b>'));
  await bob.evaluate(() => document.querySelector('av-chat')!.send('hello from Firefox ✓'));
  for (const [p, text] of [
    [bob, 'Ann: hello from Chromium <b>bold?</b>'],
    [ann, 'Bob: hello from Firefox ✓'],
  ] as const)
    await waitFor(
      `chat "${text}"`,
      () => chatTexts(p),
      (t) => t.includes(text),
    );

  // 12 MiB: over the size from which Firefox writes received files to disk (OPFS) as they arrive, in two checked parts.
  const [fromChromium] = await sendRandomFiles(ann, [12 * 1048576 + 7], () => 'from-chromium.bin');
  const [fromFirefox] = await sendRandomFiles(bob, [3 * 1048576 + 11], () => 'from-firefox.bin');
  const atBob = await waitFor(
    'Firefox receives the file',
    () => receivedFiles(bob),
    (r) => r.length === 1,
    60_000,
  );
  const atAnn = await waitFor(
    'Chromium receives the file',
    () => receivedFiles(ann),
    (r) => r.length === 1,
    60_000,
  );
  assert.deepEqual([atBob[0]!.name, atBob[0]!.size, atBob[0]!.sha256], ['from-chromium.bin', 12 * 1048576 + 7, fromChromium]);
  assert.deepEqual([atAnn[0]!.name, atAnn[0]!.size, atAnn[0]!.sha256], ['from-firefox.bin', 3 * 1048576 + 11, fromFirefox]);
  assert.deepEqual(await filesOnDisk(bob), [12 * 1048576 + 7], 'Firefox kept the received file on disk (OPFS), not in memory');
  assert.deepEqual(await filesOnDisk(ann), [], 'Chromium keeps received files as Blobs');

  // A large file cancelled by the Firefox receiver half-way: what arrived is removed from disk.
  await sendRandomFiles(ann, [48 * 1048576], () => 'cancelled.bin');
  const half = await waitFor(
    'the second file half-way in Firefox',
    () => bob.evaluate(() => document.querySelector('av-file')!.transfers.find((t) => t.name === 'cancelled.bin')),
    (t) => !!t && t.bytes > 16 * 1048576,
    60_000,
  );
  await bob.evaluate((id) => document.querySelector('av-file')!.cancel(id), half!.id);
  await waitFor(
    'the cancelled file is gone from disk',
    () => filesOnDisk(bob),
    (sizes) => sizes.length === 1 && sizes[0] === 12 * 1048576 + 7,
    10_000,
  );
  assert.deepEqual(ctx.firefox.escapes, [], 'Firefox sent nothing off the machine');
  await ctx.closeAll();
});

test('a room recording made in Firefox is an MP4 (H.264) that ffprobe reads, through the WebM → H.264 path', async () => {
  await member('chromium', 'interop-rec', 'Ann');
  const bob = await member('firefox', 'interop-rec', 'Bob');
  await expectFramesRising(bob, 'Firefox receives from Chromium', 1, 30_000);
  const out = await bob.evaluate(async () => {
    const rec = document.createElement('av-recorder');
    rec.setAttribute('source', 'room');
    rec.setAttribute('width', '320');
    rec.setAttribute('height', '240');
    document.querySelector('av-room')!.append(rec);
    await rec.updateComplete;
    // What MediaRecorder handed over, and when (ms after it started): a recorder whose audio never flows holds every
    // frame until stop in Firefox, and may then write nothing.
    const chunks: { at: number; size: number }[] = [];
    const Native = window.MediaRecorder;
    window.MediaRecorder = class extends Native {
      constructor(stream: MediaStream, options?: MediaRecorderOptions) {
        super(stream, options);
        const t0 = performance.now();
        this.addEventListener('dataavailable', (e) => chunks.push({ at: Math.round(performance.now() - t0), size: e.data.size }));
      }
    };
    const started = new Promise<any>((r) => rec.addEventListener('av-recorder-start', (e) => r((e as CustomEvent).detail), { once: true }));
    let failure = '';
    rec.addEventListener('av-recorder-error', (e) => (failure = JSON.stringify((e as CustomEvent).detail)));
    await rec.start();
    const start = await started;
    await new Promise((r) => setTimeout(r, 4000));
    const notice = rec.shadowRoot!.querySelector('[part="notice"]')?.textContent?.trim() ?? '';
    const before = chunks.filter((c) => c.size > 0).length;
    const t0 = performance.now();
    const result = await rec.stop();
    const ms = performance.now() - t0;
    window.MediaRecorder = Native;
    const seen = chunks.map((c) => `+${c.at} ms ${c.size} B`).join(', ');
    if (!result) throw new Error(`no recording: av-recorder-error ${failure || '(none)'}, state ${rec.state}; chunks ${seen}`);
    const bytes = new Uint8Array(await result.blob.arrayBuffer());
    let binary = '';
    for (let i = 0; i < bytes.length; i += 32768) binary += String.fromCharCode(...bytes.subarray(i, i + 32768));
    return { start, ms, mimeType: result.mimeType, size: bytes.length, base64: btoa(binary), seen, before, notice };
  });
  console.log(
    `Firefox recording: ${JSON.stringify(out.start)}; 4 s ready ${out.ms.toFixed(0)} ms after stop as ${out.mimeType}, ${out.size} bytes; MediaRecorder chunks ${out.seen}`,
  );
  assert.equal(out.start.conversion, 'h264', 'Firefox records WebM and converts it');
  // The recording leaves the recorder while it records (1 s timeslices), not all at once at stop.
  assert.ok(out.before >= 2, `${out.before} chunks in 4 s before stop: ${out.seen}`);
  // Headless Firefox here has no audio output device, so it never runs an AudioContext: two voices cannot be mixed,
  // and the recorder says it records without sound. Where the mixer runs, the voices are in the file.
  assert.ok(['mixed', 'none'].includes(out.start.audio), `audio ${out.start.audio}`);
  if (out.start.audio === 'none') assert.match(out.notice, /without sound/);
  else assert.equal(out.notice, '');
  const dir = mkdtempSync(join(tmpdir(), 'av-interop-'));
  try {
    const file = join(dir, 'firefox.mp4');
    writeFileSync(file, Buffer.from(out.base64, 'base64'));
    assert.match(out.mimeType, /^video\/mp4/);
    const probed = spawnSync('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', file], {
      encoding: 'utf8',
    });
    assert.equal(probed.status, 0, `ffprobe reads the ${out.size} bytes: ${probed.stderr}`);
    const probe = JSON.parse(probed.stdout);
    assert.match(probe.format.format_name, /mp4/);
    const video = probe.streams.find((s: any) => s.codec_type === 'video');
    const audio = probe.streams.find((s: any) => s.codec_type === 'audio');
    assert.equal(video?.codec_name, 'h264');
    assert.equal(!!audio, out.start.audio === 'mixed', `an audio stream exactly when the voices were mixed (${out.start.audio})`);
    const seconds = Number(probe.format.duration);
    assert.ok(seconds > 3 && seconds < 6, `duration ${seconds} s for a 4 s recording`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await ctx.closeAll();
});
