import { Emitter } from './emitter.js';
import { createLog, type Log, type LogLevel } from './log.js';
import type { RemotePeer } from './peer-link.js';
import type { RoomSession } from './session.js';
import { load, save } from './store.js';

/** One chat message as the page sees it. */
export interface ChatMessage {
  readonly id: string;
  /** Sender's peer id (at the time). */
  readonly from: string;
  /** Sender's display name (from the room roster, not from the message). */
  readonly name: string;
  readonly text: string;
  /** Sender's clock, ms since the epoch. */
  readonly ts: number;
  /** Sender's counter: order among one sender's messages. */
  readonly seq: number;
  /** Private message: the recipient's peer id. */
  readonly to?: string;
  /** Sent by this page. */
  readonly own: boolean;
  /** Own messages: `sending` until every recipient acknowledged, then `delivered`; `sent` when nobody was there. */
  status?: 'sending' | 'delivered' | 'sent';
  /** Shared history only: peer id of the member who shared this message with us. */
  readonly sharedBy?: string;
  /** Shared history only: the sender, a member we knew by that name, was not in the room when the history arrived. */
  readonly former?: boolean;
  /**
   * Shared history only: the sharer attributed it to a sender we cannot check (the server, ourselves, an id we never
   * saw, or a member under another name than the roster's). It is shown as the sharer's: `from` and `name` are the
   * sharer's, and the name that was written is not kept.
   */
  readonly unverified?: boolean;
  /** Unverified history: the sender id the sharer wrote. Never shown; it keeps the order every member sees. */
  readonly claimedFrom?: string;
}

export interface ChatEvents {
  /** A new message from someone else. */
  message: ChatMessage;
  /** The list or a status changed. */
  change: void;
  /** A peer sent something invalid or unasked (history); it was dropped. */
  dropped: { from: string; reason: string };
}

export interface ChatOptions {
  /** Longest text accepted, on send and on receipt. Default 4000. */
  maxLength?: number;
  /** Keep history in IndexedDB and share recent history with late joiners. Default true. */
  history?: boolean;
  /** How many messages of history a late joiner is given, and asks for when it joins late. Default 100. */
  historyShare?: number;
  logLevel?: LogLevel;
}

const CHANNEL = 'chat';
const ID = /^[A-Za-z0-9_-]{8,64}$/;
const KEEP = 1000;
const RETRY_MS = 3000;
const HISTORY_BATCH_BYTES = 30 * 1024;
/** How long the member we asked has to answer with history; after that, history from it is unasked too. */
const HISTORY_WAIT_MS = 20_000;
/** A peer's clock is its own: times are kept within a few seconds of ours, so nobody pins a message to the bottom. */
const FUTURE_SLACK_MS = 5000;
/** A live message is at most this old (clock skew, a slow relay); older claims would hide it far up the list. */
const LIVE_PAST_MS = 60_000;

function clampTime(ts: number, maxAgeMs = Infinity): number {
  const now = Date.now();
  return Math.max(Math.min(ts, now + FUTURE_SLACK_MS), now - maxAgeMs);
}

/** One history answer per member in this time: each answer costs up to 100 messages of sending. */
const HISTORY_ANSWER_MS = 10_000;
/** Names of members seen in this room (for history of those who left): enough for long meetings, bounded for floods. */
const KNOWN_NAMES = 2000;

type HistoryEntry = { id: string; from: string; name: string; text: string; ts: number; seq: number };
type Wire =
  | { t: 'msg'; id: string; text: string; ts: number; seq: number; to?: string }
  | { t: 'ack'; id: string }
  /** `n`: how many messages we want (older answerers ignore it). */
  | { t: 'hist-req'; n?: number }
  /** `end` marks the last batch of an answer (older answerers omit it; the asker then waits out HISTORY_WAIT_MS). */
  | { t: 'hist'; msgs: HistoryEntry[]; end?: boolean };

/** Chat over a room session's data channel (server relay when needed): ids, acks, retries, dedupe, history. */
export class ChatChannel extends Emitter<ChatEvents> {
  private readonly byId = new Map<string, ChatMessage>();
  private list: ChatMessage[] = [];
  /** Own messages not yet acknowledged by some recipients. */
  private readonly outbox = new Map<string, { wire: Wire; pending: Set<string> }>();
  private seq = 0;
  private lastTs = 0;
  private readonly off: (() => void)[] = [];
  private retryTimer: ReturnType<typeof setInterval> | undefined;
  private saveTimer: ReturnType<typeof setTimeout> | undefined;
  private askedHistory = false;
  /** The history request we wait on: only that member's answer is taken, up to `left` entries, until `until`. */
  private historyRequest: { from: string; left: number; got: boolean; until: number } | undefined;
  /** When we last shared history with each member. */
  private readonly answered = new Map<string, number>();
  /** Names of members we have seen in this room, present or gone, by peer id: what shared history is checked against. */
  private readonly knownNames = new Map<string, string>();
  private readonly log: Log;
  readonly maxLength: number;
  private readonly storeKey: string;
  private destroyed = false;
  /** Resolves once stored history is loaded (immediately with `history: false`). */
  readonly ready: Promise<void>;

