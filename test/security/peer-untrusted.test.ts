// Peers are untrusted in the page too: a malicious member drives its own RoomSession and sends raw chat and file
// frames (forged history, floods) to a victim in real Chromium through a real av-server.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { memberPage, waitFor, type MemberPage } from '../helpers/browser.js';
import { e2e } from '../helpers/e2e.js';

const ctx = e2e();
const { open } = ctx;

async function member(room: string, name: string, children = ''): Promise<MemberPage> {
  const p = await memberPage(ctx.chromium.browser, ctx.server.url, { room, name, audio: 'off', video: 'off' }, {}, children);
  open.push(p);
  return p;
}

const peerIdOf = (page: Page) =>
  waitFor('joined', () => page.evaluate(() => document.querySelector('av-room')!.session?.peerId ?? ''), Boolean);
const dataWith = (p: MemberPage, n: number) =>
  waitFor(
    'data path with everyone',
    () => p.page.evaluate(() => document.querySelector('av-room')!.peers.map((x) => x.path)),
    (x) => x.length === n && x.every(Boolean),
    20_000,
  );

/** Records the page's long tasks (from now on) in `window.__longest` / `window.__longtasks`. */
const watchLongTasks = (page: Page) =>
  page.evaluate(() => {
    const w = window as any;
    w.__longest = 0;
    w.__longtasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        w.__longest = Math.max(w.__longest, e.duration);
        w.__longtasks.push(Math.round(e.duration));
      }
    }).observe({ type: 'longtask' });
  });
const longTasks = (page: Page) =>
  page.evaluate(() => ({ longest: Math.round((window as any).__longest), count: (window as any).__longtasks.length as number }));

/** A victim page holding `children` and a malicious member (Mallory) beside it, data flowing; the victim's long tasks watched from now on. */
async function victimAndMallory(room: string, children: string) {
  const victim = await member(room, 'Victim', children);
  const mallory = await member(room, 'Mallory');
  for (const p of [victim, mallory]) await dataWith(p, 1);
  const victimId = await peerIdOf(victim.page);
  await watchLongTasks(victim.page);
  return { victim, mallory, victimId };
}

/** Sends `count` chat messages or file offers (`kind`) to `to`, in batches of 10 every 10 ms (1,000 in about a second). */
const flood = (page: Page, to: string, kind: 'chat' | 'offer', count = 1000) =>
  page.evaluate(
    async ({ to, count, kind }) => {
      const session = document.querySelector('av-room')!.session!;
      const channel = kind === 'chat' ? 'chat' : 'file';
      // Texts of ~3,900 characters with 70 links: what an attacker would send to make each message cost the most to show.
      const filler = 'see https://example.test/a/very/long/path?query=1 and '.repeat(70);
      const t0 = performance.now();
      for (let n = 0; n < count; n++) {
        // (No named helper functions in here: tsx would wrap them in a __name() the page does not have.)
        const frame =
          kind === 'chat'
            ? { t: 'msg', id: `flood${String(n).padStart(8, '0')}`, text: `flood message ${n} ${filler}`, ts: Date.now(), seq: n + 1 }
            : {
                t: 'offer',
                id: `flood${String(n).padStart(12, '0')}`,
                name: `flood-${n}.bin`,
                size: 1000,
                type: 'application/octet-stream',
                dc: 256 + 2 * (n % 300),
              };
        session.send(frame, { to, channel });
        if (n % 10 === 9) await new Promise((r) => setTimeout(r, Math.max(0, t0 + (n + 1) - performance.now())));
      }
      return Math.round(performance.now() - t0);
    },
    { to, count, kind },
  );

