import type { Browser, Page } from 'playwright-core';
import type { Browser as PuppeteerBrowser, Page as PuppeteerPage } from 'puppeteer-core';
// Plain ES modules, shared with the bench scripts.
import { CHROMIUM_ARGS, CHROMIUM_PATH, launchChromium as launch } from './chromium.mjs';
import { launchFirefox } from './firefox.mjs';

export { CHROMIUM_ARGS, CHROMIUM_PATH, launchFirefox };

/** Debian's Chromium with fake camera and microphone, a fresh profile, and its own temporary HOME. */
export const launchChromium: (
  extraArgs?: string[],
  options?: { without?: string[] },
) => Promise<{ browser: Browser; close(): Promise<void> }> = launch;

/**
 * Runs in the page: keeps `av-room-error` details in `window.__errors`, then adds an `<av-room>` with `attrs` and
 * `children`, created from script once defined (elements parsed by setContent's document.write are not upgraded).
 * Listeners go on after setContent: its document.open() removes the window's listeners.
 */
async function mountRoom({ attrs, children }: { attrs: Record<string, string>; children: string }): Promise<void> {
  const errors: unknown[] = ((window as unknown as { __errors: unknown[] }).__errors = []);
  window.addEventListener('av-room-error', (e) => errors.push((e as CustomEvent).detail));
  await customElements.whenDefined('av-room');
  const el = document.createElement('av-room');
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.innerHTML = children;
  document.body.append(el);
}

export interface MemberPage {
  page: import('playwright-core').Page;
  context: import('playwright-core').BrowserContext;
  close(): Promise<void>;
}

/**
 * The camera size and rate members send unless a test asks for others: what the end-to-end tests prove (calls,
 * recovery, transfers, trust) does not depend on them, and at the element's default (640x480, 30 fps) every 2-member
 * call cost 2 encodes and 2 decodes of 9 Mpx/s on a 2-core machine that runs the whole suite. 320x240 at 15 fps is 8
 * times less.
 */
const SMALL_VIDEO: Record<string, string> = { resolution: '320x240', 'frame-rate': '15' };

/**
 * A browser context whose page holds one `<av-room>` with `attrs` (after {@link SMALL_VIDEO}), loaded by the
 * script-tag bundle from our server.
 * The page is a real response from our server: Chromium's local-network-access checks block loopback requests from
 * pages that Playwright fulfils itself. `getUserMedia` calls are counted in `window.__gumCalls`, `av-room-error` details kept in `window.__errors`.
 */
export async function memberPage(
  browser: Browser,
  serverUrl: string,
  attrs: Record<string, string>,
  contextOptions: import('playwright-core').BrowserContextOptions = {},
  children = '',
  reuseContext?: import('playwright-core').BrowserContext,
): Promise<MemberPage> {
  const context = reuseContext ?? (await browser.newContext(contextOptions));
  if (!reuseContext)
    await context.addInitScript(() => {
      const w = window as unknown as { __gumCalls: number };
      w.__gumCalls = 0;

      const md = navigator.mediaDevices;
      const original = md.getUserMedia.bind(md);
      md.getUserMedia = (c?: MediaStreamConstraints) => {
        w.__gumCalls++;
        return original(c);
      };
    });
  const page = await context.newPage();
  await page.goto(`${serverUrl}/healthz`);
  await page.setContent(`<!doctype html><meta charset="utf-8"><script type="module" src="${serverUrl}/av-elements.js"></script>`);
  await page.evaluate(mountRoom, { attrs: { ...SMALL_VIDEO, ...attrs }, children });
  return { page, context, close: () => context.close() };
}

/** The part of a page the engine-neutral helpers use: Playwright's `evaluate` (a Playwright page is one). */
export interface Evaluator {
  evaluate: Page['evaluate'];
}

export type Engine = 'chromium' | 'firefox';

/** A member's page in either engine. */
export interface EnginePage extends Evaluator {
  engine: Engine;
  /** The engine's own page object, for what only it can do. */
  raw: Page | PuppeteerPage;
  screenshot(path: string): Promise<void>;
  close(): Promise<void>;
}

/** A browser of either engine, as the interop helpers take it. */
export type EngineBrowser = { engine: 'chromium'; browser: Browser } | { engine: 'firefox'; browser: PuppeteerBrowser };

/**
 * A member with one `<av-room>` (and `children`) in its own browser context (own storage) of either engine, loaded by
 * the script-tag bundle from our server, as `memberPage` does. `viewport` sets the page size (touch in Chromium).
 */
