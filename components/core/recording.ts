import { convertRecording, type Conversion } from './convert.js';
import { ConvertError } from './convert-error.js';
import { Emitter } from './emitter.js';
import { bundledCoreBase } from './ffmpeg-assets.js';
import { LiveAacTrack } from './live-aac.js';
import { MediaMix, type MixSource } from './media-mix.js';
import { pickMimeType, StreamRecorder, type RecordingResult } from './recorder.js';
import type { RoomSession } from './session.js';
import { snapshotJpeg, type Snapshot } from './snapshot.js';

/** What to record: our own camera and microphone, one member, everyone in the room, or any stream. */
export type RecordingSource = 'self' | 'room' | `peer:${string}` | MediaStream;

export interface RecordingJobOptions {
  source: RecordingSource;
  /** The room, for every source but a MediaStream. */
  session?: RoomSession;
  /** Default `mp4`. */
  format?: 'mp4' | 'webm';
  /** Audio of an MP4: `opus` (default; native) or `aac` (a remux with ffmpeg.wasm). */
  audioCodec?: 'opus' | 'aac';
  /** Use the browser's own MP4 recording when it has one (default true); false records WebM and transcodes to H.264. */
  nativeMp4?: boolean;
  /** Size of the recorded video; default 1280x720 for a room, the source's own size for one person. */
  width?: number;
  height?: number;
  /** Frames per second. Default 30. */
  fps?: number;
  maxDurationSeconds?: number;
  /** Folder with ffmpeg-core.js/.wasm, needed only for a conversion; default the bundle's copy, else `<server>/ffmpeg/`. */
  coreBase?: string;
  /** MediaRecorder chunk interval. Default 1000 ms. */
  timesliceMs?: number;
}

/** The recording plan: what MediaRecorder writes, and what ffmpeg.wasm does afterwards (if anything). */
export interface RecordingPlan {
  record: 'mp4' | 'webm';
  conversion: Conversion | undefined;
}

/** Cheapest path first: native MP4 as is, native MP4 + AAC remux, else WebM + H.264 transcode (or plain WebM). */
export function planRecording(o: Pick<RecordingJobOptions, 'format' | 'audioCodec' | 'nativeMp4'>, canRecordMp4: boolean): RecordingPlan {
  if (o.format === 'webm') return { record: 'webm', conversion: undefined };
  if (canRecordMp4 && o.nativeMp4 !== false) return { record: 'mp4', conversion: o.audioCodec === 'aac' ? 'aac' : undefined };
  return { record: 'webm', conversion: 'h264' };
}

/** How a recording gets its sound: voices mixed, the only voice as it is (the mixer could not run), or none at all. */
export type RecordingAudio = 'mixed' | 'direct' | 'none';

export interface RecordingJobEvents {
  start: { mimeType: string; plan: RecordingPlan; audio: RecordingAudio };
  pause: void;
  resume: void;
  /** Every 250 ms while recording or paused. */
  tick: { elapsed: number };
  progress: { stage: 'loading' | 'converting'; progress: number };
  /** The final file (converted when the plan asked for it). */
  complete: RecordingResult;
  /** A failure; `recording` is the unconverted file when only the conversion failed. */
  error: { code: string; message: string; recording?: RecordingResult };
}

/** What a job records: the stream, and for session sources the mix drawing it and the listeners feeding that mix. */
interface RecordingInput {
  stream: MediaStream;
  mix: MediaMix | undefined;
  off: (() => void)[];
  audio: RecordingAudio;
}

/**
 * One recording from start to file: builds the stream (a {@link MediaMix} following the room for session sources),
 * records it in timeslices, converts it with ffmpeg.wasm when the plan says so, and lets everything go afterwards.
 * Made with {@link RecordingJob.create}.
 */
export class RecordingJob extends Emitter<RecordingJobEvents> {
  readonly plan: RecordingPlan;
  /** Where the recording's sound comes from (`none` when the stream has no audio, or the mixer could not run). */
  readonly audio: RecordingAudio;
  private readonly mix: MediaMix | undefined;
  private readonly recorder: StreamRecorder;
  private readonly off: (() => void)[];
  private readonly abort = new AbortController();
  private finished: Promise<RecordingResult> | undefined;
  private readonly coreBase: string | undefined;
  /** The AAC audio made while recording (native MP4 + `aac` only). */
  private liveAac: LiveAacTrack | undefined;

