import { ConnectionType, Peer, type DataConnection, type MediaConnection, type PeerError } from 'peerjs';
import {
  CHANNEL,
  MAX_APP_MESSAGE_BYTES,
  MAX_RELAY_MESSAGE_BYTES,
  asBytes,
  encodeApp,
  frameSize,
  fromBase64,
  toBase64,
  type AppMessage,
} from './data-protocol.js';
import { Emitter } from './emitter.js';
import { SessionError, type SessionErrorCode } from './errors.js';
import {
  ActiveSpeaker,
  LevelMeter,
  SpeakingDetector,
  classifyQuality,
  qualityCounters,
  qualitySample,
  receiverLevel,
  type Quality,
  type QualityCounters,
  type QualitySample,
} from './activity.js';
import { listDevices, rememberedDevices, resolveDevice, saveDevicePreference, type DeviceKind } from './devices.js';
import { LocalMedia } from './local-media.js';
import type { AudioSettings, MediaSettings, VideoSettings } from './media-settings.js';
import { opusParams, preferCodec, setOpusParams, startVideoBitrate } from './sdp.js';
import { createLog, type Log, type LogLevel } from './log.js';
import { PeerLink, type DataPath, type RemotePeer } from './peer-link.js';
import { RoomLink, parseServerList, type JoinedMessage, type ServerAddress } from './room-link.js';
import {
  ROOM_NAME,
  shouldConnect,
  type MediaState,
  type MemberInfo,
  type Payload,
  type Role,
  type Route,
  type ServerMessage,
} from './room-protocol.js';
import { SignallingGate, sendWhenOpen } from './signalling-gate.js';

export type SessionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed' | 'error';

export interface RoomSessionOptions {
  /**
   * Base URL of the av-server, e.g. `https://av.example.com`, or an ordered list of them (an array, or URLs separated
   * by spaces or commas): when the current one is lost, the session moves to the next with the same identity while
   * calls in progress keep flowing. Default: the page's origin.
   */
  server?: string | string[];
  /** Room name (1–64 characters). */
  room: string;
  /** Display name shown to others. */
  name: string;
  /** Send the microphone: `true`, `false` or constraints. Default true (never for viewers). */
  audio?: boolean | MediaTrackConstraints;
  /** Send the camera: `true`, `false` or constraints. Default true (never for viewers). */
  video?: boolean | MediaTrackConstraints;
  /** Join with the microphone muted. */
  muted?: boolean;
  /** Send this stream instead of capturing devices (change it later with `setLocalStream`). */
  localStream?: MediaStream;
  /** Capture, processing and encoder parameters; change them live with `updateMedia`. */
  settings?: { video?: Partial<VideoSettings>; audio?: Partial<AudioSettings> };
  /** Devices to capture from (ids from `listDevices()`). Default: the ones chosen last on this origin, if present. */
  devices?: { audioinput?: string; videoinput?: string; audiooutput?: string };
  /** Remember device choices on this origin (IndexedDB) and pick them again. Default true. */
  rememberDevices?: boolean;
  /** Tracks already captured (a pre-join preview): sent instead of opening the devices again; the session stops them. */
  captured?: MediaStream;
  /** Measure speaking, the active speaker and connection quality. Default true. */
  monitor?: boolean;
  /** `member` (mesh, default); in broadcast rooms `presenter` publishes and `viewer` only watches. */
  role?: Role;
  /** Server password. */
  key?: string;
  /** Room password. */
  password?: string;
  /** Signed room token from the app's backend. */
  token?: string;
  /** Largest mesh this member accepts (the first member's value sets the room's limit unless configured). */
  maxParticipants?: number;
  /**
   * Broadcast rooms: most viewers one member sends to (the first member's value, up to the server's, sets the room's);
   * the others receive through viewers that forward.
   */
  fanout?: number;
  /** `relay` forces every connection through the TURN relay (privacy; tests). Default `all`. */
  icePolicy?: RTCIceTransportPolicy;
  /** Console logging of the core. Default `warn`. */
  logLevel?: LogLevel;
}

export interface SessionEvents {
  state: { state: SessionState; previous: SessionState };
  /** A member is in the room (also fired for members present when we join). */
  'peer-join': { peer: RemotePeer };
  'peer-leave': { peer: RemotePeer };
  /** A member's name or media state changed. */
  'peer-update': { peer: RemotePeer };
  /** A member's media arrived or changed. */
  stream: { peer: RemotePeer; stream: MediaStream };
  /** Our own tracks changed (camera turned on or off). */
  'local-stream': { stream: MediaStream };
  /** How data reaches a member changed (`p2p`, `turn` or `server`). */
  path: { peer: RemotePeer; path: DataPath };
  /** Data on the transparent channel, from a member or from `'server'`. Bytes arrive as a Uint8Array. */
  message: { from: string; data: AppMessage; via: DataPath; channel?: string };
  /** The server application asked us to mute; the microphone is already muted. `by` says who asked. */
  'mute-request': { by: string };
  /** Something was done differently from what was asked (`media-fallback`, `codec-unavailable`), or a device went away (`device-lost`). */
  warning: { code: 'media-fallback' | 'codec-unavailable' | 'device-lost' | 'media-unavailable'; message: string };
  /** The devices in use changed (a choice, or a fallback after one went away). */
  devices: { audioinput?: string; videoinput?: string; audiooutput?: string };
  /** A member (or we: our own peer id) started or stopped speaking, from measured audio levels. */
  speaking: { peerId: string; speaking: boolean };
  /** The member speaking loudest for a while changed (our own peer id when it is us). */
  'active-speaker': { peerId: string };
  /**
   * Broadcast rooms: our place in the forwarding tree changed (where the presenters' media comes from, whom we forward
   * it to; presenters also get the whole tree).
   */
  route: { route: Route };
  /** A member's connection quality changed (`good`, `fair`, `poor`), measured every 2 s from getStats. */
  quality: { peer: RemotePeer; quality: Quality; sample: QualitySample };
  error: { code: SessionErrorCode; message: string; fatal: boolean; peerId?: string };
}

export interface SendOptions {
  /** A member's peer id, `'*'` for every member (default), or `'server'` for the server application. */
  to?: string;
  /** @internal A named channel (JSON only) used by components such as <av-chat>; the page's own messages have none. */
  channel?: string;
}

/** Retries to reach a server after losing ours: 250 ms, doubling, at most this far apart. Never given up. */
const RETRY_MAX_MS = 5000;
/** After a move to a server that does not list a member (a standby sharing nothing), how often its call is checked. */
const ABSENT_CHECK_MS = 5000;
/** Between attempts to restore a lost media connection, at most. */
const RECOVER_MAX_MS = 6000;
/** Audio levels are read this often (speaking, active speaker); quality every QUALITY_EVERY ticks. */
const LEVEL_TICK_MS = 200;
/** How long `callsPlaced` waits for the offers of the join's calls to be made. */
const OFFER_WAIT_MS = 300;
const QUALITY_EVERY = 10;
/** Our own speaking meter starts this long after joining, once the first calls are up. */
const LOCAL_METER_AFTER_MS = 2000;
/** Opus bitrate receivers ask of a member sending stereo (music) when it says nothing else. */
const STEREO_BITRATE = 128_000;
/**
 * The bitrate (kbit/s) a member is asked to start sending us video at: from Chromium's default 300 kbit/s the first
 * frame at 640x480 reached the newcomer 88 ms after the link was up, from 1000 kbit/s 53 ms (bench/join.mjs timeline);
 * at 1280x720 Chromium dropped the first frames while it scaled down. Congestion control takes over from there, and a
 * sender's `max-bitrate` still caps its encoder.
 */
