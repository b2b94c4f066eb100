// HTTPS and WSS on one port with a self-signed certificate made here, below a base path: two elements join over wss.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { inboundByPeer, launchChromium, memberPage, waitFor, type MemberPage } from '../helpers/browser.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { selfSignedCert } from '../helpers/tls.js';

let dir: string;
let server: RunningServer;
let chromium: Awaited<ReturnType<typeof launchChromium>>;
const open: MemberPage[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'av-tls-'));
  const { cert, key } = selfSignedCert(dir);
  server = await startServer(['--tls-cert', cert, '--tls-key', key, '--base-path', '/av']);
  chromium = await launchChromium();
});
after(async () => {
  for (const p of open) await p.close().catch(() => {});
  await chromium?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('two elements join over wss with a self-signed certificate, below a base path', async () => {
  assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+\/av$/);
  const sockets: string[] = [];
  for (const name of ['Ann', 'Bob']) {
    const p = await memberPage(chromium.browser, server.url, { room: 'secure', name, server: server.url }, { ignoreHTTPSErrors: true });
    p.page.on('websocket', (ws) => sockets.push(ws.url()));
    open.push(p);
  }
  for (const p of open)
    await waitFor(
      'video over the secure server',
      () => inboundByPeer(p.page),
      (s) => (Object.values(s)[0]?.framesDecoded ?? 0) > 0,
      20_000,
    );
  const origin = server.url.replace('https://', 'wss://');
  assert.ok(
    sockets.length >= 2 && sockets.every((u) => u.startsWith(`${origin}/r/secure/`)),
    `every socket is wss below the base path: ${sockets.join(' ')}`,
  );
});
