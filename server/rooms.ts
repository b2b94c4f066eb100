import { createHash, randomBytes } from 'node:crypto';
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { WebSocket, WebSocketServer } from 'ws';
import type {
  ClientMessage,
  Route,
  ErrorCode,
  MediaState,
  MemberInfo,
  Payload,
  RTCIceServerLike,
  Role,
  ServerMessage,
} from '../components/core/room-protocol.js';
import { CLOSE_LOST, MAX_MESSAGE_BYTES, roomPeerPath, shouldConnect } from '../components/core/room-protocol.js';
import { safeEqual, verifyToken } from './auth.js';
import { POLICY_VIOLATION, SocketBudget, closeSocket, sendText, type SocketLimits } from './budget.js';
import type { Cluster, ClusterEvent, MemberRecord } from './cluster.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { parseClientMessage } from './protocol.js';
import { ForwardingTree, type TreeJSON } from './tree.js';

/** What the server application sees of a member. */
export interface MemberContext {
  room: string;
  peerId: string;
  name: string;
  role: Role;
  identity?: string;
  address: string;
  /** When this join happened (ms since the epoch). */
  joinedAt: number;
}

/** What a join asks, for the `authenticate` hook. */
export interface JoinRequest {
  room: string;
  name: string;
  role: Role;
  address: string;
  key?: string;
  password?: string;
  token?: string;
  /** Identity from a valid token, if one was given. */
  identity?: string;
}

/** Application data: a JSON value, or bytes. */
export type AppData = unknown;

/** Why a member left: itself, a lost connection, the server stopping, a kick, or the room closed. */
export type LeaveReason = 'leave' | 'disconnect' | 'shutdown' | 'kick' | 'closed';

export interface ServerHooks {
  /** Runs after the built-in checks pass; return false (or throw) to refuse, or `{ identity, name }` to set them. */
  authenticate?(
    request: JoinRequest,
  ): boolean | { identity?: string; name?: string } | Promise<boolean | { identity?: string; name?: string }>;
  onJoin?(member: MemberContext): void;
  onLeave?(member: MemberContext, reason: LeaveReason): void;
  /** A room got its first member (in a cluster: its first anywhere). */
  onRoomOpen?(room: string): void;
  /** A room's last member left (in a cluster: its last anywhere). */
  onRoomEmpty?(room: string): void;
  /** A member sent data to `'server'` on the transparent channel. Bytes arrive as a Uint8Array. */
  onMessage?(from: MemberContext, data: AppData): void;
}

export interface RoomConfig {
  /** Password members must give (the element's `password`), unless they hold a token. */
  password?: string;
  /** Largest number of members that send media (mesh members and presenters). */
  maxParticipants?: number;
  /** Largest number of viewers in a broadcast room. */
  maxViewers?: number;
  /** Broadcast rooms: most viewers one member sends to; further viewers receive through viewers. */
  fanout?: number;
}

/** Who may join and how many: shared by `createServer` options and the room service. */
export interface RoomPolicy {
  /** Server password: members give it as the element's `key` (or `password`), or hold a token. */
  password?: string;
  /** Secret that signs room tokens (`createToken`). */
  tokenSecret?: string;
  /** Per-room settings (password, limits) by room name. */
  rooms?: Record<string, RoomConfig>;
  /** Largest mesh per room unless the room's settings say otherwise. Default 6. */
  maxParticipants?: number;
  /** Largest audience of a broadcast room. Default 100. */
  maxViewers?: number;
  /**
   * Broadcast rooms: the presenter sends to at most this many viewers, and each viewer forwards to at most this many
   * more (a forwarding tree). A page may ask for less (`fanout` attribute), not more. Default 4.
   */
  fanout?: number;
  /** Business logic: `authenticate`, `onJoin`, `onLeave`, `onMessage`. */
  hooks?: ServerHooks;
}

export interface RoomServiceOptions extends RoomPolicy {
  logger: Logger;
  /** PeerJS `path` for a room (below the base path the client already knows). Default `/r/<room>/peerjs`. */
  peerPath?: (room: string) => string;
  /** ICE servers handed to a member with its join answer (TURN credentials are per member). */
  iceServers: (peerId: string) => RTCIceServerLike[];
  /** What one room socket may send: messages per second and at once, invalid frames at once. */
  limits?: SocketLimits;
  /** Failed joins allowed per (address, room) before that pair is blocked for `blockSeconds`. */
  authFailures?: { points: number; durationSeconds: number; blockSeconds: number };
  heartbeatMs?: number;
  /** A room socket that has not joined within this time is closed. Default 10 s. */
  joinTimeoutMs?: number;
  /** A member whose room socket drops without leaving is kept this long, so it can come back as itself. Default 10 s. */
  graceMs?: number;
  /** Most members on this server at once. */
  maxMembers?: number;
  metrics?: Metrics;
  /** A member is gone for good: its signalling socket must go too. */
  onMemberGone?(member: MemberContext): void;
  /** Shared room state: members of a room meet on whichever nodes they reached. */
  cluster?: Cluster;
  /** A socket from `address` was cut off for abuse. */
  onCutOff?(address: string): void;
  /** Signalling for a member of this node, routed from another node. */
  onSignal?(peerId: string, text: string): void;
}

interface Member extends MemberContext {
  /** Proves this member to PeerServer (in its URL); new at every join, revoked when its signalling is cut off. */
  peerToken: string;
  /** Secret that owns the peer id (the id is derived from it): only a holder can come back as this member. */
  readonly resumeToken: string;
  media: MediaState;
  /** The room socket; undefined while the member is away within its grace period, and for members on other nodes. */
  socket: WebSocket | undefined;
  graceTimer?: NodeJS.Timeout;
  /** The node of a member on another node of the cluster; undefined for members here. */
  node?: string;
  /** Its `joined` answer went out: route changes are sent from then on. */
  ready?: boolean;
  /** When it last reported its parent lost (each report moves it). */
  lastMove?: number;
}