const START_VIDEO_KBPS = 1000;
/** The internal channel on which a member asks another to forward a stream to it. */
const FORWARD_CHANNEL = 'av-forward';
/** Times we register with PeerServer again after our socket to it dropped, 1 s, 2 s, … apart, before giving up. */
const SIGNALLING_RETRIES = 5;
/** A forwarding call not connected this long after we placed it is closed and placed again. */
const FORWARD_CONNECT_MS = 8000;
/** How long a forwarded call from a member that is not our parent yet waits for the route that makes it one. */
const EARLY_FORWARD_MS = 3000;
/** A viewer whose forwarded media has not started this long after it was given a parent asks the server for another. */
const FORWARD_DEADLINE_MS = 10_000;
/** A forwarding call that closes while still wanted is placed again at most this many times (until one connects). */
const FORWARD_RETRIES = 3;
/** SDP encoding names of the codec choices. */
const CODEC_NAMES: Record<string, string> = {
  vp8: 'VP8',
  vp9: 'VP9',
  h264: 'H264',
  av1: 'AV1',
  opus: 'opus',
  red: 'red',
  g722: 'G722',
  pcmu: 'PCMU',
  pcma: 'PCMA',
};

/**
 * A member's presence in one room: the room-service link, the PeerJS peer, and one link per remote member.
 * The newcomer calls every member already present, so calls never cross.
 */
export class RoomSession extends Emitter<SessionEvents> {
  readonly room: string;
  readonly name: string;
  readonly role: Role;
  private readonly servers: ServerAddress[];
  private serverIndex = 0;
  private readonly log: Log;
  private readonly media: LocalMedia;
  private readonly links = new Map<string, PeerLink>();
  /** Only members we connect with reach PeerJS; others are never answered. */
  private readonly gate: SignallingGate;
  private roomLink: RoomLink | undefined;
  private peer: Peer | undefined;
  /** Peers registered with servers we lost: they still own live calls, so they are only destroyed at the end. */
  private readonly retiredPeers: Peer[] = [];
  /** Registrations with PeerServer tried since our socket to it last dropped (reset when it opens). */
  private signallingRetries = 0;
  /** Members the server we moved to does not list, watched while their call lasts. */
  private readonly absentChecks = new Map<string, ReturnType<typeof setInterval>>();
  /** Data for the server (or relayed through it) sent while reconnecting: delivered once rejoined. */
  private outbox: (() => void)[] = [];
  private _state: SessionState = 'idle';
  private _peerId: string | undefined;
  /** Owns our peer id: given back to a server (this one or a standby) to return as the same member. */
  private resumeToken: string | undefined;
  private joining: Promise<void> | undefined;
  private callsPlacedNow: () => void = () => {};
  /**
   * Resolves once joining has placed its calls to the members present (their media starts flowing), or has ended.
   * A page's first paint can wait for it: rendering meanwhile would hold up the join's round trips.
   */
  readonly callsPlaced = new Promise<void>((resolve) => (this.callsPlacedNow = resolve));
  /** Settles once local capture has succeeded or failed: calls are answered only then. */
  private mediaReady: Promise<void> = Promise.resolve();
  /** The speaker (audio output) chosen for this session; the elements route remote audio to it. */
  private speakerId: string | undefined;
  private monitorTimer: ReturnType<typeof setInterval> | undefined;
  private monitorStarted = 0;
  private monitorTick = 0;
  private readonly speaking = new Map<string, SpeakingDetector>();
  private readonly activeSpeaker = new ActiveSpeaker();
  private readonly levels = new Map<RTCRtpReceiver, number>();
  private readonly quality = new Map<string, { counters: QualityCounters; quality?: Quality }>();
  private localMeter: { track: MediaStreamTrack; meter: LevelMeter } | undefined;
  private readonly warned = new Set<string>();
  /** Track replacements on the calls still under way: methods that change tracks resolve once they are done. */
  private replacing: Promise<void> = Promise.resolve();
  /** Broadcast rooms: our place in the forwarding tree, as the server last said. */
  private _route: Route | undefined;
  /** Calls we place to forward a member's media (to our children in the tree, or on request), by `to\nowner`. */
  private readonly forwards = new Map<string, { call: MediaConnection; stream: MediaStream }>();
  /** Forwarding calls that closed while still wanted, by `to\nowner`: how often they were placed again. */
  private readonly forwardRetries = new Map<string, number>();
  /** Forwards asked of us explicitly (`forward()`), by `to\nowner`. */
  private readonly explicitForwards = new Set<string>();
  /** Forwards we asked for (`requestForward()`), by `via\nowner`: only these are taken from members who are not our parent. */
  private readonly forwardRequests = new Set<string>();
  /** Forwarded calls that came before the route naming their caller our parent (each waits once). */
  private readonly earlyForwards = new WeakSet<MediaConnection>();
  /** Checks that the media our parent forwards has started. */
  private forwardDeadline: ReturnType<typeof setTimeout> | undefined;
  /** The parent we last reported lost (once per parent). */
  private reportedLost: string | undefined;

  constructor(readonly options: RoomSessionOptions) {
    super();
    if (!ROOM_NAME.test(options.room ?? ''))
      throw new SessionError('bad-options', 'room must be 1–64 characters without "/" or control characters');
    this.room = options.room;
    this.name = (options.name ?? '').trim() || 'Guest';
    this.role = options.role ?? 'member';
    this.servers = parseServerList(options.server);
    this.log = createLog(`room ${this.room}`, options.logLevel);
    this.gate = new SignallingGate(
      (peerId) => this.links.has(peerId) || this._route?.parent === peerId || !!this._route?.children.includes(peerId),
      this.log,
    );
    const publishes = this.role !== 'viewer';
    const constraints = (c: boolean | MediaTrackConstraints | undefined) => (typeof c === 'object' ? c : {});
    const audio = constraints(options.audio);
    const video = constraints(options.video);
    const deviceOf = (c: MediaTrackConstraints) => {
      const id = c.deviceId;
      if (typeof id === 'string') return id;
      if (id && typeof id === 'object' && !Array.isArray(id)) {
        const exact = id.exact ?? id.ideal;
        if (typeof exact === 'string') return exact;
      }
      return undefined;
    };
    this.speakerId = options.devices?.audiooutput;
    this.media = new LocalMedia({
      audio: publishes && (options.audio ?? true) !== false,
      video: publishes && (options.video ?? true) !== false,
      stream: publishes ? options.localStream : undefined,
      settings: {
        // Constraints given the old way (`audio: { echoCancellation: false }`) still count.
        video: {
          ...(typeof video.width === 'number' ? { width: video.width } : {}),
          ...(typeof video.height === 'number' ? { height: video.height } : {}),
          ...(typeof video.frameRate === 'number' ? { frameRate: video.frameRate } : {}),
          ...options.settings?.video,
        },
        audio: {
          ...(typeof audio.echoCancellation === 'boolean' ? { echoCancellation: audio.echoCancellation } : {}),
          ...(typeof audio.noiseSuppression === 'boolean' ? { noiseSuppression: audio.noiseSuppression } : {}),
          ...(typeof audio.autoGainControl === 'boolean' ? { autoGainControl: audio.autoGainControl } : {}),
          ...(typeof audio.sampleRate === 'number' ? { sampleRate: audio.sampleRate } : {}),
          ...(typeof audio.channelCount === 'number' ? { channels: audio.channelCount === 2 ? 2 : 1 } : {}),
          ...options.settings?.audio,
        },
      },
      devices: {
        audioinput: options.devices?.audioinput ?? deviceOf(audio),
        videoinput: options.devices?.videoinput ?? deviceOf(video),
      },
      ...(publishes && options.captured ? { captured: options.captured } : {}),
    });
    if (options.muted) this.media.setAudioEnabled(false);
    this.media.on('track', ({ kind, track }) => this.onLocalTrack(kind, track));
    this.media.on('warning', (w) => this.emit('warning', w));
  }

  get state(): SessionState {
    return this._state;
  }

