import { Emitter } from './emitter.js';

/** A finished recording. */
export interface RecordingResult {
  blob: Blob;
  mimeType: string;
  /** Seconds recorded (pauses excluded). */
  duration: number;
  size: number;
}

export interface StreamRecorderOptions {
  /** `mp4` (H.264 + Opus where the browser records MP4 natively) or `webm`. Default `mp4`. */
  format?: 'mp4' | 'webm';
  /** Chunk interval: data leaves MediaRecorder every this many ms, so long recordings are not one buffer. */
  timesliceMs?: number;
  /** Stop by itself after this many seconds (pauses excluded). */
  maxDurationSeconds?: number;
  videoBitsPerSecond?: number;
  audioBitsPerSecond?: number;
  /** A video key frame at least this often (ms). Chromium's MP4 hands data over a key frame at a time. */
  keyFrameIntervalMs?: number;
}

export interface StreamRecorderEvents {
  start: void;
  pause: void;
  resume: void;
  /** A piece of the recording as MediaRecorder handed it over (`chunk`), and the bytes recorded so far. */
  data: { size: number; chunk: Blob };
  /** Every 250 ms while recording or paused: seconds recorded (for a clock on screen). */
  tick: { elapsed: number };
  stop: RecordingResult;
  error: { message: string };
}

/** How long a WebM recording is paused before it stops, so the encoder can write out the frames it still holds. */
const WEBM_DRAIN_MS = 1500;
/** How long after stop() a recorder may take to hand over its last data before we finish without it. */
const STOP_TIMEOUT_MS = 5000;
const IS_FIREFOX = typeof navigator !== 'undefined' && navigator.userAgent.includes('Firefox/');

/** Candidate MIME types, best first; MP4 with AAC is never native in Chromium (it needs a remux). */
const CANDIDATES = {
  mp4: {
    av: ['video/mp4;codecs=avc1,opus', 'video/mp4;codecs=avc1.42E01E,opus', 'video/mp4'],
    v: ['video/mp4;codecs=avc1', 'video/mp4'],
    a: ['audio/mp4;codecs=opus', 'audio/mp4'],
  },
  webm: {
    av: ['video/webm;codecs=vp8,opus', 'video/webm;codecs=vp9,opus', 'video/webm'],
    v: ['video/webm;codecs=vp8', 'video/webm'],
    a: ['audio/webm;codecs=opus', 'audio/webm'],
  },
};

/** The first MIME type this browser records for `format` and the stream's kinds of tracks, if any. */
export function pickMimeType(format: 'mp4' | 'webm', hasVideo: boolean, hasAudio: boolean): string | undefined {
  const list = CANDIDATES[format][hasVideo && hasAudio ? 'av' : hasVideo ? 'v' : 'a'];
  return list.find((t) => typeof MediaRecorder !== 'undefined' && MediaRecorder.isTypeSupported(t));
}

/**
 * Records a MediaStream with MediaRecorder in timeslices: start, pause, resume, stop, elapsed time, a maximum
 * duration. Part of the recorder pipeline (the `<av-recorder>` element and ffmpeg.wasm conversions build on it).
 */
export class StreamRecorder extends Emitter<StreamRecorderEvents> {
  readonly mimeType: string;
  private readonly recorder: MediaRecorder;
  private readonly chunks: Blob[] = [];
  private size = 0;
  private startedAt = 0;
  private pausedAt = 0;
  private pausedTotal = 0;
  private clock: ReturnType<typeof setInterval> | undefined;
  private stopped: Promise<RecordingResult> | undefined;

