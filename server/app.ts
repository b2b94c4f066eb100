import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { ExpressPeerServer } from 'peer';
import { WebSocketServer, type WebSocket } from 'ws';
import { ROOM_NAME, type RTCIceServerLike } from '../components/core/room-protocol.js';
import { createLogger, type Logger } from './log.js';
import { RoomService, type AppData, type RoomPolicy } from './rooms.js';
import { coturnInstalled, startCoturn, turnIceServers, type LocalCoturn, type TurnConfig } from './turn.js';

export interface ServerOptions extends RoomPolicy {
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  /** Port to listen on; 0 picks a free one. Default 9000. */
  port?: number;
  /** Serve everything below this path (e.g. `/av`); clients then use `server="https://host/av"`. */
  basePath?: string;
  /** PeerServer's path segment. Default `/peerjs`. */
  peerPath?: string;
  /** PEM certificate and key: serve HTTPS and WSS on the same port. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Extra ICE servers (e.g. STUN) handed to every client. Default none. */
  iceServers?: RTCIceServerLike[];
  /** TURN relay: URLs and coturn's shared secret; each member gets its own short-lived credentials. */
  turn?: TurnConfig;
  /** Start a local coturn (when installed) and use it: `{ port }` (default 3478). */
  localTurn?: boolean | { port?: number; minPort?: number; maxPort?: number; allowLoopback?: boolean };
  /** pino level, or an existing logger. */
  logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  logger?: Logger;
  /** Folders served statically; default the package's `dist/` at `/` and `demo/` at `/`. */
  staticDirs?: { dist?: string; demo?: string };
}

export interface AvServer {
  readonly http: Server;
  readonly rooms: RoomService;
  readonly logger: Logger;
  /** Starts listening; resolves with the base URL, e.g. `http://127.0.0.1:9000`. */
  listen(): Promise<string>;
  /** The base URL once listening. */
  readonly url: string;
  /** Stops accepting, closes every socket and the http server. Idempotent. */
  close(): Promise<void>;
  /** Sends application data (JSON value or bytes) to one member, as from `'server'`. */
  send(peerId: string, data: AppData): boolean;
  /** Sends application data to every member of a room; returns how many. */
  broadcast(room: string, data: AppData): number;
}

function roomFromPath(pathname: string, roomUrl: RegExp): { room: string; rest: string } | undefined {
  const m = roomUrl.exec(pathname);
  if (!m) return undefined;
  let room: string;
  try {
    room = decodeURIComponent(m[1]!);
  } catch {
    return undefined;
  }
  return ROOM_NAME.test(room) ? { room, rest: m[2]! } : undefined;
}

