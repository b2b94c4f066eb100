// Shared by bench scripts: a built av-server child process and Debian's Chromium with fake devices.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export { launchChromium } from '../../test/helpers/chromium.mjs';

export async function startBuiltServer(args = []) {
  if (!existsSync('dist/lib/server/cli.js') || !existsSync('dist/av-elements.js')) {
    execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
  }
  const child = spawn(process.execPath, ['dist/lib/server/cli.js', '--host', '127.0.0.1', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start')), 15_000);
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      const m = /"url":"(http[^"]+)","msg":"listening"/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  child.stdout.resume();
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', resolve);
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
