import type { WebSocket } from 'ws';

/** Token bucket: `burst` at once, refilled at `perSecond`. */
export class TokenBucket {
  private tokens: number;
  private last = Date.now();
  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }
  take(): boolean {
    const now = Date.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** What one socket may send before it is cut off. */
export interface SocketLimits {
  /** Messages per second on average, and at once. */
  perSecond: number;
  burst: number;
  /** Invalid frames (malformed, unknown type, to nobody) allowed at once, refilled at one per second. */
  invalid: number;
}

/** Close code for a socket that broke the rules (RFC 6455 "policy violation"). */
export const POLICY_VIOLATION = 1008;
/** Largest amount of data waiting to be written to one socket before it counts as too slow and is dropped. */
export const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/**
 * The budgets of one socket: message rate and invalid frames. Past either, the socket is closed with 1008, once, and
 * `onCutOff` is told why (so it is logged once per socket, not once per frame).
 */
export class SocketBudget {
  private readonly rate: TokenBucket;
  private readonly invalidFrames: TokenBucket;
  private cut = false;

  constructor(
    private readonly socket: WebSocket,
    limits: SocketLimits,
    private readonly onCutOff: (reason: string) => void,
  ) {
    this.rate = new TokenBucket(limits.perSecond, limits.burst);
    this.invalidFrames = new TokenBucket(1, limits.invalid);
  }

  /** Whether the socket is already cut off. */
  get closed(): boolean {
    return this.cut;
  }

  /** Counts one inbound message; false (and the socket closing) once the rate is exceeded. */
  message(): boolean {
    return this.cut ? false : this.rate.take() || this.cutOff('message rate exceeded');
  }

  /** Counts one invalid frame; false (and the socket closing) once there were too many. */
  invalid(): boolean {
    return this.cut ? false : this.invalidFrames.take() || this.cutOff('too many invalid messages');
  }

  cutOff(reason: string): false {
    if (this.cut) return false;
    this.cut = true;
    this.onCutOff(reason);
    closeSocket(this.socket, POLICY_VIOLATION, reason);
    return false;
  }
}

/** Closes politely, and for good after a second if the other side does not answer the close. */
export function closeSocket(socket: WebSocket, code: number, reason: string): void {
  try {
    socket.close(code, reason.slice(0, 120));
  } catch {
    socket.terminate();
    return;
  }
  setTimeout(() => socket.terminate(), 1000).unref();
}

/**
 * Sends a text frame unless the socket is not open; a reader so slow that more than MAX_BUFFERED_BYTES wait for it is
 * dropped rather than buffered without bound. Returns whether it was sent.
 */
export function sendText(socket: WebSocket, text: string): boolean {
  if (socket.readyState !== 1) return false;
  if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
    socket.terminate();
    return false;
  }
  socket.send(text);
  return true;
}

/** Open sockets per client address, against a cap. */
export class AddressCounter {
  private readonly counts = new Map<string, number>();
  constructor(readonly cap: number) {}

  /** Takes a place for `address`; false when it already holds `cap`. */
  acquire(address: string): boolean {
    const n = this.counts.get(address) ?? 0;
    if (n >= this.cap) return false;
    this.counts.set(address, n + 1);
    return true;
  }

  release(address: string): void {
    const n = (this.counts.get(address) ?? 1) - 1;
    if (n <= 0) this.counts.delete(address);
    else this.counts.set(address, n);
  }

  count(address: string): number {
    return this.counts.get(address) ?? 0;
  }
}
