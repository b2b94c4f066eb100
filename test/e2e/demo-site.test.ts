// The demo site served by av-server at /: every page loads under its CSP with no console error, no failed or outside
// request, passes axe-core in light and dark, fits a 360 px phone; the meeting page puts a room in the URL and joins
// it, copies the invite link, and remembers the theme; the theming page's controls change the suite tokens; the
// broadcast page adds viewers and draws the forwarding tree the presenter is told.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { launchChromium, waitFor } from '../helpers/browser.js';
import { startServer, type RunningServer } from '../helpers/server.js';

const PAGES = ['/', '/room.html', '/broadcast.html', '/chat.html', '/files.html', '/recorder.html', '/theming.html'];
const AXE = readFileSync(new URL(import.meta.resolve('axe-core/axe.min.js')), 'utf8');

let server: RunningServer;
let chromium: Awaited<ReturnType<typeof launchChromium>>;
let browser: Browser;

before(async () => {
  server = await startServer();
  chromium = await launchChromium();
  browser = chromium.browser;
});
after(async () => {
  await chromium?.close();
  await server?.stop();
});

/** A fresh context (own storage) that records every av-room-join detail, with the URL at that moment. */
async function newContext(options: BrowserContextOptions = {}): Promise<BrowserContext> {
  const context = await browser.newContext(options);
  await context.addInitScript(() => {
    const joins: unknown[] = ((window as any).__joins = []);
    addEventListener('av-room-join', (e) => joins.push({ ...(e as CustomEvent).detail, href: location.href }));
  });
  return context;
}

interface Opened {
  page: Page;
  /** Console errors, page errors, failed requests, HTTP errors and requests to anywhere but our server. */
  problems: string[];
}

/** Opens `path` and watches what goes wrong; resolves once the page has loaded and its elements are defined. */
async function open(context: BrowserContext, path: string): Promise<Opened> {
  const page = await context.newPage();
  const problems: string[] = [];
  const origin = new URL(server.url).origin;
  page.on('console', (m) => m.type() === 'error' && problems.push(`console error: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  // Aborted is what a reload does to requests in flight (the icon); a blocked or unreachable request fails otherwise.
  page.on(
    'requestfailed',
    (r) => r.failure()?.errorText !== 'net::ERR_ABORTED' && problems.push(`failed: ${r.url()} ${r.failure()?.errorText}`),
  );
  page.on('response', (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()}: ${r.url()}`));
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.protocol !== 'blob:' && url.protocol !== 'data:' && url.origin !== origin) problems.push(`outside request: ${r.url()}`);
  });
  const response = await page.goto(`${server.url}${path}`);
  assert.equal(response?.status(), 200, `${path} answers 200`);
  await page.evaluate(() => Promise.all(['av-room', 'av-chat', 'av-file', 'av-recorder'].map((t) => customElements.whenDefined(t))));
  return { page, problems };
}

/** Waits until every element with a room on the page is connected (the room, or the standalone chat or files). */
async function connected(page: Page): Promise<void> {
  await waitFor(
    'the page joined its room',
    () =>
      page.evaluate(() => {
        const room = document.querySelector('av-room');
        if (room) return room.getAttribute('state');
        const standalone = document.querySelector<HTMLElement & { session?: { state: string } }>('av-chat[room], av-file[room]');
        return standalone?.session?.state ?? 'none';
      }),
    (s) => s === 'connected',
    15_000,
  );
}

/**
 * axe-core's violations on the page, shadow roots included, and the rules it checked. Evaluated from DevTools: the
 * page's CSP allows no injected script tag.
 */