test('chat history is taken only from the member asked, and never shows a name a peer wrote into it', async () => {
  const mallory = await member('forged', 'Mallory');
  const malloryId = await peerIdOf(mallory.page);
  // Mallory notes every history request and answers only when told.
  await mallory.page.evaluate(() => {
    const w = window as any;
    w.asked = [];
    document.querySelector('av-room')!.session!.on('message', ({ from, data, channel }) => {
      if (channel === 'chat' && (data as { t?: string })?.t === 'hist-req') w.asked.push(from);
    });
  });
  // Dee is there when the victim arrives, and leaves before the history does.
  const dee = await member('forged', 'Dee');
  const deeId = await peerIdOf(dee.page);
  const victim = await member('forged', 'Victim', '<av-chat></av-chat>');
  const warnings: string[] = [];
  victim.page.on('console', (m) => m.type() === 'warning' && warnings.push(m.text()));
  const victimId = await peerIdOf(victim.page);
  await waitFor(
    'the victim asks Mallory for history',
    () => mallory.page.evaluate(() => (window as any).asked as string[]),
    (a) => a.includes(victimId),
  );

  // Cy (honest) and Eve (another attacker) arrive while the victim's request is open.
  const cy = await member('forged', 'Cy', '<av-chat></av-chat>');
  const cyId = await peerIdOf(cy.page);
  const eve = await member('forged', 'Eve');
  await dataWith(victim, 4);
  open.splice(open.indexOf(dee), 1);
  await dee.close();
  await dataWith(victim, 3);
  for (const p of [mallory, eve]) await dataWith(p, 3);

  const ts = Date.now() - 60_000;
  const entry = (id: string, from: string, name: string, text: string, i: number) => ({ id, from, name, text, ts: ts + i, seq: i + 1 });
  const send = (p: MemberPage, frame: unknown) =>
    p.page.evaluate(({ frame, to }) => document.querySelector('av-room')!.session!.send(frame, { to, channel: 'chat' }), {
      frame,
      to: victimId,
    });

  // Eve was not asked: her history must be ignored even while the victim waits for Mallory's.
  await send(eve, { t: 'hist', msgs: [entry('eveunasked01', 'x', 'Eve', 'UNASKED-FROM-EVE', 0)] });
  await send(eve, { t: 'hist', msgs: [{ ...entry('eveunasked02', '', 'Cy', 'UNASKED-FROM-EVE-AS-CY', 1), from: cyId }] });
  // Mallory's answer: one entry of her own, one of Dee's (gone, but the victim knew her), and forgeries attributed to
  // Cy, to Dee under another name, to the server, to an unknown id and to the victim.
  await send(mallory, {
    t: 'hist',
    end: true,
    msgs: [
      entry('mallory00001', malloryId, 'Mallory', 'MALLORY-OWN', 0),
      entry('forgedcy0001', cyId, 'Evil Cy', 'FORGED-AS-CY-WRONG-NAME', 1),
      entry('forgedcy0002', cyId, 'System Administrator', 'FORGED-AS-CY-ADMIN', 2),
      entry('forgedsrv001', 'server', 'System Administrator', 'FORGED-AS-SERVER', 3),
      entry('forgedunk001', 'unknownpeer00001', 'Cy', 'FORGED-UNKNOWN-ID-AS-CY', 4),
      entry('forgedself01', victimId, 'Victim', 'FORGED-AS-VICTIM', 5),
      entry('deesaid00001', deeId, 'Dee', 'DEE-SAID-THIS', 6),
      entry('forgeddee001', deeId, 'System Administrator', 'FORGED-AS-DEE-ADMIN', 7),
    ],
  });
  // After the answer ended: unasked again.
  await send(mallory, { t: 'hist', msgs: [entry('malunasked01', malloryId, 'Mallory', 'UNASKED-AFTER-END', 9)] });

  type Item = { name: string; text: string; unverified: boolean; badges: string };
  const view = () =>
    victim.page.evaluate(() => {
      const chat = document.querySelector('av-chat')!;
      const root = chat.shadowRoot!;
      const items = [...root.querySelectorAll('[part~="message"]')].map((li) => ({
        name: li.querySelector('[part~="name"]')!.textContent.trim(),
        text: li.querySelector('[part~="text"]')!.textContent.trim(),
        unverified: !!li.querySelector('[part~="unverified"]'),
        badges: [...li.querySelectorAll('[part~="unverified"], [part~="former"]')]
          .map((b) => `${b.textContent} ${b.getAttribute('title') ?? ''}`)
          .join(' '),
      }));
      return {
        items,
        list: root.querySelector('[part="list"]')!.textContent,
        model: chat.messages.map((m) => ({ from: m.from, text: m.text })),
      };
    });
  await waitFor('the answer is shown', view, (v) => v.items.length >= 8, 10_000);
  await new Promise((r) => setTimeout(r, 1500));
  const { items, list, model } = await view();
  console.log('victim sees:', items.map((i) => `${i.name}${i.unverified ? ' [not verified]' : ''}: ${i.text}`).join(' | '));

  const byText = new Map<string, Item>(items.map((i) => [i.text, i]));
  assert.deepEqual(
    items.map((i) => i.text).filter((t) => t.startsWith('UNASKED')),
    [],
    'unasked history is dropped',
  );
  assert.ok(
    warnings.some((w) => /history nobody asked for/.test(w)),
    'the dropped history is logged',
  );
  assert.deepEqual({ ...byText.get('MALLORY-OWN')!, badges: '' }, { name: 'Mallory', text: 'MALLORY-OWN', unverified: false, badges: '' });
  assert.deepEqual(
    byText.get('DEE-SAID-THIS'),
    { name: 'Dee', text: 'DEE-SAID-THIS', unverified: false, badges: '(left) ' },
    'a member who left keeps the name we knew, marked',
  );
  for (const text of [
    'FORGED-AS-CY-WRONG-NAME',
    'FORGED-AS-CY-ADMIN',
    'FORGED-AS-SERVER',
    'FORGED-UNKNOWN-ID-AS-CY',
    'FORGED-AS-VICTIM',
    'FORGED-AS-DEE-ADMIN',
  ]) {
    const item = byText.get(text);
    assert.ok(item, `${text} is shown`);
    assert.equal(item.name, 'Mallory', `${text} is shown under whoever shared it`);
    assert.equal(item.unverified, true, `${text} is marked as not verified`);
    assert.match(item.badges, /not verified/);
    assert.equal(model.find((m) => m.text === text)!.from, malloryId, `${text} is attributed to Mallory, who shared it`);
  }
  for (const forged of ['System Administrator', 'Evil Cy', 'server'])
    assert.ok(!list.includes(forged), `"${forged}" appears nowhere in the chat`);
  assert.ok(!items.some((i) => i.name === 'Cy' || i.name === 'You'), "nothing is shown under Cy's name or as our own");
  await Promise.all(open.splice(0).map((p) => p.close()));
});