/** Creates the av-elements server: PeerServer, room service, static bundle and demo. */
export function createServer(options: ServerOptions = {}): AvServer {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 9000;
  const logger = options.logger ?? createLogger(options.logLevel ?? 'info');
  const extraIceServers = options.iceServers ?? [];
  let turn = options.turn;
  let coturn: LocalCoturn | undefined;
  const root = fileURLToPath(new URL('../', import.meta.url)).replace(/\/dist\/lib\/$/, '/');
  const distDir = options.staticDirs?.dist ?? `${root}dist`;
  const demoDir = options.staticDirs?.demo ?? `${root}demo`;

  const PEER_PATH = options.peerPath ?? '/peerjs';
  const peerSegment = PEER_PATH.slice(1);
  const basePath = (options.basePath ?? '').replace(/\/+$/, '');
  /** `/r/<room>/peerjs/...` and `/r/<room>/ws`: every URL a session opens carries its room. */
  const ROOM_URL = new RegExp(`^/r/([^/]+)/(${peerSegment.replace(/[.]/g, '\\.')}(?:/.*)?|ws)$`);
  /** Strips the base path; undefined when the URL is not below it. */
  const local = (url: string): string | undefined => {
    if (!basePath) return url;
    if (url === basePath) return '/';
    return url.startsWith(`${basePath}/`) || url.startsWith(`${basePath}?`) ? url.slice(basePath.length) || '/' : undefined;
  };

  const app = express();
  app.disable('x-powered-by');
  const http: Server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, app) : createHttpServer(app);
  const rooms: RoomService = new RoomService({
    logger,
    iceServers: (peerId) => [...extraIceServers, ...turnIceServers(turn, peerId)],
    peerPath: (room) => `/r/${encodeURIComponent(room)}${PEER_PATH}`,
    ...pickPolicy(options),
  });

  // PeerServer's socket is ours to route: two `ws` servers on one http server break each other.
  let peerWss: WebSocketServer | undefined;
  const peerServer = ExpressPeerServer(http, {
    path: '/',
    proxied: false,
    allow_discovery: false,
    // No `path` here: ws would refuse the room-prefixed URLs that the upgrade router sends it.
    createWebSocketServer: () => {
      peerWss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
      return peerWss;
    },
  } as Parameters<typeof ExpressPeerServer>[1]);
  peerServer.on('error', (err: unknown) => logger.warn({ err: String(err) }, 'peerserver error'));

  let draining = false;
  if (basePath) {
    app.use((req, res, next) => {
      const rest = local(req.url);
      if (rest === undefined) return void res.status(404).json({ error: 'not-found' });
      req.url = rest;
      next();
    });
  }
  // Ready = accepting members (load balancers, systemd); alive = the process answers.
  app.get('/readyz', (_req, res) => {
    res.status(draining ? 503 : 200).json({ ready: !draining });
  });
  app.get('/healthz', (req, res) => {
    // `?gc=1` collects garbage first when the process runs with --expose-gc (leak tests).
    if (req.query.gc === '1') (globalThis as { gc?: () => void }).gc?.();
    const { heapUsed, rss } = process.memoryUsage();
    res.json({ ok: true, members: rooms.memberCount, rooms: rooms.roomCount, memory: { heapUsed, rss } });
  });
  // `/r/<room>/peerjs/...` is PeerServer's HTTP API for that room.
  app.use((req, _res, next) => {
    const m = roomFromPath(req.path, ROOM_URL);
    if (m && m.rest.startsWith(peerSegment)) req.url = PEER_PATH + req.url.slice(req.path.length - m.rest.length + peerSegment.length);
    next();
  });
  app.use(PEER_PATH, peerServer);
  // The bundle is loaded by other sites' pages (`<script type="module" src="https://av.example/av-elements.js">`), and
  // its chunks and the ffmpeg.wasm core from workers: module scripts and wasm fetches need CORS.
  app.use(
    express.static(distDir, {
      index: false,
      fallthrough: true,
      setHeaders(res, path) {
        res.setHeader('Access-Control-Allow-Origin', '*');
        res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
        if (/[\\/]chunks[\\/]/.test(path)) res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
      },
    }),
  );
  app.use(express.static(demoDir, { index: 'index.html' }));
  app.use((_req, res) => {
    res.status(404).json({ error: 'not-found' });
  });

  const sockets = new Set<Duplex>();
  http.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (draining) return reject(socket, 503);
    let pathname: string;
    const rest = local(req.url ?? '/');
    if (rest === undefined) return reject(socket, 404);
    try {
      pathname = new URL(rest, 'http://x').pathname;
    } catch {
      return reject(socket, 400);
    }
    // PeerServer registrations must carry the id and token this server issued with a room join.
    const peerAllowed = (room: string | undefined) => {
      const q = new URL(rest, 'http://x').searchParams;
      return rooms.isMemberToken(room, q.get('id') ?? '', q.get('token') ?? '');
    };
    if (pathname === `${PEER_PATH}/peerjs` && peerWss) {
      return peerAllowed(undefined) ? upgrade(peerWss, req, socket, head, () => {}) : reject(socket, 401);
    }
    const m = roomFromPath(pathname, ROOM_URL);
    if (!m) return reject(socket, 404);
    if (m.rest === `${peerSegment}/peerjs` && peerWss) {
      return peerAllowed(m.room) ? upgrade(peerWss, req, socket, head, () => {}) : reject(socket, 401);
    }
    if (m.rest === 'ws') return upgrade(rooms.wss, req, socket, head, (ws) => rooms.accept(ws, req, m.room));
    reject(socket, 404);
  });

  let url = '';
  let closing: Promise<void> | undefined;
  return {
    http,
    rooms,
    logger,
    get url() {
      return url;
    },
    send: (peerId, data) => rooms.send(peerId, data),
    broadcast: (room, data) => rooms.broadcastApp(room, data),
    async listen() {
      if (options.localTurn && !turn) {
        if (!coturnInstalled()) {
          logger.warn('coturn is not installed (apt-get install coturn): running peer-to-peer only');
        } else {
          const lt = typeof options.localTurn === 'object' ? options.localTurn : {};
          const loopback = host === '127.0.0.1' || host === 'localhost' || host === '::1';
          coturn = await startCoturn({
            host: loopback ? '127.0.0.1' : host,
            port: lt.port ?? 3478,
            minPort: lt.minPort ?? 49160,
            maxPort: lt.maxPort ?? 49260,
            allowLoopback: lt.allowLoopback ?? loopback,
            logger,
          });
          turn = coturn.config;
        }
      } else if (!turn) {
        logger.warn('no TURN relay configured: peer-to-peer only (about one user in ten needs a relay; see --turn-url)');
      }
      return new Promise((resolve, reject) => {
        http.once('error', reject);
        http.listen(port, host, () => {
          http.off('error', reject);
          const addr = http.address() as AddressInfo;
          const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
          url = `${options.tls ? 'https' : 'http'}://${shownHost}:${addr.port}${basePath}`;
          logger.info({ url }, 'listening');
          resolve(url);
        });
      });
    },
    close() {
      closing ??= (async () => {
        draining = true;
        rooms.announceShutdown();
        // A moment for the notice to leave before the sockets go.
        await new Promise((r) => setTimeout(r, 100));
        rooms.close();
        for (const c of peerWss?.clients ?? []) c.terminate();
        peerWss?.close();
        const closed = new Promise<void>((resolve) => http.close(() => resolve()));
        for (const s of sockets) s.destroy();
        await Promise.all([closed, coturn?.stop()]);
      })();
      return closing;
    },
  };
}

function pickPolicy({ password, tokenSecret, rooms, maxParticipants, maxViewers, hooks }: RoomPolicy): RoomPolicy {
  return { password, tokenSecret, rooms, maxParticipants, maxViewers, hooks };
}

function upgrade(wss: WebSocketServer, req: IncomingMessage, socket: Duplex, head: Buffer, then: (ws: WebSocket) => void): void {
  wss.handleUpgrade(req, socket, head, (ws) => {
    wss.emit('connection', ws, req);
    then(ws);
  });
}

const STATUS: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 503: 'Service Unavailable' };

function reject(socket: Duplex, status: number): void {
  socket.end(`HTTP/1.1 ${status} ${STATUS[status] ?? 'Error'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
