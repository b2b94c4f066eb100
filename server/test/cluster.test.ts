// Two av-server nodes sharing rooms through a real redis-server, driven by plain `ws` members: roster, relay and
// signalling across nodes, cluster-wide limits and lockouts, and the server SDK (send, broadcast, kick, requestMute,
// closeRoom, room hooks) used from a node other than the member's. The nodes run in this process for the SDK; the
// test exits explicitly (PeerServer keeps timers).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WebSocket } from 'ws';
import { createLogger } from '../log.js';
import { createServer, type AvServer } from '../index.js';
import { roomClient, type RoomClient } from '../../test/helpers/room-client.js';
import { startRedis, type RunningRedis } from '../../test/helpers/redis.js';

let redis: RunningRedis;
let a: AvServer;
let b: AvServer;
const events: string[] = [];

function node(name: string): AvServer {
  return createServer({
    port: 0,
    redis: redis.url,
    maxParticipants: 3,
    rooms: { locked: { password: 'right' } },
    logger: createLogger('silent'),
    hooks: {
      onRoomOpen: (room) => events.push(`${name} open ${room}`),
      onRoomEmpty: (room) => events.push(`${name} empty ${room}`),
    },
  });
}

before(async () => {
  redis = await startRedis();
  a = node('A');
  b = node('B');
  await Promise.all([a.listen(), b.listen()]);
});
after(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await redis?.stop();
});

async function member(server: AvServer, room: string, name: string, extra: Record<string, unknown> = {}) {
  const c = await roomClient(server.url, room);
  c.send({ type: 'join', name, ...extra });
  const joined = await c.next('joined');
  return { c, joined, id: joined.self.peerId as string };
}

/** A member's PeerServer socket, collecting what it receives. */
async function signalling(server: AvServer, room: string, joined: { self: { peerId: string }; peerToken: string }) {
  const ws = new WebSocket(
    `${server.url.replace('http', 'ws')}/r/${room}/peerjs/peerjs?key=peerjs&id=${joined.self.peerId}&token=${joined.peerToken}&version=1.5.5`,
  );
  const inbox: any[] = [];
  ws.on('message', (m) => inbox.push(JSON.parse((m as Buffer).toString())));
  await new Promise((resolve, reject) => ws.once('message', resolve).once('error', reject));
  return { ws, inbox };
}

