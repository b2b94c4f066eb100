// Hot standby: two members in a call on server A; A is SIGKILLed; media keeps flowing, both re-register on B with
// the same identity within 3 s, a newcomer on B reaches both, and a message sent during the outage arrives once.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { inboundByPeer, launchChromium, memberPage, waitFor, type MemberPage } from '../helpers/browser.js';
import { startRedis } from '../helpers/redis.js';
import { freePort, serverMetrics, startServer, type RunningServer } from '../helpers/server.js';

let a: RunningServer;
let b: RunningServer;
let chromium: Awaited<ReturnType<typeof launchChromium>>;
const open: MemberPage[] = [];
before(async () => {
  [a, b] = await Promise.all([startServer(), startServer()]);
  chromium = await launchChromium();
});
after(async () => {
  for (const p of open) await p.close().catch(() => {});
  await chromium?.close();
  await Promise.all([a?.stop(), b?.stop()]);
});

const frames = async (p: MemberPage) => Object.values(await inboundByPeer(p.page)).map((r) => r.framesDecoded);
const members = async (s: RunningServer) => (await serverMetrics(s.url)).av_members;

test('failover from a killed server to the standby keeps the call and the identity', async () => {
  const ann = await memberPage(chromium.browser, a.url, { room: 'standby', name: 'Ann', server: `${a.url} ${b.url}` });
  const bob = await memberPage(chromium.browser, a.url, { room: 'standby', name: 'Bob', server: `${a.url} ${b.url}` });
  open.push(ann, bob);
  for (const p of [ann, bob])
    await waitFor(
      'call on A',
      () => frames(p),
      (f) => f.length === 1 && f[0]! > 0,
      20_000,
    );
  // The data connection opens once media flows: the outage message below goes peer-to-peer, as calls in progress do.
  for (const p of [ann, bob])
    await waitFor(
      'data connection open',
      () => p.page.evaluate(() => [...document.querySelector('av-room')!.session!.peers.values()].map((m) => m.path)),
      (paths) => paths.length === 1 && paths[0] === 'p2p',
      20_000,
    );
  const ids = await Promise.all([ann, bob].map((p) => p.page.evaluate(() => document.querySelector('av-room')!.session!.peerId)));
  await bob.page.evaluate(() => {
    (window as any).got = [];
    document.querySelector('av-room')!.addEventListener('av-room-message', (e) => (window as any).got.push((e as CustomEvent).detail.data));
  });

  a.process.kill('SIGKILL');
  const killedAt = Date.now();
  // Sent during the outage.
  await ann.page.evaluate(() => document.querySelector('av-room')!.session!.send({ during: 'outage' }));

  // Frames keep rising on both sides throughout, sampled every 500 ms for 4 s.
  let last = await Promise.all([ann, bob].map(frames));
  for (let i = 0; i < 8; i++) {
    await new Promise((r) => setTimeout(r, 500));
    const now = await Promise.all([ann, bob].map(frames));
    now.forEach((f, side) =>
      assert.ok(f[0]! > last[side]![0]!, `frames rising on side ${side} at sample ${i}: ${String(last[side])} → ${f.join()}`),
    );
    last = now;
    if (i === 5) {
      // Both registered on B within 3 s of the kill (checked by the time this sample is taken, ~3 s in).
      assert.equal(await members(b), 2, `both on B ${Date.now() - killedAt} ms after the kill`);
    }
  }
  const after = await Promise.all(
    [ann, bob].map((p) =>
      p.page.evaluate(() => {
        const s = document.querySelector('av-room')!.session!;
        return { id: s.peerId, server: s.server, state: s.state };
      }),
    ),
  );
  assert.deepEqual(
    after.map((x) => x.id),
    ids,
    'same identities',
  );
  assert.deepEqual(
    after.map((x) => x.server),
    [b.url, b.url],
  );
  assert.deepEqual(
    after.map((x) => x.state),
    ['connected', 'connected'],
  );

  // A newcomer that only knows B reaches both, and both reach it.
  const cy = await memberPage(chromium.browser, b.url, { room: 'standby', name: 'Cy' });
  open.push(cy);
  await waitFor(
    'Cy decodes Ann and Bob',
    () => frames(cy),
    (f) => f.length === 2 && f.every((x) => x > 0),
    20_000,
  );
  for (const p of [ann, bob])
    await waitFor(
      'Cy decoded by the old members',
      () => frames(p),
      (f) => f.length === 2 && f.every((x) => x > 0),
      20_000,
    );

  await new Promise((r) => setTimeout(r, 1000));
  assert.deepEqual(await bob.page.evaluate(() => (window as any).got), [{ during: 'outage' }], 'the outage message arrived exactly once');
  // Hang up now: three pages left in a call would load the two cores through the 15 minutes of the next test.
  for (const p of open.splice(0)) await p.close();
});

