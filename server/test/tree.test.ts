// The forwarding tree's bookkeeping (pure): placement, re-attachment, and its invariants under random churn.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ForwardingTree } from '../tree.js';

/** A small seeded PRNG, so a failure can be replayed. */
function rng(seed: number) {
  return () => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
}

test('10 viewers with fanout 3: the presenter serves 3, nobody serves more than 3, depth ≤ 3, level by level', () => {
  const tree = new ForwardingTree('P', 3, 3);
  const parents = Array.from({ length: 10 }, (_, i) => tree.add(`v${i}`));
  tree.check();
  assert.deepEqual(parents.slice(0, 3), ['P', 'P', 'P']);
  // The next level fills evenly: one child per forwarder before any gets a second.
  assert.deepEqual(parents.slice(3, 6), ['v0', 'v1', 'v2']);
  assert.deepEqual(tree.childrenOf('P'), ['v0', 'v1', 'v2']);
  assert.equal(Math.max(...tree.entries().map((e) => e.depth)), 2);
  for (const e of tree.entries()) assert.ok(tree.childrenOf(e.id).length <= 3);
});

test('a full tree refuses the next viewer instead of growing deeper', () => {
  const tree = new ForwardingTree('P', 2, 2);
  for (let i = 0; i < 6; i++) assert.notEqual(tree.add(`v${i}`), undefined);
  assert.equal(tree.add('v6'), undefined);
  assert.equal(tree.size, 6);
  tree.check();
});

test('a forwarder leaves: its first child takes its place, its other children follow, grandchildren stay put', () => {
  const tree = new ForwardingTree('P', 2, 4);
  // Filled level by level: P → a, b; a → c, e; b → d, f; c → g
  for (const v of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) tree.add(v);
  assert.deepEqual(tree.childrenOf('a'), ['c', 'e']);
  assert.deepEqual(tree.childrenOf('c'), ['g']);
  const before = new Map(tree.entries().map((e) => [e.id, e.parent]));
  const moved = tree.remove('a');
  tree.check();
  assert.equal(tree.parentOf('c'), 'P', 'the heir takes the leaver place');
  assert.equal(tree.parentOf('e'), 'c', 'the other child goes under the heir, which has room');
  assert.deepEqual([...moved.keys()].sort(), ['c', 'e'], 'only the children are told of a new parent');
  assert.equal(tree.parentOf('g'), 'c', 'a grandchild keeps its parent');
  for (const [id, parent] of before) {
    if (id === 'a' || moved.has(id)) continue;
    assert.equal(tree.parentOf(id), parent, `${id} did not move`);
  }
  assert.ok(!tree.has('a'));
});

test('a leaf leaves: nobody moves', () => {
  const tree = new ForwardingTree('P', 3, 3);
  for (let i = 0; i < 8; i++) tree.add(`v${i}`);
  assert.equal(tree.remove('v7').size, 0);
  tree.check();
});

test('depthFor: the smallest depth that holds the audience', () => {
  assert.equal(ForwardingTree.depthFor(4, 4), 1);
  assert.equal(ForwardingTree.depthFor(5, 4), 2);
  assert.equal(ForwardingTree.depthFor(20, 4), 2);
  assert.equal(ForwardingTree.depthFor(21, 4), 3);
  assert.equal(ForwardingTree.depthFor(100, 4), 4);
  assert.equal(ForwardingTree.depthFor(10, 3), 2);
  assert.equal(ForwardingTree.depthFor(13, 3), 3);
  assert.equal(ForwardingTree.depthFor(1000, 1), 64, 'bounded even for a chain');
});

test('random churn: invariants hold after every change, and only the leaver’s children move', () => {
  for (const seed of [1, 2, 3, 42, 2026]) {
    const rand = rng(seed);
    const fanout = 1 + Math.floor(rand() * 4);
    const maxDepth = ForwardingTree.depthFor(40, fanout);
    const tree = new ForwardingTree('P', fanout, maxDepth);
    let next = 0;
    const present: string[] = [];
    for (let step = 0; step < 400; step++) {
      if (present.length < 40 && (present.length === 0 || rand() < 0.6)) {
        const id = `v${next++}`;
        const parent = tree.add(id);
        assert.notEqual(parent, undefined, `seed ${seed}: room for ${id}`);
        present.push(id);
      } else {
        const [leaver] = present.splice(Math.floor(rand() * present.length), 1);
        const children = new Set(tree.childrenOf(leaver!));
        const moved = tree.remove(leaver!);
        for (const id of moved.keys()) {
          // A child moves; a grandchild moves only when its subtree fits nowhere whole (rare).
          if (!children.has(id)) assert.ok(tree.depthOf(id) <= maxDepth);
        }
      }
      try {
        tree.check();
      } catch (e) {
        throw new Error(`seed ${seed}, step ${step}: ${(e as Error).message}`, { cause: e });
      }
      assert.equal(tree.size, present.length);
    }
  }
});

test('a viewer whose parent failed it moves with its subtree, never under that parent; JSON keeps the tree whole', () => {
  const tree = new ForwardingTree('P', 2, 4);
  for (const v of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) tree.add(v);
  // P → a, b; a → c, e; b → d, f; c → g
  const moved = tree.move('c', 'a');
  assert.deepEqual([...moved], [['c', 'd']], 'c goes to the shallowest free place outside a (d, under b)');
  assert.equal(tree.parentOf('g'), 'c', 'its child moves with it');
  tree.check();
  assert.deepEqual([...tree.move('c', 'd')].length, 1);
  assert.notEqual(tree.parentOf('c'), 'd');
  tree.check();
  const copy = ForwardingTree.fromJSON('P', JSON.parse(JSON.stringify(tree.toJSON())));
  copy.check();
  assert.deepEqual(copy.entries(), tree.entries(), 'read back with the same parents, depths and child order');
  assert.equal(copy.fanout, 2);
  assert.equal(copy.maxDepth, 4);
  // Nothing else to go to: it stays.
  const small = new ForwardingTree('P', 1, 2);
  small.add('x');
  small.add('y');
  assert.equal(small.move('y', 'x').size, 0);
  assert.equal(small.parentOf('y'), 'x');
});
