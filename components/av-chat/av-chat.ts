import { LitElement, html, nothing, type PropertyValues } from 'lit';
import { property, query, state } from 'lit/decorators.js';
import { guard } from 'lit/directives/guard.js';
import { repeat } from 'lit/directives/repeat.js';
import type { ChatMessage } from '../core/chat.js';
import type { LogLevel } from '../core/log.js';
import type { RoomSession } from '../core/session.js';
import { avChatStrings, type AvChatStrings } from './av-chat.strings.js';
import { TranslationController } from '../shared/i18n.js';
import { styles } from './av-chat.styles.js';
import { ChatController } from './chat-controller.js';
import { sendIcon } from '../shared/icons.js';

/** Detail of the cancelable `av-chat-send`: change `text` to rewrite the message, or call `preventDefault()` to veto it. */
export interface ChatSendDetail {
  text: string;
  /** Recipient's peer id for a private message. */
  to?: string;
}

/** Detail of `av-chat-message`. */
export interface ChatMessageDetail {
  message: ChatMessage;
}

const URL_PATTERN = /\bhttps?:\/\/[^\s<>"'`]+/g;
/**
 * Characters of messages drawn for the first time in one update, at most (each message counts 100 more). Drawing and
 * laying out text costs about its length: 20 messages of 4,000 characters full of links took 50–70 ms on a busy
 * 2-core machine, 3 of them (this budget) well under 50 ms. A flood is drawn in such slices, the newest first.
 */
const NEW_TEXT_PER_UPDATE = 12_000;

/**
 * Text chat for a room: inside an `<av-room>`, beside one with `for="room-id"`, or on its own with `server` and
 * `room`. Messages are acknowledged, retried after reconnects, shown exactly once in each sender's order, and kept in
 * IndexedDB; late joiners get the recent history from a member already present. History is taken only from the
 * member asked and shown under names from the roster: entries from members who left are marked "(left)", and entries
 * the sharer attributed to someone unverifiable are shown as the sharer's, marked "not verified". The list shows the
 * newest `max-shown` messages (a button shows earlier ones) and re-renders at most every 50 ms, so floods stay cheap.
 *
 * @summary Text chat with delivery receipts and history: `<av-chat for="room"></av-chat>`.
 * @tag av-chat
 *
 * @attr lang - Language of the element's strings: its own, else the closest ancestor's (`<html lang>`); English, `zh-CN`, or any added with `registerTranslation`.
 * @fires {CustomEvent<ChatMessageDetail>} av-chat-message - A message from someone else arrived: `{ message }`.
 * @fires {CustomEvent<ChatSendDetail>} av-chat-send - Cancelable, before a message is sent: `{ text, to }`; rewrite `detail.text` or veto with `preventDefault()`.
 *
 * @csspart list - The message list.
 * @csspart message - Every message.
 * @csspart own - Messages sent from this page.
 * @csspart name - Sender names.
 * @csspart time - Message times.
 * @csspart text - Message texts.
 * @csspart status - Delivery status of own messages.
 * @csspart former - The "(left)" mark on history from a member no longer in the room.
 * @csspart unverified - The "not verified" mark on history shown as the sharer's (see `ChatMessage.unverified`).
 * @csspart earlier - The "show earlier messages" button, when more messages are kept than shown.
 * @csspart link - Links in message texts.
 * @csspart form - The compose area.
 * @csspart recipient - The "send to" select.
 * @csspart input - The text input.
 * @csspart send-button - The send button.
 * @csspart unread - The "new messages" button shown when scrolled up.
 * @csspart notice - Validation and error messages.
 *
 * @cssprop [--av-chat-height=24rem] - Height of the chat.
 * @cssprop [--av-chat-border-color] - Borders (default: the text colour at 28% over the surface).
 * @cssprop [--av-chat-own-background] - Own messages (default: the accent at 16% over the surface).
 * @cssprop [--av-chat-other-background] - Others' messages (default: the text colour at 9% over the surface).
 * @cssprop [--av-chat-link-color] - Links (default: the accent).
 * @cssprop [--av-chat-gap=0.75rem] - Padding of the list (else `--av-space-m`).
 * @cssprop [--av-chat-color] - Text colour of this element only (else `--av-color`).
 * @cssprop [--av-chat-background] - Surface of this element only (else `--av-background`).
 * @cssprop [--av-chat-accent] - Accent of this element only (else `--av-accent`).
 * @cssprop [--av-chat-danger] - Danger colour of this element only (else `--av-danger`).
 * @cssprop [--av-chat-radius] - Corner radius of this element only (else `--av-radius`).
 * @cssprop [--av-chat-font] - Font family of this element only (else `--av-font`).
 */
export class AvChat extends LitElement {
  private readonly translation = new TranslationController(this, 'av-chat', avChatStrings);

  static override styles = styles;

  private readonly controller = new ChatController(this);

  /** Id of the `<av-room>` this chat belongs to (not needed when nested inside it). */
  @property() for = '';

  /** Standalone: base URL of the av-server (default: the page's origin). */
  @property() server = '';

  /** Standalone: room to join. */
  @property() room = '';

  /** Standalone: display name. */
  @property() name = '';

  /** `history="off"`: keep no history in IndexedDB and share none with late joiners. */
  @property() history: 'on' | 'off' = 'on';

  /** Longest message, in characters, enforced on send and on receipt. */
  @property({ type: Number, attribute: 'max-length' }) maxLength = 4000;

  /** Most messages in the list at once (the newest); older ones stay in `messages` and history. */
  @property({ type: Number, attribute: 'max-shown' }) maxShown = 200;

  /** Console logging of the chat: `silent`, `error`, `warn`, `info` or `debug`. */
  @property({ attribute: 'log-level' }) logLevel: LogLevel = 'warn';

  /** `dark` or `light`: the element's colour scheme, and it paints its own surface. Unset, it follows the page's `color-scheme`. */
  @property({ reflect: true }) theme?: 'light' | 'dark';

  /** User-visible strings; assign a translated copy of `avChatStrings`. */
  @property({ attribute: false }) strings: AvChatStrings = avChatStrings;

  @state() private notice = '';
  /** Messages shown beyond `maxShown`, after "show earlier messages". */
  @state() private extraShown = 0;
  /** Counted per incoming message but rendered with the next batched update (a flood must not render per message). */
  private unread = 0;
  @query('.list') private listEl?: HTMLDivElement;
  @query('textarea') private inputEl?: HTMLTextAreaElement;
  @query('select') private recipientEl?: HTMLSelectElement;
  private atBottom = true;
  /** Messages drawn at least once (the others are drawn within NEW_TEXT_PER_UPDATE). */
  private readonly drawn = new WeakSet<ChatMessage>();

  /** Every message, oldest first (read-only). */
  get messages(): readonly ChatMessage[] {
    return this.controller.chat?.messages ?? [];
  }

  /** The session beneath. */
  get session(): RoomSession | undefined {
    return this.controller.session;
  }

  /** @internal */
  chatOptions() {
    return { maxLength: this.maxLength, history: this.history !== 'off', logLevel: this.logLevel };
  }

  /** @internal */
  onIncoming(message: ChatMessage): void {
    this.dispatchEvent(new CustomEvent<ChatMessageDetail>('av-chat-message', { detail: { message }, bubbles: true, composed: true }));
    if (!this.atBottom) this.unread++;
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (this.hasUpdated && (changed.has('for') || changed.has('room') || changed.has('server'))) {
      this.controller.rebind();
    }
  }

  protected override updated(): void {
    if (this.atBottom && this.listEl) this.listEl.scrollTop = this.listEl.scrollHeight;
  }

  /**
   * Sends `text` to everyone, or privately to `to` (a peer id), after the cancelable `av-chat-send`.
   * Returns the message, or undefined when the page vetoed it. Throws a RangeError for empty or over-long text.
   */
  send(text: string, { to }: { to?: string } = {}): ChatMessage | undefined {
    const chat = this.controller.chat;
    if (!chat) throw new Error('the chat is not connected to a room');
    const detail: ChatSendDetail = { text, ...(to ? { to } : {}) };
    const event = new CustomEvent<ChatSendDetail>('av-chat-send', { detail, bubbles: true, composed: true, cancelable: true });
    if (!this.dispatchEvent(event)) return undefined;
    return chat.send(detail.text, detail.to ? { to: detail.to } : {});
  }

  /** Removes every message from this chat (and its stored history). */
  clear(): void {
    this.controller.chat?.clear();
  }

  private submit(e?: Event): void {
    e?.preventDefault();
    const input = this.inputEl;
    if (!input || !input.value.trim()) return;
    if ([...input.value.trim()].length > this.maxLength) {
      this.notice = this.strings.tooLong(this.maxLength);
      return;
    }
    try {
      const to = this.recipientEl?.value || undefined;
      const sent = this.send(input.value, to ? { to } : {});
      this.notice = sent ? '' : this.strings.notSent;
      if (sent) {
        input.value = '';
        this.grow();
      }
      this.atBottom = true;
    } catch (err) {
      this.notice = (err as Error).message;
    }
  }

  private onKeydown(e: KeyboardEvent): void {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) this.submit(e);
  }

  private onInput(): void {
    this.grow();
    if (this.notice && this.inputEl && [...this.inputEl.value].length <= this.maxLength) this.notice = '';
  }

  /** The input grows with its text, up to its CSS max-height (then it scrolls), and shrinks back once sent. */
  private grow(): void {
    const input = this.inputEl;
    if (!input) return;
    input.style.height = 'auto';
    input.style.height = `${input.scrollHeight + input.offsetHeight - input.clientHeight}px`;
  }

  private onScroll(): void {
    const el = this.listEl;
    if (!el) return;
    this.atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
    if (this.atBottom && (this.unread || this.extraShown)) {
      // Back at the newest: the list shrinks to `maxShown` again.
      this.unread = 0;
      this.extraShown = 0;
      this.requestUpdate();
    }
  }

  private showEarlier(): void {
    this.atBottom = false;
    this.extraShown += this.shownStep;
  }

  private get shownStep(): number {
    return Number.isFinite(this.maxShown) && this.maxShown >= 1 ? Math.floor(this.maxShown) : 200;
  }

  private showLatest(): void {
    this.atBottom = true;
    this.unread = 0;
    this.requestUpdate();
  }

  private renderText(text: string) {
    const parts: unknown[] = [];
    let last = 0;
    for (const m of text.matchAll(URL_PATTERN)) {
      const url = m[0].replace(/[.,;:!?)\]]+$/, '');
      const at = m.index ?? 0;
      parts.push(text.slice(last, at));
      parts.push(html`<a part="link" href=${url} target="_blank" rel="noopener noreferrer">${url}</a>`);
      last = at + url.length;
    }
    parts.push(text.slice(last));
    return parts;
  }

  /**
   * The newest `maxShown` messages (plus earlier ones asked for), leaving out for now those not drawn yet beyond
   * NEW_TEXT_PER_UPDATE: the newest show at once and the gaps fill in over the next updates. `earlier`: how many
   * older messages the list does not hold.
   */
  private visible(messages: readonly ChatMessage[]): { shown: ChatMessage[]; earlier: number } {
    const window = messages.slice(-(this.shownStep + this.extraShown));
    let budget = NEW_TEXT_PER_UPDATE;
    let deferred = false;
    const out: ChatMessage[] = [];
    for (let i = window.length - 1; i >= 0; i--) {
      const m = window[i]!;
      if (this.drawn.has(m)) out.push(m);
      else if (budget > 0) {
        budget -= m.text.length + 100;
        out.push(m);
      } else deferred = true;
    }
    if (deferred) this.controller.renderSoon();
    return { shown: out.reverse(), earlier: messages.length - window.length };
  }

  private renderMessage(m: ChatMessage) {
    this.drawn.add(m);
    const toName = m.to ? (this.controller.session?.peers.get(m.to)?.name ?? '') : '';
    // An unchanged message costs nothing to update: without guard, lit would walk every part of every shown message
    // (a text with 70 links has 140) on each update, which is most of an update's time during a flood.
    return guard([m.status, toName, this.strings], () => this.renderMessageNow(m));
  }

  private renderMessageNow(m: ChatMessage) {
    const s = this.strings;
    const peers = this.controller.session?.peers;
    const when = new Date(m.ts);
    const privateLabel = m.to ? (m.own ? s.privateTo(peers?.get(m.to)?.name ?? m.to) : s.privateFrom) : '';
    return html`<li class="message ${m.own ? 'own' : ''}" part="message${m.own ? ' own' : ''}" data-id=${m.id}>
      <span class="meta">
        <span class="name" part="name">${m.own ? s.you : m.name}</span>
        ${m.former ? html`<span class="mark" part="former">${s.former}</span>` : nothing}
        ${m.unverified ? html`<span class="mark" part="unverified" title=${s.unverifiedTitle(m.name)}>${s.unverified}</span>` : nothing}
        <time part="time" datetime=${when.toISOString()}>${when.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}</time>
        ${privateLabel ? html`<span class="private">${privateLabel}</span>` : nothing}
      </span>
      <p class="text" part="text">${this.renderText(m.text)}</p>
      ${m.own && m.status ? html`<span class="status" part="status">${s[m.status]}</span>` : nothing}
    </li>`;
  }

  protected override render() {
    const s = this.strings;
    const session = this.controller.session;
    const messages = this.messages;
    const connected = !!session?.live;
    const stateText = !session
      ? s.noRoom
      : session.state === 'error' || session.state === 'closed'
        ? s.error
        : !connected
          ? s.connecting
          : messages.length === 0
            ? s.empty
            : '';
    const peers = [...(session?.peers.values() ?? [])];
    const { shown, earlier } = this.visible(messages);
    return html`
      <div class="list" part="list" role="log" aria-label=${s.messages} aria-live="polite" tabindex="0" @scroll=${this.onScroll}>
        ${earlier > 0 ? html`<button class="earlier" part="earlier" @click=${this.showEarlier}>${s.earlier(earlier)}</button>` : nothing}
        <ol class="items">
          ${repeat(
            shown,
            (m) => m.id,
            (m) => this.renderMessage(m),
          )}
        </ol>
      </div>
      ${stateText ? html`<p class="state" role="status">${stateText}</p>` : nothing}
      ${this.unread > 0 ? html`<button class="unread" part="unread" @click=${this.showLatest}>${s.unread(this.unread)}</button>` : nothing}
      <form part="form" @submit=${this.submit}>
        <select part="recipient" aria-label=${s.recipient} ?disabled=${!connected}>
          <option value="">${s.everyone}</option>
          ${peers.map((p) => html`<option value=${p.peerId}>${p.name}</option>`)}
        </select>
        <textarea
          part="input"
          aria-label=${s.input}
          aria-describedby="keys"
          placeholder=${s.placeholder}
          rows="1"
          ?disabled=${!connected}
          @keydown=${this.onKeydown}
          @input=${this.onInput}
        ></textarea>
        <button part="send-button" type="submit" ?disabled=${!connected}>${sendIcon()}${s.send}</button>
        <span id="keys" hidden>${s.keys}</span>
      </form>
      <p class="notice" part="notice" role="alert">${this.notice}</p>
    `;
  }
}

if (!customElements.get('av-chat')) customElements.define('av-chat', AvChat);

declare global {
  interface HTMLElementTagNameMap {
    'av-chat': AvChat;
  }
}
