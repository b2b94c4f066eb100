/** Error codes a session reports; pages can branch on them. */
export type SessionErrorCode =
  | 'bad-options'
  | 'server-unreachable'
  | 'server-lost'
  | 'join-failed'
  | 'signalling-failed'
  | 'media-unavailable'
  | 'auth-failed'
  | 'room-full'
  | 'server-full'
  | 'kicked'
  | 'room-closed'
  | 'rate-limited'
  | 'id-taken'
  | 'peer-unreachable'
  | 'too-large'
  | 'not-connected'
  | 'protocol';

export class SessionError extends Error {
  constructor(
    readonly code: SessionErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SessionError';
  }
}