  constructor(
    readonly stream: MediaStream,
    private readonly options: StreamRecorderOptions = {},
  ) {
    super();
    const format = options.format ?? 'mp4';
    const mimeType = pickMimeType(format, stream.getVideoTracks().length > 0, stream.getAudioTracks().length > 0);
    if (!mimeType) throw new Error(`this browser cannot record ${format} from this stream`);
    this.mimeType = mimeType;
    this.recorder = new MediaRecorder(stream, {
      mimeType,
      ...(options.videoBitsPerSecond ? { videoBitsPerSecond: options.videoBitsPerSecond } : {}),
      ...(options.audioBitsPerSecond ? { audioBitsPerSecond: options.audioBitsPerSecond } : {}),
      ...(options.keyFrameIntervalMs ? { videoKeyFrameIntervalDuration: options.keyFrameIntervalMs } : {}),
    });
    this.recorder.ondataavailable = (e) => {
      if (!e.data.size) return;
      this.chunks.push(e.data);
      this.size += e.data.size;
      this.emit('data', { size: this.size, chunk: e.data });
    };
    this.recorder.onerror = (e) =>
      this.emit('error', { message: String((e as unknown as { error?: Error }).error?.message ?? 'recording failed') });
  }

  get state(): RecordingState {
    return this.recorder.state;
  }

  /** Seconds recorded so far, pauses excluded. */
  get elapsed(): number {
    if (!this.startedAt) return 0;
    const now = this.pausedAt || performance.now();
    return (now - this.startedAt - this.pausedTotal) / 1000;
  }

  start(): void {
    if (this.recorder.state !== 'inactive' || this.stopped) return;
    this.recorder.start(this.options.timesliceMs ?? 1000);
    this.startedAt = performance.now();
    const max = this.options.maxDurationSeconds;
    this.clock = setInterval(() => {
      if (max && this.elapsed >= max) void this.stop();
      else this.emit('tick', { elapsed: this.elapsed });
    }, 250);
    this.emit('start', undefined);
  }

  pause(): void {
    if (this.recorder.state !== 'recording') return;
    this.recorder.pause();
    this.pausedAt = performance.now();
    this.emit('pause', undefined);
  }

  resume(): void {
    if (this.recorder.state !== 'paused') return;
    this.recorder.resume();
    this.pausedTotal += performance.now() - this.pausedAt;
    this.pausedAt = 0;
    this.emit('resume', undefined);
  }

  /** Stops and resolves with the recording (the same promise on every call). */
  stop(): Promise<RecordingResult> {
    this.stopped ??= new Promise<RecordingResult>((resolve) => {
      clearInterval(this.clock);
      const duration = this.elapsed;
      const finish = () => {
        const blob = new Blob(this.chunks, { type: this.mimeType });
        const result = { blob, mimeType: this.mimeType, duration, size: blob.size };
        this.emit('stop', result);
        resolve(result);
      };
      if (this.recorder.state === 'inactive') return finish();
      let finished = false;
      const finishOnce = () => {
        if (finished) return;
        finished = true;
        clearTimeout(stuck);
        finish();
      };
      this.recorder.addEventListener('stop', finishOnce, { once: true });
      // A recorder that never fires 'stop' must not hold the file back for ever: finish with what arrived.
      const stuck = setTimeout(finishOnce, WEBM_DRAIN_MS + STOP_TIMEOUT_MS);
      // Chromium's VP8/VP9 encoder runs behind and drops what it still holds at stop() (the last ~0.8 s of video):
      // pause (nothing new goes in, nothing is counted), let it drain, then stop. Its MP4 (H.264) loses nothing.
      // Firefox flushes its encoder on stop(); pausing it first could leave a short recording without a frame.
      if (this.mimeType.includes('webm') && this.recorder.state === 'recording' && !IS_FIREFOX) {
        this.recorder.pause();
        setTimeout(() => this.recorder.stop(), WEBM_DRAIN_MS);
      } else this.recorder.stop();
    });
    return this.stopped;
  }

  /** Stops without waiting and drops what was recorded. Idempotent; never stops the stream's tracks (not ours). */
  destroy(): void {
    clearInterval(this.clock);
    if (this.recorder.state !== 'inactive') this.recorder.stop();
    this.chunks.length = 0;
    this.removeAllListeners();
  }
}
