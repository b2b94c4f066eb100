import type { Peer } from 'peerjs';
import type { Log } from './log.js';

/** Signalling messages that come from another peer (the rest come from PeerServer itself: OPEN, ERROR, ID-TAKEN…). */
const FROM_PEERS = new Set(['OFFER', 'ANSWER', 'CANDIDATE', 'LEAVE', 'EXPIRE']);
/** How long messages from an id the room has not announced are held, how many per id, and how many ids at once. */
const HOLD_MS = 10_000;
const HOLD_PER_ID = 64;
const HOLD_IDS = 16;

interface SignallingMessage {
  type?: unknown;
  src?: unknown;
  payload?: { type?: unknown; serialization?: unknown };
}

/**
 * Members answer members only. PeerJS answers a data connection's offer by itself, before the page sees it, so the
 * roster is checked below PeerJS: a message from an id that is not a member we connect with never reaches PeerJS, so
 * no RTCPeerConnection is created, nothing is answered and no candidate leaves. Messages from an id the room has not
 * announced yet (its `peer-joined` may trail its offer by a moment) are held briefly, then dropped and logged once.
 */
export class SignallingGate {
  private readonly held = new Map<string, { messages: SignallingMessage[]; timer: ReturnType<typeof setTimeout> }>();
  private readonly refused = new Set<string>();
  private deliver: ((message: SignallingMessage) => void) | undefined;

  constructor(
    private readonly isMember: (peerId: string) => boolean,
    private readonly log: Log,
  ) {}

  /** Puts the gate in front of a PeerJS peer's server messages. Call right after constructing the peer. */
  guard(peer: Peer): void {
    const target = peer as unknown as { _handleMessage(message: SignallingMessage): void };
    const original = target._handleMessage.bind(peer);
    this.deliver = original;
    target._handleMessage = (message) => {
      // Our data connections are raw; the bundle has no other serializer for PeerJS to build one with.
      if (message?.type === 'OFFER' && message.payload?.type === 'data' && message.payload.serialization !== 'raw') {
        return this.refuse(String(message.src), 'a data connection that is not raw');
      }
      if (!FROM_PEERS.has(String(message?.type)) || typeof message.src !== 'string' || this.isMember(message.src)) {
        return original(message);
      }
      this.hold(message.src, message);
    };
  }

  /** The room announced `peerId`: what it sent meanwhile is handed to PeerJS now. */
  admit(peerId: string): void {
    const entry = this.held.get(peerId);
    if (!entry) return;
    clearTimeout(entry.timer);
    this.held.delete(peerId);
    if (!this.isMember(peerId)) return;
    for (const message of entry.messages) this.deliver?.(message);
  }

  destroy(): void {
    for (const { timer } of this.held.values()) clearTimeout(timer);
    this.held.clear();
    this.deliver = undefined;
  }

  private hold(src: string, message: SignallingMessage): void {
    let entry = this.held.get(src);
    if (!entry) {
      if (this.held.size >= HOLD_IDS) return this.refuse(src);
      const timer = setTimeout(() => {
        this.held.delete(src);
        this.refuse(src);
      }, HOLD_MS);
      entry = { messages: [], timer };
      this.held.set(src, entry);
    }
    if (entry.messages.length < HOLD_PER_ID) entry.messages.push(message);
  }

  private refuse(src: string, why = 'not a member of this room'): void {
    if (this.refused.has(src)) return;
    if (this.refused.size < 1000) this.refused.add(src);
    this.log.warn('ignored signalling from', src.slice(0, 64), ':', why);
  }
}

/**
 * Lets a PeerJS peer place calls while its socket to PeerServer is still opening: PeerJS drops what it sends before
 * the socket is open (it queues only before it has an id), so until then messages wait in its own queue, which it
 * sends, in order, the moment the socket opens. PeerServer registers a socket as it accepts it, before reading from it.
 */
export function sendWhenOpen(peer: Peer): void {
  const socket = (peer as unknown as { socket: PeerSocket }).socket;
  const send = socket.send.bind(socket);
  socket.send = (data) => {
    if (socket._socket?.readyState === WebSocket.CONNECTING) socket._messagesQueue.push(data);
    else send(data);
  };
}

/** The parts of PeerJS's internal socket that `sendWhenOpen` uses. */
interface PeerSocket {
  send(data: unknown): void;
  _socket?: WebSocket;
  _messagesQueue: unknown[];
}
