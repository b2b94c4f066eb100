import type { DataConnection, MediaConnection } from 'peerjs';
import { decodeFrame, type AppMessage } from './data-protocol.js';
import { placeholderTracks, type LocalMedia } from './local-media.js';
import type { Log } from './log.js';
import type { MediaState, MemberInfo, Role } from './room-protocol.js';

/** How data reaches a member: directly, through the TURN relay, or through our server's WebSocket. */
export type DataPath = 'p2p' | 'turn' | 'server';

/** What a page sees of one remote member. */
export interface RemotePeer {
  readonly peerId: string;
  readonly name: string;
  readonly role: Role;
  /** Identity vouched for by the app's backend (token), if any. */
  readonly identity?: string;
  /** What the member says it sends (mic on, camera on). */
  readonly media: MediaState;
  /** The member's audio and video, once the call is set up. */
  readonly stream: MediaStream | undefined;
  /** How data reaches this member; `undefined` until known. */
  readonly path: DataPath | undefined;
  /** The media connection was lost and is being restored (the member is still in the room). */
  readonly reconnecting: boolean;
  /** Who sends us this member's media when it is not the member itself: a viewer forwarding it (broadcast tree, proxy). */
  readonly via: string | undefined;
}

export interface PeerLinkEvents {
  stream(link: PeerLink): void;
  path(link: PeerLink): void;
  message(link: PeerLink, data: AppMessage, channel?: string): void;
  /** Media could not connect within the deadline, or ICE failed. */
  unreachable(link: PeerLink, reason: string): void;
  /** The media connection was up and is not now (ICE disconnected or failed): `reconnecting` is set. */
  lost(link: PeerLink): void;
  /** It stayed down (ICE failed, or disconnected past a grace period): the call needs placing again. */
  restart(link: PeerLink): void;
  /** The media connection is up again after `lost`. */
  recovered(link: PeerLink): void;
}

/** How long a data channel may take to open before data goes through the server instead. */
const DATA_CHANNEL_DEADLINE_MS = 8000;
/** How long ICE may stay `disconnected` (it often comes back by itself) before the call is placed again. */
const DISCONNECTED_GRACE_MS = 3000;
/** The data connection waits for the member's media to flow (two handshakes at once slow the first frame), at most this long. */
const DATA_AFTER_MEDIA_MAX_MS = 2000;
/** …and this much longer, for the first frame to be decoded and drawn. */
const FIRST_FRAME_MS = 150;
/**
 * A new call's video starts at most this wide (a camera's 640x480 as 160x120), for this long after the link is up,
 * then at full size (bench/join.mjs: 640 wide ~0.65 s after the join began). Chromium paces a keyframe out at the
 * start bitrate: the small one reached a newcomer ~7 ms sooner at 640x480 in 20-run medians (more at 1280x720, whose
 * keyframe is larger). Shared screens start at full size.
 */
const FAST_START_WIDTH = 160;
const FAST_START_MS = 500;

/** One remote member: its roster entry, the media call and the data channel with it. */
export class PeerLink implements RemotePeer {
  readonly peerId: string;
  readonly role: Role;
  readonly identity?: string;
  name: string;
  media: MediaState;
  stream: MediaStream | undefined;
  /**
   * The stream of the call we hung up (its tracks ended). A forwarder keeps the calls to its children up with it, so
   * they are connected by the time the next stream comes, whose tracks then replace these.
   */
  lastStream: MediaStream | undefined;
  path: DataPath | undefined;
  reconnecting = false;
  via: string | undefined;
  /** The session is placing calls to restore it (one loop at a time). */
  recovering = false;
  /** The media call has been connected at least once. */
  private wasConnected = false;
  private disconnectedTimer: ReturnType<typeof setTimeout> | undefined;
  /** Declares the current data connection's path dead (set while one is watched). */
  private dataPathDead: (() => void) | undefined;
  private call: MediaConnection | undefined;
  private data: DataConnection | undefined;
  private closed = false;
  private deadline: ReturnType<typeof setTimeout> | undefined;
  private reportedUnreachable = false;
  /** Encoder limits for what we send (bits per second); applied once the call is connected, and on change. */
  private encoding: { audio?: number; video?: number } = {};
  /** The current call's video is in its fast start (see FAST_START_WIDTH). */
  private fastStart = false;
  /** setParameters calls one at a time (a second one while the first is pending is refused). */
  private encodingApplied: Promise<void> = Promise.resolve();
  /** We opened the data connection (so we re-open it when it drops), and it was open at least once. */
  dataInitiator = false;
  hadData = false;

