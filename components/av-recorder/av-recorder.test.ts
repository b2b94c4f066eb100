import { expect, fixture, html } from '@open-wc/testing';
import { sendKeys } from '@web/test-runner-commands';
import '../index.js';
import type { AvRecorder, RecorderCompleteDetail, RecorderErrorDetail, RecorderProgressDetail } from './av-recorder.js';
import type { AvRoom } from '../av-room/av-room.js';
import { CHROMIUM_ONLY, SERVER, chromiumOnly, eventWithin, inFirefox, uniqueRoom, until, videoFlowing } from '../test-helpers.js';
import { findBox, readBoxes } from '../core/mp4-fragments.js';

/** What Chromium says about a recording when it plays it. */
async function playable(blob: Blob): Promise<{ duration: number; width: number; height: number }> {
  const video = document.createElement('video');
  video.muted = true;
  video.src = URL.createObjectURL(blob);
  try {
    await new Promise((resolve, reject) => {
      video.onloadedmetadata = resolve;
      video.onerror = () => reject(new Error(`does not play: ${video.error?.message}`));
    });
    if (!Number.isFinite(video.duration)) {
      video.currentTime = 1e6;
      await new Promise((r) => (video.ondurationchange = r));
    }
    return { duration: video.duration, width: video.videoWidth, height: video.videoHeight };
  } finally {
    URL.revokeObjectURL(video.src);
  }
}

/** Each track of a (non-fragmented) MP4: its sample entry (`avc1`, `mp4a.40.2` for AAC-LC, …) and its length in seconds. */
async function mp4Tracks(blob: Blob): Promise<{ codec: string; seconds: number }[]> {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  const moov = findBox(bytes, ['moov'])!;
  return readBoxes(bytes, moov.payload, moov.end)
    .filter((b) => b.type === 'trak')
    .map((trak) => {
      const mdhd = findBox(bytes, ['mdia', 'mdhd'], trak.payload, trak.end)!;
      const view = new DataView(bytes.buffer, mdhd.payload);
      const v1 = bytes[mdhd.payload] === 1;
      const seconds = (v1 ? Number(view.getBigUint64(24)) : view.getUint32(16)) / view.getUint32(v1 ? 20 : 12);
      const stsd = findBox(bytes, ['mdia', 'minf', 'stbl', 'stsd'], trak.payload, trak.end)!;
      const entry = readBoxes(bytes, stsd.payload + 8, stsd.end)[0]!;
      const esds = entry.type === 'mp4a' ? findBox(bytes, ['esds'], entry.payload + 28, entry.end) : undefined;
      return { codec: esds ? `mp4a.${esdsCodec(bytes, esds.payload + 4, esds.end)}` : entry.type, seconds };
    });
}

/** `40.2` for AAC-LC: the esds' object type indication (hex) and the AudioSpecificConfig's audio object type. */
function esdsCodec(bytes: Uint8Array, at: number, end: number): string {
  let objectType = 0;
  while (at < end) {
    const tag = bytes[at++]!;
    let length = 0;
    for (let b = 0x80; b & 0x80;) {
      b = bytes[at++]!;
      length = (length << 7) | (b & 0x7f);
    }
    // ES_Descriptor: its id and flags (none set by ffmpeg), then the descriptors inside it.
    if (tag === 0x03) at += 3;
    else if (tag === 0x04) {
      // DecoderConfigDescriptor: the object type, 12 more bytes, then DecoderSpecificInfo inside it.
      objectType = bytes[at]!;
      at += 13;
    } else if (tag === 0x05) return `${objectType.toString(16)}.${bytes[at]! >> 3}`;
    else at += length;
  }
  return objectType.toString(16);
}

const button = (el: AvRecorder, part: string) => el.shadowRoot!.querySelector<HTMLButtonElement>(`[part~="${part}"]`)!;

async function joinedRecorder(attrs: string) {
  const wrap = await fixture<HTMLDivElement>(html`<div></div>`);
  wrap.innerHTML = `<av-room server="${SERVER}" room="${uniqueRoom('rec')}" name="Ann"><av-recorder ${attrs}></av-recorder></av-room>`;
  const room = wrap.querySelector('av-room') as AvRoom;
  const rec = wrap.querySelector('av-recorder') as AvRecorder;
  await until(
    'joined',
    () => room.session?.state,
    (s) => s === 'connected',
  );
  await until(
    'camera',
    () => room.session!.localStream.getVideoTracks()[0]?.readyState,
    (s) => s === 'live',
  );
  await videoFlowing(room.session!.localStream);
  await rec.updateComplete;
  return { wrap, room, rec };
}

