// chat.html: a standalone <av-chat> (no camera or microphone), its cancelable send event put to work.
import { livePage, loaded, logEvent, logEvents } from './site.js';

const { room, name, log } = livePage();
const chat = document.getElementById('chat');
const maxLength = document.getElementById('max-length');
const shout = document.getElementById('shout');
const veto = document.getElementById('veto');

logEvents(chat, ['av-chat-message'], log);
// Before sending: refuse the text, or rewrite it; the log shows what happened.
chat.addEventListener('av-chat-send', (e) => {
  if (veto.checked && /secret/i.test(e.detail.text)) e.preventDefault();
  else if (shout.checked) e.detail.text = e.detail.text.toUpperCase();
  logEvent(log, 'av-chat-send', { text: e.detail.text, to: e.detail.to, vetoed: e.defaultPrevented });
});

maxLength.addEventListener('change', () => chat.setAttribute('max-length', maxLength.value));
document.getElementById('clear').addEventListener('click', () => chat.clear());

chat.setAttribute('name', name);
void loaded().then(() => chat.setAttribute('room', room));
