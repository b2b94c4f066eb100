// Shared by every demo page: nav highlighting, the light/dark toggle, room and display names, copy buttons and
// event logs. Pages import what they need; loading it also wires the header and the copy buttons.

const THEME_KEY = 'av-demo-theme';
const NAME_KEY = 'av-demo-name';
const ELEMENTS = 'av-room, av-chat, av-file, av-recorder';

/** localStorage that never throws (storage can be disabled or full). */
const store = {
  get: (key) => {
    try {
      return localStorage.getItem(key);
    } catch {
      return null;
    }
  },
  set: (key, value) => {
    try {
      localStorage.setItem(key, value);
    } catch {
      // Not remembered, still applied.
    }
  },
};

// --- Navigation: the link to this page gets aria-current="page".
const here = location.pathname.replace(/\/index\.html$/, '/');
for (const link of document.querySelectorAll('.site-nav a')) {
  const target = new URL(link.href).pathname.replace(/\/index\.html$/, '/');
  if (target === here) link.setAttribute('aria-current', 'page');
}

// --- Theme: data-theme on <html> (demo.css sets color-scheme and the page's colours from it) and theme="…" on every
// av-* element, now and as they are added.
const systemDark = matchMedia('(prefers-color-scheme: dark)');
const currentTheme = () => (document.documentElement.dataset.theme === 'dark' ? 'dark' : 'light');

function paintElements(root = document) {
  const theme = currentTheme();
  for (const el of root.querySelectorAll(ELEMENTS)) el.setAttribute('theme', theme);
}

/** Switches the page and every av-* element to `theme`; `remember` stores it as the visitor's choice. */
export function setTheme(theme, remember = true) {
  document.documentElement.dataset.theme = theme;
  if (remember) store.set(THEME_KEY, theme);
  paintElements();
  const toggle = document.getElementById('theme-toggle');
  toggle?.setAttribute('aria-pressed', String(theme === 'dark'));
  document.dispatchEvent(new CustomEvent('demo-theme', { detail: { theme } }));
}

setTheme(store.get(THEME_KEY) ?? (systemDark.matches ? 'dark' : 'light'), false);
// Follow the system until the visitor picks a theme here.
systemDark.addEventListener('change', (e) => {
  if (!store.get(THEME_KEY)) setTheme(e.matches ? 'dark' : 'light', false);
});
document.getElementById('theme-toggle')?.addEventListener('click', () => setTheme(currentTheme() === 'dark' ? 'light' : 'dark'));
new MutationObserver((records) => {
  for (const r of records) for (const node of r.addedNodes) if (node instanceof Element) paintNode(node);
}).observe(document.body, { childList: true, subtree: true });

function paintNode(node) {
  if (node.matches(ELEMENTS)) node.setAttribute('theme', currentTheme());
  paintElements(node);
}

// --- Names.
const ADJECTIVES = ['amber', 'blue', 'brave', 'calm', 'clever', 'coral', 'green', 'happy', 'jolly', 'lucky', 'quiet', 'swift'];
const ANIMALS = ['badger', 'falcon', 'fox', 'heron', 'koala', 'lynx', 'otter', 'owl', 'panda', 'puffin', 'seal', 'wren'];
const pick = (list) => list[Math.floor(Math.random() * list.length)];

/** A readable random room name such as `blue-otter-42`. */
export const randomRoomName = () => `${pick(ADJECTIVES)}-${pick(ANIMALS)}-${10 + Math.floor(Math.random() * 90)}`;

/** Room names the server takes: 1–64 characters. */
export const validRoom = (name) => typeof name === 'string' && name.trim().length > 0 && name.length <= 64;

/**
 * The room in `?room=`, or a new random one written into the address bar (history.replaceState) before anything
 * joins, so the address is the invite link from the start.
 */
export function roomFromUrl() {
  const url = new URL(location.href);
  const room = url.searchParams.get('room');
  if (validRoom(room)) return room;
  const fresh = randomRoomName();
  url.searchParams.set('room', fresh);
  history.replaceState(history.state, '', url);
  return fresh;
}

/** The link that brings someone into `room` on this page: the page's URL with only `?room=`. */
export function inviteUrl(room) {
  const url = new URL(location.pathname, location.origin);
  url.searchParams.set('room', room);
  return url.href;
}

/** The display name: `?name=`, else the one remembered here, else a new "Guest 123" (remembered). */
export function displayName() {
  const fromUrl = new URLSearchParams(location.search).get('name');
  if (fromUrl) return fromUrl.slice(0, 64);
  const stored = store.get(NAME_KEY);
  if (stored) return stored;
  const guest = `Guest ${100 + Math.floor(Math.random() * 900)}`;
  store.set(NAME_KEY, guest);
  return guest;
}