  /**
   * A job ready to start. For session sources it first waits (up to 1 s) for the voice mixer to run: where it cannot
   * (no audio output device, or audio blocked until a user gesture), a recorder fed its silent track may hold every
   * frame until stop and write nothing (Firefox), so the only voice is recorded as it is, or none (`audio` says which).
   */
  static async create(options: RecordingJobOptions): Promise<RecordingJob> {
    const { source, session } = options;
    if (options.format && options.format !== 'mp4' && options.format !== 'webm')
      throw new Error(`unknown format "${String(options.format).slice(0, 20)}": use mp4 or webm`);
    if (options.audioCodec && options.audioCodec !== 'opus' && options.audioCodec !== 'aac') {
      throw new Error(`unknown audio codec "${String(options.audioCodec).slice(0, 20)}": use opus or aac`);
    }
    if (source instanceof MediaStream) {
      return new RecordingJob(options, {
        stream: source,
        mix: undefined,
        off: [],
        audio: source.getAudioTracks().length ? 'direct' : 'none',
      });
    }
    checkSource(source);
    if (!session) throw new Error('not in a room');
    if (source.startsWith('peer:') && !session.peers.has(source.slice(5))) throw new Error(`no member ${source.slice(5)} in the room`);
    const size = options.width && options.height ? { width: options.width, height: options.height } : defaultSize(source, session);
    const mix = new MediaMix({ ...size, fps: options.fps });
    const update = () => mix.setSources(sourcesOf(source, session));
    update();
    const off = (['peer-join', 'peer-leave', 'peer-update', 'stream', 'local-stream'] as const).map((type) => session.on(type, update));
    const input: RecordingInput = { stream: mix.stream, mix, off, audio: 'mixed' };
    try {
      if (!(await mix.audioRunning())) input.audio = mix.withoutMixer();
      return new RecordingJob(options, input);
    } catch (e) {
      for (const f of off) f();
      mix.destroy();
      throw e;
    }
  }

  private constructor(
    private readonly options: RecordingJobOptions,
    input: RecordingInput,
  ) {
    super();
    const { stream } = input;
    this.mix = input.mix;
    this.off = input.off;
    this.audio = input.audio;
    this.coreBase = options.coreBase || bundledCoreBase || (options.session && `${options.session.server.replace(/\/$/, '')}/ffmpeg/`);
    const hasVideo = stream.getVideoTracks().length > 0;
    const hasAudio = stream.getAudioTracks().length > 0;
    this.plan = planRecording(options, !!pickMimeType('mp4', hasVideo, hasAudio));
    if (this.plan.conversion && !this.coreBase) {
      this.destroy();
      throw new Error('converting needs ffmpeg.wasm: set ffmpeg-base, or record in the browser’s own format');
    }
    try {
      this.recorder = new StreamRecorder(stream, {
        format: this.plan.record,
        timesliceMs: options.timesliceMs ?? 1000,
        maxDurationSeconds: options.maxDurationSeconds,
        keyFrameIntervalMs: this.plan.conversion === 'aac' ? 1000 : undefined,
      });
    } catch (e) {
      this.destroy();
      throw e;
    }
    this.recorder.on('data', ({ chunk }) => this.liveAac?.push(chunk));
    this.recorder.on('stop', () => void this.stop());
    this.recorder.on('pause', () => this.emit('pause', undefined));
    this.recorder.on('resume', () => this.emit('resume', undefined));
    this.recorder.on('tick', (t) => this.emit('tick', t));
    this.recorder.on('error', ({ message }) => {
      this.emit('error', { code: 'record-failed', message });
      void this.stop();
    });
  }

  get state(): RecordingState {
    return this.recorder.state;
  }

  /** What is being recorded (the drawn grid and mixed voices for a session source). */
  get stream(): MediaStream {
    return this.recorder.stream;
  }

  /** Seconds recorded, pauses excluded. */
  get elapsed(): number {
    return this.recorder.elapsed;
  }

  start(): void {
    if (this.recorder.state !== 'inactive' || this.finished) return;
    // The audio is encoded to AAC while it records: only the last frames are left at the stop (ffmpeg.wasm only if
    // that fails).
    if (this.plan.conversion === 'aac' && LiveAacTrack.supported) this.liveAac = new LiveAacTrack();
    this.recorder.start();
    this.emit('start', { mimeType: this.recorder.mimeType, plan: this.plan, audio: this.audio });
  }

  pause(): void {
    this.recorder.pause();
  }

  resume(): void {
    this.recorder.resume();
  }

  /** A JPEG of what is being recorded right now. */
  snapshot(quality?: number): Promise<Snapshot> {
    return snapshotJpeg(this.recorder.stream, quality);
  }

  /**
   * Stops, converts when needed, and resolves with the final file (the same promise on every call). When only the
   * conversion fails it resolves with the unconverted recording and emits `error` with it.
   */
  stop(): Promise<RecordingResult> {
    this.finished ??= (async () => {
      const raw = await this.recorder.stop();
      this.releaseSources();
      if (await recordedNothing(raw)) {
        // A source that never sent a frame (a camera stopped at once, Firefox before the first frame): no file at all.
        this.liveAac?.destroy();
        this.emit('error', { code: 'nothing-recorded', message: 'nothing was recorded: the source sent no frame before the stop' });
        return raw;
      }
      let result = raw;
      if (this.plan.conversion) {
        try {
          const blob =
            (await this.finishLiveAac(raw)) ??
            (await convertRecording(raw.blob, this.plan.conversion, {
              coreBase: this.coreBase!,
              audioCodec: this.options.audioCodec,
              fps: this.options.fps ?? 30,
              duration: raw.duration,
              signal: this.abort.signal,
              onProgress: (stage, progress) => this.emit('progress', { stage, progress }),
            }));
          result = { blob, mimeType: blob.type, duration: raw.duration, size: blob.size };
        } catch (e) {
          const code = e instanceof ConvertError ? e.code : 'convert-failed';
          this.emit('error', { code, message: (e as Error).message, recording: raw });
          return raw;
        }
      }
      this.emit('complete', result);
      return result;
    })();
    return this.finished;
  }

