import { LitElement, html, nothing, type PropertyValues } from 'lit';
import { property, state } from 'lit/decorators.js';
import { ifDefined } from 'lit/directives/if-defined.js';
import { onOffConverter } from '../shared/attributes.js';
import { SessionBinding } from '../controllers/session-binding.js';
import { safeFileName } from '../core/file-name.js';
import { formatBytes } from '../core/format.js';
import type { LogLevel } from '../core/log.js';
import type { RecordingResult } from '../core/recorder.js';
import type { RecordingJob, RecordingSource } from '../core/recording.js';
import type { RoomSession } from '../core/session.js';
import type { Snapshot } from '../core/snapshot.js';
import { avRecorderStrings, type AvRecorderStrings } from './av-recorder.strings.js';
import { TranslationController } from '../shared/i18n.js';
import { styles } from './av-recorder.styles.js';
import { downloadIcon, recordIcon, snapshotIcon, stopIcon } from '../shared/icons.js';

/** `idle`, `recording`, `paused`, `converting` (ffmpeg.wasm at work), `done` or `error`. */
export type RecorderState = 'idle' | 'recording' | 'paused' | 'converting' | 'done' | 'error';

/** Detail of `av-recorder-complete`: the file, and the name it is offered under. */
export interface RecorderCompleteDetail extends RecordingResult {
  fileName: string;
}
/** Detail of `av-recorder-start`. */
export interface RecorderStartDetail {
  mimeType: string;
  /** `self`, `room`, `peer:<id>` or `stream`. */
  source: string;
  /** What ffmpeg.wasm will do after the recording: `aac` (remux), `h264` (transcode) or nothing. */
  conversion?: 'aac' | 'h264';
  /**
   * The recording's sound: `mixed` (every voice of the source), `direct` (a stream's own audio, or the only voice when
   * the browser could not run its audio mixer) or `none` (no audio, or several voices the mixer could not mix: the
   * element then says so).
   */
  audio: 'mixed' | 'direct' | 'none';
}
/** Detail of `av-recorder-progress`. */
export interface RecorderProgressDetail {
  stage: 'loading' | 'converting';
  /** 0…1. */
  progress: number;
}
/** Detail of `av-recorder-error`. */
export interface RecorderErrorDetail {
  /**
   * `not-ready`, `record-failed`, `nothing-recorded` (the source sent no frame before the stop: no file),
   * `load-failed` (ffmpeg.wasm could not be loaded) or `convert-failed`.
   */
  code: string;
  message: string;
  /** The unconverted recording, when only the conversion failed: it is still offered for download. */
  recording?: RecorderCompleteDetail;
}
/** Detail of the recorder's `av-snapshot`. */
export interface RecorderSnapshotDetail extends Snapshot {
  source: string;
}

/**
 * Records one person, a whole room (a video grid and a mix of every voice) or any MediaStream to MP4 or WebM, in the
 * browser. MP4 comes straight from MediaRecorder when the browser can; AAC audio or a browser that only writes WebM
 * bring in ffmpeg.wasm, loaded from our own server only then. Also takes JPEG snapshots.
 *
 * @summary Room, member or stream recording to MP4: `<av-recorder for="room" source="room"></av-recorder>`.
 * @tag av-recorder
 *
 * @attr {string} state - Read-only: `idle`, `recording`, `paused`, `converting`, `done` or `error`.
 *
 * @attr lang - Language of the element's strings: its own, else the closest ancestor's (`<html lang>`); English, `zh-CN`, or any added with `registerTranslation`.
 * @fires {CustomEvent<RecorderStartDetail>} av-recorder-start - Recording started: `{ mimeType, source, conversion, audio }`.
 * @fires {CustomEvent} av-recorder-pause - Recording paused.
 * @fires {CustomEvent} av-recorder-resume - Recording resumed.
 * @fires {CustomEvent<RecorderProgressDetail>} av-recorder-progress - The encoder or ffmpeg.wasm loading, or the file being made: `{ stage, progress }`.
 * @fires {CustomEvent<RecorderCompleteDetail>} av-recorder-complete - The file is ready: `{ blob, mimeType, duration, size, fileName }`.
 * @fires {CustomEvent<RecorderErrorDetail>} av-recorder-error - Recording or conversion failed: `{ code, message, recording? }`.
 * @fires {CustomEvent<RecorderSnapshotDetail>} av-snapshot - A JPEG was captured: `{ blob, width, height, source }`.
 *
 * @csspart controls - The toolbar.
 * @csspart button - Every button.
 * @csspart start-button - Record.
 * @csspart pause-button - Pause / resume.
 * @csspart stop-button - Stop.
 * @csspart snapshot-button - Snapshot.
 * @csspart elapsed - The recorded time.
 * @csspart status - The state line.
 * @csspart notice - Said while recording without sound, when the browser could not mix the voices.
 * @csspart progress - The conversion progress bar.
 * @csspart download - The link to save the recording.
 * @csspart snapshot-download - The link to save the last snapshot.
 *
 * @cssprop [--av-recorder-record-color] - Record button and the recording dot (default: the danger colour).
 * @cssprop [--av-recorder-button-background] - Other buttons (default: the text colour at 9% over the surface).
 * @cssprop [--av-recorder-color] - Text colour of this element only (else `--av-color`).
 * @cssprop [--av-recorder-background] - Surface of this element only (painted only with `theme`) (else `--av-background`).
 * @cssprop [--av-recorder-accent] - Accent of this element only (else `--av-accent`).
 * @cssprop [--av-recorder-danger] - Danger colour of this element only (else `--av-danger`).
 * @cssprop [--av-recorder-radius] - Corner radius of this element only (else `--av-radius`).
 * @cssprop [--av-recorder-font] - Font family of this element only (else `--av-font`).
 */
