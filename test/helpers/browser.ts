import type { Browser } from 'playwright-core';
// A plain ES module, shared with the bench scripts.
import { CHROMIUM_ARGS, CHROMIUM_PATH, launchChromium as launch } from './chromium.mjs';

export { CHROMIUM_ARGS, CHROMIUM_PATH };

/** Debian's Chromium with fake camera and microphone, a fresh profile, and its own temporary HOME. */
export const launchChromium: (
  extraArgs?: string[],
  options?: { without?: string[] },
) => Promise<{ browser: Browser; close(): Promise<void> }> = launch;

export interface MemberPage {
  page: import('playwright-core').Page;
  context: import('playwright-core').BrowserContext;
  close(): Promise<void>;
}

/**
 * A browser context whose page holds one `<av-room>` with `attrs`, loaded by the script-tag bundle from our server.
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
  // Created from script once defined: elements parsed by setContent's document.write are not upgraded.
  await page.evaluate(
    async ({ attrs, children }) => {
      // Listeners go on after setContent: its document.open() removes the window's listeners.
      const errors: unknown[] = ((window as unknown as { __errors: unknown[] }).__errors = []);
      window.addEventListener('av-room-error', (e) => errors.push((e as CustomEvent).detail));
      await customElements.whenDefined('av-room');
      const el = document.createElement('av-room');
      for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
      el.innerHTML = children;
      document.body.append(el);
    },
    { attrs, children },
  );
  return { page, context, close: () => context.close() };
}

/** Inbound video frames decoded and audio packets received, per remote peer id, from getStats. */
export function inboundByPeer(page: import('playwright-core').Page) {
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
export async function expectFramesRising(page: import('playwright-core').Page, what: string, count = 1, timeoutMs = 30_000): Promise<void> {
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
