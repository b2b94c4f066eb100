// Hot standby: two members in a call on server A; A is SIGKILLed; media keeps flowing, both re-register on B with
// the same identity within 3 s, a newcomer on B reaches both, and a message sent during the outage arrives once.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { inboundByPeer, launchChromium, memberPage, waitFor, type MemberPage } from '../helpers/browser.js';
import { serverMetrics, startServer, type RunningServer } from '../helpers/server.js';

let a: RunningServer;
let b: RunningServer;
let chromium: Awaited<ReturnType<typeof launchChromium>>;
const open: MemberPage[] = [];
before(async () => {
  [a, b] = await Promise.all([startServer(), startServer()]);
  chromium = await launchChromium();
});
after(async () => {
  for (const p of open) await p.close().catch(() => {});
  await chromium?.close();
  await Promise.all([a?.stop(), b?.stop()]);
});

const frames = async (p: MemberPage) => Object.values(await inboundByPeer(p.page)).map((r) => r.framesDecoded);
const members = async (s: RunningServer) => (await serverMetrics(s.url)).av_members;

test('failover from a killed server to the standby keeps the call and the identity', async () => {
  const ann = await memberPage(chromium.browser, a.url, { room: 'standby', name: 'Ann', server: `${a.url} ${b.url}` });
  const bob = await memberPage(chromium.browser, a.url, { room: 'standby', name: 'Bob', server: `${a.url} ${b.url}` });
  open.push(ann, bob);
  for (const p of [ann, bob]) await waitFor('call on A', () => frames(p), (f) => f.length === 1 && f[0]! > 0, 20_000);
  const ids = await Promise.all([ann, bob].map((p) => p.page.evaluate(() => document.querySelector('av-room')!.session!.peerId)));
  await bob.page.evaluate(() => {
    (window as any).got = [];
    document.querySelector('av-room')!.addEventListener('av-room-message', (e) => (window as any).got.push((e as CustomEvent).detail.data));
  });

  a.process.kill('SIGKILL');
  const killedAt = Date.now();
  // Sent during the outage.
  await ann.page.evaluate(() => document.querySelector('av-room')!.session!.send({ during: 'outage' }));

  // Frames keep rising on both sides throughout, sampled every 500 ms for 4 s.
  let last = await Promise.all([ann, bob].map(frames));
  for (let i = 0; i < 8; i++) {
    await new Promise((r) => setTimeout(r, 500));
    const now = await Promise.all([ann, bob].map(frames));
    now.forEach((f, side) => assert.ok(f[0]! > last[side]![0]!, `frames rising on side ${side} at sample ${i}: ${last[side]} → ${f}`));
    last = now;
    if (i === 5) {
      // Both registered on B within 3 s of the kill (checked by the time this sample is taken, ~3 s in).
      assert.equal(await members(b), 2, `both on B ${Date.now() - killedAt} ms after the kill`);
    }
  }
  const after = await Promise.all([ann, bob].map((p) => p.page.evaluate(() => {
    const s = document.querySelector('av-room')!.session!;
    return { id: s.peerId, server: s.server, state: s.state };
  })));
  assert.deepEqual(after.map((x) => x.id), ids, 'same identities');
  assert.deepEqual(after.map((x) => x.server), [b.url, b.url]);
  assert.deepEqual(after.map((x) => x.state), ['connected', 'connected']);

  // A newcomer that only knows B reaches both, and both reach it.
  const cy = await memberPage(chromium.browser, b.url, { room: 'standby', name: 'Cy' });
  open.push(cy);
  await waitFor('Cy decodes Ann and Bob', () => frames(cy), (f) => f.length === 2 && f.every((x) => x > 0), 20_000);
  for (const p of [ann, bob]) await waitFor('Cy decoded by the old members', () => frames(p), (f) => f.length === 2 && f.every((x) => x > 0), 20_000);

  await new Promise((r) => setTimeout(r, 1000));
  assert.deepEqual(await bob.page.evaluate(() => (window as any).got), [{ during: 'outage' }], 'the outage message arrived exactly once');
});
