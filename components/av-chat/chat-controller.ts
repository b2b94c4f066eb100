import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { ChatChannel, type ChatMessage, type ChatOptions } from '../core/chat.js';
import { acquireSession } from '../core/registry.js';
import type { RoomSession, RoomSessionOptions } from '../core/session.js';

export interface ChatControllerHost extends ReactiveControllerHost, HTMLElement {
  /** The `<av-room>` this chat belongs to (nested or `for`), if any. */
  roomElement(): (HTMLElement & { session?: RoomSession }) | null;
  /** Options for a session of its own (standalone `server`/`room`), if set. */
  ownSessionOptions(): RoomSessionOptions | undefined;
  chatOptions(): ChatOptions;
  onIncoming(message: ChatMessage): void;
}

/**
 * Binds a ChatChannel to the element's life and to the room's current session: the room element's (following
 * re-joins through `av-room-session`), or a shared session of its own. Moving the element keeps it.
 */
export class ChatController implements ReactiveController {
  chat: ChatChannel | undefined;
  session: RoomSession | undefined;
  private release: (() => void) | undefined;
  private readonly off: (() => void)[] = [];
  private roomEl: HTMLElement | null = null;
  private readonly onRoomSession = () => this.bind();

  constructor(private readonly host: ChatControllerHost) {
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

  /** (Re)attaches to the right session; no-op when already attached to it. */
  bind(): void {
    const room = this.host.roomElement();
    if (room !== this.roomEl) {
      this.roomEl?.removeEventListener('av-room-session', this.onRoomSession);
      this.roomEl = room;
      room?.addEventListener('av-room-session', this.onRoomSession);
    }
    let session = room?.session;
    if (!room && !this.release) {
      const options = this.host.ownSessionOptions();
      if (options) {
        const held = acquireSession(options);
        this.release = held.release;
        session = held.session;
      }
    } else if (!room) {
      session = this.session;
    }
    if (session === this.session && this.chat) return;
    this.detachChat();
    this.session = session;
    if (!session) return this.host.requestUpdate();
    const chat = new ChatChannel(session, this.host.chatOptions());
    this.chat = chat;
    this.off.push(
      chat.on('change', () => this.scheduleUpdate()),
      chat.on('message', (m) => this.host.onIncoming(m)),
      session.on('state', () => this.host.requestUpdate()),
      session.on('peer-join', () => this.host.requestUpdate()),
      session.on('peer-leave', () => this.host.requestUpdate()),
    );
    this.host.requestUpdate();
  }

  private updateTimer: ReturnType<typeof setTimeout> | undefined;

  /** Bursts of messages re-render at most every 50 ms. */
  private scheduleUpdate(): void {
    this.updateTimer ??= setTimeout(() => {
      this.updateTimer = undefined;
      this.host.requestUpdate();
    }, 50);
  }

  private detachChat(): void {
    clearTimeout(this.updateTimer);
    this.updateTimer = undefined;
    for (const off of this.off.splice(0)) off();
    this.chat?.destroy();
    this.chat = undefined;
  }

  /** Lets go of everything. Idempotent. */
  unbind(): void {
    this.detachChat();
    this.roomEl?.removeEventListener('av-room-session', this.onRoomSession);
    this.roomEl = null;
    this.session = undefined;
    this.release?.();
    this.release = undefined;
  }
}
