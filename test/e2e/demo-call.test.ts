// Two <av-room> elements in two separate browser contexts join one room through the demo page.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { inboundByPeer, launchChromium, waitFor } from '../helpers/browser.js';
import { startServer, type RunningServer } from '../helpers/server.js';

let server: RunningServer;
let chromium: Awaited<ReturnType<typeof launchChromium>>;

before(async () => {
  server = await startServer();
  chromium = await launchChromium();
});
after(async () => {
  await chromium?.close();
  await server?.stop();
});

/** The one other member's inbound counters (getStats) and the remote video's width. */
async function inbound(page: Page) {
  const [row] = Object.values(await inboundByPeer(page));
  const videoWidth = await page.evaluate(
    () => document.querySelector('av-room')!.shadowRoot!.querySelector<HTMLVideoElement>('video.remote')?.videoWidth ?? 0,
  );
  return row && { ...row, videoWidth };
}

test('two browser contexts on the demo page see and hear each other', async () => {
  const contexts: BrowserContext[] = [];
  try {
    const pages: Page[] = [];
    for (const name of ['Ann', 'Bob']) {
      const context = await chromium.browser.newContext();
      contexts.push(context);
      const page = await context.newPage();
      const requests: string[] = [];
      page.on('request', (r) => requests.push(r.url()));
      await page.goto(`${server.url}/?room=e2e-demo&name=${name}`);
      pages.push(page);
      // The page uses nothing but the one script tag, served by our own server.
      assert.ok(
        requests.every((u) => u.startsWith(server.url)),
        `only our server is contacted: ${requests.join(', ')}`,
      );
    }
    for (const page of pages) {
      await page.locator('av-room[state="connected"]').waitFor({ timeout: 15_000 });
      const first = await waitFor(
        'remote video decoding',
        () => inbound(page),
        (s) => !!s && s.framesDecoded > 0 && s.videoWidth > 0,
      );
      await page.waitForTimeout(1500);
      const later = await inbound(page);
      assert.ok(later!.framesDecoded > first!.framesDecoded, `framesDecoded rises: ${first!.framesDecoded} → ${later!.framesDecoded}`);
      assert.ok(later!.audioPackets > first!.audioPackets, `audio packets rise: ${first!.audioPackets} → ${later!.audioPackets}`);
      assert.ok(later!.videoWidth > 0, `the remote video still shows a picture 1.5 s later (width ${later!.videoWidth})`);
    }
    const names = await pages[0]!.locator('av-room figure.remote figcaption').innerText();
    assert.match(names, /Bob/);
  } finally {
    for (const c of contexts) await c.close();
  }
});