  constructor(
    member: MemberInfo,
    private readonly events: PeerLinkEvents,
    private readonly log: Log,
  ) {
    this.peerId = member.peerId;
    this.name = member.name;
    this.media = member.media;
    this.role = member.role;
    if (member.identity) this.identity = member.identity;
  }

  get peerConnection(): RTCPeerConnection | undefined {
    return this.call?.peerConnection;
  }

  get dataChannel(): RTCDataChannel | undefined {
    return this.data?.dataChannel;
  }

  /** The peer connection carrying data with this member, once its data channel is open (for extra channels). */
  get dataPeerConnection(): RTCPeerConnection | undefined {
    return this.data?.open ? this.data.peerConnection : undefined;
  }

  /** Starts the clock: data that cannot go peer-to-peer in time goes through the server. */
  startDeadline(ms = DATA_CHANNEL_DEADLINE_MS): void {
    clearTimeout(this.deadline);
    this.deadline = setTimeout(() => {
      if (this.closed) return;
      if (!this.data?.open) this.setPath('server');
      const ice = this.peerConnection?.iceConnectionState;
      if (ice !== 'connected' && ice !== 'completed')
        this.reportUnreachable(`no peer-to-peer or relay connection within ${ms} ms (ICE ${ice ?? 'not started'})`);
    }, ms);
  }

  /**
   * Takes over a media call, placed by us (`start` calls `peer.call`) or received (`start` answers it).
   * Every call carries an audio and a video transceiver able to send, whatever we have now.
   */
  attachCall(local: LocalMedia, start: (stream: MediaStream) => MediaConnection | undefined): void {
    if (this.closed) return;
    const spare = local.audioTrack && local.videoTrack ? undefined : placeholderTracks(!local.audioTrack, !local.videoTrack);
    const tracks = [
      local.audioTrack ?? spare?.tracks.find((t) => t.kind === 'audio'),
      local.videoTrack ?? spare?.tracks.find((t) => t.kind === 'video'),
    ];
    const call = start(new MediaStream(tracks.filter((t): t is MediaStreamTrack => !!t)));
    if (!call) {
      spare?.stop();
      return;
    }
    this.via = undefined;
    this.takeCall(call);
    if (spare) {
      for (const sender of call.peerConnection?.getSenders() ?? []) {
        if (sender.track && spare.tracks.includes(sender.track)) void sender.replaceTrack(null);
      }
      spare.stop();
    }
  }

  /**
   * Takes a call from `call.peer` that forwards this member's media (a forwarding tree's parent, or a proxy we asked):
   * answered receive-only, it replaces the call we had for this member's media.
   */
  attachForwarded(call: MediaConnection): void {
    if (this.closed) return void call.close();
    this.via = call.peer;
    this.takeCall(call);
    call.answer();
  }

  /**
   * Ends the media call and the data connection, keeping the member. With `expectMedia` its media will come another
   * way (through a forwarder, or a call of ours): shown as reconnecting until it does.
   */
  hangUp(expectMedia: boolean): void {
    if (this.call || this.data) {
      this.endConnections();
      this.dataInitiator = false;
      this.hadData = false;
      // The next call brings the next stream; until then a forwarder keeps its children's calls up with this one.
      this.lastStream = this.stream ?? this.lastStream;
      this.stream = undefined;
      if (this.wasConnected && expectMedia) this.markLost();
    }
    this.setPath('server');
  }

