// The forwarding tree seen from outside: plain ws clients join a broadcast room and are told their routes; the server's
// fanout caps what a page asks; a viewer reporting its parent lost is moved.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { roomClient, type RoomClient } from '../../test/helpers/room-client.js';
import { startServer, type RunningServer } from '../../test/helpers/server.js';

let server: RunningServer;
before(async () => {
  server = await startServer(['--fanout', '2', '--member-grace', '1']);
});
after(() => server.stop());

async function enter(room: string, role: 'viewer' | 'presenter', extra: Record<string, unknown> = {}) {
  const c = await roomClient(server.url, room);
  c.send({ type: 'join', name: role, role, ...extra });
  const joined = await c.next('joined');
  return { c, id: joined.self.peerId as string, route: joined.route };
}

/** The latest route message, or `undefined` if none came within `ms`. */
async function lastRoute(c: RoomClient, ms = 500) {
  let last: any;
  for (;;) {
    try {
      last = await c.next('route', ms);
    } catch {
      return last;
    }
  }
}

test('viewers get a parent within the server fanout (a page may ask less, not more); the presenter sees the tree', async () => {
  const p = await enter('show', 'presenter');
  assert.equal(p.route, undefined, 'no tree before any viewer');
  const viewers = [];
  for (let i = 0; i < 5; i++) viewers.push(await enter('show', 'viewer', { fanout: 8 }));
  assert.deepEqual(
    viewers.map((v) => v.route.parent),
    [null, null, viewers[0]!.id, viewers[1]!.id, viewers[0]!.id],
    'fanout 2 from the server, though the page asked 8',
  );
  const presenterRoute = await lastRoute(p.c);
  assert.deepEqual(presenterRoute.children, [viewers[0]!.id, viewers[1]!.id]);
  assert.equal(presenterRoute.tree.length, 5);
  const first = await lastRoute(viewers[0]!.c);
  assert.deepEqual(first.children, [viewers[2]!.id, viewers[4]!.id], 'a forwarder is told its children');

  // A forwarder leaves: its first child takes its place, the other follows it; both are told.
  viewers[0]!.c.send({ type: 'leave' });
  const heir = await lastRoute(viewers[2]!.c);
  const sibling = await lastRoute(viewers[4]!.c);
  assert.equal(heir.parent, null);
  assert.deepEqual(heir.children, [viewers[4]!.id]);
  assert.equal(sibling.parent, viewers[2]!.id);

  // A viewer reports its parent lost: it moves elsewhere (not under that parent), once per 5 s at most.
  viewers[4]!.c.send({ type: 'route-lost' });
  const moved = await lastRoute(viewers[4]!.c);
  assert.ok(moved && moved.parent !== viewers[2]!.id, `moved away from its parent (${JSON.stringify(moved)})`);
  viewers[4]!.c.send({ type: 'route-lost' });
  assert.equal(await lastRoute(viewers[4]!.c), undefined, 'a second report at once moves nothing');
  for (const c of [p.c, ...viewers.map((v) => v.c)]) c.close();
});

test('a room’s fanout is the first member’s, below the server’s', async () => {
  const p = await enter('narrow', 'presenter', { fanout: 1 });
  const a = await enter('narrow', 'viewer');
  const b = await enter('narrow', 'viewer', { fanout: 2 });
  assert.equal(a.route.parent, null);
  assert.equal(b.route.parent, a.id, 'fanout 1: the second viewer goes under the first');
  for (const c of [p.c, a.c, b.c]) c.close();
});

test('bad route input: a malformed route-lost and an oversized except list get clear errors', async () => {
  const v = await enter('bad', 'viewer');
  v.c.send({ type: 'route-lost', parent: 'x' });
  assert.equal((await v.c.next('error')).code, 'invalid-message');
  v.c.send({ type: 'relay', to: '*', data: 1, except: Array.from({ length: 65 }, (_, i) => `p${i}`) });
  assert.match((await v.c.next('error')).message, /except/);
  const w = await roomClient(server.url, 'bad');
  w.send({ type: 'join', name: 'x', role: 'viewer', fanout: 0 });
  assert.match((await w.next('error')).message, /fanout/);
  v.c.close();
  w.close();
});
