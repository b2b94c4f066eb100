import type { FFmpeg } from '@ffmpeg/ffmpeg';
import { AacSegmentEncoder, ConvertError, loadFfmpeg, muxAac } from './convert.js';
import { FragmentedMp4AudioReader, type Mp4AudioTrack } from './mp4-fragments.js';

export interface LiveAacOptions {
  /** Folder URL of ffmpeg-core.js/.wasm. */
  coreBase: string;
  /** Seconds of audio that start an AAC segment (see {@link AacSegmentEncoder}); default 1 s. */
  segmentSeconds?: number;
}

/**
 * The AAC audio of a native MP4 recording (H.264 + Opus), made while it records: ffmpeg.wasm is loaded when the
 * recording starts; each piece MediaRecorder hands over is read as it comes (its Opus samples, from the fragmented
 * MP4), decoded with WebCodecs and encoded to AAC a few seconds at a time. At the end only the last seconds are left
 * to encode, and the file is the recording's H.264 samples and the AAC frames copied into one MP4 (`-c copy`).
 * The audio is the recording's own Opus track decoded sample after sample, as a whole-file conversion would decode
 * it, so it keeps the recording's start, pauses and sync. Nothing is cloned: there is no track of ours to stop.
 */
export class LiveAacTrack {
  private readonly abort = new AbortController();
  private readonly ffmpeg: Promise<FFmpeg>;
  private readonly reader = new FragmentedMp4AudioReader();
  private decoder: AudioDecoder | undefined;
  private encoder: AacSegmentEncoder | undefined;
  private track: Mp4AudioTrack | undefined;
  /** Pieces are read one after another, in order. */
  private reading: Promise<void> = Promise.resolve();
  /** Decoded samples still to drop (Opus pre-skip). */
  private skip = 0;
  /** Seconds at which the first kept sample plays. */
  private audioStart: number | undefined;
  private failure: ConvertError | undefined;
  private loaded = false;

  constructor(private readonly options: LiveAacOptions) {
    this.ffmpeg = loadFfmpeg(options.coreBase, this.abort.signal);
    this.ffmpeg.then(
      () => (this.loaded = true),
      () => {},
    );
  }

  /** Whether this browser can decode the recording's audio as it comes (WebCodecs). */
  static get supported(): boolean {
    return typeof AudioDecoder !== 'undefined' && typeof EncodedAudioChunk !== 'undefined';
  }

  /** True once ffmpeg.wasm is ready. */
  get ready(): boolean {
    return this.loaded;
  }

  /** The next piece of the recording, as MediaRecorder handed it over. */
  push(piece: Blob): void {
    this.reading = this.reading.then(async () => {
      if (this.failure || this.abort.signal.aborted) return;
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
    const ffmpeg = await this.ffmpeg;
    this.track = track;
    this.skip = track.preSkip;
    // Opus always decodes at 48 kHz; the rate in its header is only the one it was captured at.
    const encoder = new AacSegmentEncoder(ffmpeg, {
      channels: track.channels,
      sampleRate: 48_000,
      segmentSeconds: this.options.segmentSeconds,
    });
    this.encoder = encoder;
    this.decoder = new AudioDecoder({
      output: (data) => {
        try {
          if (!this.failure) this.takeSamples(data, encoder);
        } finally {
          data.close();
        }
      },
      error: (e) => this.fail(e),
    });
    this.decoder.configure({ codec: 'opus', sampleRate: 48_000, numberOfChannels: track.channels });
  }

  /** Interleaved float samples of `data`, less what is left of the pre-skip, to the encoder. */
  private takeSamples(data: AudioData, encoder: AacSegmentEncoder): void {
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
    encoder.push(pcm);
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  private fail(e: unknown): void {
    this.failure ??= e instanceof ConvertError ? e : new ConvertError('convert-failed', String((e as Error)?.message ?? e));
  }

  /**
   * The final file, once the recording (`recording`, the whole native MP4) has stopped and every piece was pushed.
   * Rejects with a {@link ConvertError}: `load-failed` when ffmpeg.wasm never loaded, `convert-failed` otherwise (the
   * caller may then convert the whole file instead). Terminates the worker either way.
   */
  async finish(recording: Blob): Promise<Blob> {
    try {
      this.encoder?.end();
      const ffmpeg = await this.ffmpeg;
      await this.reading;
      this.throwIfFailed();
      if (!this.reader.ready) throw new ConvertError('convert-failed', 'the recording has no MP4 header');
      if (!this.decoder || !this.encoder) throw new ConvertError('convert-failed', 'the recording has no audio');
      await this.decoder.flush();
      this.throwIfFailed();
      const adts = await this.encoder.finish();
      if (!adts.length) throw new ConvertError('convert-failed', 'the recording has no audio samples');
      return await muxAac(ffmpeg, recording, adts, this.audioStart ?? 0, 48_000);
    } catch (e) {
      if (this.abort.signal.aborted) throw new ConvertError('convert-failed', 'conversion cancelled');
      throw e instanceof ConvertError ? e : new ConvertError('convert-failed', String((e as Error)?.message ?? e));
    } finally {
      this.destroy();
    }
  }

  /** Stops decoding and terminates ffmpeg.wasm's worker. Idempotent. */
  destroy(): void {
    this.abort.abort();
    if (this.decoder && this.decoder.state !== 'closed') this.decoder.close();
  }
}
