import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { LevelMeter } from '../core/activity.js';
import { listDevices, rememberedDevices, type DeviceList } from '../core/devices.js';
import { LocalMedia } from '../core/local-media.js';
import type { MediaSettings } from '../core/media-settings.js';

/**
 * What the settings panel and the pre-join view show: the devices the browser lists (kept current on
 * `devicechange`), and before joining a preview of the camera and a level meter of the microphone.
 */
export class DeviceController implements ReactiveController {
  list: DeviceList = { microphones: [], cameras: [], speakers: [] };
  /** Pre-join preview: the tracks the session takes over when the user joins. */
  preview: MediaStream | undefined;
  /** Devices chosen in the pre-join view (or remembered). */
  chosen: { audioinput?: string; videoinput?: string; audiooutput?: string } = {};
  /** Microphone level of the preview, 0–1. */
  level = 0;
  /** Why the preview has no camera or microphone (the browser's error name), if it has none. */
  previewError: string | undefined;
  private meter: LevelMeter | undefined;
  private meterTimer: ReturnType<typeof setInterval> | undefined;
  private watching = false;
  private previewRun = 0;
  private readonly onDeviceChange = () => void this.refresh();

  constructor(private readonly host: ReactiveControllerHost) {
    host.addController(this);
  }

  hostDisconnected(): void {
    this.unwatch();
    this.stopPreview();
  }

  /** Lists devices now and whenever they change. */
  async watch(): Promise<void> {
    if (!this.watching && navigator.mediaDevices) {
      this.watching = true;
      navigator.mediaDevices.addEventListener('devicechange', this.onDeviceChange);
    }
    await this.refresh();
  }

  unwatch(): void {
    if (!this.watching) return;
    this.watching = false;
    navigator.mediaDevices?.removeEventListener('devicechange', this.onDeviceChange);
  }

  async refresh(): Promise<void> {
    this.list = await listDevices().catch(() => this.list);
    this.host.requestUpdate();
  }

  /** Opens camera and microphone for the pre-join view with the chosen (else remembered) devices. */
  async startPreview(settings: MediaSettings, want: { audio: boolean; video: boolean }, remember: boolean): Promise<void> {
    const run = ++this.previewRun;
    this.stopPreview();
    // The same capture as in the call (one device may work alone, a remembered one that is gone falls back). Raw
    // tracks: the session resamples them if the settings ask for another rate or channel count.
    const audio = { ...settings.audio, sampleRate: undefined, channels: undefined };
    const remembered = remember ? await rememberedDevices() : {};
    if (!this.chosen.audiooutput) this.chosen.audiooutput = remembered.audiooutput;
    const media = new LocalMedia({
      audio: want.audio,
      video: want.video,
      settings: { video: settings.video, audio },
      devices: { audioinput: this.chosen.audioinput, videoinput: this.chosen.videoinput },
      preferred: { audioinput: remembered.audioinput, videoinput: remembered.videoinput },
    });
    await media.start().catch(() => {});
    const stream = media.stream.getTracks().length ? media.handOver() : undefined;
    media.destroy();
    this.previewError = media.unavailable.audio || media.unavailable.video ? media.errorName : undefined;
    if (run !== this.previewRun) return void stream?.getTracks().forEach((t) => t.stop());
    this.preview = stream;
    for (const t of stream?.getTracks() ?? []) this.chosen[t.kind === 'audio' ? 'audioinput' : 'videoinput'] = t.getSettings().deviceId;
    const mic = stream?.getAudioTracks()[0];
    if (mic) {
      this.meter = new LevelMeter(mic);
      this.meterTimer = setInterval(() => {
        this.level = Math.min(1, (this.meter?.level ?? 0) * 4);
        this.host.requestUpdate();
      }, 100);
    }
    await this.refresh();
  }

  /** Changes a device of the preview (capturing it again). */
  async choose(
    kind: 'audioinput' | 'videoinput' | 'audiooutput',
    deviceId: string,
    settings: MediaSettings,
    want: { audio: boolean; video: boolean },
  ): Promise<void> {
    this.chosen[kind] = deviceId || undefined;
    if (kind !== 'audiooutput' && this.preview) await this.startPreview(settings, want, false);
    else this.host.requestUpdate();
  }

  /** Hands the preview's tracks over (the session stops them from now on). */
  takePreview(): MediaStream | undefined {
    const stream = this.preview;
    this.preview = undefined;
    this.stopMeter();
    return stream;
  }

  stopPreview(): void {
    this.stopMeter();
    this.preview?.getTracks().forEach((t) => t.stop());
    this.preview = undefined;
  }

  private stopMeter(): void {
    clearInterval(this.meterTimer);
    this.meter?.close();
    this.meter = undefined;
    this.level = 0;
  }
}
