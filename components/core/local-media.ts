import { Emitter } from './emitter.js';
import {
  DEFAULT_AUDIO,
  DEFAULT_VIDEO,
  audioConstraints,
  audioNeedsRecapture,
  videoConstraints,
  type AudioSettings,
  type MediaSettings,
  type VideoSettings,
} from './media-settings.js';
import type { MediaState } from './room-protocol.js';

export interface LocalMediaOptions {
  /** Capture the microphone. */
  audio: boolean;
  /** Capture the camera. */
  video: boolean;
  /** Use this stream instead of devices (canvas, Web Audio, files); it is never stopped by us. */
  stream?: MediaStream;
  /** Capture and processing parameters (defaults: 640x480, voice processing on). */
  settings?: Partial<{ video: Partial<VideoSettings>; audio: Partial<AudioSettings> }>;
  /** Devices to capture from (ids from `listDevices()`); the browser's default otherwise. */
  devices?: { audioinput?: string; videoinput?: string };
  /** Devices chosen on an earlier visit: used when present, the default otherwise. */
  preferred?: { audioinput?: string; videoinput?: string };
  /** Tracks captured already (the pre-join preview): used instead of opening the devices again, and ours to stop. */
  captured?: MediaStream;
}

export interface LocalMediaEvents {
  /** The track we send for `kind` changed (device switch, screen share, camera on/off, new settings). */
  track: { kind: 'audio' | 'video'; track: MediaStreamTrack | null };
  /** Something was done differently from what was asked (a fallback), or a device went away. */
  warning: { code: 'media-fallback' | 'device-lost' | 'media-unavailable'; message: string };
}

/** How the microphone reaches the wire when the device cannot give the asked rate or channels: through Web Audio. */
interface Resampler {
  context: AudioContext;
  track: MediaStreamTrack;
}

/**
 * The local camera, microphone and screen of a session: capture, device choice, live parameters, mute, camera
 * on/off, screen sharing. Tracks we capture are ours to stop; a stream handed in by the page is not.
 */
export class LocalMedia extends Emitter<LocalMediaEvents> {
  /** What the self-view shows: the tracks we send. */
  readonly stream = new MediaStream();
  settings: MediaSettings;
  private readonly owned = new Set<MediaStreamTrack>();
  private readonly devices: { audioinput?: string; videoinput?: string };
  private given: MediaStream | undefined;
  /** The microphone track as captured (what we send, unless resampled). */
  private micTrack: MediaStreamTrack | undefined;
  private resampler: Resampler | undefined;
  private cameraTrack: MediaStreamTrack | undefined;
  private screenTrack: MediaStreamTrack | undefined;
  /** The camera was on when sharing started: it comes back when sharing ends. */
  private cameraBeforeShare = false;
  /** The microphone is muted (its track, once there is one, is disabled); set through `setAudioEnabled`. */
  audioMuted = false;
  private destroyed = false;
  /** Devices chosen on an earlier visit, used when present (set before `start`). */
  preferred: { audioinput?: string; videoinput?: string };
  /** What the last start could not open (for the UI: "no microphone"). */
  unavailable = { audio: false, video: false };
  /** The browser's error name when a device could not be opened (`NotAllowedError`: refused, `NotFoundError`: none). */
  errorName: string | undefined;

  constructor(private readonly options: LocalMediaOptions) {
    super();
    this.settings = {
      video: { ...DEFAULT_VIDEO, ...options.settings?.video },
      audio: { ...DEFAULT_AUDIO, ...options.settings?.audio },
    };
    this.devices = { ...options.devices };
    this.preferred = { ...options.preferred };
    this.given = options.stream;
  }

  get audioTrack(): MediaStreamTrack | undefined {
    return this.stream.getAudioTracks()[0];
  }

  get videoTrack(): MediaStreamTrack | undefined {
    return this.stream.getVideoTracks()[0];
  }

  /** Whether a screen is being shared. */
  get sharing(): boolean {
    return !!this.screenTrack;
  }

  /** The device ids in use (or chosen for the next capture). */
  get deviceIds(): { audioinput?: string; videoinput?: string } {
    return {
      audioinput: this.micTrack?.getSettings().deviceId ?? this.devices.audioinput,
      videoinput: this.cameraTrack?.getSettings().deviceId ?? this.devices.videoinput,
    };
  }

