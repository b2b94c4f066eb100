import { LitElement, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { property, state } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import { live as liveValue } from 'lit/directives/live.js';
import type { LogLevel } from '../core/log.js';
import type { RemotePeer } from '../core/peer-link.js';
import type { Role } from '../core/room-protocol.js';
import type { RoomSession, RoomSessionOptions, SessionState } from '../core/session.js';
import { saveBlob, snapshotJpeg, type Snapshot } from '../core/snapshot.js';
import { safeFileName } from '../core/file-name.js';
import { preopenRoomSocket } from '../core/room-link.js';
import { avRoomStrings, type AvRoomStrings } from './av-room.strings.js';
import { TranslationController } from '../shared/i18n.js';
import { styles } from './av-room.styles.js';
import { RoomController } from './room-controller.js';
import { onOffConverter, optionalOnOffConverter } from '../shared/attributes.js';
import { DeviceController } from './device-controller.js';
import {
  cameraIcon,
  cameraOffIcon,
  joinIcon,
  leaveIcon,
  maximizeIcon,
  micIcon,
  micOffIcon,
  minimizeIcon,
  pinIcon,
  pinOffIcon,
  screenShareIcon,
  screenShareOffIcon,
  settingsIcon,
  usersIcon,
} from '../shared/icons.js';
import { canChooseSpeaker, type DeviceKind, type DeviceList } from '../core/devices.js';
import {
  DEFAULT_AUDIO,
  DEFAULT_VIDEO,
  MUSIC_AUDIO,
  parseAudioCodec,
  parseBounded,
  parseResolution,
  parseVideoCodec,
  type MediaSettings,
} from '../core/media-settings.js';

/** Detail of `av-snapshot`. */
export interface SnapshotDetail extends Snapshot {
  /** Whose video it is (our own peer id for the self-view). */
  peerId: string;
}

/** Detail of `av-pin-change`. */
export interface PinChangeDetail {
  /** The pinned member's peer id (ours for the self-view), or `null` when nothing is pinned. */
  peerId: string | null;
}

/**
 * A video room: joins `room` on `server` when it is in the document, shows a self-view and one tile per member,
 * and offers mute, camera and leave buttons. Removing the element ends the call; moving it does not.
 *
 * @summary Real-time audio/video room: `<av-room server="https://…" room="standup" name="Ann">`.
 * @tag av-room
 *
 * @attr {boolean} waiting - Read-only: a viewer whose room has no presenter yet.
 * @attr {string} state - Read-only: `idle`, `connecting`, `connected`, `reconnecting` (signalling offline or moving to another server; calls continue, retried until it answers), `closed` or `error`; style with `av-room[state="error"]`.
 *
 * @attr lang - Language of the element's strings: its own, else the closest ancestor's (`<html lang>`); English, `zh-CN`, or any added with `registerTranslation`.
 * @fires {CustomEvent<RoomJoinDetail>} av-room-join - Joined the room: `{ room, peerId }`.
 * @fires {CustomEvent<RoomLeaveDetail>} av-room-leave - Left the room: `{ room, reason }` (`left`, `removed` or `error`).
 * @fires {CustomEvent<PeerDetail>} av-peer-join - A member joined (or was present when we joined): `{ peerId, name }`.
 * @fires {CustomEvent<PeerDetail>} av-peer-leave - A member left: `{ peerId, name }`.
 * @fires {CustomEvent<RoomErrorDetail>} av-room-error - Something failed: `{ code, message, fatal }` (codes include `auth-failed`, `room-full`, `peer-unreachable`, `server-lost`, `kicked`, `room-closed`).
 * @fires {CustomEvent<{ session: RoomSession }>} av-room-session - A new session was created (joining or re-joining); companions such as `<av-chat>` follow it.
 * @fires {CustomEvent<SnapshotDetail>} av-snapshot - A JPEG was captured with `snapshot()`: `{ blob, width, height, peerId }`.
 * @fires {CustomEvent<PathDetail>} av-peer-path - How data reaches a member changed: `{ peerId, path }` (`p2p`, `turn` or `server`).
 * @fires {CustomEvent<MessageDetail>} av-room-message - Data on the transparent channel: `{ from, data, via }`.
 * @fires {CustomEvent<MuteRequestDetail>} av-room-mute-request - The server application muted us (`requestMute`): `{ by }`; `muted` is set and the status line says who asked.
 * @fires {CustomEvent<WarningDetail>} av-room-warning - Something was done differently from what was asked: `{ code, message }` (`media-fallback`: resampled audio, a camera that kept its size; `codec-unavailable`; `device-lost`: a device went away and the default is used; `media-unavailable`: no camera or no microphone).
 * @fires {CustomEvent<DevicesDetail>} av-devices-change - The devices in use changed: `{ audioinput, videoinput, audiooutput }` (device ids).
 * @fires {CustomEvent<ActiveSpeakerDetail>} av-active-speaker - The member speaking loudest for a while changed: `{ peerId, name, self }`.
 * @fires {CustomEvent<SpeakingDetail>} av-speaking - A member (or we, `self: true`) started or stopped speaking, from measured audio levels: `{ peerId, speaking, self }`.
 * @fires {CustomEvent<PinChangeDetail>} av-pin-change - The user pinned a tile or unpinned it, or the pinned member left: `{ peerId }` (`null`: nothing pinned). Not fired when the page sets `pinned`.
 * @fires {CustomEvent<QualityDetail>} av-network-quality - A member's connection quality changed: `{ peerId, quality, rtt, loss, bitrate }` (`good`, `fair`, `poor`; measured every 2 s).
 *
 * @slot - Companion elements that use this room, such as `<av-chat>`, shown below the call.
 *
 * @csspart grid - The grid of tiles.
 * @csspart tile - Every tile (self and remote).
 * @csspart self - The self-view tile.
 * @csspart remote - A remote member's tile.
 * @csspart video - The video inside a tile.
 * @csspart name - The name label of a tile.
 * @csspart controls - The toolbar holding the buttons.
 * @csspart button - Every button.
 * @csspart mic-button - The mute/unmute button.
 * @csspart camera-button - The camera on/off button.
 * @csspart leave-button - The leave (and join again) button.
 * @csspart share-button - The share screen / stop sharing button.
 * @csspart settings-button - The button that opens the settings panel.
 * @csspart participants-button - The button that shows and hides the participants list (its name has the count).
 * @csspart participants - The participants list panel (a non-modal section; Escape closes it).
 * @csspart participant - One member (or us) in the participants list: name and status.
 * @csspart pin-button - Pin / unpin, on every tile (shown on hover and keyboard focus; always on touch screens) and in the participants list.
 * @csspart fullscreen-button - Full screen / exit full screen, on every tile (where the browser allows full screen).
 * @csspart settings - The settings panel (a modal dialog).
 * @csspart prejoin - The pre-join view (preview, level meter, devices, name, Join).
 * @csspart meter - The microphone level meter of the pre-join view.
 * @csspart field - A labelled control (select, checkbox, text field) of the settings panel and pre-join view.
 * @csspart quality - A remote tile's connection quality badge (`data-quality` is `good`, `fair` or `poor`).
 * @csspart join-button - The Join button of the pre-join view.
 * @csspart sound-button - "Turn on sound", shown only while the browser blocks audio until a click.
 * @csspart status - The status line.
 *
 * @cssprop [--av-room-gap=0.75rem] - Space between tiles (else `--av-space-m`).
 * @cssprop [--av-room-tile-min-width=14rem] - Narrowest a tile gets before the grid wraps.
 * @cssprop [--av-room-tile-radius] - Corner radius of tiles (else the element's radius).
 * @cssprop [--av-room-tile-background=#20242c] - Tile background behind video (dark in both themes: names on tiles are white).
 * @cssprop [--av-room-video-fit=cover] - `object-fit` of videos.
 * @cssprop [--av-room-button-background] - Button background (default: the text colour at 9% over the surface).
 * @cssprop [--av-room-button-active-background] - Background of a pressed (muted, camera off) button (default: the text colour; its text takes the surface colour).
 * @cssprop [--av-room-speaking-color=#2ecc71] - Ring around the tile of a member who speaks.
 * @cssprop [--av-room-panel-background] - Background of the settings panel and pre-join view (default: the surface).
 * @cssprop [--av-room-color] - Text colour of this element only (else `--av-color`).
 * @cssprop [--av-room-background] - Surface of this element only (painted only with `theme`; the settings panel and pre-join view always) (else `--av-background`).
 * @cssprop [--av-room-accent] - Accent of this element only (else `--av-accent`).
 * @cssprop [--av-room-danger] - Danger colour of this element only (else `--av-danger`).
 * @cssprop [--av-room-radius] - Corner radius of this element only (else `--av-radius`).
 * @cssprop [--av-room-font] - Font family of this element only (else `--av-font`).
 */
export class AvRoom extends LitElement {
  private readonly translation = new TranslationController(this, 'av-room', avRoomStrings);

  static override styles = styles;

  private readonly controller = new RoomController(this);
  private readonly deviceController = new DeviceController(this);

  constructor() {
    super();
    // The session has muted the microphone already; the property (and the button) follow.
    this.addEventListener('av-room-mute-request', () => (this.muted = true));
    // A pin on someone who is gone (or on our own tile once we left) means nothing any more.
    this.addEventListener('av-peer-leave', (e) => {
      if ((e as CustomEvent<{ peerId: string }>).detail.peerId === this.pinned) this.setPin(null);
    });
    this.addEventListener('av-room-leave', () => {
      if (this.pinned) this.setPin(null);
    });
  }

  override connectedCallback(): void {
    document.addEventListener('fullscreenchange', this.onFullscreenChange);
    // The room socket's handshakes run while the styles are parsed and the first view renders; the join claims it.
    if (this.room && !this.prejoin && !this.controller.session) {
      preopenRoomSocket(this.server, this.room);
    }
    super.connectedCallback();
  }

  /** The first view waits until the join has placed its calls (at most 0.4 s): the members answer while it renders. */
  protected override async scheduleUpdate(): Promise<void> {
    if (!this.hasUpdated) await this.controller.callsPlaced;
    await super.scheduleUpdate();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    document.removeEventListener('fullscreenchange', this.onFullscreenChange);
  }

  /** Base URL of the av-server (default: the page's origin), or several separated by spaces: standbys, in order. */
  @property() server = '';

  /** Room to join (1–64 characters). Changing it moves to the new room. */
  @property() room = '';

  /** Display name shown to others (read when joining; the pre-join view lets the user type it). */
  @property() name = '';

  /** Send the microphone; `audio="off"` joins without it. Read when joining. */
  @property({ converter: onOffConverter }) audio = true;

  /** Send the camera; `video="off"` joins with the camera off (it can be turned on later). Read when joining. */
  @property({ converter: onOffConverter }) video = true;

  /** Microphone muted. Set it to mute or unmute; the mute button toggles it. */
  @property({ type: Boolean, reflect: true }) muted = false;

  /** Camera turned off. Set it to turn the camera off or on; the camera button toggles it. */
  @property({ type: Boolean, reflect: true, attribute: 'camera-off' }) cameraOff = false;

  /** `mesh` (default: everyone sends and receives) or `broadcast` (presenters publish, viewers watch). */
  @property() mode: 'mesh' | 'broadcast' = 'mesh';

  /**
   * In broadcast mode, this member presents (publishes); without it, it is a viewer that is never asked for camera
   * or microphone. (Not `role="presenter"`: `role` is ARIA's attribute, and an invalid ARIA role on the host is an
   * accessibility violation on every page that uses it.)
   */
  @property({ type: Boolean, reflect: true }) presenter = false;

  /** Server password, when the server has one. */
  @property() key = '';

  /** Room password, when the room has one. */
  @property() password = '';

  /** Signed room token from your backend (stands for both passwords). */
  @property() token = '';

  /** Largest mesh this element accepts (the first member sets the room's limit unless the server configures it). */
  @property({ type: Number, attribute: 'max-participants' }) maxParticipants = 6;

  /**
   * Broadcast mode: most viewers one member sends the video to. Further viewers receive it through viewers that
   * forward it (a tree), so the presenter's uplink does not bound the audience. The first member's value sets the
   * room's, up to the server's (default 4); unset, the server's.
   */
  @property({ type: Number }) fanout?: number;

  /** `relay` sends everything through the TURN relay (hides addresses from peers); default `all`. */
  @property({ attribute: 'ice-policy' }) icePolicy: RTCIceTransportPolicy = 'all';

  /** Console logging of the underlying session: `silent`, `error`, `warn`, `info` or `debug`. */
  @property({ attribute: 'log-level' }) logLevel: LogLevel = 'warn';

  /** Show a pre-join view first: camera preview, microphone level, device choice and name; the call starts on Join. */
  @property({ type: Boolean }) prejoin = false;

  /** Camera size: `WxH` (`320x240`, `1280x720`, …, 176x144 to 1280x1024 on most cameras) or `qcif`, `qvga`, `cif`, `vga`, `svga`, `hd`, `sxga`. Live. */
  @property() resolution = '';

  /** Camera frame rate (1–60). Live. */
  @property({ attribute: 'frame-rate' }) frameRate = '';

  /** Upper limit of the video we send, bits per second (e.g. `300000`). Live. */
  @property({ attribute: 'max-bitrate' }) maxBitrate = '';

  /** Microphone sample rate: `16000`, `44100` or `48000`; resampled through Web Audio where the device cannot (an `av-room-warning` says so). Live. */
  @property({ attribute: 'sample-rate' }) sampleRate = '';

  /** `1` (mono) or `2` (stereo, sent as stereo Opus). Live (a stereo change places the calls again, without leaving). */
  @property() channels = '';

  /** Upper limit of the audio we send, bits per second. Live. */
  @property({ attribute: 'audio-bitrate' }) audioBitrate = '';

  /** Echo cancellation (default on; `off` turns it off). Live. */
  @property({ attribute: 'echo-cancellation', converter: optionalOnOffConverter }) echoCancellation?: boolean;

  /** Noise suppression (default on; `off` turns it off). Live. */
  @property({ attribute: 'noise-suppression', converter: optionalOnOffConverter }) noiseSuppression?: boolean;

  /** Automatic gain control (default on; `off` turns it off). Live. */
  @property({ attribute: 'auto-gain', converter: optionalOnOffConverter }) autoGain?: boolean;

  /** Music preset: no echo cancellation, noise suppression or automatic gain, stereo Opus at 128 kbps (attributes given explicitly win). Live. */
  @property({ type: Boolean }) music = false;

  /** Preferred video codec: `vp8`, `vp9`, `h264` or `av1` (a warning and the browser's default when it lacks it). Applies to calls placed afterwards. */
  @property({ attribute: 'video-codec' }) videoCodec = '';

  /** Preferred audio codec: `opus` (default), `red`, `g722`, `pcmu` or `pcma`. Applies to calls placed afterwards. */
  @property({ attribute: 'audio-codec' }) audioCodec = '';

  /** `grid` (default) or `speaker`: the active speaker's tile is shown large, first. */
  @property({ reflect: true }) layout: 'grid' | 'speaker' = 'grid';

  /**
   * Peer id of the member whose tile is pinned (our own `session.peerId` pins the self-view), or `''` for none. The
   * pinned tile is shown first and full width, in either layout; pinning is local (others see nothing of it). Cleared
   * when that member leaves. The tiles' pin buttons set it and fire `av-pin-change`.
   */
  @property({ reflect: true, converter: { toAttribute: (id: string) => id || null } }) pinned = '';

  /** Remember device choices on this origin (IndexedDB) and pick them again; `off` forgets nothing and remembers nothing. */
  @property({ attribute: 'remember-devices', converter: onOffConverter }) rememberDevices = true;

  /**
   * Send this MediaStream (a canvas, a screen capture, a Web Audio mix) instead of the camera and microphone. Can
   * be set or cleared mid-call: tracks are replaced without re-joining. It stays the page's: we never stop its tracks.
   */
  @property({ attribute: false }) localStream?: MediaStream;

  /** `dark` or `light`: the element's colour scheme, and it paints its own surface. Unset, it follows the page's `color-scheme`. */
  @property({ reflect: true }) theme?: 'light' | 'dark';

  /** User-visible strings; assign a translated copy of `avRoomStrings`. */
  @property({ attribute: false }) strings: AvRoomStrings = avRoomStrings;

  /** Remote audio was refused by the browser's autoplay policy: videos play muted until the user turns sound on. */
  @state() private soundBlocked = false;
  /** The pre-join view was passed (Join pressed). */
  @state() private prejoined = false;
  @state() private settingsOpen = false;
  @state() private participantsOpen = false;
  /** `data-peer-id` of the tile shown full screen, if one is. */
  @state() private fullscreenId: string | undefined;

  /** Connection state (also reflected as the `state` attribute). */
  get state(): SessionState {
    return this.controller.state;
  }

  /** The session beneath the element, for the JS API (`send`, `getStats`, …), once joining has started. */
  get session(): RoomSession | undefined {
    return this.controller.session;
  }

  /** The other members of the room. */
  get peers(): RemotePeer[] {
    return this.controller.peers;
  }

  /** Peer id of the member speaking loudest lately (ours when it is us); see `av-active-speaker`. */
  get activeSpeaker(): string | undefined {
    return this.controller.activeSpeaker;
  }

  /** Our role in the room, from `mode` and `role`. */
  private get sessionRole(): Role {
    return this.mode === 'broadcast' ? (this.presenter ? 'presenter' : 'viewer') : 'member';
  }

  /** Capture, processing and encoder parameters from the attributes. */
  get mediaSettings(): MediaSettings {
    const size = parseResolution(this.resolution) ?? [DEFAULT_VIDEO.width, DEFAULT_VIDEO.height];
    const music = this.music ? MUSIC_AUDIO : {};
    const rate = parseBounded(this.sampleRate, 8000, 48000);
    const channels = parseBounded(this.channels, 1, 2);
    const fps = parseBounded(this.frameRate, 1, 60);
    const vbr = parseBounded(this.maxBitrate, 10_000, 50_000_000);
    const abr = parseBounded(this.audioBitrate, 6_000, 510_000) ?? music.maxBitrate;
    const vc = parseVideoCodec(this.videoCodec);
    const ac = parseAudioCodec(this.audioCodec);
    return {
      video: {
        width: size[0],
        height: size[1],
        ...(fps ? { frameRate: fps } : {}),
        ...(vbr ? { maxBitrate: vbr } : {}),
        ...(vc ? { codec: vc } : {}),
      },
      audio: {
        echoCancellation: this.echoCancellation ?? music.echoCancellation ?? DEFAULT_AUDIO.echoCancellation,
        noiseSuppression: this.noiseSuppression ?? music.noiseSuppression ?? DEFAULT_AUDIO.noiseSuppression,
        autoGainControl: this.autoGain ?? music.autoGainControl ?? DEFAULT_AUDIO.autoGainControl,
        ...(rate ? { sampleRate: rate } : {}),
        ...(channels ? { channels: channels as 1 | 2 } : music.channels ? { channels: music.channels } : {}),
        ...(abr ? { maxBitrate: abr } : {}),
        ...(ac ? { codec: ac } : {}),
      },
    };
  }

  /** @internal */
  sessionOptions(): RoomSessionOptions | undefined {
    if (!this.room) return undefined;
    if (this.prejoin && !this.prejoined) {
      void this.startPreview();
      return undefined;
    }
    const captured = this.deviceController.takePreview();
    const chosen = this.deviceController.chosen;
    return {
      role: this.sessionRole,
      key: this.key || undefined,
      password: this.password || undefined,
      token: this.token || undefined,
      maxParticipants: this.maxParticipants,
      ...(this.fanout && this.fanout > 0 ? { fanout: Math.floor(this.fanout) } : {}),
      icePolicy: this.icePolicy === 'relay' ? 'relay' : 'all',
      server: this.server || undefined,
      room: this.room,
      name: this.name,
      audio: this.audio,
      video: this.video && !this.cameraOff,
      muted: this.muted,
      logLevel: this.logLevel,
      settings: this.mediaSettings,
      rememberDevices: this.rememberDevices,
      ...(chosen.audioinput || chosen.videoinput || chosen.audiooutput ? { devices: { ...chosen } } : {}),
      ...(captured ? { captured } : {}),
      ...(this.localStream ? { localStream: this.localStream } : {}),
    };
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    const session = this.controller.session;
    if ((changed.has('room') || changed.has('server') || changed.has('mode') || changed.has('presenter')) && this.hasUpdated) {
      this.controller.restart();
      return;
    }
    if (!session) return;
    if (changed.has('localStream') && this.hasUpdated) void session.setLocalStream(this.localStream);
    if (changed.has('muted') && session.audioMuted !== this.muted) session.setAudioEnabled(!this.muted);
    if (changed.has('cameraOff') && this.hasUpdated && session.state !== 'idle') {
      session.setVideoEnabled(!this.cameraOff).catch((err: Error) => {
        this.cameraOff = true;
        this.fire('av-room-error', { code: 'media-unavailable', message: err.message, fatal: false });
      });
    }
    const live = [
      'resolution',
      'frameRate',
      'maxBitrate',
      'sampleRate',
      'channels',
      'audioBitrate',
      'echoCancellation',
      'noiseSuppression',
      'autoGain',
      'music',
      'videoCodec',
      'audioCodec',
    ];
    if (this.hasUpdated && live.some((k) => changed.has(k as keyof AvRoom))) {
      void session
        .updateMedia(this.mediaSettings)
        .catch((err: Error) => this.fire('av-room-warning', { code: 'media-fallback', message: err.message }));
    }
  }

  protected override firstUpdated(): void {
    // Escape on the settings dialog ("cancel" does not bubble: caught on the way down).
    this.renderRoot.addEventListener('cancel', (e) => this.onSettingsCancel(e), true);
  }

  protected override updated(): void {
    if (this.getAttribute('state') !== this.state) this.setAttribute('state', this.state);
    const waiting = this.sessionRole === 'viewer' && this.state === 'connected' && this.controller.peers.length === 0;
    this.toggleAttribute('waiting', waiting);
    // Remote audio goes to the chosen speaker.
    const sink = this.session?.devices.audiooutput ?? this.deviceController.chosen.audiooutput;
    if (sink !== undefined && canChooseSpeaker()) {
      for (const v of this.renderRoot.querySelectorAll<HTMLVideoElement>('video.remote')) {
        if (v.sinkId !== sink) v.setSinkId(sink).catch(() => {});
      }
    }
  }

  private fire(type: string, detail: unknown): void {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  private toggleMic(): void {
    if (this.session?.mediaUnavailable.audio) return;
    this.muted = !this.muted;
  }

  private toggleCamera(): void {
    if (this.session?.mediaUnavailable.video && !this.session.localMedia.video) return;
    this.cameraOff = !this.cameraOff;
  }

  private onLeaveClick(): void {
    if (this.controller.session && this.state !== 'closed' && this.state !== 'error') this.leave();
    else this.join();
  }

  /**
   * Plays a remote video. When the browser refuses sound before a click (autoplay policy), the video plays muted at
   * once and one "Turn on sound" button appears until the user presses it.
   */
  private onRemoteMedia(e: Event): void {
    const video = e.target as HTMLVideoElement;
    if (this.soundBlocked) video.muted = true;
    video.play().catch(() => {
      video.muted = true;
      this.soundBlocked = true;
      this.requestUpdate();
      void video.play().catch(() => {});
    });
  }

  private enableSound(): void {
    this.soundBlocked = false;
    for (const v of this.renderRoot.querySelectorAll<HTMLVideoElement>('video.remote')) {
      v.muted = false;
      void v.play().catch(() => {
        v.muted = true;
        this.soundBlocked = true;
        this.requestUpdate();
      });
    }
    this.requestUpdate();
  }

  /**
   * Captures a JPEG of a tile: our own camera (no argument) or a member's video (`peerId`), at the source's size.
   * Also fires `av-snapshot`; with `download`, the browser also saves it (`snapshot-<name>.jpg`).
   */
  async snapshot(peerId?: string, quality = 0.92, download = false): Promise<Snapshot> {
    const session = this.controller.session;
    const source = peerId
      ? this.renderRoot.querySelector<HTMLVideoElement>(`figure[data-peer-id="${CSS.escape(peerId)}"] video`)
      : session?.localStream;
    if (!source) throw new Error(peerId ? `no tile for ${peerId}` : 'not in a room');
    const shot = await snapshotJpeg(source, quality);
    this.fire('av-snapshot', { ...shot, peerId: peerId ?? session?.peerId ?? '' });
    if (download)
      saveBlob(shot.blob, `${safeFileName(`snapshot-${peerId ? (session?.peers.get(peerId)?.name ?? peerId) : this.name || 'me'}`)}.jpg`);
    return shot;
  }

  /** Leaves the room (the element stays, showing a "join again" button). */
  leave(): void {
    this.controller.stop('left');
  }

  /** Joins again after `leave()` or an error; in the pre-join view, joins with what was chosen there. */
  join(): void {
    this.prejoined = true;
    this.controller.restart();
  }

  /** Cameras, microphones and speakers the browser lists (labels need a capture permission first). */
  async listDevices(): Promise<DeviceList> {
    await this.deviceController.refresh();
    return this.deviceController.list;
  }

  /**
   * Uses another camera, microphone or speaker: mid-call the new track replaces the old one (no re-join); before
   * joining it is used at join. Remembered on this origin unless `remember-devices="off"`.
   */
  async selectDevice(kind: DeviceKind, deviceId: string): Promise<void> {
    const session = this.session;
    if (session && session.state !== 'closed' && session.state !== 'error') await session.setDevice(kind, deviceId);
    else await this.deviceController.choose(kind, deviceId, this.mediaSettings, this.previewWants());
    this.requestUpdate();
  }

  /** Shares a screen, window or tab instead of the camera, keeping the microphone and the calls. */
  async shareScreen(): Promise<void> {
    if (!this.session) throw new Error('not in a room');
    await this.session.shareScreen();
  }

  /** Ends screen sharing; the camera comes back if it was on. */
  async stopScreenShare(): Promise<void> {
    await this.session?.stopScreenShare();
  }

  /** Opens the settings panel (devices, audio processing). */
  async openSettings(): Promise<void> {
    this.settingsOpen = true;
    void this.deviceController.watch();
    await this.updateComplete;
    const dialog = this.renderRoot.querySelector<HTMLDialogElement>('dialog.settings');
    if (dialog && !dialog.open) dialog.showModal();
  }

  private closeSettings(): void {
    this.settingsOpen = false;
    this.renderRoot.querySelector<HTMLDialogElement>('dialog.settings')?.close();
    this.deviceController.unwatch();
    this.renderRoot.querySelector<HTMLElement>('[part~="settings-button"]')?.focus();
  }

  private previewWants(): { audio: boolean; video: boolean } {
    const publishes = this.sessionRole !== 'viewer' && !this.localStream;
    return { audio: publishes && this.audio, video: publishes && this.video && !this.cameraOff };
  }

  private previewStarted = false;
  private async startPreview(): Promise<void> {
    if (this.previewStarted) return;
    this.previewStarted = true;
    await this.deviceController.startPreview(this.mediaSettings, this.previewWants(), this.rememberDevices);
    await this.deviceController.watch();
  }

  private onPrejoinSubmit(e: Event): void {
    e.preventDefault();
    const input = this.renderRoot.querySelector<HTMLInputElement>('input[name="name"]');
    if (input?.value.trim()) this.name = input.value.trim();
    this.deviceController.unwatch();
    this.join();
  }

  private onDeviceSelect(kind: DeviceKind, e: Event): void {
    void this.selectDevice(kind, (e.target as HTMLSelectElement).value);
  }

  private renderDeviceFields(inCall: boolean) {
    const s = this.strings;
    const list = this.deviceController.list;
    const current = inCall ? (this.session?.devices ?? {}) : this.deviceController.chosen;
    const select = (kind: DeviceKind, label: string, devices: MediaDeviceInfo[]) => html`<label part="field"
      >${label}
      <select @change=${(e: Event) => this.onDeviceSelect(kind, e)}>
        <option value="" ?selected=${!current[kind]}>${s.systemDefault}</option>
        ${devices
          .filter((d) => d.deviceId && d.deviceId !== 'default')
          .map(
            (d, i) =>
              html`<option value=${d.deviceId} ?selected=${current[kind] === d.deviceId}>${d.label || `${label} ${i + 1}`}</option>`,
          )}
      </select></label
    >`;
    const publishes = this.sessionRole !== 'viewer';
    return html`${publishes ? select('videoinput', s.camera, list.cameras) : nothing}
    ${publishes ? select('audioinput', s.microphone, list.microphones) : nothing}
    ${canChooseSpeaker() ? select('audiooutput', s.speaker, list.speakers) : nothing}`;
  }

  private renderProcessingFields() {
    const s = this.strings;
    const a = this.mediaSettings.audio;
    const box = (label: string, checked: boolean, set: (v: boolean) => void) => html`<label part="field" class="check"
      ><input type="checkbox" .checked=${checked} @change=${(e: Event) => set((e.target as HTMLInputElement).checked)} />${label}</label
    >`;
    return html`${box(s.echoCancellation, a.echoCancellation, (v) => (this.echoCancellation = v))}
    ${box(s.noiseSuppression, a.noiseSuppression, (v) => (this.noiseSuppression = v))}
    ${box(s.autoGain, a.autoGainControl, (v) => (this.autoGain = v))}`;
  }

  private renderSettings() {
    const s = this.strings;
    return html`<dialog class="settings panel" part="settings" aria-labelledby="settings-title">
      <h2 id="settings-title">${s.settingsTitle}</h2>
      ${this.renderDeviceFields(true)} ${this.sessionRole !== 'viewer' ? this.renderProcessingFields() : nothing}
      <button part="button" @click=${this.closeSettings}>${s.close}</button>
    </dialog>`;
  }

  /** Escape closes the panel (the dialog's cancel): our state follows, and focus goes back to the Settings button. */
  private onSettingsCancel(e: Event): void {
    e.preventDefault();
    this.closeSettings();
  }

  private renderPrejoin() {
    const s = this.strings;
    const d = this.deviceController;
    const preview = d.preview;
    const reason = d.previewError
      ? this.receiveOnlyText(d.previewError, { audio: !preview?.getAudioTracks().length, video: !preview?.getVideoTracks().length })
      : '';
    return html`<form class="prejoin panel" part="prejoin" aria-labelledby="prejoin-title" @submit=${this.onPrejoinSubmit}>
      <h2 id="prejoin-title">${s.prejoinTitle}</h2>
      <figure class="tile self">
        <video part="video" muted autoplay playsinline aria-label=${s.preview} ?hidden=${!preview?.getVideoTracks().length} .srcObject=${liveValue(playable(preview))}></video>
      </figure>
      ${preview?.getAudioTracks().length ? html`<meter part="meter" aria-label=${s.micLevel} min="0" max="1" .value=${d.level}></meter>` : nothing}
      ${reason ? html`<p class="note">${reason}</p>` : nothing}
      <label part="field">${s.yourName} <input name="name" autocomplete="nickname" maxlength="64" .value=${this.name} /></label>
      ${this.renderDeviceFields(false)} ${this.sessionRole !== 'viewer' ? this.renderProcessingFields() : nothing}
      <button class="primary" part="button join-button" type="submit">${s.joinNow}</button>
    </form>`;
  }

  /** Why we send nothing (or only one of the two), from the browser's error and what is missing. */
  private receiveOnlyText(error: string | undefined, missing: { audio: boolean; video: boolean }): string {
    const r = this.strings.receiveOnly;
    if (missing.audio && missing.video) return error === 'NotAllowedError' || error === 'SecurityError' ? r.denied : r.missing;
    if (missing.audio) return r.noMicrophone;
    if (missing.video) return r.noCamera;
    return '';
  }

  /** What a member's tile and list entry say about them: muted, camera off, sharing, reconnecting, speaking. */
  private peerStatus(peer: RemotePeer): string {
    const s = this.strings;
    return [
      !peer.media.audio ? s.micMuted : '',
      !peer.media.video ? s.cameraIsOff : '',
      peer.media.screen ? s.sharingScreen : '',
      peer.reconnecting ? s.reconnectingPeer : '',
      this.session?.isSpeaking(peer.peerId) ? s.speaking : '',
    ]
      .filter(Boolean)
      .join(', ');
  }

  /** Classes of a tile's list item: the spotlight (first, large) and the pinned one. */
  private tileClass(id: string | undefined, spotlight: string | undefined, pin: string | undefined): string {
    return `${id && id === spotlight ? 'spotlight' : ''} ${id && id === pin ? 'pinned' : ''}`.trim();
  }

  /** A pin / unpin button for a member (or us): on a tile (over the video) or in the participants list. */
  private renderPinButton(id: string, name: string, overlay: boolean) {
    const s = this.strings;
    const on = id === this.pinned;
    const label = on ? s.unpin(name) : s.pin(name);
    return html`<button
      class="${overlay ? 'overlay' : 'pin'} ${on ? 'on' : ''}"
      part="button pin-button"
      aria-label=${label}
      title=${label}
      @click=${() => this.onPinClick(id)}
    >
      ${on ? pinOffIcon() : pinIcon()}
    </button>`;
  }

  /** The buttons over a tile's video, top right: pin and full screen. */
  private renderTileActions(id: string, name: string) {
    const s = this.strings;
    const full = this.fullscreenId === id;
    const label = full ? s.exitFullScreen : s.fullScreen;
    return html`<div class="tile-actions">
      ${id ? this.renderPinButton(id, name, true) : nothing}
      ${
        document.fullscreenEnabled
          ? html`<button class="overlay" part="button fullscreen-button" aria-label=${label} title=${label} @click=${this.onFullscreenClick}>
              ${full ? minimizeIcon() : maximizeIcon()}
            </button>`
          : nothing
      }
    </div>`;
  }

  private renderTile(peer: RemotePeer, classes: string) {
    const s = this.strings;
    const session = this.session;
    const showVideo = peer.media.video && peer.stream;
    const speaking = !!session?.isSpeaking(peer.peerId);
    const quality = session?.getQuality(peer.peerId);
    const status = this.peerStatus(peer);
    return html`<li class=${classes}><figure
      class="tile remote ${peer.media.screen ? 'screen' : ''}"
      part="tile remote"
      data-peer-id=${peer.peerId}
      ?data-speaking=${speaking}
    >
      <video class="remote" part="video" autoplay playsinline ?hidden=${!showVideo} .srcObject=${liveValue(playable(peer.stream))} @loadedmetadata=${this.onRemoteMedia}></video>
      ${showVideo ? nothing : html`<div class="avatar" aria-hidden="true">${initial(peer.name)}</div>`}
      <figcaption part="name">
        ${quality ? html`<span class="quality" part="quality" data-quality=${quality} role="img" aria-label=${s.quality[quality]} title=${s.quality[quality]}></span>` : nothing}
        ${peer.name}${status ? html` <span class="muted">(${status})</span>` : nothing}
      </figcaption>
      ${this.renderTileActions(peer.peerId, peer.name)}
    </figure></li>`;
  }

  protected override render() {
    const s = this.strings;
    const session = this.controller.session;
    if (this.prejoin && !this.prejoined && !session) return html`${this.renderPrejoin()}<slot></slot>`;
    const live = !!session && this.state !== 'closed' && this.state !== 'error';
    const publishes = this.sessionRole !== 'viewer';
    const peers = this.controller.peers;
    const selfName = this.name || 'Guest';
    const waiting = this.state === 'connected' && peers.length === 0;
    const ended = this.state === 'error' && this.controller.lastError ? s.ended[this.controller.lastError] : undefined;
    const mutedBy = this.controller.mutedBy && this.muted && live ? s.mutedBy(this.controller.mutedBy) : undefined;
    const unavailable = live && publishes && !this.localStream ? session.mediaUnavailable : { audio: false, video: false };
    const receiveOnly = this.receiveOnlyText(session?.mediaError, {
      audio: unavailable.audio && this.audio,
      video: unavailable.video && this.video && !this.cameraOff && !session?.localMedia.video,
    });
    const status = ended ?? mutedBy ?? (receiveOnly || (waiting ? (publishes ? s.alone : s.waitingForPresenter) : s.state[this.state]));
    const sharing = !!session?.sharingScreen;
    const showSelfVideo = live && (session.localMedia.video || sharing);
    const selfSpeaking = live && !!session.peerId && session.isSpeaking(session.peerId);
    const noMic = unavailable.audio;
    const noCam = unavailable.video && !session?.localMedia.video;
    // Our own tile carries our peer id (once we have one), so it can be pinned like the others.
    const selfId = (live && publishes && session.peerId) || '';
    const pin = this.pinned && live && (this.pinned === selfId || peers.some((p) => p.peerId === this.pinned)) ? this.pinned : undefined;
    const spotlight = pin ?? (this.layout === 'speaker' ? this.controller.spotlight : undefined);
    return html`
      <ul class="grid" part="grid" aria-label=${s.participants}>
        ${
          live && publishes
            ? html`<li class=${this.tileClass(selfId, spotlight, pin)}><figure
              class="tile self ${sharing ? 'screen' : ''}"
              part="tile self"
              data-peer-id=${selfId}
              ?data-speaking=${selfSpeaking}
            >
              <video part="video" muted autoplay playsinline ?hidden=${!showSelfVideo} .srcObject=${liveValue(playable(session.localStream))}></video>
              ${showSelfVideo ? nothing : html`<div class="avatar" aria-hidden="true">${initial(selfName)}</div>`}
              <figcaption part="name">${s.you(selfName)}</figcaption>
              ${this.renderTileActions(selfId, s.you(selfName))}
            </figure></li>`
            : nothing
        }
        ${
          live
            ? repeat(
                peers,
                (p) => p.peerId,
                (p) => this.renderTile(p, this.tileClass(p.peerId, spotlight, pin)),
              )
            : nothing
        }
      </ul>
      ${this.soundBlocked && live ? html`<button class="sound" part="button sound-button" @click=${this.enableSound}>${s.turnOnSound}</button>` : nothing}
      <div class="controls" part="controls" role="toolbar" aria-label=${s.controls}>
        ${
          live && publishes
            ? html`${this.renderToggle(
                'mic-button',
                this.muted,
                noMic,
                noMic ? s.noMicrophone : this.muted ? s.unmute : s.mute,
                this.toggleMic,
                this.muted || noMic ? micOffIcon() : micIcon(),
              )}
              ${this.renderToggle(
                'camera-button',
                this.cameraOff,
                noCam,
                noCam ? s.noCamera : this.cameraOff ? s.cameraOn : s.cameraOff,
                this.toggleCamera,
                this.cameraOff || noCam ? cameraOffIcon() : cameraIcon(),
              )}
              ${
                'getDisplayMedia' in (navigator.mediaDevices ?? {})
                  ? html`<button part="button share-button" aria-pressed=${sharing ? 'true' : 'false'} @click=${this.onShareClick}>
                      ${sharing ? screenShareOffIcon() : screenShareIcon()}<span class="label">${sharing ? s.stopSharing : s.shareScreen}</span>
                    </button>`
                  : nothing
              }`
            : nothing
        }
        ${
          live
            ? html`<button
                  part="button participants-button"
                  aria-expanded=${this.participantsOpen ? 'true' : 'false'}
                  aria-controls="participants"
                  @click=${this.toggleParticipants}
                  @keydown=${this.onParticipantsKeydown}
                >
                  ${usersIcon()}<span class="label">${s.participantsButton(peers.length + 1)}</span
                  ><span class="count" aria-hidden="true">${peers.length + 1}</span>
                </button>
                <button part="button settings-button" aria-haspopup="dialog" @click=${this.openSettings}>
                  ${settingsIcon()}<span class="label">${s.settings}</span>
                </button>`
            : nothing
        }
        <button class=${live ? 'leave' : ''} part="button leave-button" @click=${this.onLeaveClick}>
          ${live ? leaveIcon() : joinIcon()}<span class="label">${live ? s.leave : s.rejoin}</span>
        </button>
      </div>
      ${live ? this.renderParticipants(selfId, selfName, publishes) : nothing}
      <p class="status" part="status" role="status">${status}</p>
      ${live && this.settingsOpen ? this.renderSettings() : nothing}
      <slot></slot>
    `;
  }

  /** A toggle of the control bar: pressed when off, and shown as unavailable (still focusable) without its device. */
  private renderToggle(part: string, off: boolean, unavailable: boolean, label: string, toggle: () => void, icon: TemplateResult) {
    return html`<button
      part="button ${part}"
      aria-pressed=${off || unavailable ? 'true' : 'false'}
      aria-disabled=${unavailable ? 'true' : 'false'}
      @click=${toggle}
    >
      ${icon}<span class="label">${label}</span>
    </button>`;
  }

  /** The participants panel: us and every member, with what their tiles say, their connection and a pin button. */
  private renderParticipants(selfId: string, selfName: string, publishes: boolean) {
    const s = this.strings;
    const open = this.participantsOpen;
    const session = this.session;
    const entry = (id: string, name: string, status: string, pinnable: boolean) =>
      html`<li part="participant">
        <span class="who"><span class="name">${name}</span>${status ? html`<span class="muted">${status}</span>` : nothing}</span>
        ${pinnable ? this.renderPinButton(id, name, false) : nothing}
      </li>`;
    // What the others see of us (the state we announce).
    const mine = session?.localMedia;
    const selfStatus = publishes
      ? [
          !mine?.audio ? s.micMuted : '',
          !mine?.video ? s.cameraIsOff : '',
          session?.sharingScreen ? s.sharingScreen : '',
          selfId && session?.isSpeaking(selfId) ? s.speaking : '',
        ]
          .filter(Boolean)
          .join(', ')
      : '';
    return html`<section
      id="participants"
      class="participants"
      part="participants"
      aria-labelledby="participants-title"
      ?hidden=${!open}
      @keydown=${this.onParticipantsKeydown}
    >
      ${
        open
          ? html`<h2 id="participants-title">${s.participants}</h2>
              <ul>
                ${entry(selfId, s.you(selfName), selfStatus, !!selfId)}
                ${repeat(
                  this.peers,
                  (p) => p.peerId,
                  (p) => {
                    const quality = session?.getQuality(p.peerId);
                    const status = [this.peerStatus(p), quality ? s.quality[quality] : ''].filter(Boolean).join(', ');
                    return entry(p.peerId, p.name, status, true);
                  },
                )}
              </ul>`
          : nothing
      }
    </section>`;
  }

  private toggleParticipants(): void {
    this.participantsOpen = !this.participantsOpen;
  }

  /** Escape in the participants panel (or on its button) closes it, and focus goes back to the button. */
  private onParticipantsKeydown(e: KeyboardEvent): void {
    if (e.key !== 'Escape' || !this.participantsOpen) return;
    e.preventDefault();
    this.participantsOpen = false;
    this.renderRoot.querySelector<HTMLElement>('[part~="participants-button"]')?.focus();
  }

  /** Sets the pin from the element itself (a button, a member leaving) and tells the page. */
  private setPin(peerId: string | null): void {
    this.pinned = peerId ?? '';
    this.fire('av-pin-change', { peerId } satisfies PinChangeDetail);
  }

  private onPinClick(id: string): void {
    this.setPin(this.pinned === id ? null : id);
  }

  private onFullscreenClick(e: Event): void {
    const figure = (e.currentTarget as HTMLElement).closest('figure');
    if (!figure) return;
    if (this.shadowRoot?.fullscreenElement === figure) void document.exitFullscreen().catch(() => {});
    else void figure.requestFullscreen().catch(() => {});
  }

  /** Which tile is full screen follows the browser (the button, Escape, the browser's own controls). */
  private readonly onFullscreenChange = (): void => {
    const el = this.shadowRoot?.fullscreenElement;
    this.fullscreenId = el instanceof HTMLElement ? el.dataset['peerId'] : undefined;
  };

  private onShareClick(): void {
    const session = this.session;
    if (!session) return;
    const done = session.sharingScreen ? session.stopScreenShare() : session.shareScreen();
    done.catch((err: Error) => {
      // Cancelling the browser's picker is a choice, not an error.
      if (err.name !== 'NotAllowedError' && err.name !== 'AbortError')
        this.fire('av-room-warning', { code: 'media-unavailable', message: err.message });
    });
  }
}

function initial(name: string): string {
  return [...name.trim()][0]?.toUpperCase() ?? '?';
}

/**
 * A stream a <video> may be given: one with a track. A video element holding a stream without any never gets data,
 * and in Chromium it holds back the page's load event for as long as it is there (a room joined with camera and
 * microphone off: the tab spinner never stops).
 */
function playable(stream: MediaStream | undefined | null): MediaStream | null {
  return stream?.getTracks().length ? stream : null;
}

if (!customElements.get('av-room')) customElements.define('av-room', AvRoom);

declare global {
  interface HTMLElementTagNameMap {
    'av-room': AvRoom;
  }
}
