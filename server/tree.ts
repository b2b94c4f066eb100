/** A tree as stored in Redis and sent between nodes: viewers with their parents, breadth first. */
export interface TreeJSON {
  fanout: number;
  maxDepth: number;
  parents: [string, string][];
}

/**
 * The forwarding tree of a broadcast room: the presenter (the root) sends to at most `fanout` viewers, and every viewer
 * forwards what it receives to at most `fanout` more. Pure bookkeeping, no I/O: the room service tells members their
 * parent, and members connect to it.
 *
 * Invariants (checked by `check()` in tests): every viewer has exactly one parent, in the tree; nobody has more than
 * `fanout` children; nobody is deeper than `maxDepth` (the root is depth 0); no loops.
 *
 * Changes move as few viewers as possible, because every move is a new connection and a gap in the picture:
 * - A newcomer takes the shallowest free place (ties: the node with fewest children, then the oldest).
 * - When a forwarder leaves, its first child takes its place (under the same parent, keeping its own subtree), and its
 *   other children go under that child when there is room, else to the shallowest free place where their subtree fits
 *   within `maxDepth`. Subtrees move whole: grandchildren keep their parent.
 */
export class ForwardingTree {
  private readonly parents = new Map<string, string>();
  private readonly children = new Map<string, string[]>();

  /**
   * @param root - The presenter's peer id.
   * @param fanout - Most children of one node (the presenter included), at least 1.
   * @param maxDepth - Deepest a viewer may be (1: everyone receives from the presenter).
   */
  constructor(
    readonly root: string,
    readonly fanout: number,
    readonly maxDepth: number,
  ) {
    if (!Number.isInteger(fanout) || fanout < 1) throw new RangeError('fanout must be an integer ≥ 1');
    if (!Number.isInteger(maxDepth) || maxDepth < 1) throw new RangeError('maxDepth must be an integer ≥ 1');
    this.children.set(root, []);
  }

  /** The smallest depth that holds `viewers` with this fanout: 4 → 1 up to 4 viewers, 2 up to 20, 3 up to 84. */
  static depthFor(viewers: number, fanout: number): number {
    let depth = 1;
    let capacity = fanout;
    let level = fanout;
    while (capacity < viewers && depth < 64) {
      level *= fanout;
      capacity += level;
      depth++;
    }
    return depth;
  }

  /** Viewers in the tree. */
  get size(): number {
    return this.parents.size;
  }

  has(id: string): boolean {
    return id === this.root || this.parents.has(id);
  }

  parentOf(id: string): string | undefined {
    return this.parents.get(id);
  }

  childrenOf(id: string): readonly string[] {
    return this.children.get(id) ?? [];
  }

  depthOf(id: string): number {
    let depth = 0;
    for (let at = id; at !== this.root; depth++) {
      const up = this.parents.get(at);
      if (up === undefined) return -1;
      at = up;
    }
    return depth;
  }

  /**
   * Places a new viewer; returns its parent, or undefined when the tree is full (every place within `maxDepth` taken).
   */
  add(id: string): string | undefined {
    if (this.has(id)) throw new Error(`${id} is already in the tree`);
    const parent = this.freePlace(0);
    if (parent === undefined) return undefined;
    this.attach(id, parent);
    this.children.set(id, []);
    return parent;
  }

  /**
   * Removes a viewer. Returns the viewers whose parent changed, with their new parent (the removed viewer's children,
   * and any of their descendants that had to move on their own). Removing the root is not allowed: a room without its
   * presenter has no tree.
   */
  remove(id: string): Map<string, string> {
    if (id === this.root) throw new Error('the root cannot be removed');
    const parent = this.parents.get(id);
    if (parent === undefined) return new Map();
    const orphans = [...(this.children.get(id) ?? [])];
    this.detach(id);
    this.children.delete(id);
    for (const o of orphans) this.parents.delete(o);
    const moved = new Map<string, string>();
    const [heir, ...others] = orphans;
    if (heir === undefined) return moved;
    // The first child takes the leaver's place: its subtree moves up a level, never deeper.
    this.attach(heir, parent);
    moved.set(heir, parent);
    for (const o of others) this.replace(o, heir, moved);
    return moved;
  }

  /**
   * Moves a viewer (with its subtree) away from its parent, which failed it: to the shallowest free place outside
   * `avoid`'s subtree. Returns the viewers whose parent changed (none when there is no other place: it stays).
   */
  move(id: string, avoid: string): Map<string, string> {
    const parent = this.parents.get(id);
    const moved = new Map<string, string>();
    if (parent === undefined) return moved;
    const place = this.freePlace(this.height(id), [id, avoid]);
    if (place === undefined || place === parent) return moved;
    this.detach(id);
    this.attach(id, place);
    moved.set(id, place);
    return moved;
  }

