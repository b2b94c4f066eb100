// Who calls whom in a mesh, tested against a stock PeerJS page that holds a room join: the newcomer calls each member
// present, and media flows both ways on that call.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { inboundByPeer, memberPage, waitFor, type MemberPage } from '../helpers/browser.js';
import { e2e } from '../helpers/e2e.js';

const ctx = e2e();
const PEERJS = readFileSync('node_modules/peerjs/dist/peerjs.min.js', 'utf8');

interface BarePage extends MemberPage {
  peerId: string;
}

/**
 * A stock peerjs.min.js page that joins `room` on our server as `name` (the room socket's `join`, then PeerServer
 * with the id and token it was given), sends its fake camera, answers every call and places none (it has no code to
 * place one). It records the calls it gets (`window.calls`).
 */
async function barePage(room: string, name: string): Promise<BarePage> {
  const context = await ctx.chromium.browser.newContext();
  const page = await context.newPage();
  await page.goto(`${ctx.server.url}/healthz`);
  await page.addScriptTag({ content: PEERJS });
  const peerId = await page.evaluate(
    async ({ room, name }) => {
      const w = window as any;
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 320, height: 240 } });
      const ws = new WebSocket(`${location.origin.replace('http', 'ws')}/r/${encodeURIComponent(room)}/ws`);
      await new Promise((r) => (ws.onopen = r));
      ws.send(JSON.stringify({ type: 'join', name }));
      const joined = await new Promise<any>((r) => (ws.onmessage = (e) => r(JSON.parse(e.data))));
      w.roomSocket = ws;
      w.calls = [];
      const peer = new w.peerjs.Peer(joined.self.peerId, {
        host: location.hostname,
        port: Number(location.port),
        path: joined.peerPath,
        token: joined.peerToken,
        config: { iceServers: joined.iceServers ?? [] },
        debug: 0,
      });
      peer.on('call', (call: any) => {
        w.calls.push(call);
        call.answer(stream);
      });
      await new Promise((resolve, reject) => (peer.on('open', resolve), peer.on('error', reject)));
      return peer.id as string;
    },
    { room, name },
  );
  return { page, context, peerId, close: () => context.close() };
}

/** Video frames the stock page decoded, per member that called it (getStats of each call). */
function bareFramesByCaller(p: BarePage): Promise<Record<string, number>> {
  return p.page.evaluate(async () => {
    const out: Record<string, number> = {};
    for (const call of (window as any).calls) {
      const report: RTCStatsReport = await call.peerConnection.getStats();
      report.forEach((s: any) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') out[call.peer] = (out[call.peer] ?? 0) + (s.framesDecoded ?? 0);
      });
    }
    return out;
  });
}

/** An <av-room> member that joins `room` after the stock page and decodes its video: its page and peer id. */
async function memberDecoding(room: string, name: string, stock: BarePage): Promise<{ member: MemberPage; memberId: string }> {
  const member = await memberPage(ctx.chromium.browser, ctx.server.url, { room, name });
  ctx.open.push(member);
  await waitFor(
    `${name} decodes the stock page`,
    () => inboundByPeer(member.page),
    (s) => (s[stock.peerId]?.framesDecoded ?? 0) > 0,
    30_000,
  );
  const memberId = await member.page.evaluate(() => document.querySelector('av-room')!.session!.peerId!);
  return { member, memberId };
}

test('a newcomer calls each member present: a stock PeerJS member that never calls gets its call, and video flows both ways', async () => {
  const room = 'silent-member';
  const silent = await barePage(room, 'Silent');
  try {
    const { memberId: newcomerId } = await memberDecoding(room, 'Newcomer', silent);
    const calls = await silent.page.evaluate(() => (window as any).calls.map((c: any) => c.peer));
    assert.deepEqual(calls, [newcomerId]);
    await waitFor(
      'the silent member decodes the newcomer',
      () => bareFramesByCaller(silent),
      (f) => Object.values(f)[0]! > 0,
      30_000,
    );
  } finally {
    await silent.close();
    await ctx.closeAll();
  }
});

test("a stock PeerJS member's data connections are answered only when raw: PeerJS's binary and JSON ones never open, and the call goes on", async () => {
  const room = 'serializations';
  const stock = await barePage(room, 'Stock');
  try {
    const { member, memberId } = await memberDecoding(room, 'Member', stock);
    const opened = await stock.page.evaluate(async (to) => {
      const peer = (window as any).calls[0].provider;
      const tries = ['binary', 'json', 'binary-utf8', 'raw'].map((serialization) => {
        const conn = peer.connect(to, { serialization, label: `try-${serialization}` });
        return new Promise<string>((resolve) => {
          conn.on('open', () => resolve(`${serialization}: open`));
          setTimeout(() => resolve(`${serialization}: ${conn.open ? 'open' : 'not open'}`), 8000);
        });
      });
      return Promise.all(tries);
    }, memberId);
    assert.deepEqual(opened, ['binary: not open', 'json: not open', 'binary-utf8: not open', 'raw: open']);
    const before = (await inboundByPeer(member.page))[stock.peerId]!.framesDecoded;
    await waitFor(
      'the member still decodes the stock page',
      () => inboundByPeer(member.page),
      (s) => (s[stock.peerId]?.framesDecoded ?? 0) > before + 20,
      15_000,
    );
  } finally {
    await stock.close();
    await ctx.closeAll();
  }
});