export class AvRecorder extends LitElement {
  private readonly translation = new TranslationController(this, 'av-recorder', avRecorderStrings);

  static override styles = styles;

  private readonly binding = new SessionBinding(this, (session) => this.onSession(session));
  private job: RecordingJob | undefined;
  private jobSource = '';
  private offState: (() => void) | undefined;
  private resultUrl = '';

  /** Id of the `<av-room>` to record (not needed when nested inside it). */
  @property() for = '';

  /** Standalone: base URL of the av-server. */
  @property() server = '';

  /** Standalone: room to join (as a member that sends nothing) to record it. */
  @property() room = '';

  /** Standalone: display name. */
  @property() name = '';

  /** What to record: `room` (everyone, default), `self`, or `peer:<peer id>`. */
  @property() source = 'room';

  /** `mp4` (default) or `webm`. */
  @property() format: 'mp4' | 'webm' = 'mp4';

  /** Audio codec of an MP4: `opus` (default, recorded natively) or `aac` (for players without Opus; made while recording, or by ffmpeg.wasm after it). */
  @property({ attribute: 'audio-codec' }) audioCodec: 'opus' | 'aac' = 'opus';

  /** `off`: never use the browser's own MP4 recording; record WebM and transcode to H.264 with ffmpeg.wasm. */
  @property({ attribute: 'native-mp4', converter: onOffConverter }) nativeMp4 = true;

  /** Width of the recorded video (default 1280 for a room, the source's own width for one person). */
  @property({ type: Number }) width?: number;

  /** Height of the recorded video (default 720 for a room, the source's own height for one person). */
  @property({ type: Number }) height?: number;

  /** Frames per second of room and member recordings. */
  @property({ type: Number }) fps = 30;

  /** Stops by itself after this many seconds (pauses excluded). */
  @property({ type: Number, attribute: 'max-duration' }) maxDuration?: number;

  /** Name of the saved file without extension: `{room}`, `{source}`, `{date}` and `{time}` are filled in. */
  @property({ attribute: 'file-name' }) fileName = 'recording-{room}-{date}-{time}';

  /** JPEG quality of snapshots, 0…1. */
  @property({ type: Number }) quality = 0.92;

  /** Folder URL holding `ffmpeg-core.js` and `ffmpeg-core.wasm` (default: the copy beside the bundle, else the server's `/ffmpeg/`). */
  @property({ attribute: 'ffmpeg-base' }) ffmpegBase = '';

  /** Console logging: `silent`, `error`, `warn`, `info` or `debug`. */
  @property({ attribute: 'log-level' }) logLevel: LogLevel = 'warn';

  /** `dark` or `light`: the element's colour scheme, and it paints its own surface. Unset, it follows the page's `color-scheme`. */
  @property({ reflect: true }) theme?: 'light' | 'dark';

  /** User-visible strings; assign a translated copy of `avRecorderStrings`. */
  @property({ attribute: false }) strings: AvRecorderStrings = avRecorderStrings;

  /** Read-only: where the recorder is. */
  @property({ reflect: true }) state: RecorderState = 'idle';

  /** The last finished recording (the original when a conversion failed). */
  @state() result: RecorderCompleteDetail | undefined;

  @state() private progress: RecorderProgressDetail | undefined;
  @state() private error = '';
  @state() private shot: (Snapshot & { url: string }) | undefined;

  /** The session beneath. */
  get session(): RoomSession | undefined {
    return this.binding.session;
  }

  /** The stream being recorded, while recording: for `room`, the drawn grid and the mix of every voice. */
  get stream(): MediaStream | undefined {
    return this.job?.stream;
  }