/**
 * A member's peer id is derived from the room and its resume token: ids cannot be chosen, only proven. Any server
 * (a standby with no shared state included) can check that a returning member owns the id it comes back as.
 */
function peerIdFor(room: string, resumeToken: string): string {
  return `p${createHash('sha256').update(`${room}\n${resumeToken}`).digest('hex').slice(0, 31)}`;
}

interface Room {
  /** Members here, and in a cluster also the room's members on other nodes (while some member is here). */
  readonly members: Map<string, Member>;
  maxParticipants: number;
  maxViewers: number;
  /** Joins to this room under way here (a cluster join awaits Redis): the room is not forgotten meanwhile. */
  joining: number;
  fanout: number;
  /** Broadcast rooms: who forwards the presenters' media to whom (in a cluster: the copy of the one in Redis). */
  tree?: ForwardingTree;
  treeVersion: number;
  /** Tree changes, one after another (each reads, changes and stores the tree). */
  treeChain: Promise<void>;
  /** The route each member here was told last, so only changes are sent. */
  readonly routes: Map<string, string>;
}

/** The root of a forwarding tree: the presenters (a viewer it serves connects to each of them). */
const PRESENTERS = '';
/** A viewer's reports of a lost parent are heeded at most this often (each one moves it and its subtree). */
const ROUTE_LOST_MIN_MS = 5000;

class JoinRefused extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Room membership in memory: join (with passwords, tokens and limits), leave, roster, media state, the data relay
 * between members and the transparent channel to the server application. Every inbound frame is size-checked,
 * rate-limited and schema-validated; a bad one gets an `error {code, message}` reply and nothing else happens.
 */
/** How long members of a node that died are kept in its rooms, at least: they are moving to other nodes meanwhile. */
const DEAD_NODE_GRACE_MS = 30_000;
const REAP_INTERVAL_MS = 2000;

/**
 * Room membership: join (with passwords, tokens and limits), leave, roster, media state, the data relay between
 * members and the transparent channel to the server application. Every inbound frame is size-checked, rate-limited
 * and schema-validated; a bad one gets an `error {code, message}` reply and nothing else happens.
 *
 * Alone, the state lives in this process. With a cluster (Redis), the room's roster lives in Redis and each node keeps
 * a copy of the rooms it has members in, kept current by the other nodes' events; what a member sends to a member on
 * another node (relay, signalling) goes through that node.
 */
export class RoomService {
  readonly wss: WebSocketServer;
  private readonly rooms = new Map<string, Room>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly reaper: NodeJS.Timeout | undefined;
  private readonly alive = new WeakSet<WebSocket>();
  private readonly authLimiter: RateLimiterAbstract;
  private readonly cluster: Cluster | undefined;
  /** In a cluster: when each node was first seen dead, so its members are removed only after a grace period. */
  private readonly deadSince = new Map<string, number>();
  private readonly log: Logger;

