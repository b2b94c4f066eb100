import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { DataPath, RemotePeer } from '../core/peer-link.js';
import { RoomSession, type RoomSessionOptions, type SessionState } from '../core/session.js';
import type { SessionErrorCode } from '../core/errors.js';
import type { Quality } from '../core/activity.js';

export interface RoomControllerHost extends ReactiveControllerHost, HTMLElement {
  sessionOptions(): RoomSessionOptions | undefined;
  readonly hasUpdated: boolean;
}

/** Detail of `av-room-join`. */
export interface RoomJoinDetail {
  room: string;
  peerId: string;
}
/** Detail of `av-room-leave`. */
export interface RoomLeaveDetail {
  room: string;
  reason: 'left' | 'removed' | 'error';
}
/** Detail of `av-peer-join` and `av-peer-leave`. */
export interface PeerDetail {
  peerId: string;
  name: string;
}
/** Detail of `av-peer-path`. */
export interface PathDetail {
  peerId: string;
  path: DataPath;
}
/** Detail of `av-room-message`. */
export interface MessageDetail {
  /** A member's peer id, or `'server'`. */
  from: string;
  /** A JSON value, or a Uint8Array for bytes. */
  data: unknown;
  via: DataPath;
}
/** Detail of `av-room-mute-request`. */
export interface MuteRequestDetail {
  /** Who asked (the server application's words). */
  by: string;
}
/** Detail of `av-room-warning`. */
export interface WarningDetail {
  code: 'media-fallback' | 'codec-unavailable' | 'device-lost' | 'media-unavailable';
  message: string;
}
/** Detail of `av-devices-change`: device ids in use. */
export interface DevicesDetail {
  audioinput?: string;
  videoinput?: string;
  audiooutput?: string;
}
/** Detail of `av-active-speaker`. */
export interface ActiveSpeakerDetail {
  peerId: string;
  name: string;
  /** It is us. */
  self: boolean;
}
/** Detail of `av-speaking`. */
export interface SpeakingDetail {
  peerId: string;
  speaking: boolean;
  self: boolean;
}
/** Detail of `av-network-quality`. */
export interface QualityDetail {
  peerId: string;
  quality: Quality;
  /** Round-trip time, seconds. */
  rtt: number | undefined;
  /** Share of packets lost over the last 2 s, 0–1. */
  loss: number;
  /** Bits per second received from the member. */
  bitrate: number;
}
/** Detail of `av-room-error`. */
export interface RoomErrorDetail {
  code: SessionErrorCode;
  message: string;
  /** Whether the session ended because of it. */
  fatal: boolean;
  /** The member concerned, for per-member problems such as `peer-unreachable`. */
  peerId?: string;
}

/** How long an element's first view may wait for the join to place its calls. */
const FIRST_VIEW_WAIT_MS = 400;

/**
 * Binds a RoomSession to an element's life: joins once the element is in the document, and leaves when it is
 * removed — but not when it is only moved (the check waits a microtask and re-reads `isConnected`).
 */
export class RoomController implements ReactiveController {
  session: RoomSession | undefined;
  state: SessionState = 'idle';
  /** The error that ended the last session, if one did. */
  lastError: SessionErrorCode | undefined;
  /** Who last asked us to mute, until the next join. */
  mutedBy: string | undefined;
  /** The remote member last found speaking loudest (the speaker layout shows it large). */
  spotlight: string | undefined;
  /** The member speaking loudest lately (may be us). */
  activeSpeaker: string | undefined;
  private unsubscribe: (() => void)[] = [];
  private pendingStart = false;
  private held: Event[] | undefined;
  /**
   * Resolves once the join being started has placed its calls, has failed, or has taken `FIRST_VIEW_WAIT_MS`; undefined
   * when no join was started. The element's first view waits for it: rendering holds the main thread, and the join's
   * round trips would wait behind it.
   */
  callsPlaced: Promise<void> | undefined;

  constructor(private readonly host: RoomControllerHost) {
    host.addController(this);
  }

  get peers(): RemotePeer[] {
    return [...(this.session?.peers.values() ?? [])];
  }

  hostConnected(): void {
    if (!this.session || this.state === 'closed' || this.state === 'error') this.scheduleStart();
  }

  hostDisconnected(): void {
    queueMicrotask(() => {
      if (!this.host.isConnected) this.stop('removed');
    });
  }

  /** Leaves (if joined) and joins again with the host's current options. */
  restart(): void {
    this.stop('left');
    this.scheduleStart();
  }

  private scheduleStart(): void {
    if (this.pendingStart) return;
    this.pendingStart = true;
    this.holdEventsUntilFirstView();
    this.callsPlaced = new Promise<void>((placed) => {
      setTimeout(placed, FIRST_VIEW_WAIT_MS);
      // After the script that connected us has run: a framework sets properties right after inserting the element.
      queueMicrotask(() => {
        this.pendingStart = false;
        if (this.host.isConnected && !this.session) this.start();
        void (this.session?.callsPlaced ?? Promise.resolve()).then(placed);
      });
    });
  }

