// The demo page (room, chat, files, recorder) on a 360x640 touch screen in a call, in Chromium and in Firefox ESR: no
// horizontal scrolling, and every control a finger can reach is at least 44 px in both directions, measured in the
// rendered page (shadow roots too), with the settings panel opened by a tap too; a chat message sent with a tap.
// Screenshots are kept for a look.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { enginePage, waitFor, type EnginePage, type Evaluator } from '../helpers/browser.js';
import { twoEngines } from '../helpers/e2e.js';

const ctx = twoEngines();
const { open } = ctx;
const shots = mkdtempSync(join(tmpdir(), 'av-mobile-'));

/** Controls smaller than 44x44 or sticking out of the screen, and the page's scroll and client widths. */
const measure = (page: Evaluator) =>
  page.evaluate(() => {
    const small: string[] = [];
    const walk = (root: Document | ShadowRoot) => {
      for (const el of root.querySelectorAll('*')) {
        if (el.shadowRoot) walk(el.shadowRoot);
        if (!el.matches('button, input, select, textarea, a[href], summary, [role=button]')) continue;
        // A checkbox's target is its label (a tap on the label toggles it).
        const target = el.matches('input[type=checkbox], input[type=radio]') ? (el.closest('label') ?? el) : el;
        const b = target.getBoundingClientRect();
        // Visually hidden inputs (the file picker behind its button) are not targets.
        if (b.width <= 1 || b.height <= 1 || getComputedStyle(el).visibility === 'hidden') continue;
        if (b.width < 44 || b.height < 44)
          small.push(
            `${el.tagName.toLowerCase()}[${el.getAttribute('part') ?? ''}] "${(el.textContent ?? '').trim().slice(0, 24)}" ${Math.round(b.width)}x${Math.round(b.height)}`,
          );
        if (b.right > document.documentElement.clientWidth + 1)
          small.push(`${el.tagName.toLowerCase()} sticks out (${Math.round(b.right)} px)`);
      }
    };
    walk(document);
    return { scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth, small };
  });

/** Whether the room's shadow root has an element matching `selector`. */
const inRoom = (page: Evaluator, selector: string) =>
  page.evaluate((selector) => !!document.querySelector('av-room')?.shadowRoot?.querySelector(selector), selector);

/** A tap (touch events) on an element in `host`'s shadow root, where it is on the screen. */
async function tap(page: EnginePage, host: string, selector: string) {
  const at = await page.evaluate(
    ({ host, selector }) => {
      const b = document.querySelector(host)!.shadowRoot!.querySelector(selector)!;
      b.scrollIntoView({ block: 'center' });
      const r = b.getBoundingClientRect();
      return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
    },
    { host, selector },
  );
  await page.raw.touchscreen.tap(at.x, at.y);
}

for (const engine of ['chromium', 'firefox'] as const) {
  test(`${engine}: the demo at 360x640 (touch) has no horizontal scroll and touch targets ≥ 44 px, in a call with settings open too`, async () => {
    const room = `mobile-${engine}`;
    open.push(await enginePage(ctx.browser('chromium'), `${ctx.server.url}/?room=${room}&name=Bob`));
    const page = await enginePage(ctx.browser(engine), `${ctx.server.url}/?room=${room}&name=Ann`, { width: 360, height: 640 });
    open.push(page);
    await waitFor(
      'a remote video and its quality badge',
      async () => (await inRoom(page, 'figure.remote video')) && (await inRoom(page, '[part~="quality"]')),
      (v) => v,
      30_000,
    );

    const inCall = await measure(page);
    assert.equal(inCall.scrollWidth, inCall.clientWidth, 'no horizontal scrolling');
    assert.deepEqual(inCall.small, [], 'every control at least 44x44 and inside the screen');
    await page.screenshot(join(shots, `${engine}-call.png`));

    // Chat works from the phone: a message typed and sent with a tap reaches Bob.
    await page.evaluate(() => {
      const input = document.querySelector('av-chat')!.shadowRoot!.querySelector('textarea')!;
      input.value = `hello from a ${innerWidth} px screen`;
      input.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await tap(page, 'av-chat', '[part~="send-button"]');
    await waitFor(
      'Bob gets the message',
      () => open[0]!.evaluate(() => document.querySelector('av-chat')!.messages.map((m) => m.text)),
      (t) => t.includes('hello from a 360 px screen'),
    );

    await tap(page, 'av-room', '[part~="settings-button"]');
    await waitFor(
      'the settings panel',
      () => inRoom(page, 'dialog[open] select'),
      (v) => v,
    );
    const settings = await measure(page);
    assert.equal(settings.scrollWidth, settings.clientWidth, 'no horizontal scrolling with the settings panel open');
    assert.deepEqual(settings.small, [], 'settings controls at least 44x44');
    await page.screenshot(join(shots, `${engine}-settings.png`));
    console.log(`screenshots: ${shots}/${engine}-{call,settings}.png`);
    await ctx.closeAll();
  });
}
