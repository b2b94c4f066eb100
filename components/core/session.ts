import { Peer, type DataConnection, type MediaConnection, type PeerError } from 'peerjs';
import {
  MAX_APP_MESSAGE_BYTES,
  MAX_RELAY_MESSAGE_BYTES,
  asBytes,
  encodeApp,
  frameSize,
  fromBase64,
  toBase64,
  type AppMessage,
} from './data-protocol.js';
import { Emitter } from './emitter.js';
import { SessionError, type SessionErrorCode } from './errors.js';
import { LocalMedia } from './local-media.js';
import { createLog, type Log, type LogLevel } from './log.js';
import { PeerLink, type DataPath, type RemotePeer } from './peer-link.js';
import { RoomLink, parseServer, type ServerAddress } from './room-link.js';
import { ROOM_NAME, shouldConnect, type MemberInfo, type Payload, type Role, type ServerMessage } from './room-protocol.js';

export type SessionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed' | 'error';

export interface RoomSessionOptions {
  /** Base URL of the av-server, e.g. `https://av.example.com`. Default: the page's origin. */
  server?: string;
  /** Room name (1–64 characters). */
  room: string;
  /** Display name shown to others. */
  name: string;
  /** Send the microphone: `true`, `false` or constraints. Default true (never for viewers). */
  audio?: boolean | MediaTrackConstraints;
  /** Send the camera: `true`, `false` or constraints. Default true (never for viewers). */
  video?: boolean | MediaTrackConstraints;
  /** Join with the microphone muted. */
  muted?: boolean;
  /** Send this stream instead of capturing devices. */
  localStream?: MediaStream;
  /** `member` (mesh, default); in broadcast rooms `presenter` publishes and `viewer` only watches. */
  role?: Role;
  /** Server password. */
  key?: string;
  /** Room password. */
  password?: string;
  /** Signed room token from the app's backend. */
  token?: string;
  /** Largest mesh this member accepts (the first member's value sets the room's limit unless configured). */
  maxParticipants?: number;
  /** `relay` forces every connection through the TURN relay (privacy; tests). Default `all`. */
  icePolicy?: RTCIceTransportPolicy;
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
  /** How data reaches a member changed (`p2p`, `turn` or `server`). */
  path: { peer: RemotePeer; path: DataPath };
  /** Data on the transparent channel, from a member or from `'server'`. Bytes arrive as a Uint8Array. */
  message: { from: string; data: AppMessage; via: DataPath };
  error: { code: SessionErrorCode; message: string; fatal: boolean; peerId?: string };
}

export interface SendOptions {
  /** A member's peer id, `'*'` for every member (default), or `'server'` for the server application. */
  to?: string;
}

const EARLY_WAIT_MS = 10_000;

/**
 * A member's presence in one room: the room-service link, the PeerJS peer, and one link per remote member.
 * The newcomer calls every member already present, so calls never cross.
 */
export class RoomSession extends Emitter<SessionEvents> {
  readonly room: string;
  readonly name: string;
  readonly role: Role;
  private readonly address: ServerAddress;
  private readonly log: Log;
  private readonly media: LocalMedia;
  private readonly links = new Map<string, PeerLink>();
  /** Calls and data connections from members the room service has not announced yet. */
  private readonly early = new Map<string, { conns: (MediaConnection | DataConnection)[]; timer: ReturnType<typeof setTimeout> }>();
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
    this.role = options.role ?? 'member';
    this.address = parseServer(options.server || globalThis.location.origin);
    this.log = createLog(`room ${this.room}`, options.logLevel);
    const publishes = this.role !== 'viewer';
    this.media = new LocalMedia({
      audio: publishes && (options.audio ?? true),
      video: publishes && (options.video ?? true),
      stream: publishes ? options.localStream : undefined,
    });
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

  /** The members we exchange media and data with, by peer id (in broadcast rooms, viewers see presenters only). */
  get peers(): ReadonlyMap<string, RemotePeer> {
    return this.links;
  }

  /** Captures media, joins the room and calls every member present. Resolves when joined. */
  join(): Promise<void> {
    this.joining ??= this.doJoin().catch((err: unknown) => {
      const e = err instanceof SessionError ? err : new SessionError('join-failed', String((err as Error)?.message ?? err));
      if (!this.closed) {
        this.emit('error', { code: e.code, message: e.message, fatal: true });
        this.teardown('error');
      }
      throw e;
    });
    return this.joining;
  }

