// Screenshots of <av-room>'s pre-join view and settings panel for its README (components/av-room/images/), and of the
// demo's meeting page with two members, light and dark, for the top README (demo/images/), taken in Debian's Chromium
// with fake devices against a real server. Re-runnable. Run: npm run screenshots
import { statSync } from 'node:fs';
import { launchChromium } from '../test/helpers/chromium.mjs';
import { startServer } from '../test/helpers/server.ts';

const out = new URL('../components/av-room/images/', import.meta.url).pathname;
const demoOut = new URL('../demo/images/', import.meta.url).pathname;
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

  // The meeting page (demo/index.html) at 1280x800: Ann and Bob in a call, a few chat messages, a file offered to Ann.
  // Each scheme in fresh contexts: the page takes its theme from prefers-color-scheme.
  for (const scheme of ['light', 'dark']) {
    const contexts = [];
    try {
      const member = async (name) => {
        const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: scheme });
        contexts.push(context);
        const p = await context.newPage();
        await p.goto(`${server.url}/?room=shots-meeting-${scheme}&name=${name}`);
        return p;
      };
      const ann = await member('Ann');
      const bob = await member('Bob');
      for (const p of [ann, bob]) await p.locator('av-room figure.remote video').waitFor({ timeout: 20_000 });
      const say = (p, text) => p.evaluate((t) => document.querySelector('av-chat').send(t), text);
      await say(bob, 'Hi Ann! Can you see my screen?');
      await ann.waitForTimeout(300);
      await say(ann, 'Yes, loud and clear. Starting the recording.');
      await ann.waitForTimeout(300);
      await say(bob, 'Sending you the agenda now.');
      await bob.evaluate(() => {
        const agenda = new File(['# Agenda\n\n1. Demo\n2. Questions\n'.repeat(400)], 'agenda.md', { type: 'text/markdown' });
        document.querySelector('av-file').send([agenda]);
      });
      await ann.locator('av-file [part~="accept-button"]').waitFor({ timeout: 10_000 });
      await ann.waitForTimeout(2000);
      const path = `${demoOut}meeting-${scheme}.png`;
      await ann.screenshot({ path });
      console.log(`wrote ${path} (${Math.round(statSync(path).size / 1024)} KiB)`);
    } finally {
      for (const c of contexts) await c.close();
    }
  }
} finally {
  await close();
  await server.stop();
}
