import { formatBytes } from './format.js';
import { Emitter } from './emitter.js';
import { safeFileName } from './file-name.js';
import type { DiskFile } from './disk-file.js';
import { fromBase64, toBase64 } from './data-protocol.js';
import { createLog, type Log, type LogLevel } from './log.js';
import { createHasher, type Hasher } from './sha256.js';
import type { RoomSession } from './session.js';

export type TransferState = 'offered' | 'waiting' | 'active' | 'paused' | 'verifying' | 'done' | 'declined' | 'cancelled' | 'error';

/** One file going to or coming from one member. */
export interface Transfer {
  readonly id: string;
  readonly direction: 'send' | 'receive';
  readonly peerId: string;
  readonly peerName: string;
  /** Safe to show and to save (no paths, no control characters). */
  readonly name: string;
  readonly size: number;
  readonly type: string;
  /** Bytes sent (sender) or received and hashed (receiver). */
  bytes: number;
  state: TransferState;
  /** Bytes per second so far. */
  speed: number;
  /** Seconds left at that speed. */
  eta: number;
  /** Sender: bytes sent a second time after a resume (what the break cost). */
  resent: number;
  error?: string;
  /** The received file, once verified. */
  file?: File;
}

export interface FileTransferEvents {
  /** A member offers a file; accept or decline it (`auto-accept` accepts). */
  offer: Transfer;
  /** Any change of state or progress (progress at most every 100 ms). */
  change: Transfer;
  /** A received file passed its SHA-256 check. */
  received: Transfer & { file: File };
}

export interface FileTransferOptions {
  /** Largest file accepted, in bytes; larger offers are declined with a message. Default: no limit. */
  maxSize?: number;
  /** Largest file sent through the server when no peer-to-peer path exists. Default 1 MiB. */
  relayMaxSize?: number;
  /**
   * Unfinished files (offered, accepted or under way) one member may have offered us at once; further offers are
   * declined with a reason and not listed. Also how many we offer one member at once: the rest wait here and are
   * offered as earlier ones finish. Default 8.
   */
  maxPendingOffers?: number;
  logLevel?: LogLevel;
}

const CHANNEL = 'file';
const ID = /^[A-Za-z0-9]{16,40}$/;
/** Pause sending above this much buffered, resume below the low mark: memory stays flat whatever the file size. */
const HIGH_WATER = 4 * 1024 * 1024;
const LOW_WATER = 1024 * 1024;
const ACK_EVERY = 4 * 1024 * 1024;
/** Received chunks are folded into Blob parts of about this size (held by the browser, not the JS heap). */
const PART_BYTES = 1024 * 1024;
/** Files from this size on are written to disk as they arrive (where the engine can), not kept as Blobs in memory. */
const DISK_FROM_BYTES = 8 * 1024 * 1024;
/**
 * When both ends can, the file is checked in parts of this size with WebCrypto's SHA-256 (native: many times faster
 * than a whole-file SHA-256 in wasm, which cannot use the CPU's SHA instructions), each part against the digest the
 * sender computed from its own copy; otherwise the whole file's SHA-256 (hash-wasm), as older versions do.
 */
const CHECKED_PART_BYTES = 8 * 1024 * 1024;
/** How long an accepted file waits for the data connection of a member that has just joined. */
const DATA_PATH_WAIT_MS = 10_000;
const PROGRESS_MS = 100;
/** Raw bytes per relayed chunk: base64 of it stays inside the server's 64 KiB frames. */
const RELAY_CHUNK = 30 * 1024;
/** Finished transfers kept listed, at most: the oldest finished ones go first (a stream of offers must not pile up). */
const MAX_LISTED = 200;
/**
 * Declines of offers over the limit we send one member: a burst of 20, then 10 a second. A flood of offers gets some
 * answers, not one reply per offer (through the server that would cost us our own message budget).
 */
const REFUSALS_BURST = 20;
const REFUSALS_PER_SECOND = 10;

type Wire =
  /** `parts`: the sender can send per-part digests of this size. */
  | { t: 'offer'; id: string; name: string; size: number; type: string; dc: number; parts?: number }
  /** `parts`: the receiver checks parts of this size (else the whole file's SHA-256). */
  | { t: 'accept'; id: string; parts?: number }
  | { t: 'decline'; id: string; reason: string }
  | { t: 'cancel'; id: string }
  | { t: 'ack'; id: string; bytes: number }
  /** File data through the server relay (small files only, when there is no peer-to-peer path). */
  | { t: 'chunk'; id: string; off: number; b64: string }
  /** Receiver, after the connection came back: continue from `bytes` (all it has, verified in order). */
  | { t: 'resume'; id: string; bytes: number }
  /** The SHA-256 of part `i` (bytes i × parts … ), sent as soon as the sender has it. */
  | { t: 'part'; id: string; i: number; sha256: string }
  /** All bytes sent: the whole file's SHA-256, or (checked parts) how many parts there are. */
  | { t: 'done'; id: string; sha256?: string; parts?: number }
  | { t: 'verified'; id: string }
  | { t: 'failed'; id: string; reason: string };

