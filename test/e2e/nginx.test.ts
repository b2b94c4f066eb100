// The documented scale-out setup, run for real: Debian's nginx (server/deploy/nginx.conf, with local addresses and a
// self-signed certificate) terminating TLS in front of two av-server nodes sharing rooms through redis-server.
// Members whose room sockets land on different nodes share a room and decode each other's video.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stopChild } from '../../server/child-process.js';
import { startCoturn } from '../../server/turn.js';
import { expectFramesRising, inboundByPeer, launchChromium, memberPage, waitFor, type MemberPage } from '../helpers/browser.js';
import { startRedis } from '../helpers/redis.js';
import { freePort, serverMetrics, startServer } from '../helpers/server.js';
import { selfSignedCert } from '../helpers/tls.js';

const NGINX = '/usr/sbin/nginx';
const EXAMPLE = fileURLToPath(new URL('../../server/deploy/nginx.conf', import.meta.url));

/** The documented config with this machine's addresses, ports, certificate and a private prefix for nginx's files. */
function localConfig(dir: string, port: number, a: number, b: number): string {
  return readFileSync(EXAMPLE, 'utf8')
    .replace('worker_processes auto;', `worker_processes 1;\npid ${dir}/nginx.pid;\nerror_log ${dir}/error.log warn;\nuser root;`)
    .replace('worker_connections 16384;', 'worker_connections 1024;')
    .replace(
      'http {',
      `http {\n  access_log off;\n  client_body_temp_path ${dir}/body;\n  proxy_temp_path ${dir}/proxy;\n  fastcgi_temp_path ${dir}/fastcgi;\n  uwsgi_temp_path ${dir}/uwsgi;\n  scgi_temp_path ${dir}/scgi;`,
    )
    .replace('listen 443 ssl;', `listen 127.0.0.1:${port} ssl;`)
    .replace('/etc/ssl/av/fullchain.pem', `${dir}/cert.pem`)
    .replace('/etc/ssl/av/privkey.pem', `${dir}/key.pem`)
    .replaceAll('node-a.internal:9000', `127.0.0.1:${a}`)
    .replaceAll('node-b.internal:9000', `127.0.0.1:${b}`);
}

async function startNginx(port: number, a: number, b: number): Promise<{ stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'av-nginx-'));
  selfSignedCert(dir);
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, localConfig(dir, port, a, b));
  const check = spawnSync(NGINX, ['-t', '-c', conf, '-p', dir], { encoding: 'utf8' });
  assert.equal(check.status, 0, `nginx -t: ${check.stderr}`);
  const child: ChildProcess = spawn(NGINX, ['-c', conf, '-p', dir, '-g', 'daemon off;'], { stdio: 'ignore' });
  await waitFor(
    'nginx answers',
    () =>
      fetch(`http://127.0.0.1:${port}/`).then(
        () => true,
        () => false,
      ),
    (ok) => ok,
    10_000,
  );
  return {
    stop: () => stopChild(child, { signal: 'SIGQUIT', dir }),
  };
}

test(
  'behind nginx (TLS, two nodes, one redis, one coturn per node sharing the secret), members on different nodes share a room and decode each other through the relays',
  { skip: !existsSync(NGINX) && 'nginx is not installed' },
  async () => {
    const redis = await startRedis();
    const [portA, portB, port] = await Promise.all([freePort(), freePort(), freePort()]);
    // One coturn per node, one TURN secret: each node hands out its own relay, and either accepts the other's members.
    const secret = 'one-turn-secret-for-every-node';
    const relayPorts = 40000 + Math.floor(Math.random() * 200) * 100;
    const [turnA, turnB] = await Promise.all([
      startCoturn({ port: await freePort(), minPort: relayPorts, maxPort: relayPorts + 49, allowLoopback: true, secret }),
      startCoturn({ port: await freePort(), minPort: relayPorts + 50, maxPort: relayPorts + 99, allowLoopback: true, secret }),
    ]);
    const turnArgs = (urls: string[]) => [...urls.flatMap((u) => ['--turn-url', u]), '--turn-secret', secret];
    const node = (name: string, p: number, urls: string[]) =>
      startServer(['--redis', redis.url, '--node-name', name, '--port', String(p), '--trust-proxy', 'loopback', ...turnArgs(urls)]);
    const [a, b] = await Promise.all([node('a', portA, turnA.config.urls), node('b', portB, turnB.config.urls)]);
    const nginx = await startNginx(port, portA, portB);
    const chromium = await launchChromium(['--ignore-certificate-errors']);
    const pages: MemberPage[] = [];
    try {
      const url = `https://127.0.0.1:${port}`;
      for (const name of ['Ann', 'Bob']) {
        const p = await memberPage(chromium.browser, url, { room: 'behind-nginx', name, 'ice-policy': 'relay' });
        pages.push(p);
        await p.page.locator('av-room[state="connected"]').waitFor({ timeout: 20_000 });
      }
      const [onA, onB] = await Promise.all([serverMetrics(a.url), serverMetrics(b.url)]);
      assert.deepEqual([onA.av_members, onB.av_members], [1, 1], 'one member on each node');
      assert.deepEqual([onA.av_signalling_sockets, onB.av_signalling_sockets], [1, 1], "each member's signalling on its own node");
      for (const p of pages) {
        await expectFramesRising(p.page, 'video through the cluster');
      }
      for (const p of pages) {
        const [row] = Object.values(await inboundByPeer(p.page));
        assert.equal(row?.localCandidate, 'relay', 'media goes through the relays');
      }
      const relayOf = (p: MemberPage) =>
        p.page.evaluate(() => {
          const s = document.querySelector('av-room')!.session!;
          return [...s.peers.keys()].map((id) => s.getPeerConnection(id)!.getConfiguration().iceServers?.[0]?.urls).flat()[0];
        });
      // The members are on different nodes (above) and each node hands out only its own coturn: one relay each.
      assert.deepEqual(
        (await Promise.all(pages.map(relayOf))).sort(),
        [turnA.config.urls[0], turnB.config.urls[0]].sort(),
        "each member uses its own node's coturn",
      );
      assert.equal(
        await pages[0]!.page.evaluate(async () => (await fetch('/metrics')).status),
        404,
        'metrics are not served through the proxy',
      );
    } finally {
      for (const p of pages) await p.close().catch(() => {});
      await chromium.close();
      await nginx.stop();
      await Promise.all([a.stop(), b.stop(), turnA.stop(), turnB.stop()]);
      await redis.stop();
    }
  },
);
