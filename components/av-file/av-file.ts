import { LitElement, html, nothing, type PropertyValues } from 'lit';
import { property, query, state } from 'lit/decorators.js';
import { repeat } from 'lit/directives/repeat.js';
import { SessionBinding } from '../controllers/session-binding.js';
import type { FileTransfers, Transfer } from '../core/file-transfer.js';
import type { LogLevel } from '../core/log.js';
import type { RoomSession } from '../core/session.js';
import { avFileStrings, type AvFileStrings } from './av-file.strings.js';
import { TranslationController } from '../shared/i18n.js';
import { styles } from './av-file.styles.js';
import { paperclipIcon } from '../shared/icons.js';

/**
 * The transfer engine is a chunk of its own, fetched when the first <av-file> is connected: a page without one does
 * not download it, and by the time a room is joined it is there.
 */
let engine: typeof import('../core/file-transfer.js') | undefined;
const loadEngine = () => import('../core/file-transfer.js').then((m) => (engine = m));

/** Detail of `av-file-offer` (cancelable: `preventDefault()` declines), `av-file-progress`, `av-file-sent`, `av-file-error`. */
export interface FileTransferDetail {
  transfer: Transfer;
}
/** Detail of `av-file-received`. */
export interface FileReceivedDetail {
  transfer: Transfer;
  file: File;
  /** Sender's peer id. */
  from: string;
}

/**
 * Peer-to-peer file transfer for a room: pick or drop files, send them to everyone or one member, with progress on
 * both sides, accept/decline, cancel from either side, and a SHA-256 check before a file is handed over. A member
 * may have at most `max-pending-offers` unfinished offers with us; more are declined with a reason and not listed.
 *
 * @summary Verified peer-to-peer file transfer: `<av-file for="room"></av-file>`.
 * @tag av-file
 *
 * @attr lang - Language of the element's strings: its own, else the closest ancestor's (`<html lang>`); English, `zh-CN`, or any added with `registerTranslation`.
 * @fires {CustomEvent<FileTransferDetail>} av-file-offer - Cancelable: a member offers a file; `preventDefault()` declines it.
 * @fires {CustomEvent<FileTransferDetail>} av-file-progress - Progress of any transfer (at most every 100 ms per transfer).
 * @fires {CustomEvent<FileReceivedDetail>} av-file-received - A file arrived and passed its SHA-256 check: `{ transfer, file, from }`.
 * @fires {CustomEvent<FileTransferDetail>} av-file-sent - The receiver verified a file we sent.
 * @fires {CustomEvent<FileTransferDetail>} av-file-error - A transfer failed, was declined or cancelled (`transfer.state`, `transfer.error`).
 *
 * @csspart drop-zone - The area files can be dropped on.
 * @csspart pick-button - The "send files" button.
 * @csspart recipient - The "send to" select.
 * @csspart list - The list of transfers.
 * @csspart transfer - Every transfer.
 * @csspart progress - Progress bars.
 * @csspart accept-button - Accept buttons of offers.
 * @csspart decline-button - Decline buttons of offers.
 * @csspart cancel-button - Cancel buttons.
 * @csspart download - Links to save received files.
 *
 * @cssprop [--av-file-border-color] - Drop zone border (default: the text colour at 28% over the surface).
 * @cssprop [--av-file-drop-background] - Drop zone while dragging over it (default: the accent at 10% over the surface).
 * @cssprop [--av-file-item-background] - Transfer rows (default: the text colour at 9% over the surface).
 * @cssprop [--av-file-secondary-background] - Decline and cancel buttons (default: the text colour at 12% over the surface).
 * @cssprop [--av-file-gap=0.75rem] - Drop zone padding (else `--av-space-m`).
 * @cssprop [--av-file-color] - Text colour of this element only (else `--av-color`).
 * @cssprop [--av-file-background] - Surface of this element only (painted only with `theme`) (else `--av-background`).
 * @cssprop [--av-file-accent] - Accent of this element only (else `--av-accent`).
 * @cssprop [--av-file-danger] - Danger colour of this element only (else `--av-danger`).
 * @cssprop [--av-file-radius] - Corner radius of this element only (else `--av-radius`).
 * @cssprop [--av-file-font] - Font family of this element only (else `--av-font`).
 */
export class AvFile extends LitElement {
  private readonly translation = new TranslationController(this, 'av-file', avFileStrings);

  static override styles = styles;

  private readonly binding = new SessionBinding(this, (session) => this.attach(session));
  private files: FileTransfers | undefined;
  private readonly off: (() => void)[] = [];
  private readonly urls = new Map<string, string>();

  /** Id of the `<av-room>` this belongs to (not needed when nested inside it). */
  @property() for = '';