interface Outgoing {
  info: Transfer;
  file: File;
  dcId: number;
  channel?: RTCDataChannel;
  started: number;
  /**
   * The whole-file hash, fed in order exactly once even when a resume re-sends bytes; made only when the receiver does
   * not check parts (set when it accepts).
   */
  hasher?: Promise<Hasher>;
  hashedUpTo: number;
  /** Bumped on every (re)start, so a stale pump loop stops. */
  run: number;
  /** Checked parts of this size, when the receiver asked for them. */
  partSize?: number;
  /** The parts' digests being computed and sent, in order (settles once every part's digest went out). */
  partDigests?: Promise<void>;
  /** The parts' digests computed so far (sent again on a resume: some may have gone into a dead channel). */
  digests: string[];
  /** The receiver accepted; it starts when no other file to the same member is under way (a queue per member). */
  accepted?: boolean;
  /** The offer went out (at most `maxPendingOffers` unfinished offers per member; the rest wait for their turn). */
  offered?: boolean;
}

/** The sender's hashes, fed every chunk sent, in order. */
interface SentHashes {
  add(chunk: Uint8Array): void;
}

interface Incoming {
  info: Transfer;
  dcId: number;
  channel?: RTCDataChannel;
  parts: Blob[];
  /** Chunks not yet folded into a Blob part. */
  pending: (Blob | ArrayBuffer)[];
  pendingBytes: number;
  hasher?: Hasher;
  /** Parts hashed in order, one after the other (reading a Blob is asynchronous). */
  hashing: Promise<void>;
  /** The bytes are all here and being checked. */
  finishing?: boolean;
  /** The one buffer parts are read into for hashing. */
  scratch: { buffer: ArrayBuffer };
  expected?: string;
  /** Checked parts of this size (the sender offered them), else the whole file's SHA-256. */
  partSize?: number;
  /** Parts' digests from the sender, and checks waiting for one. */
  digests: Map<number, string>;
  digestWaiters: Map<number, (sha256: string) => void>;
  /** Checked parts: the number of parts the sender's `done` announced. */
  doneParts?: number;
  /** Large files, where the engine can: the bytes go to disk as they arrive (then `parts` and `pending` stay empty). */
  disk?: DiskFile;
  /** On disk with checked parts: the part being gathered for its digest (one buffer, reused) and its index. */
  gathering?: { bytes: Uint8Array<ArrayBuffer>; filled: number; index: number };
  started: number;
  acked: number;
}

/**
 * Peer-to-peer file transfer over a room session: an offer first, then one negotiated RTCDataChannel per transfer on
 * the member's data connection, chunks below the SCTP message limit with bufferedAmount backpressure, received parts
 * kept as Blobs (not in the JS heap), and a SHA-256 of the whole file checked before the file is handed over.
 */
export class FileTransfers extends Emitter<FileTransferEvents> {
  private readonly outgoing = new Map<string, Outgoing>();
  private readonly incoming = new Map<string, Incoming>();
  private readonly order: Transfer[] = [];
  private readonly off: (() => void)[] = [];
  private readonly log: Log;
  private readonly lastProgress = new WeakMap<Transfer, number>();
  /** Declines left to send each member for offers over the limit (a token bucket). */
  private readonly refusals = new Map<string, { tokens: number; at: number }>();
  private nextDc = 0;
  private destroyed = false;

  constructor(
    private readonly session: RoomSession,
    private readonly options: FileTransferOptions = {},
  ) {
    super();
    this.log = createLog(`files ${session.room}`, options.logLevel);
    this.off.push(
      session.on('message', ({ from, data, channel }) => channel === CHANNEL && this.receive(from, data)),
      session.on('peer-leave', ({ peer }) => (this.refusals.delete(peer.peerId), this.peerGone(peer.peerId))),
      session.on('path', ({ peer, path }) => (path === 'server' ? this.pauseWith(peer.peerId) : this.resumeWith(peer.peerId))),
    );
  }

  /** Every transfer, in the order they started (finished ones beyond the newest 200 are let go). */
  get transfers(): readonly Transfer[] {
    return this.order;
  }

  private get maxPending(): number {
    const n = this.options.maxPendingOffers;
    return n !== undefined && Number.isFinite(n) && n >= 1 ? Math.floor(n) : 8;
  }

  /**
   * Offers `file` to one member (`to`) or to every member; returns one transfer per recipient. A member is offered at
   * most `maxPendingOffers` files at once; the others stay `waiting` here until earlier ones finish.
   */
  send(file: File, { to }: { to?: string } = {}): Transfer[] {
    const targets = to ? [to] : [...this.session.peers.keys()];
    if (to && !this.session.peers.has(to)) throw new RangeError(`no member ${to} to send to`);
    return targets.map((peerId) => {
      const info: Transfer = {
        id: newId(),
        direction: 'send',
        peerId,
        peerName: this.session.peers.get(peerId)?.name ?? peerId,
        name: safeFileName(file.name),
        size: file.size,
        type: file.type.slice(0, 128),
        bytes: 0,
        state: 'waiting',
        speed: 0,
        eta: 0,
        resent: 0,
      };
      const dcId = this.channelId(peerId);
      this.outgoing.set(info.id, { info, file, dcId, started: 0, hashedUpTo: 0, run: 0, digests: [] });
      this.list(info);
      this.offerNext(peerId);
      this.changed(info, true);
      return info;
    });
  }