  /**
   * The file from the AAC made while recording, or undefined when there is none or it failed on the way (then the
   * whole file is converted with ffmpeg.wasm, as without it).
   */
  private async finishLiveAac(raw: RecordingResult): Promise<Blob | undefined> {
    const live = this.liveAac;
    if (!live) return undefined;
    this.liveAac = undefined;
    this.emit('progress', live.ready ? { stage: 'converting', progress: 0 } : { stage: 'loading', progress: 0 });
    const abort = () => live.destroy();
    this.abort.signal.addEventListener('abort', abort, { once: true });
    try {
      const blob = await live.finish(raw.blob);
      this.emit('progress', { stage: 'converting', progress: 1 });
      return blob;
    } catch (e) {
      if (this.abort.signal.aborted) throw e;
      return undefined;
    } finally {
      this.abort.signal.removeEventListener('abort', abort);
    }
  }

  private releaseSources(): void {
    for (const off of this.off.splice(0)) off();
    this.mix?.destroy();
  }

  /** Drops everything, conversion included. Never stops a MediaStream the page passed in. Idempotent. */
  destroy(): void {
    this.abort.abort();
    this.liveAac?.destroy();
    this.releaseSources();
    this.recorder?.destroy();
    this.removeAllListeners();
  }
}

/**
 * A JPEG of a session source while nothing records it: our camera or a member's video at its own size, or the room
 * grid drawn once (at `width`x`height`, default 1280x720) and let go.
 */
export async function snapshotSource(
  source: 'self' | 'room' | `peer:${string}`,
  session: RoomSession,
  options: { width?: number; height?: number; quality?: number } = {},
): Promise<Snapshot> {
  checkSource(source);
  if (source !== 'room') {
    const stream = sourcesOf(source, session)[0]?.stream;
    if (!stream) throw new Error(`nothing to capture for ${source}`);
    return snapshotJpeg(stream, options.quality);
  }
  const mix = new MediaMix({
    ...defaultSize('room', session),
    ...(options.width && options.height ? { width: options.width, height: options.height } : {}),
  });
  try {
    mix.setSources(sourcesOf('room', session));
    await mix.ready();
    return await snapshotJpeg(mix.stream, options.quality);
  } finally {
    mix.destroy();
  }
}

function checkSource(source: string): void {
  if (source !== 'self' && source !== 'room' && !/^peer:./.test(source)) {
    throw new Error(`unknown source "${String(source).slice(0, 80)}": use self, room or peer:<peer id>`);
  }
}

/** The members a session source shows: our own media unless we only watch, then everyone who sends. */
export function sourcesOf(source: 'self' | 'room' | `peer:${string}`, session: RoomSession): MixSource[] {
  const self: MixSource = { id: session.peerId ?? 'self', name: session.options.name ?? '', stream: session.localStream };
  if (source === 'self') return [self];
  if (source.startsWith('peer:')) {
    const peer = session.peers.get(source.slice(5));
    return peer ? [{ id: peer.peerId, name: peer.name, stream: peer.stream }] : [];
  }
  const others = [...session.peers.values()]
    .filter((p) => p.role !== 'viewer')
    .map((p) => ({ id: p.peerId, name: p.name, stream: p.stream }));
  return session.options.role === 'viewer' ? others : [self, ...others];
}

function defaultSize(source: 'self' | 'room' | `peer:${string}`, session: RoomSession): { width: number; height: number } {
  if (source !== 'room') {
    const settings = sourcesOf(source, session)[0]?.stream?.getVideoTracks()[0]?.getSettings();
    if (settings?.width && settings.height) return { width: settings.width, height: settings.height };
    return { width: 640, height: 480 };
  }
  return { width: 1280, height: 720 };
}

/**
 * Whether a recording holds no media: Chromium writes 0 bytes for a source that never sent a frame, Firefox a WebM
 * header without a single Cluster (ID 1F 43 B6 75), ~200 bytes.
 */
async function recordedNothing(raw: RecordingResult): Promise<boolean> {
  if (!raw.size) return true;
  if (!raw.mimeType.includes('webm') || raw.size > 64 * 1024) return false;
  const b = new Uint8Array(await raw.blob.arrayBuffer());
  for (let i = 0; i + 3 < b.length; i++) if (b[i] === 0x1f && b[i + 1] === 0x43 && b[i + 2] === 0xb6 && b[i + 3] === 0x75) return false;
  return true;
}