export const rememberName = (name) => store.set(NAME_KEY, name);

// --- Announcements and copying.
const announcer = document.createElement('p');
announcer.className = 'visually-hidden';
announcer.setAttribute('role', 'status');
document.body.append(announcer);

/** Says `text` in a polite live region: `region` when given (visible), else the page's hidden one. */
function announce(text, region = announcer) {
  // Cleared first so the same message twice is announced twice.
  region.textContent = '';
  setTimeout(() => (region.textContent = text), 50);
}

/**
 * Copies `text` to the clipboard and announces `done`. When the browser refuses (no permission, not focused), selects
 * `fallback` instead (a read-only field, or any element's text) and says how to copy by hand. Returns whether the
 * clipboard took it.
 */
export async function copyText(text, { done = 'Copied', fallback, region } = {}) {
  try {
    await navigator.clipboard.writeText(text);
    announce(done, region);
    return true;
  } catch {
    if (fallback instanceof HTMLInputElement || fallback instanceof HTMLTextAreaElement) {
      fallback.focus();
      fallback.select();
    } else if (fallback) {
      const range = document.createRange();
      range.selectNodeContents(fallback);
      getSelection()?.removeAllRanges();
      getSelection()?.addRange(range);
    }
    announce('Copying was refused: the text is selected, press Ctrl+C (⌘C) to copy it.', region);
    return false;
  }
}

// Every `<button data-copy="#id">` copies that element's text (the escaped code blocks).
for (const button of document.querySelectorAll('button[data-copy]')) {
  button.addEventListener('click', () => {
    const source = document.querySelector(button.dataset.copy);
    if (source) void copyText(source.textContent ?? '', { done: 'Code copied', fallback: source });
  });
}

// --- Event logs.
const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** Adds `name` and a short summary of `detail` at the top of the `<ol>` `list`, keeping the newest 30. */
export function logEvent(list, name, detail) {
  const item = document.createElement('li');
  const when = document.createElement('time');
  when.textContent = time.format(new Date());
  const what = document.createElement('code');
  what.textContent = name;
  item.append(when, ' ', what);
  const summary = summarize(detail);
  if (summary) item.append(' ', summary);
  list.prepend(item);
  while (list.children.length > 30) list.lastElementChild?.remove();
}

/** `{ a: 1, b: 'x' }` → `a: 1, b: "x"`, with Blobs, Files and long values shortened. */
function summarize(detail) {
  if (!detail || typeof detail !== 'object') return '';
  return Object.entries(detail)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}: ${short(v)}`)
    .join(', ');
}

function short(v) {
  if (v instanceof File) return `File "${v.name}" (${v.size} B)`;
  if (v instanceof Blob) return `Blob ${v.type || ''} (${v.size} B)`;
  if (v && typeof v === 'object') {
    // Transfers, messages: the fields a person looks for.
    const fields = ['name', 'text', 'size', 'state'].filter((k) => k in v).map((k) => `${k}: ${short(v[k])}`);
    return `{ ${[...fields, '…'].join(', ')} }`;
  }
  const s = typeof v === 'string' ? JSON.stringify(v) : String(v);
  return s.length > 48 ? `${s.slice(0, 47)}…` : s;
}

/** Logs each of `events` fired on (or bubbling to) `target` into `list`. */
export function logEvents(target, events, list) {
  for (const name of events) target.addEventListener(name, (e) => logEvent(list, name, e.detail));
}

/**
 * The common part of the element pages: the room (from the URL, else a new one), the display name, the room shown
 * and linked for a second tab, and the event log with its Clear button. Returns `{ room, name, log }`.
 */
export function livePage() {
  const room = roomFromUrl();
  const name = displayName();
  document.getElementById('room-name').textContent = room;
  const second = document.getElementById('second-tab');
  second.href = inviteUrl(room);
  second.setAttribute('aria-label', `Open a second member of room ${room} in a new tab`);
  const log = document.getElementById('log');
  document.getElementById('clear-log').addEventListener('click', () => log.replaceChildren());
  return { room, name, log };
}

/**
 * Resolves once the page has loaded. Pages join their rooms after that: in Chromium a <video> showing a stream that
 * has no video track yet (a room joined with the camera off) delays the load event for good, and the tab would keep
 * its loading spinner.
 */
export const loaded = () =>
  new Promise((resolve) => (document.readyState === 'complete' ? resolve() : addEventListener('load', () => resolve(), { once: true })));
