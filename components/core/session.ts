import { Peer, type MediaConnection, type PeerError } from 'peerjs';
import { Emitter } from './emitter.js';
import { SessionError, type SessionErrorCode } from './errors.js';
import { LocalMedia } from './local-media.js';
import { createLog, type Log, type LogLevel } from './log.js';
import { PeerLink, type RemotePeer } from './peer-link.js';
import { RoomLink, parseServer, type ServerAddress } from './room-link.js';
import { ROOM_NAME, type MemberInfo, type ServerMessage } from './room-protocol.js';

export type SessionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed' | 'error';

export interface RoomSessionOptions {
  /** Base URL of the av-server, e.g. `https://av.example.com`. Default: the page's origin. */
  server?: string;
  /** Room name (1–64 characters). */
  room: string;
  /** Display name shown to others. */
  name: string;
  /** Send the microphone: `true`, `false` or constraints. Default true. */
  audio?: boolean | MediaTrackConstraints;
  /** Send the camera: `true`, `false` or constraints. Default true. */
  video?: boolean | MediaTrackConstraints;
  /** Join with the microphone muted. */
  muted?: boolean;
  /** Send this stream instead of capturing devices. */
  localStream?: MediaStream;
  /** Console logging of the core. Default `warn`. */
  logLevel?: LogLevel;
}

export interface SessionEvents {
  state: { state: SessionState; previous: SessionState };
  /** A member is in the room (also fired for members present when we join). */
  'peer-join': { peer: RemotePeer };
  'peer-leave': { peer: RemotePeer };
  /** A member's name or media state changed. */
  'peer-update': { peer: RemotePeer };
  /** A member's media arrived or changed. */
  stream: { peer: RemotePeer; stream: MediaStream };
  /** Our own tracks changed (camera turned on or off). */
  'local-stream': { stream: MediaStream };
  error: { code: SessionErrorCode; message: string; fatal: boolean };
}

const CALL_WAIT_MS = 10_000;

/**
 * A member's presence in one room: the room-service link, the PeerJS peer, and one link per remote member.
 * The newcomer calls every member already present, so calls never cross.
 */
export class RoomSession extends Emitter<SessionEvents> {
  readonly room: string;
  readonly name: string;
  private readonly address: ServerAddress;
  private readonly log: Log;
  private readonly media: LocalMedia;
  private readonly links = new Map<string, PeerLink>();
  /** Calls from peers the room service has not announced yet, answered once it does. */
  private readonly early = new Map<string, { call: MediaConnection; timer: ReturnType<typeof setTimeout> }>();
  private roomLink: RoomLink | undefined;
  private peer: Peer | undefined;
  private _state: SessionState = 'idle';
  private _peerId: string | undefined;
  private joining: Promise<void> | undefined;
  /** Settles once local capture has succeeded or failed: calls are answered only then. */
  private mediaReady: Promise<void> = Promise.resolve();

  constructor(readonly options: RoomSessionOptions) {
    super();
    if (!ROOM_NAME.test(options.room ?? '')) throw new SessionError('bad-options', 'room must be 1–64 characters without "/" or control characters');
    this.room = options.room;
    this.name = (options.name ?? '').trim() || 'Guest';
    this.address = parseServer(options.server || globalThis.location.origin);
    this.log = createLog(`room ${this.room}`, options.logLevel);
    this.media = new LocalMedia({ audio: options.audio ?? true, video: options.video ?? true, stream: options.localStream });
    if (options.muted) this.media.setAudioEnabled(false);
  }

  get state(): SessionState {
    return this._state;
  }

  /** Our id in the room, once joined. */
  get peerId(): string | undefined {
    return this._peerId;
  }

  /** Our own audio and video (what the self-view shows). */
  get localStream(): MediaStream {
    return this.media.stream;
  }

  /** Whether our microphone and camera are on. */
  get localMedia(): { audio: boolean; video: boolean } {
    return this.media.state;
  }

  /** The other members, by peer id. */
  get peers(): ReadonlyMap<string, RemotePeer> {
    return this.links;
  }

  /** Captures media, joins the room and calls every member present. Resolves when joined. */
  join(): Promise<void> {
    this.joining ??= this.doJoin().catch((err: unknown) => {
      const e = err instanceof SessionError ? err : new SessionError('join-failed', String((err as Error)?.message ?? err));
      if (this._state !== 'closed') {
        this.emit('error', { code: e.code, message: e.message, fatal: true });
        this.teardown('error');
      }
      throw e;
    });
    return this.joining;
  }