  /** Seconds recorded so far (pauses excluded). */
  get elapsed(): number {
    return this.job?.elapsed ?? this.result?.duration ?? 0;
  }

  private onSession(session: RoomSession | undefined): void {
    if (!session && this.job && this.jobSource !== 'stream') void this.stop();
    // Record and Snapshot are enabled only while the room is live: follow its state.
    this.offState?.();
    this.offState = session?.on('state', () => this.requestUpdate());
    this.requestUpdate();
  }

  override connectedCallback(): void {
    super.connectedCallback();
    // Fetch the recording code while the page is idle, so Record responds at once (ffmpeg.wasm stays unloaded).
    void import('../core/recording.js').catch(() => {});
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    queueMicrotask(() => {
      if (this.isConnected) return;
      // Removed while recording: finish the file (av-recorder-complete still fires) and let go of every source.
      if (this.job) void this.stop();
      this.revokeResult();
      if (this.shot) URL.revokeObjectURL(this.shot.url);
    });
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (this.hasUpdated && (changed.has('for') || changed.has('room') || changed.has('server'))) {
      this.binding.unbind();
      this.binding.bind();
    }
  }

  /** Starts recording the `source` of the room. */
  start(): Promise<void> {
    return this.begin(this.source as RecordingSource, this.source);
  }

  /** Starts recording any MediaStream (its tracks are never stopped by us). */
  recordStream(stream: MediaStream): Promise<void> {
    return this.begin(stream, 'stream');
  }

  private async begin(source: RecordingSource, label: string): Promise<void> {
    if (this.job) return;
    this.error = '';
    this.progress = undefined;
    let job: RecordingJob;
    try {
      const { RecordingJob } = await import('../core/recording.js');
      if (this.job) return;
      job = await RecordingJob.create({
        source,
        session: this.session,
        format: this.format,
        audioCodec: this.audioCodec,
        nativeMp4: this.nativeMp4,
        width: this.width,
        height: this.height,
        fps: this.fps,
        maxDurationSeconds: this.maxDuration,
        coreBase: this.ffmpegBase || undefined,
      });
    } catch (e) {
      this.fail({ code: 'not-ready', message: (e as Error).message });
      return;
    }
    // Started twice while the first was being prepared, or removed meanwhile: this one is not needed.
    if (this.job || !this.isConnected) return void job.destroy();
    this.job = job;
    this.jobSource = label;
    job.on('start', ({ mimeType, plan, audio }) =>
      this.fire('av-recorder-start', { mimeType, source: label, ...(plan.conversion ? { conversion: plan.conversion } : {}), audio }),
    );
    job.on('tick', () => this.requestUpdate());
    job.on('pause', () => {
      this.state = 'paused';
      this.fire('av-recorder-pause', {});
    });
    job.on('resume', () => {
      this.state = 'recording';
      this.fire('av-recorder-resume', {});
    });
    job.on('progress', (p) => {
      this.progress = p;
      this.state = 'converting';
      this.fire('av-recorder-progress', p);
    });
    job.on('error', ({ code, message, recording }) => {
      if (code === 'record-failed') {
        // MediaRecorder stops itself after an error: what it recorded still arrives through 'complete'.
        this.error = message;
        this.fire('av-recorder-error', { code, message });
        return;
      }
      const original = recording && this.finish(recording);
      this.fail({ code, message, ...(original ? { recording: original } : {}) });
    });
    job.on('complete', (result) => {
      const detail = this.finish(result);
      this.release(job);
      this.state = 'done';
      this.fire('av-recorder-complete', detail);
    });
    this.revokeResult();
    job.start();
    this.state = 'recording';
  }

  /** Pauses the recording. */
  pause(): void {
    this.job?.pause();
  }

  /** Resumes a paused recording. */
  resume(): void {
    this.job?.resume();
  }

  /** Stops and resolves with the file once it is ready (converted when needed); `undefined` when nothing was recording. */
  async stop(): Promise<RecorderCompleteDetail | undefined> {
    const job = this.job;
    if (!job) return this.result;
    await job.stop();
    return this.result;
  }

  /** Lets go of a finished (or failed) recording job and everything it drew or mixed. */
  private release(job: RecordingJob): void {
    job.destroy();
    if (this.job === job) this.job = undefined;
  }

  /**
   * A JPEG of the source at its own size: the recorded picture while recording, else our camera (`self`), the
   * member's video (`peer:<id>`) or the room grid. Fires `av-snapshot` and offers the file for download.
   */
  async snapshot(): Promise<Snapshot> {
    let shot: Snapshot;
    if (this.job) shot = await this.job.snapshot(this.quality);
    else {
      if (!this.session) throw new Error(this.strings.noRoom);
      const { snapshotSource } = await import('../core/recording.js');
      shot = await snapshotSource(this.source as 'room', this.session, { width: this.width, height: this.height, quality: this.quality });
    }
    if (this.shot) URL.revokeObjectURL(this.shot.url);
    this.shot = { ...shot, url: URL.createObjectURL(shot.blob) };
    this.fire('av-snapshot', { ...shot, source: this.jobSource || this.source });
    return shot;
  }

