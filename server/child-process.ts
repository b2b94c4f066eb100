import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

/**
 * Stops a child process we started: `signal` first, SIGKILL after `graceMs` if it is still there; resolves once it
 * has exited and `dir` (its private folder, if any) is removed. Safe to call on a process that already exited.
 */
export function stopChild(
  child: ChildProcess,
  { signal = 'SIGTERM', graceMs = 3000, dir }: { signal?: NodeJS.Signals; graceMs?: number; dir?: string } = {},
): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      if (dir) rmSync(dir, { recursive: true, force: true });
      resolve();
    };
    if (child.exitCode !== null || child.signalCode !== null) return done();
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(kill);
      done();
    });
    child.kill(signal);
  });
}
