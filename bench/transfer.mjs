// Throughput of <av-file> against a bare RTCDataChannel with the same backpressure, in the same run:
// 256 MiB each, MB/s, their ratio, and the receiving page's peak JS heap growth.
// Usage: node bench/transfer.mjs [MiB=256] [runs=3]   (medians of alternating runs; every run printed; heap: the worst run)
import { launchChromium, median, startBuiltServer } from './lib/setup.mjs';

const MIB = Number(process.argv[2] ?? 256);
const RUNS = Number(process.argv[3] ?? 3);
const SIZE = MIB * 1024 * 1024;
const server = await startBuiltServer();
const chromium = await launchChromium(['--enable-precise-memory-info']);

async function page(body = '') {
  const context = await chromium.browser.newContext();
  const p = await context.newPage();
  await p.goto(`${server.url}/healthz`);
  await p.setContent(`<!doctype html><meta charset="utf-8"><script type="module" src="${server.url}/av-elements.js"></script>${body}`);
  await p.evaluate(() => {
    // Heap sampling for the receiving side: peak of usedJSHeapSize above where it started.
    window.heap = { base: performance.memory.usedJSHeapSize, peak: performance.memory.usedJSHeapSize };
    setInterval(() => (window.heap.peak = Math.max(window.heap.peak, performance.memory.usedJSHeapSize)), 50);
  });
  return { page: p, close: () => context.close() };
}

/** Waits for the receiver's `window.done` (its clock) and reads its heap peak; `t0` is the sender's start. */
async function measured(receiver, t0) {
  const t1 = await receiver.page.evaluate(async () => (await window.done) + performance.timeOrigin);
  const heap = await receiver.page.evaluate(() => window.heap.peak - window.heap.base);
  return { seconds: (t1 - t0) / 1000, heap };
}

/** In the page: a File of `size` bytes made of one random MiB repeated (cheap to hold, real to send). */
const MAKE_FILE = `window.makeFile = (size) => {
  const block = new Uint8Array(1024 * 1024);
  for (let o = 0; o < block.length; o += 65536) crypto.getRandomValues(block.subarray(o, o + 65536));
  const parts = [];
  for (let left = size; left > 0; left -= block.length) parts.push(left >= block.length ? block : block.subarray(0, left));
  return new File(parts, 'bench.bin', { type: 'application/octet-stream' });
};`;

let runNo = 0;
async function avFileRun() {
  const roomName = `bench-files-${++runNo}`;
  const make = async (name) => {
    const p = await page();
    await p.page.evaluate((r) => (window.benchRoom = r), roomName);
    await p.page.evaluate(
      async ({ name }) => {
        await customElements.whenDefined('av-room');
        const room = Object.assign(document.createElement('av-room'), { room: window.benchRoom, name });
        room.setAttribute('audio', 'off');
        room.setAttribute('video', 'off');
        room.innerHTML = '<av-file auto-accept></av-file>';
        document.body.append(room);
      },
      { name },
    );
    return p;
  };
  const a = await make('Sender');
  const b = await make('Receiver');
  try {
    for (const p of [a, b]) {
      await p.page.waitForFunction(() => document.querySelector('av-room').peers[0]?.path === 'p2p', undefined, { timeout: 20_000 });
    }
    await a.page.evaluate(MAKE_FILE);
    await b.page.evaluate(() => {
      window.done = new Promise((r) => document.querySelector('av-file').addEventListener('av-file-received', () => r(performance.now())));
      window.heap.base = performance.memory.usedJSHeapSize;
      window.heap.peak = window.heap.base;
    });
    const t0 = await a.page.evaluate((size) => {
      const file = window.makeFile(size);
      const t = performance.now() + performance.timeOrigin;
      document.querySelector('av-file').send([file]);
      return t;
    }, SIZE);
    return await measured(b, t0);
  } finally {
    await a.close();
    await b.close();
  }
}

