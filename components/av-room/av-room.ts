import { LitElement, html, nothing, type PropertyValues } from 'lit';
import { property } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import type { LogLevel } from '../core/log.js';
import type { RemotePeer } from '../core/peer-link.js';
import type { Role } from '../core/room-protocol.js';
import type { RoomSession, RoomSessionOptions, SessionState } from '../core/session.js';
import { saveBlob, snapshotJpeg, type Snapshot } from '../core/snapshot.js';
import { safeFileName } from '../core/file-name.js';
import { avRoomStrings, type AvRoomStrings } from './av-room.strings.js';
import { styles } from './av-room.styles.js';
import { RoomController } from './room-controller.js';
import { onOffConverter } from '../shared/attributes.js';

/** Detail of `av-snapshot`. */
export interface SnapshotDetail extends Snapshot {
  /** Whose video it is (our own peer id for the self-view). */
  peerId: string;
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
 * @csspart status - The status line.
 *
 * @cssprop [--av-room-gap=0.75rem] - Space between tiles (falls back to `--av-space-m`).
 * @cssprop [--av-room-tile-min-width=14rem] - Narrowest a tile gets before the grid wraps.
 * @cssprop [--av-room-tile-radius=0.75rem] - Corner radius of tiles (falls back to `--av-radius`).
 * @cssprop [--av-room-tile-background=#20242c] - Tile background behind video.
 * @cssprop [--av-room-video-fit=cover] - `object-fit` of videos.
 * @cssprop [--av-room-button-background=#e8ebf1] - Button background.
 * @cssprop [--av-room-button-active-background=#3a3f4b] - Background of a pressed (muted, camera off) button.
 * @cssprop [--av-room-danger=#c62828] - Leave button colour (falls back to `--av-danger`).
 * @cssprop [--av-room-accent=#2f6fed] - Focus ring colour (falls back to `--av-accent`).
 * @cssprop [--av-room-font=system-ui] - Font family (falls back to `--av-font`).
 * @cssprop [--av-room-color=#1d2330] - Text colour (falls back to `--av-color`).
 */
export class AvRoom extends LitElement {
  static override styles = styles;

  private readonly controller = new RoomController(this);

  constructor() {
    super();
    // The session has muted the microphone already; the property (and the button) follow.
    this.addEventListener('av-room-mute-request', () => (this.muted = true));
  }

  /** Base URL of the av-server (default: the page's origin), or several separated by spaces: standbys, in order. */
  @property() server = '';

  /** Room to join (1–64 characters). Changing it moves to the new room. */
  @property() room = '';

  /** Display name shown to others (read when joining). */
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

  /** `relay` sends everything through the TURN relay (hides addresses from peers); default `all`. */
  @property({ attribute: 'ice-policy' }) icePolicy: RTCIceTransportPolicy = 'all';

  /** Console logging of the underlying session: `silent`, `error`, `warn`, `info` or `debug`. */
  @property({ attribute: 'log-level' }) logLevel: LogLevel = 'warn';

  /**
   * Send this MediaStream (a canvas, a screen capture, a Web Audio mix) instead of the camera and microphone. Set it
   * before the element is added (changing it later joins again). It stays the page's: we never stop its tracks.
   */
  @property({ attribute: false }) localStream?: MediaStream;

  /** User-visible strings; assign a translated copy of `avRoomStrings`. */
  @property({ attribute: false }) strings: AvRoomStrings = avRoomStrings;

  /** Play remote audio was refused by the browser's autoplay policy until the user clicks. */
  private soundBlocked = false;

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

  /** Our role in the room, from `mode` and `role`. */
  private get sessionRole(): Role {
    return this.mode === 'broadcast' ? (this.presenter ? 'presenter' : 'viewer') : 'member';
  }

  /** @internal */
  sessionOptions(): RoomSessionOptions | undefined {
    if (!this.room) return undefined;
    return {
      role: this.sessionRole,
      key: this.key || undefined,
      password: this.password || undefined,
      token: this.token || undefined,
      maxParticipants: this.maxParticipants,
      icePolicy: this.icePolicy === 'relay' ? 'relay' : 'all',
      server: this.server || undefined,
      room: this.room,
      name: this.name,
      audio: this.audio,
      video: this.video && !this.cameraOff,
      muted: this.muted,
      logLevel: this.logLevel,
      ...(this.localStream ? { localStream: this.localStream } : {}),
    };
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    const session = this.controller.session;
    if (
      (changed.has('room') || changed.has('server') || changed.has('mode') || changed.has('presenter') || changed.has('localStream')) &&
      this.hasUpdated
    ) {
      this.controller.restart();
      return;
    }
    if (!session) return;
    if (changed.has('muted') && session.localMedia.audio === this.muted) session.setAudioEnabled(!this.muted);
    if (changed.has('cameraOff') && this.hasUpdated && session.state !== 'idle') {
      session.setVideoEnabled(!this.cameraOff).catch((err: Error) => {
        this.cameraOff = true;
        this.dispatchEvent(
          new CustomEvent('av-room-error', {
            detail: { code: 'media-unavailable', message: err.message, fatal: false },
            bubbles: true,
            composed: true,
          }),
        );
      });
    }
  }

  protected override updated(): void {
    if (this.getAttribute('state') !== this.state) this.setAttribute('state', this.state);
    const waiting = this.sessionRole === 'viewer' && this.state === 'connected' && this.controller.peers.length === 0;
    this.toggleAttribute('waiting', waiting);
  }

  private toggleMic(): void {
    this.muted = !this.muted;
  }

  private toggleCamera(): void {
    this.cameraOff = !this.cameraOff;
  }

  private onLeaveClick(): void {
    if (this.controller.session && this.state !== 'closed' && this.state !== 'error') this.leave();
    else this.join();
  }

  private onRemoteMedia(e: Event): void {
    const video = e.target as HTMLVideoElement;
    video.play().catch(() => {
      this.soundBlocked = true;
      this.requestUpdate();
    });
  }

  private enableSound(): void {
    this.soundBlocked = false;
    for (const v of this.renderRoot.querySelectorAll<HTMLVideoElement>('video.remote')) void v.play().catch(() => {});
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
    this.dispatchEvent(
      new CustomEvent<SnapshotDetail>('av-snapshot', {
        detail: { ...shot, peerId: peerId ?? session?.peerId ?? '' },
        bubbles: true,
        composed: true,
      }),
    );
    if (download)
      saveBlob(shot.blob, `${safeFileName(`snapshot-${peerId ? (session?.peers.get(peerId)?.name ?? peerId) : this.name || 'me'}`)}.jpg`);
    return shot;
  }

  /** Leaves the room (the element stays, showing a "join again" button). */
  leave(): void {
    this.controller.stop('left');
  }

  /** Joins again after `leave()` or an error. */
  join(): void {
    this.controller.restart();
  }

  private renderTile(peer: RemotePeer) {
    const s = this.strings;
    const showVideo = peer.media.video && peer.stream;
    const status = [!peer.media.audio ? s.micMuted : '', !peer.media.video ? s.cameraIsOff : ''].filter(Boolean).join(', ');
    return html`<li><figure class="tile remote" part="tile remote" data-peer-id=${peer.peerId}>
      <video
        class="remote"
        part="video"
        autoplay
        playsinline
        ?hidden=${!showVideo}
        .srcObject=${peer.stream ?? null}
        @loadedmetadata=${this.onRemoteMedia}
      ></video>
      ${showVideo ? nothing : html`<div class="avatar" aria-hidden="true">${initial(peer.name)}</div>`}
      <figcaption part="name">${peer.name}${status ? html` <span class="muted">(${status})</span>` : nothing}</figcaption>
    </figure></li>`;
  }

  protected override render() {
    const s = this.strings;
    const session = this.controller.session;
    const live = !!session && this.state !== 'closed' && this.state !== 'error';
    const publishes = this.sessionRole !== 'viewer';
    const peers = this.controller.peers;
    const selfName = this.name || 'Guest';
    const waiting = this.state === 'connected' && peers.length === 0;
    const ended = this.state === 'error' && this.controller.lastError ? s.ended[this.controller.lastError] : undefined;
    const mutedBy = this.controller.mutedBy && this.muted && live ? s.mutedBy(this.controller.mutedBy) : undefined;
    const status = ended ?? mutedBy ?? (waiting ? (publishes ? s.alone : s.waitingForPresenter) : s.state[this.state]);
    return html`
      <ul class="grid" part="grid" aria-label=${s.participants}>
        ${
          live && publishes
            ? html`<li><figure class="tile self" part="tile self">
              <video part="video" muted autoplay playsinline ?hidden=${this.cameraOff} .srcObject=${session.localStream}></video>
              ${this.cameraOff ? html`<div class="avatar" aria-hidden="true">${initial(selfName)}</div>` : nothing}
              <figcaption part="name">${s.you(selfName)}</figcaption>
            </figure></li>`
            : nothing
        }
        ${
          live
            ? repeat(
                peers,
                (p) => p.peerId,
                (p) => this.renderTile(p),
              )
            : nothing
        }
      </ul>
      ${this.soundBlocked ? html`<button class="sound" part="button" @click=${this.enableSound}>${s.enableSound}</button>` : nothing}
      <div class="controls" part="controls" role="toolbar" aria-label=${s.controls}>
        ${
          live && publishes
            ? html`<button part="button mic-button" aria-pressed=${this.muted ? 'true' : 'false'} @click=${this.toggleMic}>
                ${this.muted ? s.unmute : s.mute}
              </button>
              <button part="button camera-button" aria-pressed=${this.cameraOff ? 'true' : 'false'} @click=${this.toggleCamera}>
                ${this.cameraOff ? s.cameraOn : s.cameraOff}
              </button>`
            : nothing
        }
        <button class=${live ? 'leave' : ''} part="button leave-button" @click=${this.onLeaveClick}>${live ? s.leave : s.rejoin}</button>
      </div>
      <p class="status" part="status" role="status">${status}</p>
      <slot></slot>
    `;
  }
}

function initial(name: string): string {
  return [...name.trim()][0]?.toUpperCase() ?? '?';
}

if (!customElements.get('av-room')) customElements.define('av-room', AvRoom);

declare global {
  interface HTMLElementTagNameMap {
    'av-room': AvRoom;
  }
}