  constructor(private readonly options: RoomServiceOptions) {
    // Frames above MAX_MESSAGE_BYTES get a readable error; only absurd ones (16x) make ws close with 1009.
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES * 16 });
    this.heartbeat = setInterval(() => this.sweep(), options.heartbeatMs ?? 30_000);
    this.heartbeat.unref();
    this.log = options.logger;
    this.cluster = options.cluster;
    const f = options.authFailures ?? { points: 10, durationSeconds: 60, blockSeconds: 60 };
    const limits = { points: f.points, duration: f.durationSeconds, blockDuration: f.blockSeconds };
    // In a cluster, lockouts are shared: guessing on another node counts too.
    this.authLimiter = this.cluster
      ? new RateLimiterRedis({ storeClient: this.cluster.client, keyPrefix: 'av:auth', ...limits })
      : new RateLimiterMemory(limits);
    if (this.cluster) {
      this.reaper = setInterval(
        () => void this.reap().catch((err: Error) => this.log.warn({ err: err.message }, 'reaping failed')),
        REAP_INTERVAL_MS,
      );
      this.reaper.unref();
    }
  }

  /** Members connected to this server (in a cluster: to this node). */
  get memberCount(): number {
    let n = 0;
    for (const room of this.rooms.values()) for (const m of room.members.values()) if (!m.node) n++;
    return n;
  }

  /** Rooms with members on this server. */
  get roomCount(): number {
    return this.rooms.size;
  }

  roster(room: string): MemberInfo[] {
    return [...(this.rooms.get(room)?.members.values() ?? [])].map(info);
  }

  /** The member `peerId` of `room` if `peerToken` is the one issued at its current join here (PeerServer registration). */
  memberByToken(room: string, peerId: string, peerToken: string): MemberContext | undefined {
    const m = this.rooms.get(room)?.members.get(peerId);
    return m && !m.node && safeEqual(peerToken, m.peerToken) ? m : undefined;
  }

  /** A member's signalling was cut off for abuse: its token no longer registers; it must join again. */
  revokeSignalling(member: MemberContext): void {
    const m = this.rooms.get(member.room)?.members.get(member.peerId);
    if (m === member) m.peerToken = randomBytes(16).toString('hex');
  }

  /** Whether `member` (as registered) is still in its room, as that same join. */
  isCurrent(member: MemberContext): boolean {
    return this.rooms.get(member.room)?.members.get(member.peerId) === member;
  }

  /**
   * Whether `from` may signal `toPeerId` now: both are members of the same room at this moment and exchange media.
   * In broadcast rooms that is the forwarding tree's edges: a presenter with the viewers it serves, a viewer with its
   * parent and its children. When true, returns the target and, for a member on another node, that node.
   */
  signallingTarget(from: MemberContext, toPeerId: string): (MemberContext & { node?: string }) | undefined {
    const r = this.rooms.get(from.room);
    if (!r || r.members.get(from.peerId) !== from || toPeerId === from.peerId) return undefined;
    const to = r.members.get(toPeerId);
    if (!to) return undefined;
    if (from.role !== 'viewer' && to.role !== 'viewer') return to;
    const parent = (m: MemberContext) => r.tree?.parentOf(m.peerId);
    if (from.role === 'viewer' && to.role === 'viewer') return parent(from) === to.peerId || parent(to) === from.peerId ? to : undefined;
    const viewer = from.role === 'viewer' ? from : to;
    const other = viewer === from ? to : from;
    return other.role === 'presenter' && parent(viewer) === PRESENTERS ? to : undefined;
  }

  /**
   * Whether `from` may offer `to` a media call, which names in `forward` the member whose media it forwards (if any).
   * Between viewers only a parent offers, to its child, and only a presenter's media. A forwarded member must be one
   * that publishes, other than both, whose media `to` may receive; to a viewer, only its parent forwards.
   */
  mayOffer(from: MemberContext, to: MemberContext, forward: unknown): boolean {
    const r = this.rooms.get(from.room);
    const toViewer = to.role === 'viewer';
    if (from.role === 'viewer' && toViewer && forward === undefined) return false;
    if (forward === undefined) return true;
    if (typeof forward !== 'string') return false;
    const owner = r?.members.get(forward);
    if (!owner || owner.peerId === from.peerId || owner.peerId === to.peerId || owner.role === 'viewer') return false;
    if (!shouldConnect(to.role, owner.role)) return false;
    return !toViewer || r?.tree?.parentOf(to.peerId) === from.peerId;
  }

  /** Routes a signalling message to a member on another node. */
  routeSignal(node: string, dst: string, text: string): void {
    this.cluster?.publishNode(node, { t: 'signal', dst, text });
  }

  /** Sends application data to one member as from `'server'`, wherever it is. Resolves false when there is no such member. */
  send(peerId: string, data: AppData): Promise<boolean> {
    const text = JSON.stringify({ type: 'app', from: 'server', ...encodePayload(data) } satisfies ServerMessage);
    return this.toMember({ t: 'send', peerId, text });
  }

  /**
   * Something for one member wherever it is: in a cluster, every node hears it and the member's node acts (this one
   * included); alone, this server acts now. Resolves whether there is such a member.
   */
  private async toMember(event: Extract<ClusterEvent, { t: 'send' | 'kick' | 'mute' }>): Promise<boolean> {
    if (this.cluster) {
      if (!(await this.cluster.roomOf(event.peerId))) return false;
      this.cluster.publishAll(event);
      return true;
    }
    const known = !!this.localMember(event.peerId);
    this.onClusterEvent(undefined, event);
    return known;
  }

  /** Sends application data to every member of a room, wherever they are; resolves with how many. */
  async broadcastApp(room: string, data: AppData): Promise<number> {
    const text = JSON.stringify({ type: 'app', from: 'server', ...encodePayload(data) } satisfies ServerMessage);
    this.deliverLocal(room, text);
    if (!this.cluster) return this.rooms.get(room)?.members.size ?? 0;
    this.cluster.publishRoom(room, { t: 'app', text });
    return this.cluster.roomSize(room);
  }

  /** Removes a member from its room now: its sockets close and its peers drop it at once. */
  kick(peerId: string, reason = 'removed by the server'): Promise<boolean> {
    return this.toMember({ t: 'kick', peerId, reason });
  }

  /** Asks a member's page to mute its microphone; the page shows who asked. */
  requestMute(peerId: string, by = 'the server'): Promise<boolean> {
    return this.toMember({ t: 'mute', peerId, by });
  }

  /** Ends a room for everyone in it, wherever they are; resolves with how many members it had. */
  async closeRoom(room: string, reason = 'the room was closed'): Promise<number> {
    const size = this.cluster ? await this.cluster.roomSize(room) : (this.rooms.get(room)?.members.size ?? 0);
    this.cluster?.publishRoom(room, { t: 'close', reason });
    this.closeLocal(room, reason);
    return size;
  }

  /** Takes over an upgraded socket for `room`; `address` is the client's (through a trusted proxy, the forwarded one). */
  accept(socket: WebSocket, address: string, room: string): void {
    const log = this.log.child({ room });
    const state: { member?: Member; joining: boolean } = { joining: false };
    const budget = new SocketBudget(socket, this.options.limits ?? { perSecond: 50, burst: 200, invalid: 20 }, (reason) => {
      log.warn({ address, peerId: state.member?.peerId, reason }, 'room socket cut off');
      this.options.metrics?.socketsCut.inc({ socket: 'room', reason });
      this.options.onCutOff?.(address);
    });
    const joinTimer = setTimeout(() => {
      if (state.member || state.joining) return;
      this.options.metrics?.socketsCut.inc({ socket: 'room', reason: 'join timeout' });
      closeSocket(socket, POLICY_VIOLATION, 'join timeout');
    }, this.options.joinTimeoutMs ?? 10_000);
    joinTimer.unref();
    this.alive.add(socket);

    socket.on('pong', () => this.alive.add(socket));
    socket.on('error', (err) => log.debug({ err: err.message }, 'room socket error'));
    socket.on('close', (code) => {
      clearTimeout(joinTimer);
      const member = state.member;
      state.member = undefined;
      if (!member || member.socket !== socket) return;
      // Closed with a handshake (a page going away says so) or cut off: gone now. Lost without one (1006: network
      // gone, process killed), or given up by a client that heard no answer to its pings (CLOSE_LOST: it is coming
      // back): kept for a grace period, so a member whose connection blipped comes back as itself.
      if ((code !== 1006 && code !== CLOSE_LOST) || budget.closed) return this.remove(member, 'disconnect', log);
      this.away(member, log, code === CLOSE_LOST);
    });
    socket.on('message', (data, isBinary) => {
      try {
        if (!budget.message()) return;
        const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer).byteLength;
        if (size > MAX_MESSAGE_BYTES) {
          if (!budget.invalid()) return;
          return this.sendError(socket, 'too-large', `message of ${size} bytes exceeds the ${MAX_MESSAGE_BYTES}-byte limit`);
        }
        if (isBinary) {
          if (!budget.invalid()) return;
          return this.sendError(socket, 'bad-json', 'binary frames are not accepted on the room socket');
        }
        const parsed = parseClientMessage(
          Buffer.isBuffer(data) ? data.toString() : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]).toString(),
        );
        if (!parsed.ok) {
          if (!budget.invalid()) return;
          return this.sendError(socket, parsed.code, parsed.message);
        }
        this.handle(socket, room, address, state, parsed.message, log, budget);
      } catch (err) {
        log.error({ err }, 'room message handler failed');
        this.sendError(socket, 'internal', 'internal error');
      }
    });
  }

  private handle(
    socket: WebSocket,
    room: string,
    address: string,
    state: { member?: Member; joining: boolean },
    msg: ClientMessage,
    log: Logger,
    budget: SocketBudget,
  ): void {
    const member = state.member;
    if (msg.type === 'ping') return send(socket, msg.t === undefined ? { type: 'pong' } : { type: 'pong', t: msg.t });
    if (msg.type === 'join') {
      if (member || state.joining)
        return this.sendError(socket, 'already-joined', `already joined room "${room}"${member ? ` as ${member.peerId}` : ''}`);
      state.joining = true;
      this.join(socket, room, address, msg, log)
        .then((joined) => {
          if (socket.readyState !== WebSocket.OPEN) return this.remove(joined, 'disconnect', log);
          state.member = joined;
          this.options.metrics?.joins.inc({ result: 'ok' });
        })
        .catch((err: unknown) => {
          if (err instanceof JoinRefused) {
            this.options.metrics?.joins.inc({ result: err.code });
            return this.sendError(socket, err.code, err.message);
          }
          log.error({ err: String(err) }, 'join failed');
          this.sendError(socket, 'internal', 'internal error');
        })
        .finally(() => (state.joining = false));
      return;
    }
    if (!member) {
      if (!budget.invalid()) return;
      return this.sendError(socket, 'not-joined', `cannot ${msg.type}: not joined`);
    }
    switch (msg.type) {
      case 'leave':
        this.remove(member, 'leave', log);
        state.member = undefined;
        return send(socket, { type: 'left' });
      case 'update':
        member.media = msg.media;
        this.broadcast(room, { type: 'peer-updated', peerId: member.peerId, media: msg.media }, member.peerId);
        if (this.cluster) {
          this.cluster.publishRoom(room, { t: 'update', peerId: member.peerId, media: msg.media });
          this.cluster.update(room, member.peerId, msg.media).catch((err: Error) => log.warn({ err: err.message }, 'update not stored'));
        }
        return;
      case 'relay': {
        const members = this.rooms.get(room)?.members;
        const payload = { ...(msg.bin !== undefined ? { bin: msg.bin } : { data: msg.data }), ...(msg.ch ? { ch: msg.ch } : {}) };
        const text = JSON.stringify({ type: 'relayed', from: member.peerId, ...payload } satisfies ServerMessage);
        if (msg.to === '*') {
          const except = msg.except?.length ? { except: msg.except } : {};
          this.deliverRelay(room, member.peerId, '*', text, msg.except);
          this.cluster?.publishRoom(room, { t: 'relay', from: member.peerId, to: '*', text, ...except });
          return;
        }
        const target = members?.get(msg.to);
        if (!target || target === member || !shouldConnect(member.role, target.role)) {
          // Nothing is kept for members that do not exist; asking for them again and again counts against the socket.
          if (!budget.invalid()) return;
          return this.sendError(socket, 'unknown-peer', `no member "${msg.to.slice(0, 64)}" to relay to in this room`);
        }
        if (target.node) this.cluster?.publishRoom(room, { t: 'relay', from: member.peerId, to: target.peerId, text });
        else if (target.socket) sendText(target.socket, text);
        return;
      }
      case 'route-lost': {
        const parent = this.rooms.get(room)?.tree?.parentOf(member.peerId);
        if (member.role !== 'viewer' || parent === undefined || parent === PRESENTERS) return;
        const now = Date.now();
        if (now - (member.lastMove ?? 0) < ROUTE_LOST_MIN_MS) return;
        member.lastMove = now;
        log.info({ peerId: member.peerId, parent }, 'parent lost: moving the viewer');
        void this.changeTree(room, (tree) => tree.parentOf(member.peerId) === parent && tree.move(member.peerId, parent));
        return;
      }
      case 'app': {
        const data = msg.bin !== undefined ? new Uint8Array(Buffer.from(msg.bin, 'base64')) : msg.data;
        try {
          this.options.hooks?.onMessage?.(context(member), data);
        } catch (err) {
          log.error({ err: String(err) }, 'onMessage hook threw');
        }
        return;
      }
    }
  }

  private async join(
    socket: WebSocket,
    room: string,
    address: string,
    msg: Extract<ClientMessage, { type: 'join' }>,
    log: Logger,
  ): Promise<Member> {
    const role: Role = msg.role ?? 'member';
    // Failed attempts count per (address, room): one address guessing one room's password locks out only itself from
    // that room; the right password from anyone else, and this address in other rooms, still work.
    const lockKey = `${address}|${room}`;
    const refuse = async (code: ErrorCode, message: string): Promise<never> => {
      if (code === 'auth-failed') {
        await this.authLimiter.consume(lockKey).catch(() => {});
        this.options.metrics?.authFailures.inc();
        log.warn({ address, reason: message }, 'auth failure');
      }
      throw new JoinRefused(code, message);
    };
    const blocked = await this.authLimiter.get(lockKey);
    if (blocked && blocked.remainingPoints <= 0 && blocked.msBeforeNext > 0) {
      throw new JoinRefused('rate-limited', `too many failed attempts; retry in ${Math.ceil(blocked.msBeforeNext / 1000)} s`);
    }
    const config = this.options.rooms?.[room];
    let identity: string | undefined;
    if (msg.token !== undefined) {
      const check = verifyToken(msg.token, this.options.tokenSecret ?? '', room);
      if (!check.ok) return refuse('auth-failed', check.reason);
      identity = check.claims.identity;
    } else {
      // A valid token stands for both passwords: the app's backend vouched for this member.
      const serverPassword = this.options.password;
      if (serverPassword && ![msg.key, msg.password].some((given) => given !== undefined && safeEqual(given, serverPassword))) {
        return refuse('auth-failed', msg.key || msg.password ? 'wrong server password' : 'this server needs a password');
      }
      if (config?.password && !safeEqual(msg.password, config.password)) {
        return refuse('auth-failed', msg.password ? 'wrong room password' : 'this room needs a password');
      }
    }
    let name = msg.name;
    const hooks = this.options.hooks;
    if (hooks?.authenticate) {
      let verdict: Awaited<ReturnType<NonNullable<ServerHooks['authenticate']>>>;
      try {
        verdict = await hooks.authenticate({ room, name, role, address, key: msg.key, password: msg.password, token: msg.token, identity });
      } catch (err) {
        log.warn({ err: String(err) }, 'authenticate hook threw');
        verdict = false;
      }
      if (!verdict) return refuse('auth-failed', 'refused by the server application');
      if (typeof verdict === 'object') {
        identity = verdict.identity ?? identity;
        name = verdict.name?.slice(0, 64) || name;
      }
    }
    if (socket.readyState !== WebSocket.OPEN) throw new JoinRefused('internal', 'socket closed while joining');

    // The server's limit is a ceiling: a client may ask for a smaller room, never a larger one.
    const ceiling = config?.maxParticipants ?? this.options.maxParticipants ?? 6;
    const fanout = config?.fanout ?? this.options.fanout ?? 4;
    const wanted = {
      maxParticipants: Math.min(ceiling, msg.maxParticipants ?? ceiling),
      maxViewers: config?.maxViewers ?? this.options.maxViewers ?? 100,
      fanout: Math.min(fanout, msg.fanout ?? fanout),
    };
    // Ids are never chosen by clients: a new member gets a new resume token, a returning one proves its old one.
    const resumeToken = msg.resume ?? randomBytes(24).toString('base64url');
    const peerId = peerIdFor(room, resumeToken);
    const joinedAt = Date.now();
    const media = role === 'viewer' ? { audio: false, video: false } : (msg.media ?? { audio: true, video: true });
    if (!this.localMember(peerId) && this.options.maxMembers !== undefined && this.memberCount >= this.options.maxMembers) {
      return refuse('server-full', `this server holds its maximum of ${this.options.maxMembers} members`);
    }

    let r = this.rooms.get(room);
    let resumed: boolean;
    let opened: boolean;
    if (this.cluster) {
      // Hear the room's events before reading its roster, then join atomically (limits count the whole cluster).
      r = this.ensureRoom(room, wanted);
      r.joining++;
      let result: Awaited<ReturnType<Cluster['join']>>;
      try {
        const roster = await this.cluster.watch(room);
        const tree = await this.cluster.getTree(room);
        if (tree) this.applyTree(room, tree);
        // Members of this node are known here already (or are joining, like this one): only others come from Redis.
        for (const rec of roster) {
          if (rec.peerId !== peerId && rec.node !== this.cluster.node && !r.members.has(rec.peerId))
            r.members.set(rec.peerId, remoteMember(room, rec));
        }
        const record: MemberRecord = { peerId, name, media, role, ...(identity ? { identity } : {}), node: this.cluster.node, joinedAt };
        result = await this.cluster.join(room, record, wanted);
      } finally {
        r.joining--;
      }
      if (!result.ok) {
        this.dropRoomIfIdle(room);
        return refuse('room-full', `room "${room}" is full (${result.limit} ${role === 'viewer' ? 'viewers' : 'participants'})`);
      }
      if (socket.readyState !== WebSocket.OPEN) {
        this.cluster.leave(room, peerId, this.cluster.node, joinedAt).catch(() => {});
        this.dropRoomIfIdle(room);
        throw new JoinRefused('internal', 'socket closed while joining');
      }
      r.maxParticipants = result.maxParticipants;
      r.maxViewers = result.maxViewers;
      resumed = !!result.previous;
      opened = result.opened;
    } else {
      const counted = [...(r?.members.values() ?? [])].filter(
        (m) => m.peerId !== peerId && (role === 'viewer') === (m.role === 'viewer'),
      ).length;
      const limit = role === 'viewer' ? (r?.maxViewers ?? wanted.maxViewers) : (r?.maxParticipants ?? wanted.maxParticipants);
      if (counted >= limit)
        return refuse('room-full', `room "${room}" is full (${limit} ${role === 'viewer' ? 'viewers' : 'participants'})`);
      opened = !r;
      r = this.ensureRoom(room, wanted);
      resumed = r.members.has(peerId);
    }
    const previous = r.members.get(peerId);
    if (previous) {
      // The same member coming back (its connection blipped, or it moved here from another node): the old join goes.
      if (!previous.node) this.retire(previous);
      r.members.delete(peerId);
      log.info({ peerId }, 'resume');
    }
    const joined: Member = {
      room,
      peerId,
      name,
      role,
      identity,
      address,
      peerToken: randomBytes(16).toString('hex'),
      resumeToken,
      joinedAt,
      media,
      socket,
    };
    const peers = [...r.members.values()].map(info);
    r.members.set(peerId, joined);
    r.routes.delete(peerId);
    // Members hear of the newcomer before the newcomer can call them (a resumed member is one they already have).
    this.broadcast(room, resumed ? { type: 'peer-updated', peerId, media } : { type: 'peer-joined', peer: info(joined) }, peerId);
    this.cluster?.publishRoom(room, { t: 'join', member: toRecord(joined, this.cluster.node), resumed });
    // A viewer takes a place in the forwarding tree (a returning one keeps its place if it still has it).
    if (role === 'viewer') {
      await this.changeTree(room, (tree) => !tree.has(peerId) && tree.add(peerId));
      if (!r.tree?.has(peerId)) log.error({ peerId }, 'no place in the forwarding tree');
    }
    const route = this.routeOf(r, joined);
    if (route) r.routes.set(peerId, JSON.stringify({ type: 'route', ...route }));
    joined.ready = true;
    send(socket, {
      type: 'joined',
      room,
      self: info(joined),
      peerToken: joined.peerToken,
      resumeToken,
      peerPath: this.options.peerPath?.(room) ?? roomPeerPath(room),
      peers,
      iceServers: this.options.iceServers(peerId),
      maxParticipants: r.maxParticipants,
      ...(route ? { route } : {}),
    });
    log.info({ peerId, role, members: r.members.size }, 'join');
    if (opened) this.hook('onRoomOpen', room);
    this.hook('onJoin', context(joined));
    return joined;
  }

  private ensureRoom(room: string, limits: { maxParticipants: number; maxViewers: number; fanout: number }): Room {
    let r = this.rooms.get(room);
    if (!r) {
      r = { members: new Map(), joining: 0, ...limits, treeVersion: 0, treeChain: Promise.resolve(), routes: new Map() };
      this.rooms.set(room, r);
    }
    return r;
  }

  /** Forgets a room here once no member of it is on this server (its members elsewhere are the cluster's). */
  private dropRoomIfIdle(room: string): void {
    const r = this.rooms.get(room);
    if (!r || r.joining > 0 || [...r.members.values()].some((m) => !m.node)) return;
    this.rooms.delete(room);
    void this.cluster?.unwatch(room);
  }

  private localMember(peerId: string): Member | undefined {
    for (const room of this.rooms.values()) {
      const m = room.members.get(peerId);
      if (m && !m.node) return m;
    }
    return undefined;
  }

  /**
   * The member's room socket was lost: keep it in the room for the grace period, then remove it. `alive`: the client
   * itself gave up on the socket (CLOSE_LOST), so its page and calls are up and it is coming back.
   */
  private away(member: Member, log: Logger, alive = false): void {
    member.socket = undefined;
    clearTimeout(member.graceTimer);
    member.graceTimer = setTimeout(() => this.remove(member, 'disconnect', log), this.options.graceMs ?? 10_000);
    member.graceTimer.unref();
    log.info({ peerId: member.peerId, alive }, 'away');
    // Its children must not wait for a member that may be gone: they move now (it comes back as a leaf). One that is
    // alive keeps its place, and forwarding goes on; if it does not come back, leaving takes it out of the tree.
    if (member.role === 'viewer' && !alive)
      void this.changeTree(member.room, (tree) => tree.has(member.peerId) && tree.remove(member.peerId));
  }

  /** Ends a member's current join here without announcing a leave (it is coming back as itself, here or elsewhere). */
  private retire(member: Member): void {
    clearTimeout(member.graceTimer);
    const socket = member.socket;
    member.socket = undefined;
    if (socket) {
      socket.removeAllListeners('close');
      socket.terminate();
    }
    this.options.onMemberGone?.(member);
  }

  private remove(member: Member, reason: LeaveReason, log: Logger): void {
    const r = this.rooms.get(member.room);
    if (!r || r.members.get(member.peerId) !== member) return;
    clearTimeout(member.graceTimer);
    r.members.delete(member.peerId);
    r.routes.delete(member.peerId);
    this.options.onMemberGone?.(member);
    this.broadcast(member.room, { type: 'peer-left', peerId: member.peerId });
    if (member.role === 'viewer') void this.changeTree(member.room, (tree) => tree.has(member.peerId) && tree.remove(member.peerId));
    log.info({ peerId: member.peerId, reason, members: r.members.size }, 'leave');
    this.hook('onLeave', context(member), reason);
    if (!this.cluster) {
      if (r.members.size === 0) {
        this.rooms.delete(member.room);
        this.hook('onRoomEmpty', member.room);
      }
      return;
    }
    const cluster = this.cluster;
    this.dropRoomIfIdle(member.room);
    cluster
      .leave(member.room, member.peerId, cluster.node, member.joinedAt)
      .then((removed) => {
        if (removed) cluster.publishRoom(member.room, { t: 'leave', peerId: member.peerId, joinedAt: member.joinedAt, reason });
        if (removed === 2) this.hook('onRoomEmpty', member.room);
      })
      .catch((err: Error) => log.warn({ err: err.message }, 'leave not stored'));
  }

  private kickLocal(member: Member, reason: string): void {
    const socket = member.socket;
    if (socket) send(socket, { type: 'kicked', reason });
    this.remove(member, 'kick', this.log.child({ room: member.room }));
    if (socket) setTimeout(() => closeSocket(socket, 1000, 'kicked'), 50).unref();
  }

  private closeLocal(room: string, reason: string): void {
    const r = this.rooms.get(room);
    if (!r) return;
    for (const m of [...r.members.values()]) {
      if (m.node) continue;
      const socket = m.socket;
      if (socket) send(socket, { type: 'room-closed', reason });
      this.remove(m, 'closed', this.log.child({ room }));
      if (socket) setTimeout(() => closeSocket(socket, 1000, 'room closed'), 50).unref();
    }
  }

  /** An event from another node of the cluster (or, for one member, from this server itself when alone). */
  onClusterEvent(room: string | undefined, event: ClusterEvent): void {
    switch (event.t) {
      case 'signal':
        return this.options.onSignal?.(event.dst, event.text);
      case 'send': {
        const m = this.localMember(event.peerId);
        if (m?.socket) sendText(m.socket, event.text);
        return;
      }
      case 'kick': {
        const m = this.localMember(event.peerId);
        if (m) this.kickLocal(m, event.reason);
        return;
      }
      case 'mute': {
        const m = this.localMember(event.peerId);
        if (m?.socket) send(m.socket, { type: 'mute-request', by: event.by });
        return;
      }
    }
    const r = room === undefined ? undefined : this.rooms.get(room);
    if (!r || room === undefined) return;
    switch (event.t) {
      case 'join': {
        const existing = r.members.get(event.member.peerId);
        if (existing && !existing.node) {
          // It came back on another node: its old join here ends quietly.
          this.retire(existing);
        }
        r.members.set(event.member.peerId, remoteMember(room, event.member));
        const m = event.member;
        this.broadcast(
          room,
          existing || event.resumed
            ? { type: 'peer-updated', peerId: m.peerId, media: m.media }
            : { type: 'peer-joined', peer: info(remoteMember(room, m)) },
          m.peerId,
        );
        this.dropRoomIfIdle(room);
        return;
      }
      case 'leave': {
        const m = r.members.get(event.peerId);
        if (!m || !m.node || m.joinedAt !== event.joinedAt) return;
        r.members.delete(event.peerId);
        this.broadcast(room, { type: 'peer-left', peerId: event.peerId });
        return;
      }
      case 'update': {
        const m = r.members.get(event.peerId);
        if (!m || !m.node) return;
        m.media = event.media;
        this.broadcast(room, { type: 'peer-updated', peerId: event.peerId, media: event.media }, event.peerId);
        return;
      }
      case 'relay':
        return this.deliverRelay(room, event.from, event.to, event.text, event.except);
      case 'tree':
        return this.applyTree(room, event.text);
      case 'app':
        return this.deliverLocal(room, event.text);
      case 'close':
        return this.closeLocal(room, event.reason);
    }
  }

  /**
   * Relayed data to the members here that should get it (`to` a peer id, or `*` for everyone the sender connects with
   * but those in `except`).
   */
  private deliverRelay(room: string, from: string, to: string, text: string, except?: string[]): void {
    const r = this.rooms.get(room);
    const sender = r?.members.get(from);
    if (!r || !sender) return;
    for (const m of r.members.values()) {
      if (m.node || m === sender || !m.socket || !shouldConnect(sender.role, m.role) || except?.includes(m.peerId)) continue;
      if (to === '*' || to === m.peerId) sendText(m.socket, text);
    }
  }

  private deliverLocal(room: string, text: string): void {
    for (const m of this.rooms.get(room)?.members.values() ?? []) if (!m.node && m.socket) sendText(m.socket, text);
  }

  /** Members of dead nodes that did not come back within the grace period are removed from their rooms. */
  private async reap(): Promise<void> {
    const cluster = this.cluster;
    if (!cluster || this.rooms.size === 0) return;
    const alive = await cluster.liveNodes();
    const now = Date.now();
    for (const node of this.deadSince.keys()) if (alive.has(node)) this.deadSince.delete(node);
    const grace = Math.max(this.options.graceMs ?? 10_000, DEAD_NODE_GRACE_MS);
    for (const [room, r] of this.rooms) {
      for (const m of [...r.members.values()]) {
        if (!m.node || alive.has(m.node)) continue;
        const since = this.deadSince.get(m.node) ?? now;
        this.deadSince.set(m.node, since);
        if (now - since < grace) continue;
        const removed = await cluster.leave(room, m.peerId, m.node, m.joinedAt);
        if (r.members.get(m.peerId) !== m) continue;
        r.members.delete(m.peerId);
        this.broadcast(room, { type: 'peer-left', peerId: m.peerId });
        if (m.role === 'viewer') void this.changeTree(room, (tree) => tree.has(m.peerId) && tree.remove(m.peerId));
        if (removed) {
          cluster.publishRoom(room, { t: 'leave', peerId: m.peerId, joinedAt: m.joinedAt, reason: 'disconnect' });
          this.log.info({ room, peerId: m.peerId, node: m.node }, 'leave (its node died)');
          this.hook('onLeave', context(m), 'disconnect');
        }
      }
    }
  }

  /**
   * Changes a room's forwarding tree, then tells the members here whose route changed. Alone, the tree is this
   * process's; in a cluster it lives in Redis: read, changed and stored only if no other node stored one meanwhile
   * (else again), then published to the other nodes. `change` may run more than once, so it must look before it acts.
   */
  private changeTree(room: string, change: (tree: ForwardingTree) => unknown): Promise<void> {
    const r = this.rooms.get(room);
    if (!r) return Promise.resolve();
    const run = async () => {
      const cluster = this.cluster;
      if (!cluster) {
        r.tree ??= newTree(r);
        change(r.tree);
        r.treeVersion++;
      } else {
        for (let attempt = 1; ; attempt++) {
          const text = await cluster.getTree(room);
          const stored = text ? parseTree(text) : undefined;
          const tree = stored ? ForwardingTree.fromJSON(PRESENTERS, stored) : newTree(r);
          change(tree);
          const json = JSON.stringify({ ...tree.toJSON(), v: (stored?.v ?? 0) + 1 });
          if (await cluster.setTree(room, stored?.v ?? 0, json)) {
            this.applyTree(room, json);
            cluster.publishRoom(room, { t: 'tree', text: json });
            break;
          }
          if (attempt >= 20) throw new Error('the tree kept changing under us');
        }
      }
      this.announceRoutes(room);
    };
    const done = r.treeChain.then(run).catch((err: Error) => this.log.warn({ room, err: err.message }, 'tree change failed'));
    r.treeChain = done;
    return done;
  }

  /** A newer version of a room's tree (stored by this node or another): taken if newer, and routes told. */
  private applyTree(room: string, text: string): void {
    const r = this.rooms.get(room);
    const json = parseTree(text);
    if (!r || !json || json.v <= r.treeVersion) return;
    r.tree = ForwardingTree.fromJSON(PRESENTERS, json);
    r.treeVersion = json.v;
    this.announceRoutes(room);
  }

  /** Tells the members here whose place in the tree changed. */
  private announceRoutes(room: string): void {
    const r = this.rooms.get(room);
    if (!r?.tree) return;
    for (const m of r.members.values()) {
      if (m.node || !m.socket || !m.ready) continue;
      const route = this.routeOf(r, m);
      if (!route) continue;
      const text = JSON.stringify({ type: 'route', ...route } satisfies ServerMessage);
      if (r.routes.get(m.peerId) === text) continue;
      r.routes.set(m.peerId, text);
      sendText(m.socket, text);
    }
  }

  /** A member's route: a viewer's parent and children; a presenter's viewers, and the whole tree. */
  private routeOf(r: Room, m: Member): Route | undefined {
    const tree = r.tree;
    if (!tree || m.role === 'member') return undefined;
    if (m.role === 'presenter') {
      const all = tree.entries().slice(1);
      return {
        parent: null,
        children: [...tree.childrenOf(PRESENTERS)],
        tree: all.map((e) => ({ id: e.id, parent: e.parent === PRESENTERS ? null : e.parent! })),
      };
    }
    const parent = tree.parentOf(m.peerId);
    return { parent: parent === undefined || parent === PRESENTERS ? null : parent, children: [...tree.childrenOf(m.peerId)] };
  }

  /** To the members here (in a cluster, the other nodes tell theirs). */
  private broadcast(room: string, msg: ServerMessage, except?: string): void {
    const text = JSON.stringify(msg);
    for (const m of this.rooms.get(room)?.members.values() ?? []) {
      if (m.peerId !== except && !m.node && m.socket) sendText(m.socket, text);
    }
  }

  private hook<K extends 'onJoin' | 'onLeave' | 'onRoomOpen' | 'onRoomEmpty'>(
    name: K,
    ...args: Parameters<NonNullable<ServerHooks[K]>>
  ): void {
    try {
      // Called on the hooks object, so hooks written as methods keep their `this`.
      const hooks = this.options.hooks;
      (hooks?.[name] as ((this: ServerHooks, ...a: unknown[]) => void) | undefined)?.call(hooks!, ...args);
    } catch (err) {
      this.log.error({ err: String(err) }, `${name} hook threw`);
    }
  }

  private sendError(socket: WebSocket, code: ErrorCode, message: string): void {
    send(socket, { type: 'error', code, message });
  }

  private sweep(): void {
    for (const socket of this.wss.clients) {
      if (!this.alive.has(socket)) {
        socket.terminate();
        continue;
      }
      this.alive.delete(socket);
      socket.ping();
    }
  }

  /** Tells every member the server is going down, so they move to a standby now rather than at a timeout. */
  announceShutdown(): void {
    const text = JSON.stringify({ type: 'server-shutdown', message: 'the server is shutting down' } satisfies ServerMessage);
    for (const socket of this.wss.clients) if (socket.readyState === WebSocket.OPEN) socket.send(text);
  }

  /** Closes every member socket. In a cluster, members here stay in their rooms: they move to other nodes. */
  close(): void {
    clearInterval(this.heartbeat);
    clearInterval(this.reaper);
    for (const socket of this.wss.clients) socket.terminate();
    for (const r of this.rooms.values()) for (const m of r.members.values()) clearTimeout(m.graceTimer);
    this.rooms.clear();
    this.wss.close();
  }
}

