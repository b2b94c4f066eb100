import type { Browser, LaunchOptions } from 'puppeteer-core';

/** Debian's Firefox ESR (or FIREFOX_PATH). */
export const FIREFOX_PATH: string;
/** Prefs for a quiet, offline test Firefox with fake media; `proxyPort` backstops every non-loopback request. */
export function firefoxPrefs(proxyPort?: number): Record<string, unknown>;
/** Environment of a browser with its own temporary HOME. */
export function browserEnv(home: string): NodeJS.ProcessEnv;
/** puppeteer-core launch options for Firefox over WebDriver BiDi. */
export function firefoxLaunchOptions(home: string, proxyPort?: number): LaunchOptions;
/** A headless Firefox ESR with a fresh profile and its own temporary HOME; `escapes` lists off-machine requests it tried. */
export function launchFirefox(): Promise<{ browser: Browser; escapes: string[]; close(): Promise<void> }>;
/** A local proxy that refuses every request (403) and records it: a backstop for anything sent off the machine. */
export function refusingProxy(): Promise<{ port: number; escapes: string[]; close(): Promise<void> }>;
