import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { ServerOptions } from './app.js';
import { parseTrustProxy } from './trust.js';

/**
 * Configuration: defaults < JSON config file (`--config`, `AV_CONFIG`) < environment (`AV_*`) < command-line flags.
 * One table describes every option, so `--help`, flag parsing and environment parsing cannot drift apart.
 */

type Kind = 'string' | 'int' | 'bool' | 'list';
interface OptionSpec {
  /** Key path in the config file, e.g. `turn.secret`. */
  key: string;
  flag: string;
  env: string;
  kind: Kind;
  help: string;
  /** Repeatable `room=value` flag mapping into `rooms.<room>.<field>`. */
  roomField?: 'password';
}

export const OPTIONS: OptionSpec[] = [
  { key: 'host', flag: 'host', env: 'AV_HOST', kind: 'string', help: 'interface to listen on (default 127.0.0.1; 0.0.0.0 for all)' },
  { key: 'port', flag: 'port', env: 'AV_PORT', kind: 'int', help: 'HTTP/WebSocket port, 0 for any free one (default 9000)' },
  {
    key: 'basePath',
    flag: 'base-path',
    env: 'AV_BASE_PATH',
    kind: 'string',
    help: 'serve everything below this path, e.g. /av (default none); clients use server="https://host/av"',
  },
  { key: 'peerPath', flag: 'peer-path', env: 'AV_PEER_PATH', kind: 'string', help: 'PeerServer path segment (default /peerjs)' },
  {
    key: 'logLevel',
    flag: 'log-level',
    env: 'AV_LOG_LEVEL',
    kind: 'string',
    help: 'fatal|error|warn|info|debug|trace|silent (default info)',
  },
  { key: 'password', flag: 'password', env: 'AV_PASSWORD', kind: 'string', help: "server password; clients give it as the element's key" },
  {
    key: 'rooms',
    flag: 'room-password',
    env: 'AV_ROOM_PASSWORDS',
    kind: 'list',
    roomField: 'password',
    help: "a room's password, room=password (repeatable; env: comma-separated)",
  },
  { key: 'tokenSecret', flag: 'token-secret', env: 'AV_TOKEN_SECRET', kind: 'string', help: 'secret that signs room tokens (createToken)' },
  { key: 'maxParticipants', flag: 'max-participants', env: 'AV_MAX_PARTICIPANTS', kind: 'int', help: 'largest mesh per room (default 6)' },
  { key: 'maxViewers', flag: 'max-viewers', env: 'AV_MAX_VIEWERS', kind: 'int', help: 'largest broadcast audience per room (default 100)' },
  {
    key: 'fanout',
    flag: 'fanout',
    env: 'AV_FANOUT',
    kind: 'int',
    help: 'in broadcast rooms, most viewers one presenter or viewer sends to; the rest receive through viewers (default 4)',
  },
  {
    key: 'turn.urls',
    flag: 'turn-url',
    env: 'AV_TURN_URLS',
    kind: 'list',
    help: 'TURN URL for clients, e.g. turn:host:3478?transport=udp (repeatable; env: comma-separated)',
  },
  { key: 'turn.secret', flag: 'turn-secret', env: 'AV_TURN_SECRET', kind: 'string', help: "coturn's static-auth-secret (use-auth-secret)" },
  {
    key: 'turn.ttlSeconds',
    flag: 'turn-ttl',
    env: 'AV_TURN_TTL',
    kind: 'int',
    help: 'lifetime of TURN credentials in seconds (default 3600)',
  },
  { key: 'localTurn.enabled', flag: 'turn', env: 'AV_LOCAL_TURN', kind: 'bool', help: 'start a local coturn (when installed) and use it' },
  { key: 'localTurn.port', flag: 'turn-port', env: 'AV_LOCAL_TURN_PORT', kind: 'int', help: 'port of the local coturn (default 3478)' },
  {
    key: 'localTurn.minPort',
    flag: 'turn-min-port',
    env: 'AV_LOCAL_TURN_MIN_PORT',
    kind: 'int',
    help: 'lowest relay port of the local coturn (default 49160)',
  },
  {
    key: 'localTurn.maxPort',
    flag: 'turn-max-port',
    env: 'AV_LOCAL_TURN_MAX_PORT',
    kind: 'int',
    help: 'highest relay port of the local coturn (default 49260)',
  },
  {
    key: 'trustProxy',
    flag: 'trust-proxy',
    env: 'AV_TRUST_PROXY',
    kind: 'string',
    help: 'believe X-Forwarded-For from these proxies: true, a hop count, or addresses/subnets (loopback, 10.0.0.0/8); default false',
  },
  {
    key: 'allowedOrigins',
    flag: 'allowed-origin',
    env: 'AV_ALLOWED_ORIGINS',
    kind: 'list',
    help: 'page origin allowed to use this server, e.g. https://app.example.com (repeatable; env: comma-separated; default any)',
  },
  {
    key: 'maxMembers',
    flag: 'max-members',
    env: 'AV_MAX_MEMBERS',
    kind: 'int',
    help: 'most members on this server at once; each holds 2 sockets, keep under half of LimitNOFILE (default 30000)',
  },
  {
    key: 'maxSocketsPerAddress',
    flag: 'max-sockets-per-address',
    env: 'AV_MAX_SOCKETS_PER_ADDRESS',
    kind: 'int',
    help: 'most open connections from one client address (default 256)',
  },
  {
    key: 'metricsToken',
    flag: 'metrics-token',
    env: 'AV_METRICS_TOKEN',
    kind: 'string',
    help: 'bearer token for GET /metrics (default: only direct requests from this machine)',
  },
  { key: 'sourceMaps', flag: 'source-maps', env: 'AV_SOURCE_MAPS', kind: 'bool', help: "serve the bundle's source maps (default off)" },
  {
    key: 'joinTimeoutSeconds',
    flag: 'join-timeout',
    env: 'AV_JOIN_TIMEOUT',
    kind: 'int',
    help: 'seconds a room socket may stay open without joining (default 10)',
  },
  {
    key: 'graceSeconds',
    flag: 'member-grace',
    env: 'AV_MEMBER_GRACE',
    kind: 'int',
    help: 'seconds a member whose connection dropped stays in its room, to come back as itself (default 10)',
  },
  {
    key: 'offenderCuts',
    flag: 'offender-cuts',
    env: 'AV_OFFENDER_CUTS',
    kind: 'int',
    help: 'sockets cut off for abuse per address per minute before that address is refused for a minute (default 5; 0: never)',
  },
  {
    key: 'redis',
    flag: 'redis',
    env: 'AV_REDIS',
    kind: 'string',
    help: 'redis://host:port: run as a node of a cluster sharing rooms through Redis (default: alone)',
  },
  {
    key: 'nodeName',
    flag: 'node-name',
    env: 'AV_NODE_NAME',
    kind: 'string',
    help: "this node's unique name in a cluster; its members' signalling then uses <base>/n/<name>/… so a proxy can route it (default: random, no prefix)",
  },
  {
    key: 'tls.cert',
    flag: 'tls-cert',
    env: 'AV_TLS_CERT',
    kind: 'string',
    help: 'PEM certificate file: serve HTTPS and WSS on the same port',
  },
  { key: 'tls.key', flag: 'tls-key', env: 'AV_TLS_KEY', kind: 'string', help: 'PEM private key file for --tls-cert' },
];

