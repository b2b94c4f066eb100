// Credentials through the element: wrong password refused before any device opens; a token from the app's backend admits.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { createToken } from '../../server/auth.js';
import { inboundByPeer, memberPage, waitFor } from '../helpers/browser.js';
import { e2e } from '../helpers/e2e.js';

const ctx = e2e(['--room-password', 'vault=opensesame', '--token-secret', 'backend-secret-for-tests']);
const { open } = ctx;

test('wrong password: auth-failed, nothing joined, no device opened; the right password and a token get in', async () => {
  const wrong = await memberPage(ctx.chromium.browser, ctx.server.url, { room: 'vault', name: 'Eve', password: 'guess' });
  open.push(wrong);
  await wrong.page.locator('av-room[state="error"]').waitFor({ timeout: 15_000 });
  const seen = await wrong.page.evaluate(() => ({
    gum: (window as any).__gumCalls,
    errors: (window as any).__errors.map((e: any) => [e.code, e.fatal]),
  }));
  assert.deepEqual(seen, { gum: 0, errors: [['auth-failed', true]] });

  const ann = await memberPage(ctx.chromium.browser, ctx.server.url, { room: 'vault', name: 'Ann', password: 'opensesame' });
  const token = createToken({ room: 'vault', identity: 'user-7', ttlSeconds: 120 }, 'backend-secret-for-tests');
  const bob = await memberPage(ctx.chromium.browser, ctx.server.url, { room: 'vault', name: 'Bob', token });
  open.push(ann, bob);
  await waitFor(
    'Ann decodes Bob',
    () => inboundByPeer(ann.page),
    (s) => (Object.values(s)[0]?.framesDecoded ?? 0) > 0,
  );
  assert.equal(await ann.page.evaluate(() => document.querySelector('av-room')!.peers[0]!.identity), 'user-7');
});

test('a bare PeerJS client without credentials cannot register', async () => {
  const context = await ctx.chromium.browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${ctx.server.url}/healthz`);
    await page.addScriptTag({ content: readFileSync('node_modules/peerjs/dist/peerjs.min.js', 'utf8') });
    const url = new URL(ctx.server.url);
    const outcome = await page.evaluate(
      ({ host, port }) =>
        new Promise<string>((resolve) => {
          const peer = new (window as any).peerjs.Peer('intruder-1', { host, port, path: '/peerjs', config: { iceServers: [] }, debug: 0 });
          peer.on('open', () => resolve('open'));
          peer.on('error', (e: { type: string }) => resolve(`error:${e.type}`));
          setTimeout(() => resolve('timeout'), 8000);
        }),
      { host: url.hostname, port: Number(url.port) },
    );
    assert.notEqual(outcome, 'open');
    assert.match(outcome, /^error:/);
  } finally {
    await context.close();
  }
});
