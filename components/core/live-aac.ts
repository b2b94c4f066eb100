import type * as Mediabunny from 'mediabunny';
import type { AacWorkerReply, AacWorkerRequest } from './aac-worker.js';
import { ConvertError } from './convert-error.js';
import { FragmentedMp4AudioReader, type Mp4AudioTrack } from './mp4-fragments.js';

type Media = typeof Mediabunny;

/** AAC-LC at the bitrate of the whole-file conversion. */
const AAC_BITRATE = 128_000;

let media: Promise<Media> | undefined;
/**
 * mediabunny (MP4 demuxing and muxing), with its AAC encoder extension registered when WebCodecs cannot encode AAC
 * (Chromium on Linux has none): FFmpeg's AAC encoder built to wasm, in a worker, fed frame by frame.
 */
function loadMedia(): Promise<Media> {
  media ??= (async () => {
    const mb = await import('mediabunny');
    const config = { numberOfChannels: 2, sampleRate: 48_000, bitrate: AAC_BITRATE };
    if (!(await mb.canEncodeAudio('aac', config))) (await import('@mediabunny/aac-encoder')).registerAacEncoder();
    return mb;
  })();
  media.catch(() => (media = undefined));
  return media;
}

/**
 * The AAC audio of a native MP4 recording (H.264 + Opus), made while it records, in a worker of its own when the build
 * inlines one (the script-tag bundle does), else on this thread. See {@link AacRecordingEncoder}.
 */
export class LiveAacTrack {
  private worker: Worker | undefined;
  private local: AacRecordingEncoder | undefined;
  /** The worker or the local encoder, once there is one; pieces wait for it in order. */
  private readonly started: Promise<void>;
  private finishing: ((reply: AacWorkerReply) => void) | undefined;
  private loaded = false;
  private destroyed = false;

  constructor() {
    this.started = import('./aac-worker-source.js').then(({ aacWorkerSource }) => {
      // Destroyed while the chunk loaded: nothing is started.
      if (this.destroyed) return;
      if (aacWorkerSource && typeof Worker !== 'undefined') {
        const url = URL.createObjectURL(new Blob([aacWorkerSource], { type: 'text/javascript' }));
        this.worker = new Worker(url, { type: 'module', name: 'av-aac' });
        URL.revokeObjectURL(url);
        this.worker.onmessage = ({ data }: MessageEvent<AacWorkerReply>) => {
          if (data.type === 'ready') this.loaded = true;
          else this.finishing?.(data);
        };
        this.worker.onerror = (e) => this.finishing?.({ type: 'failed', message: e.message || 'the AAC worker failed' });
      } else {
        this.local = new AacRecordingEncoder();
        this.local.loaded.then(() => (this.loaded = true)).catch(() => {});
      }
    });
  }

  /** Whether this browser can decode the recording's audio as it comes (WebCodecs). */
  static get supported(): boolean {
    return typeof AudioDecoder !== 'undefined' && typeof EncodedAudioChunk !== 'undefined';
  }

  /** True once the muxer and the encoder are loaded. */
  get ready(): boolean {
    return this.loaded;
  }

  /** The next piece of the recording, as MediaRecorder handed it over. */
  push(piece: Blob): void {
    void this.started.then(() => (this.worker ? this.post({ type: 'piece', piece }) : this.local?.push(piece)));
  }

  /** The final file (see {@link AacRecordingEncoder.finish}); rejects with a `convert-failed` {@link ConvertError}. */
  async finish(recording: Blob): Promise<Blob> {
    try {
      await this.started;
      if (this.destroyed) throw new ConvertError('convert-failed', 'conversion cancelled');
      if (this.local) return await this.local.finish(recording);
      const reply = await new Promise<AacWorkerReply>((resolve) => {
        this.finishing = resolve;
        this.post({ type: 'finish', recording });
      });
      if (reply.type !== 'done') throw new ConvertError('convert-failed', reply.type === 'failed' ? reply.message : 'no file');
      return reply.blob;
    } catch (e) {
      throw e instanceof ConvertError ? e : new ConvertError('convert-failed', String((e as Error)?.message ?? e));
    } finally {
      this.destroy();
    }
  }

  /** Stops making the AAC: the worker (and the encoder's own worker with it) ends. Idempotent. */
  destroy(): void {
    this.destroyed = true;
    this.finishing?.({ type: 'failed', message: 'conversion cancelled' });
    this.finishing = undefined;
    this.worker?.terminate();
    this.local?.destroy();
  }

  private post(message: AacWorkerRequest): void {
    this.worker?.postMessage(message);
  }
}