  /** Offers `peerId` the oldest files not offered yet, while it has fewer than `maxPendingOffers` unfinished ones. */
  private offerNext(peerId: string): void {
    const mine = [...this.outgoing.values()].filter((o) => o.info.peerId === peerId && !isOver(o.info.state));
    let pending = mine.filter((o) => o.offered).length;
    for (const o of mine) {
      if (pending >= this.maxPending) return;
      if (o.offered) continue;
      o.offered = true;
      pending++;
      const { info } = o;
      this.transmit(
        { t: 'offer', id: info.id, name: info.name, size: info.size, type: info.type, dc: o.dcId, parts: CHECKED_PART_BYTES },
        peerId,
      );
    }
  }

  private list(info: Transfer): void {
    this.order.push(info);
    let excess = this.order.length - MAX_LISTED;
    for (let i = 0; excess > 0 && i < this.order.length;) {
      const t = this.order[i]!;
      if (!isOver(t.state)) {
        i++;
        continue;
      }
      this.order.splice(i, 1);
      this.outgoing.delete(t.id);
      this.incoming.delete(t.id);
      excess--;
    }
  }

  /** Accepts an offered file. */
  accept(id: string): void {
    void this.acceptWhenReady(id);
  }

  private async acceptWhenReady(id: string): Promise<void> {
    const t = this.incoming.get(id);
    if (!t || t.info.state !== 'offered') return;
    if (!t.partSize) t.hasher ??= await createHasher();
    if (t.info.state !== 'offered' || this.destroyed) return;
    const pc =
      this.session.getDataPeerConnection(t.info.peerId) ?? (t.info.size > this.relayMax ? await this.dataPath(t.info.peerId) : undefined);
    if (t.info.state !== 'offered' || this.destroyed) return;
    if (!pc && t.info.size > this.relayMax) {
      return this.decline(
        id,
        `no peer-to-peer connection with this member, and the file is over the ${formatBytes(this.relayMax)} that can go through the server`,
      );
    }
    if (pc && t.info.size >= DISK_FROM_BYTES) {
      // A chunk of its own: only large files need it, and only some engines use it.
      const disk = await import('./disk-file.js').then(({ DiskFile }) => DiskFile.create()).catch(() => undefined);
      if (t.info.state !== 'offered' || this.destroyed) return void disk?.discard();
      t.disk = disk;
    }
    t.started = performance.now();
    t.info.state = 'active';
    if (pc && t.info.size > 0) this.openReceiving(t, pc);
    this.transmit({ t: 'accept', id, ...(t.partSize ? { parts: t.partSize } : {}) }, t.info.peerId);
    this.changed(t.info, true);
  }

