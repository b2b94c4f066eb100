#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { createServer } from './app.js';

const HELP = `av-server: signalling, rooms, bundle and demo for av-elements

Usage: av-server [options]

  --host <address>     interface to listen on (default 127.0.0.1)
  --port <number>      port to listen on, 0 for any free one (default 9000)
  --log-level <level>  fatal|error|warn|info|debug|trace|silent (default info)
  -h, --help           show this help
`;

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function fail(message: string): never {
  process.stderr.write(`av-server: ${message}\n\n${HELP}`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      'log-level': { type: 'string' },
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
const port = values.port === undefined ? 9000 : Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be an integer 0–65535, got "${values.port}"`);
const logLevel = (values['log-level'] ?? 'info') as (typeof LEVELS)[number];
if (!LEVELS.includes(logLevel)) fail(`--log-level must be one of ${LEVELS.join(', ')}`);

const server = createServer({ host: values.host ?? '127.0.0.1', port, logLevel });
server.listen().catch((err: Error) => {
  server.logger.fatal({ err: err.message }, 'cannot listen');
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