  /** In the room: `connected`, or `reconnecting` (signalling is away but calls and data continue). */
  get live(): boolean {
    return this._state === 'connected' || this._state === 'reconnecting';
  }

  /** Base URL of the server the session is on now. */
  get server(): string {
    return this.servers[this.serverIndex]!.origin + this.servers[this.serverIndex]!.base;
  }

  /** Our id in the room, once joined. */
  get peerId(): string | undefined {
    return this._peerId;
  }

  /** Our own audio and video (what the self-view shows). */
  get localStream(): MediaStream {
    return this.media.stream;
  }

  /** Whether our microphone and camera are on (and whether the video is a shared screen). */
  get localMedia(): { audio: boolean; video: boolean; screen?: boolean } {
    return this.media.state;
  }

  /** Whether our microphone is muted (by `setAudioEnabled(false)`, the `muted` option or a moderator's request). */
  get audioMuted(): boolean {
    return this.media.audioMuted;
  }

  /** What could not be opened at join (no such device, or permission denied): we then receive only. */
  get mediaUnavailable(): { audio: boolean; video: boolean } {
    return { ...this.media.unavailable };
  }

  /** Why devices could not be opened: the browser's error name (`NotAllowedError`: refused, `NotFoundError`: none). */
  get mediaError(): string | undefined {
    return this.media.errorName;
  }

  /** The capture, processing and encoder parameters in effect. */
  get mediaSettings(): MediaSettings {
    return { video: { ...this.media.settings.video }, audio: { ...this.media.settings.audio } };
  }

  /** The devices in use: microphone and camera (from their tracks), and the chosen speaker. */
  get devices(): { audioinput?: string; videoinput?: string; audiooutput?: string } {
    return { ...this.media.deviceIds, ...(this.speakerId ? { audiooutput: this.speakerId } : {}) };
  }

  /** Whether a screen is being shared. */
  get sharingScreen(): boolean {
    return this.media.sharing;
  }

  /** The members we exchange media and data with, by peer id (in broadcast rooms, viewers see presenters only). */
  get peers(): ReadonlyMap<string, RemotePeer> {
    return this.links;
  }

  /**
   * Broadcast rooms: where the presenters' media comes from (`parent`, null: the presenters themselves) and which
   * viewers we forward it to; presenters also see the whole tree. Undefined in a mesh.
   */
  get route(): Route | undefined {
    return this._route;
  }

  /** Captures media, joins the room and calls every member present. Resolves when joined. */
  join(): Promise<void> {
    this.joining ??= this.doJoin().catch((err: unknown) => {
      const e = err instanceof SessionError ? err : new SessionError('join-failed', String((err as Error)?.message ?? err));
      if (!this.closed) {
        this.emit('error', { code: e.code, message: e.message, fatal: true });
        this.teardown('error');
      }
      throw e;
    });
    return this.joining;
  }

  private async doJoin(): Promise<void> {
    this.setState('connecting');
    const o = this.options;
    // Credentials are checked before any device is opened: a refused join never lights the camera.
    let joined: JoinedMessage | undefined;
    let lastError: unknown;
    let media: Promise<void> | undefined;
    // Capture starts once the room has admitted us, side by side with the PeerServer registration.
    // Remembered devices are looked up while the room answers.
    const remembered = o.rememberDevices === false ? Promise.resolve() : this.loadRememberedDevices();
    const startMedia = () => {
      media ??= this.mediaReady = remembered
        .then(() => this.media.start())
        .then(
          () => {
            this.emit('local-stream', { stream: this.media.stream });
            this.emit('devices', this.devices);
          },
          (err: DOMException) => {
            // Joining without devices still lets us see and hear the others.
            this.emit('error', { code: 'media-unavailable', message: `${err.name}: ${err.message}`, fatal: false });
          },
        );
    };
    // The calls are placed while our PeerServer socket opens: their offers leave as soon as it is open.
    const callMembers = (j: JoinedMessage) => {
      for (const member of j.peers) this.connectTo(member);
      void Promise.all([...this.links.values()].map((l) => l.offerMade(OFFER_WAIT_MS))).then(this.callsPlacedNow);
    };
    for (let i = 0; i < this.servers.length && !joined; i++) {
      try {
        joined = await this.register(i, false, startMedia, callMembers);
      } catch (err) {
        lastError = err;
        // A refusal is an answer: only an unreachable server sends us to the next one.
        if (!(err instanceof SessionError) || err.code !== 'server-unreachable') throw err;
      }
    }
    if (!joined) throw lastError;
    if (this.closed) return;
    await media;
    if (this.closed) return;
    const intended = this.intendedMedia();
    const actual = this.media.state;
    if (actual.audio !== intended.audio || actual.video !== intended.video || !!actual.stereo !== !!intended.stereo) this.publishMedia();
    this.setState('connected');
    this.startMonitor();
  }

  private async loadRememberedDevices(): Promise<void> {
    const remembered = await rememberedDevices();
    if (remembered.audioinput) this.media.preferred.audioinput = remembered.audioinput;
    if (remembered.videoinput) this.media.preferred.videoinput = remembered.videoinput;
    this.speakerId ??= remembered.audiooutput;
  }

  /** What we mean to send, announced at join before capture finishes (corrected afterwards if capture differs). */
  private intendedMedia(): MediaState {
    const o = this.options;
    const publishes = this.role !== 'viewer';
    const audio = o.localStream ? o.localStream.getAudioTracks().length > 0 : publishes && o.audio !== false;
    const video = o.localStream ? o.localStream.getVideoTracks().length > 0 : publishes && o.video !== false;
    return { audio: audio && !o.muted, video, ...(audio && this.media.settings.audio.channels === 2 ? { stereo: true } : {}) };
  }

  /**
   * Joins the room on server `index` and registers a PeerJS peer there (same identity on a rejoin).
   * Resolves once both are done; the previous peer is retired, not destroyed, so its calls keep flowing.
   * `afterJoin` runs once the room has admitted us; `registering` once the peer exists, while its socket opens (what
   * it sends meanwhile leaves when the socket is open).
   */
  private async register(
    index: number,
    rejoin: boolean,
    afterJoin?: () => void,
    registering?: (joined: JoinedMessage) => void,
  ): Promise<JoinedMessage> {
    const o = this.options;
    const address = this.servers[index]!;
    const link = new RoomLink(address, this.room, this.log);
    let joined: JoinedMessage;
    try {
      joined = await link.join(
        {
          name: this.name,
          media: rejoin ? this.media.state : this.intendedMedia(),
          role: this.role,
          ...(rejoin && this.resumeToken ? { resume: this.resumeToken } : {}),
          ...(o.key ? { key: o.key } : {}),
          ...(o.password ? { password: o.password } : {}),
          ...(o.token ? { token: o.token } : {}),
          ...(o.maxParticipants ? { maxParticipants: o.maxParticipants } : {}),
          ...(o.fanout ? { fanout: o.fanout } : {}),
        },
        rejoin ? 3000 : 10_000,
      );
    } catch (err) {
      link.close();
      throw err;
    }
    if (this.closed) {
      link.close();
      return joined;
    }
    afterJoin?.();
    this.roomLink?.close();
    this.roomLink = link;
    this.serverIndex = index;
    this._peerId = joined.self.peerId;
    this.resumeToken = joined.resumeToken;
    if (joined.route) this.applyRoute(joined.route);
    link.on('message', (m) => this.onRoomMessage(m));
    link.on('lost', ({ code, reason }) => {
      if (this.roomLink === link) void this.failover(`${reason || 'connection closed'} (${code})`);
    });

    if (this.peer) {
      // Off its server, but its calls stay up (PeerJS's disconnect keeps connections): the id is free to register again.
      this.peer.disconnect();
      this.retiredPeers.push(this.peer);
    }
    const peer = new Peer(joined.self.peerId, {
      host: address.host,
      port: address.port,
      secure: address.secure,
      path: address.base + joined.peerPath,
      token: joined.peerToken,
      // Only what our server hands out: never PeerJS's public STUN/TURN defaults.
      config: { iceServers: joined.iceServers, iceTransportPolicy: o.icePolicy ?? 'all' },
      debug: 0,
    });
    this.gate.guard(peer);
    sendWhenOpen(peer);
    this.peer = peer;
    peer.on('call', (call) => this.onIncoming(call));
    peer.on('connection', (conn) => this.onIncoming(conn));
    peer.on('disconnected', () => this.restoreSignalling(peer));
    peer.on('open', () => (this.signallingRetries = 0));
    const opened = new Promise<void>((resolve, reject) => {
      let opening = true;
      const timer = setTimeout(() => reject(new SessionError('signalling-failed', 'PeerServer did not accept us within 10 s')), 10_000);
      peer.once('open', () => {
        opening = false;
        clearTimeout(timer);
        resolve();
      });
      peer.on('error', (err: PeerError<string>) => {
        if (err.type === 'peer-unavailable') return this.log.warn(err.message);
        if (opening) {
          opening = false;
          clearTimeout(timer);
          reject(new SessionError('signalling-failed', `${err.type}: ${err.message}`));
        } else this.log.warn('peer error', err.type, err.message);
      });
    });
    registering?.(joined);
    await opened;
    return joined;
  }

