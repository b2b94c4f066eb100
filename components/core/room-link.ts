import { Emitter } from './emitter.js';
import { SessionError, type SessionErrorCode } from './errors.js';
import type { Log } from './log.js';
import type { ClientMessage, ServerMessage } from './room-protocol.js';
import { CLOSE_LOST, MAX_MESSAGE_BYTES, roomSocketPath } from './room-protocol.js';

export type JoinedMessage = Extract<ServerMessage, { type: 'joined' }>;
export type JoinRequest = Omit<Extract<ClientMessage, { type: 'join' }>, 'type'>;

/** Server refusals a page can act on keep their own code; anything else is `join-failed`. */
const PASSED_THROUGH = new Set(['auth-failed', 'room-full', 'server-full', 'rate-limited', 'id-taken']);

export interface RoomLinkEvents {
  message: ServerMessage;
  /** The socket closed without us asking. */
  lost: { code: number; reason: string };
}

/** Where a server lives: its base URL split into what PeerJS and WebSocket need. */
export interface ServerAddress {
  secure: boolean;
  host: string;
  port: number;
  /** Path prefix when the server is mounted below `/`, without a trailing slash. */
  base: string;
  origin: string;
}

function parseServer(server: string, page: string | undefined = globalThis.location?.href): ServerAddress {
  let url: URL;
  try {
    url = new URL(server, page);
  } catch {
    throw new SessionError('bad-options', `"${server}" is not a server URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new SessionError('bad-options', `server URL must be http(s), got ${url.protocol}`);
  }
  const secure = url.protocol === 'https:';
  return {
    secure,
    host: url.hostname,
    port: url.port ? Number(url.port) : secure ? 443 : 80,
    base: url.pathname.replace(/\/+$/, ''),
    origin: url.origin,
  };
}

/** The servers of a `server` option (URLs separated by spaces or commas, or a list), in order; default the page's origin. */
export function parseServerList(server: string | string[] | undefined): ServerAddress[] {
  const list = Array.isArray(server) ? server : (server ?? '').split(/[\s,]+/);
  const urls = list.map((u) => u.trim()).filter(Boolean);
  return (urls.length ? urls : [globalThis.location.origin]).map((u) => parseServer(u));
}

/** The room socket's URL on a server. */
function roomSocketURL({ secure, origin, base }: ServerAddress, room: string): string {
  return `${secure ? 'wss' : 'ws'}://${origin.replace(/^https?:\/\//, '')}${base}${roomSocketPath(room)}`;
}

/** Sockets opened ahead of a join, by URL; one that nobody claims is closed after a second. */
const preopened = new Map<string, WebSocket>();
const PREOPEN_UNCLAIMED_MS = 1000;

/**
 * Opens the room socket ahead of the join (its TCP and WebSocket handshakes run while the element renders); the join
 * that follows within a second claims it. Nothing is sent until the join, so the server sees a slow client at worst.
 */
export function preopenRoomSocket(server: string | string[] | undefined, room: string): void {
  let url: string;
  try {
    url = roomSocketURL(parseServerList(server)[0]!, room);
  } catch {
    return;
  }
  if (preopened.has(url) || typeof WebSocket === 'undefined') return;
  const socket = new WebSocket(url);
  preopened.set(url, socket);
  setTimeout(() => {
    if (preopened.get(url) !== socket) return;
    preopened.delete(url);
    socket.close();
  }, PREOPEN_UNCLAIMED_MS);
}

function claimPreopened(url: string): WebSocket | undefined {
  const socket = preopened.get(url);
  preopened.delete(url);
  return socket && socket.readyState <= WebSocket.OPEN ? socket : (socket?.close(), undefined);
}

/** How often we ping the room service, and how long without an answer means it is gone. */
const PING_INTERVAL_MS = 1000;
const PING_TIMEOUT_MS = 3500;

/**
 * How long the server has been silent, counted in time this page ran. A late heartbeat tick means the page (or the
 * whole machine, the server with it) did not run: that time is not the server's silence, and its answers may be
 * waiting to be read. The two cores of our test machines stall for up to 1.7 s at a time under load, whatever the
 * priority; a background tab's timers are late by far more.
 */
export class Silence {
  private lastHeard: number;
  private lastTick: number;
  constructor(
    private readonly intervalMs: number,
    now: number,
  ) {
    this.lastHeard = this.lastTick = now;
  }
  heard(now: number): void {
    this.lastHeard = now;
  }
  /** Called every `intervalMs`; returns the silence so far. */
  tick(now: number): number {
    const late = now - this.lastTick - this.intervalMs;
    if (late > this.intervalMs / 4) this.lastHeard = Math.min(now, this.lastHeard + late);
    this.lastTick = now;
    return now - this.lastHeard;
  }
}

/**
 * The WebSocket to the server's room service for one room: join, leave, roster updates. An application-level
 * ping notices a dead or partitioned server within seconds rather than at TCP timeout.
 */
export class RoomLink extends Emitter<RoomLinkEvents> {
  private socket: WebSocket | undefined;
  private closedByUs = false;
  private lostReported = false;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  /** Kept from the join's answer on, with the heartbeat. */
  private silence: Silence | undefined;

  /** The server this link talks to. */
  get server(): ServerAddress {
    return this.address;
  }

  constructor(
    private readonly address: ServerAddress,
    private readonly room: string,
    private readonly log: Log,
  ) {
    super();
  }

  /** Opens the socket and joins; resolves with the server's `joined` answer. */
  async join(request: JoinRequest, timeoutMs = 10_000): Promise<JoinedMessage> {
    const url = roomSocketURL(this.address, this.room);
    const socket = claimPreopened(url) ?? new WebSocket(url);
    this.socket = socket;
    return new Promise<JoinedMessage>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(
        () => fail(new SessionError('server-unreachable', `no answer from ${url} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const fail = (err: SessionError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        // A rejoin we gave up waiting for may have resumed us on the server all the same: leaving would end us there.
        if (request.resume) this.abandon();
        else this.close();
        reject(err);
      };
      const sendJoin = () => this.send({ type: 'join', ...request });
      if (socket.readyState === WebSocket.OPEN) sendJoin();
      else socket.onopen = sendJoin;
      socket.onerror = () => fail(new SessionError('server-unreachable', `cannot reach the room service at ${url}`));
      socket.onclose = (e) => {
        if (!settled) fail(new SessionError('server-unreachable', `room service closed the connection (${e.code})`));
        else this.reportLost(e.code, e.reason);
      };
      socket.onmessage = (e) => {
        this.silence?.heard(Date.now());
        const msg = parseServerMessage(e.data);
        if (!msg) return this.log.warn('ignored a malformed message from the room service');
        if (!settled) {
          if (msg.type === 'joined') {
            settled = true;
            clearTimeout(timer);
            this.startHeartbeat();
            resolve(msg);
          } else if (msg.type === 'error') {
            fail(new SessionError(PASSED_THROUGH.has(msg.code) ? (msg.code as SessionErrorCode) : 'join-failed', msg.message));
          }
          return;
        }
        if (msg.type !== 'pong') this.emit('message', msg);
      };
    });
  }

  private startHeartbeat(): void {
    const silence = (this.silence = new Silence(PING_INTERVAL_MS, Date.now()));
    this.heartbeat = setInterval(() => {
      if (silence.tick(Date.now()) > PING_TIMEOUT_MS) return this.reportLost(CLOSE_LOST, 'no answer to pings');
      this.send({ type: 'ping', t: Date.now() });
    }, PING_INTERVAL_MS);
  }

  private reportLost(code: number, reason: string): void {
    clearInterval(this.heartbeat);
    if (this.closedByUs || this.lostReported) return;
    this.lostReported = true;
    const socket = this.socket;
    if (socket) {
      socket.onclose = socket.onmessage = socket.onerror = null;
      // Said to the server (if it still hears us): we are coming back, keep our place.
      if (socket.readyState !== WebSocket.CLOSED) socket.close(CLOSE_LOST, 'lost');
    }
    this.emit('lost', { code, reason });
  }

  /** Whether the link is joined and answering. */
  get alive(): boolean {
    return !this.closedByUs && !this.lostReported && this.socket?.readyState === WebSocket.OPEN;
  }

  send(msg: ClientMessage): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(msg));
  }

  /**
   * Closes without leaving: a rejoin we gave up waiting for may have reached the server (and resumed us there), so it
   * keeps us for its grace period, as after a lost connection, for the next attempt to resume. Idempotent.
   */
  abandon(): void {
    if (this.closedByUs) return;
    this.closedByUs = true;
    clearInterval(this.heartbeat);
    const socket = this.socket;
    if (socket) {
      socket.onmessage = socket.onerror = socket.onopen = socket.onclose = null;
      if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) socket.close(CLOSE_LOST, 'lost');
    }
    this.removeAllListeners();
  }

  /** Leaves politely and closes. Idempotent. */
  close(): void {
    if (this.closedByUs) return;
    this.closedByUs = true;
    clearInterval(this.heartbeat);
    const socket = this.socket;
    if (!socket) return;
    socket.onmessage = socket.onerror = socket.onopen = null;
    if (socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify({ type: 'leave' } satisfies ClientMessage));
      socket.close(1000, 'leave');
    } else if (socket.readyState === WebSocket.CONNECTING) {
      socket.close();
    }
    this.removeAllListeners();
  }
}

/** Checks just enough of a server message to switch on it safely. */
function parseServerMessage(data: unknown): ServerMessage | undefined {
  if (typeof data !== 'string' || data.length > MAX_MESSAGE_BYTES * 4) return undefined;
  try {
    const msg = JSON.parse(data) as unknown;
    return typeof msg === 'object' && msg !== null && typeof (msg as { type?: unknown }).type === 'string'
      ? (msg as ServerMessage)
      : undefined;
  } catch {
    return undefined;
  }
}
