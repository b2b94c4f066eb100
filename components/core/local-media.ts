import type { MediaState } from './room-protocol.js';

export interface LocalMediaOptions {
  /** `true`, `false`, or constraints for the microphone. */
  audio: boolean | MediaTrackConstraints;
  /** `true`, `false`, or constraints for the camera. */
  video: boolean | MediaTrackConstraints;
  /** Use this stream instead of devices (canvas, Web Audio, files); it is never stopped by us. */
  stream?: MediaStream;
}

const DEFAULT_VIDEO: MediaTrackConstraints = { width: { ideal: 640 }, height: { ideal: 480 } };
const DEFAULT_AUDIO: MediaTrackConstraints = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

/**
 * The local camera and microphone of a session: capture, mute, camera on/off.
 * Tracks we capture are ours to stop; a stream handed in by the page is not.
 */
export class LocalMedia {
  /** What the self-view shows: the current local tracks. */
  readonly stream = new MediaStream();
  private readonly owned = new Set<MediaStreamTrack>();
  private audioMuted = false;
  private destroyed = false;

  constructor(private readonly options: LocalMediaOptions) {}

  get audioTrack(): MediaStreamTrack | undefined {
    return this.stream.getAudioTracks()[0];
  }

  get videoTrack(): MediaStreamTrack | undefined {
    return this.stream.getVideoTracks()[0];
  }

  /** What others should show of us. */
  get state(): MediaState {
    return { audio: !!this.audioTrack && !this.audioMuted, video: !!this.videoTrack?.enabled && this.videoTrack.readyState === 'live' };
  }

  /** Captures what the options ask for. Rejects with the browser's error when devices are refused or missing. */
  async start(): Promise<void> {
    if (this.options.stream) {
      for (const t of this.options.stream.getTracks()) this.stream.addTrack(t);
      return;
    }
    const { audio, video } = this.options;
    if (!audio && !video) return;
    const captured = await navigator.mediaDevices.getUserMedia({
      audio: audio === true ? DEFAULT_AUDIO : audio,
      video: video === true ? DEFAULT_VIDEO : video,
    });
    this.adopt(captured);
  }

  /** Mutes or unmutes the microphone (the device stays open so unmuting is instant). */
  setAudioEnabled(enabled: boolean): void {
    this.audioMuted = !enabled;
    const track = this.audioTrack;
    if (track) track.enabled = enabled;
  }

  /**
   * Turns the camera off (the device is released, so its light goes out) or on again.
   * Resolves with the new video track, or undefined when off.
   */
  async setVideoEnabled(enabled: boolean): Promise<MediaStreamTrack | undefined> {
    const current = this.videoTrack;
    if (!enabled) {
      if (current) {
        this.stream.removeTrack(current);
        if (this.owned.has(current)) current.stop();
        else current.enabled = false;
        this.owned.delete(current);
      }
      return undefined;
    }
    if (current) return current;
    const given = this.options.stream?.getVideoTracks()[0];
    if (given && given.readyState === 'live') {
      given.enabled = true;
      this.stream.addTrack(given);
      return given;
    }
    const video = this.options.video;
    const captured = await navigator.mediaDevices.getUserMedia({ video: typeof video === 'object' ? video : DEFAULT_VIDEO });
    if (this.destroyed) {
      captured.getTracks().forEach((t) => t.stop());
      return undefined;
    }
    this.adopt(captured);
    return this.videoTrack;
  }

  private adopt(captured: MediaStream): void {
    for (const t of captured.getTracks()) {
      if (this.destroyed) {
        t.stop();
        continue;
      }
      if (t.kind === 'audio') t.enabled = !this.audioMuted;
      this.owned.add(t);
      this.stream.addTrack(t);
    }
  }

  /** Stops every track we captured. Idempotent. */
  destroy(): void {
    this.destroyed = true;
    for (const t of this.owned) t.stop();
    this.owned.clear();
    for (const t of this.stream.getTracks()) this.stream.removeTrack(t);
  }
}

/**
 * Silent, blank tracks used only to create send-capable audio and video transceivers when the local side has no
 * such track yet; they are swapped for `null` at once, so nothing is sent until a real track replaces them.
 * This keeps "camera on" possible later without renegotiating (PeerJS media calls cannot renegotiate).
 */
export function placeholderTracks(): { tracks: MediaStreamTrack[]; stop(): void } {
  const canvas = document.createElement('canvas');
  canvas.width = 16;
  canvas.height = 16;
  canvas.getContext('2d')?.fillRect(0, 0, 16, 16);
  const video = canvas.captureStream(0).getVideoTracks()[0];
  const ctx = new AudioContext();
  const audio = ctx.createMediaStreamDestination().stream.getAudioTracks()[0];
  const tracks = [audio, video].filter((t): t is MediaStreamTrack => !!t);
  return {
    tracks,
    stop() {
      tracks.forEach((t) => t.stop());
      void ctx.close().catch(() => {});
    },
  };
}