  constructor(
    private readonly session: RoomSession,
    private readonly options: ChatOptions = {},
  ) {
    super();
    this.maxLength = options.maxLength ?? 4000;
    this.log = createLog(`chat ${session.room}`, options.logLevel);
    this.storeKey = `chat:${session.server}:${session.room}`;
    for (const peer of session.peers.values()) this.know(peer.peerId, peer.name);
    this.off.push(
      session.on('message', ({ from, data, channel }) => channel === CHANNEL && this.receive(from, data)),
      session.on('peer-join', ({ peer }) => (this.know(peer.peerId, peer.name), this.askHistory())),
      session.on('peer-leave', ({ peer }) => this.forget(peer.peerId)),
      session.on('path', () => this.retry()),
      session.on('state', ({ state }) => state === 'connected' && (this.askHistory(), this.retry())),
    );
    this.retryTimer = setInterval(() => this.retry(), RETRY_MS);
    this.ready = this.options.history === false ? Promise.resolve() : this.restore();
    void this.ready.then(() => this.askHistory());
  }

  /** Every message, oldest first. */
  get messages(): readonly ChatMessage[] {
    return this.list;
  }

  /** Sends `text` to everyone, or privately to `to` (a peer id). Throws on empty or over-long text. */
  send(text: string, { to }: { to?: string } = {}): ChatMessage {
    const clean = text.replace(/\r\n?/g, '\n').trim();
    if (!clean) throw new RangeError('message is empty');
    if ([...clean].length > this.maxLength) throw new RangeError(`message is longer than ${this.maxLength} characters`);
    if (to !== undefined && !this.session.peers.has(to)) throw new RangeError(`no member ${to} to send to`);
    this.lastTs = Math.max(Date.now(), this.lastTs + 1);
    const wire: Wire = { t: 'msg', id: newId(), text: clean, ts: this.lastTs, seq: ++this.seq, ...(to ? { to } : {}) };
    const recipients = to ? [to] : [...this.session.peers.keys()];
    const msg: ChatMessage = {
      id: wire.id,
      from: this.session.peerId ?? 'me',
      name: this.session.name,
      text: clean,
      ts: wire.ts,
      seq: wire.seq,
      ...(to ? { to } : {}),
      own: true,
      status: recipients.length ? 'sending' : 'sent',
    };
    this.add(msg);
    if (recipients.length) {
      this.outbox.set(msg.id, { wire, pending: new Set(recipients) });
      for (const peerId of recipients) this.transmit(wire, peerId);
    }
    return msg;
  }

  /** Removes every message here (and from storage). */
  clear(): void {
    this.list = [];
    this.byId.clear();
    this.outbox.clear();
    this.changed();
  }

  private transmit(wire: Wire, to: string): void {
    try {
      if (this.session.live) this.session.send(wire, { to, channel: CHANNEL });
    } catch (err) {
      this.log.warn('chat message not sent:', (err as Error).message);
    }
  }

  /** Resends what some recipients have not acknowledged (each receiver drops duplicates by id). */
  private retry(): void {
    for (const { wire, pending } of this.outbox.values()) {
      for (const peerId of pending) if (this.session.peers.has(peerId)) this.transmit(wire, peerId);
    }
  }

  private forget(peerId: string): void {
    // A member who left cannot acknowledge: stop waiting for it.
    for (const [id, entry] of this.outbox) {
      if (entry.pending.delete(peerId) && entry.pending.size === 0) this.delivered(id);
    }
    this.answered.delete(peerId);
    if (this.historyRequest?.from === peerId) {
      // It left before answering: ask someone else.
      const again = !this.historyRequest.got;
      this.historyRequest = undefined;
      if (again) {
        this.askedHistory = false;
        this.askHistory();
      }
    }
  }

  private know(peerId: string, name: string): void {
    this.knownNames.delete(peerId);
    this.knownNames.set(peerId, name);
    if (this.knownNames.size > KNOWN_NAMES) this.knownNames.delete(this.knownNames.keys().next().value!);
  }

  private delivered(id: string): void {
    this.outbox.delete(id);
    const m = this.byId.get(id);
    if (m && m.status === 'sending') {
      m.status = 'delivered';
      this.changed();
    }
  }

