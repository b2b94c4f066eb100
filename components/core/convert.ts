import type { FFmpeg } from '@ffmpeg/ffmpeg';
import { bundledWorkerURL } from './ffmpeg-assets.js';

/** What a conversion turns a recording into. */
export type Conversion =
  /** Native MP4 (H.264 + Opus) → same video, AAC audio. */
  | 'aac'
  /** WebM (VP8/VP9 + Opus) → MP4 with H.264 and the asked audio codec. */
  | 'h264';

export interface ConvertOptions {
  /** Folder URL holding ffmpeg-core.js and ffmpeg-core.wasm (the single-thread ESM core). */
  coreBase: string;
  /** `aac` or `opus` audio in the output (`h264` only; `aac` conversions always give AAC). */
  audioCodec?: 'aac' | 'opus';
  /** Output frame rate of a transcode. MediaRecorder's timestamps make ffmpeg write ~1000 fps without one. */
  fps?: number;
  /** Seconds in the recording, to turn ffmpeg's clock into a fraction. */
  duration?: number;
  onProgress?: (stage: 'loading' | 'converting', progress: number) => void;
  signal?: AbortSignal;
}

/** Why a conversion failed: the core could not be loaded, or ffmpeg refused the file. */
export class ConvertError extends Error {
  constructor(
    readonly code: 'load-failed' | 'convert-failed',
    message: string,
  ) {
    super(message);
    this.name = 'ConvertError';
  }
}

/**
 * Loads ffmpeg.wasm's single-thread core from `coreBase` in a worker of its own (the bundle's inlined worker if any).
 * Aborting `signal` terminates the worker, loading or not.
 */
export async function loadFfmpeg(coreBase: string, signal?: AbortSignal): Promise<FFmpeg> {
  const { FFmpeg } = await import('@ffmpeg/ffmpeg');
  const ffmpeg = new FFmpeg();
  if (signal?.aborted) throw new ConvertError('convert-failed', 'conversion cancelled');
  signal?.addEventListener('abort', () => ffmpeg.terminate(), { once: true });
  const base = coreBase.endsWith('/') ? coreBase : `${coreBase}/`;
  const worker = bundledWorkerURL();
  const coreURL = new URL('ffmpeg-core.js', base).href;
  const wasmURL = new URL('ffmpeg-core.wasm', base).href;
  try {
    // Asked first: a core that is not there makes Firefox's worker hang instead of failing the load.
    for (const url of [coreURL, wasmURL]) {
      const head = await fetch(url, { method: 'HEAD', ...(signal ? { signal } : {}) });
      if (!head.ok) throw new Error(`${url} answered ${head.status}`);
    }
    await ffmpeg.load({ coreURL, wasmURL, ...(worker ? { classWorkerURL: worker } : {}) });
  } catch (e) {
    ffmpeg.terminate();
    throw new ConvertError('load-failed', `could not load ffmpeg.wasm from ${base}: ${(e as Error)?.message ?? e}`);
  }
  return ffmpeg;
}

/** Runs ffmpeg and keeps the last lines it logged, for the error message. */
async function run(ffmpeg: FFmpeg, args: string[]): Promise<void> {
  const logs: string[] = [];
  const log = ({ message }: { message: string }) => logs.push(message) > 40 && logs.shift();
  ffmpeg.on('log', log);
  try {
    const code = await ffmpeg.exec(['-hide_banner', '-nostats', ...args]);
    if (code !== 0) throw new ConvertError('convert-failed', `ffmpeg exited with ${code}: ${logs.slice(-3).join(' | ')}`);
  } finally {
    ffmpeg.off('log', log);
  }
}

/**
 * Converts a recording with ffmpeg.wasm in a worker, loaded now and terminated afterwards (its ~30 MiB wasm and
 * buffers are released at once). The input is mounted read-only (WORKERFS), not copied into wasm memory; the output
 * is read back once. Rough limit: the output must fit in the wasm heap (2 GiB), so recordings of an hour or more
 * at high bitrates should stay in their native format.
 */