  /** What others should show of us. */
  get state(): MediaState {
    const video = this.videoTrack;
    return {
      audio: !!this.audioTrack && !this.audioMuted,
      video: !!video?.enabled && video.readyState === 'live',
      ...(this.sharing ? { screen: true } : {}),
      ...(this.stereo ? { stereo: true } : {}),
    };
  }

  /** Whether we send two audio channels (asked for, and the track has them or is resampled to them). */
  get stereo(): boolean {
    return this.settings.audio.channels === 2 && !!this.audioTrack;
  }

  /**
   * Captures what the options ask for. A missing or refused device does not stop the other one: the camera alone,
   * the microphone alone, or nothing (receive only) — `unavailable` says what is missing. Rejects only when nothing
   * asked for could be opened, with the browser's error.
   */
  async start(): Promise<void> {
    try {
      await this.capture();
    } catch (err) {
      // A remembered device that is gone (or whose id changed): the default one instead.
      const name = (err as Error).name;
      if (!(name === 'OverconstrainedError' || name === 'NotFoundError') || (!this.preferred.audioinput && !this.preferred.videoinput))
        throw err;
      this.preferred = {};
      await this.capture();
    }
  }

  private async capture(): Promise<void> {
    if (this.given) {
      // Announced like captured tracks: calls placed before we got here carry placeholders until these replace them.
      for (const t of this.given.getTracks()) {
        const kind = t.kind as 'audio' | 'video';
        if (kind === 'audio' ? this.audioTrack : this.videoTrack) this.stream.addTrack(t);
        else this.setSent(kind, t);
      }
      return;
    }
    const { audio, video } = this.options;
    const pre = this.options.captured;
    if (pre) {
      for (const t of pre.getTracks()) {
        if ((t.kind === 'audio' && audio) || (t.kind === 'video' && video)) this.adopt(t);
        else t.stop();
      }
    }
    const wantAudio = audio && !this.micTrack;
    const wantVideo = video && !this.cameraTrack;
    if (!wantAudio && !wantVideo) return this.checkAudioFormat();
    try {
      const captured = await navigator.mediaDevices.getUserMedia({
        audio: wantAudio && this.audioConstraints(),
        video: wantVideo && this.videoConstraints(),
      });
      for (const t of captured.getTracks()) this.adopt(t);
    } catch (err) {
      const name = (err as Error).name;
      this.errorName = name;
      // A remembered device that is gone: `start` tries again with the defaults.
      if ((name === 'OverconstrainedError' || name === 'NotFoundError') && (this.preferred.audioinput || this.preferred.videoinput))
        throw err;
      if (!(wantAudio && wantVideo)) {
        this.unavailable = { audio: wantAudio, video: wantVideo };
        throw err;
      }
      // One of the two may work alone (no camera, or the camera is busy in another app).
      const [mic, cam] = await Promise.allSettled([
        navigator.mediaDevices.getUserMedia({ audio: this.audioConstraints() }),
        navigator.mediaDevices.getUserMedia({ video: this.videoConstraints() }),
      ]);
      for (const r of [mic, cam]) if (r.status === 'fulfilled') r.value.getTracks().forEach((t) => this.adopt(t));
      this.unavailable = { audio: mic.status === 'rejected', video: cam.status === 'rejected' };
      if (mic.status === 'rejected' && cam.status === 'rejected') throw err;
      const missing = mic.status === 'rejected' ? 'microphone' : 'camera';
      this.emit('warning', { code: 'media-unavailable', message: `no ${missing}: ${String((err as Error).message ?? err)}` });
    }
    await this.checkAudioFormat();
  }

  /** Mutes or unmutes the microphone (the device stays open so unmuting is instant). */
  setAudioEnabled(enabled: boolean): void {
    this.audioMuted = !enabled;
    for (const t of [this.audioTrack, this.micTrack]) if (t) t.enabled = enabled;
  }

  /**
   * Turns the camera off (the device is released, so its light goes out) or on again. While a screen is shared
   * this only decides whether the camera comes back when sharing ends. Resolves with the video track now sent.
   */
  async setVideoEnabled(enabled: boolean): Promise<MediaStreamTrack | undefined> {
    if (this.sharing) {
      this.cameraBeforeShare = enabled;
      return this.videoTrack;
    }
    const current = this.videoTrack;
    if (!enabled) {
      if (current) {
        this.setSent('video', undefined);
        if (this.owned.has(current)) this.release(current);
        else current.enabled = false;
      }
      this.cameraTrack = undefined;
      return undefined;
    }
    if (current) return current;
    const given = this.given?.getVideoTracks()[0];
    if (given && given.readyState === 'live') {
      given.enabled = true;
      this.setSent('video', given);
      return given;
    }
    const track = await this.captureTrack('video');
    if (!track) return undefined;
    this.adopt(track);
    this.unavailable.video = false;
    return this.videoTrack;
  }