  /** The tree as JSON (viewers breadth first, so children keep their order when read back). */
  toJSON(): TreeJSON {
    return {
      fanout: this.fanout,
      maxDepth: this.maxDepth,
      parents: this.entries()
        .slice(1)
        .map((e) => [e.id, e.parent!]),
    };
  }

  /** A tree written by `toJSON` (another node's), under `root`. */
  static fromJSON(root: string, json: TreeJSON): ForwardingTree {
    const tree = new ForwardingTree(root, json.fanout, json.maxDepth);
    for (const [id, parent] of json.parents) {
      if (!tree.has(parent) || tree.has(id)) continue;
      tree.attach(id, parent);
      tree.children.set(id, []);
    }
    return tree;
  }

  /** Every viewer with its parent and depth, root first, breadth first. */
  entries(): { id: string; parent: string | undefined; depth: number }[] {
    const out: { id: string; parent: string | undefined; depth: number }[] = [];
    const queue: [string, number][] = [[this.root, 0]];
    for (let i = 0; i < queue.length; i++) {
      const [id, depth] = queue[i]!;
      out.push({ id, parent: this.parents.get(id), depth });
      for (const c of this.childrenOf(id)) queue.push([c, depth + 1]);
    }
    return out;
  }

  /** Throws when an invariant does not hold (for tests). */
  check(): void {
    const seen = new Set<string>();
    for (const { id, depth } of this.entries()) {
      if (seen.has(id)) throw new Error(`loop at ${id}`);
      seen.add(id);
      if (depth > this.maxDepth) throw new Error(`${id} is at depth ${depth} > ${this.maxDepth}`);
      if (this.childrenOf(id).length > this.fanout) throw new Error(`${id} has ${this.childrenOf(id).length} children > ${this.fanout}`);
      for (const c of this.childrenOf(id))
        if (this.parents.get(c) !== id) throw new Error(`${c} is listed under ${id} but its parent differs`);
    }
    if (seen.size !== this.parents.size + 1)
      throw new Error(`${this.parents.size + 1 - seen.size} viewers are not reachable from the root`);
  }

  /** Puts `id` (with its subtree) under `preferred` if there is room, else in the shallowest place its subtree fits. */
  private replace(id: string, preferred: string, moved: Map<string, string>): void {
    const height = this.height(id);
    const fits = (p: string) => this.childrenOf(p).length < this.fanout && this.depthOf(p) + 1 + height <= this.maxDepth;
    const parent = fits(preferred) ? preferred : this.freePlace(height, [id]);
    if (parent !== undefined) {
      this.attach(id, parent);
      moved.set(id, parent);
      return;
    }
    // No place holds the whole subtree: place the viewer alone, then its children one by one.
    const kids = [...this.childrenOf(id)];
    this.children.set(id, []);
    for (const k of kids) this.parents.delete(k);
    const alone = this.freePlace(0, [id]);
    if (alone === undefined) throw new Error('tree over capacity');
    this.attach(id, alone);
    moved.set(id, alone);
    for (const k of kids) this.replace(k, id, moved);
  }

  /**
   * The shallowest node with a free child slot whose depth leaves room for a subtree of `height` below the new child;
   * ties go to fewer children, then to the older node (breadth-first order). Nodes inside the subtrees of `exclude` are
   * skipped.
   */
  private freePlace(height: number, exclude: string[] = []): string | undefined {
    let best: { id: string; depth: number; load: number } | undefined;
    const queue: [string, number][] = [[this.root, 0]];
    for (let i = 0; i < queue.length; i++) {
      const [id, depth] = queue[i]!;
      if (exclude.includes(id)) continue;
      if (depth + 1 + height > this.maxDepth) continue;
      const load = this.childrenOf(id).length;
      if (load < this.fanout && (!best || depth < best.depth || (depth === best.depth && load < best.load))) best = { id, depth, load };
      for (const c of this.childrenOf(id)) queue.push([c, depth + 1]);
    }
    return best?.id;
  }

  /** Height of the subtree under `id` (0 for a leaf). */
  private height(id: string): number {
    let h = 0;
    for (const c of this.childrenOf(id)) h = Math.max(h, 1 + this.height(c));
    return h;
  }

  private attach(id: string, parent: string): void {
    this.parents.set(id, parent);
    this.children.get(parent)!.push(id);
  }

  private detach(id: string): void {
    const parent = this.parents.get(id);
    if (parent === undefined) return;
    this.parents.delete(id);
    const list = this.children.get(parent)!;
    list.splice(list.indexOf(id), 1);
  }
}
