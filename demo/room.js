// room.html: one <av-room>, its attributes changed live, its events logged.
import { livePage, loaded, logEvents } from './site.js';

const { room, name, log } = livePage();
const stage = document.getElementById('room').parentElement;
let el = document.getElementById('room');
const layout = document.getElementById('layout');
const prejoin = document.getElementById('prejoin');
const muted = document.getElementById('muted');
const cameraOff = document.getElementById('camera-off');

// Events bubble out of the element (composed): one listener on its container survives replacing the element.
logEvents(
  stage,
  ['av-room-join', 'av-room-leave', 'av-peer-join', 'av-peer-leave', 'av-active-speaker', 'av-room-error', 'av-room-warning'],
  log,
);

// The checkboxes follow the element's own buttons.
const follow = new MutationObserver(() => {
  muted.checked = el.hasAttribute('muted');
  cameraOff.checked = el.hasAttribute('camera-off');
});

function start() {
  el.setAttribute('name', name);
  el.setAttribute('layout', layout.value);
  el.toggleAttribute('prejoin', prejoin.checked);
  follow.observe(el, { attributes: true, attributeFilter: ['muted', 'camera-off'] });
  // The room last: it starts the call.
  el.setAttribute('room', room);
}
void loaded().then(start);

layout.addEventListener('change', () => el.setAttribute('layout', layout.value));
muted.addEventListener('change', () => el.toggleAttribute('muted', muted.checked));
cameraOff.addEventListener('change', () => el.toggleAttribute('camera-off', cameraOff.checked));
// prejoin is read when the element joins: a fresh element shows it (removing the old one ends its call).
prejoin.addEventListener('change', () => {
  const fresh = document.createElement('av-room');
  fresh.id = 'room';
  el.replaceWith(fresh);
  el = fresh;
  muted.checked = cameraOff.checked = false;
  start();
});
