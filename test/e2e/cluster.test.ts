// Two av-server nodes sharing rooms through a real redis-server, with real Chromium members: Ann joins through node A,
// Bob through node B, same room. Node A runs in this process (for its server SDK), node B as a child process.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createServer, type AvServer } from '../../server/index.js';
import { createLogger } from '../../server/log.js';
import { expectFramesRising, launchChromium, memberPage, waitFor, type MemberPage } from '../helpers/browser.js';
import { startRedis, type RunningRedis } from '../helpers/redis.js';
import { serverMetrics, startServer, type RunningServer } from '../helpers/server.js';

let redis: RunningRedis;
let a: AvServer;
let b: RunningServer;
let chromium: Awaited<ReturnType<typeof launchChromium>>;
const open: MemberPage[] = [];

before(async () => {
  redis = await startRedis();
  a = createServer({ port: 0, redis: redis.url, logger: createLogger('warn') });
  [b] = await Promise.all([startServer(['--redis', redis.url]), a.listen()]);
  chromium = await launchChromium();
});
after(async () => {
  for (const p of open) await p.close().catch(() => {});
  await chromium?.close();
  await Promise.all([a?.close(), b?.stop()]);
  await redis?.stop();
});

const chatTexts = (p: MemberPage) => p.page.evaluate(() => document.querySelector('av-chat')!.messages.map((m) => `${m.name}: ${m.text}`));

test('Ann through node A and Bob through node B share a room: video both ways, chat both ways, SDK broadcast from A reaches Bob', async () => {
  const ann = await memberPage(chromium.browser, a.url, { room: 'across', name: 'Ann' }, {}, '<av-chat></av-chat>');
  open.push(ann);
  await ann.page.locator('av-room[state="connected"]').waitFor({ timeout: 20_000 });
  const bob = await memberPage(chromium.browser, b.url, { room: 'across', name: 'Bob' }, {}, '<av-chat></av-chat>');
  open.push(bob);
  await bob.page.locator('av-room[state="connected"]').waitFor({ timeout: 20_000 });
  assert.equal((await serverMetrics(b.url)).av_members, 1, 'Bob is on node B');

  for (const p of [ann, bob]) {
    await expectFramesRising(p.page, 'video from the other node decodes');
  }

  await ann.page.evaluate(() => document.querySelector('av-chat')!.send('hello from A'));
  await bob.page.evaluate(() => document.querySelector('av-chat')!.send('hello from B'));
  for (const p of [ann, bob]) {
    await waitFor(
      'both chat lines',
      () => chatTexts(p),
      (t) => t.includes('Ann: hello from A') && t.includes('Bob: hello from B'),
      15_000,
    );
  }

  await bob.page.evaluate(() => {
    (window as unknown as { got: unknown[] }).got = [];
    document
      .querySelector('av-room')!
      .addEventListener('av-room-message', (e) => (window as unknown as { got: unknown[] }).got.push((e as CustomEvent).detail));
  });
  assert.equal(await a.broadcast('across', { notice: 'from node A' }), 2);
  const got = await waitFor(
    'the broadcast reaches Bob on node B',
    () => bob.page.evaluate(() => (window as unknown as { got: unknown[] }).got),
    (g) => g.length > 0,
    5000,
  );
  assert.deepEqual(got, [{ from: 'server', data: { notice: 'from node A' }, via: 'server' }]);
});

test('moderation from node A reaches a member on node B: requestMute mutes its element and says who asked; kick ends its call', async () => {
  const ann = await memberPage(chromium.browser, a.url, { room: 'moderated', name: 'Ann' });
  open.push(ann);
  await ann.page.locator('av-room[state="connected"]').waitFor({ timeout: 20_000 });
  const bob = await memberPage(chromium.browser, b.url, { room: 'moderated', name: 'Bob' });
  open.push(bob);
  await bob.page.locator('av-room[state="connected"]').waitFor({ timeout: 20_000 });
  const bobId = await bob.page.evaluate(() => document.querySelector('av-room')!.session!.peerId!);
  await waitFor(
    'Ann sees Bob',
    () => ann.page.evaluate(() => document.querySelector('av-room')!.peers.length),
    (n) => n === 1,
    20_000,
  );

  assert.equal(await a.requestMute(bobId, 'Moderator'), true);
  await bob.page.locator('av-room[muted]').waitFor({ timeout: 5000 });
  const muted = await bob.page.evaluate(() => {
    const room = document.querySelector('av-room')!;
    return {
      sending: room.session!.localStream.getAudioTracks().some((t) => t.enabled),
      status: room.shadowRoot!.querySelector('.status')!.textContent,
      button: room.shadowRoot!.querySelector('[part~="mic-button"]')!.getAttribute('aria-pressed'),
    };
  });
  assert.deepEqual(muted, { sending: false, status: 'Muted by Moderator', button: 'true' });
  await waitFor(
    'Ann sees Bob muted',
    () => ann.page.evaluate(() => document.querySelector('av-room')!.peers[0]?.media.audio),
    (audio) => audio === false,
    5000,
  );

  assert.equal(await a.kick(bobId, 'spamming'), true);
  await bob.page.locator('av-room[state="error"]').waitFor({ timeout: 5000 });
  const kicked = await bob.page.evaluate(() => ({
    status: document.querySelector('av-room')!.shadowRoot!.querySelector('.status')!.textContent,
    errors: (window as unknown as { __errors: { code: string; fatal: boolean }[] }).__errors.map((e) => `${e.code} ${e.fatal}`),
    tracksEnded: document
      .querySelector('av-room')!
      .session!.localStream.getTracks()
      .every((t) => t.readyState === 'ended'),
  }));
  assert.equal(kicked.status, 'You were removed from the room');
  assert.ok(kicked.errors.includes('kicked true'), JSON.stringify(kicked.errors));
  assert.equal(kicked.tracksEnded, true, 'its camera and microphone are released');
  await waitFor(
    'Ann drops Bob at once',
    () => ann.page.evaluate(() => document.querySelector('av-room')!.peers.length),
    (n) => n === 0,
    3000,
  );
});
