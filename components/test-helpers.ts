/** Helpers for element tests in the browser. Not part of the bundle. */
import type { RoomSession } from './core/session.js';

/** URL of the real av-server the test runner started. */
export const SERVER: string = (window as unknown as { AV_SERVER: string }).AV_SERVER;

let counter = 0;
/** A room name no other test uses. */
export function uniqueRoom(prefix = 'test'): string {
  return `${prefix}-${Date.now().toString(36)}-${++counter}`;
}

export interface Inbound {
  framesDecoded: number;
  audioPackets: number;
}

/** Inbound RTP counters of the call with `peerId`, from getStats. */
export async function inbound(session: RoomSession, peerId: string): Promise<Inbound> {
  const report = await session.getStats(peerId);
  let framesDecoded = 0;
  let audioPackets = 0;
  report?.forEach((s: { type: string; kind?: string; framesDecoded?: number; packetsReceived?: number }) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') framesDecoded += s.framesDecoded ?? 0;
    if (s.type === 'inbound-rtp' && s.kind === 'audio') audioPackets += s.packetsReceived ?? 0;
  });
  return { framesDecoded, audioPackets };
}

/** Polls `fn` until `ok` holds, at most `timeoutMs`. */
export async function until<T>(what: string, fn: () => T | Promise<T>, ok: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const end = performance.now() + timeoutMs;
  let last: T | undefined;
  while (performance.now() < end) {
    last = await fn();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what}: not reached within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
}

/**
 * Waits until the video of `stream` is really producing frames (shown in a detached, muted video element). A camera
 * track is `live` before its first frame; Firefox's MediaRecorder writes nothing for a track that has not sent one.
 */
export async function videoFlowing(stream: MediaStream, timeoutMs = 20_000): Promise<void> {
  const video = document.createElement('video');
  video.muted = true;
  video.srcObject = new MediaStream(stream.getVideoTracks());
  try {
    await video.play();
    await until(
      'video frames',
      () => video.currentTime,
      (t) => t > 0.2,
      timeoutMs,
    );
  } finally {
    video.srcObject = null;
  }
}

/** Resolves with the first `type` event on `target`, or rejects after `timeoutMs`. */
export function eventWithin<T = unknown>(target: EventTarget, type: string, timeoutMs: number): Promise<CustomEvent<T>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} within ${timeoutMs} ms`)), timeoutMs);
    target.addEventListener(
      type,
      (e) => {
        clearTimeout(timer);
        resolve(e as CustomEvent<T>);
      },
      { once: true },
    );
  });
}

/** The element tests run in Chromium and in Firefox ESR (the second engine). */
export const inFirefox = navigator.userAgent.includes('Firefox/');

/** Why a test runs in Chromium only: what Firefox ESR lacks on the test machines (checked, not assumed). */
export const CHROMIUM_ONLY = {
  nativeMp4: 'Firefox records WebM only; its MP4 comes from the WebM → H.264 transcode (test/e2e/interop.test.ts)',
  fakeDevices: "Firefox's fake devices are one camera and one microphone with a picture size of its own choosing",
  h264: 'Firefox has no H.264 here (OpenH264 is a download)',
  webAudio: 'Firefox starts an AudioContext only with a sound card, and the test machines have none (it stays suspended)',
  screen: 'headless Firefox never answers getDisplayMedia',
} as const;

/** `it` for a test that needs what only Chromium has here: in Firefox it is listed as skipped, with the reason. */
export function chromiumOnly(reason: string): (title: string, fn: () => Promise<void>) => void {
  return inFirefox ? (title, fn) => void it.skip(`${title} [Chromium only: ${reason}]`, fn) : (title, fn) => void it(title, fn);
}
