/**
 * Envelopes on the peer data channel (PeerJS `raw` serialization: strings and ArrayBuffers as they are).
 * Text frames are JSON `{ k: kind, ... }`; binary frames start with one byte naming their kind.
 * Everything a peer sends is validated here: peers are untrusted.
 */

/** Largest application message, in bytes after encoding (below Chrome's 256 KiB SCTP message limit). */
export const MAX_APP_MESSAGE_BYTES = 256 * 1024 - 64;
/** Largest application message through the server relay (its frames are 64 KiB, base64 inflates by 4/3). */
export const MAX_RELAY_MESSAGE_BYTES = 46 * 1024;

const BINARY_APP = 0x01;

export type AppMessage = unknown;

/** Channel names: short, so components (chat, files) can share the data channel with the page's own messages. */
export const CHANNEL = /^[a-z][a-z0-9-]{0,31}$/;

/** Encodes an application message: bytes stay bytes, anything else is JSON (on `channel`, when given). */
export function encodeApp(data: AppMessage, channel?: string): string | ArrayBuffer {
  const bytes = asBytes(data);
  if (bytes) {
    if (channel) throw new TypeError('channels carry JSON only');
    const frame = new Uint8Array(bytes.byteLength + 1);
    frame[0] = BINARY_APP;
    frame.set(bytes, 1);
    return frame.buffer;
  }
  const text = JSON.stringify(channel ? { k: 'app', c: channel, data } : { k: 'app', data });
  if (text === undefined) throw new TypeError('message must be JSON-serialisable or binary');
  return text;
}

/** Size in bytes of an encoded frame. */
export function frameSize(frame: string | ArrayBuffer): number {
  return typeof frame === 'string' ? new TextEncoder().encode(frame).byteLength : frame.byteLength;
}

export type Decoded = { kind: 'app'; data: AppMessage; channel?: string } | { kind: 'invalid'; reason: string };

/** Decodes a frame from a peer; anything unexpected is `invalid` with a reason, never a throw. */
export function decodeFrame(frame: unknown): Decoded {
  if (typeof frame === 'string') {
    if (frame.length > MAX_APP_MESSAGE_BYTES) return { kind: 'invalid', reason: 'text frame too large' };
    let msg: unknown;
    try {
      msg = JSON.parse(frame);
    } catch {
      return { kind: 'invalid', reason: 'text frame is not JSON' };
    }
    if (typeof msg !== 'object' || msg === null || (msg as { k?: unknown }).k !== 'app' || !('data' in msg)) {
      return { kind: 'invalid', reason: 'unknown envelope' };
    }
    const c = (msg as { c?: unknown }).c;
    if (c !== undefined && (typeof c !== 'string' || !CHANNEL.test(c))) return { kind: 'invalid', reason: 'bad channel name' };
    return c ? { kind: 'app', data: msg.data, channel: c } : { kind: 'app', data: msg.data };
  }
  const bytes = asBytes(frame);
  if (!bytes) return { kind: 'invalid', reason: 'unsupported frame type' };
  if (bytes.byteLength > MAX_APP_MESSAGE_BYTES + 1) return { kind: 'invalid', reason: 'binary frame too large' };
  if (bytes[0] !== BINARY_APP) return { kind: 'invalid', reason: `unknown binary kind ${bytes[0]}` };
  return { kind: 'app', data: bytes.slice(1) };
}

function asBytes(data: unknown): Uint8Array | undefined {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}

/** Bytes ↔ base64, for the server relay (JSON frames). */
export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function fromBase64(b64: string): Uint8Array {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export { asBytes };
