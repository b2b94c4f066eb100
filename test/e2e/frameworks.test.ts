// examples/react and examples/vue: type-checked against the generated JSX / Vue declarations, built with Vite, served
// as static sites on their own origin, and joined into one room with a real av-server: a React member and a Vue member
// see each other, and each decodes the other's video (getStats).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.mjs';
import { startServer, type RunningServer } from '../helpers/server.js';

const out = mkdtempSync(join(tmpdir(), 'av-examples-'));
let av: RunningServer;
const sites: Server[] = [];

before(async () => {
  av = await startServer();
});
after(async () => {
  await av.stop();
  for (const s of sites) s.close();
  rmSync(out, { recursive: true, force: true });
});

const tsc = (project: string) =>
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', project], { encoding: 'utf8', stdio: 'pipe' });

/** Builds an example with Vite's API into a temp folder and serves it on 127.0.0.1; resolves with its URL. */
async function buildAndServe(name: 'react' | 'vue'): Promise<string> {
  const { build } = await import('vite');
  const dir = join(out, name);
  await build({ root: `examples/${name}`, configFile: `examples/${name}/vite.config.ts`, logLevel: 'silent', build: { outDir: dir } });
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };
  const site = createServer((req, res) => {
    const path = normalize(new URL(req.url ?? '/', 'http://x').pathname).replace(/^(\.\.[/\\])+/, '');
    try {
      const body = readFileSync(join(dir, path === '/' ? 'index.html' : path));
      res.writeHead(200, { 'Content-Type': types[extname(path) || '.html'] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  sites.push(site);
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
  const address = site.address() as { port: number };
  return `http://127.0.0.1:${address.port}/`;
}

test('the React and Vue examples type-check against the shipped declarations, and a wrong handler does not', () => {
  tsc('examples/react/tsconfig.json');
  tsc('examples/vue/tsconfig.json');
  // The declarations are not `any`: an event detail that does not exist is an error in both.
  const wrong = 'examples/react/src/wrong.tsx';
  writeFileSync(
    wrong,
    `import type {} from 'av-elements/jsx';\nexport const x = <av-room room="r" onav-room-join={(e) => e.detail.nope} />;\n`,
  );
  const wrongVue = 'examples/vue/src/wrong.ts';
  writeFileSync(
    wrongVue,
    `import type {} from 'av-elements/vue';\nimport type { GlobalComponents } from 'vue';\nexport const p: InstanceType<GlobalComponents['av-room']>['$props'] = { room: 42 };\n`,
  );
  try {
    assert.throws(
      () => tsc('examples/react/tsconfig.json'),
      (e: { stdout?: string }) => /wrong\.tsx.*'nope'/s.test(e.stdout ?? ''),
    );
    assert.throws(
      () => tsc('examples/vue/tsconfig.json'),
      (e: { stdout?: string }) => /wrong\.ts.*TS2322/s.test(e.stdout ?? ''),
    );
  } finally {
    rmSync(wrong);
    rmSync(wrongVue);
  }
});

test('a member in the React example and one in the Vue example, built with Vite, meet in one room and see each other', async () => {
  const [react, vue] = [await buildAndServe('react'), await buildAndServe('vue')];
  const chromium = await launchChromium();
  try {
    const open = async (site: string) => {
      const page = await (await chromium.browser.newContext()).newPage();
      await page.goto(`${site}?server=${encodeURIComponent(av.url)}&room=frameworks`);
      return page;
    };
    const status = (page: Page) => page.locator('[role=status]').first();
    const reactPage = await open(react);
    await status(reactPage)
      .getByText(/^In frameworks as \S+; 0 other member/)
      .waitFor({ timeout: 20_000 });
    const vuePage = await open(vue);
    // Each framework's own handler saw the join and the other member.
    await status(vuePage)
      .getByText(/^In frameworks as \S+; 1 other member/)
      .waitFor({ timeout: 20_000 });
    await status(reactPage)
      .getByText(/; 1 other member/)
      .waitFor({ timeout: 20_000 });
    for (const page of [reactPage, vuePage]) {
      let decoded = 0;
      for (const end = Date.now() + 20_000; decoded <= 10 && Date.now() < end; await new Promise((r) => setTimeout(r, 250))) {
        decoded = await page.evaluate(async () => {
          type Session = { peers: Map<string, unknown>; getStats(id: string): Promise<RTCStatsReport | undefined> };
          const session = (document.querySelector('av-room') as unknown as { session?: Session }).session;
          const [peerId] = session?.peers.keys() ?? [];
          let frames = 0;
          if (peerId) {
            (await session!.getStats(peerId))?.forEach((s: { type: string; kind?: string; framesDecoded?: number }) => {
              if (s.type === 'inbound-rtp' && s.kind === 'video') frames = s.framesDecoded ?? 0;
            });
          }
          return frames;
        });
      }
      assert.ok(decoded > 10, `video decoded from the other framework's member: ${decoded} frames`);
    }
  } finally {
    await chromium.close();
  }
});
