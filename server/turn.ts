import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RTCIceServerLike } from '../components/core/room-protocol.js';
import { stopChild } from './child-process.js';
import type { Logger } from './log.js';

export interface TurnConfig {
  /** TURN URLs handed to clients, e.g. `turn:turn.example.com:3478?transport=udp`. */
  urls: string[];
  /** coturn's `static-auth-secret` (use-auth-secret). */
  secret: string;
  /** Lifetime of the credentials, seconds. Default 3600. */
  ttlSeconds?: number;
}

/** TURN REST credentials: `username = "<expiry>:<user>"`, `credential = base64(HMAC-SHA1(secret, username))`. */
export function turnCredentials(
  secret: string,
  user: string,
  ttlSeconds = 3600,
  now = Date.now(),
): { username: string; credential: string } {
  const username = `${Math.floor(now / 1000) + ttlSeconds}:${user}`;
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64') };
}

export function turnIceServers(turn: TurnConfig | undefined, user: string): RTCIceServerLike[] {
  if (!turn || turn.urls.length === 0) return [];
  return [{ urls: turn.urls, ...turnCredentials(turn.secret, user, turn.ttlSeconds) }];
}

export function coturnInstalled(): boolean {
  return spawnSync('sh', ['-c', 'command -v turnserver'], { stdio: 'ignore' }).status === 0;
}

export interface LocalCoturn {
  config: TurnConfig;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts a coturn on `host` for development and tests (TURN over UDP and TCP on one port, use-auth-secret).
 * `allowLoopback` permits relaying to loopback peers: only for tests on one machine, never in production.
 */
export async function startCoturn(options: {
  host?: string;
  port: number;
  minPort: number;
  maxPort: number;
  secret?: string;
  allowLoopback?: boolean;
  logger?: Logger;
}): Promise<LocalCoturn> {
  const host = options.host ?? '127.0.0.1';
  const secret = options.secret ?? randomBytes(24).toString('hex');
  // The secret goes in a file only this user can read (mkdtemp makes the folder 0700), never on the command line
  // where `ps` shows it to every user of the machine.
  const dir = mkdtempSync(join(tmpdir(), 'av-coturn-'));
  const configFile = join(dir, 'turnserver.conf');
  writeFileSync(configFile, `use-auth-secret\nstatic-auth-secret=${secret}\n`, { mode: 0o600 });
  const args = [
    '-c',
    configFile,
    `--listening-ip=${host}`,
    `--relay-ip=${host}`,
    `--listening-port=${options.port}`,
    `--min-port=${options.minPort}`,
    `--max-port=${options.maxPort}`,
    '--realm=av-elements',
    '--fingerprint',
    '--no-tls',
    '--no-dtls',
    '--no-cli',
    '--no-multicast-peers',
    `--userdb=${join(dir, 'turndb')}`,
    `--pidfile=${join(dir, 'turn.pid')}`,
    '--log-file=stdout',
    '--simple-log',
    ...(options.allowLoopback ? ['--allow-loopback-peers'] : []),
  ];
  const child = spawn('turnserver', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`coturn did not start within 10 s:\n${output}`)), 10_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      if (/Total General servers/.test(output)) {
        clearTimeout(timer);
        setTimeout(resolve, 200);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`coturn exited with ${code}:\n${output}`));
    });
  });
  child.stdout.resume();
  child.stderr.resume();
  options.logger?.info({ host, port: options.port }, 'local coturn started');
  const url = `${host}:${options.port}`;
  return {
    config: { urls: [`turn:${url}?transport=udp`, `turn:${url}?transport=tcp`], secret },
    process: child,
    stop: () => stopChild(child, { dir }),
  };
}