async function bareRun() {
  const a = await page();
  const b = await page();
  try {
    await a.page.evaluate(MAKE_FILE);
    // Plain RTCPeerConnection pair on loopback, signalled through this script; one ordered reliable channel.
    const offer = await a.page.evaluate(async () => {
      window.pc = new RTCPeerConnection();
      window.dc = window.pc.createDataChannel('bench', { ordered: true });
      window.dc.binaryType = 'arraybuffer';
      await window.pc.setLocalDescription(await window.pc.createOffer());
      await new Promise((r) => (window.pc.onicegatheringstatechange = () => window.pc.iceGatheringState === 'complete' && r()));
      return window.pc.localDescription.toJSON();
    });
    const answer = await b.page.evaluate(
      async ({ offer, size }) => {
        window.pc = new RTCPeerConnection();
        window.received = 0;
        window.parts = [];
        window.done = new Promise((resolve) => {
          window.pc.ondatachannel = (e) => {
            e.channel.binaryType = 'arraybuffer';
            e.channel.onmessage = (m) => {
              window.parts.push(new Blob([m.data]));
              window.received += m.data.byteLength;
              if (window.received >= size) resolve(performance.now());
            };
          };
        });
        await window.pc.setRemoteDescription(offer);
        await window.pc.setLocalDescription(await window.pc.createAnswer());
        await new Promise((r) => (window.pc.onicegatheringstatechange = () => window.pc.iceGatheringState === 'complete' && r()));
        window.heap.base = performance.memory.usedJSHeapSize;
        window.heap.peak = window.heap.base;
        return window.pc.localDescription.toJSON();
      },
      { offer, size: SIZE },
    );
    await a.page.evaluate(async (answer) => {
      await window.pc.setRemoteDescription(answer);
      if (window.dc.readyState !== 'open') await new Promise((r) => (window.dc.onopen = r));
    }, answer);
    const t0 = await a.page.evaluate(async (size) => {
      const file = window.makeFile(size);
      const dc = window.dc;
      const t = performance.now() + performance.timeOrigin;
      // The same backpressure and chunking as <av-file>: 256 KiB chunks, pause above 4 MiB, resume below 1 MiB.
      dc.bufferedAmountLowThreshold = 1024 * 1024;
      const chunk = Math.min(window.pc.sctp.maxMessageSize, 256 * 1024);
      let next = file.slice(0, chunk).arrayBuffer();
      for (let offset = 0; offset < size;) {
        const buf = await next;
        const end = offset + buf.byteLength;
        if (end < size) next = file.slice(end, end + chunk).arrayBuffer();
        if (dc.bufferedAmount > 4 * 1024 * 1024) await new Promise((r) => dc.addEventListener('bufferedamountlow', r, { once: true }));
        dc.send(buf);
        offset = end;
      }
      return t;
    }, SIZE);
    return await measured(b, t0);
  } finally {
    await a.close();
    await b.close();
  }
}

try {
  const bare = [];
  const ours = [];
  for (let i = 0; i < RUNS; i++) {
    // Alternate the order so drift on the machine hits both alike.
    if (i % 2) {
      ours.push(await avFileRun());
      bare.push(await bareRun());
    } else {
      bare.push(await bareRun());
      ours.push(await avFileRun());
    }
  }
  const mbps = (runs) => median(runs.map((r) => SIZE / 1e6 / r.seconds));
  const peak = (runs) => Math.max(...runs.map((r) => r.heap));
  const mib = (n) => (n / 2 ** 20).toFixed(1);
  const each = (runs) => runs.map((r) => `${(SIZE / 1e6 / r.seconds).toFixed(1)} MB/s ${mib(r.heap)} MiB`).join(', ');
  console.log(`transfer: ${MIB} MiB between two pages on loopback (Chromium), same chunking and backpressure, median of ${RUNS}`);
  console.log(
    `  bare RTCDataChannel   ${mbps(bare).toFixed(1)} MB/s   (runs, speed and receiver heap growth: ${each(bare)}; largest ${mib(peak(bare))} MiB)`,
  );
  console.log(
    `  <av-file>             ${mbps(ours).toFixed(1)} MB/s   (runs, speed and receiver heap growth: ${each(ours)}; largest ${mib(peak(ours))} MiB; SHA-256 on both sides)`,
  );
  console.log(`  ratio (av-file / bare): ${(mbps(ours) / mbps(bare)).toFixed(2)}   target >= 0.9`);
  console.log(`  receiver peak JS heap growth with <av-file>, worst run: ${mib(peak(ours))} MiB   target < 64 MiB in every run`);
} finally {
  await chromium.close();
  await server.stop();
}