  /**
   * Our PeerServer socket dropped while the room still has us (a network blip, a proxy cutting it): PeerJS leaves it
   * down, and then no member can place a new call to us (a tree's new parent, a newcomer). Registered again with the
   * same id and token, a few tries, seconds apart; calls in progress never depended on it.
   */
  private restoreSignalling(peer: Peer): void {
    // Not while moving servers: that registers a new peer.
    const current = () =>
      this.peer === peer && !this.closed && this._state !== 'reconnecting' && !peer.destroyed && !this.retiredPeers.includes(peer);
    if (!current() || this.signallingRetries >= SIGNALLING_RETRIES) return;
    const attempt = ++this.signallingRetries;
    setTimeout(() => {
      if (!current() || !peer.disconnected) return;
      this.log.info('PeerServer connection lost: registering again, attempt', attempt);
      peer.reconnect();
    }, 1000 * attempt);
  }

  /** Calls a member and opens the data channel with it (we are the newcomer, or we moved to its server). */
  private connectTo(member: MemberInfo): void {
    const l = this.addMember(member);
    if (l) this.callMember(l);
  }

  /** Places the call with a member we exchange media with directly (a member forwarded to us waits for its forwarder). */
  private callMember(l: PeerLink): void {
    const peer = this.peer;
    if (!peer || l.isClosed) return;
    if (!this.isDirect(l)) return this.awaitForward(l);
    l.attachCall(this.media, (stream) =>
      peer.call(l.peerId, stream, { metadata: { name: this.name }, sdpTransform: (sdp: string) => this.transformSdp(sdp, l) }),
    );
    void l.setEncoding(this.encoding());
    l.startDeadline();
    l.dataInitiator = true;
    void l.mediaFlowing().then(() => this.openData(l));
  }

  /** Opens (or re-opens) the data connection we initiate with a member. */
  private openData(l: PeerLink): void {
    const peer = this.peer;
    if (!peer || this.closed || this.links.get(l.peerId) !== l) return;
    l.attachData(peer.connect(l.peerId, { serialization: 'raw', reliable: true, label: 'av-data' }));
  }

  /**
   * A data connection that worked and dropped while the member is still here is re-opened by the side that opened
   * it (a few tries, seconds apart); meanwhile data goes through the server.
   */
  private reopenData(l: PeerLink, attempt = 1): void {
    if (!l.dataInitiator || !l.hadData || attempt > 5) return;
    setTimeout(() => {
      if (l.isClosed || this.closed || l.path !== 'server') return;
      this.log.info('re-opening the data connection with', l.peerId, 'attempt', attempt);
      this.openData(l);
      setTimeout(() => l.path === 'server' && this.reopenData(l, attempt + 1), 4000);
    }, 1000);
  }

  /**
   * The room service is gone: move to the next server in the list with the same identity, and keep trying every
   * server with capped backoff for as long as the user stays. Calls in progress are peer-to-peer and keep flowing
   * meanwhile (state `reconnecting`: signalling is offline); members we have stay, members new to us are called.
   */
  private async failover(reason: string): Promise<void> {
    if (this.closed || this._state === 'reconnecting') return;
    this.log.warn(`lost ${this.server}: ${reason}; moving to the next server`);
    this.emit('error', { code: 'server-lost', message: `lost the server (${reason}); calls in progress continue`, fatal: false });
    this.setState('reconnecting');
    for (let round = 0; !this.closed; round++) {
      for (let step = 1; step <= this.servers.length && !this.closed; step++) {
        const index = (this.serverIndex + step) % this.servers.length;
        try {
          const joined = await this.register(index, true);
          if (this.closed) return;
          this.reconcile(joined.peers);
          this.setState('connected');
          const queued = this.outbox;
          this.outbox = [];
          for (const deliver of queued) deliver();
          return;
        } catch (err) {
          this.log.info('failover attempt failed', this.servers[index]!.origin, (err as Error).message);
          if (err instanceof SessionError && (err.code === 'auth-failed' || err.code === 'room-full')) {
            this.emit('error', { code: err.code, message: err.message, fatal: true });
            return this.teardown('error');
          }
        }
      }
      await new Promise((r) => setTimeout(r, Math.min(RETRY_MAX_MS, 250 * 2 ** round)));
    }
  }

  /**
   * After moving servers: keep the links we have, call members new to us. A member is dropped only when the room
   * says it left; one the new server does not list at all (a standby that shares nothing) is kept while its call
   * with us lasts.
   */
  private reconcile(members: MemberInfo[]): void {
    const present = new Set(members.map((m) => m.peerId));
    for (const member of members) {
      this.stopAbsentCheck(member.peerId);
      const existing = this.links.get(member.peerId);
      if (existing) {
        existing.media = member.media;
        this.emit('peer-update', { peer: existing });
      } else {
        this.connectTo(member);
      }
    }
    for (const [peerId, link] of this.links) {
      if (present.has(peerId) || this.absentChecks.has(peerId)) continue;
      this.absentChecks.set(
        peerId,
        setInterval(() => {
          if (!link.connected) this.dropMember(peerId);
        }, ABSENT_CHECK_MS),
      );
    }
  }

  private stopAbsentCheck(peerId: string): void {
    clearInterval(this.absentChecks.get(peerId));
    this.absentChecks.delete(peerId);
  }

  private dropMember(peerId: string): void {
    this.stopAbsentCheck(peerId);
    this.quality.delete(peerId);
    const l = this.links.get(peerId);
    if (!l) return;
    this.links.delete(peerId);
    l.close();
    this.updateForwards();
    this.emit('peer-leave', { peer: l });
  }

  /**
   * Whether we exchange media with a member ourselves: always in a mesh; in a broadcast room a presenter with the
   * viewers it serves, a viewer with the presenters when the tree puts it right under them.
   */
  private isDirect(l: PeerLink): boolean {
    const route = this._route;
    if (!route) return true;
    if (this.role === 'viewer') return route.parent === null;
    if (l.role === 'viewer') return route.children.includes(l.peerId);
    return true;
  }

  /** A member whose media a forwarder sends us: no call of ours; data goes through the server. */
  private awaitForward(l: PeerLink): void {
    if (this.role !== 'viewer' || !this._route?.parent) return;
    if (l.via !== this._route.parent) l.hangUp(true);
    l.via = this._route.parent;
    this.watchForward();
  }