  private async doJoin(): Promise<void> {
    this.setState('connecting');
    const link = new RoomLink(this.address, this.room, this.log);
    this.roomLink = link;
    const o = this.options;
    const intended = { audio: this.role !== 'viewer' && o.audio !== false && !o.muted, video: this.role !== 'viewer' && o.video !== false };
    // Credentials are checked before any device is opened: a refused join never lights the camera.
    const joined = await link.join({
      name: this.name,
      media: o.localStream ? { audio: o.localStream.getAudioTracks().length > 0, video: o.localStream.getVideoTracks().length > 0 } : intended,
      role: this.role,
      ...(o.key ? { key: o.key } : {}),
      ...(o.password ? { password: o.password } : {}),
      ...(o.token ? { token: o.token } : {}),
      ...(o.maxParticipants ? { maxParticipants: o.maxParticipants } : {}),
    });
    if (this.closed) return link.close();
    this.log.debug('joined the room service', performance.now().toFixed(0));
    this._peerId = joined.self.peerId;
    const media = (this.mediaReady = this.media.start().then(
      () => this.emit('local-stream', { stream: this.media.stream }),
      (err: DOMException) => {
        // Joining without devices still lets us see and hear the others.
        this.emit('error', { code: 'media-unavailable', message: `${err.name}: ${err.message}`, fatal: false });
      },
    ));
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
      config: { iceServers: joined.iceServers, iceTransportPolicy: o.icePolicy ?? 'all' },
      debug: 0,
    });
    this.peer = peer;
    peer.on('call', (call) => this.onIncoming(call));
    peer.on('connection', (conn) => this.onIncoming(conn));
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
    await Promise.all([media, opened]);
    if (this.closed) return;
    const actual = this.media.state;
    if (actual.audio !== intended.audio || actual.video !== intended.video) this.publishMedia();
    for (const member of joined.peers) {
      const l = this.addMember(member);
      if (!l) continue;
      l.attachCall(this.media, (stream) => peer.call(member.peerId, stream, { metadata: { name: this.name } }));
      l.startDeadline();
      void l.mediaSettled().then(() => {
        if (this.links.get(member.peerId) === l && !this.closed) {
          l.attachData(peer.connect(member.peerId, { serialization: 'raw', reliable: true, label: 'av-data' }));
        }
      });
    }
    this.setState('connected');
  }

  private get closed(): boolean {
    return this._state === 'closed' || this._state === 'error';
  }

  private onRoomMessage(msg: ServerMessage): void {
    switch (msg.type) {
      case 'peer-joined': {
        const l = this.addMember(msg.peer);
        const early = this.early.get(msg.peer.peerId);
        if (early) {
          clearTimeout(early.timer);
          this.early.delete(msg.peer.peerId);
          for (const conn of early.conns) this.onIncoming(conn);
        }
        l?.startDeadline();
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
      case 'relayed':
        if (this.links.has(msg.from)) this.emit('message', { from: msg.from, data: decodePayload(msg), via: 'server' });
        break;
      case 'app':
        this.emit('message', { from: 'server', data: decodePayload(msg), via: 'server' });
        break;
      case 'error':
        this.log.warn('room service:', msg.code, msg.message);
        break;
      default:
        break;
    }
  }

  private addMember(member: MemberInfo): PeerLink | undefined {
    if (!shouldConnect(this.role, member.role)) return undefined;
    const existing = this.links.get(member.peerId);
    if (existing) return existing;
    const l = new PeerLink(
      member,
      {
        stream: (link) => link.stream && this.emit('stream', { peer: link, stream: link.stream }),
        path: (link) => link.path && this.emit('path', { peer: link, path: link.path }),
        message: (link, data) => this.emit('message', { from: link.peerId, data, via: link.path ?? 'p2p' }),
        unreachable: (link, reason) =>
          this.emit('error', { code: 'peer-unreachable', message: `${link.name}: ${reason}`, fatal: false, peerId: link.peerId }),
      },
      this.log,
    );
    this.links.set(member.peerId, l);
    this.emit('peer-join', { peer: l });
    return l;
  }

  /** A call or data connection from a member: taken when the room service has announced it, else held briefly. */
  private onIncoming(conn: MediaConnection | DataConnection): void {
    if (this.closed) return void conn.close();
    if (this.links.has(conn.peer)) {
      if (conn.type === 'data') return this.links.get(conn.peer)!.attachData(conn as DataConnection);
      return void this.answer(conn as MediaConnection);
    }
    const pending = this.early.get(conn.peer);
    if (pending) return void pending.conns.push(conn);
    const timer = setTimeout(() => {
      // Not a member (or not one we connect with): refuse.
      this.early.get(conn.peer)?.conns.forEach((c) => c.close());
      this.early.delete(conn.peer);
    }, EARLY_WAIT_MS);
    this.early.set(conn.peer, { conns: [conn], timer });
  }

  private async answer(call: MediaConnection): Promise<void> {
    await this.mediaReady;
    const l = this.links.get(call.peer);
    if (!l || this.closed) return call.close();
    l.attachCall(this.media, (stream) => {
      call.answer(stream);
      return call;
    });
  }

  /**
   * Sends application data on the transparent channel: a JSON-able value, or bytes (ArrayBuffer, typed array).
   * Goes peer-to-peer where possible and through the server where not; `to` is a peer id, `'*'` or `'server'`.
   */
  send(data: AppMessage, { to = '*' }: SendOptions = {}): void {
    if (this.state !== 'connected' || !this.roomLink) throw new SessionError('not-connected', 'not connected to the room');
    const frame = encodeApp(data);
    const size = frameSize(frame);
    if (to === 'server') return this.sendViaServer({ type: 'app' }, data, size);
    const targets = to === '*' ? [...this.links.values()] : [this.links.get(to)];
    if (targets.some((l) => !l)) throw new SessionError('bad-options', `no member "${to}" to send to`);
    if (size > MAX_APP_MESSAGE_BYTES) throw new SessionError('too-large', `message of ${size} bytes exceeds ${MAX_APP_MESSAGE_BYTES}`);
    const viaServer = (targets as PeerLink[]).filter((l) => !l.sendFrame(frame));
    if (viaServer.length === 0) return;
    if (to === '*' && viaServer.length === targets.length) return this.sendViaServer({ type: 'relay', to: '*' }, data, size);
    for (const l of viaServer) this.sendViaServer({ type: 'relay', to: l.peerId }, data, size);
  }

  private sendViaServer(head: { type: 'app' } | { type: 'relay'; to: string }, data: AppMessage, size: number): void {
    if (size > MAX_RELAY_MESSAGE_BYTES) {
      throw new SessionError('too-large', `message of ${size} bytes exceeds ${MAX_RELAY_MESSAGE_BYTES}, the limit through the server`);
    }
    const bytes = asBytes(data);
    const payload: Payload = bytes ? { bin: toBase64(bytes) } : { data };
    this.roomLink!.send({ ...head, ...payload } as Parameters<RoomLink['send']>[0]);
  }

  /** Mutes or unmutes our microphone for everyone. */
  setAudioEnabled(enabled: boolean): void {
    this.media.setAudioEnabled(enabled);
    this.publishMedia();
  }

  /** Turns our camera off (releasing the device) or on again, for everyone. */
  async setVideoEnabled(enabled: boolean): Promise<void> {
    if (this.role === 'viewer') return;
    const track = await this.media.setVideoEnabled(enabled);
    if (this.closed) return;
    await Promise.all([...this.links.values()].map((l) => l.replaceTrack('video', track ?? null)));
    this.emit('local-stream', { stream: this.media.stream });
    this.publishMedia();
  }

  private publishMedia(): void {
    this.roomLink?.send({ type: 'update', media: this.media.state });
  }

  /** WebRTC statistics of the media call with one member. */
  getStats(peerId: string): Promise<RTCStatsReport | undefined> {
    return this.links.get(peerId)?.getStats() ?? Promise.resolve(undefined);
  }

  /** The RTCPeerConnection carrying the media call with one member (for diagnostics). */
  getPeerConnection(peerId: string): RTCPeerConnection | undefined {
    return this.links.get(peerId)?.peerConnection;
  }

  /** Leaves the room, hangs up every call, closes every connection and stops every track we captured. Idempotent. */
  destroy(): void {
    this.teardown('closed');
  }

  private teardown(final: 'closed' | 'error'): void {
    if (this.closed) return;
    for (const { conns, timer } of this.early.values()) {
      clearTimeout(timer);
      conns.forEach((c) => c.close());
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

function decodePayload(p: Payload): AppMessage {
  if (typeof p.bin === 'string') {
    try {
      return fromBase64(p.bin);
    } catch {
      return new Uint8Array();
    }
  }
  return p.data;
}

/** Joins a room from script: `const session = await connect({ server, room, name })`. */
export async function connect(options: RoomSessionOptions): Promise<RoomSession> {
  const session = new RoomSession(options);
  await session.join();
  return session;
}
