// Bytes on the wire: what a page downloads from av-server for <av-room> alone, and for a page that records an MP4
// with AAC (the bundle, its lazy chunks and the ffmpeg.wasm core), with the precompressed copies the server sends
// (Chromium accepts brotli) against the same page asking for no compression (the baseline), in the same run.
// Usage: node bench/size.mjs
import { launchChromium, startBuiltServer } from './lib/setup.mjs';

const server = await startBuiltServer();
const chromium = await launchChromium();

/** Loads `html` on the server's origin and runs `action` in it; returns bytes received per URL path. */
async function measure(html, action, { compressed }) {
  const context = await chromium.browser.newContext();
  try {
    // Set on the context: it covers requests from workers too (ffmpeg.wasm's worker fetches the core).
    if (!compressed) await context.setExtraHTTPHeaders({ 'Accept-Encoding': 'identity' });
    const page = await context.newPage();
    const files = new Map();
    context.on('requestfinished', async (request) => {
      const path = new URL(request.url()).pathname;
      if (!/\.(js|wasm)$/.test(path)) return;
      const [sizes, response] = await Promise.all([request.sizes(), request.response()]);
      const encoding = (await response?.allHeaders())?.['content-encoding'] ?? '';
      files.set(path, { wire: sizes.responseHeadersSize + sizes.responseBodySize, encoding });
    });
    await page.goto(`${server.url}/healthz`);
    await page.setContent(html);
    await page.evaluate(action);
    // Let the last requestfinished events arrive.
    await new Promise((r) => setTimeout(r, 500));
    return files;
  } finally {
    await context.close();
  }
}

const ROOM_ONLY = {
  name: 'a page with <av-room>',
  html: `<!doctype html><meta charset="utf-8"><script type="module" src="/av-elements.js"></script>`,
  action: async () => {
    await customElements.whenDefined('av-room');
    // Made from script: elements parsed into a page that Playwright wrote (setContent) are not upgraded.
    const room = document.body.appendChild(Object.assign(document.createElement('av-room'), { room: 'size-1', name: 'A' }));
    if (room.state !== 'connected') await new Promise((r) => room.addEventListener('av-room-join', r, { once: true }));
  },
};

const RECORDS_AAC = {
  name: 'a page that records an MP4 with AAC',
  html: `<!doctype html><meta charset="utf-8"><script type="module" src="/av-elements.js"></script>`,
  action: async () => {
    await customElements.whenDefined('av-recorder');
    const room = document.body.appendChild(Object.assign(document.createElement('av-room'), { id: 'r', room: 'size-2', name: 'A' }));
    const recorder = Object.assign(document.createElement('av-recorder'), { source: 'self', audioCodec: 'aac' });
    recorder.setAttribute('for', 'r');
    document.body.append(recorder);
    if (room.state !== 'connected') await new Promise((r) => room.addEventListener('av-room-join', r, { once: true }));
    const done = new Promise((resolve, reject) => {
      recorder.addEventListener('av-recorder-complete', resolve, { once: true });
      recorder.addEventListener('av-recorder-error', (e) => reject(new Error(e.detail.message)), { once: true });
    });
    await recorder.start();
    await new Promise((r) => setTimeout(r, 3000));
    await recorder.stop();
    await done;
  },
};

const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
try {
  for (const { name, html, action } of [ROOM_ONLY, RECORDS_AAC]) {
    const plain = await measure(html, action, { compressed: false });
    const packed = await measure(html, action, { compressed: true });
    console.log(`${name}: bytes on the wire (JS and wasm from av-server, headers included)`);
    let total = 0;
    let totalPlain = 0;
    for (const [path, { wire, encoding }] of packed) {
      const before = plain.get(path)?.wire ?? NaN;
      total += wire;
      totalPlain += before;
      console.log(
        `  ${path.padEnd(34)} ${kib(wire).padStart(12)} ${(encoding || 'identity').padEnd(8)} uncompressed ${kib(before).padStart(12)}   ${(wire / before).toFixed(2)}`,
      );
    }
    console.log(
      `  total${' '.repeat(30)}${kib(total).padStart(12)}          uncompressed ${kib(totalPlain).padStart(12)}   ${(total / totalPlain).toFixed(2)}`,
    );
  }
} finally {
  await chromium.close();
  await server.stop();
}
