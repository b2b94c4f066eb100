// Shared by bench scripts: a built av-server child process, Debian's Chromium and Firefox ESR with fake devices.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export { launchChromium } from '../../test/helpers/chromium.mjs';
export { launchFirefox } from '../../test/helpers/firefox.mjs';

export async function startBuiltServer(args = [], nodeArgs = []) {
  if (!existsSync('dist/lib/server/cli.js') || !existsSync('dist/av-elements.js')) {
    execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
  }
  const child = spawn(process.execPath, [...nodeArgs, 'dist/lib/server/cli.js', '--host', '127.0.0.1', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start')), 15_000);
    let buf = '';
    const listening = (d) => {
      buf += d;
      const m = /"url":"(http[^"]+)","msg":"listening"/.exec(buf);
      if (m) {
        clearTimeout(timer);
        // The server's log is drained from here on (below), not collected.
        child.stdout.off('data', listening);
        resolve(m[1]);
      }
    };
    child.stdout.on('data', listening);
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

/** A redis-server of our own on a free 127.0.0.1 port, no persistence; `stop()` ends it by PID. */
export async function startRedis() {
  const { createServer } = await import('node:net');
  const port = await new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
  const child = spawn('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('redis-server did not start')), 10_000);
    child.stdout.on('data', (d) => {
      buf += d;
      if (/Ready to accept connections/.test(buf)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited ${code}`)));
  });
  child.stdout.resume();
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', resolve);
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}

export const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

/**
 * In a bench page (with PeerJS's UMD build loaded): `window.registeredPeer(room, name)` joins the room service for an
 * id and token, as a bare client must, then registers a stock PeerJS Peer with them (the baseline of the benches).
 */
export const REGISTERED_PEER = `window.registeredPeer = async (room, name) => {
  const ws = new WebSocket(location.origin.replace('http', 'ws') + '/r/' + encodeURIComponent(room) + '/ws');
  await new Promise((r) => (ws.onopen = r));
  ws.send(JSON.stringify({ type: 'join', name }));
  const joined = await new Promise((r) => (ws.onmessage = (e) => r(JSON.parse(e.data))));
  window.keepSocket = ws;
  const peer = new peerjs.Peer(joined.self.peerId, {
    host: location.hostname, port: Number(location.port), path: joined.peerPath, token: joined.peerToken,
    config: { iceServers: joined.iceServers ?? [] }, debug: 0,
  });
  await new Promise((resolve, reject) => (peer.on('open', resolve), peer.on('error', reject)));
  return peer;
};`;
