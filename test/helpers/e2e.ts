import { after, before } from 'node:test';
import { launchChromium, type MemberPage } from './browser.js';
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