const until = async <T>(what: string, fn: () => T | undefined, ms = 3000): Promise<T> => {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

test('members on two nodes meet in one room: roster, media updates, relay, signalling and leaves cross nodes', async () => {
  const ann = await member(a, 'standup', 'Ann');
  const bob = await member(b, 'standup', 'Bob');
  assert.deepEqual(
    bob.joined.peers.map((p: { name: string }) => p.name),
    ['Ann'],
    'Bob, on B, sees Ann, on A',
  );
  assert.equal((await ann.c.next('peer-joined')).peer.name, 'Bob');

  bob.c.send({ type: 'update', media: { audio: false, video: true } });
  assert.deepEqual((await ann.c.next('peer-updated')).media, { audio: false, video: true });

  ann.c.send({ type: 'relay', to: bob.id, data: { hello: 'from A' } });
  assert.deepEqual(await bob.c.next('relayed'), { type: 'relayed', from: ann.id, data: { hello: 'from A' } });
  bob.c.send({ type: 'relay', to: '*', data: { hi: 'all' } });
  assert.equal((await ann.c.next('relayed')).from, bob.id);

  const annSig = await signalling(a, 'standup', ann.joined);
  const bobSig = await signalling(b, 'standup', bob.joined);
  annSig.ws.send(JSON.stringify({ type: 'OFFER', dst: bob.id, payload: { sdp: 'v=0', type: 'data', connectionId: 'dc_1' } }));
  const offer = await until('the offer reaches Bob through node B', () => bobSig.inbox.find((m) => m.type === 'OFFER'));
  assert.deepEqual(offer, { type: 'OFFER', src: ann.id, dst: bob.id, payload: { sdp: 'v=0', type: 'data', connectionId: 'dc_1' } });
  bobSig.ws.send(JSON.stringify({ type: 'ANSWER', dst: ann.id, payload: { sdp: 'v=0', type: 'data', connectionId: 'dc_1' } }));
  assert.equal((await until('the answer reaches Ann', () => annSig.inbox.find((m) => m.type === 'ANSWER'))).src, bob.id);
  // A member of another room on node B is not reachable from Ann, whatever node it is on.
  const eve = await member(b, 'elsewhere', 'Eve');
  const eveSig = await signalling(b, 'elsewhere', eve.joined);
  annSig.ws.send(JSON.stringify({ type: 'OFFER', dst: eve.id, payload: { sdp: 'v=0', type: 'data', connectionId: 'dc_2' } }));
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(eveSig.inbox.filter((m) => m.type === 'OFFER').length, 0);

  bob.c.send({ type: 'leave' });
  assert.equal((await ann.c.next('peer-left')).peerId, bob.id);
  const bobClosed = await until("leaving closes Bob's signalling", () => (bobSig.ws.readyState === WebSocket.CLOSED ? true : undefined));
  assert.ok(bobClosed);
  for (const s of [annSig, eveSig]) s.ws.close();
  for (const m of [ann, bob, eve]) m.c.close();
});

test('signalling from another node to a newcomer that has not registered yet is held for it, as PeerServer holds local ones', async () => {
  const ann = await member(a, 'hold', 'Ann');
  const annSig = await signalling(a, 'hold', ann.joined);
  const cy = await member(b, 'hold', 'Cy');
  assert.equal((await ann.c.next('peer-joined')).peer.name, 'Cy');
  // Ann calls Cy at once (as a member present does), before Cy's PeerServer socket exists.
  annSig.ws.send(JSON.stringify({ type: 'OFFER', dst: cy.id, payload: { sdp: 'v=0', type: 'media', connectionId: 'mc_1' } }));
  annSig.ws.send(JSON.stringify({ type: 'CANDIDATE', dst: cy.id, payload: { candidate: {}, type: 'media', connectionId: 'mc_1' } }));
  await new Promise((r) => setTimeout(r, 300));
  const cySig = await signalling(b, 'hold', cy.joined);
  await until('both reach Cy once it registers', () => (cySig.inbox.filter((m) => m.type !== 'OPEN').length >= 2 ? true : undefined));
  assert.deepEqual(
    cySig.inbox.map((m) => [m.type, m.src]),
    [
      ['OPEN', undefined],
      ['OFFER', ann.id],
      ['CANDIDATE', ann.id],
    ],
  );
  for (const s of [annSig, cySig]) s.ws.close();
  for (const m of [ann, cy]) m.c.close();
});

test('one forwarding tree across nodes: viewers joining both at once get consistent places; edges are checked on either node', async () => {
  const presenter = await member(a, 'tree', 'Presenter', { role: 'presenter', fanout: 2 });
  // Twelve viewers join at the same moment, half on each node: every tree change is a compare-and-set in Redis.
  const viewers = await Promise.all(Array.from({ length: 12 }, (_, i) => member(i % 2 ? b : a, 'tree', `V${i}`, { role: 'viewer' })));
  const lastRoute = async (c: RoomClient) => {
    let last: any;
    for (;;) {
      try {
        last = await c.next('route', 400);
      } catch {
        return last;
      }
    }
  };
  const tree: { id: string; parent: string | null }[] = (await lastRoute(presenter.c)).tree;
  assert.equal(tree.length, 12, 'the presenter, on A, sees all twelve');
  const parentOf = new Map(tree.map((e) => [e.id, e.parent]));
  const children = (id: string | null) => tree.filter((e) => e.parent === id).map((e) => e.id);
  assert.equal(children(null).length, 2, 'fanout 2 at the root');
  for (const v of viewers) {
    const route = (await lastRoute(v.c)) ?? v.joined.route;
    assert.equal(route.parent, parentOf.get(v.id), 'each viewer was told the parent the presenter sees');
    assert.deepEqual(route.children, children(v.id), 'and its children');
    assert.ok(route.children.length <= 2);
  }
  const depth = (id: string): number => (parentOf.get(id) ? 1 + depth(parentOf.get(id)!) : 1);
  assert.ok(Math.max(...viewers.map((v) => depth(v.id))) <= 3, 'depth within 3 for 12 viewers at fanout 2');

  // An edge across nodes is let through; a non-edge is not, on either node.
  const nodeOf = (v: (typeof viewers)[number]) => (viewers.indexOf(v) % 2 ? b : a);
  // A child on the other node than its parent, if there is one.
  const deep = viewers.filter((v) => parentOf.get(v.id));
  const child = deep.find((v) => nodeOf(v) !== nodeOf(viewers.find((p) => p.id === parentOf.get(v.id))!)) ?? deep[0]!;
  const parent = viewers.find((v) => v.id === parentOf.get(child.id))!;
  const stranger = viewers.find((v) => v !== child && v !== parent && parentOf.get(v.id) !== child.id)!;
  const parentSig = await signalling(nodeOf(parent), 'tree', parent.joined);
  const childSig = await signalling(nodeOf(child), 'tree', child.joined);
  const strangerSig = await signalling(nodeOf(stranger), 'tree', stranger.joined);
  const offer = (metadata: unknown) => ({ sdp: 'v=0', type: 'media', connectionId: `mc_${Math.random()}`, metadata });
  parentSig.ws.send(JSON.stringify({ type: 'OFFER', dst: child.id, payload: offer({ forward: presenter.id }) }));
  await until('a parent forwards the presenter to its child', () => childSig.inbox.find((m) => m.type === 'OFFER'));
  strangerSig.ws.send(JSON.stringify({ type: 'OFFER', dst: child.id, payload: offer({ forward: presenter.id }) }));
  childSig.ws.send(JSON.stringify({ type: 'OFFER', dst: parent.id, payload: offer({ forward: presenter.id }) }));
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(childSig.inbox.filter((m) => m.type === 'OFFER').length, 1, 'nothing from a viewer that is not its parent');
  assert.equal(parentSig.inbox.filter((m) => m.type === 'OFFER').length, 0, 'nothing up the tree');

  // The parent leaves on its node: the child is re-attached, and both nodes agree.
  parent.c.send({ type: 'leave' });
  const moved = await lastRoute(child.c);
  assert.ok(moved && moved.parent !== parent.id, 'the child got a new parent');
  const after: { id: string; parent: string | null }[] = (await lastRoute(presenter.c)).tree;
  assert.equal(after.length, 11);
  assert.equal(after.find((e) => e.id === child.id)!.parent, moved.parent);
  for (const s of [parentSig, childSig, strangerSig]) s.ws.close();
  for (const m of [presenter, ...viewers]) m.c.close();
});

test('limits and lockouts are cluster-wide', async () => {
  const joined: RoomClient[] = [];
  const results: string[] = [];
  for (const [server, name] of [
    [a, 'Ann'],
    [b, 'Bob'],
    [a, 'Cy'],
    [b, 'Di'],
  ] as const) {
    const c = await roomClient(server.url, 'three');
    c.send({ type: 'join', name });
    const m = await c.next();
    results.push(m.type === 'joined' ? 'joined' : m.code);
    joined.push(c);
  }
  assert.deepEqual(results, ['joined', 'joined', 'joined', 'room-full']);
  for (const c of joined) c.close();

  for (let i = 0; i < 10; i++) {
    const c = await roomClient(a.url, 'locked');
    c.send({ type: 'join', name: 'x', password: `guess-${i}` });
    assert.equal((await c.next('error')).code, 'auth-failed');
    c.close();
  }
  const onB = await roomClient(b.url, 'locked');
  onB.send({ type: 'join', name: 'x', password: 'right' });
  assert.equal((await onB.next('error')).code, 'rate-limited', 'guessing on node A counts on node B');
  onB.close();
});

test('server SDK from the other node: send, broadcast, requestMute, kick, closeRoom; room hooks fire once', async () => {
  events.length = 0;
  const ann = await member(a, 'sdk', 'Ann');
  const bob = await member(b, 'sdk', 'Bob');
  await ann.c.next('peer-joined');
  assert.deepEqual(events, ['A open sdk'], 'the room opened once, on the node of its first member');

  assert.equal(await a.broadcast('sdk', { notice: 'hello' }), 2);
  assert.deepEqual((await bob.c.next('app')).data, { notice: 'hello' });
  assert.deepEqual((await ann.c.next('app')).data, { notice: 'hello' });
  assert.equal(await a.send(bob.id, { just: 'you' }), true);
  assert.deepEqual((await bob.c.next('app')).data, { just: 'you' });
  assert.equal(await a.send('p0000000000000000000000000000000', 1), false, 'nobody by that id');

  assert.equal(await a.requestMute(bob.id, 'Moderator'), true);
  assert.deepEqual(await bob.c.next('mute-request'), { type: 'mute-request', by: 'Moderator' });

  const bobClosed = new Promise<number>((r) => bob.c.ws.once('close', (code) => r(code)));
  assert.equal(await a.kick(bob.id, 'spamming'), true);
  assert.deepEqual(await bob.c.next('kicked'), { type: 'kicked', reason: 'spamming' });
  assert.equal(await bobClosed, 1000);
  assert.equal((await ann.c.next('peer-left')).peerId, bob.id, 'its peers drop it at once');

  const cy = await member(b, 'sdk', 'Cy');
  await ann.c.next('peer-joined');
  assert.equal(await b.closeRoom('sdk', 'meeting over'), 2);
  assert.deepEqual(await ann.c.next('room-closed'), { type: 'room-closed', reason: 'meeting over' });
  assert.deepEqual(await cy.c.next('room-closed'), { type: 'room-closed', reason: 'meeting over' });
  await until('the room emptied', () => (events.some((e) => e.endsWith('empty sdk')) ? true : undefined));
  assert.equal(events.filter((e) => e.endsWith('empty sdk')).length, 1, 'empty once');
});