const PATH = /^(\/[A-Za-z0-9._~-]+)*$/;
const room = z
  .object({
    password: z.string().min(1).optional(),
    maxParticipants: z.number().int().min(1).max(64).optional(),
    maxViewers: z.number().int().min(0).max(100_000).optional(),
    fanout: z.number().int().min(1).max(64).optional(),
  })
  .strict();

const configSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(9000),
    basePath: z.string().regex(PATH, 'must look like /segment or /a/b, without a trailing slash').default(''),
    peerPath: z
      .string()
      .regex(/^\/[A-Za-z0-9._~-]+$/, 'must be one path segment such as /peerjs')
      .default('/peerjs'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    password: z.string().min(1).optional(),
    tokenSecret: z.string().min(16, 'must be at least 16 characters').optional(),
    rooms: z.record(z.string().min(1).max(64), room).default({}),
    maxParticipants: z.number().int().min(1).max(64).default(6),
    maxViewers: z.number().int().min(0).max(100_000).default(100),
    fanout: z.number().int().min(1).max(64).default(4),
    turn: z
      .object({
        urls: z.array(z.string().regex(/^turns?:/, 'must start with turn: or turns:')).min(1, 'needs at least one URL'),
        secret: z.string().min(1, 'is required with turn.urls'),
        ttlSeconds: z.number().int().min(60).max(86_400).default(3600),
      })
      .strict()
      .optional(),
    localTurn: z
      .object({
        enabled: z.boolean().default(false),
        port: z.number().int().min(1).max(65535).default(3478),
        minPort: z.number().int().min(1024).max(65535).default(49160),
        maxPort: z.number().int().min(1024).max(65535).default(49260),
      })
      .strict()
      .optional(),
    tls: z
      .object({ cert: z.string().min(1), key: z.string().min(1) })
      .strict()
      .optional(),
    trustProxy: z.union([z.boolean(), z.number().int().min(0).max(32), z.string().min(1), z.array(z.string().min(1))]).default(false),
    allowedOrigins: z
      .array(z.string().regex(/^https?:\/\/[^/]+$/, 'must be an origin such as https://app.example.com (no path)'))
      .default([]),
    maxMembers: z.number().int().min(1).max(1_000_000).default(30_000),
    maxSocketsPerAddress: z.number().int().min(2).max(1_000_000).default(256),
    metricsToken: z.string().min(16, 'must be at least 16 characters').optional(),
    sourceMaps: z.boolean().default(false),
    joinTimeoutSeconds: z.number().int().min(1).max(3600).default(10),
    graceSeconds: z.number().int().min(0).max(3600).default(10),
    offenderCuts: z.number().int().min(0).max(1_000_000).default(5),
    redis: z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
      .optional(),
    nodeName: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'must be 1–32 lowercase letters, digits or "-"')
      .optional(),
  })
  .strict();

