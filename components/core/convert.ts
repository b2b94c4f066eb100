import type { FFmpeg } from '@ffmpeg/ffmpeg';
import { ConvertError } from './convert-error.js';
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

/**
 * Loads ffmpeg.wasm's single-thread core from `coreBase` in a worker of its own (the bundle's inlined worker if any).
 * Aborting `signal` terminates the worker, loading or not.
 */
async function loadFfmpeg(coreBase: string, signal?: AbortSignal): Promise<FFmpeg> {
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