  /**
   * The peer-to-peer data connection with a member that has just joined (it opens once the call's media flows): waited
   * for, at most DATA_PATH_WAIT_MS, unless the member's data already goes through the server.
   */
  private dataPath(peerId: string): Promise<RTCPeerConnection | undefined> {
    if (this.session.peers.get(peerId)?.path) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        off();
        resolve(this.session.getDataPeerConnection(peerId));
      };
      const timer = setTimeout(done, DATA_PATH_WAIT_MS);
      const off = this.session.on('path', ({ peer }) => peer.peerId === peerId && done());
    });
  }

  /** Declines an offered file. */
  decline(id: string, reason = 'declined'): void {
    const t = this.incoming.get(id);
    if (!t || t.info.state !== 'offered') return;
    t.info.state = 'declined';
    t.info.error = reason;
    this.transmit({ t: 'decline', id, reason: reason.slice(0, 200) }, t.info.peerId);
    this.changed(t.info, true);
  }

  /** Cancels a transfer in either direction; both sides clean up. */
  cancel(id: string): void {
    const t = this.outgoing.get(id) ?? this.incoming.get(id);
    if (!t || isOver(t.info.state)) return;
    this.transmit({ t: 'cancel', id }, t.info.peerId);
    this.stop(t, 'cancelled');
  }

  private openReceiving(t: Incoming, pc: RTCPeerConnection): void {
    const channel = pc.createDataChannel(`av-file-${t.info.id}`, { negotiated: true, id: t.dcId, ordered: true });
    // On disk, chunks arrive as ArrayBuffers that are hashed, written and released one by one. Otherwise as Blobs,
    // held by the browser: the file never passes through the JS heap (hashing reads each part into one reused buffer).
    channel.binaryType = t.disk ? 'arraybuffer' : 'blob';
    channel.onmessage = (e) => this.onChunk(t, e.data);
    channel.onclose = () => {
      // The connection broke mid-transfer: keep what arrived and wait for it to come back.
      if (t.channel === channel && t.info.state === 'active') this.pause(t.info);
    };
    t.channel = channel;
  }

  private pause(info: Transfer): void {
    info.state = 'paused';
    this.changed(info, true);
  }

  /**
   * The member's peer-to-peer path died (its data goes through the server now): files from it pause at once, keeping
   * what arrived. A dead path may never close the transfer's channel (SCTP waits for ICE), so we do not wait for that.
   */
  private pauseWith(peerId: string): void {
    for (const t of this.incoming.values()) {
      if (t.info.peerId !== peerId || t.info.state !== 'active' || !t.channel) continue;
      const channel = t.channel;
      t.channel = undefined;
      channel.onmessage = null;
      channel.onclose = null;
      channel.close();
      this.pause(t.info);
    }
  }

  /** The data connection with `peerId` is back: paused transfers from it continue from what arrived. */
  private resumeWith(peerId: string): void {
    for (const t of this.incoming.values()) {
      if (t.info.peerId !== peerId || t.info.state !== 'paused') continue;
      const pc = this.session.getDataPeerConnection(peerId);
      if (!pc) continue;
      try {
        this.openReceiving(t, pc);
      } catch (err) {
        // The old channel's id is still taken on this connection: the next path change tries again.
        this.log.info('could not resume yet:', (err as Error).message);
        continue;
      }
      t.info.state = 'active';
      this.transmit({ t: 'resume', id: t.info.id, bytes: t.info.bytes }, peerId);
      this.changed(t.info, true);
    }
  }

  private get relayMax(): number {
    return this.options.relayMaxSize ?? 1024 * 1024;
  }

  /**
   * The hashes of what we send, made from the chunks as they go (the file is read once): the whole file's (fed in order
   * exactly once, even when a resume sends bytes again), or, for checked parts, each part's SHA-256 (WebCrypto), sent
   * in order as the part ends; a resume inside a part reads that part's start again.
   */
  private async sentHashes(t: Outgoing, from: number): Promise<SentHashes> {
    const hasher = await t.hasher;
    const size = t.partSize ?? 0;
    const partLength = (i: number) => Math.min(size, t.info.size - i * size);
    let index = size && Math.floor(from / size);
    const bytes = new Uint8Array(size && partLength(0));
    let filled = 0;
    if (size) {
      const head = new Uint8Array(await t.file.slice(index * size, from).arrayBuffer());
      bytes.set(head);
      filled = head.length;
    }
    let pos = from;
    return {
      add: (chunk) => {
        if (hasher && pos === t.hashedUpTo) t.hashedUpTo += (hasher.update(chunk), chunk.length);
        pos += chunk.length;
        for (let o = 0; size && o < chunk.length;) {
          const n = Math.min(chunk.length - o, partLength(index) - filled);
          bytes.set(chunk.subarray(o, (o += n)), filled);
          filled += n;
          if (filled < partLength(index)) continue;
          const i = index++;
          // WebCrypto copies the bytes at once: the buffer is reused for the next part.
          const digest = crypto.subtle.digest('SHA-256', bytes.subarray(0, filled));
          filled = 0;
          t.partDigests = (t.partDigests ?? Promise.resolve()).then(async () => {
            const sha256 = toHex(await digest);
            // In order, and once: a part hashed in an earlier run was sent then.
            if (i !== t.digests.length) return;
            t.digests.push(sha256);
            this.transmit({ t: 'part', id: t.info.id, i, sha256 }, t.info.peerId);
          });
        }
      },
    };
  }

  /** Small files without a peer-to-peer path: base64 chunks through the server, hashed the same way. */
  private async relayPump(t: Outgoing, run: number, hashes: SentHashes): Promise<boolean> {
    const { info, file } = t;
    for (let offset = info.bytes; offset < info.size;) {
      const buf = new Uint8Array(await file.slice(offset, offset + RELAY_CHUNK).arrayBuffer());
      if (t.run !== run || info.state !== 'active') return false;
      hashes.add(buf);
      this.transmit({ t: 'chunk', id: info.id, off: offset, b64: toBase64(buf) }, info.peerId);
      offset += buf.byteLength;
      info.bytes = offset;
      this.progress(info, t.started);
    }
    return true;
  }

  private channelId(peerId: string): number {
    // Each side takes its own parity, so ids chosen by the two ends never collide.
    const parity = (this.session.peerId ?? '') < peerId ? 0 : 1;
    this.nextDc = (this.nextDc + 1) % 300;
    return 256 + this.nextDc * 2 + parity;
  }

  private transmit(wire: Wire, to: string): void {
    // After leaving, peers learn from the room that we are gone: nothing to tell them (and nothing to warn about).
    if (this.session.state === 'closed') return;
    try {
      this.session.send(wire, { to, channel: CHANNEL });
    } catch (err) {
      this.log.warn('file control message not sent:', (err as Error).message);
    }
  }

  private receive(from: string, data: unknown): void {
    const peer = this.session.peers.get(from);
    const w = data as Partial<Wire> & Record<string, unknown>;
    if (!peer || typeof w !== 'object' || w === null || typeof w.id !== 'string' || !ID.test(w.id)) {
      return this.log.warn('dropped a malformed file message from', from);
    }
    if (w.t === 'offer') return this.onOffer(from, peer.name, w);
    const out = this.outgoing.get(w.id);
    const inc = this.incoming.get(w.id);
    const mine = out?.info.peerId === from ? out : inc?.info.peerId === from ? inc : undefined;
    if (!mine) return;
    switch (w.t) {
      case 'accept':
        if (out && out.info.state === 'waiting') {
          out.accepted = true;
          if (w.parts === CHECKED_PART_BYTES) out.partSize = CHECKED_PART_BYTES;
          else out.hasher ??= createHasher();
          this.startNext(out.info.peerId);
        }
        return;
      case 'decline':
        if (out && out.info.state === 'waiting') {
          out.info.state = 'declined';
          out.info.error = String(w.reason ?? 'declined').slice(0, 200);
          this.changed(out.info, true);
        }
        return;
      case 'cancel':
        return this.stop(mine, 'cancelled');
      case 'ack':
        return;
      case 'chunk':
        if (inc && inc.info.state === 'active' && w.off === inc.info.bytes && typeof w.b64 === 'string') {
          let bytes: Uint8Array;
          try {
            bytes = fromBase64(w.b64);
          } catch {
            return this.fail(inc.info, 'the sender sent damaged data', true);
          }
          this.onChunk(inc, bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
        }
        return;
      case 'resume':
        if (
          out &&
          (out.info.state === 'paused' || out.info.state === 'active') &&
          typeof w.bytes === 'number' &&
          Number.isSafeInteger(w.bytes) &&
          w.bytes >= 0 &&
          w.bytes <= out.info.size
        ) {
          out.info.resent += Math.max(0, out.info.bytes - w.bytes);
          for (const [i, sha256] of out.digests.entries()) this.transmit({ t: 'part', id: out.info.id, i, sha256 }, out.info.peerId);
          void this.pump(out, w.bytes);
        }
        return;
      case 'part':
        if (
          inc?.partSize &&
          isDigest(w.sha256) &&
          Number.isInteger(w.i) &&
          (w.i as number) >= 0 &&
          (w.i as number) < partCount(inc.info.size, inc.partSize)
        ) {
          inc.digests.set(w.i as number, w.sha256);
          inc.digestWaiters.get(w.i as number)?.(w.sha256);
          inc.digestWaiters.delete(w.i as number);
        }
        return;
      case 'done':
        if (inc?.partSize && w.parts === partCount(inc.info.size, inc.partSize)) {
          inc.doneParts = w.parts;
          this.maybeFinish(inc);
        } else if (inc && !inc.partSize && isDigest(w.sha256)) {
          inc.expected = w.sha256;
          this.maybeFinish(inc);
        }
        return;
      case 'verified':
        if (out && !isOver(out.info.state)) {
          out.info.state = 'done';
          out.channel?.close();
          this.changed(out.info, true);
        }
        return;
      case 'failed':
        if (out) this.fail(out.info, `the receiver could not verify the file: ${String(w.reason).slice(0, 200)}`, false);
        return;
    }
  }

  private onOffer(from: string, peerName: string, w: Record<string, unknown>): void {
    const id = w.id as string;
    if (this.incoming.has(id)) return;
    const size = w.size;
    const dc = w.dc;
    if (
      typeof size !== 'number' ||
      !Number.isSafeInteger(size) ||
      size < 0 ||
      typeof dc !== 'number' ||
      !Number.isInteger(dc) ||
      dc < 256 ||
      dc > 1023
    ) {
      return this.log.warn('dropped a malformed file offer from', from);
    }
    let pending = 0;
    for (const t of this.incoming.values()) if (t.info.peerId === from && !isOver(t.info.state)) pending++;
    if (pending >= this.maxPending) {
      // Not listed: a member offering faster than we answer must not fill the page (or memory) with offers.
      return this.refuse(
        from,
        id,
        `too many files offered at once (at most ${this.maxPending} unfinished per member); offer it again when earlier ones are done`,
      );
    }
    const info: Transfer = {
      id,
      direction: 'receive',
      peerId: from,
      peerName,
      name: safeFileName(w.name),
      size,
      type: typeof w.type === 'string' ? w.type.slice(0, 128) : '',
      bytes: 0,
      state: 'offered',
      speed: 0,
      eta: 0,
      resent: 0,
    };
    const t: Incoming = {
      info,
      dcId: dc,
      parts: [],
      pending: [],
      pendingBytes: 0,
      hashing: Promise.resolve(),
      scratch: { buffer: new ArrayBuffer(0) },
      ...(w.parts === CHECKED_PART_BYTES ? { partSize: CHECKED_PART_BYTES } : {}),
      digests: new Map(),
      digestWaiters: new Map(),
      started: 0,
      acked: 0,
    };
    this.incoming.set(id, t);
    this.list(info);
    const max = this.options.maxSize;
    if (max !== undefined && size > max) {
      this.changed(info, true);
      return this.decline(id, `the file is larger than the ${formatBytes(max)} limit`);
    }
    this.changed(info, true);
    this.emit('offer', info);
  }

  /** Declines an offer we do not list, within the member's budget of such replies (beyond it, silently). */
  private refuse(from: string, id: string, reason: string): void {
    const now = performance.now();
    const bucket = this.refusals.get(from) ?? { tokens: REFUSALS_BURST, at: now };
    bucket.tokens = Math.min(REFUSALS_BURST, bucket.tokens + ((now - bucket.at) / 1000) * REFUSALS_PER_SECOND);
    bucket.at = now;
    this.refusals.set(from, bucket);
    if (bucket.tokens < 1) return;
    bucket.tokens--;
    this.log.info(`declined a file offer from ${from}: ${reason}`);
    this.transmit({ t: 'decline', id, reason }, from);
  }

  private async pump(t: Outgoing, from = 0): Promise<void> {
    const { info, file } = t;
    const run = ++t.run;
    t.channel?.close();
    // Active at once, before any await: startNext() must see this file moving (the hasher may still be loading).
    info.state = 'active';
    if (from === 0) t.started = performance.now();
    info.bytes = from;
    const hasher = await t.hasher;
    if (t.run !== run) return;
    this.changed(info, true);
    const pc = this.session.getDataPeerConnection(info.peerId);
    const sending = info.size > 0 && from < info.size;
    if (sending && !pc && info.size > this.relayMax) return this.pause(info);
    const hashes = await this.sentHashes(t, from);
    if (t.run !== run) return;
    if (sending && !pc) {
      if (!(await this.relayPump(t, run, hashes))) return;
    } else if (sending && pc) {
      const channel = pc.createDataChannel(`av-file-${info.id}`, { negotiated: true, id: t.dcId, ordered: true });
      channel.binaryType = 'arraybuffer';
      channel.bufferedAmountLowThreshold = LOW_WATER;
      t.channel = channel;
      const stale = () => t.run !== run || info.state !== 'active';
      try {
        await opened(channel);
        const chunk = Math.max(16 * 1024, Math.min(pc.sctp?.maxMessageSize ?? 65536, 256 * 1024));
        let next = file.slice(from, from + chunk).arrayBuffer();
        for (let offset = from; offset < info.size;) {
          const buf = await next;
          const end = offset + buf.byteLength;
          if (end < info.size) next = file.slice(end, end + chunk).arrayBuffer();
          if (stale()) return;
          hashes.add(new Uint8Array(buf));
          if (channel.bufferedAmount > HIGH_WATER) await drained(channel);
          if (stale()) return;
          channel.send(buf);
          offset = end;
          info.bytes = offset;
          this.progress(info, t.started);
        }
      } catch (err) {
        // A channel that closes under us means the connection broke: wait for the receiver to ask for the rest.
        if (!stale()) this.pause(info);
        return;
      }
    }
    if (t.partSize) {
      try {
        await t.partDigests;
      } catch (err) {
        return this.fail(info, `could not read the file: ${(err as Error).message}`, true);
      }
    }
    if (t.run !== run || info.state !== 'active') return;
    info.state = 'verifying';
    this.changed(info, true);
    this.transmit(
      t.partSize
        ? { t: 'done', id: info.id, parts: partCount(info.size, t.partSize) }
        : { t: 'done', id: info.id, sha256: hasher!.digestHex() },
      info.peerId,
    );
  }

  private onChunk(t: Incoming, data: unknown): void {
    if (t.info.state !== 'active') return;
    if (!(data instanceof Blob) && !(data instanceof ArrayBuffer))
      return this.fail(t.info, 'the sender sent something that is not file data', true);
    const size = data instanceof Blob ? data.size : data.byteLength;
    if (t.info.bytes + size > t.info.size) return this.fail(t.info, 'the sender sent more than the offered size', true);
    if (t.disk?.error) return this.fail(t.info, t.disk.error.message, true);
    if (t.disk && data instanceof ArrayBuffer) this.keepOnDisk(t, t.disk, data);
    else {
      t.pending.push(data);
      t.pendingBytes += size;
      if (t.partSize) while (t.pendingBytes >= t.partSize) this.foldPart(t, t.partSize);
      else if (t.pendingBytes >= PART_BYTES) this.foldPart(t);
    }
    t.info.bytes += size;
    if (t.info.bytes - t.acked >= ACK_EVERY) {
      t.acked = t.info.bytes;
      this.transmit({ t: 'ack', id: t.info.id, bytes: t.acked }, t.info.peerId);
    }
    this.progress(t.info, t.started);
    this.maybeFinish(t);
  }

  /** Folds the pending chunks into one Blob part (of exactly `size` bytes, if given) and queues it for checking. */
  private foldPart(t: Incoming, size?: number): void {
    if (t.pending.length === 0) return;
    const all = new Blob(t.pending);
    const part = size ? all.slice(0, size) : all;
    const rest = size && all.size > size ? all.slice(size) : undefined;
    t.pending = rest ? [rest] : [];
    t.pendingBytes = rest?.size ?? 0;
    const index = t.parts.length;
    t.parts.push(part);
    t.hashing = t.hashing.then(async () => {
      if (isOver(t.info.state)) return;
      if (!t.partSize) return hashBlob(t.hasher!, part, t.scratch);
      return this.checkPart(t, index, await crypto.subtle.digest('SHA-256', await readBlob(part, t.scratch)));
    });
  }

  /**
   * On disk: hashes a chunk (the whole file's hash, or the checked part it belongs to, gathered in one reused buffer)
   * and writes it; its memory is released once written.
   */
  private keepOnDisk(t: Incoming, disk: DiskFile, data: ArrayBuffer): void {
    const bytes = new Uint8Array(data);
    if (t.partSize) {
      for (let offset = 0; offset < bytes.length;) {
        const part = (t.gathering ??= { bytes: new Uint8Array(t.partSize), filled: 0, index: 0 });
        const n = Math.min(bytes.length - offset, part.bytes.length - part.filled);
        part.bytes.set(bytes.subarray(offset, offset + n), part.filled);
        part.filled += n;
        offset += n;
        if (part.filled === part.bytes.length) this.checkGathered(t);
      }
    } else t.hasher!.update(bytes);
    disk.write(data);
  }

  /** On disk with checked parts: the gathered part's digest (WebCrypto copies the bytes at once: the buffer is reused). */
  private checkGathered(t: Incoming): void {
    const part = t.gathering;
    if (!part || part.filled === 0) return;
    const digest = crypto.subtle.digest('SHA-256', part.bytes.subarray(0, part.filled));
    const index = part.index++;
    part.filled = 0;
    t.hashing = t.hashing.then(async () => {
      if (!isOver(t.info.state)) await this.checkPart(t, index, await digest);
    });
  }

  /** Checked parts: part `i`'s digest against the sender's digest of it (waiting for that digest if needed). */
  private async checkPart(t: Incoming, i: number, digest: ArrayBuffer): Promise<void> {
    const expected = t.digests.get(i) ?? (await new Promise<string>((resolve) => t.digestWaiters.set(i, resolve)));
    if (isOver(t.info.state)) return;
    const actual = toHex(digest);
    if (actual === expected || isOver(t.info.state)) return;
    this.transmit({ t: 'failed', id: t.info.id, reason: `SHA-256 mismatch in part ${i + 1}` }, t.info.peerId);
    this.fail(t.info, 'the file arrived damaged (SHA-256 mismatch) and was discarded', false);
  }

  private maybeFinish(t: Incoming): void {
    const told = t.partSize ? t.doneParts !== undefined : t.expected !== undefined;
    if (t.info.state !== 'active' || !told || t.info.bytes !== t.info.size || t.finishing) return;
    t.finishing = true;
    if (t.disk) this.checkGathered(t);
    else this.foldPart(t);
    t.hashing
      .then(() => (t.disk && t.info.state === 'active' ? t.disk.close(t.info.name, t.info.type) : undefined))
      .then(
        (stored) => this.finish(t, stored),
        (err: Error) => this.fail(t.info, t.disk ? err.message : `could not read the received file: ${err.message}`, true),
      );
  }

  /** Every byte is here and checked (`stored`: the file as written to disk). */
  private finish(t: Incoming, stored: File | undefined): void {
    t.finishing = false;
    if (t.info.state !== 'active') return;
    // Checked parts were each checked on the way.
    const actual = t.partSize ? t.expected : t.hasher!.digestHex();
    t.channel?.close();
    if (actual !== t.expected) {
      this.transmit({ t: 'failed', id: t.info.id, reason: 'SHA-256 mismatch' }, t.info.peerId);
      return this.fail(t.info, 'the file arrived damaged (SHA-256 mismatch) and was discarded', false);
    }
    const file = stored ?? new File(t.parts, t.info.name, { type: t.info.type });
    t.parts = [];
    t.info.file = file;
    t.info.state = 'done';
    this.transmit({ t: 'verified', id: t.info.id }, t.info.peerId);
    this.changed(t.info, true);
    this.emit('received', t.info as Transfer & { file: File });
  }

  private progress(info: Transfer, started: number): void {
    const now = performance.now();
    const elapsed = (now - started) / 1000;
    info.speed = elapsed > 0 ? info.bytes / elapsed : 0;
    info.eta = info.speed > 0 ? (info.size - info.bytes) / info.speed : 0;
    if (now - (this.lastProgress.get(info) ?? 0) >= PROGRESS_MS || info.bytes === info.size) {
      this.lastProgress.set(info, now);
      this.changed(info, false);
    }
  }

  private peerGone(peerId: string): void {
    for (const t of [...this.outgoing.values(), ...this.incoming.values()]) {
      if (t.info.peerId === peerId && !isOver(t.info.state)) this.fail(t.info, 'the member left', false);
    }
  }

  private fail(info: Transfer, message: string, tell: boolean): void {
    if (isOver(info.state)) return;
    if (tell) this.transmit({ t: 'cancel', id: info.id }, info.peerId);
    const t = this.outgoing.get(info.id) ?? this.incoming.get(info.id);
    if (t) this.stop(t, 'error', message);
  }

  private stop(t: Outgoing | Incoming, state: 'cancelled' | 'error', message?: string): void {
    t.info.state = state;
    if (message) t.info.error = message;
    t.channel?.close();
    if ('parts' in t) {
      t.parts = [];
      t.pending = [];
      t.pendingBytes = 0;
      t.gathering = undefined;
      void t.disk?.discard();
    }
    this.changed(t.info, true);
  }

  /** Starts the oldest accepted file for `peerId` unless one is already moving: files to a member go one by one. */
  private startNext(peerId: string): void {
    const mine = [...this.outgoing.values()].filter((o) => o.info.peerId === peerId);
    if (mine.some((o) => o.info.state === 'active' || o.info.state === 'verifying' || o.info.state === 'paused')) return;
    const next = mine.find((o) => o.accepted && o.info.state === 'waiting');
    if (next) void this.pump(next);
  }

  private changed(info: Transfer, _important: boolean): void {
    if (!this.destroyed) this.emit('change', info);
    // A finished (or failed) outgoing file lets the next one to that member go, and the next waiting one be offered.
    if (info.direction === 'send' && isOver(info.state) && !this.destroyed) {
      this.offerNext(info.peerId);
      this.startNext(info.peerId);
    }
  }

  /** Cancels everything in flight and stops listening. Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    for (const t of [...this.outgoing.values(), ...this.incoming.values()]) {
      if (!isOver(t.info.state) && t.info.state !== 'offered') this.transmit({ t: 'cancel', id: t.info.id }, t.info.peerId);
      t.channel?.close();
      if ('parts' in t) {
        t.parts = [];
        // A file that arrived stays readable (its File is on disk); the rest is dropped.
        if (t.info.state !== 'done') void t.disk?.discard();
      }
    }
    this.destroyed = true;
    for (const off of this.off.splice(0)) off();
    this.removeAllListeners();
  }
}

/** Feeds a Blob to the hasher through one reused buffer (a BYOB read): no copy of the file is left for the GC. */
async function hashBlob(hasher: Hasher, blob: Blob, scratch: { buffer: ArrayBuffer }): Promise<void> {
  const reader = blob.stream().getReader({ mode: 'byob' });
  let view = new Uint8Array(scratch.buffer.byteLength ? scratch.buffer : new ArrayBuffer(PART_BYTES));
  for (;;) {
    const { value, done } = await reader.read(view);
    if (value && !done) hasher.update(value);
    if (done || !value) {
      scratch.buffer = value?.buffer ?? new ArrayBuffer(PART_BYTES);
      return;
    }
    view = new Uint8Array(value.buffer);
  }
}

function isOver(state: TransferState): boolean {
  return state === 'done' || state === 'declined' || state === 'cancelled' || state === 'error';
}

function newId(): string {
  return crypto.randomUUID().replace(/-/g, '');
}

function opened(channel: RTCDataChannel): Promise<void> {
  if (channel.readyState === 'open') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the receiver did not open the transfer channel within 10 s')), 10_000);
    channel.addEventListener('open', () => (clearTimeout(timer), resolve()), { once: true });
    channel.addEventListener('close', () => (clearTimeout(timer), reject(new Error('the transfer channel closed'))), { once: true });
  });
}