  /**
   * Our place in the broadcast tree changed: media from the presenters now comes from `parent` (or from them), and
   * goes on to `children`. Links to members are kept (no leave, no join); only their calls change.
   */
  private applyRoute(route: Route): void {
    const before = this._route;
    this._route = route;
    if (route.parent) this.gate.admit(route.parent);
    for (const c of route.children) this.gate.admit(c);
    if (before?.parent !== route.parent) this.reportedLost = undefined;
    for (const l of this.links.values()) {
      if (this.role === 'viewer' && l.role !== 'viewer') {
        if (route.parent === null && l.via) {
          // Moved up right under the presenters: we call them (the newcomer's rule: the one that moved calls).
          l.hangUp(true);
          this.callMember(l);
        } else if (route.parent !== null) this.awaitForward(l);
      } else if (this.role === 'presenter' && l.role === 'viewer' && !route.children.includes(l.peerId)) {
        // A viewer that now receives through another viewer: our call with it ends.
        l.hangUp(false);
      }
    }
    this.updateForwards();
    this.emit('route', { route });
  }

  /** The media our parent should forward has not started in time: ask the server for another parent. */
  private watchForward(): void {
    clearTimeout(this.forwardDeadline);
    const parent = this._route?.parent;
    if (!parent) return;
    this.forwardDeadline = setTimeout(() => {
      if (this._route?.parent !== parent) return;
      const waiting = [...this.links.values()].some((l) => l.via === parent && !l.connected);
      if (waiting) this.parentLost(parent);
    }, FORWARD_DEADLINE_MS);
  }

  /** Tells the server our parent in the tree stopped forwarding (once per parent); it moves us elsewhere. */
  private parentLost(parent: string): void {
    if (this.reportedLost === parent || this._route?.parent !== parent || this.closed) return;
    this.reportedLost = parent;
    this.log.info('media from our parent', parent, 'stopped: asking for another');
    this.roomLink?.send({ type: 'route-lost' });
  }

  /**
   * Places, keeps current and ends the calls that forward media we receive: to each of our children in the tree, the
   * media of each presenter; and the forwards asked of us. A forwarded stream whose tracks changed (our own source
   * moved) is swapped into the call with replaceTrack, so our children see no new call.
   */
  private updateForwards(): void {
    if (this.closed) return;
    const wanted = new Map<string, { to: string; owner: PeerLink }>();
    if (this.role === 'viewer') {
      // A presenter's media we are between calls for (our parent changed) is still forwarded, with the tracks that
      // ended: the calls to our children are then up when the next stream comes, and only its tracks are swapped in.
      for (const to of this._route?.children ?? [])
        for (const l of this.links.values())
          if (l.role !== 'viewer' && (l.stream ?? l.lastStream)) wanted.set(`${to}\n${l.peerId}`, { to, owner: l });
    }
    for (const key of this.explicitForwards) {
      const [to, owner] = key.split('\n') as [string, string];
      const l = this.links.get(owner);
      if (l?.stream && this.links.has(to)) wanted.set(key, { to, owner: l });
      else if (!l || !this.links.has(to)) this.explicitForwards.delete(key);
    }
    for (const [key, f] of this.forwards) {
      if (wanted.has(key) && f.call.peerConnection?.connectionState !== 'closed') continue;
      this.forwards.delete(key);
      f.call.close();
    }
    const peer = this.peer;
    if (!peer) return;
    for (const [key, { to, owner }] of wanted) {
      const stream = (owner.stream ?? owner.lastStream)!;
      const existing = this.forwards.get(key);
      if (existing) {
        if (existing.stream !== stream) {
          existing.stream = stream;
          for (const t of existing.call.peerConnection?.getTransceivers() ?? []) {
            const track = stream.getTracks().find((k) => k.kind === t.receiver.track.kind);
            if (track && t.currentDirection !== 'stopped') void t.sender.replaceTrack(track).catch(() => {});
          }
        }
        continue;
      }
      this.log.info('forwarding', owner.peerId, 'to', to);
      const call = peer.call(to, stream, { metadata: { forward: owner.peerId, name: this.name } });
      if (!call) continue;
      this.forwards.set(key, { call, stream });
      // Closed by the other side or by a failure while still wanted: placed again a few times, seconds apart.
      const lost = () => {
        if (this.forwards.get(key)?.call !== call) return;
        this.forwards.delete(key);
        const tries = (this.forwardRetries.get(key) ?? 0) + 1;
        this.forwardRetries.set(key, tries);
        if (tries <= FORWARD_RETRIES) setTimeout(() => this.updateForwards(), 2000 * tries);
      };
      call.on('close', lost);
      call.peerConnection?.addEventListener('connectionstatechange', () => {
        if (call.peerConnection?.connectionState === 'connected') this.forwardRetries.delete(key);
      });
      // A receiver that refuses a call never answers it, and PeerJS then never ends it (nor says so when we close a
      // call that was not answered): one not connected in time is given up here, and placed again while wanted.
      setTimeout(() => {
        const state = call.peerConnection?.connectionState;
        if (this.forwards.get(key)?.call !== call || state === 'connected' || state === 'disconnected') return;
        lost();
        call.close();
      }, FORWARD_CONNECT_MS);
      call.on('error', (err) => this.log.warn('forward error', to, err.message));
    }
  }

  /**
   * The media proxy: sends the media we receive from `streamOwnerId` on to `toPeerId`, for a member that cannot reach
   * the owner itself. The receiver takes it only if it asked us (`requestForward`). Refused unless both are members we
   * connect with and the owner's media reaches us; ends when either leaves.
   */
  forward(streamOwnerId: string, toPeerId: string): void {
    const owner = this.links.get(streamOwnerId);
    if (!owner || !this.links.has(toPeerId) || streamOwnerId === toPeerId)
      throw new SessionError('bad-options', 'both the owner of the stream and the receiver must be members we connect with');
    if (owner.via || !owner.stream) throw new SessionError('bad-options', `no media from "${streamOwnerId}" to forward`);
    this.explicitForwards.add(`${toPeerId}\n${streamOwnerId}`);
    this.updateForwards();
  }

  /**
   * Asks `viaPeerId` to forward `streamOwnerId`'s media to us (the media proxy, when our own connection with the owner
   * does not work): once it does, that member's stream comes through `viaPeerId`.
   */
  requestForward(streamOwnerId: string, viaPeerId: string): void {
    if (!this.links.has(streamOwnerId) || !this.links.has(viaPeerId) || streamOwnerId === viaPeerId)
      throw new SessionError('bad-options', 'both the owner of the stream and the forwarder must be members we connect with');
    this.forwardRequests.add(`${viaPeerId}\n${streamOwnerId}`);
    this.send({ forward: streamOwnerId }, { to: viaPeerId, channel: FORWARD_CHANNEL });
  }

  /** A call forwarding a member's media: taken from our parent in the tree, or from a member we asked. */
  private acceptForward(call: MediaConnection, owner: string): void {
    const l = this.links.get(owner);
    // Our parent can call before we have made links for the members the room listed: take it once we have.
    if (!l && this._state === 'connecting' && this.joining) {
      this.joining.then(
        () => this.acceptForward(call, owner),
        () => call.close(),
      );
      return;
    }
    const fromParent = this.role === 'viewer' && !!this._route?.parent && this._route.parent === call.peer;
    if (l && !this.closed && !fromParent && this.role === 'viewer' && this._route && !this.earlyForwards.has(call)) {
      // The server tells our new parent and us at once, on different sockets: its call can come before our route.
      // The server let the offer through only along the tree, so wait a little for the route that names it.
      this.earlyForwards.add(call);
      const decide = () => {
        clearTimeout(timer);
        off();
        this.acceptForward(call, owner);
      };
      const timer = setTimeout(decide, EARLY_FORWARD_MS);
      const off = this.on('route', ({ route }) => route.parent === call.peer && decide());
      return;
    }
    if (!l || this.closed || !(fromParent || this.forwardRequests.has(`${call.peer}\n${owner}`))) {
      this.log.warn('refused a forwarded call from', call.peer, 'for', owner);
      return void call.close();
    }
    this.log.info('media of', owner, 'forwarded by', call.peer);
    l.attachForwarded(call);
  }