export async function convertRecording(input: Blob, conversion: Conversion, options: ConvertOptions): Promise<Blob> {
  const report = options.onProgress ?? (() => {});
  let ffmpeg: FFmpeg | undefined;
  const aac = conversion === 'aac' || options.audioCodec === 'aac';
  try {
    report('loading', 0);
    ffmpeg = await loadFfmpeg(options.coreBase, options.signal);
    ffmpeg.on('progress', ({ time }) => {
      if (options.duration && time > 0) report('converting', Math.min(1, time / 1e6 / options.duration));
    });
    report('converting', 0);
    const inName = input.type.includes('webm') ? 'input.webm' : 'input.mp4';
    await mountInput(ffmpeg, input, inName);
    const audio = aac ? ['-c:a', 'aac', '-b:a', '128k'] : ['-c:a', 'copy'];
    const video =
      conversion === 'aac'
        ? ['-c:v', 'copy']
        : ['-r', String(options.fps ?? 30), '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '23', '-pix_fmt', 'yuv420p'];
    await run(ffmpeg, ['-i', `/in/${inName}`, ...video, ...audio, '-movflags', '+faststart', 'output.mp4']);
    // The input's type names its codecs (MediaRecorder's): one without an audio codec recorded no sound.
    const hasAudio = !/codecs=/.test(input.type) || /opus|vorbis|mp4a|aac/.test(input.type);
    const codecs = hasAudio ? `avc1,${aac ? 'mp4a.40.2' : 'opus'}` : 'avc1';
    const blob = await readOutput(ffmpeg, 'output.mp4', `video/mp4;codecs=${codecs}`);
    report('converting', 1);
    return blob;
  } catch (e) {
    if (options.signal?.aborted) throw new ConvertError('convert-failed', 'conversion cancelled');
    throw e instanceof ConvertError ? e : new ConvertError('convert-failed', String((e as Error)?.message ?? e));
  } finally {
    ffmpeg?.terminate();
  }
}

/** Mounts `input` read-only at `/in/<name>` (WORKERFS: the worker reads the Blob, nothing is copied into wasm memory). */
async function mountInput(ffmpeg: FFmpeg, input: Blob, name: string): Promise<void> {
  const { FFFSType } = await import('@ffmpeg/ffmpeg');
  await ffmpeg.createDir('/in');
  await ffmpeg.mount(FFFSType.WORKERFS, { blobs: [{ name, data: input }] }, '/in');
}

async function readOutput(ffmpeg: FFmpeg, name: string, type: string): Promise<Blob> {
  const data = await ffmpeg.readFile(name);
  await ffmpeg.deleteFile(name);
  if (typeof data === 'string' || !data.length) throw new ConvertError('convert-failed', 'ffmpeg wrote no output');
  return new Blob([data as Uint8Array<ArrayBuffer>], { type });
}

/** Samples in one AAC frame; every segment boundary lies on this grid. */
const AAC_FRAME = 1024;

export interface AacSegmentOptions {
  channels: number;
  sampleRate: number;
  /** Default 128 kbit/s, as the whole-file conversion. */
  bitrate?: number;
  /** Encode once this many seconds are waiting. Default 1 s. */
  segmentSeconds?: number;
  /**
   * Frames encoded before a segment and thrown away (default 16, 0.34 s), so that the encoder's state at the join
   * (window shapes, psychoacoustic history, rate control) is close to the one it had.
   */
  prerollFrames?: number;
  /** Frames fed after a segment (the MDCT window and the encoder's look-ahead reach past the last frame kept). */
  lookaheadFrames?: number;
}

/**
 * Encodes a PCM stream to AAC-LC (an ADTS stream) with ffmpeg.wasm a segment at a time while it arrives, so that only
 * the tail is left when it ends. ffmpeg's AAC encoder is not a streaming API (one `exec` per input), and AAC frames
 * overlap (each 2048-sample MDCT window spans two 1024-sample blocks), so cutting the PCM into independent files
 * would leave a glitch at every join (a priming frame, a window with no partner). Instead, on a grid of 1024-sample
 * frames, global frame g covers input samples [(g-1)·1024, (g+1)·1024); the segment [a, b) is encoded from
 * `prerollFrames` frames before `a` to `lookaheadFrames` frames after `b`, and only frames a/1024+1 … b/1024 are
 * kept. Each kept frame is then one the encoder made from the true signal around it, and consecutive frames from two
 * segments overlap-add like frames of one run. Frame 0 (the encoder's priming) comes from the first segment.
 */
export class AacSegmentEncoder {
  /** Samples (per channel) received so far. */
  received = 0;
  private readonly segment: number;
  private readonly preroll: number;
  private readonly lookahead: number;
  /** Interleaved PCM from `kept` on (what later segments still need). */
  private pcm: Float32Array[] = [];
  private kept = 0;
  /** Start of the segment to encode next (a multiple of 1024). */
  private next = 0;
  private frames: Uint8Array[] = [];
  private work: Promise<void> = Promise.resolve();
  private busy = false;
  private ending = false;
  private failure: ConvertError | undefined;

  constructor(
    private readonly ffmpeg: FFmpeg,
    private readonly options: AacSegmentOptions,
  ) {
    const frames = (s: number) => Math.max(1, Math.round((s * options.sampleRate) / AAC_FRAME)) * AAC_FRAME;
    this.segment = frames(options.segmentSeconds ?? 1);
    this.preroll = (options.prerollFrames ?? 16) * AAC_FRAME;
    this.lookahead = (options.lookaheadFrames ?? 3) * AAC_FRAME;
  }

  /** Appends interleaved samples (`channels` values per sample) and starts a segment when enough are waiting. */
  push(interleaved: Float32Array): void {
    this.pcm.push(interleaved);
    this.received += interleaved.length / this.options.channels;
    this.schedule();
  }

  /** Resolves once no segment is being encoded. */
  async idle(): Promise<void> {
    while (this.busy) await this.work;
  }

  /** No new segment starts from now on: what arrives after is left for {@link finish}, in one piece. */
  end(): void {
    this.ending = true;
  }

  /** Encodes what is left and resolves with the whole ADTS stream. */
  async finish(): Promise<Uint8Array> {
    this.end();
    while (this.busy) await this.work;
    this.work = this.encode(this.received, true);
    await this.work;
    if (this.failure) throw this.failure;
    const out = new Uint8Array(this.frames.reduce((n, f) => n + f.length, 0));
    let at = 0;
    for (const f of this.frames) {
      out.set(f, at);
      at += f.length;
    }
    return out;
  }

  private schedule(): void {
    if (this.busy || this.ending || this.failure) return;
    const end = Math.floor((this.received - this.lookahead) / AAC_FRAME) * AAC_FRAME;
    if (end - this.next < this.segment) return;
    this.busy = true;
    this.work = this.encode(end, false).finally(() => {
      this.busy = false;
      this.schedule();
    });
  }

  /** Encodes [next, end) (to the end of the input when `last`) and keeps its frames. */
  private async encode(end: number, last: boolean): Promise<void> {
    if (this.failure || (last ? this.received === 0 : end <= this.next)) return;
    const { channels, sampleRate } = this.options;
    const a = this.next;
    const from = Math.max(0, a - this.preroll);
    const to = last ? this.received : end + this.lookahead;
    const input = this.slice(from, to);
    this.next = end;
    this.drop(Math.max(0, end - this.preroll));
    try {
      await this.ffmpeg.writeFile('segment.pcm', new Uint8Array(input.buffer));
      await run(this.ffmpeg, [
        ...['-f', 'f32le', '-ar', String(sampleRate), '-ac', String(channels), '-i', 'segment.pcm'],
        ...['-c:a', 'aac', '-b:a', String(this.options.bitrate ?? 128_000), '-f', 'adts', '-y', 'segment.aac'],
      ]);
      const adts = await this.ffmpeg.readFile('segment.aac');
      await this.ffmpeg.deleteFile('segment.pcm');
      await this.ffmpeg.deleteFile('segment.aac');
      if (typeof adts === 'string') throw new ConvertError('convert-failed', 'ffmpeg wrote text');
      const frames = adtsFrames(adts);
      const first = a === 0 ? 0 : (a - from) / AAC_FRAME + 1;
      const stop = last ? frames.length : (end - from) / AAC_FRAME + 1;
      if (frames.length < stop) throw new ConvertError('convert-failed', `ffmpeg made ${frames.length} AAC frames, ${stop} expected`);
      this.frames.push(...frames.slice(first, stop));
    } catch (e) {
      this.failure = e instanceof ConvertError ? e : new ConvertError('convert-failed', String((e as Error)?.message ?? e));
    }
  }

  /** Interleaved samples [from, to), from what is kept. */
  private slice(from: number, to: number): Float32Array {
    const ch = this.options.channels;
    const out = new Float32Array((to - from) * ch);
    let at = this.kept;
    for (const piece of this.pcm) {
      const n = piece.length / ch;
      const lo = Math.max(from, at);
      const hi = Math.min(to, at + n);
      if (hi > lo) out.set(piece.subarray((lo - at) * ch, (hi - at) * ch), (lo - from) * ch);
      at += n;
    }
    return out;
  }

  /** Lets go of the samples before `sample` (whole pieces only). */
  private drop(sample: number): void {
    const ch = this.options.channels;
    while (this.pcm.length && this.kept + this.pcm[0]!.length / ch <= sample) this.kept += this.pcm.shift()!.length / ch;
  }
}

/** The frames of an ADTS stream, each with its header. */
function adtsFrames(bytes: Uint8Array): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (let at = 0; at + 7 <= bytes.length;) {
    if (bytes[at] !== 0xff || (bytes[at + 1]! & 0xf0) !== 0xf0) throw new ConvertError('convert-failed', 'not an ADTS stream');
    const length = ((bytes[at + 3]! & 0x3) << 11) | (bytes[at + 4]! << 3) | (bytes[at + 5]! >> 5);
    if (length < 7 || at + length > bytes.length) throw new ConvertError('convert-failed', 'a truncated ADTS frame');
    frames.push(bytes.slice(at, at + length));
    at += length;
  }
  return frames;
}

/**
 * The final file of a live AAC recording: the recording's H.264 samples copied as they are, and the ADTS stream as its
 * audio, starting at `audioStart` seconds (where the first sample of the PCM that was encoded belongs). The encoder's
 * priming frame goes just before it, so that the first real sample plays at `audioStart`.
 */
export async function muxAac(ffmpeg: FFmpeg, video: Blob, adts: Uint8Array, audioStart: number, sampleRate: number): Promise<Blob> {
  // No unmount afterwards: the worker is terminated right after (an unmount took 0.1–1 s under load).
  await mountInput(ffmpeg, video, 'input.mp4');
  await ffmpeg.writeFile('audio.aac', adts);
  const offset = (audioStart - AAC_FRAME / sampleRate).toFixed(6);
  await run(ffmpeg, [
    ...['-i', '/in/input.mp4', '-itsoffset', offset, '-f', 'aac', '-i', 'audio.aac'],
    ...['-map', '0:v:0', '-map', '1:a:0', '-c', 'copy', '-movflags', '+faststart', '-y', 'output.mp4'],
  ]);
  await ffmpeg.deleteFile('audio.aac');
  return readOutput(ffmpeg, 'output.mp4', 'video/mp4;codecs=avc1,mp4a.40.2');
}
