import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { ExpressPeerServer } from 'peer';
import { WebSocketServer, type WebSocket } from 'ws';
import { ROOM_NAME, type RTCIceServerLike } from '../components/core/room-protocol.js';
import { createLogger, type Logger } from './log.js';
import { RoomService } from './rooms.js';

export interface ServerOptions {
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  /** Port to listen on; 0 picks a free one. Default 9000. */
  port?: number;
  /** ICE servers handed to clients (STUN/TURN). Default none: host candidates only. */
  iceServers?: RTCIceServerLike[];
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
}

const PEER_PATH = '/peerjs';
/** `/r/<room>/peerjs/...` and `/r/<room>/ws`: every URL a session opens carries its room. */
const ROOM_URL = /^\/r\/([^/]+)\/(peerjs(?:\/.*)?|ws)$/;

function roomFromPath(pathname: string): { room: string; rest: string } | undefined {
  const m = ROOM_URL.exec(pathname);
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
  const iceServers = options.iceServers ?? [];
  const root = fileURLToPath(new URL('../', import.meta.url)).replace(/\/dist\/lib\/$/, '/');
  const distDir = options.staticDirs?.dist ?? `${root}dist`;
  const demoDir = options.staticDirs?.demo ?? `${root}demo`;

  const app = express();
  app.disable('x-powered-by');
  const http = createHttpServer(app);
  const rooms = new RoomService({ logger, iceServers: () => iceServers });

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

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true, members: rooms.memberCount });
  });
  // `/r/<room>/peerjs/...` is PeerServer's HTTP API for that room.
  app.use((req, _res, next) => {
    const m = roomFromPath(req.path);
    if (m && m.rest.startsWith('peerjs')) req.url = PEER_PATH + req.url.slice(req.path.length - m.rest.length + 'peerjs'.length);
    next();
  });
  app.use(PEER_PATH, peerServer);
  app.use(express.static(distDir, { index: false, fallthrough: true }));
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
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', 'http://x').pathname;
    } catch {
      return reject(socket, 400);
    }
    if (pathname === `${PEER_PATH}/peerjs` && peerWss) return upgrade(peerWss, req, socket, head, () => {});
    const m = roomFromPath(pathname);
    if (!m) return reject(socket, 404);
    if (m.rest === 'peerjs/peerjs' && peerWss) return upgrade(peerWss, req, socket, head, () => {});
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
    listen() {
      return new Promise((resolve, reject) => {
        http.once('error', reject);
        http.listen(port, host, () => {
          http.off('error', reject);
          const addr = http.address() as AddressInfo;
          const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
          url = `http://${shownHost}:${addr.port}`;
          logger.info({ url }, 'listening');
          resolve(url);
        });
      });
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        rooms.close();
        for (const c of peerWss?.clients ?? []) c.terminate();
        peerWss?.close();
        http.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      return closing;
    },
  };
}

function upgrade(wss: WebSocketServer, req: IncomingMessage, socket: Duplex, head: Buffer, then: (ws: WebSocket) => void): void {
  wss.handleUpgrade(req, socket, head, (ws) => {
    wss.emit('connection', ws, req);
    then(ws);
  });
}

function reject(socket: Duplex, status: number): void {
  socket.end(`HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : 'Bad Request'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
