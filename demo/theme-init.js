// Runs before the first paint (a classic script in <head>, no defer): picks the theme so a dark page never flashes
// light. The stored choice wins, else the system's. site.js owns the toggle and keeps the same key.
try {
  const stored = localStorage.getItem('av-demo-theme');
  const dark = stored ? stored === 'dark' : matchMedia('(prefers-color-scheme: dark)').matches;
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
} catch {
  document.documentElement.dataset.theme = 'light';
}