  private get closed(): boolean {
    return this._state === 'closed' || this._state === 'error';
  }

  private onRoomMessage(msg: ServerMessage): void {
    switch (msg.type) {
      case 'peer-joined': {
        this.stopAbsentCheck(msg.peer.peerId);
        const known = this.links.get(msg.peer.peerId);
        if (known) {
          // A member we already talk to, arriving on this server after a failover: keep the call.
          known.media = msg.peer.media;
          break;
        }
        const l = this.addMember(msg.peer);
        if (l && this.isDirect(l)) l.startDeadline();
        else if (l) this.awaitForward(l);
        break;
      }
      case 'route':
        this.applyRoute({ parent: msg.parent, children: msg.children, ...(msg.tree ? { tree: msg.tree } : {}) });
        break;
      case 'peer-left':
        this.dropMember(msg.peerId);
        break;
      case 'peer-updated': {
        const l = this.links.get(msg.peerId);
        if (!l) break;
        l.media = msg.media;
        this.emit('peer-update', { peer: l });
        break;
      }
      case 'relayed':
        if (this.links.has(msg.from)) {
          const channel = typeof msg.ch === 'string' && CHANNEL.test(msg.ch) ? msg.ch : undefined;
          this.onMessage(msg.from, decodePayload(msg), 'server', channel);
        }
        break;
      case 'app':
        this.emit('message', { from: 'server', data: decodePayload(msg), via: 'server' });
        break;
      case 'server-shutdown':
        void this.failover('the server is shutting down');
        break;
      case 'kicked':
      case 'room-closed':
        this.emit('error', {
          code: msg.type,
          message:
            msg.type === 'kicked'
              ? `removed from the room: ${String(msg.reason).slice(0, 200)}`
              : `the room was closed: ${String(msg.reason).slice(0, 200)}`,
          fatal: true,
        });
        this.teardown('error');
        break;
      case 'mute-request':
        this.setAudioEnabled(false);
        this.emit('mute-request', { by: String(msg.by).slice(0, 64) });
        break;
      case 'error':
        this.log.warn('room service:', msg.code, msg.message);
        break;
      default:
        break;
    }
  }

  private addMember(member: MemberInfo): PeerLink | undefined {
    if (!shouldConnect(this.role, member.role)) return undefined;
    const existing = this.links.get(member.peerId);
    if (existing) return existing;
    const l = new PeerLink(
      member,
      {
        stream: (link) => {
          if (!link.stream) return;
          this.emit('stream', { peer: link, stream: link.stream });
          this.updateForwards();
        },
        path: (link) => {
          if (!link.path) return;
          if (link.path === 'server') this.reopenData(link);
          this.emit('path', { peer: link, path: link.path });
        },
        message: (link, data, channel) => this.onMessage(link.peerId, data, link.path ?? 'p2p', channel),
        unreachable: (link, reason) => {
          if (link.via) return this.parentLost(link.via);
          if (!this.isDirect(link)) return;
          this.emit('error', { code: 'peer-unreachable', message: `${link.name}: ${reason}`, fatal: false, peerId: link.peerId });
        },
        lost: (link) => this.emit('peer-update', { peer: link }),
        restart: (link) => this.recover(link),
        recovered: (link) => {
          this.log.info('media with', link.peerId, 'restored');
          this.emit('peer-update', { peer: link });
          // Data that fell back to the server goes peer-to-peer again.
          if (link.dataInitiator && link.path === 'server') this.openData(link);
        },
      },
      this.log,
    );
    this.links.set(member.peerId, l);
    this.emit('peer-join', { peer: l });
    // What it sent before the room announced it (its offer can overtake its `peer-joined`) goes to PeerJS now.
    this.gate.admit(member.peerId);
    return l;
  }

  /** A message from a member: the session's own requests (forwarding) are handled here, the rest is the page's. */
  private onMessage(from: string, data: AppMessage, via: DataPath, channel?: string): void {
    if (channel === FORWARD_CHANNEL) {
      const owner = (data as { forward?: unknown } | null)?.forward;
      if (typeof owner !== 'string') return;
      try {
        this.forward(owner, from);
      } catch (err) {
        this.log.warn('cannot forward', owner, 'to', from, (err as Error).message);
      }
      return;
    }
    this.emit('message', { from, data, via, ...(channel ? { channel } : {}) });
  }

  /** A call or data connection from a member (the gate lets nothing else through to PeerJS). */
  private onIncoming(conn: MediaConnection | DataConnection): void {
    const owner = conn.type === ConnectionType.Media ? (conn.metadata as { forward?: unknown } | undefined)?.forward : undefined;
    if (typeof owner === 'string') return this.acceptForward(conn as MediaConnection, owner);
    const l = this.links.get(conn.peer);
    // Our data connections are raw; PeerJS's other serializations decode a peer's bytes in ways we do not use.
    if (this.closed || !l || (conn.type === ConnectionType.Data && (conn as DataConnection).serialization !== 'raw'))
      return void conn.close();
    if (conn.type === ConnectionType.Data) return l.attachData(conn as DataConnection);
    void this.answer(conn as MediaConnection);
  }

  private async answer(call: MediaConnection): Promise<void> {
    await this.mediaReady;
    const l = this.links.get(call.peer);
    if (!l || this.closed) return call.close();
    l.attachCall(this.media, (stream) => {
      call.answer(stream, { sdpTransform: (sdp: string) => this.transformSdp(sdp, l, call.peerConnection?.remoteDescription?.sdp) });
      this.setCodecPreferences(call.peerConnection);
      return call;
    });
    if (l.reconnecting) this.emit('peer-update', { peer: l });
    void l.setEncoding(this.encoding());
  }

  /**
   * Sends application data on the transparent channel: a JSON-able value, or bytes (ArrayBuffer, typed array).
   * Goes peer-to-peer where possible and through the server where not; `to` is a peer id, `'*'` or `'server'`.
   */
  send(data: AppMessage, { to = '*', channel }: SendOptions = {}): void {
    if ((this.state !== 'connected' && this.state !== 'reconnecting') || !this.roomLink) {
      throw new SessionError('not-connected', 'not connected to the room');
    }
    const frame = encodeApp(data, channel);
    const size = frameSize(frame);
    if (to === 'server') {
      if (channel) throw new SessionError('bad-options', 'channels are for members, not the server');
      return this.sendViaServer({ type: 'app' }, data, size);
    }
    const targets = to === '*' ? [...this.links.values()] : [this.links.get(to)];
    if (targets.some((l) => !l)) throw new SessionError('bad-options', `no member "${to}" to send to`);
    if (size > MAX_APP_MESSAGE_BYTES) throw new SessionError('too-large', `message of ${size} bytes exceeds ${MAX_APP_MESSAGE_BYTES}`);
    const viaServer = (targets as PeerLink[]).filter((l) => !l.sendFrame(frame));
    if (viaServer.length === 0) return;
    const ch = channel ? { ch: channel } : {};
    // To everyone: one message through the server for all those the data channels did not reach.
    const reached = targets.length - viaServer.length;
    if (to === '*' && viaServer.length > 1 && reached <= 64) {
      const except = (targets as PeerLink[]).filter((l) => !viaServer.includes(l)).map((l) => l.peerId);
      return this.sendViaServer({ type: 'relay', to: '*', ...ch, ...(except.length ? { except } : {}) }, data, size);
    }
    if (to === '*' && viaServer.length === targets.length) return this.sendViaServer({ type: 'relay', to: '*', ...ch }, data, size);
    for (const l of viaServer) this.sendViaServer({ type: 'relay', to: l.peerId, ...ch }, data, size);
  }