function drained(channel: RTCDataChannel): Promise<void> {
  return new Promise((resolve, reject) => {
    const onLow = () => (cleanup(), resolve());
    const onClose = () => (cleanup(), reject(new Error('the transfer channel closed')));
    const cleanup = () => {
      channel.removeEventListener('bufferedamountlow', onLow);
      channel.removeEventListener('close', onClose);
    };
    channel.addEventListener('bufferedamountlow', onLow);
    channel.addEventListener('close', onClose);
  });
}

/** Reads a Blob into `scratch` (grown when too small, then reused: no copy left for the GC); a view of the bytes. */
async function readBlob(blob: Blob, scratch: { buffer: ArrayBuffer }): Promise<Uint8Array<ArrayBuffer>> {
  let buffer = scratch.buffer.byteLength >= blob.size ? scratch.buffer : new ArrayBuffer(blob.size);
  const reader = blob.stream().getReader({ mode: 'byob' });
  let filled = 0;
  while (filled < blob.size) {
    const { value, done } = await reader.read(new Uint8Array(buffer, filled, buffer.byteLength - filled));
    if (value) buffer = value.buffer;
    if (done || !value) break;
    filled += value.byteLength;
  }
  scratch.buffer = buffer;
  return new Uint8Array(buffer, 0, filled);
}

const partCount = (size: number, partSize: number) => Math.ceil(size / partSize);
const isDigest = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
const toHex = (digest: ArrayBuffer) => [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