  /** Standalone: base URL of the av-server. */
  @property() server = '';

  /** Standalone: room to join. */
  @property() room = '';

  /** Standalone: display name. */
  @property() name = '';

  /** Accept every offer without asking. */
  @property({ type: Boolean, attribute: 'auto-accept' }) autoAccept = false;

  /** Largest file accepted, in bytes (larger offers are declined with a message). */
  @property({ type: Number, attribute: 'max-size' }) maxSize?: number;

  /** Largest file sent through the server when there is no peer-to-peer path, in bytes (default 1 MiB). */
  @property({ type: Number, attribute: 'relay-max-size' }) relayMaxSize = 1024 * 1024;

  /**
   * Unfinished files one member may have offered us at once (default 8); further offers are declined with a reason the
   * sender sees, and not listed. Also how many files we offer one member at once (the rest wait their turn).
   */
  @property({ type: Number, attribute: 'max-pending-offers' }) maxPendingOffers = 8;

  /** Console logging: `silent`, `error`, `warn`, `info` or `debug`. */
  @property({ attribute: 'log-level' }) logLevel: LogLevel = 'warn';

  /** `dark` or `light`: the element's colour scheme, and it paints its own surface. Unset, it follows the page's `color-scheme`. */
  @property({ reflect: true }) theme?: 'light' | 'dark';

  /** User-visible strings; assign a translated copy of `avFileStrings`. */
  @property({ attribute: false }) strings: AvFileStrings = avFileStrings;

  @state() private dragging = false;
  @query('input[type=file]') private picker?: HTMLInputElement;
  @query('select') private recipientEl?: HTMLSelectElement;

  /** Every transfer, oldest first (read-only). */
  get transfers(): readonly Transfer[] {
    return this.files?.transfers ?? [];
  }

  /** The session beneath. */
  get session(): RoomSession | undefined {
    return this.binding.session;
  }

  private attach(session: RoomSession | undefined): void {
    for (const off of this.off.splice(0)) off();
    this.files?.destroy();
    this.files = undefined;
    if (session && !engine) {
      // Still loading (a connection faster than the chunk): attach once it is here, if still bound to this session.
      void loadEngine().then(() => this.session === session && !this.files && this.attach(session));
    } else if (session && engine) {
      const files = new engine.FileTransfers(session, {
        maxSize: this.maxSize,
        relayMaxSize: this.relayMaxSize,
        maxPendingOffers: this.maxPendingOffers,
        logLevel: this.logLevel,
      });
      this.files = files;
      this.off.push(
        files.on('offer', (t) => {
          const ok = this.fire('av-file-offer', { transfer: t }, true);
          if (!ok) files.decline(t.id);
          else if (this.autoAccept) files.accept(t.id);
        }),
        files.on('change', (t) => this.onChange(t)),
        files.on('received', (t) => this.fire('av-file-received', { transfer: t, file: t.file, from: t.peerId })),
        session.on('state', () => this.requestUpdate()),
        session.on('peer-join', () => this.requestUpdate()),
        session.on('peer-leave', () => this.requestUpdate()),
      );
    }
    this.requestUpdate();
  }

  private onChange(t: Transfer): void {
    if (t.state === 'active') this.fire('av-file-progress', { transfer: t });
    if (t.state === 'done' && t.direction === 'send') this.fire('av-file-sent', { transfer: t });
    if (t.state === 'error' || t.state === 'cancelled' || t.state === 'declined') this.fire('av-file-error', { transfer: t });
    this.requestUpdate();
  }

