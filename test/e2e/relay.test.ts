// TURN relay through a real coturn on 127.0.0.1, and the data relay fallback through our server.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startCoturn, type LocalCoturn } from '../../server/turn.js';
import { inboundByPeer, launchChromium, memberPage, waitFor, type MemberPage } from '../helpers/browser.js';
import { freePort, startServer, type RunningServer } from '../helpers/server.js';

let chromium: Awaited<ReturnType<typeof launchChromium>>;
let coturn: LocalCoturn;
const stops: (() => Promise<void>)[] = [];

before(async () => {
  const minPort = 40000 + Math.floor(Math.random() * 400) * 50;
  coturn = await startCoturn({ port: await freePort(), minPort, maxPort: minPort + 49, allowLoopback: true, secret: 'test-turn-secret' });
  chromium = await launchChromium();
});
after(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => {});
  await chromium?.close();
  await coturn?.stop();
});

async function serverWith(args: string[]): Promise<RunningServer> {
  const s = await startServer(args);
  stops.push(() => s.stop());
  return s;
}

async function pair(server: RunningServer, room: string, extra: Record<string, string> = {}): Promise<MemberPage[]> {
  const pages: MemberPage[] = [];
  for (const name of ['Ann', 'Bob']) {
    const p = await memberPage(chromium.browser, server.url, { room, name, 'ice-policy': 'relay', ...extra });
    stops.push(() => p.close());
    pages.push(p);
  }
  return pages;
}

const turnUrl = (transport: 'udp' | 'tcp') => coturn.config.urls.find((u) => u.endsWith(transport))!;

for (const transport of ['udp', 'tcp'] as const) {
  test(`ice-policy="relay" carries media through coturn over ${transport.toUpperCase()}`, async () => {
    const server = await serverWith(['--turn-url', turnUrl(transport), '--turn-secret', coturn.config.secret]);
    const pages = await pair(server, `relay-${transport}`);
    for (const { page } of pages) {
      const first = await waitFor(
        'frames through the relay',
        () => inboundByPeer(page),
        (s) => (Object.values(s)[0]?.framesDecoded ?? 0) > 0,
        30_000,
      );
      await page.waitForTimeout(1500);
      const later = await inboundByPeer(page);
      const [a, b] = [Object.values(first)[0]!, Object.values(later)[0]!];
      assert.equal(b.localCandidate, 'relay', 'the selected pair uses a relay candidate');
      assert.equal(b.relayProtocol, transport, `the relay is reached over ${transport}`);
      assert.ok(b.framesDecoded > a.framesDecoded, `frames keep decoding: ${a.framesDecoded} → ${b.framesDecoded}`);
      const path = await page.evaluate(() => document.querySelector('av-room')!.peers[0]?.path);
      assert.equal(path, 'turn');
    }
  });
}

test('with a wrong TURN secret no frames arrive, the element reports it, and data still goes through the server', async () => {
  const server = await serverWith(['--turn-url', turnUrl('udp'), '--turn-secret', 'not-the-secret']);
  const pages = await pair(server, 'relay-wrong');
  const [ann, bob] = pages.map((p) => p.page) as [MemberPage['page'], MemberPage['page']];
  await bob.evaluate(() => {
    const w = window as unknown as { errors: unknown[]; messages: unknown[] };
    w.errors = [];
    w.messages = [];
    const room = document.querySelector('av-room')!;
    room.addEventListener('av-room-error', (e) => w.errors.push((e as CustomEvent).detail));
    room.addEventListener('av-room-message', (e) => w.messages.push((e as CustomEvent).detail));
  });
  const errors = await waitFor(
    'peer-unreachable reported',
    () => bob.evaluate(() => (window as any).errors),
    (e: any[]) => e.some((x) => x.code === 'peer-unreachable'),
    20_000,
  );
  assert.equal(errors.find((x: any) => x.code === 'peer-unreachable').fatal, false);
  const stats = await inboundByPeer(bob);
  assert.equal(Object.values(stats)[0]?.framesDecoded ?? 0, 0, 'no frames decoded');
  assert.equal(await ann.evaluate(() => document.querySelector('av-room')!.peers[0]?.path), 'server');

  // Data fallback: session.send still delivers, through the server.
  await ann.evaluate(() => {
    const room = document.querySelector('av-room')!;
    room.session!.send({ hello: 'Bob', n: 1 });
    room.session!.send(new Uint8Array([1, 2, 3, 255]), { to: room.peers[0]!.peerId });
  });
  const got = await waitFor(
    'messages through the server',
    () =>
      bob.evaluate(() => (window as any).messages.map((m: any) => ({ ...m, data: m.data instanceof Uint8Array ? [...m.data] : m.data }))),
    (m: any[]) => m.length >= 2,
  );
  assert.deepEqual(
    got.map((m: any) => [m.data, m.via]),
    [
      [{ hello: 'Bob', n: 1 }, 'server'],
      [[1, 2, 3, 255], 'server'],
    ],
  );
});
