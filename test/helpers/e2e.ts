import { after, before } from 'node:test';
import { launchChromium, launchFirefox, type Engine, type EngineBrowser, type EnginePage, type MemberPage } from './browser.js';
import { startServer, type RunningServer } from './server.js';

export interface E2E {
  server: RunningServer;
  chromium: Awaited<ReturnType<typeof launchChromium>>;
  /** Pages to close when the file's tests end. */
  open: MemberPage[];
  /** Closes the pages opened so far (between tests). */
  closeAll(): Promise<void>;
}

/**
 * Registers before/after hooks for a test file: one real server (with `args`) and one Chromium, stopped at the end
 * along with every page left in `open`.
 */
export function e2e(args: string[] = []): E2E {
  const ctx = {
    open: [] as MemberPage[],
    async closeAll() {
      for (const p of ctx.open.splice(0)) await p.close().catch(() => {});
    },
  } as E2E;
  before(async () => {
    ctx.server = await startServer(args);
    ctx.chromium = await launchChromium();
  });
  after(async () => {
    await ctx.closeAll();
    await ctx.chromium?.close();
    await ctx.server?.stop();
  });
  return ctx;
}

export interface TwoEngines {
  server: RunningServer;
  chromium: Awaited<ReturnType<typeof launchChromium>>;
  firefox: Awaited<ReturnType<typeof launchFirefox>>;
  /** Pages to close when the file's tests end. */
  open: EnginePage[];
  /** Either browser, as engineMember and enginePage take it. */
  browser(engine: Engine): EngineBrowser;
  /** Closes the pages opened so far (between tests). */
  closeAll(): Promise<void>;
}

/** As `e2e`, with a Firefox ESR beside the Chromium: hooks for one real server and both browsers. */
export function twoEngines(args: string[] = []): TwoEngines {
  const ctx = {
    open: [] as EnginePage[],
    browser: (engine: Engine): EngineBrowser =>
      engine === 'chromium' ? { engine, browser: ctx.chromium.browser } : { engine, browser: ctx.firefox.browser },
    async closeAll() {
      for (const p of ctx.open.splice(0)) await p.close().catch(() => {});
    },
  } as TwoEngines;
  before(async () => {
    ctx.server = await startServer(args);
    ctx.chromium = await launchChromium();
    ctx.firefox = await launchFirefox();
  });
  after(async () => {
    await ctx.closeAll();
    await ctx.chromium?.close();
    await ctx.firefox?.close();
    await ctx.server?.stop();
  });
  return ctx;
}
