import type { ReactiveController } from 'lit';
import { SessionBinding, type CompanionHost } from '../controllers/session-binding.js';
import { ChatChannel, type ChatMessage, type ChatOptions } from '../core/chat.js';
import type { RoomSession } from '../core/session.js';

export interface ChatControllerHost extends CompanionHost {
  chatOptions(): ChatOptions;
  onIncoming(message: ChatMessage): void;
}

/** A ChatChannel on whatever session the element is bound to (see SessionBinding), re-made when that changes. */
export class ChatController implements ReactiveController {
  chat: ChatChannel | undefined;
  private readonly binding: SessionBinding;
  private readonly off: (() => void)[] = [];
  private updateTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly host: ChatControllerHost) {
    host.addController(this);
    this.binding = new SessionBinding(host, (session) => this.attach(session));
  }

  get session(): RoomSession | undefined {
    return this.binding.session;
  }

  hostConnected(): void {}

  /** Re-reads `for` / `room` after they change. */
  rebind(): void {
    this.binding.unbind();
    this.binding.bind();
  }

  private attach(session: RoomSession | undefined): void {
    this.detach();
    if (session) {
      const chat = new ChatChannel(session, this.host.chatOptions());
      this.chat = chat;
      this.off.push(
        chat.on('change', () => this.renderSoon()),
        chat.on('message', (m) => this.host.onIncoming(m)),
        session.on('state', () => this.host.requestUpdate()),
        session.on('peer-join', () => this.host.requestUpdate()),
        session.on('peer-leave', () => this.host.requestUpdate()),
      );
    }
    this.host.requestUpdate();
  }

  /** Bursts of messages re-render at most every 50 ms. */
  renderSoon(): void {
    this.updateTimer ??= setTimeout(() => {
      this.updateTimer = undefined;
      this.host.requestUpdate();
    }, 50);
  }

  private detach(): void {
    clearTimeout(this.updateTimer);
    this.updateTimer = undefined;
    for (const off of this.off.splice(0)) off();
    this.chat?.destroy();
    this.chat = undefined;
  }
}