  private fire(type: string, detail: unknown, cancelable = false): boolean {
    return this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true, cancelable }));
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (this.hasUpdated && (changed.has('for') || changed.has('room') || changed.has('server'))) {
      this.binding.unbind();
      this.binding.bind();
    }
  }

  protected override updated(): void {
    // Finished transfers the list let go of (it keeps the newest 200): their files are released too.
    if (this.urls.size === 0) return;
    const listed = new Set(this.transfers.map((t) => t.id));
    for (const [id, url] of this.urls) {
      if (listed.has(id)) continue;
      URL.revokeObjectURL(url);
      this.urls.delete(id);
    }
  }

  override connectedCallback(): void {
    super.connectedCallback();
    void loadEngine().catch(() => {});
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    queueMicrotask(() => {
      if (this.isConnected) return;
      for (const url of this.urls.values()) URL.revokeObjectURL(url);
      this.urls.clear();
    });
  }

  /** Offers files to everyone, or to one member (`to`: a peer id). */
  send(files: Iterable<File>, { to }: { to?: string } = {}): Transfer[] {
    const transfers = this.files;
    if (!transfers) throw new Error('not connected to a room');
    return [...files].flatMap((f) => transfers.send(f, to ? { to } : {}));
  }

  /** Accepts an offered transfer by id. */
  accept(id: string): void {
    this.files?.accept(id);
  }

  /** Declines an offered transfer by id. */
  decline(id: string): void {
    this.files?.decline(id);
  }

  /** Cancels a transfer by id (either direction). */
  cancel(id: string): void {
    this.files?.cancel(id);
  }

  private sendPicked(list: FileList | null | undefined): void {
    if (!list?.length) return;
    const to = this.recipientEl?.value || undefined;
    this.send([...list], to ? { to } : {});
  }

  private onPick(): void {
    this.sendPicked(this.picker?.files);
    if (this.picker) this.picker.value = '';
  }

  private onDragOver(e: DragEvent): void {
    if (!e.dataTransfer?.types.includes('Files')) return;
    e.preventDefault();
    this.dragging = true;
  }

  private onDrop(e: DragEvent): void {
    e.preventDefault();
    this.dragging = false;
    this.sendPicked(e.dataTransfer?.files);
  }

  private downloadUrl(t: Transfer): string | undefined {
    if (!t.file) return undefined;
    let url = this.urls.get(t.id);
    if (!url) this.urls.set(t.id, (url = URL.createObjectURL(t.file)));
    return url;
  }

  private renderTransfer(t: Transfer) {
    const s = this.strings;
    const live = t.state === 'active' || t.state === 'waiting' || t.state === 'verifying' || t.state === 'paused';
    const url = this.downloadUrl(t);
    return html`<li part="transfer" data-id=${t.id} data-state=${t.state}>
      <div class="head">
        <span class="name">${t.name}</span>
        <span class="meta">${t.direction === 'send' ? s.to(t.peerName) : s.from(t.peerName)} · ${s.state[t.state]}</span>
      </div>
      ${
        t.state === 'active' || t.state === 'paused' || t.state === 'verifying' || t.state === 'done'
          ? html`<progress part="progress" max=${Math.max(t.size, 1)} value=${t.size ? t.bytes : 1} aria-label=${t.name}></progress>
            <div class="meta">${Math.round((t.size ? t.bytes / t.size : 1) * 100)}% · ${s.progress(t.bytes, t.size, t.speed, t.eta)}</div>`
          : nothing
      }
      ${t.error ? html`<div class="error" role="alert">${t.error}</div>` : nothing}
      <div class="actions">
        ${
          t.state === 'offered'
            ? html`<button part="accept-button" @click=${() => this.accept(t.id)} aria-label="${s.accept}: ${t.name}">${s.accept}</button>
              <button class="secondary" part="decline-button" @click=${() => this.decline(t.id)} aria-label="${s.decline}: ${t.name}">${s.decline}</button>`
            : nothing
        }
        ${live ? html`<button class="secondary" part="cancel-button" @click=${() => this.cancel(t.id)} aria-label="${s.cancel}: ${t.name}">${s.cancel}</button>` : nothing}
        ${url ? html`<a part="download" href=${url} download=${t.name}>${s.download} ${t.name}</a>` : nothing}
      </div>
    </li>`;
  }

  protected override render() {
    const s = this.strings;
    const session = this.binding.session;
    const connected = !!session?.live;
    const peers = [...(session?.peers.values() ?? [])];
    const transfers = this.transfers;
    return html`
      <div
        class="drop ${this.dragging ? 'over' : ''}"
        part="drop-zone"
        @dragover=${this.onDragOver}
        @dragleave=${() => (this.dragging = false)}
        @drop=${this.onDrop}
      >
        <input type="file" multiple tabindex="-1" aria-hidden="true" @change=${this.onPick} />
        <button part="pick-button" ?disabled=${!connected || peers.length === 0} @click=${() => this.picker?.click()}>${paperclipIcon()}${s.choose}</button>
        <select part="recipient" aria-label=${s.recipient} ?disabled=${!connected}>
          <option value="">${s.everyone}</option>
          ${peers.map((p) => html`<option value=${p.peerId}>${p.name}</option>`)}
        </select>
        <span class="meta">${!session || !connected ? s.notConnected : peers.length === 0 ? s.nobody : s.drop}</span>
      </div>
      ${
        transfers.length
          ? html`<ul part="list" aria-label=${s.transfers}>${repeat(
              transfers,
              (t) => t.id,
              (t) => this.renderTransfer(t),
            )}</ul>`
          : nothing
      }
    `;
  }
}

if (!customElements.get('av-file')) customElements.define('av-file', AvFile);

declare global {
  interface HTMLElementTagNameMap {
    'av-file': AvFile;
  }
}