/** How many kill-and-hold runs the cluster test makes (the issue asks for 10 in a row). */
const RUNS = Number(process.env.FAILOVER_RUNS ?? 10);
/**
 * Calls sampled at once in that test: ten runs in two rounds. With 3 the file took ~8 min; with 5, 6 min 45 s alone
 * (joins slow down to 5–22 s under the load, well inside their 30 s bounds; 10 of 10 held).
 */
const HOLDING = 5;
/** Small video: up to HOLDING calls of two pages each share two cores. */
const LOW = { resolution: '176x144', 'frame-rate': '10', 'max-bitrate': '150000' };

const statusText = (p: MemberPage) =>
  p.page.evaluate(() => document.querySelector('av-room')!.shadowRoot!.querySelector('.status')?.textContent ?? '');

/** Frames decoded from every other member rise between two samples on every page, and nobody dropped anybody. */
async function holding(pages: MemberPage[], previous: number[][] | undefined, expectedPeers: number) {
  const now = await Promise.all(pages.map(frames));
  const problems: string[] = [];
  now.forEach((f, i) => {
    if (f.length !== expectedPeers) problems.push(`page ${i} has ${f.length} peers`);
    else if (previous && f.some((x, j) => !(x > (previous[i]?.[j] ?? Infinity))))
      problems.push(`page ${i} frames stalled: ${String(previous[i])} → ${f.join()}`);
  });
  return { now, problems };
}

/** Samples `holding` every `everyS` seconds for `forS`, and `also` with it; returns what went wrong, and when. */
async function sampled(pages: MemberPage[], peers: number, forS: number, everyS: number, also?: () => Promise<string[]>) {
  let last = (await holding(pages, undefined, peers)).now;
  const problems: string[] = [];
  for (let t = everyS; t <= forS; t += everyS) {
    await new Promise((r) => setTimeout(r, everyS * 1000));
    const sample = await holding(pages, last, peers);
    last = sample.now;
    problems.push(...[...sample.problems, ...((await also?.()) ?? [])].map((p) => `${t} s: ${p}`));
  }
  return problems;
}