  private takeCall(call: MediaConnection): void {
    // A call that replaces one that was up and is not any more: restoring the media, until the new one connects.
    const previous = this.call?.peerConnection?.iceConnectionState;
    if (this.wasConnected && previous !== 'connected' && previous !== 'completed') this.reconnecting = true;
    this.call?.close();
    this.call = call;
    const pc = call.peerConnection;
    const negotiated = () => !pc || (pc.signalingState === 'stable' && !!pc.remoteDescription);
    // A stream is shown once offer and answer are both set, in a task of its own: showing it starts its players (~20 ms
    // of the main thread in a member answering a newcomer), which would otherwise hold back our answer. No media flows
    // before the link is up anyway.
    let unshown = false;
    const show = () => nextTask(() => this.call === call && !this.closed && this.events.stream(this));
    call.on('stream', (stream) => {
      if (this.call !== call) return;
      this.stream = stream;
      if (negotiated()) show();
      else unshown = true;
    });
    call.on('error', (err) => this.log.warn('call error', this.peerId, err.message));
    this.fastStart = true;
    let started = false;
    pc?.addEventListener('signalingstatechange', () => {
      if (this.call !== call || !negotiated()) return;
      // The fast start is in place before the link is up, so the first keyframe is already the small one.
      void this.applyEncoding();
      if (unshown) {
        unshown = false;
        show();
      }
    });
    pc?.addEventListener('iceconnectionstatechange', () => {
      if (this.call !== call || this.closed) return;
      const ice = pc.iceConnectionState;
      clearTimeout(this.disconnectedTimer);
      if (ice === 'connected' || ice === 'completed') {
        this.wasConnected = true;
        if (!started) {
          started = true;
          setTimeout(() => {
            if (this.call !== call || this.closed) return;
            this.fastStart = false;
            void this.applyEncoding();
          }, FAST_START_MS);
        }
        void this.applyEncoding();
        if (this.reconnecting) {
          this.reconnecting = false;
          this.events.recovered(this);
        }
      } else if (ice === 'failed') {
        if (!this.wasConnected) return this.reportUnreachable('ICE failed');
        this.markLost();
        this.events.restart(this);
      } else if (ice === 'disconnected' && this.wasConnected) {
        this.markLost();
        // The data path went quiet first: with the media gone too, it is not a flicker.
        if (this.data?.peerConnection?.iceConnectionState === 'disconnected') this.dataPathDead?.();
        this.disconnectedTimer = setTimeout(() => {
          if (this.call === call && pc.iceConnectionState !== 'connected' && pc.iceConnectionState !== 'completed')
            this.events.restart(this);
        }, DISCONNECTED_GRACE_MS);
      }
    });
  }

  /**
   * Resolves once media flows from the member (the first packets of its video, else of its audio: the track unmutes),
   * plus a moment for the first frame to be drawn; at once when the call settled and the member sends nothing; at
   * most after `maxMs`. The data connection opens then, so its handshake does not delay the first frame.
   */
  async mediaFlowing(maxMs = DATA_AFTER_MEDIA_MAX_MS): Promise<void> {
    const end = Date.now() + maxMs;
    await this.mediaSettled(maxMs);
    const pc = this.peerConnection;
    const kind = this.media.video ? 'video' : this.media.audio ? 'audio' : undefined;
    const track = kind && pc?.getReceivers().find((r) => r.track.kind === kind)?.track;
    if (!track || !['connected', 'completed'].includes(pc.iceConnectionState)) return;
    if (track.muted) await event(track, 'unmute', end - Date.now());
    await new Promise((r) => setTimeout(r, Math.max(0, Math.min(FIRST_FRAME_MS, end - Date.now()))));
  }

  /** Resolves once the call we placed has its offer set (PeerJS sends it right then), or after `maxMs`. */
  offerMade(maxMs: number): Promise<void> {
    const pc = this.peerConnection;
    if (!pc || pc.signalingState !== 'stable' || pc.localDescription) return Promise.resolve();
    return event(pc, 'signalingstatechange', maxMs);
  }

