import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { LogLevel } from '../core/log.js';
import { acquireSession } from '../core/registry.js';
import type { RoomSession } from '../core/session.js';

/** What a companion element (<av-chat>, <av-file>) exposes to find its room. */
export interface CompanionHost extends ReactiveControllerHost, HTMLElement {
  /** Id of the `<av-room>` to use. */
  for: string;
  /** Standalone: server, room and name of a session of its own. */
  server: string;
  room: string;
  name: string;
  logLevel: LogLevel;
}

type RoomElement = HTMLElement & { session?: RoomSession };

/**
 * Finds a companion's session and follows it: the `<av-room>` it is nested in or names with `for` (following that
 * room's re-joins through `av-room-session`), or else a session of its own shared with same-named elements on the
 * page. Moving the element keeps it; removing it lets go.
 */
export class SessionBinding implements ReactiveController {
  session: RoomSession | undefined;
  private own: { session: RoomSession; release(): void } | undefined;
  private roomEl: RoomElement | null = null;
  private readonly onRoomSession = () => this.bind();

  constructor(
    private readonly host: CompanionHost,
    private readonly onChange: (session: RoomSession | undefined) => void,
  ) {
    host.addController(this);
  }

  hostConnected(): void {
    void this.host.updateComplete.then(() => this.host.isConnected && this.bind());
  }

  hostDisconnected(): void {
    queueMicrotask(() => {
      if (!this.host.isConnected) this.unbind();
    });
  }

  private roomElement(): RoomElement | null {
    if (this.host.for) {
      const root = this.host.getRootNode() as Document | ShadowRoot;
      return root.getElementById?.(this.host.for) ?? null;
    }
    return this.host.closest('av-room');
  }

  /** (Re)attaches to the right session; no-op when already attached to it. */
  bind(): void {
    const room = this.roomElement();
    if (room !== this.roomEl) {
      this.roomEl?.removeEventListener('av-room-session', this.onRoomSession);
      this.roomEl = room;
      room?.addEventListener('av-room-session', this.onRoomSession);
    }
    let session: RoomSession | undefined;
    if (room) {
      this.releaseOwn();
      session = room.session;
    } else if (this.host.room) {
      const h = this.host;
      this.own ??= acquireSession({
        server: h.server || undefined,
        room: h.room,
        name: h.name,
        audio: false,
        video: false,
        logLevel: h.logLevel,
      });
      session = this.own.session;
    } else {
      this.releaseOwn();
    }
    if (session === this.session) return;
    this.session = session;
    this.onChange(session);
  }

  private releaseOwn(): void {
    this.own?.release();
    this.own = undefined;
  }

  /** Lets go of everything. Idempotent. */
  unbind(): void {
    this.roomEl?.removeEventListener('av-room-session', this.onRoomSession);
    this.roomEl = null;
    const had = this.session;
    this.session = undefined;
    if (had) this.onChange(undefined);
    this.releaseOwn();
  }
}
