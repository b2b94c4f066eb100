import type { IncomingMessage } from 'node:http';
import type { WebSocket, WebSocketServer } from 'ws';
import { MAX_BUFFERED_BYTES, SocketBudget, closeSocket, type SocketLimits } from './budget.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import type { MemberContext, RoomService } from './rooms.js';

/** What PeerServer relays between peers; everything else a client sends is dropped here. */
const RELAYED = new Set(['OFFER', 'ANSWER', 'CANDIDATE', 'LEAVE']);
/** How long after joining a member may still be registering with PeerServer (messages to it are queued meanwhile). */
const REGISTRATION_WINDOW_MS = 15_000;
/** Messages queued for one member that has not registered yet; past it they are dropped. */
const MAX_QUEUED_PER_MEMBER = 64;
/** Signalling from other nodes held here for members not registered yet, in all (bytes). */
const MAX_PENDING_BYTES = 4 * 1024 * 1024;

interface Registration {
  member: MemberContext;
  socket: WebSocket;
}

/**
 * Stands between the network and stock PeerServer, which knows no rooms: a signalling socket is admitted only with
 * the id and token its room join issued, and every message it sends passes here first. A message reaches PeerServer
 * only if its sender is still a member of its room and its destination is a member of the same room it exchanges
 * media with (in broadcast rooms: along the forwarding tree); a call forwarding a member's media must name a member
 * the destination may receive; nothing is queued for ids that do not exist. Each socket has a rate and an invalid-frame budget; past
 * them it is closed with 1008 and logged once. Leaving the room closes the member's signalling socket.
 */
export class SignallingGuard {
  private readonly registered = new Map<string, Registration>();
  /** Messages let through to members that have not registered yet, by member. */
  private readonly queued = new Map<string, number>();
  /** Messages from other nodes of the cluster for members here that have not registered yet, by member. */
  private readonly pending = new Map<string, { texts: string[]; since: number }>();
  private pendingBytes = 0;

  constructor(
    private readonly rooms: RoomService,
    private readonly options: { logger: Logger; metrics?: Metrics; limits?: SocketLimits; onCutOff?(address: string): void },
  ) {}

  get size(): number {
    return this.registered.size;
  }

  /** The member a PeerServer upgrade for `room` is for, when its `id` and `token` match that member's current join. */
  admit(room: string, url: string): MemberContext | undefined {
    const q = new URL(url, 'http://x').searchParams;
    return this.rooms.memberByToken(room, q.get('id') ?? '', q.get('token') ?? '');
  }

  /**
   * Hands an admitted socket to PeerServer's `wss`, with its messages filtered. A previous signalling socket of the
   * same member (an earlier join) is closed first, so PeerServer takes the new one instead of answering ID-TAKEN.
   */
  async attach(wss: WebSocketServer, socket: WebSocket, req: IncomingMessage, member: MemberContext): Promise<void> {
    const previous = this.registered.get(member.peerId);
    if (previous && previous.socket !== socket) {
      await closeAndWait(previous.socket);
    }
    if (!this.rooms.isCurrent(member) || socket.readyState !== 1) return void socket.terminate();
    const log = this.options.logger.child({ room: member.room, peerId: member.peerId });
    const budget = new SocketBudget(socket, this.options.limits ?? { perSecond: 100, burst: 400, invalid: 50 }, (reason) => {
      log.warn({ reason }, 'signalling socket cut off');
      this.options.metrics?.socketsCut.inc({ socket: 'signalling', reason });
      // The same URL must not simply register again with a fresh budget.
      this.rooms.revokeSignalling(member);
      this.options.onCutOff?.(member.address);
    });
    this.registered.set(member.peerId, { member, socket });
    this.queued.delete(member.peerId);
    socket.on('close', () => {
      if (this.registered.get(member.peerId)?.socket === socket) this.registered.delete(member.peerId);
    });

    const emit = socket.emit.bind(socket);
    socket.emit = ((event: string, ...args: unknown[]) => {
      if (event === 'message' && !this.allow(member, budget, args[0] as Buffer | Buffer[], args[1] as boolean)) return false;
      return emit(event, ...args);
    }) as typeof socket.emit;
    // PeerServer writes with socket.send; a reader that stops reading is dropped instead of buffered for.
    const send = socket.send.bind(socket);
    socket.send = ((data: string) => {
      if (socket.bufferedAmount > MAX_BUFFERED_BYTES) return void socket.terminate();
      send(data);
    }) as typeof socket.send;
    wss.emit('connection', socket, req);
    // What members on other nodes sent it between its join and this registration (see `deliver`).
    const held = this.takePending(member.peerId);
    if (held) for (const text of held) socket.send(text);
  }

