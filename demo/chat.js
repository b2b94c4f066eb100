// chat.html: a standalone <av-chat> (no camera or microphone), its cancelable send event put to work.
import { livePage, loaded, logEvents } from './site.js';

const { room, name, log } = livePage();
const chat = document.getElementById('chat');
const maxLength = document.getElementById('max-length');
const shout = document.getElementById('shout');
const veto = document.getElementById('veto');

logEvents(chat, ['av-chat-send', 'av-chat-message'], log);
// Before sending: rewrite the text, or refuse it.
chat.addEventListener('av-chat-send', (e) => {
  if (veto.checked && /secret/i.test(e.detail.text)) e.preventDefault();
  else if (shout.checked) e.detail.text = e.detail.text.toUpperCase();
});

maxLength.addEventListener('change', () => chat.setAttribute('max-length', maxLength.value));
document.getElementById('clear').addEventListener('click', () => chat.clear());

chat.setAttribute('name', name);
void loaded().then(() => chat.setAttribute('room', room));
