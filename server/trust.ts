import type { IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';

/**
 * Which proxies may tell us the client's address through `X-Forwarded-For`: `false` (none: the socket's address is
 * the client's), `true` (any: only safe when every request passes a proxy that overwrites the header), a number of
 * proxy hops in front of the server, or addresses and subnets (`loopback`, `10.0.0.0/8`, …) as express understands them.
 */
export type TrustProxy = boolean | number | string | string[];

export type TrustFunction = (address: string, hop: number) => boolean;

export function trustFunction(trust: TrustProxy): TrustFunction {
  if (trust === true) return () => true;
  if (trust === false) return () => false;
  if (typeof trust === 'number') return (_address, hop) => hop < trust;
  const list = (Array.isArray(trust) ? trust : trust.split(',')).map((s) => s.trim()).filter(Boolean);
  return proxyaddr.compile(list);
}

/** The client's address: the socket's, or the forwarded one where the proxies in between are trusted. */
export function clientAddress(req: IncomingMessage, trust: TrustFunction): string {
  try {
    return proxyaddr(req, trust) || req.socket.remoteAddress || 'unknown';
  } catch {
    return req.socket.remoteAddress ?? 'unknown';
  }
}

export function isLoopback(address: string | undefined): boolean {
  return !!address && (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'));
}

/**
 * Whether a page from `origin` may use this server. `allowed` undefined means any origin (the default: the bundle is
 * meant for other sites' pages). Requests without an Origin (not from a browser page) are not a CSRF risk and pass.
 */
export function originAllowed(origin: string | undefined, allowed: string[] | undefined, req?: IncomingMessage): boolean {
  if (!allowed || origin === undefined) return true;
  return allowed.includes(origin) || (!!req && sameOrigin(origin, req));
}

/** A page served by this server itself (the demo) is always allowed. */
function sameOrigin(origin: string, req: IncomingMessage): boolean {
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/** `--trust-proxy` as written in a config file, the environment or a flag. */
export function parseTrustProxy(value: string | boolean | number | string[] | undefined): TrustProxy {
  if (value === undefined) return false;
  if (typeof value !== 'string') return value;
  if (/^(true|yes|on)$/i.test(value)) return true;
  if (/^(false|no|off|)$/i.test(value)) return false;
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}
