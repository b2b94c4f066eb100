// Outsiders, tried as they would try: a stock `peerjs.min.js` page holding valid credentials for another room, and
// plain `ws` clients trying to take a member's peer id, on the same server and on a standby that shares nothing.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import { memberPage, waitFor } from '../helpers/browser.js';
import { e2e } from '../helpers/e2e.js';
import { roomClient } from '../helpers/room-client.js';
import { metricSum, serverMetrics, startServer } from '../helpers/server.js';

const ctx = e2e(['--room-password', 'board=board-pw']);
const PEERJS = fileURLToPath(new URL('../../node_modules/peerjs/dist/peerjs.min.js', import.meta.url));

/** A page whose RTCPeerConnections are counted (`window.__pcs`), with an <av-room> in it. */
async function countedMember(attrs: Record<string, string>) {
  const context = await ctx.chromium.browser.newContext();
  await context.addInitScript(() => {
    const w = window as unknown as { __pcs: number; __gumCalls: number };
    w.__pcs = 0;
    w.__gumCalls = 0;
    const Original = window.RTCPeerConnection;
    window.RTCPeerConnection = class extends Original {
      constructor(config?: RTCConfiguration) {
        super(config);
        w.__pcs++;
      }
    };
  });
  const p = await memberPage(ctx.chromium.browser, ctx.server.url, attrs, {}, '', context);
  ctx.open.push(p);
  await p.page.locator('av-room[state="connected"]').waitFor({ timeout: 20_000 });
  return p;
}

const pcs = (p: { page: import('playwright-core').Page }) => p.page.evaluate(() => (window as unknown as { __pcs: number }).__pcs);

test(
  'an outsider with credentials for another room reaches no member of a password room (stock peerjs.min.js)',
  { timeout: 120_000 },
  async () => {
    const victim = await countedMember({ room: 'board', name: 'Vic', password: 'board-pw' });
    const victimId = await victim.page.evaluate(() => document.querySelector('av-room')!.session!.peerId!);
    const before = await serverMetrics(ctx.server.url);
    // What the victim's page made before the outsider arrives (none while it is alone in the room).
    const baseline = await pcs(victim);

    const outsider = await ctx.chromium.browser.newContext();
    const page = await outsider.newPage();
    await page.goto(`${ctx.server.url}/healthz`);
    await page.addScriptTag({ path: PEERJS });
    // tsx keeps function names with a helper the page does not have.
    await page.evaluate('window.__name = (f) => f');
    const result = await page.evaluate(
      async ({ server, victimId }) => {
        const { Peer } = (window as unknown as { peerjs: typeof import('peerjs') }).peerjs;
        const url = new URL(server);
        // Valid credentials, for the open room "lobby".
        const ws = new window.WebSocket(`ws://${url.host}/r/lobby/ws`);
        const joined = await new Promise<any>((resolve, reject) => {
          ws.onopen = () => ws.send(JSON.stringify({ type: 'join', name: 'Mallory' }));
          ws.onmessage = (e) => resolve(JSON.parse(e.data));
          ws.onerror = reject;
        });
        const register = (path: string) =>
          new Promise<{ peer: InstanceType<typeof Peer>; outcome: string }>((resolve) => {
            const peer = new Peer(joined.self.peerId, {
              host: url.hostname,
              port: Number(url.port),
              path,
              token: joined.peerToken,
              config: { iceServers: [] },
              debug: 0,
            });
            peer.on('open', () => resolve({ peer, outcome: 'open' }));
            peer.on('error', (e) => resolve({ peer, outcome: `error ${e.type}` }));
            setTimeout(() => resolve({ peer, outcome: 'timeout' }), 5000);
          });
        // Lobby credentials do not open the board's signalling.
        const intoBoard = await register('/r/board/peerjs');
        intoBoard.peer.destroy();
        const { peer, outcome } = await register(joined.peerPath);
        // 20 data connections and 20 calls to the board member, whose id the outsider somehow learned.
        const canvas = document.createElement('canvas');
        canvas.getContext('2d')!.fillRect(0, 0, 10, 10);
        const stream = canvas.captureStream(5);
        const conns = Array.from({ length: 20 }, () => peer.connect(victimId, { reliable: true }));
        const calls = Array.from({ length: 20 }, () => peer.call(victimId, stream));
        let opened = 0;
        for (const c of conns) c.on('open', () => opened++);
        await new Promise((r) => setTimeout(r, 10_000));
        const answered = [...conns, ...calls].filter((c) => c.peerConnection?.remoteDescription).length;
        let remoteCandidates = 0;
        for (const c of [...conns, ...calls]) {
          const report = await c.peerConnection?.getStats();
          report?.forEach((s: RTCStats) => s.type === 'remote-candidate' && remoteCandidates++);
        }
        // Its offers and candidates to a non-member count against its signalling socket: it has been cut off.
        const cutOff = peer.disconnected;
        peer.destroy();
        ws.close();
        // Leaving the room ends a member's signalling too (a fresh, well-behaved lobby member).
        const ws2 = new window.WebSocket(`ws://${url.host}/r/lobby/ws`);
        const again = await new Promise<any>((resolve, reject) => {
          ws2.onopen = () => ws2.send(JSON.stringify({ type: 'join', name: 'Mallory' }));
          ws2.onmessage = (e) => resolve(JSON.parse(e.data));
          ws2.onerror = reject;
        });
        const peer2 = new Peer(again.self.peerId, {
          host: url.hostname,
          port: Number(url.port),
          path: again.peerPath,
          token: again.peerToken,
          config: { iceServers: [] },
          debug: 0,
        });
        await new Promise((resolve) => peer2.on('open', resolve));
        const signallingClosed = new Promise<boolean>((resolve) => {
          peer2.on('disconnected', () => resolve(true));
          setTimeout(() => resolve(false), 5000);
        });
        ws2.send(JSON.stringify({ type: 'leave' }));
        const closed = await signallingClosed;
        peer2.destroy();
        ws2.close();
        return { intoBoard: intoBoard.outcome, outcome, opened, answered, remoteCandidates, cutOff, signallingClosedOnLeave: closed };
      },
      { server: ctx.server.url, victimId },
    );
    await outsider.close();

    assert.match(result.intoBoard, /^error /, 'lobby credentials are refused on the board signalling path');
    assert.equal(result.outcome, 'open', 'the outsider is a registered lobby member');
    assert.equal(result.opened, 0, 'no data connection opened');
    assert.equal(result.answered, 0, 'no SDP answer came back');
    assert.equal(result.remoteCandidates, 0, 'no candidate of the victim was learned');
    assert.equal(result.cutOff, true, 'signalling to a non-member got the outsider cut off');
    assert.equal(result.signallingClosedOnLeave, true, 'leaving the room closed the signalling socket');
    assert.equal(await pcs(victim), baseline, "the victim's page created no RTCPeerConnection for the outsider");
    const after = await serverMetrics(ctx.server.url);
    const dropped = metricSum(after, 'av_signalling_dropped_total') - metricSum(before, 'av_signalling_dropped_total');
    assert.ok(dropped >= 40, `the server dropped the outsider's offers (${dropped})`);

    // The count can move: a legitimate board member does make the victim create connections.
    const bob = await countedMember({ room: 'board', name: 'Bob', password: 'board-pw' });
    await waitFor(
      'Vic connects with Bob',
      () => pcs(victim),
      (n) => n > baseline,
      20_000,
    );
    await waitFor(
      'Bob connects with Vic',
      () => pcs(bob),
      (n) => n > baseline,
      20_000,
    );
    await ctx.closeAll();
  },
);