async function axe(page: Page): Promise<{ violations: string[]; passed: string[] }> {
  await page.evaluate(AXE);
  return page.evaluate(async () => {
    const result = await (window as any).axe.run(document);
    return {
      violations: result.violations.map(
        (v: any) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n: any) => JSON.stringify(n.target)).join(', ')}`,
      ),
      passed: result.passes.map((p: any) => p.id),
    };
  });
}

for (const scheme of ['light', 'dark'] as const) {
  // Light on a desktop, dark on a phone: every page is seen both ways and at 360 px.
  const viewport = scheme === 'light' ? { width: 1280, height: 800 } : { width: 360, height: 640 };
  test(`every page, ${scheme} theme at ${viewport.width} px: 200, no errors, only our server, nav, axe, no sideways scroll`, async () => {
    const context = await newContext({ colorScheme: scheme, viewport, ...(scheme === 'dark' ? { isMobile: true, hasTouch: true } : {}) });
    try {
      for (const path of PAGES) {
        const { page, problems } = await open(context, path);
        await connected(page);
        const facts = await page.evaluate(() => ({
          colorScheme: getComputedStyle(document.documentElement).colorScheme,
          themes: [...document.querySelectorAll('av-room, av-chat, av-file, av-recorder')].map((el) => el.getAttribute('theme')),
          current: [...document.querySelectorAll('.site-nav a[aria-current="page"]')].map(
            (a) => new URL((a as HTMLAnchorElement).href).pathname,
          ),
          navLinks: document.querySelectorAll('.site-nav a').length,
          hasMain: !!document.querySelector('main#main') && !!document.querySelector('a.skip-link[href="#main"]'),
          lang: document.documentElement.lang,
          scrollWidth: document.documentElement.scrollWidth,
        }));
        assert.equal(facts.colorScheme, scheme, `${path}: color-scheme follows prefers-color-scheme`);
        assert.ok(
          facts.themes.length > 0 && facts.themes.every((t) => t === scheme),
          `${path}: theme="${scheme}" on every element: ${facts.themes.join()}`,
        );
        assert.equal(facts.navLinks, PAGES.length, `${path}: a nav link per page`);
        assert.deepEqual(facts.current, [path], `${path}: its own nav link is aria-current`);
        assert.ok(facts.hasMain, `${path}: a main landmark and a skip link to it`);
        assert.equal(facts.lang, 'en');
        if (viewport.width === 360)
          assert.ok(facts.scrollWidth <= 360, `${path}: no horizontal scrolling at 360 px (${facts.scrollWidth})`);
        const { violations, passed } = await axe(page);
        assert.deepEqual(violations, [], `${path} (${scheme}): axe-core violations`);
        // It did look: contrast, names of controls, the nav's landmark.
        for (const rule of ['color-contrast', 'button-name', 'landmark-one-main', 'html-has-lang'])
          assert.ok(passed.includes(rule), `${path}: axe checked ${rule} (passed: ${passed.join(' ')})`);
        assert.deepEqual(problems, [], `${path}: nothing went wrong`);
        await page.close();
      }
    } finally {
      await context.close();
    }
  });
}

test('axe-core as run here finds what is wrong, in shadow roots too', async () => {
  const context = await newContext();
  try {
    const { page } = await open(context, '/chat.html');
    await page.evaluate(() => {
      const host = document.createElement('div');
      host.attachShadow({ mode: 'open' }).innerHTML = '<button></button>';
      const faint = document.createElement('p');
      faint.textContent = 'faint';
      faint.style.setProperty('color', '#cccccc');
      document.querySelector('main')!.append(host, faint);
    });
    const ids = (await axe(page)).violations.map((v) => v.split(' ')[0]);
    assert.ok(ids.includes('button-name') && ids.includes('color-contrast'), `violations found: ${ids.join(', ')}`);
  } finally {
    await context.close();
  }
});

test('the meeting page without ?room= puts a readable room in the URL before joining, and joins that room', async () => {
  const context = await newContext();
  try {
    const { page, problems } = await open(context, '/');
    const room = new URL(page.url()).searchParams.get('room');
    assert.match(room ?? '', /^[a-z]+-[a-z]+-\d{2}$/, `a readable room name in the URL: ${page.url()}`);
    const [join] = await waitFor(
      'av-room-join',
      () => page.evaluate(() => (window as any).__joins as { room: string; href: string }[]),
      (j) => j.length > 0,
    );
    assert.equal(join!.room, room, 'the element joined the room in the URL');
    assert.equal(new URL(join!.href).searchParams.get('room'), room, 'the URL held the room when the call started');
    assert.equal(await page.locator('av-room').getAttribute('room'), room);
    assert.equal(await page.locator('#room-label').innerText(), room);
    assert.equal(await page.title(), `${room} · Meeting · av-elements`);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('Copy invite link copies the room URL without the name and says so; refused, it selects the link', async () => {
  const context = await newContext();
  try {
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    const { page } = await open(context, '/?room=invite-test&name=Zed');
    await page.getByRole('button', { name: 'Copy invite link' }).click();
    await page.locator('#invite-status', { hasText: 'Link copied' }).waitFor({ timeout: 5000 });
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), `${server.url}/?room=invite-test`);

    // The code blocks' Copy buttons copy the code as text (unescaped).
    const room = await open(context, '/room.html?room=invite-test');
    await room.page.getByRole('button', { name: 'Copy code' }).click();
    await waitFor(
      'code copied',
      () => room.page.evaluate(() => navigator.clipboard.readText()),
      (t) => t.startsWith('<script type="module" src="https://your-server.example/av-elements.js"></script>'),
      5000,
    );

    // A browser that refuses: the read-only field is focused with the whole link selected.
    await page.evaluate(() => (navigator.clipboard.writeText = () => Promise.reject(new DOMException('refused', 'NotAllowedError'))));
    await page.getByRole('button', { name: 'Copy invite link' }).click();
    await page.locator('#invite-status', { hasText: 'selected' }).waitFor({ timeout: 5000 });
    const selection = await page.evaluate(() => {
      const field = document.activeElement as HTMLInputElement;
      return { id: field.id, selected: field.value.slice(field.selectionStart!, field.selectionEnd!) };
    });
    assert.deepEqual(selection, { id: 'invite-url', selected: `${server.url}/?room=invite-test` });
  } finally {
    await context.close();
  }
});

test('the theme toggle switches to dark (color-scheme, theme="dark", aria-pressed) and is remembered', async () => {
  const context = await newContext({ colorScheme: 'light' });
  try {
    const { page, problems } = await open(context, '/?room=theme-test');
    const state = () =>
      page.evaluate(() => ({
        colorScheme: getComputedStyle(document.documentElement).colorScheme,
        pressed: document.getElementById('theme-toggle')!.getAttribute('aria-pressed'),
        themes: [
          ...new Set([...document.querySelectorAll('av-room, av-chat, av-file, av-recorder')].map((el) => el.getAttribute('theme'))),
        ],
      }));
    assert.deepEqual(await state(), { colorScheme: 'light', pressed: 'false', themes: ['light'] });
    await page.getByRole('button', { name: 'Dark theme' }).click();
    assert.deepEqual(await state(), { colorScheme: 'dark', pressed: 'true', themes: ['dark'] });
    // Reloaded once joined (a reload in the middle of joining may log the aborted connection).
    await connected(page);
    await page.reload();
    assert.deepEqual(await state(), { colorScheme: 'dark', pressed: 'true', themes: ['dark'] }, 'remembered after a reload');
    // And on the other pages of the site, from the first paint (theme-init.js).
    const other = await open(context, '/chat.html');
    assert.equal(await other.page.evaluate(() => document.documentElement.dataset.theme), 'dark');
    await page.getByRole('button', { name: 'Dark theme' }).click();
    await connected(page);
    await page.reload();
    assert.deepEqual(await state(), { colorScheme: 'light', pressed: 'false', themes: ['light'] }, 'and back');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('the element pages put their attributes and events to work', async () => {
  const context = await newContext();
  try {
    const chat = await open(context, '/chat.html?room=pages-test');
    await connected(chat.page);
    const send = (text: string) => chat.page.evaluate((t) => void (document.querySelector('av-chat') as any).send(t), text);
    await chat.page.getByLabel('Veto messages').check();
    await send('my secret');
    await chat.page.getByLabel('Veto messages').uncheck();
    await chat.page.getByLabel('Rewrite outgoing text').check();
    await send('hello');
    assert.deepEqual(await chat.page.evaluate(() => (document.querySelector('av-chat') as any).messages.map((m: any) => m.text)), [
      'HELLO',
    ]);
    assert.match(
      await chat.page.locator('#log').innerText(),
      /av-chat-send text: "HELLO".*vetoed: false\n.*av-chat-send text: "my secret".*vetoed: true/,
    );

    const files = await open(context, '/files.html?room=pages-test');
    await files.page.getByLabel('max-size').selectOption('1048576');
    await files.page.getByLabel('auto-accept').check();
    assert.equal(await files.page.locator('av-file').getAttribute('max-size'), '1048576');
    assert.equal(await files.page.locator('av-file').getAttribute('auto-accept'), '');

    const room = await open(context, '/room.html?room=pages-test');
    await connected(room.page);
    assert.match(await room.page.locator('#log').innerText(), /av-room-join room: "pages-test"/);
    await room.page.getByLabel('layout').selectOption('speaker');
    assert.equal(await room.page.locator('av-room').getAttribute('layout'), 'speaker');
    await room.page.getByLabel('muted').check();
    assert.equal(await room.page.locator('av-room').getAttribute('muted'), '');
    await room.page.getByLabel('prejoin').check();
    await room.page.locator('av-room[prejoin] [part~="prejoin"]').waitFor({ timeout: 10_000 });

    const recorder = await open(context, '/recorder.html?room=pages-test');
    await connected(recorder.page);
    await recorder.page.locator('av-recorder [part~="start-button"]').click();
    await recorder.page.waitForTimeout(1500);
    await recorder.page.locator('av-recorder [part~="stop-button"]').click();
    await recorder.page.locator('#result:not([hidden])').waitFor({ timeout: 20_000 });
    assert.match(await recorder.page.locator('#result-text').innerText(), /^demo-pages-test-[\d-]+\.mp4: \d+ KiB/);
    assert.match(await recorder.page.locator('#log').innerText(), /av-recorder-complete .*mimeType: "video\/mp4/);
    for (const p of [chat, files, room, recorder]) assert.deepEqual(p.problems, [], p.page.url());
  } finally {
    await context.close();
  }
});

test('the theming page sets the suite tokens live on <html>, for every element, and shows them as CSS', async () => {
  const context = await newContext({ colorScheme: 'light' });
  try {
    const { page, problems } = await open(context, '/theming.html');
    const read = () =>
      page.evaluate(() => {
        const send = document.querySelector('av-chat')!.shadowRoot!.querySelector('[part~="send-button"]')!;
        return {
          accent: getComputedStyle(document.documentElement).getPropertyValue('--av-accent').trim(),
          radius: getComputedStyle(document.documentElement).getPropertyValue('--av-radius').trim(),
          sendButton: getComputedStyle(send).backgroundColor,
          css: document.getElementById('css-snippet')!.textContent,
        };
      });
    const before = await read();
    assert.equal(before.accent, '#2456d6');
    await page.getByLabel('Accent').fill('#ff0000');
    await page.getByRole('slider', { name: 'Radius' }).fill('3');
    const changed = await read();
    assert.equal(changed.accent, '#ff0000');
    assert.equal(changed.radius, '3px');
    assert.equal(changed.sendButton, 'rgb(255, 0, 0)', "the chat's send button follows --av-accent");
    assert.match(changed.css, /:root \{\n {2}--av-accent: #ff0000;\n/);
    assert.match(changed.css, /--av-radius: 3px;/);
    await page.getByRole('button', { name: 'Reset', exact: true }).click();
    assert.deepEqual(await read(), before, 'Reset brings the stylesheet values back');
    await page.getByRole('button', { name: 'Dark preset' }).click();
    assert.equal((await read()).accent, '#8ab4ff');
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark', 'the page follows the preset');
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});

test('the broadcast page adds viewers and draws the tree: fanout 2, two viewers direct, the third through one of them', async () => {
  const context = await newContext();
  try {
    const { page, problems } = await open(context, '/broadcast.html?room=tree-test');
    await connected(page);
    assert.equal(await page.locator('av-room').first().getAttribute('fanout'), '2');
    assert.match(await page.locator('#tree-summary').innerText(), /^No viewers yet/);
    /** The tree as drawn, in document order: each viewer's name, depth and the member it is listed under. */
    const drawn = () =>
      page.evaluate(() =>
        [...document.querySelectorAll('#tree li[data-peer-id]')].map((li) => ({
          name: li.querySelector('.tree-name')!.textContent,
          depth: (li as HTMLElement).dataset.depth,
          under: li
            .parentElement!.closest('li')!
            .querySelector('.tree-name')!
            .textContent.replace(/ \(you, the presenter\)$/, ''),
        })),
      );
    const presenter = await page.locator('av-room').first().getAttribute('name');
    const add = page.getByRole('button', { name: 'Add a viewer' });
    await add.click();
    await add.click();
    await waitFor(
      'two viewers under the presenter',
      drawn,
      (tree) =>
        JSON.stringify(tree) ===
        JSON.stringify([
          { name: 'Viewer 1', depth: '1', under: presenter },
          { name: 'Viewer 2', depth: '1', under: presenter },
        ]),
      30_000,
    );
    assert.match(await page.locator('#tree > li > .tree-node').innerText(), /\(you, the presenter\)\s+depth 0 · sends to 2 viewers/);

    // The presenter serves two already: the third receives through one of them.
    await add.click();
    const tree = await waitFor('the third viewer nested under a viewer', drawn, (t) => t.length === 3, 30_000);
    const third = tree.find((v) => v.name === 'Viewer 3');
    assert.ok(third, `Viewer 3 drawn: ${JSON.stringify(tree)}`);
    assert.equal(third.depth, '2', `Viewer 3 at depth 2: ${JSON.stringify(tree)}`);
    assert.ok(third.under === 'Viewer 1' || third.under === 'Viewer 2', `under a viewer: ${JSON.stringify(tree)}`);
    assert.equal(
      await page.locator('#tree-summary').innerText(),
      '3 viewers: 2 from the presenter directly, 1 through a viewer; the deepest at depth 2.',
    );
    assert.equal(await page.locator('#viewer-count').innerText(), '3 of 8');
    const { violations } = await axe(page);
    assert.deepEqual(violations, [], 'axe-core with viewers on the page');

    // Remove, from the keyboard: that viewer leaves the room and the tree, focus goes to the next Remove button.
    await page.getByRole('button', { name: 'Remove Viewer 3' }).focus();
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Remove Viewer 2');
    await waitFor('Viewer 3 gone from the tree', drawn, (t) => t.length === 2 && t.every((v) => v.under === presenter), 15_000);
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});