  /** Resolves once the media call is connected (or failed), or after `maxMs`. */
  private mediaSettled(maxMs = DATA_AFTER_MEDIA_MAX_MS): Promise<void> {
    const pc = this.peerConnection;
    return new Promise((resolve) => {
      const settled = () => !pc || ['connected', 'completed', 'failed', 'closed'].includes(pc.iceConnectionState);
      if (settled()) return resolve();
      const timer = setTimeout(done, maxMs);
      function done() {
        clearTimeout(timer);
        pc?.removeEventListener('iceconnectionstatechange', check);
        resolve();
      }
      function check() {
        if (settled()) done();
      }
      pc?.addEventListener('iceconnectionstatechange', check);
    });
  }

  /** Takes over the data connection (ours or the member's). */
  attachData(conn: DataConnection): void {
    if (this.closed) return void conn.close();
    this.data?.close();
    this.data = conn;
    conn.on('open', () => {
      if (this.data !== conn) return;
      this.hadData = true;
      void this.detectPath(conn);
    });
    conn.on('data', (frame) => {
      const decoded = decodeFrame(frame);
      if (decoded.kind === 'invalid') return this.log.warn(`dropped a frame from ${this.peerId}: ${decoded.reason}`);
      this.events.message(this, decoded.data, decoded.channel);
    });
    conn.on('close', () => {
      if (this.data === conn && !this.closed) this.setPath('server');
    });
    conn.on('error', (err) => this.log.warn('data error', this.peerId, err.message));
    this.watchDataPath(conn);
  }

  /**
   * A data channel whose path died stays "open" and swallows what is sent (SCTP waits for ICE): its ICE `failed`, or
   * `disconnected` past the grace, closes it, so data goes through the server (transfers pause) until the side that
   * opened it opens a new one.
   */
  private watchDataPath(conn: DataConnection): void {
    const pc = conn.peerConnection as RTCPeerConnection | undefined;
    if (!pc) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const dead = () => {
      if (this.data !== conn || this.closed || !conn.open) return;
      this.log.info('data path with', this.peerId, 'lost: through the server until a new one opens');
      conn.close();
    };
    this.dataPathDead = dead;
    pc.addEventListener('iceconnectionstatechange', () => {
      clearTimeout(timer);
      if (pc.iceConnectionState === 'failed') dead();
      else if (pc.iceConnectionState === 'disconnected') {
        // With the media to this member gone quiet as well, the path is gone, not flickering: no grace.
        const media = this.call?.peerConnection?.iceConnectionState;
        const grace = media === 'disconnected' || media === 'failed' ? 0 : DISCONNECTED_GRACE_MS;
        timer = setTimeout(() => pc.iceConnectionState === 'disconnected' && dead(), grace);
      }
    });
  }

  /** Whether media or data still flows with this member (its ICE connected, or its data channel open). */
  get connected(): boolean {
    const ice = this.peerConnection?.iceConnectionState;
    return ice === 'connected' || ice === 'completed' || !!this.data?.open;
  }

  /** Whether this link is closed for good (the member left or we did). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends an encoded frame on the data channel; false when it is not open. */
  sendFrame(frame: string | ArrayBuffer): boolean {
    if (!this.data?.open || this.path === 'server') return false;
    try {
      // Raw frames are sent at once; a promise (chunked sends) that fails falls back to the server too.
      Promise.resolve(this.data.send(frame)).catch((err: Error) => {
        this.log.warn('data channel send failed; falling back to the server', err.message);
        this.setPath('server');
      });
      return true;
    } catch (err) {
      this.log.warn('data channel send failed; falling back to the server', (err as Error).message);
      this.setPath('server');
      return false;
    }
  }

  private async detectPath(conn: DataConnection): Promise<void> {
    let relay = false;
    try {
      const stats = await conn.peerConnection.getStats();
      stats.forEach((s: { type: string; selectedCandidatePairId?: string }) => {
        if (s.type !== 'transport' || !s.selectedCandidatePairId) return;
        const pair = stats.get(s.selectedCandidatePairId) as { localCandidateId?: string; remoteCandidateId?: string } | undefined;
        const candidate = (id: string | undefined) => (id ? (stats.get(id) as { candidateType?: string } | undefined) : undefined);
        const local = candidate(pair?.localCandidateId);
        const remote = candidate(pair?.remoteCandidateId);
        if (local?.candidateType === 'relay' || remote?.candidateType === 'relay') relay = true;
      });
    } catch {
      /* the path is still peer-to-peer of some kind */
    }
    if (this.data === conn && !this.closed) this.setPath(relay ? 'turn' : 'p2p');
  }