/** A new tree for a room: deep enough for its whole audience (plus a level, so moves always find a place). */
function newTree(r: Room): ForwardingTree {
  return new ForwardingTree(PRESENTERS, r.fanout, Math.min(64, ForwardingTree.depthFor(Math.max(1, r.maxViewers), r.fanout) + 1));
}

function parseTree(text: string): (TreeJSON & { v: number }) | undefined {
  try {
    const json = JSON.parse(text) as TreeJSON & { v: number };
    return typeof json.v === 'number' && Array.isArray(json.parents) ? json : undefined;
  } catch {
    return undefined;
  }
}

function remoteMember(room: string, rec: MemberRecord): Member {
  return {
    room,
    peerId: rec.peerId,
    name: rec.name,
    role: rec.role,
    ...(rec.identity ? { identity: rec.identity } : {}),
    address: '',
    joinedAt: rec.joinedAt,
    media: rec.media,
    peerToken: '',
    resumeToken: '',
    socket: undefined,
    node: rec.node,
  };
}

function toRecord(m: Member, node: string): MemberRecord {
  return {
    peerId: m.peerId,
    name: m.name,
    media: m.media,
    role: m.role,
    ...(m.identity ? { identity: m.identity } : {}),
    node,
    joinedAt: m.joinedAt,
  };
}

function info(m: Member): MemberInfo {
  return { peerId: m.peerId, name: m.name, media: m.media, role: m.role, ...(m.identity ? { identity: m.identity } : {}) };
}

function context(m: Member): MemberContext {
  return { room: m.room, peerId: m.peerId, name: m.name, role: m.role, identity: m.identity, address: m.address, joinedAt: m.joinedAt };
}

function encodePayload(data: AppData): Payload {
  if (data instanceof Uint8Array || data instanceof ArrayBuffer) return { bin: Buffer.from(data as Uint8Array).toString('base64') };
  return { data };
}

function send(socket: WebSocket, msg: ServerMessage): void {
  sendText(socket, JSON.stringify(msg));
}