test('1,000 file offers in a second from one member: at most the cap is listed, the rest declined with a reason (longest task printed)', async () => {
  const { victim, mallory, victimId } = await victimAndMallory('offers', '<av-file></av-file>');
  await mallory.page.evaluate(() => {
    const w = window as any;
    w.declines = [];
    document.querySelector('av-room')!.session!.on('message', ({ data, channel }) => {
      if (channel === 'file' && (data as { t?: string })?.t === 'decline') w.declines.push((data as { reason: string }).reason);
    });
  });
  const ms = await flood(mallory.page, victimId, 'offer');
  const declines = await waitFor(
    'declines come back',
    () => mallory.page.evaluate(() => (window as any).declines as string[]),
    (d) => d.length > 0,
    10_000,
  );
  await new Promise((r) => setTimeout(r, 1500));
  const listed = await victim.page.evaluate(() => {
    const el = document.querySelector('av-file')!;
    return {
      model: el.transfers.length,
      dom: el.shadowRoot!.querySelectorAll('[part~="transfer"]').length,
      offered: el.transfers.filter((t) => t.state === 'offered').length,
    };
  });
  const all = await mallory.page.evaluate(() => (window as any).declines as string[]);
  const { longest, count } = await longTasks(victim.page);
  console.log(
    `offers: 1000 sent in ${ms} ms; victim lists ${listed.dom} (${listed.offered} offered); ${all.length} declines back ("${declines[0]}"); victim's longest task ${longest} ms (${count} over 50 ms)`,
  );
  assert.equal(listed.model, 8, 'the cap (8 pending offers per member) is listed');
  assert.equal(listed.dom, 8);
  assert.equal(listed.offered, 8);
  assert.ok(
    all.every((r) => /too many/.test(r)),
    'every decline says why',
  );
  // Timing is the bench's (bench/chat-flood.mjs): a loaded machine swings it 3x.
  await Promise.all(open.splice(0).map((p) => p.close()));
});

