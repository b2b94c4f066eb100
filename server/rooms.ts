import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';
import type {
  ClientMessage,
  ErrorCode,
  MediaState,
  MemberInfo,
  RTCIceServerLike,
  ServerMessage,
} from '../components/core/room-protocol.js';
import { MAX_MESSAGE_BYTES, roomPeerPath } from '../components/core/room-protocol.js';
import type { Logger } from './log.js';
import { parseClientMessage } from './protocol.js';

interface Member {
  readonly peerId: string;
  readonly name: string;
  readonly peerToken: string;
  media: MediaState;
  readonly socket: WebSocket;
}

export interface RoomServiceOptions {
  logger: Logger;
  /** ICE servers handed to every member with its join answer. Never PeerJS's public defaults. */
  iceServers: () => RTCIceServerLike[];
  /** Messages a socket may send per second on average, and in a burst. */
  rate?: { perSecond: number; burst: number };
  /** Interval of WebSocket pings that drop dead sockets. */
  heartbeatMs?: number;
}

/** Per-socket token bucket: cheap, and enough to stop one client from flooding the process. */
class TokenBucket {
  private tokens: number;
  private last = Date.now();
  constructor(private readonly perSecond: number, private readonly burst: number) {
    this.tokens = burst;
  }
  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/**
 * Room membership in memory: join/leave/roster and media state, one WebSocket per member and room.
 * Every inbound frame is size-checked, rate-limited and schema-validated; a bad one gets an
 * `error {code, message}` reply and nothing else happens.
 */
export class RoomService {
  readonly wss: WebSocketServer;
  private readonly rooms = new Map<string, Map<string, Member>>();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly alive = new WeakSet<WebSocket>();

  constructor(private readonly options: RoomServiceOptions) {
    // Frames above MAX_MESSAGE_BYTES get a readable error; only absurd ones (16x) make ws close with 1009.
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES * 16 });
    this.heartbeat = setInterval(() => this.sweep(), options.heartbeatMs ?? 30_000);
    this.heartbeat.unref();
  }

  /** Number of members across rooms, for health and tests. */
  get memberCount(): number {
    let n = 0;
    for (const room of this.rooms.values()) n += room.size;
    return n;
  }

  roster(room: string): MemberInfo[] {
    return [...(this.rooms.get(room)?.values() ?? [])].map(info);
  }

  /** Whether `peerToken` is the one issued to `peerId` in `room` (for PeerServer registration checks). */
  isMemberToken(room: string, peerId: string, peerToken: string): boolean {
    return this.rooms.get(room)?.get(peerId)?.peerToken === peerToken;
  }

  /** Takes over an upgraded socket for `room`. */
  accept(socket: WebSocket, _req: IncomingMessage, room: string): void {
    const log = this.options.logger.child({ room });
    const rate = this.options.rate ?? { perSecond: 20, burst: 60 };
    const bucket = new TokenBucket(rate.perSecond, rate.burst);
    let member: Member | undefined;
    this.alive.add(socket);

    socket.on('pong', () => this.alive.add(socket));
    socket.on('error', (err) => log.debug({ err: err.message }, 'room socket error'));
    socket.on('close', () => {
      if (member) this.remove(room, member, 'disconnect', log);
      member = undefined;
    });
    socket.on('message', (data, isBinary) => {
      try {
        const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer).byteLength;
        if (!bucket.take()) return this.sendError(socket, 'rate-limited', 'too many messages; slow down');
        if (size > MAX_MESSAGE_BYTES) {
          return this.sendError(socket, 'too-large', `message of ${size} bytes exceeds the ${MAX_MESSAGE_BYTES}-byte limit`);
        }
        if (isBinary) return this.sendError(socket, 'bad-json', 'binary frames are not accepted on the room socket');
        const parsed = parseClientMessage(data.toString());
        if (!parsed.ok) return this.sendError(socket, parsed.code, parsed.message);
        member = this.handle(socket, room, member, parsed.message, log);
      } catch (err) {
        log.error({ err }, 'room message handler failed');
        this.sendError(socket, 'internal', 'internal error');
      }
    });
  }

  private handle(socket: WebSocket, room: string, member: Member | undefined, msg: ClientMessage, log: Logger): Member | undefined {
    switch (msg.type) {
      case 'join': {
        if (member) {
          this.sendError(socket, 'already-joined', `already joined room "${room}" as ${member.peerId}`);
          return member;
        }
        const members = this.rooms.get(room) ?? new Map<string, Member>();
        const peerId = msg.peerId ?? randomUUID();
        if (members.has(peerId)) {
          this.sendError(socket, 'id-taken', `peer id ${peerId} is already in room "${room}"`);
          return undefined;
        }
        const joined: Member = {
          peerId,
          name: msg.name,
          peerToken: randomBytes(16).toString('hex'),
          media: msg.media ?? { audio: true, video: true },
          socket,
        };
        const peers = [...members.values()].map(info);
        members.set(peerId, joined);
        this.rooms.set(room, members);
        // Members hear of the newcomer before the newcomer can call them.
        this.broadcast(room, { type: 'peer-joined', peer: info(joined) }, peerId);
        send(socket, {
          type: 'joined',
          room,
          self: info(joined),
          peerToken: joined.peerToken,
          peerPath: roomPeerPath(room),
          peers,
          iceServers: this.options.iceServers(),
        });
        log.info({ peerId, members: members.size }, 'join');
        return joined;
      }
      case 'leave': {
        if (!member) {
          this.sendError(socket, 'not-joined', 'cannot leave: not joined');
          return undefined;
        }
        this.remove(room, member, 'leave', log);
        send(socket, { type: 'left' });
        return undefined;
      }
      case 'update': {
        if (!member) {
          this.sendError(socket, 'not-joined', 'cannot update: not joined');
          return undefined;
        }
        member.media = msg.media;
        this.broadcast(room, { type: 'peer-updated', peerId: member.peerId, media: msg.media }, member.peerId);
        return member;
      }
      case 'ping':
        send(socket, msg.t === undefined ? { type: 'pong' } : { type: 'pong', t: msg.t });
        return member;
    }
  }

  private remove(room: string, member: Member, reason: string, log: Logger): void {
    const members = this.rooms.get(room);
    if (!members || members.get(member.peerId) !== member) return;
    members.delete(member.peerId);
    if (members.size === 0) this.rooms.delete(room);
    this.broadcast(room, { type: 'peer-left', peerId: member.peerId });
    log.info({ peerId: member.peerId, reason, members: members.size }, 'leave');
  }

  private broadcast(room: string, msg: ServerMessage, except?: string): void {
    const text = JSON.stringify(msg);
    for (const m of this.rooms.get(room)?.values() ?? []) {
      if (m.peerId !== except && m.socket.readyState === WebSocket.OPEN) m.socket.send(text);
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

  /** Closes every member socket. */
  close(): void {
    clearInterval(this.heartbeat);
    for (const socket of this.wss.clients) socket.terminate();
    this.rooms.clear();
    this.wss.close();
  }
}

function info(m: Member): MemberInfo {
  return { peerId: m.peerId, name: m.name, media: m.media };
}

function send(socket: WebSocket, msg: ServerMessage): void {
  if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(msg));
}
