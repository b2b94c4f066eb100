// broadcast.html: a presenter with fanout 2, viewers added on the page (or opened elsewhere with the viewer link), and
// the forwarding tree the server keeps, drawn from what the presenter is told (session.route.tree). With ?as=viewer
// the page is one viewer instead, and shows only its own place (viewers are not told the whole tree).
import { displayName, inviteUrl, loaded, roomFromUrl } from './site.js';

const MAX_VIEWERS = 8;
const FANOUT = '2';

const room = roomFromUrl();
const params = new URLSearchParams(location.search);
const asViewer = params.get('as') === 'viewer';
const stage = document.getElementById('stage');
const treeList = document.getElementById('tree');
const summary = document.getElementById('tree-summary');
const viewerList = document.getElementById('viewers');
const addButton = document.getElementById('add-viewer');
const viewerCount = document.getElementById('viewer-count');
const viewersStatus = document.getElementById('viewers-status');

document.getElementById('room-name').textContent = room;
const viewerUrl = new URL(inviteUrl(room));
viewerUrl.searchParams.set('as', 'viewer');
const viewerTab = document.getElementById('viewer-tab');
viewerTab.href = viewerUrl.href;
viewerTab.setAttribute('aria-label', `Open a viewer of room ${room} in a new tab`);

const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
/** A member's name as the presenter knows it, else the start of its peer id. */
const nameOf = (session, id) => session.peers.get(id)?.name || `viewer ${id.slice(0, 6)}`;

