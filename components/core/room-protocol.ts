/**
 * The room-service wire protocol: JSON messages on the WebSocket at `/r/<room>/ws`.
 * Types only, so the browser bundle carries no schema library; the server validates
 * every inbound message against zod schemas that must satisfy these types.
 */

/** What a member publishes about its media, so others can show "muted" or "camera off". */
export interface MediaState {
  audio: boolean;
  video: boolean;
}

export interface MemberInfo {
  peerId: string;
  name: string;
  media: MediaState;
}

export type ClientMessage =
  | { type: 'join'; name: string; peerId?: string; media?: MediaState }
  | { type: 'leave' }
  | { type: 'update'; media: MediaState }
  | { type: 'ping'; t?: number };

export type ServerMessage =
  | {
      type: 'joined';
      room: string;
      self: MemberInfo;
      /** Token the client must register with at PeerServer under `self.peerId`. */
      peerToken: string;
      /** Path of PeerServer for this room, as PeerJS's `path` option. */
      peerPath: string;
      peers: MemberInfo[];
      iceServers: RTCIceServerLike[];
    }
  | { type: 'left' }
  | { type: 'peer-joined'; peer: MemberInfo }
  | { type: 'peer-left'; peerId: string }
  | { type: 'peer-updated'; peerId: string; media: MediaState }
  | { type: 'pong'; t?: number }
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
  | 'rate-limited'
  | 'internal';

/** Largest room-service message either side accepts, in bytes. */
export const MAX_MESSAGE_BYTES = 64 * 1024;
/** Room names: 1–64 characters, no control characters or slashes. */
export const ROOM_NAME = /^[^\u0000-\u001f\u007f/\\]{1,64}$/;
/** Peer ids: what PeerServer and PeerJS accept, kept short. */
export const PEER_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{3,63}$/;

/** WebSocket path of the room service for a room; the room is in the URL so a proxy can pin rooms to nodes. */
export function roomSocketPath(room: string): string {
  return `/r/${encodeURIComponent(room)}/ws`;
}

/** PeerJS `path` option for a room (PeerJS appends `/peerjs`). */
export function roomPeerPath(room: string): string {
  return `/r/${encodeURIComponent(room)}/peerjs`;
}
