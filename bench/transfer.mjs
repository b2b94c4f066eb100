// Throughput of <av-file> against a bare RTCDataChannel with the same backpressure, in the same run:
// 256 MiB each, MB/s, their ratio, and the receiving page's peak JS heap growth.
// Usage: node bench/transfer.mjs [MiB=256] [runs=3] [chromium|firefox|both=both]
//   (medians of alternating runs; every run printed; heap: the worst run)
// JS heap: Chromium's window.heapNow() (--enable-precise-memory-info); Firefox ESR's
// performance.mozMemory (dom.enable_memory_stats): the content process's GC heap plus memory malloc'd for JS objects
// (ArrayBuffer contents among them, and Blob contents: Firefox tells its GC about the memory a Blob holds, and counts
// it until a major GC frees the Blob; Chromium keeps Blob contents in its browser process, outside this figure).
import puppeteer from 'puppeteer-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firefoxLaunchOptions, refusingProxy } from '../test/helpers/firefox.mjs';
import { launchChromium, median, startBuiltServer } from './lib/setup.mjs';

const MIB = Number(process.argv[2] ?? 256);
const RUNS = Number(process.argv[3] ?? 3);
const ENGINES = (process.argv[4] ?? 'both') === 'both' ? ['chromium', 'firefox'] : [process.argv[4]];
const SIZE = MIB * 1024 * 1024;
const server = await startBuiltServer();

/** A browser of either engine behind one small interface: isolated pages (own context, own process). */
async function openEngine(engine) {
  if (engine === 'chromium') {
    const chromium = await launchChromium(['--enable-precise-memory-info']);
    return {
      heapNow: 'performance.memory.usedJSHeapSize',
      newPage: async () => {
        const context = await chromium.browser.newContext();
        return { page: await context.newPage(), close: () => context.close() };
      },
      close: () => chromium.close(),
    };
  }
  const home = mkdtempSync(join(tmpdir(), 'av-bench-firefox-'));
  const proxy = await refusingProxy();
  const options = firefoxLaunchOptions(home, proxy.port);
  options.extraPrefsFirefox = { ...options.extraPrefsFirefox, 'dom.enable_memory_stats': true };
  const browser = await puppeteer.launch(options);
  return {
    heapNow: '(performance.mozMemory.gc.gcBytes + performance.mozMemory.gc.mallocBytes)',
    newPage: async () => {
      const context = await browser.createBrowserContext();
      return { page: await context.newPage(), close: () => context.close() };
    },
    close: async () => {
      await browser.close().catch(() => {});
      await proxy.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

let engine;

async function page(body = '') {
  const { page: p, close } = await engine.newPage();
  await p.goto(`${server.url}/healthz`);
  await p.setContent(`<!doctype html><meta charset="utf-8"><script type="module" src="${server.url}/av-elements.js"></script>${body}`);
  await p.evaluate(`window.heapNow = () => ${engine.heapNow};`);
  await p.evaluate(() => {
    // Heap sampling for the receiving side: peak above where it started.
    window.heap = { base: window.heapNow(), peak: window.heapNow() };
    setInterval(() => (window.heap.peak = Math.max(window.heap.peak, window.heapNow())), 50);
  });
  return { page: p, close };
}

/** Polls `fn` in the page until it returns true (both engines' APIs differ on waitForFunction). */
async function waitIn(p, fn, timeoutMs) {
  const end = Date.now() + timeoutMs;
  while (!(await p.evaluate(fn))) {
    if (Date.now() > end) throw new Error(`not reached within ${timeoutMs} ms: ${fn}`);
    await new Promise((r) => setTimeout(r, 100));
  }
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
      await waitIn(p.page, () => document.querySelector('av-room').peers[0]?.path === 'p2p', 20_000);
    }
    await a.page.evaluate(MAKE_FILE);
    await b.page.evaluate(() => {
      window.done = new Promise((r) => document.querySelector('av-file').addEventListener('av-file-received', () => r(performance.now())));
      window.heap.base = window.heapNow();
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

/** `keep`: the receiver keeps each chunk as a Blob (a file); without it, it counts the bytes and drops them. */
async function bareRun(keep = true) {
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
      async ({ offer, size, keep }) => {
        window.pc = new RTCPeerConnection();
        window.received = 0;
        window.parts = [];
        window.done = new Promise((resolve) => {
          window.pc.ondatachannel = (e) => {
            e.channel.binaryType = 'arraybuffer';
            e.channel.onmessage = (m) => {
              if (keep) window.parts.push(new Blob([m.data]));
              window.received += m.data.byteLength;
              if (window.received >= size) resolve(performance.now());
            };
          };
        });
        await window.pc.setRemoteDescription(offer);
        await window.pc.setLocalDescription(await window.pc.createAnswer());
        await new Promise((r) => (window.pc.onicegatheringstatechange = () => window.pc.iceGatheringState === 'complete' && r()));
        window.heap.base = window.heapNow();
        window.heap.peak = window.heap.base;
        return window.pc.localDescription.toJSON();
      },
      { offer, size: SIZE, keep },
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
  for (const name of ENGINES) {
    engine = await openEngine(name);
    try {
      const bare = [];
      const ours = [];
      const dropping = [];
      for (let i = 0; i < RUNS; i++) {
        // Alternate the order so drift on the machine hits all alike.
        if (i % 2) {
          ours.push(await avFileRun());
          bare.push(await bareRun());
        } else {
          bare.push(await bareRun());
          ours.push(await avFileRun());
        }
        dropping.push(await bareRun(false));
      }
      const mbps = (runs) => median(runs.map((r) => SIZE / 1e6 / r.seconds));
      const peak = (runs) => Math.max(...runs.map((r) => r.heap));
      const mib = (n) => (n / 2 ** 20).toFixed(1);
      const each = (runs) => runs.map((r) => `${(SIZE / 1e6 / r.seconds).toFixed(1)} MB/s ${mib(r.heap)} MiB`).join(', ');
      const label = name === 'chromium' ? 'Chromium' : 'Firefox ESR';
      console.log(`transfer: ${MIB} MiB between two pages on loopback (${label}), same chunking and backpressure, median of ${RUNS}`);
      console.log(
        `  bare RTCDataChannel   ${mbps(bare).toFixed(1)} MB/s   (runs, speed and receiver heap growth: ${each(bare)}; largest ${mib(peak(bare))} MiB)`,
      );
      console.log(
        `  bare, keeps nothing   ${mbps(dropping).toFixed(1)} MB/s   (runs: ${each(dropping)}; largest ${mib(peak(dropping))} MiB: garbage the engine has not collected yet)`,
      );
      console.log(
        `  <av-file>             ${mbps(ours).toFixed(1)} MB/s   (runs, speed and receiver heap growth: ${each(ours)}; largest ${mib(peak(ours))} MiB; SHA-256 on both sides)`,
      );
      console.log(`  ratio (av-file / bare): ${(mbps(ours) / mbps(bare)).toFixed(2)}   target >= 0.9`);
      console.log(`  receiver peak JS heap growth with <av-file>, worst run: ${mib(peak(ours))} MiB   target < 64 MiB in every run`);
    } finally {
      await engine.close();
    }
  }
} finally {
  await server.stop();
}
