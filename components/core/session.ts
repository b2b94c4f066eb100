import { ConnectionType, Peer, type DataConnection, type MediaConnection, type PeerError } from 'peerjs';
import {
  CHANNEL,
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
import { RoomLink, parseServer, type JoinedMessage, type ServerAddress } from './room-link.js';
import { ROOM_NAME, shouldConnect, type MemberInfo, type Payload, type Role, type ServerMessage } from './room-protocol.js';
import { SignallingGate } from './signalling-gate.js';

export type SessionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed' | 'error';

export interface RoomSessionOptions {
  /**
   * Base URL of the av-server, e.g. `https://av.example.com`, or an ordered list of them (an array, or URLs separated
   * by spaces or commas): when the current one is lost, the session moves to the next with the same identity while
   * calls in progress keep flowing. Default: the page's origin.
   */
  server?: string | string[];
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
  message: { from: string; data: AppMessage; via: DataPath; channel?: string };
  /** The server application asked us to mute; the microphone is already muted. `by` says who asked. */
  'mute-request': { by: string };
  error: { code: SessionErrorCode; message: string; fatal: boolean; peerId?: string };
}

export interface SendOptions {
  /** A member's peer id, `'*'` for every member (default), or `'server'` for the server application. */
  to?: string;
  /** @internal A named channel (JSON only) used by components such as <av-chat>; the page's own messages have none. */
  channel?: string;
}

/** Retries to reach a server after losing ours: 250 ms, doubling, at most this far apart. Never given up. */
const RETRY_MAX_MS = 5000;
/** After a move to a server that does not list a member (a standby sharing nothing), how often its call is checked. */
const ABSENT_CHECK_MS = 5000;

/**
 * A member's presence in one room: the room-service link, the PeerJS peer, and one link per remote member.
 * The newcomer calls every member already present, so calls never cross.
 */
export class RoomSession extends Emitter<SessionEvents> {
  readonly room: string;
  readonly name: string;
  readonly role: Role;
  private readonly servers: ServerAddress[];
  private serverIndex = 0;
  private readonly log: Log;
  private readonly media: LocalMedia;
  private readonly links = new Map<string, PeerLink>();
  /** Only members we connect with reach PeerJS; others are never answered. */
  private readonly gate: SignallingGate;
  private roomLink: RoomLink | undefined;
  private peer: Peer | undefined;
  /** Peers registered with servers we lost: they still own live calls, so they are only destroyed at the end. */
  private readonly retiredPeers: Peer[] = [];
  /** Members the server we moved to does not list, watched while their call lasts. */
  private readonly absentChecks = new Map<string, ReturnType<typeof setInterval>>();
  /** Data for the server (or relayed through it) sent while reconnecting: delivered once rejoined. */
  private outbox: (() => void)[] = [];
  private _state: SessionState = 'idle';
  private _peerId: string | undefined;
  /** Owns our peer id: given back to a server (this one or a standby) to return as the same member. */
  private resumeToken: string | undefined;
  private joining: Promise<void> | undefined;
  /** Settles once local capture has succeeded or failed: calls are answered only then. */
  private mediaReady: Promise<void> = Promise.resolve();

  constructor(readonly options: RoomSessionOptions) {
    super();
    if (!ROOM_NAME.test(options.room ?? ''))
      throw new SessionError('bad-options', 'room must be 1–64 characters without "/" or control characters');
    this.room = options.room;
    this.name = (options.name ?? '').trim() || 'Guest';
    this.role = options.role ?? 'member';
    const list = Array.isArray(options.server) ? options.server : (options.server ?? '').split(/[\s,]+/);
    const urls = list.map((u) => u.trim()).filter(Boolean);
    this.servers = (urls.length ? urls : [globalThis.location.origin]).map((u) => parseServer(u));
    this.log = createLog(`room ${this.room}`, options.logLevel);
    this.gate = new SignallingGate((peerId) => this.links.has(peerId), this.log);
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

  /** Base URL of the server the session is on now. */
  get server(): string {
    return this.servers[this.serverIndex]!.origin + this.servers[this.serverIndex]!.base;
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
    const o = this.options;
    // Credentials are checked before any device is opened: a refused join never lights the camera.
    let joined: JoinedMessage | undefined;
    let lastError: unknown;
    let media: Promise<void> | undefined;
    // Capture starts once the room has admitted us, side by side with the PeerServer registration.
    const startMedia = () => {
      media ??= this.mediaReady = this.media.start().then(
        () => this.emit('local-stream', { stream: this.media.stream }),
        (err: DOMException) => {
          // Joining without devices still lets us see and hear the others.
          this.emit('error', { code: 'media-unavailable', message: `${err.name}: ${err.message}`, fatal: false });
        },
      );
    };
    for (let i = 0; i < this.servers.length && !joined; i++) {
      try {
        joined = await this.register(i, false, startMedia);
      } catch (err) {
        lastError = err;
        // A refusal is an answer: only an unreachable server sends us to the next one.
        if (!(err instanceof SessionError) || err.code !== 'server-unreachable') throw err;
      }
    }
    if (!joined) throw lastError;
    if (this.closed) return;
    startMedia();
    await media;
    if (this.closed) return;
    const intended = this.intendedMedia();
    const actual = this.media.state;
    if (!o.localStream && (actual.audio !== intended.audio || actual.video !== intended.video)) this.publishMedia();
    for (const member of joined.peers) this.connectTo(member);
    this.setState('connected');
  }

  private intendedMedia() {
    const o = this.options;
    if (o.localStream) return { audio: o.localStream.getAudioTracks().length > 0, video: o.localStream.getVideoTracks().length > 0 };
    return { audio: this.role !== 'viewer' && o.audio !== false && !o.muted, video: this.role !== 'viewer' && o.video !== false };
  }

  /**
   * Joins the room on server `index` and registers a PeerJS peer there (same identity on a rejoin).
   * Resolves once both are done; the previous peer is retired, not destroyed, so its calls keep flowing.
   */
  private async register(index: number, rejoin: boolean, afterJoin?: () => void): Promise<JoinedMessage> {
    const o = this.options;
    const address = this.servers[index]!;
    const link = new RoomLink(address, this.room, this.log);
    let joined: JoinedMessage;
    try {
      joined = await link.join(
        {
          name: this.name,
          media: rejoin ? this.media.state : this.intendedMedia(),
          role: this.role,
          ...(rejoin && this.resumeToken ? { resume: this.resumeToken } : {}),
          ...(o.key ? { key: o.key } : {}),
          ...(o.password ? { password: o.password } : {}),
          ...(o.token ? { token: o.token } : {}),
          ...(o.maxParticipants ? { maxParticipants: o.maxParticipants } : {}),
        },
        rejoin ? 3000 : 10_000,
      );
    } catch (err) {
      link.close();
      throw err;
    }
    if (this.closed) {
      link.close();
      return joined;
    }
    this.log.debug('joined the room service', address.origin, performance.now().toFixed(0));
    afterJoin?.();
    this.roomLink?.close();
    this.roomLink = link;
    this.serverIndex = index;
    this._peerId = joined.self.peerId;
    this.resumeToken = joined.resumeToken;
    link.on('message', (m) => this.onRoomMessage(m));
    link.on('lost', ({ code, reason }) => {
      if (this.roomLink === link) void this.failover(`${reason || 'connection closed'} (${code})`);
    });

    if (this.peer) {
      // Off its server, but its calls stay up (PeerJS's disconnect keeps connections): the id is free to register again.
      this.peer.disconnect();
      this.retiredPeers.push(this.peer);
    }
    const peer = new Peer(joined.self.peerId, {
      host: address.host,
      port: address.port,
      secure: address.secure,
      path: address.base + joined.peerPath,
      token: joined.peerToken,
      // Only what our server hands out: never PeerJS's public STUN/TURN defaults.
      config: { iceServers: joined.iceServers, iceTransportPolicy: o.icePolicy ?? 'all' },
      debug: 0,
    });
    this.gate.guard(peer);
    this.peer = peer;
    peer.on('call', (call) => this.onIncoming(call));
    peer.on('connection', (conn) => this.onIncoming(conn));
    await new Promise<void>((resolve, reject) => {
      let opening = true;
      const timer = setTimeout(() => reject(new SessionError('signalling-failed', 'PeerServer did not accept us within 10 s')), 10_000);
      peer.once('open', () => {
        opening = false;
        clearTimeout(timer);
        resolve();
      });
      peer.on('error', (err: PeerError<string>) => {
        if (err.type === 'peer-unavailable') return this.log.warn(err.message);
        if (opening) {
          opening = false;
          clearTimeout(timer);
          reject(new SessionError('signalling-failed', `${err.type}: ${err.message}`));
        } else this.log.warn('peer error', err.type, err.message);
      });
    });
    this.log.debug('PeerServer open', address.origin, performance.now().toFixed(0));
    return joined;
  }

  /** Calls a member and opens the data channel with it (we are the newcomer, or we moved to its server). */
  private connectTo(member: MemberInfo): void {
    const l = this.addMember(member);
    const peer = this.peer;
    if (!l || !peer) return;
    l.attachCall(this.media, (stream) => peer.call(member.peerId, stream, { metadata: { name: this.name } }));
    l.startDeadline();
    l.dataInitiator = true;
    void l.mediaSettled().then(() => this.openData(l));
  }

  /** Opens (or re-opens) the data connection we initiate with a member. */
  private openData(l: PeerLink): void {
    const peer = this.peer;
    if (!peer || this.closed || this.links.get(l.peerId) !== l) return;
    l.attachData(peer.connect(l.peerId, { serialization: 'raw', reliable: true, label: 'av-data' }));
  }

  /**
   * A data connection that worked and dropped while the member is still here is re-opened by the side that opened
   * it (a few tries, seconds apart); meanwhile data goes through the server.
   */
  private reopenData(l: PeerLink, attempt = 1): void {
    if (!l.dataInitiator || !l.hadData || attempt > 5) return;
    setTimeout(() => {
      if (l.isClosed || this.closed || l.path !== 'server') return;
      this.log.info('re-opening the data connection with', l.peerId, 'attempt', attempt);
      this.openData(l);
      setTimeout(() => l.path === 'server' && this.reopenData(l, attempt + 1), 4000);
    }, 1000);
  }

  /**
   * The room service is gone: move to the next server in the list with the same identity, and keep trying every
   * server with capped backoff for as long as the user stays. Calls in progress are peer-to-peer and keep flowing
   * meanwhile (state `reconnecting`: signalling is offline); members we have stay, members new to us are called.
   */
  private async failover(reason: string): Promise<void> {
    if (this.closed || this._state === 'reconnecting') return;
    this.log.warn(`lost ${this.server}: ${reason}; moving to the next server`);
    this.emit('error', { code: 'server-lost', message: `lost the server (${reason}); calls in progress continue`, fatal: false });
    this.setState('reconnecting');
    for (let round = 0; !this.closed; round++) {
      for (let step = 1; step <= this.servers.length && !this.closed; step++) {
        const index = (this.serverIndex + step) % this.servers.length;
        try {
          const joined = await this.register(index, true);
          if (this.closed) return;
          this.reconcile(joined.peers);
          this.setState('connected');
          const queued = this.outbox;
          this.outbox = [];
          for (const deliver of queued) deliver();
          return;
        } catch (err) {
          this.log.info('failover attempt failed', this.servers[index]!.origin, (err as Error).message);
          if (err instanceof SessionError && (err.code === 'auth-failed' || err.code === 'room-full')) {
            this.emit('error', { code: err.code, message: err.message, fatal: true });
            return this.teardown('error');
          }
        }
      }
      await new Promise((r) => setTimeout(r, Math.min(RETRY_MAX_MS, 250 * 2 ** round)));
    }
  }

  /**
   * After moving servers: keep the links we have, call members new to us. A member is dropped only when the room
   * says it left; one the new server does not list at all (a standby that shares nothing) is kept while its call
   * with us lasts.
   */
  private reconcile(members: MemberInfo[]): void {
    const present = new Set(members.map((m) => m.peerId));
    for (const member of members) {
      this.stopAbsentCheck(member.peerId);
      const existing = this.links.get(member.peerId);
      if (existing) {
        existing.media = member.media;
        this.emit('peer-update', { peer: existing });
      } else {
        this.connectTo(member);
      }
    }
    for (const [peerId, link] of this.links) {
      if (present.has(peerId) || this.absentChecks.has(peerId)) continue;
      this.absentChecks.set(
        peerId,
        setInterval(() => {
          if (!link.connected) this.dropMember(peerId);
        }, ABSENT_CHECK_MS),
      );
    }
  }

  private stopAbsentCheck(peerId: string): void {
    clearInterval(this.absentChecks.get(peerId));
    this.absentChecks.delete(peerId);
  }

  private dropMember(peerId: string): void {
    this.stopAbsentCheck(peerId);
    const l = this.links.get(peerId);
    if (!l) return;
    this.links.delete(peerId);
    l.close();
    this.emit('peer-leave', { peer: l });
  }

  private get closed(): boolean {
    return this._state === 'closed' || this._state === 'error';
  }

  private onRoomMessage(msg: ServerMessage): void {
    switch (msg.type) {
      case 'peer-joined': {
        this.stopAbsentCheck(msg.peer.peerId);
        const known = this.links.get(msg.peer.peerId);
        if (known) {
          // A member we already talk to, arriving on this server after a failover: keep the call.
          known.media = msg.peer.media;
          break;
        }
        this.addMember(msg.peer)?.startDeadline();
        break;
      }
      case 'peer-left':
        this.dropMember(msg.peerId);
        break;
      case 'peer-updated': {
        const l = this.links.get(msg.peerId);
        if (!l) break;
        l.media = msg.media;
        this.emit('peer-update', { peer: l });
        break;
      }
      case 'relayed':
        this.log.debug('relayed from', msg.from, msg.ch ?? '', this.links.has(msg.from));
        if (this.links.has(msg.from)) {
          const channel = typeof msg.ch === 'string' && CHANNEL.test(msg.ch) ? msg.ch : undefined;
          this.emit('message', { from: msg.from, data: decodePayload(msg), via: 'server', ...(channel ? { channel } : {}) });
        }
        break;
      case 'app':
        this.emit('message', { from: 'server', data: decodePayload(msg), via: 'server' });
        break;
      case 'server-shutdown':
        void this.failover('the server is shutting down');
        break;
      case 'kicked':
      case 'room-closed':
        this.emit('error', {
          code: msg.type,
          message:
            msg.type === 'kicked'
              ? `removed from the room: ${String(msg.reason).slice(0, 200)}`
              : `the room was closed: ${String(msg.reason).slice(0, 200)}`,
          fatal: true,
        });
        this.teardown('error');
        break;
      case 'mute-request':
        this.setAudioEnabled(false);
        this.emit('mute-request', { by: String(msg.by).slice(0, 64) });
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
        path: (link) => {
          if (!link.path) return;
          if (link.path === 'server') this.reopenData(link);
          this.emit('path', { peer: link, path: link.path });
        },
        message: (link, data, channel) =>
          this.emit('message', { from: link.peerId, data, via: link.path ?? 'p2p', ...(channel ? { channel } : {}) }),
        unreachable: (link, reason) =>
          this.emit('error', { code: 'peer-unreachable', message: `${link.name}: ${reason}`, fatal: false, peerId: link.peerId }),
      },
      this.log,
    );
    this.links.set(member.peerId, l);
    this.emit('peer-join', { peer: l });
    // What it sent before the room announced it (its offer can overtake its `peer-joined`) goes to PeerJS now.
    this.gate.admit(member.peerId);
    return l;
  }

  /** A call or data connection from a member (the gate lets nothing else through to PeerJS). */
  private onIncoming(conn: MediaConnection | DataConnection): void {
    const l = this.links.get(conn.peer);
    if (this.closed || !l) return void conn.close();
    if (conn.type === ConnectionType.Data) return l.attachData(conn as DataConnection);
    void this.answer(conn as MediaConnection);
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
  send(data: AppMessage, { to = '*', channel }: SendOptions = {}): void {
    if ((this.state !== 'connected' && this.state !== 'reconnecting') || !this.roomLink) {
      throw new SessionError('not-connected', 'not connected to the room');
    }
    const frame = encodeApp(data, channel);
    const size = frameSize(frame);
    if (to === 'server') {
      if (channel) throw new SessionError('bad-options', 'channels are for members, not the server');
      return this.sendViaServer({ type: 'app' }, data, size);
    }
    const targets = to === '*' ? [...this.links.values()] : [this.links.get(to)];
    if (targets.some((l) => !l)) throw new SessionError('bad-options', `no member "${to}" to send to`);
    if (size > MAX_APP_MESSAGE_BYTES) throw new SessionError('too-large', `message of ${size} bytes exceeds ${MAX_APP_MESSAGE_BYTES}`);
    const viaServer = (targets as PeerLink[]).filter((l) => !l.sendFrame(frame));
    if (viaServer.length === 0) return;
    const ch = channel ? { ch: channel } : {};
    if (to === '*' && viaServer.length === targets.length) return this.sendViaServer({ type: 'relay', to: '*', ...ch }, data, size);
    for (const l of viaServer) this.sendViaServer({ type: 'relay', to: l.peerId, ...ch }, data, size);
  }

  private sendViaServer(head: { type: 'app' } | { type: 'relay'; to: string; ch?: string }, data: AppMessage, size: number): void {
    if (size > MAX_RELAY_MESSAGE_BYTES) {
      throw new SessionError('too-large', `message of ${size} bytes exceeds ${MAX_RELAY_MESSAGE_BYTES}, the limit through the server`);
    }
    const bytes = asBytes(data);
    const payload: Payload = bytes ? { bin: toBase64(bytes) } : { data };
    const deliver = () => this.roomLink!.send({ ...head, ...payload });
    this.log.debug('via the server:', head.type, 'to' in head ? head.to : '', this.state, this.roomLink!.alive);
    // While moving servers, hold it: it is sent once, on the new server.
    if (this.state === 'reconnecting' || !this.roomLink!.alive) this.outbox.push(deliver);
    else deliver();
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

  /** @internal The RTCPeerConnection carrying data with one member, once open (file transfers add channels to it). */
  getDataPeerConnection(peerId: string): RTCPeerConnection | undefined {
    return this.links.get(peerId)?.dataPeerConnection;
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
    this.gate.destroy();
    for (const timer of this.absentChecks.values()) clearInterval(timer);
    this.absentChecks.clear();
    this.outbox = [];
    for (const l of this.links.values()) l.close();
    this.links.clear();
    this.roomLink?.close();
    this.peer?.destroy();
    for (const p of this.retiredPeers.splice(0)) p.destroy();
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