  private askHistory(): void {
    if (this.askedHistory || this.options.history === false || this.historyShare === 0 || this.session.state !== 'connected') return;
    const first = this.session.peers.keys().next();
    if (first.done) return;
    this.askedHistory = true;
    this.log.debug('asking for history from', first.value);
    const n = this.historyShare;
    this.historyRequest = { from: first.value, left: n, got: false, until: performance.now() + HISTORY_WAIT_MS };
    this.transmit({ t: 'hist-req', n }, first.value);
  }

  private get historyShare(): number {
    return Math.max(0, Math.min(KEEP, this.options.historyShare ?? 100));
  }

  private drop(from: string, name: string, reason: string): void {
    this.log.warn(`dropped a chat message from ${name} (${from}): ${reason}`);
    this.emit('dropped', { from, reason });
  }

  private receive(from: string, data: unknown): void {
    const peer = this.session.peers.get(from);
    if (!peer) return;
    const wire = validate(data, this.maxLength);
    if (typeof wire === 'string') return this.drop(from, peer.name, wire);
    switch (wire.t) {
      case 'msg': {
        this.transmit({ t: 'ack', id: wire.id }, from);
        if (this.byId.has(wire.id)) return;
        if (wire.to !== undefined && wire.to !== this.session.peerId) return;
        const msg: ChatMessage = {
          id: wire.id,
          from,
          name: peer.name,
          text: wire.text,
          ts: clampTime(wire.ts, LIVE_PAST_MS),
          seq: wire.seq,
          ...(wire.to ? { to: wire.to } : {}),
          own: false,
        };
        this.add(msg);
        this.emit('message', msg);
        return;
      }
      case 'ack': {
        const entry = this.outbox.get(wire.id);
        if (entry?.pending.delete(from) && entry.pending.size === 0) this.delivered(wire.id);
        return;
      }
      case 'hist-req': {
        if (this.options.history === false) return;
        const last = this.answered.get(from);
        if (last !== undefined && performance.now() - last < HISTORY_ANSWER_MS)
          return this.drop(from, peer.name, 'history asked for again too soon');
        this.answered.set(from, performance.now());
        this.log.debug('sharing history with', from);
        // What we could not attribute ourselves is not passed on: the next member would take it as ours.
        const count = Math.min(this.historyShare, wire.n ?? KEEP);
        const share = count > 0 ? this.list.filter((m) => !m.to && !m.unverified).slice(-count) : [];
        let batch: HistoryEntry[] = [];
        let bytes = 0;
        for (const m of share) {
          const item = { id: m.id, from: m.from, name: m.name, text: m.text, ts: m.ts, seq: m.seq };
          const size = JSON.stringify(item).length * 2;
          if (batch.length && bytes + size > HISTORY_BATCH_BYTES) {
            this.transmit({ t: 'hist', msgs: batch }, from);
            batch = [];
            bytes = 0;
          }
          batch.push(item);
          bytes += size;
        }
        this.transmit({ t: 'hist', msgs: batch, end: true }, from);
        return;
      }
      case 'hist': {
        // Only the answer to our own request, from the member we asked: anything else could rewrite the past.
        const request = this.historyRequest;
        if (!request || request.from !== from || performance.now() > request.until)
          return this.drop(from, peer.name, 'history nobody asked for');
        const taken = wire.msgs.slice(0, request.left);
        request.left -= taken.length;
        request.got = true;
        if (wire.end || request.left <= 0) this.historyRequest = undefined;
        let added = false;
        for (const h of taken) {
          if (this.byId.has(h.id)) continue;
          this.insert({ id: h.id, text: h.text, ts: clampTime(h.ts), seq: h.seq, own: false, sharedBy: from, ...this.attribute(h, peer) });
          added = true;
        }
        if (added) this.changed();
        return;
      }
    }
  }

  /**
   * Who a shared history entry is shown as. A name the sharer wrote is never shown: the sender must be a member we
   * know under that very name, present (the roster's name) or seen earlier and gone (`former`). Anything else (the
   * server, ourselves, an id we never saw, a member under another name) is shown as the sharer's and marked
   * `unverified`. Dropping it would hide what was said before we came, which is what history is for; showing the
   * written name would let any member speak as "System Administrator" or as someone in the room. The sharer is the
   * one member who vouches for the text, so that is whom the reader should hold to it.
   */
  private attribute(h: HistoryEntry, sharer: RemotePeer): Pick<ChatMessage, 'from' | 'name' | 'former' | 'unverified' | 'claimedFrom'> {
    const present = this.session.peers.get(h.from);
    if (present && present.name === h.name) return { from: h.from, name: present.name };
    const known = present ? undefined : this.knownNames.get(h.from);
    if (known !== undefined && known === h.name) return { from: h.from, name: known, former: true };
    return { from: sharer.peerId, name: sharer.name, unverified: true, claimedFrom: h.from };
  }

  private add(msg: ChatMessage): void {
    this.insert(msg);
    this.changed();
  }

