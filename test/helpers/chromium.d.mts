import type { Browser } from 'playwright-core';

/** Chromium flags for tests and benches: headless, offline, fake camera and microphone. */
export const CHROMIUM_ARGS: string[];
/** Debian's Chromium (or CHROMIUM_PATH). */
export const CHROMIUM_PATH: string;
/** A headless Chromium with a fresh profile and its own temporary HOME; `close()` removes both. */
export function launchChromium(
  extraArgs?: string[],
  options?: { without?: string[] },
): Promise<{ browser: Browser; close(): Promise<void> }>;
