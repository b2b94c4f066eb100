import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import type { Duplex } from 'node:stream';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { ExpressPeerServer } from 'peer';
import { WebSocketServer, type WebSocket } from 'ws';
import { ROOM_NAME, type RTCIceServerLike } from '../components/core/room-protocol.js';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { AddressCounter } from './budget.js';
import { Cluster } from './cluster.js';
import { createLogger, type Logger } from './log.js';
import { Metrics } from './metrics.js';
import { RoomService, type AppData, type RoomPolicy } from './rooms.js';
import { SignallingGuard } from './signalling.js';
import { safeEqual } from './auth.js';
import { coturnInstalled, startCoturn, turnIceServers, type LocalCoturn, type TurnConfig } from './turn.js';
import { clientAddress, isLoopback, originAllowed, trustFunction, type TrustProxy } from './trust.js';

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
  /**
   * Which proxies to believe about the client's address (`X-Forwarded-For`): `false` (default: the socket's own
   * address), `true` (any), a number of hops, or addresses/subnets such as `loopback` or `10.0.0.0/8`.
   */
  trustProxy?: TrustProxy;
  /** Page origins allowed to use this server (room socket, PeerServer, CORS), e.g. `https://app.example.com`. Default any. */
  allowedOrigins?: string[];
  /** Most members on this server at once (PeerServer's concurrent limit follows it). Default 30,000. */
  maxMembers?: number;
  /** Most open connections and sockets from one client address. Default 256. */
  maxSocketsPerAddress?: number;
  /** `GET /metrics` (Prometheus) answers requests with this bearer token; without one, only direct local requests. */
  metricsToken?: string;
  /** Serve the bundle's source maps. Default false. */
  sourceMaps?: boolean;
  /** Room socket limits: time to join, and grace for a member whose connection dropped. */
  limits?: { joinTimeoutMs?: number; graceMs?: number; offenderCuts?: number };
  /**
   * `redis://host:port`: this server becomes a node of a cluster sharing rooms through Redis. Members of one room
   * meet on whichever nodes they reached; without it the server runs alone.
   */
  redis?: string;
  /**
   * This node's name in a cluster (letters, digits, `-`; unique). Its members' signalling then goes to
   * `<base>/n/<name>/r/<room>/peerjs`, so a proxy that spreads room sockets over nodes can send each member's
   * signalling to the node it joined. Default: a random id, and no prefix.
   */
  nodeName?: string;
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
  /** Sends application data (JSON value or bytes) to one member, as from `'server'`, on whichever node it is. */
  send(peerId: string, data: AppData): Promise<boolean>;
  /** Sends application data to every member of a room; resolves with how many. */
  broadcast(room: string, data: AppData): Promise<number>;
  /** Removes a member now: its sockets close, its peers drop it, its page says why. */
  kick(peerId: string, reason?: string): Promise<boolean>;
  /** Asks a member's page to mute its microphone; the page shows who asked. */
  requestMute(peerId: string, by?: string): Promise<boolean>;
  /** Ends a room for all its members; resolves with how many there were. */
  closeRoom(room: string, reason?: string): Promise<number>;
  /** This node's id in a cluster (`redis`); undefined when alone. */
  readonly node: string | undefined;
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
  /** A named node of a cluster also answers below `/n/<name>`, so a proxy can send a member's signalling to its node. */
  const nodePrefix = options.nodeName ? `/n/${options.nodeName}` : '';
  /** Strips the base path (and this node's prefix); undefined when the URL is not below the base path. */
  const local = (url: string): string | undefined => {
    let rest: string | undefined = url;
    if (basePath) {
      if (url === basePath) return '/';
      rest = url.startsWith(`${basePath}/`) || url.startsWith(`${basePath}?`) ? url.slice(basePath.length) || '/' : undefined;
    }
    if (rest && nodePrefix && rest.startsWith(`${nodePrefix}/`)) rest = rest.slice(nodePrefix.length);
    return rest;
  };

  const app = express();
  app.disable('x-powered-by');
  const trust = trustFunction(options.trustProxy ?? false);
  app.set('trust proxy', trust);
  const allowed = options.allowedOrigins?.length ? options.allowedOrigins : undefined;
  const maxMembers = options.maxMembers ?? 30_000;
  // Node checks the header and request timeouts every `connectionsCheckingInterval` (30 s by default): every second.
  const httpOptions = { connectionsCheckingInterval: 1000 };
  const http: Server = options.tls
    ? createHttpsServer({ ...httpOptions, cert: options.tls.cert, key: options.tls.key }, app)
    : createHttpServer(httpOptions, app);
  // An address whose sockets keep being cut off for abuse is refused for a minute (it could otherwise re-join and
  // re-register as fast as it is cut off).
  const offenderCuts = options.limits?.offenderCuts ?? 5;
  const offenders = new RateLimiterMemory({ points: Math.max(1, offenderCuts), duration: 60, blockDuration: 60 });
  const cutOff = (address: string) => void (offenderCuts > 0 && offenders.consume(address).catch(() => {}));
  // Slow clients (slowloris) must not hold connections: headers within 10 s, a whole request within 30 s.
  http.headersTimeout = 10_000;
  http.requestTimeout = 30_000;
  http.keepAliveTimeout = 5_000;
  const cluster = options.redis
    ? new Cluster(options.redis, { event: (room, event) => rooms.onClusterEvent(room, event) }, logger, options.nodeName)
    : undefined;
  const rooms: RoomService = new RoomService({
    cluster,
    // The guard is created just below; these run only once members exist.
    onSignal: (peerId, text) => guard.deliver(peerId, text),
    logger,
    iceServers: (peerId) => [...extraIceServers, ...turnIceServers(turn, peerId)],
    peerPath: (room) => `${nodePrefix}/r/${encodeURIComponent(room)}${PEER_PATH}`,
    ...pickPolicy(options),
    maxMembers,
    joinTimeoutMs: options.limits?.joinTimeoutMs,
    graceMs: options.limits?.graceMs,
    onMemberGone: (member) => guard.memberGone(member),
    onCutOff: cutOff,
    get metrics() {
      return metrics;
    },
  });
  const metrics: Metrics = new Metrics({ members: () => rooms.memberCount, rooms: () => rooms.roomCount, signalling: () => guard.size });
  const guard: SignallingGuard = new SignallingGuard(rooms, { logger, metrics, onCutOff: cutOff });
  const perAddress = new AddressCounter(options.maxSocketsPerAddress ?? 256);

  // PeerServer's socket is ours to route: two `ws` servers on one http server break each other.
  let peerWss: WebSocketServer | undefined;
  const peerServer = ExpressPeerServer(http, {
    path: '/',
    proxied: false,
    allow_discovery: false,
    concurrent_limit: maxMembers,
    corsOptions: {
      origin: (origin: string | undefined, done: (err: null, allow: boolean) => void) => done(null, originAllowed(origin, allowed)),
    },
    // No `path` here: ws would refuse the room-prefixed URLs that the upgrade router sends it.
    createWebSocketServer: () => {
      peerWss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
      return peerWss;
    },
  });
  peerServer.disable('x-powered-by');
  peerServer.on('error', (err: unknown) => logger.debug({ err: String(err) }, 'peerserver error'));

  let draining = false;
  if (basePath) {
    app.use((req, res, next) => {
      const rest = local(req.url);
      if (rest === undefined) return void res.status(404).json({ error: 'not-found' });
      req.url = rest;
      next();
    });
  }
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    next();
  });
  // Ready = accepting members (load balancers, systemd); alive = the process answers. Neither tells the world more.
  app.get('/readyz', (_req, res) => {
    res
      .status(draining ? 503 : 200)
      .type('text')
      .send(draining ? 'draining' : 'ready');
  });
  // Browsers ask every page's origin for /favicon.ico: the demo's icon, rather than a 404 in every console.
  app.get('/favicon.ico', (_req, res) => {
    res.type('image/svg+xml').setHeader('Cache-Control', 'public, max-age=86400');
    res.sendFile('favicon.svg', { root: demoDir }, (err) => err && !res.headersSent && res.status(204).end());
  });
  app.get('/healthz', (_req, res) => {
    res.type('text').send('ok');
  });
  // Counts and memory are for the operator: a bearer token, or a direct request from this machine (not via a proxy).
  app.get('/metrics', (req, res, next) => {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const local = isLoopback(req.socket.remoteAddress) && !req.headers['x-forwarded-for'] && !req.headers.forwarded;
    if (!(options.metricsToken ? bearer !== undefined && safeEqual(bearer, options.metricsToken) : local)) {
      return void res.status(404).json({ error: 'not-found' });
    }
    // `?gc=1` collects garbage first when the process runs with --expose-gc (leak tests).
    if (req.query.gc === '1') (globalThis as { gc?: () => void }).gc?.();
    metrics.registry.metrics().then((text) => res.type(metrics.registry.contentType).send(text), next);
  });
  // `/r/<room>/peerjs/...` is PeerServer's HTTP API for that room.
  app.use((req, _res, next) => {
    const m = roomFromPath(req.path, ROOM_URL);
    if (m && m.rest.startsWith(peerSegment)) req.url = PEER_PATH + req.url.slice(req.path.length - m.rest.length + peerSegment.length);
    next();
  });
  app.use(PEER_PATH, peerServer);
  // Public files: the bundle, its chunks and the ffmpeg.wasm core; never the compiled server (dist/lib), and source
  // maps only when asked for. Other sites' pages load them (`<script type="module" src="https://av.example/…">`), and
  // workers fetch the chunks and the core: module scripts and wasm need CORS (set above) and CORP.
  const publicFile = /^\/(?:av-elements\.js|chunks\/[^/]+\.js|ffmpeg\/[^/]+\.(?:js|wasm))$/;
  const mapFile = /^\/(?:av-elements\.js|chunks\/[^/]+\.js)\.map$/;
  const dist = express.static(distDir, {
    index: false,
    fallthrough: true,
    dotfiles: 'ignore',
    // Chunks have content hashes in their names: cached for good. The entry and the core keep their names (pages
    // link them): cached, but checked with the server (ETag) at every use.
    cacheControl: false,
    setHeaders(res, path) {
      res.setHeader('Cross-Origin-Resource-Policy', 'cross-origin');
      res.setHeader('Cache-Control', /[\\/]chunks[\\/]/.test(path) ? 'public, max-age=31536000, immutable' : 'public, no-cache');
      const encoded = /\.(br|gz)$/.exec(path);
      if (encoded) {
        res.setHeader('Content-Encoding', encoded[1] === 'br' ? 'br' : 'gzip');
        res.setHeader('Content-Type', path.endsWith('.wasm.' + encoded[1]) ? 'application/wasm' : 'text/javascript; charset=utf-8');
      }
    },
  });
  const precompressed = new Map<string, boolean>();
  const hasCopy = (path: string) => {
    let has = precompressed.get(path);
    if (has === undefined) precompressed.set(path, (has = existsSync(`${distDir}${path}`)));
    return has;
  };
  app.use((req, res, next) => {
    const isPublic = publicFile.test(req.path);
    if (!isPublic && !(options.sourceMaps && mapFile.test(req.path))) return next();
    if (isPublic) {
      // The build's brotli or gzip copy, for a browser that takes it (made once at build time, not per request).
      res.setHeader('Vary', 'Accept-Encoding');
      // Our preference, not the order the browser lists them in ("gzip, deflate, br").
      const suffix = req.acceptsEncodings('br') === 'br' ? '.br' : req.acceptsEncodings('gzip') === 'gzip' ? '.gz' : '';
      if (suffix && hasCopy(req.path + suffix)) req.url = req.path + suffix;
    }
    // CORS for the origins allowed (any by default); a refused origin gets no CORS header and the browser blocks it.
    if (!allowed) res.setHeader('Access-Control-Allow-Origin', '*');
    else {
      res.vary('Origin');
      if (req.headers.origin && originAllowed(req.headers.origin, allowed, req))
        res.setHeader('Access-Control-Allow-Origin', req.headers.origin);
    }
    dist(req, res, next);
  });
  app.use(
    express.static(demoDir, {
      index: 'index.html',
      dotfiles: 'ignore',
      setHeaders(res, path) {
        if (path.endsWith('.html')) res.setHeader('Content-Security-Policy', DEMO_CSP);
      },
    }),
  );
  app.use((_req, res) => {
    res.status(404).json({ error: 'not-found' });
  });

  const sockets = new Set<Duplex>();
  // Without a trusted proxy, every TCP connection counts against its address (a slowloris host cannot fill the
  // process's file table); behind a proxy, the proxy's own address is shared by all, so only upgraded sockets count,
  // by the forwarded address.
  const trustsProxy = options.trustProxy !== undefined && options.trustProxy !== false;
  http.on('connection', (s) => {
    const address = s.remoteAddress ?? 'unknown';
    if (!trustsProxy && !perAddress.acquire(address)) {
      metrics.socketsCut.inc({ socket: 'http', reason: 'address cap' });
      return void s.destroy();
    }
    sockets.add(s);
    s.on('close', () => {
      sockets.delete(s);
      if (!trustsProxy) perAddress.release(address);
    });
  });
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    onUpgrade(req, socket, head).catch((err: Error) => {
      logger.error({ err: err.message }, 'upgrade failed');
      reject(socket, 400);
    });
  });
  const onUpgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    if (draining) return reject(socket, 503);
    if (!originAllowed(req.headers.origin, allowed, req)) return reject(socket, 403);
    let pathname: string;
    const rest = local(req.url ?? '/');
    if (rest === undefined) return reject(socket, 404);
    try {
      pathname = new URL(rest, 'http://x').pathname;
    } catch {
      return reject(socket, 400);
    }
    const m = roomFromPath(pathname, ROOM_URL);
    if (!m) return reject(socket, 404);
    const address = clientAddress(req, trust);
    const record = await offenders.get(address);
    if (record && record.remainingPoints <= 0 && record.msBeforeNext > 0) {
      metrics.socketsCut.inc({ socket: 'upgrade', reason: 'offender' });
      return reject(socket, 429);
    }
    // Behind a proxy, the cap applies to the forwarded address, for the sockets themselves.
    const counted = (ws: WebSocket) => {
      if (!trustsProxy) return true;
      if (!perAddress.acquire(address)) {
        metrics.socketsCut.inc({ socket: 'upgrade', reason: 'address cap' });
        ws.close(1008, 'too many connections from this address');
        return false;
      }
      ws.once('close', () => perAddress.release(address));
      return true;
    };
    // PeerServer registrations must carry the id and token this server issued with a join to this room.
    if (m.rest === `${peerSegment}/peerjs` && peerWss) {
      const member = guard.admit(m.room, rest);
      if (!member) return reject(socket, 401);
      return void peerWss.handleUpgrade(req, socket, head, (ws) => {
        if (counted(ws)) void guard.attach(peerWss!, ws, req, member).catch(() => ws.terminate());
      });
    }
    if (m.rest === 'ws') {
      return void rooms.wss.handleUpgrade(req, socket, head, (ws) => {
        if (counted(ws)) rooms.accept(ws, address, m.room);
      });
    }
    reject(socket, 404);
  };

  let url = '';
  let closing: Promise<void> | undefined;
  let stallWatch: ReturnType<typeof setInterval> | undefined;
  return {
    http,
    rooms,
    logger,
    get url() {
      return url;
    },
    get node() {
      return cluster?.node;
    },
    send: (peerId, data) => rooms.send(peerId, data),
    broadcast: (room, data) => rooms.broadcastApp(room, data),
    kick: (peerId, reason) => rooms.kick(peerId, reason),
    requestMute: (peerId, by) => rooms.requestMute(peerId, by),
    closeRoom: (room, reason) => rooms.closeRoom(room, reason),
    async listen() {
      await cluster?.start();
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
          stallWatch = watchStalls(logger);
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
        guard.close();
        clearInterval(stallWatch);
        for (const c of peerWss?.clients ?? []) c.terminate();
        peerWss?.close();
        const closed = new Promise<void>((resolve) => http.close(() => resolve()));
        for (const s of sockets) s.destroy();
        await Promise.all([closed, coturn?.stop(), cluster?.close()]);
      })();
      return closing;
    },
  };
}