export type AvConfig = z.infer<typeof configSchema>;

export class ConfigError extends Error {}

type Layer = { values: Record<string, unknown>; source: (key: string) => string };

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = target;
  for (const k of keys.slice(0, -1)) {
    if (typeof node[k] !== 'object' || node[k] === null || Array.isArray(node[k])) node[k] = {};
    node = node[k] as Record<string, unknown>;
  }
  node[keys.at(-1)!] = value;
}

/** Deep merge of plain objects; arrays and scalars replace. */
function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlain(b) && isPlain(v) ? merge(b, v) : v;
  }
  return out;
}

const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function convert(spec: OptionSpec, raw: string | string[] | boolean, source: string): unknown {
  const where = `${spec.key} (from ${source})`;
  switch (spec.kind) {
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (/^(1|true|yes|on)$/i.test(String(raw))) return true;
      if (/^(0|false|no|off)$/i.test(String(raw))) return false;
      throw new ConfigError(`invalid config: ${where}: expected true or false, got "${String(raw)}"`);
    case 'int': {
      const n = Number(raw);
      if (String(raw).trim() === '' || !Number.isInteger(n))
        throw new ConfigError(`invalid config: ${where}: expected an integer, got "${String(raw)}"`);
      return n;
    }
    case 'list': {
      const items = Array.isArray(raw)
        ? raw
        : String(raw)
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean);
      if (!spec.roomField) return items;
      const rooms: Record<string, Record<string, string>> = {};
      for (const item of items) {
        const at = item.indexOf('=');
        if (at < 1) throw new ConfigError(`invalid config: ${where}: expected room=${spec.roomField}, got "${item.replace(/=.*/, '=…')}"`);
        rooms[item.slice(0, at)] = { [spec.roomField]: item.slice(at + 1) };
      }
      return rooms;
    }
    default:
      return String(raw);
  }
}

/** Parses command-line flags against the option table. Unknown flags are errors. */
function parseFlags(argv: string[]): { values: Record<string, unknown>; config?: string; help: boolean } {
  const values: Record<string, unknown> = {};
  const lists = new Map<OptionSpec, string[]>();
  let config: string | undefined;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') {
      help = true;
      continue;
    }
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw new ConfigError(`unexpected argument "${arg}"`);
    const [, name, inline] = m as unknown as [string, string, string | undefined];
    const take = () => {
      if (inline !== undefined) return inline;
      const next = argv[++i];
      if (next === undefined) throw new ConfigError(`--${name} needs a value`);
      return next;
    };
    if (name === 'config') {
      config = take();
      continue;
    }
    const spec = OPTIONS.find((o) => o.flag === name);
    if (!spec) throw new ConfigError(`unknown option --${name} (see --help)`);
    if (spec.kind === 'bool') setPath(values, spec.key, inline === undefined ? true : convert(spec, inline, `--${name}`));
    else if (spec.kind === 'list') lists.set(spec, [...(lists.get(spec) ?? []), take()]);
    else setPath(values, spec.key, convert(spec, take(), `--${name}`));
  }
  for (const [spec, items] of lists) setPath(values, spec.key, convert(spec, items, `--${spec.flag}`));
  return { values, config, help };
}

function parseEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const spec of OPTIONS) {
    const raw = env[spec.env];
    if (raw !== undefined && raw !== '') setPath(values, spec.key, convert(spec, raw, `env ${spec.env}`));
  }
  return values;
}