test('an honest sender with more files than the cap offers them in turn; a lower cap declines the rest and the sender sees why', async () => {
  const ann = await member('offers-honest', 'Ann', '<av-file></av-file>');
  const bob = await member('offers-honest', 'Bob', '<av-file auto-accept></av-file>');
  const cy = await member('offers-honest', 'Cy', '<av-file max-pending-offers="2"></av-file>');
  for (const p of [ann, bob, cy]) await dataWith(p, 2);
  const [bobId, cyId] = [await peerIdOf(bob.page), await peerIdOf(cy.page)];
  const sendFiles = (count: number, to: string) =>
    ann.page.evaluate(
      ({ count, to }) => {
        const files = Array.from({ length: count }, (_, i) => new File([`file ${i}`], `f${i}.txt`, { type: 'text/plain' }));
        document.querySelector('av-file')!.send(files, { to });
      },
      { count, to },
    );
  const states = (p: MemberPage) => p.page.evaluate(() => document.querySelector('av-file')!.transfers.map((t) => t.state));
  await bob.page.evaluate(() => {
    const el = document.querySelector('av-file')!;
    (window as any).mostListed = 0;
    el.addEventListener(
      'av-file-offer',
      () => ((window as any).mostListed = Math.max((window as any).mostListed, el.transfers.filter((t) => t.state !== 'done').length)),
    );
  });
  await sendFiles(12, bobId);
  await waitFor(
    'all 12 verified',
    () => states(ann),
    (s) => s.length === 12 && s.every((x) => x === 'done'),
    30_000,
  );
  assert.equal((await states(bob)).length, 12, 'none declined');
  assert.ok((await bob.page.evaluate(() => (window as any).mostListed)) <= 8, 'Bob never had more than 8 unfinished offers from Ann');

  // Cy takes at most 2 unfinished offers from one member; Ann offers 3 (her own limit is 8).
  await sendFiles(3, cyId);
  await waitFor(
    'Cy lists two offers',
    () => states(cy),
    (s) => s.length === 2 && s.every((x) => x === 'offered'),
    10_000,
  );
  const shown = await waitFor(
    'the sender sees the reason',
    () =>
      ann.page.evaluate(() =>
        [...document.querySelector('av-file')!.shadowRoot!.querySelectorAll('[part~="transfer"][data-state="declined"] .error')].map(
          (e) => e.textContent,
        ),
      ),
    (e) => e.length === 1,
    10_000,
  );
  assert.match(shown[0]!, /too many files offered at once/);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await states(cy)).length, 2, "the declined one is not listed on Cy's side");
  await Promise.all(open.splice(0).map((p) => p.close()));
});