function pickPolicy({ password, tokenSecret, rooms, maxParticipants, maxViewers, fanout, hooks }: RoomPolicy): RoomPolicy {
  return { password, tokenSecret, rooms, maxParticipants, maxViewers, fanout, hooks };
}

/**
 * The demo page's policy: scripts only from this server (wasm allowed for hashing and ffmpeg), no inline script,
 * connections only back here, workers from here or blob: (ffmpeg's), never framed.
 */
const DEMO_CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  "connect-src 'self' blob:",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const STATUS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  503: 'Service Unavailable',
};

function reject(socket: Duplex, status: number): void {
  socket.end(`HTTP/1.1 ${status} ${STATUS[status] ?? 'Error'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/**
 * Says in the log when the event loop was blocked for a second or more: members' pings go unanswered meanwhile, and
 * after 3.5 s their clients give the server up. A starved or overloaded host shows here first.
 */
function watchStalls(logger: Logger, everyMs = 250, reportMs = 1000): ReturnType<typeof setInterval> {
  let last = performance.now();
  let cpu = process.cpuUsage();
  const timer = setInterval(() => {
    const now = performance.now();
    const late = now - last - everyMs;
    const used = process.cpuUsage(cpu);
    last = now;
    cpu = process.cpuUsage();
    if (late < reportMs) return;
    // busyMs near blockedMs: this process was working (our code, GC); near 0: the host did not give it a core.
    const busyMs = Math.round((used.user + used.system) / 1000);
    logger.warn({ blockedMs: Math.round(late), busyMs, load: loadavg()[0] }, 'event loop was blocked: pings went unanswered');
  }, everyMs);
  timer.unref();
  return timer;
}
