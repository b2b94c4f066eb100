// <av-chat> in real Chromium through a real server: bursts, history, private messages, hostile text, limits, relay.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { memberPage, waitFor, type MemberPage } from '../helpers/browser.js';
import { e2e } from '../helpers/e2e.js';

const ctx = e2e();
const { open } = ctx;

async function chatMember(room: string, name: string, extra: Record<string, string> = {}, context?: BrowserContext): Promise<MemberPage> {
  const p = await memberPage(
    ctx.chromium.browser,
    ctx.server.url,
    { room, name, audio: 'off', video: 'off', ...extra },
    {},
    '<av-chat></av-chat>',
    context,
  );
  if (!context) open.push(p);
  return p;
}

type Row = { id: string; name: string; text: string; own: boolean; status?: string; to?: string };
const rows = (page: Page): Promise<Row[]> =>
  page.evaluate(() =>
    document
      .querySelector('av-chat')!
      .messages.map((m) => ({ id: m.id, name: m.name, text: m.text, own: m.own, status: m.status, to: m.to })),
  );
const paths = (page: Page) => page.evaluate(() => document.querySelector('av-room')!.peers.map((p) => p.path));
const peerIdOf = (page: Page) => page.evaluate(() => document.querySelector('av-room')!.session!.peerId!);

test("3 members each send 200 messages in a burst: all 600 shown once everywhere, in each sender's order; reload and late joiner get history", async () => {
  const names = ['Ann', 'Bob', 'Cy'];
  const members: MemberPage[] = [];
  for (const n of names) members.push(await chatMember('burst', n));
  for (const m of members)
    await waitFor(
      'p2p data with both',
      () => paths(m.page),
      (p) => p.length === 2 && p.every((x) => x === 'p2p'),
      20_000,
    );

  await Promise.all(
    members.map((m, i) =>
      m.page.evaluate((name) => {
        const chat = document.querySelector('av-chat')!;
        for (let n = 0; n < 200; n++) chat.send(`${name} ${n}`);
      }, names[i]!),
    ),
  );

  for (const m of members) {
    const list = await waitFor(
      '600 messages',
      () => rows(m.page),
      (r) => r.length >= 600,
      30_000,
    );
    assert.equal(list.length, 600);
    assert.equal(new Set(list.map((r) => r.id)).size, 600, 'each shown exactly once');
    for (const name of names) {
      const texts = list.filter((r) => r.text.startsWith(`${name} `)).map((r) => Number(r.text.split(' ')[1]));
      assert.deepEqual(texts, [...Array(200).keys()], `${name}'s order kept`);
    }
    await waitFor(
      'own messages delivered',
      () => rows(m.page),
      (r) => r.filter((x) => x.own).every((x) => x.status === 'delivered'),
      20_000,
    );
  }

  // Reload Cy a second later: a new page in the same browser profile; its history comes back from IndexedDB.
  await new Promise((r) => setTimeout(r, 1000));
  const cy = members[2]!;
  const context = cy.context;
  await cy.page.close();
  const again = await chatMember('burst', 'Cy', {}, context);
  const restored = await waitFor(
    'history restored',
    () => rows(again.page),
    (r) => r.length >= 600,
    10_000,
  );
  assert.equal(new Set(restored.map((r) => r.id)).size, 600);
  assert.equal(restored.filter((r) => r.own).length, 200, 'own messages are still marked own');

  // A fourth member joining late gets the recent history from a member already present.
  const dee = await chatMember('burst', 'Dee');
  const late = await waitFor(
    'recent history',
    () => rows(dee.page),
    (r) => r.length >= 100,
    15_000,
  );
  assert.equal(late.length, 100);
  // The latest 100 in the shared order (sender clock), whoever answered: under load one sender's burst may end before
  // another's starts, so which names they hold depends on timing, but not which messages.
  const shared = (await rows(members[0]!.page)).slice(-100).map((r) => r.id);
  assert.deepEqual(
    late.map((r) => r.id),
    shared,
    'the latest 100 messages of the shared history, in order',
  );
  for (const p of open.splice(0)) await p.close();
});

