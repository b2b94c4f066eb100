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
 * Converts a recording with ffmpeg.wasm in a worker, loaded now and terminated afterwards (its ~30 MiB wasm and
 * buffers are released at once). The input is mounted read-only (WORKERFS), not copied into wasm memory; the output
 * is read back once. Rough limit: the output must fit in the wasm heap (2 GiB), so recordings of an hour or more
 * at high bitrates should stay in their native format.
 */
export async function convertRecording(input: Blob, conversion: Conversion, options: ConvertOptions): Promise<Blob> {
  const { FFmpeg, FFFSType } = await import('@ffmpeg/ffmpeg');
  const ffmpeg: FFmpeg = new FFmpeg();
  const report = options.onProgress ?? (() => {});
  const abort = () => ffmpeg.terminate();
  options.signal?.addEventListener('abort', abort, { once: true });
  const logs: string[] = [];
  const aac = conversion === 'aac' || options.audioCodec === 'aac';
  try {
    report('loading', 0);
    const base = options.coreBase.endsWith('/') ? options.coreBase : `${options.coreBase}/`;
    const worker = bundledWorkerURL();
    try {
      await ffmpeg.load({
        coreURL: new URL('ffmpeg-core.js', base).href,
        wasmURL: new URL('ffmpeg-core.wasm', base).href,
        ...(worker ? { classWorkerURL: worker } : {}),
      });
    } catch (e) {
      throw new ConvertError('load-failed', `could not load ffmpeg.wasm from ${base}: ${(e as Error)?.message ?? e}`);
    }
    ffmpeg.on('log', ({ message }) => logs.push(message) > 40 && logs.shift());
    ffmpeg.on('progress', ({ time }) => {
      if (options.duration && time > 0) report('converting', Math.min(1, time / 1e6 / options.duration));
    });
    report('converting', 0);
    const inName = input.type.includes('webm') ? 'input.webm' : 'input.mp4';
    await ffmpeg.createDir('/in');
    await ffmpeg.mount(FFFSType.WORKERFS, { blobs: [{ name: inName, data: input }] }, '/in');
    const audio = aac ? ['-c:a', 'aac', '-b:a', '128k'] : ['-c:a', 'copy'];
    const video =
      conversion === 'aac'
        ? ['-c:v', 'copy']
        : ['-r', String(options.fps ?? 30), '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '23', '-pix_fmt', 'yuv420p'];
    const code = await ffmpeg.exec(['-hide_banner', '-i', `/in/${inName}`, ...video, ...audio, '-movflags', '+faststart', 'output.mp4']);
    if (code !== 0) throw new ConvertError('convert-failed', `ffmpeg exited with ${code}: ${logs.slice(-3).join(' | ')}`);
    const data = await ffmpeg.readFile('output.mp4');
    if (typeof data === 'string' || !data.length) throw new ConvertError('convert-failed', 'ffmpeg wrote no output');
    report('converting', 1);
    return new Blob([data as Uint8Array<ArrayBuffer>], { type: `video/mp4;codecs=avc1,${aac ? 'mp4a.40.2' : 'opus'}` });
  } catch (e) {
    if (options.signal?.aborted) throw new ConvertError('convert-failed', 'conversion cancelled');
    throw e instanceof ConvertError ? e : new ConvertError('convert-failed', String((e as Error)?.message ?? e));
  } finally {
    options.signal?.removeEventListener('abort', abort);
    ffmpeg.terminate();
  }
}
