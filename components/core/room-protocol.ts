/**
 * The room-service wire protocol: JSON messages on the WebSocket at `/r/<room>/ws`.
 * Types only, so the browser bundle carries no schema library; the server validates
 * every inbound message against zod schemas that must satisfy these types.
 */

/** What a member publishes about its media, so others can show "muted" or "camera off". */
export interface MediaState {
  audio: boolean;
  video: boolean;
  /** The video is a screen share (shown whole, not cropped). */
  screen?: boolean;
  /** The audio is sent in stereo (music): receivers accept two channels from this member. */
  stereo?: boolean;
}

/** `member` in a mesh; in broadcast rooms `presenter` publishes and `viewer` only receives. */
export type Role = 'member' | 'presenter' | 'viewer';

export interface MemberInfo {
  peerId: string;
  name: string;
  media: MediaState;
  role: Role;
  /** Identity vouched for by the app's backend through a token, when one was used. */
  identity?: string;
}

/**
 * Where a member of a broadcast room gets the presenters' media from, and whom it forwards it to (the server's
 * forwarding tree). `parent` null: from the presenters themselves.
 */
export interface Route {
  parent: string | null;
  /** Viewers this member sends the presenters' media to (a presenter: the viewers it serves directly). */
  children: string[];
  /** For presenters: the whole tree, every viewer with its parent (null: a presenter), breadth first. */
  tree?: { id: string; parent: string | null }[];
}

/** An application payload: a JSON value, or bytes (base64 on this socket). */
export type Payload = { data: unknown; bin?: undefined } | { bin: string; data?: undefined };

export type ClientMessage =
  | {
      type: 'join';
      name: string;
      media?: MediaState;
      role?: Role;
      /** Server password. */
      key?: string;
      /** Room password. */
      password?: string;
      /** Signed room token from the app's backend. */
      token?: string;
      /** Largest mesh the joiner accepts (the first member's value, up to the server's limit, sets the room's). */
      maxParticipants?: number;
      /** Broadcast rooms: most viewers one member sends to (the first member's value, up to the server's, sets the room's). */
      fanout?: number;
      /**
       * Coming back as the same member (after a lost connection, on this server or another): the resume token a server
       * issued before. The peer id is derived from it, so only its holder can take that id.
       */
      resume?: string;
    }
  | { type: 'leave' }
  | { type: 'update'; media: MediaState }
  | { type: 'ping'; t?: number }
  /** Data for other members through the server (the relay fallback): `to` is a peer id or `*` (but not those in `except`). */
  | ({ type: 'relay'; to: string; ch?: string; except?: string[] } & Payload)
  /** A viewer's media from its parent in the forwarding tree stopped: the server moves it elsewhere. */
  | { type: 'route-lost' }
  /** Data for the server application (transparent channel to `'server'`). */
  | ({ type: 'app' } & Payload);

export type ServerMessage =
  | {
      type: 'joined';
      room: string;
      self: MemberInfo;
      /** Token the client must register with at PeerServer under `self.peerId` (new at every join). */
      peerToken: string;
      /** Secret that owns `self.peerId`: give it as `resume` to come back as this member. Never put it in a URL. */
      resumeToken: string;
      /** Path of PeerServer for this room, as PeerJS's `path` option. */
      peerPath: string;
      peers: MemberInfo[];
      iceServers: RTCIceServerLike[];
      maxParticipants: number;
      /** Broadcast rooms: where our media comes from and goes to. */
      route?: Route;
    }
  /** Our place in the forwarding tree changed. */
  | ({ type: 'route' } & Route)
  | { type: 'left' }
  | { type: 'peer-joined'; peer: MemberInfo }
  | { type: 'peer-left'; peerId: string }
  | { type: 'peer-updated'; peerId: string; media: MediaState }
  | { type: 'pong'; t?: number }
  /** The server is going down (planned): move to another server now. */
  | { type: 'server-shutdown'; message: string }
  /** The server application removed us from the room; the sockets close next. */
  | { type: 'kicked'; reason: string }
  /** The server application ended the room for everyone. */
  | { type: 'room-closed'; reason: string }
  /** The server application asks us to mute our microphone (`by` says who asked). */
  | { type: 'mute-request'; by: string }
  | ({ type: 'relayed'; from: string; ch?: string } & Payload)
  | ({ type: 'app'; from: 'server' } & Payload)
  | { type: 'error'; code: ErrorCode; message: string };

export interface RTCIceServerLike {
  urls: string | string[];
  username?: string;
  credential?: string;
}

export type ErrorCode =
  | 'bad-json'
  | 'too-large'
  | 'unknown-type'
  | 'invalid-message'
  | 'already-joined'
  | 'not-joined'
  | 'id-taken'
  | 'bad-room'
  | 'auth-failed'
  | 'room-full'
  | 'server-full'
  | 'unknown-peer'
  | 'rate-limited'
  | 'internal';

/** Largest room-service message either side accepts, in bytes. */
export const MAX_MESSAGE_BYTES = 64 * 1024;
/** Room names: 1–64 characters, no control characters or slashes. */
export const ROOM_NAME = /^[^\p{Cc}/\\]{1,64}$/u;
/** Peer ids: what PeerServer and PeerJS accept, kept short. */
export const PEER_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{3,63}$/;

/**
 * Close code of a room socket the client gave up on (no answer to its pings): the member is coming back, here or on
 * another server, so the server keeps it for its grace period as after a dropped connection.
 */
export const CLOSE_LOST = 4000;

/** WebSocket path of the room service for a room; the room is in the URL so a proxy can pin rooms to nodes. */
export function roomSocketPath(room: string): string {
  return `/r/${encodeURIComponent(room)}/ws`;
}

/** PeerJS `path` option for a room (PeerJS appends `/peerjs`). */
export function roomPeerPath(room: string): string {
  return `/r/${encodeURIComponent(room)}/peerjs`;
}

/**
 * Whether two members may exchange media and data: in broadcast rooms viewers connect only to presenters (and, in the
 * forwarding tree, to their parent and children, for media only).
 */
export function shouldConnect(a: Role, b: Role): boolean {
  if (a === 'viewer') return b === 'presenter';
  if (b === 'viewer') return a === 'presenter';
  return true;
}
