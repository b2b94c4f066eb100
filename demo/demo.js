// The demo page's own script (a separate file: the page's CSP allows no inline script).
const params = new URLSearchParams(location.search);
const form = document.getElementById('settings');
const room = document.getElementById('room');
const roomName = params.get('room') || 'demo';
const name = params.get('name') || `Guest ${Math.floor(100 + Math.random() * 900)}`;
form.room.value = roomName;
form.name.value = name;
// Set the name before the room: the room attribute starts the call.
room.setAttribute('name', name);
room.setAttribute('room', roomName);
form.addEventListener('submit', (e) => {
  e.preventDefault();
  const next = new URLSearchParams({ room: form.room.value, name: form.name.value });
  location.search = next.toString();
});