  private setPath(path: DataPath): void {
    if (this.path === path) return;
    this.path = path;
    this.events.path(this);
  }

  private markLost(): void {
    if (this.reconnecting || this.closed) return;
    this.reconnecting = true;
    this.events.lost(this);
  }

  private reportUnreachable(reason: string): void {
    if (this.reportedUnreachable || this.closed) return;
    this.reportedUnreachable = true;
    this.events.unreachable(this, reason);
  }

  /** Sends `track` (or nothing) as our audio or video to this member without renegotiating. */
  async replaceTrack(kind: 'audio' | 'video', track: MediaStreamTrack | null): Promise<void> {
    const transceiver = this.peerConnection
      ?.getTransceivers()
      .find((t) => t.receiver.track.kind === kind && t.currentDirection !== 'stopped');
    if (transceiver) await transceiver.sender.replaceTrack(track);
  }

  /** Sets the encoder limits of what we send to this member (RTCRtpSender.setParameters; no renegotiation). */
  async setEncoding(encoding: { audio?: number; video?: number }): Promise<void> {
    this.encoding = { ...encoding };
    await this.applyEncoding();
  }

  private applyEncoding(): Promise<void> {
    return (this.encodingApplied = this.encodingApplied.then(() => this.setParameters()));
  }

  private async setParameters(): Promise<void> {
    const pc = this.peerConnection;
    if (!pc || pc.signalingState !== 'stable') return;
    for (const t of pc.getTransceivers()) {
      const kind = t.receiver.track.kind as 'audio' | 'video';
      if (t.currentDirection === 'stopped' || !t.currentDirection) continue;
      const params = t.sender.getParameters();
      const first = params.encodings?.[0];
      if (!first) continue;
      const max = this.encoding[kind];
      const scale = kind === 'video' ? this.videoScale(t.sender.track) : 1;
      if (first.maxBitrate === max && (kind === 'audio' || (first.scaleResolutionDownBy ?? 1) === scale)) continue;
      if (max) first.maxBitrate = max;
      else delete first.maxBitrate;
      if (kind === 'video') first.scaleResolutionDownBy = scale;
      try {
        await t.sender.setParameters(params);
      } catch (err) {
        this.log.warn('setParameters failed', this.peerId, (err as Error).message);
      }
    }
  }

  /** How much our video to this member is scaled down now: only during a call's fast start, never a shared screen. */
  private videoScale(track: MediaStreamTrack | null): number {
    if (!this.fastStart || track?.contentHint === 'detail' || track?.contentHint === 'text') return 1;
    // No track yet (capture still starting): a camera's usual 640 wide.
    return Math.max(1, (track?.getSettings().width ?? 640) / FAST_START_WIDTH);
  }

  /** WebRTC statistics of the media call with this member. */
  async getStats(): Promise<RTCStatsReport | undefined> {
    return this.peerConnection?.getStats();
  }

  /** Hangs up and closes the data channel. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.deadline);
    this.endConnections();
  }

  private endConnections(): void {
    clearTimeout(this.disconnectedTimer);
    const pcs = [this.call?.peerConnection, this.data?.peerConnection];
    this.data?.close();
    this.call?.close();
    // Don't wait for PeerJS's close handshake: a connection we close may never report it.
    for (const pc of pcs) pc?.close();
    this.call = undefined;
    this.data = undefined;
  }
}

/** Resolves when `target` fires `type`, or after `ms`. */
function event(target: EventTarget, type: string, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      target.removeEventListener(type, done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    target.addEventListener(type, done, { once: true });
  });
}

/** Runs `fn` in a task of its own, after the current one and its promise callbacks (timers would be throttled in background tabs). */
function nextTask(fn: () => void): void {
  const channel = new MessageChannel();
  channel.port1.onmessage = () => {
    channel.port1.close();
    fn();
  };
  channel.port2.postMessage(null);
}