test('a private message reaches only its addressee; hostile text and names render as text', async () => {
  const evil = '<img src=x onerror=alert(1)>';
  const ann = await chatMember('private', 'Ann');
  const bob = await chatMember('private', evil);
  const cy = await chatMember('private', '<script>alert(2)</script>');
  const dialogs: string[] = [];
  for (const p of [ann, bob, cy]) p.page.on('dialog', (d) => (dialogs.push(d.message()), void d.dismiss()));
  for (const m of [ann, bob, cy])
    await waitFor(
      'data with both',
      () => paths(m.page),
      (p) => p.length === 2 && p.every(Boolean),
      20_000,
    );

  const bobId = await peerIdOf(bob.page);
  await ann.page.evaluate((to) => document.querySelector('av-chat')!.send('for Bob only', { to }), bobId);
  await ann.page.evaluate(() =>
    document.querySelector('av-chat')!.send('<script>alert(3)</script> and <img src=x onerror=alert(4)> see https://example.test/a?b=1.'),
  );
  await waitFor(
    'Bob has both',
    () => rows(bob.page),
    (r) => r.length === 2,
  );
  await waitFor(
    'Cy has the public one',
    () => rows(cy.page),
    (r) => r.length === 1,
  );
  await new Promise((r) => setTimeout(r, 1000));
  assert.deepEqual(
    (await rows(cy.page)).map((r) => r.text),
    ['<script>alert(3)</script> and <img src=x onerror=alert(4)> see https://example.test/a?b=1.'],
  );
  assert.equal((await rows(bob.page)).find((r) => r.text === 'for Bob only')?.to, bobId);

  // Names and texts are text: no elements made from them, no script ran, links are safe.
  await ann.page.waitForTimeout(300);
  const dom = await ann.page.evaluate(() => {
    const chat = document.querySelector('av-chat')!.shadowRoot!;
    const list = chat.querySelector('[part="list"]')!;
    const link = list.querySelector('a')!;
    return {
      imgs: list.querySelectorAll('img, script').length,
      link: [link.getAttribute('href'), link.getAttribute('rel'), link.getAttribute('target')],
      options: [...chat.querySelectorAll('select option')].map((o) => o.textContent),
    };
  });
  assert.equal(dom.imgs, 0);
  assert.deepEqual(dom.link, ['https://example.test/a?b=1', 'noopener noreferrer', '_blank']);
  assert.ok(dom.options.includes(evil), 'a hostile name is shown as its text');
  const bobView = await bob.page.evaluate(
    () => document.querySelector('av-chat')!.shadowRoot!.querySelector('[part="list"]')!.querySelectorAll('img, script').length,
  );
  assert.equal(bobView, 0);
  assert.deepEqual(dialogs, [], 'nothing executed');
  for (const p of open.splice(0)) await p.close();
});

test('over-long input is refused with a message; an over-long message forged by a peer is dropped and logged', async () => {
  const ann = await chatMember('limits', 'Ann');
  const bob = await chatMember('limits', 'Bob');
  const warnings: string[] = [];
  bob.page.on('console', (m) => m.type() === 'warning' && warnings.push(m.text()));
  for (const m of [ann, bob])
    await waitFor(
      'data path',
      () => paths(m.page),
      (p) => p.length === 1 && !!p[0],
      20_000,
    );

  const input = ann.page.locator('av-chat textarea');
  await input.fill('x'.repeat(4001));
  await input.press('Enter');
  assert.match(await ann.page.locator('av-chat [part="notice"]').innerText(), /at most 4000/);
  assert.equal((await rows(ann.page)).length, 0);
  assert.equal(await input.inputValue(), 'x'.repeat(4001), 'the text is kept for editing');

  await input.fill('short and fine');
  await input.press('Enter');
  await waitFor(
    'Bob gets the fine one',
    () => rows(bob.page),
    (r) => r.length === 1,
  );

  const bobId = await peerIdOf(bob.page);
  await ann.page.evaluate((to) => {
    const session = document.querySelector('av-room')!.session!;
    session.send({ t: 'msg', id: 'forged000001', text: 'y'.repeat(5000), ts: Date.now(), seq: 99 }, { to, channel: 'chat' });
  }, bobId);
  await waitFor(
    'logged',
    () => Promise.resolve(warnings),
    (w) => w.some((x) => /dropped a chat message .*longer than 4000/.test(x)),
    5000,
  );
  assert.deepEqual(
    (await rows(bob.page)).map((r) => r.text),
    ['short and fine'],
  );
  for (const p of open.splice(0)) await p.close();
});

test('with the data channel unavailable, chat goes through the server relay', async () => {
  const ann = await chatMember('relay-chat', 'Ann', { 'ice-policy': 'relay' });
  const bob = await chatMember('relay-chat', 'Bob', { 'ice-policy': 'relay' });
  for (const m of [ann, bob])
    await waitFor(
      'path server',
      () => paths(m.page),
      (p) => p[0] === 'server',
      20_000,
    );
  await ann.page.evaluate(() => document.querySelector('av-chat')!.send('through the server'));
  await bob.page.evaluate(() => document.querySelector('av-chat')!.send('and back'));
  await waitFor(
    'Bob got it',
    () => rows(bob.page),
    (r) => r.some((x) => x.text === 'through the server'),
  );
  await waitFor(
    'Ann delivered',
    () => rows(ann.page),
    (r) => r.some((x) => x.text === 'through the server' && x.status === 'delivered') && r.some((x) => x.text === 'and back'),
  );
  for (const p of open.splice(0)) await p.close();
});
