/**
 * What a member sends and how: capture parameters, audio processing, encoder limits and codecs. Pure values and
 * parsers (no DOM), shared by the session, the elements' attributes and the settings panel.
 */

export type VideoCodec = 'vp8' | 'vp9' | 'h264' | 'av1';
export type AudioCodec = 'opus' | 'red' | 'g722' | 'pcmu' | 'pcma';

export interface VideoSettings {
  /** Capture size in pixels (the camera may round to the nearest mode it has). */
  width: number;
  height: number;
  /** Capture frame rate (frames per second). */
  frameRate?: number;
  /** Upper limit of the video encoder, bits per second. */
  maxBitrate?: number;
  /** Codec we prefer to receive and send (set when calls are placed). */
  codec?: VideoCodec;
}

export interface AudioSettings {
  echoCancellation: boolean;
  noiseSuppression: boolean;
  autoGainControl: boolean;
  /** 16000, 44100 or 48000; when the microphone cannot, the audio is resampled through Web Audio. */
  sampleRate?: number;
  /** 1 (mono) or 2 (stereo: sent as stereo Opus). */
  channels?: 1 | 2;
  /** Upper limit of the audio encoder, bits per second. */
  maxBitrate?: number;
  codec?: AudioCodec;
}

export interface MediaSettings {
  video: VideoSettings;
  audio: AudioSettings;
}

/** Named capture sizes of the product sheet (176x144 … 1280x1024); any `WxH` is accepted too. */
export const RESOLUTIONS: Readonly<Record<string, readonly [number, number]>> = {
  qcif: [176, 144],
  qvga: [320, 240],
  cif: [352, 288],
  vga: [640, 480],
  svga: [800, 600],
  hd: [1280, 720],
  sxga: [1280, 1024],
};

export const DEFAULT_VIDEO: VideoSettings = { width: 640, height: 480 };
export const DEFAULT_AUDIO: AudioSettings = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };
/** The `music` preset: no voice processing, stereo, a high bitrate. */
export const MUSIC_AUDIO: Partial<AudioSettings> = {
  echoCancellation: false,
  noiseSuppression: false,
  autoGainControl: false,
  channels: 2,
  maxBitrate: 128_000,
};

export const VIDEO_CODECS: readonly VideoCodec[] = ['vp8', 'vp9', 'h264', 'av1'];
export const AUDIO_CODECS: readonly AudioCodec[] = ['opus', 'red', 'g722', 'pcmu', 'pcma'];

/**
 * `"320x240"`, `"1280×720"` or a preset name (`vga`, `hd`, …) → `[width, height]`; undefined when not a size
 * between 16x16 and 4096x4096.
 */
export function parseResolution(value: string | null | undefined): [number, number] | undefined {
  const v = (value ?? '').trim().toLowerCase();
  if (!v) return undefined;
  const preset = RESOLUTIONS[v];
  if (preset) return [preset[0], preset[1]];
  const m = /^(\d{2,4})\s*[x×]\s*(\d{2,4})$/.exec(v);
  if (!m) return undefined;
  const [w, h] = [Number(m[1]), Number(m[2])];
  return w >= 16 && h >= 16 && w <= 4096 && h <= 4096 ? [w, h] : undefined;
}

/** A positive number from an attribute, within [min, max]; undefined when absent or invalid. */
export function parseBounded(value: string | number | null | undefined, min: number, max: number): number | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) && n >= min && n <= max ? n : undefined;
}

export function parseVideoCodec(value: string | null | undefined): VideoCodec | undefined {
  const v = (value ?? '').trim().toLowerCase() as VideoCodec;
  return VIDEO_CODECS.includes(v) ? v : undefined;
}

export function parseAudioCodec(value: string | null | undefined): AudioCodec | undefined {
  const v = (value ?? '').trim().toLowerCase() as AudioCodec;
  return AUDIO_CODECS.includes(v) ? v : undefined;
}

/**
 * getUserMedia constraints for the camera: `deviceId` (chosen) or `preferred` (remembered) is required as `exact`
 * (Chromium ignores an `ideal` microphone id); callers retry without `preferred` when it is gone.
 */
export function videoConstraints(v: VideoSettings, deviceId?: string, preferred?: string): MediaTrackConstraints {
  return {
    ...(preferred && !deviceId ? { deviceId: { exact: preferred } } : {}),
    width: { ideal: v.width },
    height: { ideal: v.height },
    ...(v.frameRate ? { frameRate: { ideal: v.frameRate } } : {}),
    ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
  };
}

/**
 * getUserMedia constraints for the microphone. The sample rate is asked as an ideal (browsers refuse exact rates
 * their device does not have); what we got is checked afterwards and resampled when it differs.
 */
export function audioConstraints(a: AudioSettings, deviceId?: string, preferred?: string): MediaTrackConstraints {
  return {
    ...(preferred && !deviceId ? { deviceId: { exact: preferred } } : {}),
    echoCancellation: a.echoCancellation,
    noiseSuppression: a.noiseSuppression,
    autoGainControl: a.autoGainControl,
    ...(a.sampleRate ? { sampleRate: { ideal: a.sampleRate } } : {}),
    ...(a.channels ? { channelCount: { ideal: a.channels } } : {}),
    ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
  };
}

/** Whether changing from `a` to `b` needs a new microphone track (rather than a change on the live one). */
export function audioNeedsRecapture(a: AudioSettings, b: AudioSettings): boolean {
  return (
    a.echoCancellation !== b.echoCancellation ||
    a.noiseSuppression !== b.noiseSuppression ||
    a.autoGainControl !== b.autoGainControl ||
    a.sampleRate !== b.sampleRate ||
    a.channels !== b.channels
  );
}