  private sendViaServer(
    head: { type: 'app' } | { type: 'relay'; to: string; ch?: string; except?: string[] },
    data: AppMessage,
    size: number,
  ): void {
    if (size > MAX_RELAY_MESSAGE_BYTES) {
      throw new SessionError('too-large', `message of ${size} bytes exceeds ${MAX_RELAY_MESSAGE_BYTES}, the limit through the server`);
    }
    const bytes = asBytes(data);
    const payload: Payload = bytes ? { bin: toBase64(bytes) } : { data };
    const deliver = () => this.roomLink!.send({ ...head, ...payload });
    // While moving servers, hold it: it is sent once, on the new server.
    if (this.state === 'reconnecting' || !this.roomLink!.alive) this.outbox.push(deliver);
    else deliver();
  }

  /** Mutes or unmutes our microphone for everyone. */
  setAudioEnabled(enabled: boolean): void {
    this.media.setAudioEnabled(enabled);
    this.publishMedia();
  }

  /** Turns our camera off (releasing the device) or on again, for everyone. */
  async setVideoEnabled(enabled: boolean): Promise<void> {
    if (this.role === 'viewer') return;
    await this.media.setVideoEnabled(enabled);
    await this.replacing;
    if (!this.closed) this.publishMedia();
  }

  /**
   * Switches the microphone or camera mid-call (the new track replaces the old one on every call: no
   * renegotiation, no re-join), or chooses the speaker (`audiooutput`, applied by the elements with `setSinkId`).
   * The choice is remembered on this origin unless `rememberDevices` is false. An empty id means the default.
   */
  async setDevice(kind: DeviceKind, deviceId: string): Promise<void> {
    // Remembered first, so a reload right after the switch finds it.
    if (this.options.rememberDevices !== false) {
      const list = await listDevices().catch(() => undefined);
      const label = list && deviceId ? (resolveDevice(list, kind, { deviceId, label: '' })?.label ?? '') : '';
      await saveDevicePreference(kind, { deviceId, label });
    }
    if (kind === 'audiooutput') this.speakerId = deviceId || undefined;
    else await this.media.setDevice(kind, deviceId);
    await this.replacing;
    if (!this.closed) this.emit('devices', this.devices);
  }

  /**
   * Changes capture, processing and encoder parameters mid-call, without re-joining: camera size and frame rate
   * (applyConstraints), audio processing and format (applyConstraints, or a new capture of the same microphone),
   * encoder limits (RTCRtpSender.setParameters). Codecs apply to calls placed afterwards; a change between mono and
   * stereo places the calls again (same peer id, no leave).
   */
  async updateMedia(next: { video?: Partial<VideoSettings>; audio?: Partial<AudioSettings> }): Promise<void> {
    const stereoBefore = this.media.stereo;
    await this.media.update(next);
    await this.replacing;
    if (this.closed) return;
    const encoding = this.encoding();
    await Promise.all([...this.links.values()].map((l) => l.setEncoding(encoding)));
    if (this.media.stereo !== stereoBefore) {
      this.publishMedia();
      // Stereo is agreed in the session description: place the calls again (the other side keeps our link).
      for (const l of this.links.values()) this.recall(l);
    }
  }

  /**
   * Shares a screen, window or tab instead of the camera, keeping the microphone and the same calls (the video
   * track is replaced). Ends with `stopScreenShare()` or the browser's own "Stop sharing"; the camera then returns.
   * Rejects when the user cancels the browser's picker.
   */
  async shareScreen(options?: DisplayMediaStreamOptions): Promise<void> {
    if (this.role === 'viewer') throw new SessionError('bad-options', 'viewers do not send media');
    await this.media.startScreenShare(options);
    await this.replacing;
    if (!this.closed) this.publishMedia();
  }

  /** Ends screen sharing; the camera comes back if it was on. */
  async stopScreenShare(): Promise<void> {
    await this.media.stopScreenShare();
    await this.replacing;
    if (!this.closed) this.publishMedia();
  }

  /**
   * Sends a stream of the page's (canvas, Web Audio, a file's playback) instead of the devices, or the devices again
   * with `undefined`: tracks are replaced on every call, without re-joining. The page's tracks are never stopped by us.
   */
  async setLocalStream(stream: MediaStream | undefined): Promise<void> {
    if (this.role === 'viewer') return;
    await this.media.setStream(stream);
    await this.replacing;
    if (!this.closed) this.publishMedia();
  }

  /** Our track for `kind` changed: every call sends the new one (replaceTrack, no renegotiation). */
  private onLocalTrack(kind: 'audio' | 'video', track: MediaStreamTrack | null): void {
    if (this.closed) return;
    const done = [...this.links.values()].map((l) =>
      l.replaceTrack(kind, track).catch((err: Error) => this.log.warn('replaceTrack failed', l.peerId, err.message)),
    );
    this.replacing = Promise.all([this.replacing, ...done]).then(() => {});
    if (kind === 'audio') this.resetLocalMeter();
    this.emit('local-stream', { stream: this.media.stream });
    if (this.live) this.publishMedia();
  }

  private publishMedia(): void {
    this.roomLink?.send({ type: 'update', media: this.media.state });
  }

  /**
   * A member's media connection was lost while it is still in the room (a relay restarted, the network changed):
   * one side — the one with the smaller peer id, so calls do not cross — places the call again, every few seconds
   * until it connects or the member leaves. PeerJS calls cannot restart ICE in place, so a new call (new ICE, same
   * member, no leave/join) is the restart. The other side answers it like any call.
   */
  private recover(l: PeerLink): void {
    if (l.via) return this.parentLost(l.via);
    if (!this.isDirect(l)) return;
    if (!this._peerId || this._peerId > l.peerId || l.recovering) return;
    l.recovering = true;
    let attempt = 0;
    const tryAgain = () => {
      if (this.closed || l.isClosed || !l.reconnecting || this.links.get(l.peerId) !== l) return void (l.recovering = false);
      attempt++;
      this.log.info('placing the call with', l.peerId, 'again, attempt', attempt);
      this.recall(l);
      setTimeout(tryAgain, Math.min(RECOVER_MAX_MS, 2000 + 1000 * attempt));
    };
    tryAgain();
  }

  /** Places the call with a member again (a change the session description must carry, such as stereo). */
  private recall(l: PeerLink): void {
    const peer = this.peer;
    if (!peer || l.isClosed) return;
    l.attachCall(this.media, (stream) =>
      peer.call(l.peerId, stream, { metadata: { name: this.name }, sdpTransform: (sdp: string) => this.transformSdp(sdp, l) }),
    );
    void l.setEncoding(this.encoding());
  }

  private encoding(): { audio?: number; video?: number } {
    const { audio, video } = this.media.settings;
    return { audio: audio.maxBitrate, video: video.maxBitrate };
  }

  /**
   * Our session description for the call with `l`: the codec we prefer first; Opus stereo accepted from a member
   * that sends it (from its offer, or from the roster when we offer) at a music bitrate; our own stereo and capture
   * rate announced.
   */
  private transformSdp(sdp: string, l: PeerLink, remoteSdp?: string): string {
    const { audio, video } = this.media.settings;
    let out = sdp;
    for (const [kind, codec] of [
      ['video', video.codec],
      ['audio', audio.codec],
    ] as const) {
      if (!codec) continue;
      const name = CODEC_NAMES[codec]!;
      if (!this.supports(kind, name)) continue;
      out = preferCodec(out, kind, name);
    }
    const remoteStereo = remoteSdp ? opusParams(remoteSdp)['sprop-stereo'] === '1' : !!l.media.stereo;
    out = startVideoBitrate(out, START_VIDEO_KBPS);
    return setOpusParams(out, {
      ...(remoteStereo ? { stereo: 1, maxaveragebitrate: STEREO_BITRATE } : {}),
      ...(this.media.stereo ? { 'sprop-stereo': 1 } : {}),
      ...(audio.sampleRate && audio.sampleRate < 48000 ? { 'sprop-maxcapturerate': audio.sampleRate } : {}),
    });
  }

