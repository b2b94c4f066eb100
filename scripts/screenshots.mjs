// Screenshots of <av-room>'s pre-join view and settings panel for its README (components/av-room/images/), taken in
// Debian's Chromium with fake devices against a real server. Run: node --import tsx scripts/screenshots.mjs
import { launchChromium } from '../test/helpers/chromium.mjs';
import { startServer } from '../test/helpers/server.ts';

const out = new URL('../components/av-room/images/', import.meta.url).pathname;
const server = await startServer();
const { browser, close } = await launchChromium();
try {
  const page = async (attrs) => {
    const p = await browser.newPage({ viewport: { width: 760, height: 640 } });
    await p.goto(`${server.url}/healthz`);
    await p.setContent(
      `<!doctype html><meta charset="utf-8"><body style="margin:16px;font-family:system-ui"><script type="module" src="${server.url}/av-elements.js"></script>`,
    );
    await p.evaluate(async (a) => {
      await customElements.whenDefined('av-room');
      const el = document.createElement('av-room');
      for (const [k, v] of Object.entries(a)) el.setAttribute(k, v);
      document.body.append(el);
    }, attrs);
    return p;
  };
  const pre = await page({ room: 'shots-pre', name: 'Ann', prejoin: '' });
  await pre.locator('av-room meter').waitFor();
  await pre.waitForTimeout(1500);
  await pre.locator('av-room').screenshot({ path: `${out}prejoin.png` });
  const ann = await page({ room: 'shots', name: 'Ann' });
  await page({ room: 'shots', name: 'Bob' });
  await ann.locator('av-room figure.remote video').waitFor();
  await ann.waitForTimeout(2500);
  await ann.locator('av-room [part~="settings-button"]').click();
  await ann.locator('av-room dialog[open] select').first().waitFor();
  await ann.waitForTimeout(500);
  await ann.screenshot({ path: `${out}settings.png` });
  console.log(`wrote ${out}prejoin.png and ${out}settings.png`);
} finally {
  await close();
  await server.stop();
}
