// recorder.html: an <av-room> and an <av-recorder> for it; the recorder's attributes chosen on the page, its events
// logged, the finished file played back.
import { livePage, loaded, logEvent, logEvents } from './site.js';

const { room, name, log } = livePage();
const call = document.getElementById('rec-room');
const recorder = document.getElementById('recorder');
const result = document.getElementById('result');
const resultText = document.getElementById('result-text');
const resultVideo = document.getElementById('result-video');

logEvents(recorder, ['av-recorder-start', 'av-recorder-pause', 'av-recorder-resume', 'av-recorder-error', 'av-snapshot'], log);
let lastProgress = 0;
recorder.addEventListener('av-recorder-progress', (e) => {
  if (e.detail.progress < 1 && Date.now() - lastProgress < 1000) return;
  lastProgress = Date.now();
  logEvent(log, 'av-recorder-progress', { stage: e.detail.stage, percent: Math.round(e.detail.progress * 100) });
});

let url;
recorder.addEventListener('av-recorder-complete', (e) => {
  const { blob, mimeType, duration, size, fileName } = e.detail;
  logEvent(log, 'av-recorder-complete', { fileName, mimeType, duration: Math.round(duration * 10) / 10, size });
  if (url) URL.revokeObjectURL(url);
  url = URL.createObjectURL(blob);
  resultVideo.src = url;
  resultText.textContent = `${fileName}: ${(size / 1024).toFixed(0)} KiB, ${duration.toFixed(1)} s, ${mimeType}`;
  result.hidden = false;
});

// Each select or field is the attribute of the same name.
for (const id of ['source', 'format', 'audio-codec', 'max-duration', 'file-name']) {
  const control = document.getElementById(id);
  const apply = () => (control.value ? recorder.setAttribute(id, control.value) : recorder.removeAttribute(id));
  control.addEventListener('change', apply);
  apply();
}

call.setAttribute('name', name);
void loaded().then(() => call.setAttribute('room', room));