  private finish(result: RecordingResult): RecorderCompleteDetail {
    const ext = result.mimeType.includes('mp4') ? 'mp4' : 'webm';
    const now = new Date();
    const pad = (n: number) => String(n).padStart(2, '0');
    const fields: Record<string, string> = {
      room: this.session?.options.room ?? '',
      source: this.jobSource.replace(':', '-'),
      date: `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`,
      time: `${pad(now.getHours())}-${pad(now.getMinutes())}-${pad(now.getSeconds())}`,
    };
    const base = this.fileName
      .replace(/\{(\w+)\}/g, (m, k: string) => fields[k] ?? m)
      .replace(/-+/g, '-')
      .replace(/^-|-$/g, '');
    this.revokeResult();
    this.resultUrl = URL.createObjectURL(result.blob);
    this.result = { ...result, fileName: `${safeFileName(base || 'recording')}.${ext}` };
    return this.result;
  }

  private fail(detail: RecorderErrorDetail): void {
    this.error = detail.message;
    this.state = detail.recording ? 'done' : 'error';
    if (this.job) this.release(this.job);
    this.fire('av-recorder-error', detail);
  }

  private revokeResult(): void {
    this.result = undefined;
    if (this.resultUrl) URL.revokeObjectURL(this.resultUrl);
    this.resultUrl = '';
  }

  private fire(type: string, detail: unknown): void {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  protected override render() {
    const s = this.strings;
    const st = this.state;
    const active = st === 'recording' || st === 'paused';
    const t = Math.floor(this.elapsed);
    const clock = `${String(Math.floor(t / 60)).padStart(2, '0')}:${String(t % 60).padStart(2, '0')}`;
    const result = this.result;
    return html`
      <div part="controls" role="toolbar" aria-label=${s.toolbar}>
        ${
          active || st === 'converting'
            ? html`<button part="button pause-button" aria-pressed=${st === 'paused'} ?disabled=${!active} @click=${() => (st === 'paused' ? this.resume() : this.pause())}>
                ${st === 'paused' ? s.resume : s.pause}
              </button>
              <button part="button stop-button" ?disabled=${!active} @click=${() => void this.stop()}>${stopIcon()}${s.stop}</button>`
            : html`<button part="button start-button" ?disabled=${!this.session?.live} @click=${() => void this.start()}>${recordIcon()}${s.start}</button>`
        }
        <button part="button snapshot-button" ?disabled=${!this.session?.live && !this.job} @click=${() => void this.snapshot().catch((e: Error) => (this.error = e.message))}>
          ${snapshotIcon()}${s.snapshot}
        </button>
        <span part="elapsed" role="timer" aria-label=${s.elapsed}>${clock}</span>
        <span part="status" class="meta" role="status">${this.session || this.job ? s.state[st] : s.noRoom}</span>
      </div>
      ${
        st === 'converting' && this.progress
          ? html`<div class="result">
            <progress part="progress" aria-label=${s.progress} max="1" value=${ifDefined(this.progress.stage === 'loading' ? undefined : String(this.progress.progress))}></progress>
            <span class="meta">${this.progress.stage === 'loading' ? s.loading : `${Math.round(this.progress.progress * 100)}%`}</span>
          </div>`
          : nothing
      }
      ${active && this.job?.audio === 'none' && this.jobSource !== 'stream' ? html`<div part="notice" class="meta" role="status">${s.soundless}</div>` : nothing}
      ${this.error ? html`<div class="error" role="alert">${this.error}${result ? html` ${s.original}` : nothing}</div>` : nothing}
      ${
        result || this.shot
          ? html`<div class="result">
            ${result ? html`<a part="download" href=${this.resultUrl} download=${result.fileName}>${downloadIcon()}${s.download(result.mimeType.includes('mp4') ? 'MP4' : 'WebM', formatBytes(result.size))}</a>` : nothing}
            ${this.shot ? html`<a part="snapshot-download" href=${this.shot.url} download="snapshot.jpg">${downloadIcon()}${s.downloadSnapshot(this.shot.width, this.shot.height)}</a>` : nothing}
          </div>`
          : nothing
      }
    `;
  }
}

if (!customElements.get('av-recorder')) customElements.define('av-recorder', AvRecorder);

declare global {
  interface HTMLElementTagNameMap {
    'av-recorder': AvRecorder;
  }
}