/**
 * Makes the AAC of a native MP4 recording (H.264 + Opus) while it records. Each piece MediaRecorder hands over is read
 * as it comes (the Opus samples of its fragmented MP4), decoded with WebCodecs and encoded to AAC by a streaming
 * encoder (WebCodecs', or FFmpeg's in a worker), so at the stop only the last frames are left to encode. The file is
 * then the recording's H.264 samples, untouched, and the AAC frames, muxed in JS (mediabunny) into an MP4 with its
 * index at the front. The audio is the recording's own Opus track decoded sample after sample, as a whole-file
 * conversion would decode it, so it keeps the recording's start, pauses and sync. Nothing is cloned: there is no
 * track of ours to stop. Runs on a page or in a worker.
 */
export class AacRecordingEncoder {
  private readonly reader = new FragmentedMp4AudioReader();
  private readonly media = loadMedia();
  private decoder: AudioDecoder | undefined;
  private track: Mp4AudioTrack | undefined;
  /** The AAC, muxed alone into an MP4 in memory as it is encoded. */
  private audio:
    { output: Mediabunny.Output<Mediabunny.Mp4OutputFormat, Mediabunny.BufferTarget>; source: Mediabunny.AudioSampleSource } | undefined;
  /** Pieces are read one after another, in order. */
  private reading: Promise<void> = Promise.resolve();
  /** Samples go to the encoder one after another, in order (it pushes back when it lags). */
  private encoding: Promise<void> = Promise.resolve();
  /** Decoded samples still to drop (Opus pre-skip). */
  private skip = 0;
  /** Seconds at which the first kept sample plays. */
  private audioStart: number | undefined;
  /** Samples (per channel) handed to the encoder. */
  private encoded = 0;
  private failure: ConvertError | undefined;
  private destroyed = false;
  /** Settles once the muxer and the encoder are loaded (or could not be). */
  readonly loaded: Promise<unknown>;

  constructor() {
    this.loaded = this.media;
    this.media.catch((e: unknown) => this.fail(e));
  }

  /** The next piece of the recording, as MediaRecorder handed it over. */
  push(piece: Blob): void {
    this.reading = this.reading.then(async () => {
      if (this.failure || this.destroyed) return;
      try {
        const samples = this.reader.push(new Uint8Array(await piece.arrayBuffer()));
        if (!this.decoder && this.reader.track) await this.startDecoding(this.reader.track);
        const track = this.track!;
        for (const s of samples) {
          // The pre-skip samples take their place in time: the first kept one plays after them.
          this.audioStart ??= s.time / track.timescale + track.preSkip / 48_000;
          const timestamp = Math.round((s.time / track.timescale) * 1e6);
          this.decoder!.decode(new EncodedAudioChunk({ type: 'key', timestamp, data: s.data }));
        }
      } catch (e) {
        this.fail(e);
      }
    });
  }

  private async startDecoding(track: Mp4AudioTrack): Promise<void> {
    if (track.codec !== 'Opus') throw new ConvertError('convert-failed', `cannot decode ${track.codec} audio as it records`);
    const mb = await this.media;
    if (this.destroyed) return;
    this.track = track;
    this.skip = track.preSkip;
    const output = new mb.Output({ format: new mb.Mp4OutputFormat(), target: new mb.BufferTarget() });
    const source = new mb.AudioSampleSource({ codec: 'aac', bitrate: AAC_BITRATE });
    output.addAudioTrack(source);
    this.audio = { output, source };
    await output.start();
    this.decoder = new AudioDecoder({
      output: (data) => {
        try {
          if (!this.failure) this.takeSamples(data, mb);
        } finally {
          data.close();
        }
      },
      error: (e) => this.fail(e),
    });
    // Opus always decodes at 48 kHz; the rate in its header is only the one it was captured at.
    this.decoder.configure({ codec: 'opus', sampleRate: 48_000, numberOfChannels: track.channels });
  }

