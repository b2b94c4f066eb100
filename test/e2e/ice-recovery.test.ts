// A relay-only call survives its TURN server going away: coturn is stopped for 10 s and started again on the same
// port; the call is placed again (new ICE) without a leave or a new peer id, and media is sampled for 60 s after. A
// file sent when the relay dies pauses and resumes where it was, intact.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startCoturn, type LocalCoturn } from '../../server/turn.js';
import { inboundByPeer, launchChromium, memberPage, waitFor, type MemberPage } from '../helpers/browser.js';
import { collectReceivedFiles, receivedFiles, sendRandomFiles } from '../helpers/files.js';
import { freePort, startServer, type RunningServer } from '../helpers/server.js';

let chromium: Awaited<ReturnType<typeof launchChromium>>;
let coturn: LocalCoturn | undefined;
let server: RunningServer;
const pages: MemberPage[] = [];
const minPort = 41000 + Math.floor(Math.random() * 400) * 50;
let turnPort: number;
const SECRET = 'recovery-turn-secret';
const turn = () => startCoturn({ port: turnPort, minPort, maxPort: minPort + 49, allowLoopback: true, secret: SECRET });

before(async () => {
  turnPort = await freePort();
  coturn = await turn();
  const udp = coturn.config.urls.find((u) => u.endsWith('udp'))!;
  server = await startServer(['--turn-url', udp, '--turn-secret', SECRET]);
  chromium = await launchChromium();
});
after(async () => {
  for (const p of pages) await p.close().catch(() => {});
  await chromium?.close();
  await server?.stop();
  await coturn?.stop();
});

const frames = async (p: MemberPage) => Object.values(await inboundByPeer(p.page))[0]?.framesDecoded ?? 0;