export async function engineMember(
  b: EngineBrowser,
  serverUrl: string,
  attrs: Record<string, string>,
  children = '',
  viewport?: { width: number; height: number },
): Promise<EnginePage> {
  if (b.engine === 'chromium') {
    const options = viewport ? { viewport, isMobile: true, hasTouch: true } : {};
    const m = await memberPage(b.browser, serverUrl, attrs, options, children);
    await m.page.evaluate('window.__name = (f) => f');
    return {
      engine: 'chromium',
      raw: m.page,
      evaluate: m.page.evaluate.bind(m.page),
      screenshot: async (path) => void (await m.page.screenshot({ path, fullPage: true })),
      close: () => m.close(),
    };
  }
  const member = await enginePage(b, `${serverUrl}/healthz`, viewport);
  const page = member.raw as PuppeteerPage;
  await page.setContent(`<!doctype html><meta charset="utf-8"><script type="module" src="${serverUrl}/av-elements.js"></script>`);
  await page.evaluate('window.__name = (f) => f');
  await page.evaluate(mountRoom, { attrs, children });
  return member;
}

/**
 * A page at `url` in its own browser context (own storage) of either engine; `viewport` emulates a phone (touch).
 */
export async function enginePage(b: EngineBrowser, url: string, viewport?: { width: number; height: number }): Promise<EnginePage> {
  // tsx names inner functions with a helper the page does not have.
  const nameHelper = 'window.__name = (f) => f';
  if (b.engine === 'chromium') {
    const context = await b.browser.newContext(viewport ? { viewport, isMobile: true, hasTouch: true } : {});
    const page = await context.newPage();
    await page.goto(url);
    await page.evaluate(nameHelper);
    return {
      engine: 'chromium',
      raw: page,
      evaluate: page.evaluate.bind(page),
      screenshot: async (path) => void (await page.screenshot({ path, fullPage: true })),
      close: () => context.close(),
    };
  }
  const context = await b.browser.createBrowserContext();
  const page = await context.newPage();
  if (viewport) await page.setViewport({ ...viewport, isMobile: true, hasTouch: true });
  await page.goto(url);
  await page.evaluate(nameHelper);
  return {
    engine: 'firefox',
    raw: page,
    // Same call shape as Playwright's (one argument).
    evaluate: ((fn: never, arg?: unknown) => page.evaluate(fn, arg)) as Page['evaluate'],
    screenshot: async (path) => void (await page.screenshot({ path, fullPage: true })),
    close: () => context.close(),
  };
}

/** Inbound video frames decoded and audio packets received, per remote peer id, from getStats. */
export function inboundByPeer(page: Evaluator) {
  return page.evaluate(async () => {
    const room = document.querySelector('av-room')!;
    const out: Record<string, { framesDecoded: number; audioPackets: number; localCandidate?: string; relayProtocol?: string }> = {};
    for (const peer of room.peers) {
      const report = await room.session!.getStats(peer.peerId);
      const row = { framesDecoded: 0, audioPackets: 0 } as (typeof out)[string];
      report?.forEach((s: any) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') row.framesDecoded += s.framesDecoded ?? 0;
        if (s.type === 'inbound-rtp' && s.kind === 'audio') row.audioPackets += s.packetsReceived ?? 0;
        if (s.type === 'transport' && s.selectedCandidatePairId) {
          const pair = report.get(s.selectedCandidatePairId);
          const local = pair && report.get(pair.localCandidateId);
          row.localCandidate = local?.candidateType;
          row.relayProtocol = local?.relayProtocol;
        }
      });
      out[peer.peerId] = row;
    }
    return out;
  });
}

/**
 * Proven from getStats: the page decodes video from its `count` other members, and 1.5 s later every one of them has
 * decoded more frames.
 */
export async function expectFramesRising(page: Evaluator, what: string, count = 1, timeoutMs = 30_000): Promise<void> {
  const frames = async () => Object.values(await inboundByPeer(page)).map((r) => r.framesDecoded);
  const first = await waitFor(what, frames, (f) => f.length === count && f.every((n) => n > 0), timeoutMs);
  await new Promise((r) => setTimeout(r, 1500));
  const later = await frames();
  if (!later.every((n, i) => n > first[i]!)) throw new Error(`${what}: frames do not keep rising (${first.join()} → ${later.join()})`);
}

/** Polls `fn` until `ok` holds, at most `timeoutMs`; fails with the last value. */
export async function waitFor<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < end) {
    last = await fn();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${what}: not reached within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
}

/**
 * An init script (`context.addInitScript(tapSockets)`): the page keeps every WebSocket it opens in `window.__sockets`,
 * and while `window.__deaf` is true its room sockets deliver nothing (a one-way network fault: what the server sends
 * is lost on the way, what the page sends still arrives).
 */
export function tapSockets(): void {
  const w = window as unknown as { __sockets: WebSocket[]; __deaf: boolean };
  w.__sockets = [];
  w.__deaf = false;
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      w.__sockets.push(this);
    }
    override set onmessage(listener: ((e: MessageEvent) => void) | null) {
      super.onmessage = listener && ((e: MessageEvent) => (w.__deaf && this.url.endsWith('/ws') ? undefined : listener.call(this, e)));
    }
    override get onmessage() {
      return super.onmessage;
    }
  };
}