  /** Interleaved float samples of `data`, less what is left of the pre-skip, to the encoder (one after another in time). */
  private takeSamples(data: AudioData, mb: Media): void {
    const frames = data.numberOfFrames;
    const channels = this.track!.channels;
    if (data.numberOfChannels !== channels) throw new ConvertError('convert-failed', 'the recording changed its number of channels');
    let pcm = new Float32Array(frames * channels);
    if (data.format === 'f32') data.copyTo(pcm, { planeIndex: 0 });
    else {
      const plane = new Float32Array(frames);
      for (let c = 0; c < channels; c++) {
        data.copyTo(plane, { planeIndex: c, format: 'f32-planar' });
        for (let i = 0; i < frames; i++) pcm[i * channels + c] = plane[i]!;
      }
    }
    if (this.skip > 0) {
      const n = Math.min(this.skip, frames);
      this.skip -= n;
      pcm = pcm.subarray(n * channels);
      if (!pcm.length) return;
    }
    const timestamp = (this.audioStart ?? 0) + this.encoded / 48_000;
    this.encoded += pcm.length / channels;
    const sample = new mb.AudioSample({ data: pcm, format: 'f32', numberOfChannels: channels, sampleRate: 48_000, timestamp });
    const source = this.audio!.source;
    this.encoding = this.encoding
      .then(() => (this.failure || this.destroyed ? undefined : source.add(sample)))
      .catch((e: unknown) => this.fail(e))
      .finally(() => sample.close());
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  private fail(e: unknown): void {
    this.failure ??= e instanceof ConvertError ? e : new ConvertError('convert-failed', String((e as Error)?.message ?? e));
  }

  /**
   * The final file, once the recording (`recording`, the whole native MP4) has stopped and every piece was pushed.
   * Rejects with a {@link ConvertError} (`convert-failed`: the caller may then convert the whole file instead).
   * Lets the encoder go either way.
   */
  async finish(recording: Blob): Promise<Blob> {
    try {
      const mb = await this.media;
      await this.reading;
      this.throwIfFailed();
      if (!this.reader.ready) throw new ConvertError('convert-failed', 'the recording has no MP4 header');
      if (!this.decoder || !this.audio) throw new ConvertError('convert-failed', 'the recording has no audio');
      await this.decoder.flush();
      await this.encoding;
      this.throwIfFailed();
      if (!this.encoded) throw new ConvertError('convert-failed', 'the recording has no audio samples');
      this.audio.source.close();
      await this.audio.output.finalize();
      return await muxWithAudio(mb, recording, this.audio.output.target.buffer!);
    } catch (e) {
      if (this.destroyed) throw new ConvertError('convert-failed', 'conversion cancelled');
      throw e instanceof ConvertError ? e : new ConvertError('convert-failed', String((e as Error)?.message ?? e));
    } finally {
      this.destroy();
    }
  }

  /** Stops decoding and encoding (the encoder's worker ends). Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    if (this.decoder && this.decoder.state !== 'closed') this.decoder.close();
    if (this.audio && this.audio.output.state !== 'finalized') void this.audio.output.cancel().catch(() => {});
  }
}

/**
 * An MP4 of the recording's video samples, copied as they are, and the audio track of `audioMp4`, its index at the
 * front (`faststart`), samples interleaved in time.
 */
async function muxWithAudio(mb: Media, recording: Blob, audioMp4: ArrayBuffer): Promise<Blob> {
  const videoIn = new mb.Input({ source: new mb.BlobSource(recording), formats: [mb.MP4] });
  const audioIn = new mb.Input({ source: new mb.BufferSource(audioMp4), formats: [mb.MP4] });
  try {
    const video = await videoIn.getPrimaryVideoTrack();
    const audio = (await audioIn.getPrimaryAudioTrack())!;
    const output = new mb.Output({ format: new mb.Mp4OutputFormat({ fastStart: 'in-memory' }), target: new mb.BufferTarget() });
    const inputs: { track: Mediabunny.InputTrack; add: (p: Mediabunny.EncodedPacket, first: boolean) => Promise<void> }[] = [];
    if (video) {
      const source = new mb.EncodedVideoPacketSource((await video.getCodec())!);
      output.addVideoTrack(source, { rotation: await video.getRotation() });
      const decoderConfig = (await video.getDecoderConfig())!;
      inputs.push({ track: video, add: (p, first) => source.add(p, first ? { decoderConfig } : undefined) });
    }
    const source = new mb.EncodedAudioPacketSource((await audio.getCodec())!);
    output.addAudioTrack(source);
    const decoderConfig = (await audio.getDecoderConfig())!;
    inputs.push({ track: audio, add: (p, first) => source.add(p, first ? { decoderConfig } : undefined) });
    await output.start();
    // Both tracks in presentation order, the earlier packet first.
    const streams = inputs.map((input) => ({
      ...input,
      packets: new mb.EncodedPacketSink(input.track).packets(),
      next: undefined as Mediabunny.EncodedPacket | undefined,
      first: true,
    }));
    for (const s of streams) s.next = (await s.packets.next()).value ?? undefined;
    for (;;) {
      const s = streams.filter((x) => x.next).sort((a, b) => a.next!.timestamp - b.next!.timestamp)[0];
      if (!s) break;
      await s.add(s.next!, s.first);
      s.first = false;
      s.next = (await s.packets.next()).value ?? undefined;
    }
    await output.finalize();
    const codecs = video ? 'avc1,mp4a.40.2' : 'mp4a.40.2';
    return new Blob([output.target.buffer!], { type: `${video ? 'video' : 'audio'}/mp4;codecs=${codecs}` });
  } finally {
    videoIn.dispose();
    audioIn.dispose();
  }
}