test(
  'cluster: the node holding the room is killed and the call holds for 60 s (10 runs); it returns and serves the same room; 90 s with no server at all',
  { timeout: 30 * 60_000 },
  async () => {
    const redis = await startRedis();
    const [portA, portB] = await Promise.all([freePort(), freePort()]);
    const node = (port: number) => startServer(['--redis', redis.url, '--port', String(port), '--member-grace', '5']);
    let nodeA = await node(portA);
    const nodeB = await node(portB);
    const servers = `${nodeA.url} ${nodeB.url}`;
    let pages: MemberPage[] = [];
    try {
      let held = 0;
      // Ten kills in a row, each followed by 60 s of samples. A run's 60 s go on while the next runs join the restarted
      // node and kill it again (at most HOLDING calls at once, to fit two cores): the earlier calls, now on node B, live
      // through those later kills too. The file takes under 7 min instead of ~13: joins and restarts are slow while
      // other calls load the two cores.
      const holding_: Promise<void>[] = [];
      let running = 0;
      let freed: (() => void) | undefined;
      const hold = async (run: number, runPages: MemberPage[]) => {
        const problems = await sampled(runPages, 1, 60, 5);
        const states = await Promise.all(runPages.map((p) => p.page.evaluate(() => document.querySelector('av-room')!.session!.state)));
        if (problems.length === 0 && states.every((s) => s === 'connected')) held++;
        console.log(`run ${run}: ${problems.length ? `broke: ${problems.slice(0, 3).join('; ')}` : 'held 60 s'} (states ${states.join()})`);
        if (run < RUNS) for (const p of runPages) await p.close();
      };
      for (let run = 1; run <= RUNS; run++) {
        while (running >= HOLDING) await new Promise<void>((r) => (freed = r));
        const room = `hold-${run}`;
        const t0 = Date.now();
        const at: number[] = [];
        // Both join at once (each page's join is timed).
        pages = await Promise.all(
          ['Ann', 'Bob'].map(async (name) => {
            const p = await memberPage(chromium.browser, nodeA.url, { room, name, server: servers, ...LOW });
            open.push(p);
            at.push(Date.now() - t0);
            return p;
          }),
        );
        for (const p of pages)
          await waitFor(
            'call on node A',
            () => frames(p),
            (f) => f.length === 1 && f[0]! > 0,
            30_000,
          );
        nodeA.process.kill('SIGKILL');
        at.push(Date.now() - t0);
        running++;
        holding_.push(
          hold(run, pages)
            .catch((e: Error) => console.log(`run ${run}: broke: ${e.message}`))
            .finally(() => {
              running--;
              freed?.();
            }),
        );
        nodeA = await node(portA);
        console.log(`run ${run}: node A killed; both joined by ${at[1]} ms, call at ${at[2]} ms, node A back at ${Date.now() - t0} ms`);
      }
      await Promise.all(holding_);
      console.log(`the call held 60 s after the kill in ${held} of ${RUNS} runs`);
      assert.equal(held, RUNS);

      // The returning node serves the same room: a newcomer who knows only node A reaches Ann and Bob (on node B).
      const cy = await memberPage(chromium.browser, nodeA.url, { room: `hold-${RUNS}`, name: 'Cy' });
      open.push(cy);
      pages.push(cy);
      await waitFor(
        'Cy decodes Ann and Bob',
        () => frames(cy),
        (f) => f.length === 2 && f.every((x) => x > 0),
        30_000,
      );
      for (const p of pages)
        await waitFor(
          'everyone decodes everyone',
          () => frames(p),
          (f) => f.length === 2 && f.every((x) => x > 0),
          30_000,
        );

      // Every server gone for 90 s: the calls go on, and each page says signalling is offline.
      const calls = await Promise.all(
        pages.map((p) =>
          p.page.evaluate(() => {
            const s = document.querySelector('av-room')!.session!;
            (window as unknown as { calls: unknown[] }).calls = [...s.peers.keys()].map((id) => s.getPeerConnection(id));
            return s.peerId;
          }),
        ),
      );
      nodeA.process.kill('SIGKILL');
      nodeB.process.kill('SIGKILL');
      const offline = await sampled(pages, 2, 90, 10, async () =>
        (await Promise.all(pages.map(statusText))).flatMap((text, i) =>
          /signalling offline/i.test(text) ? [] : [`page ${i} says "${text}"`],
        ),
      );
      assert.deepEqual(offline, [], 'calls kept decoding and the UI said signalling is offline, for 90 s');

      // One server back (node A: the one every member knows): everyone re-joins it, as themselves, on the calls they had.
      nodeA = await node(portA);
      for (const p of pages) await p.page.locator('av-room[state="connected"]').waitFor({ timeout: 30_000 });
      const after = await Promise.all(
        pages.map((p) =>
          p.page.evaluate(() => {
            const s = document.querySelector('av-room')!.session!;
            const before = (window as unknown as { calls: unknown[] }).calls;
            return {
              id: s.peerId,
              server: s.server,
              sameCalls: [...s.peers.keys()].every((id, i) => s.getPeerConnection(id) === before[i]),
              peers: s.peers.size,
            };
          }),
        ),
      );
      assert.deepEqual(
        after.map((x) => x.id),
        calls,
        'same identities',
      );
      assert.ok(
        after.every((x) => x.server === nodeA.url && x.sameCalls && x.peers === 2),
        JSON.stringify(after),
      );
      assert.equal((await serverMetrics(nodeA.url)).av_members, 3, 'all three re-joined node A');
      assert.deepEqual(await sampled(pages, 2, 10, 5), [], 'the calls go on after the re-join');
    } finally {
      await Promise.all([nodeA.stop(), nodeB.stop()]);
      await redis.stop();
    }
  },
);