  /** Keeps the list ordered by sender clock, then sender, then sender's counter (each sender's order holds). */
  private insert(msg: ChatMessage): void {
    this.byId.set(msg.id, msg);
    let i = this.list.length;
    while (i > 0 && compare(this.list[i - 1]!, msg) > 0) i--;
    this.list.splice(i, 0, msg);
    if (this.list.length > KEEP) for (const old of this.list.splice(0, this.list.length - KEEP)) this.byId.delete(old.id);
  }

  private changed(): void {
    this.emit('change', undefined);
    if (this.options.history === false || this.saveTimer) return;
    // Throttled, not debounced: a steady stream of changes (acks) must not postpone saving forever.
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      void save(this.storeKey, this.list);
    }, 250);
  }

  private async restore(): Promise<void> {
    const stored = await load<ChatMessage[]>(this.storeKey);
    if (this.destroyed || !Array.isArray(stored)) return;
    let added = false;
    for (const m of stored) {
      if (!m || typeof m.id !== 'string' || this.byId.has(m.id) || typeof m.text !== 'string') continue;
      // Our own storage: the names in it were checked when the messages arrived.
      if (!m.own && !m.unverified && typeof m.from === 'string' && typeof m.name === 'string' && !this.knownNames.has(m.from))
        this.know(m.from, m.name);
      // A message still "sending" when the page went away is shown as sent: its acks can no longer arrive here.
      this.insert(m.status === 'sending' ? { ...m, status: 'sent' } : m);
      added = true;
    }
    if (added) this.emit('change', undefined);
  }

  /** Stops listening; pending saves are written. Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const off of this.off.splice(0)) off();
    clearInterval(this.retryTimer);
    if (this.saveTimer && this.options.history !== false) {
      clearTimeout(this.saveTimer);
      this.saveTimer = undefined;
      void save(this.storeKey, this.list);
    }
    this.removeAllListeners();
  }
}

function compare(a: ChatMessage, b: ChatMessage): number {
  const [x, y] = [a.claimedFrom ?? a.from, b.claimedFrom ?? b.from];
  return a.ts - b.ts || (x < y ? -1 : x > y ? 1 : 0) || a.seq - b.seq;
}

function newId(): string {
  return crypto.randomUUID().replace(/-/g, '');
}

/** Whether `text` has more than `max` characters (code points), without making an array of them per message. */
function longerThan(text: string, max: number): boolean {
  if (text.length <= max) return false;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // A low surrogate after a high one is the second half of one code point (as `[...text]` counts).
    const second = c >= 0xdc00 && c <= 0xdfff && i > 0 && (text.charCodeAt(i - 1) & 0xfc00) === 0xd800;
    if (!second && ++n > max) return true;
  }
  return false;
}

/** Checks a chat frame from a peer; returns the reason when it is invalid. */
function validate(data: unknown, maxLength: number): Wire | string {
  if (typeof data !== 'object' || data === null) return 'not an object';
  const w = data as Record<string, unknown>;
  const text = (v: unknown) => typeof v === 'string' && !longerThan(v, maxLength) && v.trim().length > 0;
  const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  switch (w.t) {
    case 'msg':
      if (typeof w.id !== 'string' || !ID.test(w.id)) return 'bad id';
      if (typeof w.text !== 'string') return 'no text';
      if (longerThan(w.text, maxLength)) return `text longer than ${maxLength} characters`;
      if (!text(w.text)) return 'empty text';
      if (!num(w.ts) || !Number.isInteger(w.seq)) return 'bad timestamp or sequence';
      if (w.to !== undefined && typeof w.to !== 'string') return 'bad recipient';
      return w as Wire;
    case 'ack':
      return typeof w.id === 'string' && ID.test(w.id) ? (w as Wire) : 'bad ack';
    case 'hist-req':
      return Number.isInteger(w.n) && (w.n as number) > 0 ? { t: 'hist-req', n: w.n as number } : { t: 'hist-req' };
    case 'hist': {
      if (!Array.isArray(w.msgs) || w.msgs.length > 200) return 'bad history';
      const msgs = w.msgs.filter(
        (m: Record<string, unknown>) =>
          m &&
          typeof m.id === 'string' &&
          ID.test(m.id) &&
          text(m.text) &&
          typeof m.from === 'string' &&
          typeof m.name === 'string' &&
          num(m.ts) &&
          Number.isInteger(m.seq),
      ) as HistoryEntry[];
      return {
        t: 'hist',
        msgs: msgs.map((m) => ({ id: m.id, from: m.from.slice(0, 64), name: m.name.slice(0, 64), text: m.text, ts: m.ts, seq: m.seq })),
        ...(w.end === true ? { end: true } : {}),
      };
    }
    default:
      return 'unknown chat frame';
  }
}