/** Sets `text` only when it changed: the summary is a live region, re-rendered on every event. */
function say(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/** One line of the tree: the name (as text, never markup), then what it does there. */
function treeItem(name, meta, depth) {
  const li = document.createElement('li');
  li.dataset.depth = String(depth);
  const line = document.createElement('span');
  line.className = 'tree-node';
  const who = document.createElement('span');
  who.className = 'tree-name';
  who.textContent = name;
  const what = document.createElement('span');
  what.className = 'tree-meta';
  what.textContent = meta;
  line.append(who, ' ', what);
  li.append(line);
  return li;
}

// --- The presenter's view: the whole tree.

/** Peer ids of the viewers on this page, for the "on this page" mark. */
function localViewerIds() {
  const ids = new Set();
  for (const el of viewerList.querySelectorAll('av-room')) if (el.session?.peerId) ids.add(el.session.peerId);
  return ids;
}

function renderTree() {
  const session = stage.session;
  const live = session && (session.state === 'connected' || session.state === 'reconnecting');
  if (!live) {
    treeList.replaceChildren();
    say(summary, session?.state === 'closed' || session?.state === 'error' ? 'Not in the room.' : 'Joining the room…');
    return;
  }
  const entries = session.route?.tree ?? [];
  const parentOf = new Map(entries.map((e) => [e.id, e.parent]));
  // Children in the server's (breadth-first) order; a parent the tree does not list puts its viewer under the root.
  const childrenOf = new Map();
  for (const { id, parent } of entries) {
    const key = parent !== null && parentOf.has(parent) ? parent : null;
    childrenOf.set(key, [...(childrenOf.get(key) ?? []), id]);
  }
  const local = localViewerIds();
  const depths = [];

  const presenters = [session.name || 'You', ...[...session.peers.values()].filter((p) => p.role === 'presenter').map((p) => p.name)];
  const direct = childrenOf.get(null) ?? [];
  const root = treeItem(
    presenters.length > 1 ? `${presenters.join(', ')} (presenters)` : `${presenters[0]} (you, the presenter)`,
    `depth 0 · sends to ${plural(direct.length, 'viewer')}`,
    0,
  );

  const seen = new Set();
  /** Appends `ids` (viewers at `depth`, receiving from `from`) and their subtrees under `li`. */
  const branch = (li, ids, depth, from) => {
    const fresh = ids.filter((id) => !seen.has(id));
    if (fresh.length === 0) return;
    const ul = document.createElement('ul');
    for (const id of fresh) {
      seen.add(id);
      depths.push(depth);
      const kids = childrenOf.get(id) ?? [];
      const meta = [
        `depth ${depth}`,
        from === null ? 'from the presenter' : `through ${nameOf(session, from)}`,
        kids.length ? `forwards to ${plural(kids.length, 'viewer')}` : '',
        local.has(id) ? 'on this page' : '',
      ];
      const item = treeItem(nameOf(session, id), meta.filter(Boolean).join(' · '), depth);
      item.dataset.peerId = id;
      branch(item, kids, depth + 1, id);
      ul.append(item);
    }
    li.append(ul);
  };
  branch(root, direct, 1, null);
  treeList.replaceChildren(root);

  const n = depths.length;
  if (n === 0) say(summary, 'No viewers yet: add one below, or open the viewer link in a new tab.');
  else {
    const through = n - direct.length;
    say(
      summary,
      `${plural(n, 'viewer')}: ${direct.length} from the presenter directly, ${through} through ${through === 1 ? 'a viewer' : 'viewers'}; ` +
        `the deepest at depth ${Math.max(...depths)}.`,
    );
  }
}

// --- A viewer's view (?as=viewer): only its own route.

function renderOwnRoute() {
  const session = stage.session;
  treeList.replaceChildren();
  if (!session || (session.state !== 'connected' && session.state !== 'reconnecting')) {
    say(summary, session?.state === 'closed' || session?.state === 'error' ? 'Not in the room.' : 'Joining the room…');
    return;
  }
  const route = session.route;
  if (!route) return say(summary, 'Waiting for the server to give this viewer a place.');
  const from =
    route.parent === null
      ? 'You receive the video from the presenter directly'
      : `You receive the video through another viewer (${route.parent.slice(0, 6)}) that forwards it`;
  const to = route.children.length
    ? `you forward it to ${plural(route.children.length, 'viewer')} (${route.children.map((id) => id.slice(0, 6)).join(', ')})`
    : 'you forward it to nobody';
  say(summary, `${from}; ${to}. Only presenters are told the whole tree.`);
}

const render = asViewer ? renderOwnRoute : renderTree;

// --- The session beneath the element: a new one for every join (the first, and after Leave and Join again).
let unsubscribe = [];
stage.addEventListener('av-room-session', (e) => {
  for (const off of unsubscribe) off();
  const { session } = e.detail;
  unsubscribe = ['route', 'state', 'peer-join', 'peer-leave', 'peer-update'].map((type) => session.on(type, render));
  render();
});

// --- Viewers on this page.
let added = 0;

function updateCount() {
  const n = viewerList.children.length;
  viewerCount.textContent = `${n} of ${MAX_VIEWERS}`;
  addButton.setAttribute('aria-disabled', String(n >= MAX_VIEWERS));
}

function announce(text) {
  viewersStatus.textContent = '';
  setTimeout(() => (viewersStatus.textContent = text), 50);
}

function addViewer() {
  if (viewerList.children.length >= MAX_VIEWERS) {
    announce(`At most ${MAX_VIEWERS} viewers on this page: remove one first, or open the viewer link in a new tab.`);
    return;
  }
  const name = `Viewer ${++added}`;
  const tile = document.createElement('li');
  tile.className = 'viewer-tile';
  const head = document.createElement('div');
  head.className = 'viewer-head';
  const title = document.createElement('h3');
  title.textContent = name;
  const remove = document.createElement('button');
  remove.type = 'button';
  remove.className = 'button small';
  remove.textContent = 'Remove';
  remove.setAttribute('aria-label', `Remove ${name}`);
  remove.addEventListener('click', () => removeViewer(tile, name));
  head.append(title, remove);

  const viewer = document.createElement('av-room');
  viewer.setAttribute('mode', 'broadcast');
  viewer.setAttribute('fanout', FANOUT);
  viewer.setAttribute('name', name);
  tile.append(head, viewer);
  viewerList.append(tile);
  updateCount();
  // The room last: it starts joining.
  viewer.setAttribute('room', room);
  announce(`${name} joins the room.`);
}

/** Removing the element leaves the room; focus moves to the next tile's Remove button, else the previous, else Add. */
function removeViewer(tile, name) {
  const next = tile.nextElementSibling ?? tile.previousElementSibling;
  tile.remove();
  updateCount();
  (next?.querySelector('button') ?? addButton).focus();
  announce(`${name} left the room.`);
  render();
}

addButton.addEventListener('click', addViewer);
// "on this page" marks: a viewer's peer id is known once it has joined.
viewerList.addEventListener('av-room-join', () => render());

if (asViewer) {
  // One viewer instead of the presenter; the page's own viewers would be drawn nowhere, so they are not offered.
  stage.removeAttribute('presenter');
  document.getElementById('live-heading').textContent = 'Viewer';
  document
    .getElementById('live-hint')
    .replaceChildren(
      "You watch here as a viewer; the presenter's page draws the whole tree, you included. Room: ",
      Object.assign(document.createElement('code'), { textContent: room }),
      '.',
    );
  document.getElementById('tree-heading').textContent = 'Your place in the tree';
  treeList.hidden = true;
  document.getElementById('viewers-section').hidden = true;
}
stage.setAttribute('name', asViewer ? params.get('name')?.slice(0, 64) || `${displayName()} (viewer)` : displayName());
updateCount();
render();
void loaded().then(() => stage.setAttribute('room', room));
