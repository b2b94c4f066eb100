import { RoomSession, type RoomSessionOptions } from './session.js';

/**
 * Sessions shared by elements on one page that name the same server, room and identity, counted so the last
 * release ends it. No singleton state beyond this map; nothing is kept after the last release.
 */
const sessions = new Map<string, { session: RoomSession; count: number }>();

function sessionKey(o: Pick<RoomSessionOptions, 'server' | 'room' | 'name'>): string {
  const server = (Array.isArray(o.server) ? o.server.join(' ') : o.server) || globalThis.location?.origin;
  return `${server}|${o.room}|${o.name}`;
}

/** Gets the page's session for these options (joining it when new); call `release()` when done with it. */
export function acquireSession(options: RoomSessionOptions): { session: RoomSession; release(): void } {
  const key = sessionKey(options);
  let entry = sessions.get(key);
  if (!entry || entry.session.state === 'closed' || entry.session.state === 'error') {
    entry = { session: new RoomSession(options), count: 0 };
    sessions.set(key, entry);
    entry.session.join().catch(() => {
      /* reported through the session's error event */
    });
  }
  entry.count++;
  const held = entry;
  let released = false;
  return {
    session: held.session,
    release() {
      if (released) return;
      released = true;
      if (--held.count > 0) return;
      if (sessions.get(key) === held) sessions.delete(key);
      held.session.destroy();
    },
  };
}
