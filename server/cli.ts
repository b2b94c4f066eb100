#!/usr/bin/env node
import { createServer } from './app.js';
import { ConfigError, helpText, loadConfig, serverOptions } from './config.js';

let options;
try {
  const { config, help } = loadConfig(process.argv.slice(2));
  if (help) {
    process.stdout.write(helpText());
    process.exit(0);
  }
  options = serverOptions(config);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`av-server: ${err.message}\nRun av-server --help for every option.\n`);
  process.exit(2);
}

const server = createServer(options);
server.listen().then(
  (url) => {
    // For a person at a terminal, one line in words beside the JSON log (which stays on stdout for machines).
    if (process.stderr.isTTY) process.stderr.write(`\nav-server on ${url} — open it in two tabs to try a call (Ctrl+C stops it)\n\n`);
  },
  (err: Error) => {
    server.logger.fatal({ err: err.message }, 'cannot start');
    process.exit(1);
  },
);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    server.logger.info({ signal }, 'shutting down');
    // PeerServer keeps timers of its own alive: exit explicitly once sockets are closed, or after 5 s.
    setTimeout(() => process.exit(0), 4500).unref();
    void server.close().finally(() => process.exit(0));
  });
}
