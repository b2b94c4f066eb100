// The demo page (room, chat, files, recorder) on a 360x640 touch screen in a call: no horizontal scrolling, and every
// control a finger can reach is at least 44 px in both directions, measured in the rendered page (shadow roots too).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { e2e } from '../helpers/e2e.js';

const ctx = e2e();

test('the demo at 360x640 (touch): no horizontal scroll, touch targets ≥ 44 px, in a call with settings open too', async () => {
  const mobile = await ctx.chromium.browser.newContext({ viewport: { width: 360, height: 640 }, isMobile: true, hasTouch: true });
  const desk = await ctx.chromium.browser.newContext();
  ctx.open.push({ page: await desk.newPage(), context: desk, close: () => desk.close() });
  const page = await mobile.newPage();
  ctx.open.push({ page, context: mobile, close: () => mobile.close() });
  await ctx.open[0]!.page.goto(`${ctx.server.url}/?room=mobile&name=Bob`);
  await page.goto(`${ctx.server.url}/?room=mobile&name=Ann`);
  // tsx names inner functions with a helper the page does not have.
  await page.evaluate('window.__name = (f) => f');
  await page.locator('av-room figure.remote video').waitFor({ timeout: 20_000 });
  await page.locator('av-room [part~="quality"]').waitFor({ timeout: 20_000 });

  const measure = () =>
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
            small.push(`${el.tagName.toLowerCase()}[${el.getAttribute('part') ?? ''}] ${Math.round(b.width)}x${Math.round(b.height)}`);
          if (b.right > document.documentElement.clientWidth + 1)
            small.push(`${el.tagName.toLowerCase()} sticks out (${Math.round(b.right)} px)`);
        }
      };
      walk(document);
      return { scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth, small };
    });
  const inCall = await measure();
  assert.equal(inCall.scrollWidth, inCall.clientWidth, 'no horizontal scrolling');
  assert.deepEqual(inCall.small, [], 'every control at least 44x44 and inside the screen');

  await page.locator('av-room [part~="settings-button"]').tap();
  await page.locator('av-room dialog[open] select').first().waitFor();
  const settings = await measure();
  assert.equal(settings.scrollWidth, settings.clientWidth, 'no horizontal scrolling with the settings panel open');
  assert.deepEqual(settings.small, [], 'settings controls at least 44x44');
  const dir = mkdtempSync(join(tmpdir(), 'av-mobile-'));
  await page.screenshot({ path: join(dir, 'mobile-settings.png'), fullPage: true });
  console.log(`screenshot: ${join(dir, 'mobile-settings.png')}`);
  await ctx.closeAll();
});