/** Every option, for `--help`. */
export function helpText(): string {
  const rows = [
    ['--config <file>', 'AV_CONFIG', 'JSON config file (keys as in the table, e.g. {"port": 9000, "turn": {...}})'],
    ...OPTIONS.map((o) => [`--${o.flag}${o.kind === 'bool' ? '' : ` <${o.kind === 'int' ? 'n' : 'value'}>`}`, o.env, o.help]),
    ['-h, --help', '', 'show this help'],
  ];
  const w0 = Math.max(...rows.map((r) => r[0]!.length));
  const w1 = Math.max(...rows.map((r) => r[1]!.length));
  return `av-server: signalling, rooms, bundle and demo for av-elements

Usage: av-server [options]
Precedence: defaults < config file < environment < flags.

${rows.map(([a, b, c]) => `  ${a!.padEnd(w0)}  ${b!.padEnd(w1)}  ${c}`).join('\n')}
`;
}

/** Builds the validated configuration from flags, environment and file. Throws ConfigError naming the bad key. */
export function loadConfig(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  read = (p: string) => readFileSync(p, 'utf8'),
): { config: AvConfig; help: boolean } {
  const flags = parseFlags(argv);
  const envValues = parseEnv(env);
  const file = flags.config ?? env.AV_CONFIG;
  let fileValues: Record<string, unknown> = {};
  if (file) {
    let text: string;
    try {
      text = read(file);
    } catch (err) {
      throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
    }
    try {
      const parsed = JSON.parse(text) as unknown;
      if (!isPlain(parsed)) throw new Error('the top level must be an object');
      fileValues = parsed;
    } catch (err) {
      throw new ConfigError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
    }
  }
  const layers: Layer[] = [
    { values: fileValues, source: () => `config file ${file}` },
    { values: envValues, source: (k) => `env ${OPTIONS.find((o) => o.key === k || k.startsWith(`${o.key}.`))?.env ?? 'AV_*'}` },
    { values: flags.values, source: (k) => `--${OPTIONS.find((o) => o.key === k || k.startsWith(`${o.key}.`))?.flag ?? k}` },
  ];
  const merged = layers.reduce((acc, l) => merge(acc, l.values), {} as Record<string, unknown>);
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const key = issue.path.join('.') || (issue.code === 'unrecognized_keys' ? ((issue as { keys?: string[] }).keys?.join(', ') ?? '') : '');
    const fullKey = issue.code === 'unrecognized_keys' ? [...issue.path, ...((issue as { keys?: string[] }).keys ?? [])].join('.') : key;
    const from = [...layers].reverse().find((l) => hasPath(l.values, fullKey));
    const source = from ? ` (from ${from.source(fullKey)})` : '';
    const missing = issue.code === 'invalid_type' && (issue as { input?: unknown }).input === undefined;
    const what = issue.code === 'unrecognized_keys' ? 'unknown key' : missing ? 'is required' : issue.message;
    throw new ConfigError(`invalid config: ${fullKey || '(top level)'}${source}: ${what}`);
  }
  return { config: result.data, help: flags.help };
}

function hasPath(values: Record<string, unknown>, path: string): boolean {
  let node: unknown = values;
  for (const k of path.split('.')) {
    if ((!isPlain(node) && !Array.isArray(node)) || !(k in node)) return false;
    node = (node as Record<string, unknown>)[k];
  }
  return true;
}

/** Turns a validated configuration into `createServer` options (reading TLS files). */
export function serverOptions(config: AvConfig, read = (p: string) => readFileSync(p)): ServerOptions {
  let tls: ServerOptions['tls'];
  if (config.tls) {
    try {
      tls = { cert: read(config.tls.cert), key: read(config.tls.key) };
    } catch (err) {
      throw new ConfigError(`cannot read tls.cert / tls.key: ${(err as Error).message}`);
    }
  }
  return {
    host: config.host,
    port: config.port,
    basePath: config.basePath,
    peerPath: config.peerPath,
    logLevel: config.logLevel,
    password: config.password,
    tokenSecret: config.tokenSecret,
    rooms: config.rooms,
    maxParticipants: config.maxParticipants,
    maxViewers: config.maxViewers,
    fanout: config.fanout,
    turn: config.turn,
    localTurn: config.localTurn?.enabled ? config.localTurn : undefined,
    tls,
    trustProxy: parseTrustProxy(config.trustProxy),
    allowedOrigins: config.allowedOrigins,
    maxMembers: config.maxMembers,
    maxSocketsPerAddress: config.maxSocketsPerAddress,
    metricsToken: config.metricsToken,
    sourceMaps: config.sourceMaps,
    limits: { joinTimeoutMs: config.joinTimeoutSeconds * 1000, graceMs: config.graceSeconds * 1000, offenderCuts: config.offenderCuts },
    redis: config.redis,
    nodeName: config.nodeName,
  };
}