  /**
   * Captures from another microphone or camera and sends it instead, without renegotiating; the old track is
   * stopped. An empty id means the browser's default.
   */
  async setDevice(kind: 'audioinput' | 'videoinput', deviceId: string): Promise<MediaStreamTrack | undefined> {
    this.devices[kind] = deviceId || undefined;
    if (this.given) return undefined;
    if (kind === 'videoinput') {
      if (!this.cameraTrack || this.sharing) return undefined;
      return this.recapture('video');
    }
    if (!this.micTrack) return undefined;
    return this.recapture('audio');
  }

  /**
   * Applies new parameters to the live tracks: camera size and frame rate through `applyConstraints`; audio
   * processing through `applyConstraints` and, when the browser keeps the old values (Chromium does for echo
   * cancellation), a new capture of the same microphone. Encoder limits are the session's (RTCRtpSender).
   */
  async update(next: Partial<{ video: Partial<VideoSettings>; audio: Partial<AudioSettings> }>): Promise<void> {
    const before = this.settings;
    this.settings = { video: { ...before.video, ...next.video }, audio: { ...before.audio, ...next.audio } };
    const v = this.settings.video;
    if (
      this.cameraTrack &&
      (v.width !== before.video.width || v.height !== before.video.height || v.frameRate !== before.video.frameRate)
    ) {
      await this.cameraTrack.applyConstraints(videoConstraints(v)).catch((err: Error) => {
        this.emit('warning', { code: 'media-fallback', message: `the camera kept its size: ${err.message}` });
      });
    }
    if (!this.micTrack || this.given || !audioNeedsRecapture(before.audio, this.settings.audio)) return;
    const a = this.settings.audio;
    const wanted = { echoCancellation: a.echoCancellation, noiseSuppression: a.noiseSuppression, autoGainControl: a.autoGainControl };
    const sameFormat = before.audio.sampleRate === a.sampleRate && before.audio.channels === a.channels;
    if (sameFormat) {
      await this.micTrack.applyConstraints(wanted).catch(() => {});
      const s = this.micTrack.getSettings();
      if (Object.entries(wanted).every(([k, val]) => s[k as keyof typeof wanted] === undefined || s[k as keyof typeof wanted] === val))
        return;
    }
    await this.recapture('audio');
  }

  /**
   * Shares a screen, window or tab (the browser asks which) instead of the camera; the microphone keeps going.
   * Ends by `stopScreenShare()` or from the browser's own "Stop sharing": the camera then comes back if it was on.
   */
  async startScreenShare(
    options: DisplayMediaStreamOptions = { video: { frameRate: { ideal: 15 } }, audio: false },
  ): Promise<MediaStreamTrack> {
    if (this.screenTrack) return this.screenTrack;
    const captured = await navigator.mediaDevices.getDisplayMedia(options);
    const track = captured.getVideoTracks()[0];
    captured.getAudioTracks().forEach((t) => t.stop());
    if (!track || this.destroyed) {
      captured.getTracks().forEach((t) => t.stop());
      throw new DOMException('no screen was shared', 'NotFoundError');
    }
    track.contentHint = 'detail';
    this.cameraBeforeShare = !!this.cameraTrack || (!!this.videoTrack && this.videoTrack.enabled);
    const camera = this.cameraTrack;
    this.screenTrack = track;
    this.owned.add(track);
    this.setSent('video', track);
    // The camera is released while sharing (its light goes out); it is captured again afterwards.
    if (camera) this.release(camera);
    this.cameraTrack = undefined;
    track.addEventListener('ended', () => void this.stopScreenShare());
    return track;
  }

  /** Ends screen sharing; the camera comes back if it was on before. */
  async stopScreenShare(): Promise<void> {
    const screen = this.screenTrack;
    if (!screen) return;
    this.screenTrack = undefined;
    this.release(screen);
    if (this.destroyed) return;
    if (this.cameraBeforeShare) {
      try {
        await this.setVideoEnabled(true);
        return;
      } catch (err) {
        this.emit('warning', { code: 'device-lost', message: `the camera did not come back: ${(err as Error).message}` });
      }
    }
    this.setSent('video', undefined);
  }

