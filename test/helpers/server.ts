import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface RunningServer {
  url: string;
  process: ChildProcess;
  logs: string[];
  stop(): Promise<void>;
}

/** Newest modification time of the .ts files under `dir`. */
function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile() && e.name.endsWith('.ts')) t = Math.max(t, statSync(join(e.parentPath, e.name)).mtimeMs);
  return t;
}

/**
 * The built CLI when it is newer than every source it is built from (npm test builds first), else the TypeScript
 * source through tsx. Compiling on start made a restarted node take 14–23 s under the load of a call (0.8 s idle).
 */
function serverEntry(): string[] {
  const built = `${ROOT}dist/lib/server/cli.js`;
  const fresh = existsSync(built) && statSync(built).mtimeMs > Math.max(newest(`${ROOT}server`), newest(`${ROOT}components/core`));
  return fresh ? [built] : ['--import', 'tsx', `${ROOT}server/cli.ts`];
}

/**
 * Starts a real av-server (the built CLI when up to date, else the TypeScript source) on an ephemeral 127.0.0.1 port,
 * as a child process, and stops it by PID. PeerServer keeps timers alive, so servers are never run in-process.
 */
export async function startServer(args: string[] = [], { timeoutMs = 30_000, nodeArgs = [] as string[] } = {}): Promise<RunningServer> {
  const child = spawn(process.execPath, [...nodeArgs, ...serverEntry(), '--host', '127.0.0.1', '--port', '0', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  favour(child.pid);
  const logs: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      // Not left running: a server that never said "listening" is stopped by PID.
      child.kill('SIGKILL');
      reject(new Error(`server did not start within ${timeoutMs} ms:\n${logs.join('')}`));
    }, timeoutMs);
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        logs.push(line);
        const m = /"url":"(http[^"]+)"/.exec(line);
        if (m && /"msg":"listening"/.test(line)) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      }
    });
    child.stderr.on('data', (chunk: Buffer) => logs.push(chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${logs.join('\n')}`));
    });
  });
  return {
    url,
    process: child,
    logs,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

/**
 * Gives a server the CPU before the browsers. In use a server has a machine of its own; here it shares two cores with
 * up to eleven Chromium pages that encode and decode video, and a restarted node took over 15 s to start under that
 * load. As root we may raise its priority; elsewhere it runs as it is. (It does not help against the stalls of the
 * whole machine, up to 1.7 s at a time under load, that even a process at -20 sees: see `Silence` in room-link.ts.)
 */
export function favour(pid: number | undefined): void {
  try {
    if (pid) setPriority(pid, -10);
  } catch {
    // Not root: leave it.
  }
}

/** A free TCP port on 127.0.0.1 (also free for UDP in practice on this machine). */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * The server's Prometheus metrics as numbers by series (`av_members`, `av_process_resident_memory_bytes`,
 * `av_signalling_dropped_total{reason="not-member"}`…); `gc` collects garbage first (server run with --expose-gc).
 */
export async function serverMetrics(url: string, { gc = false } = {}): Promise<Record<string, number>> {
  const res = await fetch(`${url}/metrics${gc ? '?gc=1' : ''}`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  const out: Record<string, number> = {};
  for (const line of (await res.text()).split('\n')) {
    const m = /^([a-z_:]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** A metric summed over all its label sets (0 when absent). */
export function metricSum(metrics: Record<string, number>, name: string): number {
  return Object.entries(metrics)
    .filter(([k]) => k === name || k.startsWith(`${name}{`))
    .reduce((n, [, v]) => n + v, 0);
}