test('1,000 chat messages in a second from one member: all kept, the newest shown, the DOM holds at most max-shown (longest task printed; bench/chat-flood.mjs measures it)', async () => {
  const { victim, mallory, victimId } = await victimAndMallory('flood', '<av-chat></av-chat>');
  const cap = await victim.page.evaluate(() => document.querySelector('av-chat')!.maxShown);
  await victim.page.evaluate(() => {
    const w = window as any;
    const root = document.querySelector('av-chat')!.shadowRoot!;
    w.__maxShown = 0;
    w.__renders = 0;
    new MutationObserver(() => {
      w.__renders++;
      w.__maxShown = Math.max(w.__maxShown, root.querySelectorAll('[part~="message"]').length);
    }).observe(root, { childList: true, subtree: true });
  });
  const ms = await flood(mallory.page, victimId, 'chat');
  await waitFor(
    'all arrived',
    () => victim.page.evaluate(() => document.querySelector('av-chat')!.messages.at(-1)?.text),
    (t) => t?.startsWith('flood message 999 ') ?? false,
    20_000,
  );
  await new Promise((r) => setTimeout(r, 1000));
  const after = await victim.page.evaluate(() => {
    const el = document.querySelector('av-chat')!;
    const shown = el.shadowRoot!.querySelectorAll('[part~="message"]');
    return {
      kept: el.messages.length,
      shown: shown.length,
      last: shown[shown.length - 1]?.querySelector('[part~="text"]')?.textContent,
      maxShown: (window as any).__maxShown as number,
      renders: (window as any).__renders as number,
      heapMiB: Math.round(((performance as any).memory?.usedJSHeapSize ?? 0) / 2 ** 20),
    };
  });
  const { longest, count } = await longTasks(victim.page);
  console.log(
    `chat flood: 1000 sent in ${ms} ms; victim kept ${after.kept}, DOM max ${after.maxShown} (cap ${cap}) in ${after.renders} DOM batches; longest task ${longest} ms (${count} over 50 ms); JS heap ${after.heapMiB} MiB`,
  );
  assert.equal(after.kept, 1000);
  assert.ok(after.last?.startsWith('flood message 999 '), 'the newest message is shown');
  assert.ok(after.maxShown <= cap, `at most ${cap} messages in the DOM (saw ${after.maxShown})`);
  // Timing is the bench's (bench/chat-flood.mjs, against a bare data channel page): a loaded machine swings it 3x.
  await Promise.all(open.splice(0).map((p) => p.close()));
});

test("a peer's clock does not place its messages: one dated a year ahead does not stay below later ones", async () => {
  const { victim, mallory, victimId } = await victimAndMallory('clock', '<av-chat></av-chat>');
  await mallory.page.evaluate(
    ({ to }) => {
      const session = document.querySelector('av-room')!.session!;
      const year = 365 * 24 * 3600 * 1000;
      session.send({ t: 'msg', id: 'future00000001', text: 'from the future', ts: Date.now() + year, seq: 1 }, { to, channel: 'chat' });
      session.send({ t: 'msg', id: 'past0000000001', text: 'from the past', ts: Date.now() - year, seq: 2 }, { to, channel: 'chat' });
    },
    { to: victimId },
  );
  await waitFor(
    'both arrived',
    () => victim.page.evaluate(() => document.querySelector('av-chat')!.messages.length),
    (n) => n === 2,
    10_000,
  );
  await new Promise((r) => setTimeout(r, 6000));
  await victim.page.evaluate(() => document.querySelector('av-chat')!.send('later, from the victim'));
  const texts = await victim.page.evaluate(() => document.querySelector('av-chat')!.messages.map((m) => m.text));
  const times = await victim.page.evaluate(() => document.querySelector('av-chat')!.messages.map((m) => `${m.text}@${m.ts - Date.now()}`));
  assert.equal(texts.at(-1), 'later, from the victim', `a later message is last: ${times.join(' | ')}`);
  assert.ok(texts.indexOf('from the past') >= 0, 'the one dated a year back is kept');
  await waitFor(
    'the later message is the last one shown',
    () =>
      victim.page.evaluate(
        () => [...document.querySelector('av-chat')!.shadowRoot!.querySelectorAll('[part~="message"] [part~="text"]')].at(-1)?.textContent,
      ),
    (t) => t === 'later, from the victim',
    5000,
  );
  await Promise.all(open.splice(0).map((p) => p.close()));
});
