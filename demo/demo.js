// The meeting page (a separate file: the page's CSP allows no inline script). The room is in the address bar before
// anything joins, so the address is the invite link; the name is remembered on this browser.
import { copyText, displayName, inviteUrl, loaded, randomRoomName, rememberName, roomFromUrl, validRoom } from './site.js';

const room = document.getElementById('room');
const nameForm = document.getElementById('name-form');
const roomForm = document.getElementById('room-form');
const inviteField = document.getElementById('invite-url');
const inviteStatus = document.getElementById('invite-status');

/** Shows `name` as the current room: heading, title, invite field, room field. */
function showRoom(name) {
  document.getElementById('room-label').textContent = name;
  document.title = `${name} · Meeting · av-elements`;
  inviteField.value = inviteUrl(name);
  roomForm.room.value = name;
}

const roomName = roomFromUrl();
const name = displayName();
showRoom(roomName);
nameForm.name.value = name;
// The name first: setting the room starts the call (once the page has loaded: see loaded()).
room.setAttribute('name', name);
void loaded().then(() => room.hasAttribute('room') || room.setAttribute('room', roomName));

document.getElementById('invite').addEventListener('click', () => {
  void copyText(inviteField.value, { done: 'Link copied', fallback: inviteField, region: inviteStatus });
});

nameForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const next = nameForm.name.value.trim();
  if (!next) return;
  rememberName(next);
  room.setAttribute('name', next);
  // The name is read when joining: join again under the new one.
  if (room.getAttribute('state') === 'connected') {
    room.leave();
    room.join();
  }
});

/** Moves the call to `next`: changing the attribute is enough. */
function move(next) {
  if (!validRoom(next) || next === room.getAttribute('room')) return;
  showRoom(next);
  room.setAttribute('room', next);
}

/** Moves to `next` and makes it a new entry in the browser's history (Back returns to the previous room). */
function goTo(next) {
  if (!validRoom(next) || next === room.getAttribute('room')) return;
  history.pushState(null, '', inviteUrl(next));
  move(next);
}

roomForm.addEventListener('submit', (e) => {
  e.preventDefault();
  goTo(roomForm.room.value.trim());
});
document.getElementById('new-room').addEventListener('click', () => goTo(randomRoomName()));
// Back and forward between rooms.
addEventListener('popstate', () => move(roomFromUrl()));