  private start(): void {
    const options = this.host.sessionOptions();
    if (!options) return;
    let session: RoomSession;
    try {
      session = new RoomSession(options);
    } catch (err) {
      const e = err as { code?: SessionErrorCode; message: string };
      this.fire<RoomErrorDetail>('av-room-error', { code: e.code ?? 'bad-options', message: e.message, fatal: true });
      this.state = 'error';
      this.host.requestUpdate();
      return;
    }
    this.session = session;
    this.lastError = undefined;
    this.mutedBy = undefined;
    this.spotlight = undefined;
    this.activeSpeaker = undefined;
    // Companions (<av-chat for=…>, nested elements) follow the room's current session.
    this.fire<{ session: RoomSession }>('av-room-session', { session });
    const update = () => this.host.requestUpdate();
    this.unsubscribe = [
      session.on('state', ({ state }) => {
        this.state = state;
        if (state === 'connected') this.fire<RoomJoinDetail>('av-room-join', { room: session.room, peerId: session.peerId ?? '' });
        update();
      }),
      session.on('peer-join', ({ peer }) => {
        this.fire<PeerDetail>('av-peer-join', { peerId: peer.peerId, name: peer.name });
        update();
      }),
      session.on('peer-leave', ({ peer }) => {
        this.fire<PeerDetail>('av-peer-leave', { peerId: peer.peerId, name: peer.name });
        update();
      }),
      session.on('peer-update', update),
      session.on('path', ({ peer, path }) => {
        this.fire<PathDetail>('av-peer-path', { peerId: peer.peerId, path });
        update();
      }),
      session.on('message', ({ from, data, via, channel }) => {
        // Components' channels (chat, files) are theirs; the page hears its own messages.
        if (!channel) this.fire<MessageDetail>('av-room-message', { from, data, via });
      }),
      session.on('stream', update),
      session.on('local-stream', update),
      session.on('mute-request', ({ by }) => {
        this.mutedBy = by;
        this.fire<MuteRequestDetail>('av-room-mute-request', { by });
        update();
      }),
      session.on('warning', (w) => {
        this.fire<WarningDetail>('av-room-warning', w);
        update();
      }),
      session.on('devices', (d) => {
        this.fire<DevicesDetail>('av-devices-change', d);
        update();
      }),
      session.on('speaking', ({ peerId, speaking }) => {
        this.fire<SpeakingDetail>('av-speaking', { peerId, speaking, self: peerId === session.peerId });
        update();
      }),
      session.on('active-speaker', ({ peerId }) => {
        const self = peerId === session.peerId;
        if (!self) this.spotlight = peerId;
        this.activeSpeaker = peerId;
        this.fire<ActiveSpeakerDetail>('av-active-speaker', {
          peerId,
          name: self ? session.name : (session.peers.get(peerId)?.name ?? ''),
          self,
        });
        update();
      }),
      session.on('quality', ({ peer, quality, sample }) => {
        this.fire<QualityDetail>('av-network-quality', {
          peerId: peer.peerId,
          quality,
          rtt: sample.rtt,
          loss: sample.loss,
          bitrate: sample.bitrate,
        });
        update();
      }),
      session.on('error', (e) => {
        if (e.fatal) this.lastError = e.code;
        this.fire<RoomErrorDetail>('av-room-error', e);
        if (e.fatal) this.fire<RoomLeaveDetail>('av-room-leave', { room: session.room, reason: 'error' });
        update();
      }),
    ];
    session.join().catch(() => {
      /* reported through the error event */
    });
  }

  /** Leaves the room and releases everything. Idempotent. */
  stop(reason: RoomLeaveDetail['reason']): void {
    const session = this.session;
    if (!session) return;
    this.session = undefined;
    const wasLive = session.state !== 'closed' && session.state !== 'error';
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
    session.destroy();
    if (wasLive) {
      this.state = 'closed';
      this.fire<RoomLeaveDetail>('av-room-leave', { room: session.room, reason });
    }
    this.host.requestUpdate();
  }

  private fire<T>(type: string, detail: T): void {
    const event = new CustomEvent<T>(type, { detail, bubbles: true, composed: true });
    if (this.held) this.held.push(event);
    else this.host.dispatchEvent(event);
  }

  /**
   * Events of a join that started before the element's first view are held until that view has rendered, and sent
   * in a task of their own: a page that awaits `updateComplete` and then listens hears them all.
   */
  private holdEventsUntilFirstView(): void {
    if (this.host.hasUpdated || this.held) return;
    const held: Event[] = (this.held = []);
    void this.host.updateComplete.then(() =>
      setTimeout(() => {
        this.held = undefined;
        for (const event of held) this.host.dispatchEvent(event);
      }),
    );
  }
}