/** What a bare PeerJS client does: open PeerServer's socket with an id and a token. */
function signallingSocket(server: string, room: string, id: string, token: string): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${server.replace('http', 'ws')}/r/${room}/peerjs/peerjs?key=peerjs&id=${id}&token=${token}&version=1.5.5`);
    ws.once('unexpected-response', (_req, res) => resolve(`http ${res.statusCode}`));
    ws.once('message', (m) => {
      resolve(JSON.parse((m as Buffer).toString()).type);
      ws.close();
    });
    ws.once('error', () => resolve('error'));
  });
}

test('an id takeover without the previous token fails, on the same server and on a standby', { timeout: 60_000 }, async () => {
  const standby = await startServer(['--room-password', 'board=board-pw']);
  try {
    const a = ctx.server.url;
    const victim = await roomClient(a, 'board');
    victim.send({ type: 'join', name: 'Vic', password: 'board-pw' });
    const v = await victim.next('joined');
    const victimId: string = v.self.peerId;
    assert.equal(await signallingSocket(a, 'board', victimId, v.peerToken), 'OPEN');

    // Mallory holds lobby credentials, and even the board's password.
    const lobby = await roomClient(a, 'lobby');
    lobby.send({ type: 'join', name: 'Mallory', peerId: victimId });
    assert.equal((await lobby.next('error')).code, 'invalid-message', 'ids cannot be chosen');
    lobby.send({ type: 'join', name: 'Mallory' });
    const m = await lobby.next('joined');
    for (const server of [a, standby.url]) {
      for (const room of ['board', 'lobby']) {
        assert.equal(
          await signallingSocket(server, room, victimId, m.peerToken),
          'http 401',
          `${server === a ? 'same server' : 'standby'}, ${room}`,
        );
      }
      const board = await roomClient(server, 'board');
      board.send({ type: 'join', name: 'Mallory', password: 'board-pw', resume: 'guessed-resume-token-0001' });
      const mb = await board.next('joined');
      assert.notEqual(mb.self.peerId, victimId, 'a guessed resume token gives another id');
      assert.equal(await signallingSocket(server, 'board', victimId, mb.peerToken), 'http 401');
      board.close();
    }

    // The victim itself moves to the standby (as a failover does) and is itself there.
    const moved = await roomClient(standby.url, 'board');
    moved.send({ type: 'join', name: 'Vic', password: 'board-pw', resume: v.resumeToken });
    const vb = await moved.next('joined');
    assert.equal(vb.self.peerId, victimId);
    assert.equal(await signallingSocket(standby.url, 'board', victimId, vb.peerToken), 'OPEN');
    for (const c of [victim, lobby, moved]) c.close();
  } finally {
    await standby.stop();
  }
});
