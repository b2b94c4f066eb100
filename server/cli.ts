#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { createServer, type ServerOptions } from './app.js';

const HELP = `av-server: signalling, rooms, bundle and demo for av-elements

Usage: av-server [options]

  --host <address>            interface to listen on (default 127.0.0.1)
  --port <number>             port to listen on, 0 for any free one (default 9000)
  --log-level <level>         fatal|error|warn|info|debug|trace|silent (default info)
  --password <secret>         server password; clients give it as the element's key (or password)
  --room-password <room=pw>   a room's password (repeatable)
  --token-secret <secret>     secret that signs room tokens (createToken in the server SDK)
  --max-participants <n>      largest mesh per room (default 6)
  --max-viewers <n>           largest broadcast audience per room (default 100)
  --turn-url <url>            TURN URL handed to clients, e.g. turn:host:3478?transport=udp (repeatable)
  --turn-secret <secret>      coturn's static-auth-secret (use-auth-secret)
  --turn                      start a local coturn (when installed) and use it
  --turn-port <number>        port of that local coturn (default 3478)
  -h, --help                  show this help
`;

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function fail(message: string): never {
  process.stderr.write(`av-server: ${message}\n\n${HELP}`);
  process.exit(2);
}

function int(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) fail(`--${name} must be an integer ${min}–${max}, got "${value}"`);
  return n;
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'log-level': { type: 'string' },
      password: { type: 'string' },
      'room-password': { type: 'string', multiple: true },
      'token-secret': { type: 'string' },
      'max-participants': { type: 'string' },
      'max-viewers': { type: 'string' },
      'turn-url': { type: 'string', multiple: true },
      'turn-secret': { type: 'string' },
      turn: { type: 'boolean' },
      'turn-port': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  }));
} catch (err) {
  fail((err as Error).message);
}
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const logLevel = (values['log-level'] ?? 'info') as (typeof LEVELS)[number];
if (!LEVELS.includes(logLevel)) fail(`--log-level must be one of ${LEVELS.join(', ')}`);
const rooms: NonNullable<ServerOptions['rooms']> = {};
for (const entry of values['room-password'] ?? []) {
  const at = entry.indexOf('=');
  if (at < 1) fail(`--room-password takes room=password, got "${entry.replace(/=.*/, '=…')}"`);
  rooms[entry.slice(0, at)] = { password: entry.slice(at + 1) };
}
const turnUrls = values['turn-url'] ?? [];
if (turnUrls.length > 0 !== !!values['turn-secret']) fail('--turn-url and --turn-secret go together');

const server = createServer({
  host: values.host ?? '127.0.0.1',
  port: int('port', values.port, 0, 65535) ?? 9000,
  logLevel,
  password: values.password,
  tokenSecret: values['token-secret'],
  rooms,
  maxParticipants: int('max-participants', values['max-participants'], 1, 64),
  maxViewers: int('max-viewers', values['max-viewers'], 0, 100_000),
  turn: turnUrls.length ? { urls: turnUrls, secret: values['turn-secret']! } : undefined,
  localTurn: values.turn ? { port: int('turn-port', values['turn-port'], 1, 65535) } : undefined,
});
server.listen().catch((err: Error) => {
  server.logger.fatal({ err: err.message }, 'cannot start');
  process.exit(1);
});

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    server.logger.info({ signal }, 'shutting down');
    // PeerServer keeps timers of its own alive: exit explicitly once sockets are closed, or after 5 s.
    setTimeout(() => process.exit(0), 5000).unref();
    server.close().then(() => process.exit(0));
  });
}