  /**
   * Sends the page's stream instead of the devices (or the devices again, with `undefined`), without re-joining.
   * Our own captures are stopped; the page's tracks never are.
   */
  async setStream(stream: MediaStream | undefined): Promise<void> {
    if (stream === this.given) return;
    if (this.screenTrack) {
      this.release(this.screenTrack);
      this.screenTrack = undefined;
    }
    for (const t of [...this.owned]) this.release(t);
    this.closeResampler();
    this.micTrack = undefined;
    this.cameraTrack = undefined;
    this.given = stream;
    if (stream) {
      this.setSent('audio', stream.getAudioTracks()[0]);
      this.setSent('video', stream.getVideoTracks()[0]);
      return;
    }
    this.setSent('audio', undefined);
    this.setSent('video', undefined);
    await this.start().catch((err: Error) => this.emit('warning', { code: 'media-unavailable', message: err.message }));
  }

  private audioConstraints(): MediaTrackConstraints {
    return audioConstraints(this.settings.audio, this.devices.audioinput, this.preferred.audioinput);
  }

  private videoConstraints(): MediaTrackConstraints {
    return videoConstraints(this.settings.video, this.devices.videoinput, this.preferred.videoinput);
  }

  /** One new track of `kind` with the current constraints; undefined (nothing left open) once destroyed. */
  private async captureTrack(kind: 'audio' | 'video'): Promise<MediaStreamTrack | undefined> {
    const captured = await navigator.mediaDevices.getUserMedia(
      kind === 'audio' ? { audio: this.audioConstraints() } : { video: this.videoConstraints() },
    );
    const track = captured.getTracks()[0];
    if (track && !this.destroyed) return track;
    captured.getTracks().forEach((t) => t.stop());
    return undefined;
  }

  /** Captures the microphone or camera again (new device or settings) and sends it instead of the old track. */
  private async recapture(kind: 'audio' | 'video'): Promise<MediaStreamTrack | undefined> {
    const track = await this.captureTrack(kind);
    if (!track) return undefined;
    const old = kind === 'audio' ? this.micTrack : this.cameraTrack;
    if (kind === 'audio') this.closeResampler();
    this.adopt(track);
    if (old) this.release(old);
    if (kind === 'audio') await this.checkAudioFormat();
    return kind === 'audio' ? this.audioTrack : track;
  }

  /**
   * When the microphone does not give the asked sample rate or channel count (Chromium captures 48 kHz whatever is
   * asked), the audio goes through a Web Audio graph at that rate and channel count, and a warning says so.
   */
  private async checkAudioFormat(): Promise<void> {
    const mic = this.micTrack;
    const { sampleRate, channels } = this.settings.audio;
    if (!mic || (!sampleRate && !channels)) return;
    const s = mic.getSettings();
    const rateOk = !sampleRate || s.sampleRate === undefined || s.sampleRate === sampleRate;
    const channelsOk = !channels || s.channelCount === undefined || s.channelCount === channels;
    if (rateOk && channelsOk) return;
    const context = new AudioContext(sampleRate ? { sampleRate } : {});
    const source = context.createMediaStreamSource(new MediaStream([mic]));
    const destination = context.createMediaStreamDestination();
    destination.channelCount = channels ?? 2;
    destination.channelCountMode = 'explicit';
    destination.channelInterpretation = 'speakers';
    source.connect(destination);
    await context.resume().catch(() => {});
    const track = destination.stream.getAudioTracks()[0];
    if (!track) return void context.close();
    track.enabled = !this.audioMuted;
    this.resampler = { context, track };
    this.setSent('audio', track);
    this.emit('warning', {
      code: 'media-fallback',
      message:
        `the microphone gives ${s.sampleRate ?? '?'} Hz × ${s.channelCount ?? '?'}; ` +
        `resampled through Web Audio to ${context.sampleRate} Hz × ${destination.channelCount}`,
    });
  }

  private closeResampler(): void {
    if (!this.resampler) return;
    this.resampler.track.stop();
    void this.resampler.context.close().catch(() => {});
    this.resampler = undefined;
  }