test('coturn stopped for 10 s under a relay-only call: the call comes back on both sides, same members, no leave', async () => {
  for (const name of ['Ann', 'Bob']) {
    const p = await memberPage(
      chromium.browser,
      server.url,
      { room: 'ice-recovery', name, 'ice-policy': 'relay' },
      {},
      '<av-file auto-accept></av-file>',
    );
    pages.push(p);
    await p.page.evaluate(() => {
      const w = window as unknown as { __leaves: string[] };
      w.__leaves = [];
      window.addEventListener('av-peer-leave', (e) => w.__leaves.push((e as CustomEvent<{ peerId: string }>).detail.peerId));
    });
  }
  for (const p of pages) {
    await waitFor(
      'relayed frames',
      () => inboundByPeer(p.page),
      (s) => Object.values(s)[0]?.localCandidate === 'relay' && (Object.values(s)[0]?.framesDecoded ?? 0) > 0,
      30_000,
    );
  }
  const ids = await Promise.all(pages.map((p) => p.page.evaluate(() => document.querySelector('av-room')!.session!.peerId)));

  for (const p of pages)
    await p.page.evaluate(() => {
      const room = document.querySelector('av-room')!;
      (window as unknown as { __pc: unknown }).__pc = room.session!.getPeerConnection(room.peers[0]!.peerId);
    });
  // A file on its way when the relay dies, sent once the data connection is up (through the relay too).
  for (const p of pages)
    await waitFor(
      'data through the relay',
      () => p.page.evaluate(() => document.querySelector('av-room')!.peers[0]?.path),
      (path) => path === 'turn',
    );
  await collectReceivedFiles(pages[1]!.page);
  const size = 64 * 1024 * 1024;
  const [hash] = await sendRandomFiles(pages[0]!.page, [size], () => 'across-the-outage.bin');
  const transfer = (p: MemberPage) =>
    p.page.evaluate(() => {
      const t = document.querySelector('av-file')!.transfers[0];
      return t && { state: t.state, bytes: t.bytes, resent: t.resent };
    });
  const underWay = (await waitFor(
    'the file under way',
    () => transfer(pages[1]!),
    (t) => !!t && t.state === 'active' && t.bytes > 0,
    20_000,
  ))!;
  await coturn!.stop();
  coturn = undefined;
  const stopped = Date.now();
  // Meanwhile the tiles say so (Chromium notices a dead path after ~6 s).
  for (const p of pages)
    await waitFor(
      'tile says reconnecting',
      () => p.page.locator('av-room figure.remote figcaption').innerText(),
      (t) => /reconnecting/.test(t),
      Math.max(500, 9500 - (Date.now() - stopped)),
    );
  await new Promise((r) => setTimeout(r, Math.max(0, 10_000 - (Date.now() - stopped))));
  const stalled = await Promise.all(pages.map(frames));
  // The data path died too: the file waits (paused), it is neither lost nor pushed into a dead channel.
  const outage = (await transfer(pages[1]!))!;
  assert.equal(outage.state, 'paused', 'the file is paused while the relay is gone');
  assert.ok(outage.bytes < size, 'the relay died mid-file');
  coturn = await turn();
  const back = Date.now();

  // Within 15 s of coturn's return, frames are decoded again on both sides.
  const recovered: number[] = [];
  for (const [i, p] of pages.entries()) {
    await waitFor(
      `member ${i} decodes again`,
      async () => ({ f: await frames(p), relay: Object.values(await inboundByPeer(p.page))[0]?.localCandidate }),
      // A new call starts its counters at 0: any frames on a connected relay pair after the return count.
      (s) => s.relay === 'relay' && s.f > 0 && (s.f > stalled[i]! || Date.now() - back > 3000),
      Math.max(1000, 15_000 - (Date.now() - back)),
    );
    recovered.push(Date.now() - back);
  }
  console.log(`decoding again ${recovered.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(' and ')} after coturn returned`);

  // The file continues from where it stopped and arrives intact.
  const [got] = await waitFor(
    'the file resumed and verified',
    () => receivedFiles(pages[1]!.page),
    (r) => r.length === 1,
    60_000,
  );
  assert.equal(got!.sha256, hash, 'the file arrives intact');
  const sent = (await transfer(pages[0]!))!;
  assert.equal(sent.state, 'done');
  console.log(
    `file: ${(underWay.bytes / 2 ** 20).toFixed(1)} MiB of ${size / 2 ** 20} MiB were under way when the relay died, ${(outage.bytes / 2 ** 20).toFixed(1)} MiB had arrived when it returned; ${(sent.resent / 2 ** 20).toFixed(2)} MiB sent again after it returned`,
  );

  // And it holds: sampled every 5 s for 60 s after the fault.
  let last = await Promise.all(pages.map(frames));
  for (let t = 5; t <= 60; t += 5) {
    await new Promise((r) => setTimeout(r, 5000));
    const now = await Promise.all(pages.map(frames));
    for (const i of [0, 1]) assert.ok(now[i]! > last[i]!, `member ${i} still decoding at +${t} s (${last[i]} → ${now[i]})`);
    last = now;
  }
  const after = await Promise.all(
    pages.map((p) =>
      p.page.evaluate(() => ({
        self: document.querySelector('av-room')!.session!.peerId,
        peers: document.querySelector('av-room')!.peers.map((x) => x.peerId),
        leaves: (window as unknown as { __leaves: string[] }).__leaves,
      })),
    ),
  );
  assert.deepEqual(
    after.map((a) => a.self),
    ids,
    'same peer ids',
  );
  const placedAgain = await Promise.all(
    pages.map((p) =>
      p.page.evaluate(() => {
        const room = document.querySelector('av-room')!;
        return room.session!.getPeerConnection(room.peers[0]!.peerId) !== (window as unknown as { __pc: unknown }).__pc;
      }),
    ),
  );
  assert.deepEqual(placedAgain, [true, true], 'the call was placed again (a new RTCPeerConnection on both sides)');
  for (const p of pages) assert.doesNotMatch(await p.page.locator('av-room figure.remote figcaption').innerText(), /reconnecting/);
  assert.deepEqual(after[0]!.peers, [ids[1]]);
  assert.deepEqual(after[1]!.peers, [ids[0]]);
  assert.deepEqual(
    after.map((a) => a.leaves),
    [[], []],
    'no av-peer-leave',
  );
});