  /** Whether the browser can send and receive a codec; warns once when it cannot (the default codec is used). */
  private supports(kind: 'audio' | 'video', name: string): boolean {
    const has = (caps: RTCRtpCapabilities | null) =>
      !!caps?.codecs.some((c) => c.mimeType.toLowerCase() === `${kind}/${name.toLowerCase()}`);
    const ok = has(RTCRtpReceiver.getCapabilities(kind)) && has(RTCRtpSender.getCapabilities(kind));
    if (!ok && !this.warned.has(name)) {
      this.warned.add(name);
      this.emit('warning', { code: 'codec-unavailable', message: `this browser cannot use ${kind} codec ${name}; using its default` });
    }
    return ok;
  }

  /** On a call we answer, the codec we prefer is put first with setCodecPreferences (its transceivers exist now). */
  private setCodecPreferences(pc: RTCPeerConnection | undefined): void {
    if (!pc || typeof RTCRtpTransceiver === 'undefined' || !('setCodecPreferences' in RTCRtpTransceiver.prototype)) return;
    const { audio, video } = this.media.settings;
    for (const t of pc.getTransceivers()) {
      const kind = t.receiver.track.kind as 'audio' | 'video';
      const codec = kind === 'video' ? video.codec : audio.codec;
      if (!codec) continue;
      const name = CODEC_NAMES[codec]!;
      const caps = RTCRtpReceiver.getCapabilities(kind)?.codecs ?? [];
      if (!this.supports(kind, name)) continue;
      const wanted = (c: RTCRtpCodec) => c.mimeType.toLowerCase() === `${kind}/${name.toLowerCase()}`;
      try {
        t.setCodecPreferences([...caps.filter(wanted), ...caps.filter((c) => !wanted(c))]);
      } catch (err) {
        this.log.warn('setCodecPreferences failed', (err as Error).message);
      }
    }
  }

  /** Measures speaking (every 200 ms) and connection quality (every 2 s) while in the room. */
  private startMonitor(): void {
    if (this.options.monitor === false || this.monitorTimer) return;
    this.monitorStarted = performance.now();
    this.monitorTimer = setInterval(() => this.monitorOnce(), LEVEL_TICK_MS);
  }

  private monitorOnce(): void {
    if (this.closed) return;
    const now = performance.now();
    const levels = new Map<string, number>();
    for (const l of this.links.values()) {
      const receiver = l.peerConnection?.getReceivers().find((r) => r.track.kind === 'audio');
      levels.set(l.peerId, receiver && l.media.audio ? receiverLevel(receiver, this.levels) : 0);
    }
    if (this._peerId) {
      const track = this.media.audioTrack;
      // Our meter's AudioContext starts an audio thread: not while the first calls are being set up.
      if (track && this.media.state.audio && !this.localMeter && now - this.monitorStarted >= LOCAL_METER_AFTER_MS) this.resetLocalMeter();
      levels.set(this._peerId, this.media.state.audio && this.localMeter ? this.localMeter.meter.level : 0);
    }
    const speakingNow = new Map<string, number>();
    for (const [peerId, level] of levels) {
      let d = this.speaking.get(peerId);
      if (!d) this.speaking.set(peerId, (d = new SpeakingDetector()));
      if (d.push(level, now)) this.emit('speaking', { peerId, speaking: d.speaking });
      if (d.speaking) speakingNow.set(peerId, d.level);
    }
    for (const peerId of this.speaking.keys()) if (!levels.has(peerId)) this.speaking.delete(peerId);
    const active = this.activeSpeaker.push(speakingNow, now);
    if (active) this.emit('active-speaker', { peerId: active });
    if (++this.monitorTick % QUALITY_EVERY === 0) void this.measureQuality();
  }

  private async measureQuality(): Promise<void> {
    for (const l of [...this.links.values()]) {
      const report = await l.getStats().catch(() => undefined);
      if (!report || this.closed || l.isClosed) continue;
      const counters = qualityCounters(report, performance.now());
      const prev = this.quality.get(l.peerId);
      this.quality.set(l.peerId, { counters, quality: prev?.quality });
      if (!prev || !l.connected) continue;
      const sample = qualitySample(prev.counters, counters);
      const quality = classifyQuality(sample, l.media.audio || l.media.video);
      this.quality.get(l.peerId)!.quality = quality;
      if (quality !== prev.quality) this.emit('quality', { peer: l, quality, sample });
    }
  }

  /** The last measured quality of a member's connection. */
  getQuality(peerId: string): Quality | undefined {
    return this.quality.get(peerId)?.quality;
  }

  /** Whether a member (or we) speak now, from measured levels. */
  isSpeaking(peerId: string): boolean {
    return !!this.speaking.get(peerId)?.speaking;
  }

  private resetLocalMeter(): void {
    const track = this.media.audioTrack;
    if (this.localMeter?.track === track) return;
    this.localMeter?.meter.close();
    this.localMeter = undefined;
    if (!track || this.options.monitor === false || !this.monitorTimer) return;
    try {
      this.localMeter = { track, meter: new LevelMeter(track) };
    } catch {
      /* no Web Audio: our own speaking is not shown */
    }
  }

  /** WebRTC statistics of the media call with one member. */
  getStats(peerId: string): Promise<RTCStatsReport | undefined> {
    return this.links.get(peerId)?.getStats() ?? Promise.resolve(undefined);
  }

  /** @internal The RTCPeerConnection carrying data with one member, once open (file transfers add channels to it). */
  getDataPeerConnection(peerId: string): RTCPeerConnection | undefined {
    return this.links.get(peerId)?.dataPeerConnection;
  }

  /** The RTCPeerConnection carrying the media call with one member (for diagnostics). */
  getPeerConnection(peerId: string): RTCPeerConnection | undefined {
    return this.links.get(peerId)?.peerConnection;
  }

  /** Leaves the room, hangs up every call, closes every connection and stops every track we captured. Idempotent. */
  destroy(): void {
    this.teardown('closed');
  }

  private teardown(final: 'closed' | 'error'): void {
    if (this.closed) return;
    this.callsPlacedNow();
    this.gate.destroy();
    clearInterval(this.monitorTimer);
    this.localMeter?.meter.close();
    this.localMeter = undefined;
    for (const timer of this.absentChecks.values()) clearInterval(timer);
    this.absentChecks.clear();
    clearTimeout(this.forwardDeadline);
    for (const f of this.forwards.values()) {
      f.call.close();
      f.call.peerConnection?.close();
    }
    this.forwards.clear();
    this.outbox = [];
    for (const l of this.links.values()) l.close();
    this.links.clear();
    this.roomLink?.close();
    this.peer?.destroy();
    for (const p of this.retiredPeers.splice(0)) p.destroy();
    this.media.destroy();
    this.setState(final);
    if (final === 'closed') this.removeAllListeners();
  }

  private setState(state: SessionState): void {
    const previous = this._state;
    if (previous === state) return;
    this._state = state;
    this.emit('state', { state, previous });
  }
}

function decodePayload(p: Payload): AppMessage {
  if (typeof p.bin === 'string') {
    try {
      return fromBase64(p.bin);
    } catch {
      return new Uint8Array();
    }
  }
  return p.data;
}

/** Joins a room from script: `const session = await connect({ server, room, name })`. */
export async function connect(options: RoomSessionOptions): Promise<RoomSession> {
  const session = new RoomSession(options);
  await session.join();
  return session;
}