describe('<av-recorder>', () => {
  chromiumOnly(CHROMIUM_ONLY.nativeMp4)('records itself natively to MP4 from the keyboard, pauses, and offers the file', async () => {
    const { rec } = await joinedRecorder('source="self" file-name="standup {source}"');
    await expect(rec).to.be.accessible();
    const started = eventWithin<{ mimeType: string; conversion?: string }>(rec, 'av-recorder-start', 5000);
    button(rec, 'start-button').focus();
    await sendKeys({ press: 'Enter' });
    const start = (await started).detail;
    expect(start.mimeType).to.match(/^video\/mp4;codecs=avc1/);
    expect(start.conversion).to.equal(undefined);
    await until(
      'recording',
      () => rec.getAttribute('state'),
      (s) => s === 'recording',
    );
    await rec.updateComplete;
    await expect(rec).to.be.accessible();
    await new Promise((r) => setTimeout(r, 1500));
    button(rec, 'pause-button').focus();
    await sendKeys({ press: 'Space' });
    expect(rec.state).to.equal('paused');
    const pausedAt = rec.elapsed;
    await new Promise((r) => setTimeout(r, 1000));
    expect(rec.elapsed).to.be.closeTo(pausedAt, 0.05);
    rec.resume();
    await new Promise((r) => setTimeout(r, 1000));
    const done = eventWithin<RecorderCompleteDetail>(rec, 'av-recorder-complete', 10_000);
    button(rec, 'stop-button').click();
    const result = (await done).detail;
    expect(result.fileName).to.equal('standup self.mp4');
    expect(result.size).to.equal(result.blob.size);
    expect(result.size).to.be.greaterThan(10_000);
    expect(result.duration).to.be.within(2.2, 3.2);
    const info = await playable(result.blob);
    expect(info.width).to.equal(640);
    expect(info.duration).to.be.within(2, 3.5);
    await rec.updateComplete;
    const link = rec.shadowRoot!.querySelector<HTMLAnchorElement>('a[part~="download"]')!;
    expect(link.download).to.equal('standup self.mp4');
    expect(link.textContent).to.match(/Save recording \(MP4/);
    expect(rec.state).to.equal('done');
  });

  chromiumOnly(CHROMIUM_ONLY.nativeMp4)('records one member with source="peer:<id>" at that member\'s video size', async () => {
    const room = uniqueRoom('rec-peer');
    const wrap = await fixture<HTMLDivElement>(html`<div></div>`);
    wrap.innerHTML = `<av-room server="${SERVER}" room="${room}" name="Ann"><av-recorder max-duration="1.5"></av-recorder></av-room>
      <av-room server="${SERVER}" room="${room}" name="Bob" audio="off"></av-room>`;
    const [ann, bob] = [...wrap.querySelectorAll('av-room')] as [AvRoom, AvRoom];
    const rec = wrap.querySelector('av-recorder') as AvRecorder;
    const bobId = await until('Bob joined', () => bob.session?.peerId, Boolean);
    await until(
      "Bob's video at Ann",
      () =>
        ann.peers
          .find((p) => p.peerId === bobId)
          ?.stream?.getVideoTracks()[0]
          ?.getSettings().width,
      (w) => w === 640,
    );
    rec.source = `peer:${bobId}`;
    rec.fileName = '{source}';
    const done = eventWithin<RecorderCompleteDetail>(rec, 'av-recorder-complete', 10_000);
    await rec.start();
    expect(rec.stream!.getVideoTracks()[0]!.getSettings().width).to.equal(640);
    const result = (await done).detail;
    expect(result.fileName).to.equal(`peer-${bobId}.mp4`);
    expect((await playable(result.blob)).width).to.equal(640);
  });

  it('stops by itself at max-duration and releases the grid and mix it drew', async () => {
    const { rec } = await joinedRecorder('source="self" width="320" height="180" max-duration="1.5"');
    const done = eventWithin<RecorderCompleteDetail>(rec, 'av-recorder-complete', 10_000);
    await rec.start();
    const stream = rec.stream!;
    expect(stream.getVideoTracks()[0]!.getSettings().width).to.equal(320);
    const result = (await done).detail;
    expect(result.duration).to.be.within(1.4, 2);
    expect((await playable(result.blob)).height).to.equal(180);
    expect(stream.getTracks().map((t) => t.readyState)).to.deep.equal(['ended', 'ended']);
    expect(rec.stream === undefined, 'no stream after the end').to.equal(true);
  });

  it('converts to AAC (made while recording in Chromium, by ffmpeg.wasm from our server in Firefox), with progress', async () => {
    const { rec } = await joinedRecorder('source="self" audio-codec="aac"');
    const progress: RecorderProgressDetail[] = [];
    rec.addEventListener('av-recorder-progress', (e) => progress.push((e as CustomEvent).detail));
    const errors: string[] = [];
    rec.addEventListener('av-recorder-error', (e) => errors.push(JSON.stringify((e as CustomEvent).detail)));
    const done = eventWithin<RecorderCompleteDetail>(rec, 'av-recorder-complete', 60_000);
    await rec.start();
    // Long enough for a cold Firefox encoder to write its first frames (at 1.5 s a fresh clone's run got none).
    await new Promise((r) => setTimeout(r, 3000));
    void rec.stop();
    await until(
      'converting',
      () => rec.state,
      (s) => s === 'converting' || s === 'done',
    ).catch((err: Error) => {
      throw new Error(`${err.message}; errors: ${errors.join(' ')}`);
    });
    const result = (await done).detail;
    expect(result.mimeType).to.contain('mp4a');
    // The encoder (Chromium) loads when the recording starts: by the stop it is usually ready, and only the mux is left.
    expect(progress[0]!.stage).to.be.oneOf(['loading', 'converting']);
    expect(progress.at(-1)).to.deep.equal({ stage: 'converting', progress: 1 });
    expect((await playable(result.blob)).width).to.equal(640);
  });

  chromiumOnly(CHROMIUM_ONLY.nativeMp4)(
    'makes the AAC while recording: ready soon after stop, pauses kept, audio as long as the video and the recorded time',
    async () => {
      const { rec } = await joinedRecorder('source="self" audio-codec="aac"');
      const progress: RecorderProgressDetail[] = [];
      rec.addEventListener('av-recorder-progress', (e) => progress.push((e as CustomEvent).detail));
      await rec.start();
      await new Promise((r) => setTimeout(r, 2500));
      rec.pause();
      await new Promise((r) => setTimeout(r, 1500));
      rec.resume();
      await new Promise((r) => setTimeout(r, 2500));
      const elapsed = rec.elapsed;
      const stopped = performance.now();
      const result = (await rec.stop())!;
      const ms = performance.now() - stopped;
      expect(result.mimeType).to.equal('video/mp4;codecs=avc1,mp4a.40.2');
      expect(result.fileName).to.match(/\.mp4$/);
      expect(progress[0], 'the encoder was loaded during the recording').to.deep.equal({ stage: 'converting', progress: 0 });
      expect(progress.at(-1)).to.deep.equal({ stage: 'converting', progress: 1 });
      expect(ms, 'stop → file (ms)').to.be.below(5000);
      const tracks = await mp4Tracks(result.blob);
      expect(tracks.map((t) => t.codec).sort()).to.deep.equal(['avc1', 'mp4a.40.2']);
      const video = tracks.find((t) => t.codec === 'avc1')!.seconds;
      const audio = tracks.find((t) => t.codec !== 'avc1')!.seconds;
      // The 1.5 s pause is in neither track: both are as long as the time recorded.
      expect(video).to.be.closeTo(elapsed, 0.4);
      expect(audio).to.be.closeTo(video, 0.3);
      const decoded = await new OfflineAudioContext(1, 1, 48_000).decodeAudioData(await result.blob.arrayBuffer());
      expect(decoded.duration).to.be.closeTo(video, 0.3);
      expect((await playable(result.blob)).width).to.equal(640);
    },
  );

  it('still offers the original when ffmpeg.wasm cannot be loaded', async () => {
    const { rec } = await joinedRecorder(`source="self" audio-codec="aac" ffmpeg-base="${SERVER}/no-such-folder/"`);
    const failed = eventWithin<RecorderErrorDetail>(rec, 'av-recorder-error', 30_000);
    // Chromium makes the AAC while recording without ffmpeg.wasm; a browser without WebCodecs' AudioDecoder converts
    // the whole file with it afterwards, as Firefox's WebM always is.
    const decoder = Object.getOwnPropertyDescriptor(window, 'AudioDecoder');
    if (decoder) Object.defineProperty(window, 'AudioDecoder', { value: undefined, configurable: true });
    try {
      await rec.start();
    } finally {
      if (decoder) Object.defineProperty(window, 'AudioDecoder', decoder);
    }
    await new Promise((r) => setTimeout(r, 1000));
    await rec.stop();
    const error = (await failed).detail;
    expect(error.code).to.equal('load-failed');
    // What the browser recorded: MP4 in Chromium, WebM in Firefox.
    expect(error.recording!.mimeType).to.match(inFirefox ? /^video\/webm/ : /^video\/mp4;codecs=avc1,opus/);
    expect(error.recording!.size).to.be.greaterThan(1000);
    await rec.updateComplete;
    expect(rec.shadowRoot!.querySelector('[role="alert"]')!.textContent).to.contain('original recording');
    expect(rec.shadowRoot!.querySelector<HTMLAnchorElement>('a[part~="download"]')!.download).to.match(inFirefox ? /\.webm$/ : /\.mp4$/);
    await expect(rec).to.be.accessible();
  });

  it('refuses an unknown source or format with a clear error, and records nothing', async () => {
    const { rec } = await joinedRecorder('source="everyone"');
    const errors: RecorderErrorDetail[] = [];
    rec.addEventListener('av-recorder-error', (e) => errors.push((e as CustomEvent).detail));
    await rec.start();
    rec.source = 'room';
    rec.setAttribute('format', 'mov');
    await rec.start();
    rec.setAttribute('format', 'mp4');
    rec.source = 'peer:nobody';
    await rec.start();
    expect(errors.map((e) => e.code)).to.deep.equal(['not-ready', 'not-ready', 'not-ready']);
    expect(errors.map((e) => e.message)).to.deep.equal([
      'unknown source "everyone": use self, room or peer:<peer id>',
      'unknown format "mov": use mp4 or webm',
      'no member nobody in the room',
    ]);
    await rec.updateComplete;
    expect(rec.state).to.equal('error');
    expect(rec.shadowRoot!.querySelector('[role="alert"]')!.textContent).to.contain('no member nobody');
    expect(rec.stream === undefined).to.equal(true);
  });

  it('snapshot() of an idle room recorder draws the grid once at the asked size', async () => {
    const { rec } = await joinedRecorder('source="room" width="320" height="180"');
    const shot = await rec.snapshot();
    expect([shot.width, shot.height]).to.deep.equal([320, 180]);
    const bitmap = await createImageBitmap(shot.blob);
    expect([bitmap.width, bitmap.height]).to.deep.equal([320, 180]);
    expect(rec.stream === undefined, 'nothing left recording').to.equal(true);
    await rec.updateComplete;
    expect(rec.shadowRoot!.querySelector('a[part~="snapshot-download"]')!.textContent).to.contain('320×180');
  });

  it('records any stream with recordStream() and never stops its tracks', async () => {
    const wrap = await fixture<AvRecorder>(html`<av-recorder format="webm"></av-recorder>`);
    const canvas = Object.assign(document.createElement('canvas'), { width: 320, height: 240 });
    const ctx = canvas.getContext('2d')!;
    const timer = setInterval(() => ctx.fillRect(Math.random() * 300, 0, 20, 20), 30);
    const stream = canvas.captureStream(30);
    try {
      const done = eventWithin<RecorderCompleteDetail>(wrap, 'av-recorder-complete', 10_000);
      await wrap.recordStream(stream);
      await new Promise((r) => setTimeout(r, 1000));
      await wrap.stop();
      const result = (await done).detail;
      expect(result.mimeType).to.match(/^video\/webm/);
      expect(result.fileName).to.match(/^recording-\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d\.webm$/);
      expect(stream.getVideoTracks()[0]!.readyState).to.equal('live');
    } finally {
      clearInterval(timer);
      stream.getTracks().forEach((t) => t.stop());
    }
  });

  it('says nothing was recorded, and offers no file, when the source never sent a frame', async () => {
    const rec = await fixture<AvRecorder>(html`<av-recorder format="webm"></av-recorder>`);
    // A canvas that is never drawn sends no frame.
    const canvas = Object.assign(document.createElement('canvas'), { width: 320, height: 240 });
    const stream = canvas.captureStream(0);
    const completes: unknown[] = [];
    rec.addEventListener('av-recorder-complete', (e) => completes.push(e));
    try {
      const failed = eventWithin<RecorderErrorDetail>(rec, 'av-recorder-error', 10_000);
      await rec.recordStream(stream);
      await new Promise((r) => setTimeout(r, 1000));
      const result = await rec.stop();
      const error = (await failed).detail;
      expect(error.code).to.equal('nothing-recorded');
      expect(error.recording).to.equal(undefined);
      expect(result?.size ?? 0).to.equal(0);
      await rec.updateComplete;
      expect(rec.state).to.equal('error');
      expect(completes).to.have.length(0);
      expect(rec.shadowRoot!.querySelector('a[part~="download"]')).to.equal(null);
      expect(rec.shadowRoot!.querySelector('[role="alert"]')!.textContent).to.contain('nothing was recorded');
    } finally {
      stream.getTracks().forEach((t) => t.stop());
    }
  });

  it('finishes the file when removed while recording', async () => {
    const { rec } = await joinedRecorder('source="room" width="320" height="240"');
    await rec.start();
    const stream = rec.stream!;
    await new Promise((r) => setTimeout(r, 800));
    const done = eventWithin<RecorderCompleteDetail>(rec, 'av-recorder-complete', 10_000);
    rec.remove();
    expect((await done).detail.size).to.be.greaterThan(0);
    expect(stream.getTracks().every((t) => t.readyState === 'ended')).to.equal(true);
  });
});
