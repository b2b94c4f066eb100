import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** Compares two secrets in constant time (whatever their lengths). */
export function safeEqual(given: string | undefined, expected: string): boolean {
  const a = createHash('sha256')
    .update(given ?? '')
    .digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && given !== undefined;
}

export interface TokenClaims {
  /** Room the token admits to. */
  room: string;
  /** Who the app's backend says this is (shown to others as `identity`). */
  identity: string;
  /** Unix time (seconds) after which the token is refused. */
  expiresAt: number;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

function sign(payload: string, secret: string): string {
  return createHmac('sha256', secret).update(`v1.${payload}`).digest('base64url');
}

/**
 * Issues a short-lived room token for an app's backend to hand to its user (the element's `token` attribute).
 * `createToken({ room: 'standup', identity: 'user-42', ttlSeconds: 300 }, secret)`.
 */
export function createToken(
  { room, identity, ttlSeconds = 300, now = Date.now() }: { room: string; identity: string; ttlSeconds?: number; now?: number },
  secret: string,
): string {
  if (!secret) throw new Error("createToken needs the server's token secret");
  const payload = b64url(JSON.stringify({ r: room, i: identity, e: Math.floor(now / 1000) + ttlSeconds }));
  return `v1.${payload}.${sign(payload, secret)}`;
}

export type TokenCheck = { ok: true; claims: TokenClaims } | { ok: false; reason: string };

/** Checks a token's signature, expiry and room. */
export function verifyToken(token: string, secret: string, room: string, now = Date.now()): TokenCheck {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== 'v1' || !secret) return { ok: false, reason: 'malformed token' };
  const [, payload, signature] = parts as [string, string, string];
  if (!safeEqual(signature, sign(payload, secret))) return { ok: false, reason: 'bad token signature' };
  let claims: { r?: unknown; i?: unknown; e?: unknown };
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof claims;
  } catch {
    return { ok: false, reason: 'malformed token' };
  }
  if (typeof claims.r !== 'string' || typeof claims.i !== 'string' || typeof claims.e !== 'number') {
    return { ok: false, reason: 'malformed token' };
  }
  if (claims.e * 1000 <= now) return { ok: false, reason: 'token expired' };
  if (claims.r !== room) return { ok: false, reason: 'token is for another room' };
  return { ok: true, claims: { room: claims.r, identity: claims.i, expiresAt: claims.e } };
}