  private async doJoin(): Promise<void> {
    this.setState('connecting');
    // Capture and signalling run side by side; calls start once both are ready.
    const media = (this.mediaReady = this.media.start().then(
      () => this.emit('local-stream', { stream: this.media.stream }),
      (err: DOMException) => {
        // Joining without devices still lets us see and hear the others.
        this.emit('error', { code: 'media-unavailable', message: `${err.name}: ${err.message}`, fatal: false });
      },
    ));
    const link = new RoomLink(this.address, this.room, this.log);
    this.roomLink = link;
    const intended = { audio: this.options.audio !== false && !this.options.muted, video: this.options.video !== false };
    const joined = await link.join(this.name, this.options.localStream ? this.media.state : intended);
    this.log.debug('joined the room service', performance.now().toFixed(0));
    if (this.closed) return link.close();
    this._peerId = joined.self.peerId;
    link.on('message', (m) => this.onRoomMessage(m));
    link.on('lost', ({ code }) => {
      this.emit('error', { code: 'server-lost', message: `lost the room service (${code}); calls in progress continue`, fatal: false });
    });

    const peer = new Peer(joined.self.peerId, {
      host: this.address.host,
      port: this.address.port,
      secure: this.address.secure,
      path: this.address.base + joined.peerPath,
      token: joined.peerToken,
      // Only what our server hands out: never PeerJS's public STUN/TURN defaults.
      config: { iceServers: joined.iceServers },
      debug: 0,
    });
    this.peer = peer;
    peer.on('call', (call) => this.onIncomingCall(call));
    const opened = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new SessionError('signalling-failed', 'PeerServer did not accept us within 10 s')), 10_000);
      peer.once('open', () => {
        clearTimeout(timer);
        resolve();
      });
      peer.on('error', (err: PeerError<string>) => {
        clearTimeout(timer);
        if (err.type === 'peer-unavailable') return this.log.warn(err.message);
        if (this._state === 'connecting') reject(new SessionError('signalling-failed', `${err.type}: ${err.message}`));
        else this.log.warn('peer error', err.type, err.message);
      });
    });
    await Promise.all([media.then(() => this.log.debug('media ready', performance.now().toFixed(0))), opened.then(() => this.log.debug('PeerServer open', performance.now().toFixed(0)))]);
    if (this.closed) return;
    const actual = this.media.state;
    if (actual.audio !== intended.audio || actual.video !== intended.video) this.publishMedia();
    if (this.closed) return;
    for (const member of joined.peers) {
      const l = this.addMember(member);
      l.attach(this.media, (stream) => peer.call(member.peerId, stream, { metadata: { name: this.name } }));
    }
    this.setState('connected');
  }

  private get closed(): boolean {
    return this._state === 'closed' || this._state === 'error';
  }

  private onRoomMessage(msg: ServerMessage): void {
    switch (msg.type) {
      case 'peer-joined': {
        this.addMember(msg.peer);
        const early = this.early.get(msg.peer.peerId);
        if (early) {
          clearTimeout(early.timer);
          this.early.delete(msg.peer.peerId);
          void this.answer(early.call);
        }
        break;
      }
      case 'peer-left': {
        const l = this.links.get(msg.peerId);
        if (!l) break;
        this.links.delete(msg.peerId);
        l.close();
        this.emit('peer-leave', { peer: l });
        break;
      }
      case 'peer-updated': {
        const l = this.links.get(msg.peerId);
        if (!l) break;
        l.media = msg.media;
        this.emit('peer-update', { peer: l });
        break;
      }
      case 'error':
        this.log.warn('room service:', msg.code, msg.message);
        break;
      default:
        break;
    }
  }

  private addMember(member: MemberInfo): PeerLink {
    const existing = this.links.get(member.peerId);
    if (existing) return existing;
    const l = new PeerLink(member, (link) => {
      this.log.debug('stream from', link.peerId, performance.now().toFixed(0));
      if (link.stream) this.emit('stream', { peer: link, stream: link.stream });
    });
    this.links.set(member.peerId, l);
    this.emit('peer-join', { peer: l });
    return l;
  }

  private onIncomingCall(call: MediaConnection): void {
    if (this.links.has(call.peer)) return void this.answer(call);
    // The room service normally announces a member before it can call; wait a little if it has not yet.
    const timer = setTimeout(() => {
      this.early.delete(call.peer);
      call.close();
    }, CALL_WAIT_MS);
    this.early.get(call.peer)?.call.close();
    this.early.set(call.peer, { call, timer });
  }

  private async answer(call: MediaConnection): Promise<void> {
    await this.mediaReady;
    const l = this.links.get(call.peer);
    if (!l || this.closed) return call.close();
    l.attach(this.media, (stream) => {
      call.answer(stream);
      return call;
    });
  }

  /** Mutes or unmutes our microphone for everyone. */
  setAudioEnabled(enabled: boolean): void {
    this.media.setAudioEnabled(enabled);
    this.publishMedia();
  }

  /** Turns our camera off (releasing the device) or on again, for everyone. */
  async setVideoEnabled(enabled: boolean): Promise<void> {
    const track = await this.media.setVideoEnabled(enabled);
    if (this.closed) return;
    await Promise.all([...this.links.values()].map((l) => l.replaceTrack('video', track ?? null)));
    this.emit('local-stream', { stream: this.media.stream });
    this.publishMedia();
  }

  private publishMedia(): void {
    this.roomLink?.send({ type: 'update', media: this.media.state });
  }

  /** WebRTC statistics of the call with one member. */
  getStats(peerId: string): Promise<RTCStatsReport | undefined> {
    return this.links.get(peerId)?.getStats() ?? Promise.resolve(undefined);
  }

  /** The RTCPeerConnection carrying the call with one member (for diagnostics). */
  getPeerConnection(peerId: string): RTCPeerConnection | undefined {
    return this.links.get(peerId)?.peerConnection;
  }

  /** Leaves the room, hangs up every call, closes every connection and stops every track we captured. Idempotent. */
  destroy(): void {
    this.teardown('closed');
  }

  private teardown(final: 'closed' | 'error'): void {
    if (this.closed) return;
    for (const { call, timer } of this.early.values()) {
      clearTimeout(timer);
      call.close();
    }
    this.early.clear();
    for (const l of this.links.values()) l.close();
    this.links.clear();
    this.roomLink?.close();
    this.peer?.destroy();
    this.media.destroy();
    this.setState(final);
    if (final === 'closed') this.removeAllListeners();
  }

  private setState(state: SessionState): void {
    const previous = this._state;
    if (previous === state) return;
    this._state = state;
    this.emit('state', { state, previous });
  }
}

/** Joins a room from script: `const session = await connect({ server, room, name })`. */
export async function connect(options: RoomSessionOptions): Promise<RoomSession> {
  const session = new RoomSession(options);
  await session.join();
  return session;
}
