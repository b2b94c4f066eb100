import type { MediaConnection } from 'peerjs';
import type { LocalMedia } from './local-media.js';
import { placeholderTracks } from './local-media.js';
import type { MediaState, MemberInfo } from './room-protocol.js';

/** What a page sees of one remote member. */
export interface RemotePeer {
  readonly peerId: string;
  readonly name: string;
  /** What the member says it sends (mic on, camera on). */
  readonly media: MediaState;
  /** The member's audio and video, once the call is set up. */
  readonly stream: MediaStream | undefined;
}

/** One remote member: its roster entry and the media call with it. */
export class PeerLink implements RemotePeer {
  readonly peerId: string;
  name: string;
  media: MediaState;
  stream: MediaStream | undefined;
  private call: MediaConnection | undefined;
  private closed = false;

  constructor(member: MemberInfo, private readonly onStream: (link: PeerLink) => void) {
    this.peerId = member.peerId;
    this.name = member.name;
    this.media = member.media;
  }

  get peerConnection(): RTCPeerConnection | undefined {
    return this.call?.peerConnection;
  }

  get hasCall(): boolean {
    return !!this.call;
  }

  /**
   * Takes over a media call, placed by us (`start` calls `peer.call`) or received (`start` answers it).
   * Every call carries an audio and a video transceiver able to send, whatever we have now.
   */
  attach(local: LocalMedia, start: (stream: MediaStream) => MediaConnection | undefined): void {
    if (this.closed) return;
    const spare = local.audioTrack && local.videoTrack ? undefined : placeholderTracks();
    const tracks = [local.audioTrack ?? spare?.tracks.find((t) => t.kind === 'audio'), local.videoTrack ?? spare?.tracks.find((t) => t.kind === 'video')];
    const call = start(new MediaStream(tracks.filter((t): t is MediaStreamTrack => !!t)));
    if (!call) {
      spare?.stop();
      return;
    }
    this.call?.close();
    this.call = call;
    if (spare) {
      for (const sender of call.peerConnection?.getSenders() ?? []) {
        if (sender.track && spare.tracks.includes(sender.track)) void sender.replaceTrack(null);
      }
      spare.stop();
    }
    call.on('stream', (stream) => {
      if (this.call !== call) return;
      this.stream = stream;
      this.onStream(this);
    });
    call.on('error', () => {});
  }

  /** Sends `track` (or nothing) as our audio or video to this member without renegotiating. */
  async replaceTrack(kind: 'audio' | 'video', track: MediaStreamTrack | null): Promise<void> {
    const transceiver = this.peerConnection?.getTransceivers().find((t) => t.receiver.track.kind === kind && t.currentDirection !== 'stopped');
    if (transceiver) await transceiver.sender.replaceTrack(track);
  }

  /** WebRTC statistics of the call with this member. */
  async getStats(): Promise<RTCStatsReport | undefined> {
    return this.peerConnection?.getStats();
  }

  /** Hangs up. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const pc = this.call?.peerConnection;
    this.call?.close();
    // Don't wait for PeerJS's close handshake: a connection we close may never report it.
    pc?.close();
    this.call = undefined;
  }
}
