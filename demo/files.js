// files.html: a standalone <av-file>, max-size and auto-accept changed live, its events logged (progress at most
// once a second per transfer).
import { livePage, loaded, logEvent, logEvents } from './site.js';

const { room, name, log } = livePage();
const files = document.getElementById('files');
const maxSize = document.getElementById('max-size');
const autoAccept = document.getElementById('auto-accept');

logEvents(files, ['av-file-offer', 'av-file-received', 'av-file-sent', 'av-file-error'], log);
const lastProgress = new Map();
files.addEventListener('av-file-progress', (e) => {
  const { id } = e.detail.transfer;
  if (Date.now() - (lastProgress.get(id) ?? 0) < 1000) return;
  lastProgress.set(id, Date.now());
  const { name: file, bytes, size } = e.detail.transfer;
  logEvent(log, 'av-file-progress', { file, percent: Math.round((100 * bytes) / Math.max(size, 1)) });
});

maxSize.addEventListener('change', () => {
  if (maxSize.value) files.setAttribute('max-size', maxSize.value);
  else files.removeAttribute('max-size');
});
autoAccept.addEventListener('change', () => files.toggleAttribute('auto-accept', autoAccept.checked));

files.setAttribute('name', name);
void loaded().then(() => files.setAttribute('room', room));
