// theming.html: the eight suite tokens bound to controls, set on <html> with style.setProperty so every element on
// the page follows at once, and shown as the CSS to copy.
import { displayName, loaded, roomFromUrl, setTheme } from './site.js';

const root = document.documentElement;
const controls = [...document.querySelectorAll('#theme-controls [data-token]')];
const snippet = document.getElementById('css-snippet');

const PRESETS = {
  light: { '--av-accent': '#2456d6', '--av-color': '#1d2330', '--av-background': '#ffffff', '--av-danger': '#c62828' },
  dark: { '--av-accent': '#8ab4ff', '--av-color': '#e6e9ef', '--av-background': '#181c23', '--av-danger': '#ff8a80' },
};

const current = (token) => getComputedStyle(root).getPropertyValue(token).trim();

/** Puts the tokens' current values into the controls and the CSS snippet. */
function refresh() {
  for (const control of controls) {
    const value = current(control.dataset.token);
    if (control.type === 'color') control.value = /^#[0-9a-f]{6}$/i.test(value) ? value : '#000000';
    else if (control.type === 'range') control.value = String(parseFloat(value) || 0);
    else control.value = value;
    const out = document.getElementById(`${control.id}-out`);
    if (out) out.textContent = `${control.value}${control.dataset.unit ?? ''}`;
  }
  const lines = controls.map((c) => `  ${c.dataset.token}: ${current(c.dataset.token)};`);
  snippet.textContent = `:root {\n${lines.join('\n')}\n}`;
}

for (const control of controls) {
  control.addEventListener('input', () => {
    root.style.setProperty(control.dataset.token, `${control.value}${control.dataset.unit ?? ''}`);
    refresh();
  });
}

/** Removes every token set here: the stylesheet's values for the current theme come back. */
function reset() {
  for (const control of controls) root.style.removeProperty(control.dataset.token);
  refresh();
}

document.getElementById('reset').addEventListener('click', reset);
for (const button of document.querySelectorAll('[data-preset]')) {
  button.addEventListener('click', () => {
    const preset = button.dataset.preset;
    reset();
    // The page follows the preset; the colours are set explicitly so they are in the CSS to copy.
    setTheme(preset);
    for (const [token, value] of Object.entries(PRESETS[preset])) root.style.setProperty(token, value);
    refresh();
  });
}
// The header's theme switch changes the stylesheet's defaults.
document.addEventListener('demo-theme', refresh);
refresh();

const room = roomFromUrl();
document.getElementById('room-name').textContent = room;
const call = document.getElementById('room');
call.setAttribute('name', displayName());
void loaded().then(() => call.setAttribute('room', room));