  /** Takes a track we captured: sends it (unless a shared screen occupies the video) and watches it. */
  private adopt(track: MediaStreamTrack): void {
    if (this.destroyed) return void track.stop();
    this.owned.add(track);
    if (track.kind === 'audio') {
      track.enabled = !this.audioMuted;
      this.micTrack = track;
      this.unavailable.audio = false;
      this.setSent('audio', track);
    } else {
      this.cameraTrack = track;
      if (!this.screenTrack) this.setSent('video', track);
    }
    // A device unplugged (or its permission revoked) ends its track: fall back to the default device.
    track.addEventListener('ended', () => void this.onDeviceEnded(track));
  }

  private async onDeviceEnded(track: MediaStreamTrack): Promise<void> {
    if (this.destroyed || !this.owned.has(track) || (track !== this.micTrack && track !== this.cameraTrack)) return;
    const kind = track.kind === 'audio' ? 'audioinput' : 'videoinput';
    const what = track.kind === 'audio' ? 'microphone' : 'camera';
    this.owned.delete(track);
    this.devices[kind] = undefined;
    try {
      await this.recapture(track.kind as 'audio' | 'video');
      this.emit('warning', { code: 'device-lost', message: `${track.label || `the ${what}`} went away; using the default ${what}` });
    } catch (err) {
      if (kind === 'audioinput') this.micTrack = undefined;
      else this.cameraTrack = undefined;
      this.setSent(track.kind as 'audio' | 'video', undefined);
      this.emit('warning', {
        code: 'device-lost',
        message: `${track.label || `the ${what}`} went away and no other ${what} works: ${(err as Error).message}`,
      });
    }
  }

  /** Puts `track` in the sent stream for its kind (replacing what was there) and tells the session. */
  private setSent(kind: 'audio' | 'video', track: MediaStreamTrack | undefined): void {
    const current = kind === 'audio' ? this.audioTrack : this.videoTrack;
    if (current === track) return;
    if (current) this.stream.removeTrack(current);
    if (track) this.stream.addTrack(track);
    this.emit('track', { kind, track: track ?? null });
  }

  private release(track: MediaStreamTrack): void {
    if (this.owned.has(track)) track.stop();
    this.owned.delete(track);
    if (this.stream.getTracks().includes(track)) this.stream.removeTrack(track);
  }

  /** Gives our captured tracks to whoever takes them (the pre-join preview → the session): not stopped, no longer ours. */
  handOver(): MediaStream {
    const stream = new MediaStream(this.stream.getTracks());
    this.owned.clear();
    this.destroy();
    return stream;
  }

  /** Stops every track we captured. Idempotent. */
  destroy(): void {
    this.destroyed = true;
    for (const t of this.owned) t.stop();
    this.owned.clear();
    this.closeResampler();
    for (const t of this.stream.getTracks()) this.stream.removeTrack(t);
    this.removeAllListeners();
  }
}

/**
 * Silent, blank tracks used only to create send-capable audio and video transceivers when the local side has no
 * such track yet; they are swapped for `null` at once, so nothing is sent until a real track replaces them.
 * This keeps "camera on" possible later without renegotiating (PeerJS media calls cannot renegotiate).
 */
export function placeholderTracks(audio: boolean, video: boolean): { tracks: MediaStreamTrack[]; stop(): void } {
  const tracks: MediaStreamTrack[] = [];
  let ctx: AudioContext | undefined;
  // Chromium makes a track that never sends a frame without an audio thread or a canvas (in a fresh page: an
  // AudioContext took 5–49 ms, a canvas track 3 ms, a generator 0.3 ms).
  const Generator = (globalThis as { MediaStreamTrackGenerator?: new (init: { kind: string }) => MediaStreamTrack })
    .MediaStreamTrackGenerator;
  if (audio) {
    if (Generator) tracks.push(new Generator({ kind: 'audio' }));
    else tracks.push(...(ctx = new AudioContext()).createMediaStreamDestination().stream.getAudioTracks());
  }
  if (video && Generator) tracks.push(new Generator({ kind: 'video' }));
  else if (video) {
    const canvas = document.createElement('canvas');
    canvas.width = 16;
    canvas.height = 16;
    canvas.getContext('2d')?.fillRect(0, 0, 16, 16);
    tracks.push(...canvas.captureStream(0).getVideoTracks());
  }
  return {
    tracks,
    stop() {
      tracks.forEach((t) => t.stop());
      void ctx?.close().catch(() => {});
    },
  };
}
