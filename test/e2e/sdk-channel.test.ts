// The server SDK (createServer with hooks, send, broadcast) and the transparent channel over p2p, in one room.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createServer, type AvServer, type MemberContext } from '../../server/index.js';
import { launchChromium, memberPage, waitFor, type MemberPage } from '../helpers/browser.js';

let server: AvServer;
let chromium: Awaited<ReturnType<typeof launchChromium>>;
const open: MemberPage[] = [];
const joins: string[] = [];
const leaves: string[] = [];
const received: { from: string; data: unknown }[] = [];

before(async () => {
  server = createServer({
    port: 0,
    logLevel: 'warn',
    hooks: {
      authenticate: ({ name }) => (name === 'Mallory' ? false : { identity: `id-${name.toLowerCase()}` }),
      onJoin: (m) => joins.push(m.name),
      onLeave: (m, reason) => leaves.push(`${m.name}:${reason}`),
      onMessage: (from: MemberContext, data) => {
        received.push({ from: from.name, data: data instanceof Uint8Array ? [...data] : data });
        if (!(data instanceof Uint8Array)) void server.send(from.peerId, { echo: data });
      },
    },
  });
  await server.listen();
  chromium = await launchChromium();
});
after(async () => {
  for (const p of open) await p.close().catch(() => {});
  await chromium?.close();
  await server?.close();
});

const messages = (p: MemberPage) =>
  p.page.evaluate(() =>
    (window as any).got.map((m: any) => ({
      from: m.from,
      via: m.via,
      data: m.data instanceof Uint8Array ? { bytes: [...m.data] } : m.data,
    })),
  );

async function joinAs(name: string): Promise<MemberPage> {
  const p = await memberPage(chromium.browser, server.url, { room: 'sdk', name, audio: 'off', video: 'off' });
  open.push(p);
  await p.page.evaluate(() => {
    (window as any).got = [];
    document.querySelector('av-room')!.addEventListener('av-room-message', (e) => (window as any).got.push((e as CustomEvent).detail));
  });
  return p;
}

test('authenticate hook refuses and admits; transparent channel p2p, to the server and from it', async () => {
  const mallory = await joinAs('Mallory');
  await mallory.page.locator('av-room[state="error"]').waitFor({ timeout: 10_000 });
  assert.deepEqual(await mallory.page.evaluate(() => (window as any).__errors.map((e: any) => e.code)), ['auth-failed']);

  const ann = await joinAs('Ann');
  const bob = await joinAs('Bob');
  for (const p of [ann, bob]) {
    await waitFor(
      'data path p2p',
      () => p.page.evaluate(() => document.querySelector('av-room')!.peers[0]?.path),
      (x) => x === 'p2p',
      20_000,
    );
  }
  assert.equal(await ann.page.evaluate(() => document.querySelector('av-room')!.peers[0]!.identity), 'id-bob');
  assert.deepEqual(joins, ['Ann', 'Bob']);

  // Member to member, peer-to-peer: JSON to everyone, bytes to one.
  await ann.page.evaluate(() => {
    const s = document.querySelector('av-room')!.session!;
    s.send({ text: 'hi <b>all</b>', n: [1, 2] });
    s.send(new Uint8Array([0, 1, 254, 255]).buffer, { to: s.peers.keys().next().value });
  });
  const bobGot = await waitFor(
    'Bob receives',
    () => messages(bob),
    (m) => m.length >= 2,
  );
  const annId = await ann.page.evaluate(() => document.querySelector('av-room')!.session!.peerId);
  assert.deepEqual(bobGot, [
    { from: annId, via: 'p2p', data: { text: 'hi <b>all</b>', n: [1, 2] } },
    { from: annId, via: 'p2p', data: { bytes: [0, 1, 254, 255] } },
  ]);

  // Member to server application, and back.
  await bob.page.evaluate(() => {
    const s = document.querySelector('av-room')!.session!;
    s.send({ ask: 'time' }, { to: 'server' });
    s.send(new Uint8Array([9, 8, 7]), { to: 'server' });
  });
  await waitFor(
    'server receives',
    () => Promise.resolve(received.length),
    (n) => n >= 2,
  );
  assert.deepEqual(received, [
    { from: 'Bob', data: { ask: 'time' } },
    { from: 'Bob', data: [9, 8, 7] },
  ]);
  await waitFor(
    'echo from the server',
    () => messages(bob),
    (m) => m.some((x: any) => x.from === 'server'),
  );
  assert.deepEqual(
    (await messages(bob)).find((x: any) => x.from === 'server'),
    { from: 'server', via: 'server', data: { echo: { ask: 'time' } } },
  );

  assert.equal(await server.broadcast('sdk', new Uint8Array([42])), 2);
  for (const p of [ann, bob]) {
    const got = await waitFor(
      'broadcast bytes',
      () => messages(p),
      (m) => m.some((x: any) => x.data?.bytes?.[0] === 42),
    );
    assert.ok(got.some((x: any) => x.from === 'server'));
  }

  await bob.close();
  open.splice(open.indexOf(bob), 1);
  await waitFor(
    'onLeave',
    () => Promise.resolve(leaves.length),
    (n) => n >= 1,
  );
  assert.equal(leaves.length, 1);
  assert.match(leaves[0]!, /^Bob:(leave|disconnect)$/);
});