  /** The member is gone (left, lost past its grace, replaced by a new join): its signalling goes too. */
  memberGone(member: MemberContext): void {
    this.queued.delete(member.peerId);
    this.takePending(member.peerId);
    const r = this.registered.get(member.peerId);
    if (r && r.member === member) {
      this.registered.delete(member.peerId);
      closeSocket(r.socket, 1000, 'left the room');
    }
  }

  /**
   * Signalling routed from another node for a member here: sent to its socket, or held until it registers (as
   * PeerServer holds messages for the members of this node); dropped for a member whose join is no longer current.
   */
  deliver(peerId: string, text: string): void {
    const r = this.registered.get(peerId);
    if (r && this.rooms.isCurrent(r.member)) return r.socket.send(text);
    if (r) return void this.options.metrics?.signallingDropped.inc({ reason: 'not-member' });
    // Not registered yet: held for it as PeerServer holds what members here send it, as long and as many.
    const now = Date.now();
    for (const [id, p] of this.pending) if (now - p.since > REGISTRATION_WINDOW_MS) this.takePending(id);
    const p = this.pending.get(peerId) ?? { texts: [], since: now };
    if (p.texts.length >= MAX_QUEUED_PER_MEMBER || this.pendingBytes + text.length > MAX_PENDING_BYTES) {
      return void this.options.metrics?.signallingDropped.inc({ reason: 'not-registered' });
    }
    p.texts.push(text);
    this.pendingBytes += text.length;
    this.pending.set(peerId, p);
  }

  private takePending(peerId: string): string[] | undefined {
    const p = this.pending.get(peerId);
    if (!p) return undefined;
    this.pending.delete(peerId);
    for (const t of p.texts) this.pendingBytes -= t.length;
    return p.texts;
  }

  close(): void {
    for (const { socket } of this.registered.values()) socket.terminate();
    this.registered.clear();
    this.queued.clear();
    this.pending.clear();
    this.pendingBytes = 0;
  }

  private allow(member: MemberContext, budget: SocketBudget, data: Buffer | Buffer[], isBinary: boolean): boolean {
    if (!budget.message()) return false;
    const drop = (reason: string) => {
      this.options.metrics?.signallingDropped.inc({ reason });
      budget.invalid();
      return false;
    };
    if (isBinary) return drop('malformed');
    let msg: { type?: unknown; dst?: unknown; payload?: unknown };
    try {
      msg = JSON.parse(Buffer.isBuffer(data) ? data.toString() : Buffer.concat(data).toString()) as typeof msg;
    } catch {
      return drop('malformed');
    }
    if (typeof msg !== 'object' || msg === null || typeof msg.type !== 'string') return drop('malformed');
    if (!this.rooms.isCurrent(member)) return drop('not-member');
    if (msg.type === 'HEARTBEAT') return true;
    if (!RELAYED.has(msg.type)) return drop('unknown-type');
    // LEAVE without a destination is the peer signing off from PeerServer.
    if (msg.type === 'LEAVE' && msg.dst === undefined) return true;
    if (typeof msg.dst !== 'string') return drop('malformed');
    const target = this.rooms.signallingTarget(member, msg.dst);
    if (!target) return drop('not-member');
    if (msg.type !== 'LEAVE' && (typeof msg.payload !== 'object' || msg.payload === null)) return drop('malformed');
    // Media calls along the tree go from parent to child; one that forwards a member's media names a member it may.
    const payload = msg.payload as { type?: unknown; metadata?: { forward?: unknown } } | undefined;
    if (msg.type === 'OFFER' && payload?.type === 'media' && !this.rooms.mayOffer(member, target, payload.metadata?.forward))
      return drop('bad-offer');
    if (target.node) {
      // A member on another node of the cluster: its node hands the message to its socket, as PeerServer would.
      this.rooms.routeSignal(
        target.node,
        target.peerId,
        JSON.stringify({ type: msg.type, src: member.peerId, dst: target.peerId, payload: msg.payload }),
      );
      return false;
    }
    if (this.registered.get(target.peerId)?.member === target) return true;
    // A member that joined moments ago may not have registered yet: PeerServer keeps a few messages for it.
    const waiting = this.queued.get(target.peerId) ?? 0;
    if (msg.type === 'LEAVE' || waiting >= MAX_QUEUED_PER_MEMBER || Date.now() - target.joinedAt > REGISTRATION_WINDOW_MS) {
      return drop('not-registered');
    }
    this.queued.set(target.peerId, waiting + 1);
    return true;
  }
}

function closeAndWait(socket: WebSocket): Promise<void> {
  if (socket.readyState === 3) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 1000);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.terminate();
  });
}
