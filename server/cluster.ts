import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { MediaState, Role } from '../components/core/room-protocol.js';
import type { Logger } from './log.js';

/** A member as every node of a cluster knows it (the room hash in Redis holds one per member). */
export interface MemberRecord {
  peerId: string;
  name: string;
  media: MediaState;
  role: Role;
  identity?: string;
  /** The node whose sockets the member uses. */
  node: string;
  /** When this join happened; a leave names it, so an old join's leave never removes a newer one. */
  joinedAt: number;
}

/** What nodes tell each other about a room (on `av:r:<room>`), about a member wherever it is, or to one node. */
export type ClusterEvent =
  | { t: 'join'; member: MemberRecord; resumed: boolean }
  | { t: 'leave'; peerId: string; joinedAt: number; reason: string }
  | { t: 'update'; peerId: string; media: MediaState }
  | { t: 'relay'; from: string; to: string; text: string; except?: string[] }
  /** The room's forwarding tree changed: its new version (as stored in Redis). */
  | { t: 'tree'; text: string }
  | { t: 'app'; text: string }
  | { t: 'close'; reason: string }
  | { t: 'kick'; peerId: string; reason: string }
  | { t: 'mute'; peerId: string; by: string }
  | { t: 'send'; peerId: string; text: string }
  | { t: 'signal'; dst: string; text: string };

type Envelope = { node: string; room?: string; event: ClusterEvent };

const P = 'av:';
const roomKey = (room: string) => `${P}room:${room}`;
const configKey = (room: string) => `${P}roomcfg:${room}`;
const treeKey = (room: string) => `${P}tree:${room}`;
const MEMBERS = `${P}members`;
const NODES = `${P}nodes`;
const nodeKey = (node: string) => `${P}node:${node}`;
const roomChannel = (room: string) => `${P}r:${room}`;
const nodeChannel = (node: string) => `${P}n:${node}`;
const ALL = `${P}all`;
/** A node is alive while its key exists: refreshed every second, gone 5 s after the last refresh. */
const NODE_TTL_MS = 5000;
const HEARTBEAT_MS = 1000;

/**
 * Join, atomically: limits count only members on live nodes (a dead node's members are on their way elsewhere), a
 * returning member (same peer id) replaces its old entry. Returns `{'ok', previous, size before, maxP, maxV}` or
 * `{'full', limit}`.
 */
const JOIN = `
local prev = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSETNX', KEYS[2], 'maxParticipants', ARGV[4])
redis.call('HSETNX', KEYS[2], 'maxViewers', ARGV[5])
local mp = tonumber(redis.call('HGET', KEYS[2], 'maxParticipants'))
local mv = tonumber(redis.call('HGET', KEYS[2], 'maxViewers'))
local alive = {}
for i = 7, #ARGV do alive[ARGV[i]] = true end
local size = redis.call('HLEN', KEYS[1])
if not prev then
  local viewer = ARGV[3] == 'viewer'
  local n = 0
  for _, v in ipairs(redis.call('HVALS', KEYS[1])) do
    local r = cjson.decode(v)
    if alive[r.node] and ((r.role == 'viewer') == viewer) then n = n + 1 end
  end
  local limit = viewer and mv or mp
  if n >= limit then return {'full', tostring(limit)} end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[6])
return {'ok', prev or '', tostring(size), tostring(mp), tostring(mv)}
`;

/** Leave, only if the entry is still that join (node and time); the room's keys go with its last member. */
const LEAVE = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return 0 end
local r = cjson.decode(cur)
if r.node ~= ARGV[2] or tostring(r.joinedAt) ~= ARGV[3] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
if redis.call('HLEN', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[4])
  return 2
end
return 1
`;

/** Stores a room's tree only if the stored one is still version ARGV[1] (compare and set: nodes change it in turn). */
const SET_TREE = `
local cur = redis.call('GET', KEYS[1])
local v = 0
if cur then v = cjson.decode(cur).v end
if v ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
`;

const UPDATE = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return 0 end
local r = cjson.decode(cur)
r.media = cjson.decode(ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(r))
return 1
`;

type Commands = {
  avJoin(room: string, cfg: string, members: string, ...args: string[]): Promise<string[]>;
  avLeave(room: string, cfg: string, members: string, tree: string, peerId: string, node: string, joinedAt: string): Promise<number>;
  avSetTree(key: string, version: string, json: string): Promise<number>;
  avUpdate(room: string, peerId: string, media: string): Promise<number>;
};

export interface ClusterHandlers {
  /** An event from another node about a room this node subscribed to, or about any member. */
  event(room: string | undefined, event: ClusterEvent): void;
}

/**
 * One node's link to the cluster: room membership in Redis hashes (atomic joins and leaves in Lua), node liveness
 * keys, and pub/sub for what nodes tell each other. Rooms are not pinned to nodes: members of one room may be on any
 * nodes, and signalling between them is routed through their nodes' channels.
 */
export class Cluster {
  readonly node: string;
  private readonly redis: Redis & Commands;
  private readonly sub: Redis;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly rooms = new Set<string>();
  private closed = false;

  constructor(
    url: string,
    private readonly handlers: ClusterHandlers,
    private readonly logger: Logger,
    node?: string,
  ) {
    // Unique per process: a named node that restarts is a new node (its old life's members are reaped like any dead node's).
    this.node = `${node ?? 'node'}-${randomUUID().slice(0, 6)}`;
    const options = {
      lazyConnect: true,
      maxRetriesPerRequest: 2,
      enableOfflineQueue: true,
      retryStrategy: (n: number) => Math.min(200 * n, 2000),
    };
    this.redis = new Redis(url, options) as Redis & Commands;
    this.sub = new Redis(url, options);
    this.redis.defineCommand('avJoin', { numberOfKeys: 3, lua: JOIN });
    this.redis.defineCommand('avLeave', { numberOfKeys: 4, lua: LEAVE });
    this.redis.defineCommand('avSetTree', { numberOfKeys: 1, lua: SET_TREE });
    this.redis.defineCommand('avUpdate', { numberOfKeys: 1, lua: UPDATE });
    for (const r of [this.redis, this.sub]) r.on('error', (err: Error) => this.logger.warn({ err: err.message }, 'redis error'));
    this.sub.on('message', (channel: string, text: string) => this.onMessage(channel, text));
  }

  /** The client for other well-kept libraries that take one (the lockout's rate limiter). */
  get client(): Redis {
    return this.redis;
  }

  async start(): Promise<void> {
    await Promise.all([this.redis.connect(), this.sub.connect()]);
    await this.sub.subscribe(nodeChannel(this.node), ALL);
    await this.beat();
    this.heartbeat = setInterval(() => void this.beat().catch(() => {}), HEARTBEAT_MS);
    this.heartbeat.unref();
    this.logger.info({ node: this.node }, 'joined the cluster');
  }

  private async beat(): Promise<void> {
    await this.redis.multi().set(nodeKey(this.node), '1', 'PX', NODE_TTL_MS).sadd(NODES, this.node).exec();
  }

  /** The nodes alive now (their key has not expired); dead ones are dropped from the set. */
  async liveNodes(): Promise<Set<string>> {
    const nodes = await this.redis.smembers(NODES);
    if (nodes.length === 0) return new Set([this.node]);
    const exists = await this.redis.mget(nodes.map(nodeKey));
    const alive = new Set(nodes.filter((_, i) => exists[i] !== null));
    const dead = nodes.filter((n) => !alive.has(n));
    if (dead.length) await this.redis.srem(NODES, ...dead);
    alive.add(this.node);
    return alive;
  }

  /** Starts hearing a room's events (before reading its roster, so nothing falls between). */
  async watch(room: string): Promise<MemberRecord[]> {
    if (!this.rooms.has(room)) {
      this.rooms.add(room);
      await this.sub.subscribe(roomChannel(room));
    }
    return this.roster(room);
  }

  async unwatch(room: string): Promise<void> {
    if (!this.rooms.delete(room)) return;
    await this.sub.unsubscribe(roomChannel(room)).catch(() => {});
  }

  async roster(room: string): Promise<MemberRecord[]> {
    const all = await this.redis.hvals(roomKey(room));
    return all.flatMap((v) => {
      try {
        return [JSON.parse(v) as MemberRecord];
      } catch {
        return [];
      }
    });
  }

  async join(room: string, member: MemberRecord, limits: { maxParticipants: number; maxViewers: number }) {
    const alive = await this.liveNodes();
    const [status, a, b, c, d] = await this.redis.avJoin(
      roomKey(room),
      configKey(room),
      MEMBERS,
      member.peerId,
      JSON.stringify(member),
      member.role,
      String(limits.maxParticipants),
      String(limits.maxViewers),
      room,
      ...alive,
    );
    if (status === 'full') return { ok: false as const, limit: Number(a) };
    return {
      ok: true as const,
      previous: a ? (JSON.parse(a) as MemberRecord) : undefined,
      opened: Number(b) === 0,
      maxParticipants: Number(c),
      maxViewers: Number(d),
    };
  }

  /** Removes that join of the member; 0 when it was not there (already gone, or replaced), 1 removed, 2 room emptied. */
  leave(room: string, peerId: string, node: string, joinedAt: number): Promise<number> {
    return this.redis.avLeave(roomKey(room), configKey(room), MEMBERS, treeKey(room), peerId, node, String(joinedAt));
  }

  /** The room's forwarding tree as stored (JSON with a version `v`), or null when it has none. */
  getTree(room: string): Promise<string | null> {
    return this.redis.get(treeKey(room));
  }

  /** Stores the room's tree if the stored one is still `version` (0: none); false when another node changed it first. */
  async setTree(room: string, version: number, json: string): Promise<boolean> {
    return (await this.redis.avSetTree(treeKey(room), String(version), json)) === 1;
  }

  async update(room: string, peerId: string, media: MediaState): Promise<void> {
    await this.redis.avUpdate(roomKey(room), peerId, JSON.stringify(media));
  }

  /** Which room a member is in, wherever it is. */
  async roomOf(peerId: string): Promise<string | undefined> {
    return (await this.redis.hget(MEMBERS, peerId)) ?? undefined;
  }

  async roomSize(room: string): Promise<number> {
    return this.redis.hlen(roomKey(room));
  }

  publishRoom(room: string, event: ClusterEvent): void {
    this.publish(roomChannel(room), { node: this.node, room, event });
  }

  publishNode(node: string, event: ClusterEvent): void {
    this.publish(nodeChannel(node), { node: this.node, event });
  }

  publishAll(event: ClusterEvent, room?: string): void {
    this.publish(ALL, { node: this.node, ...(room ? { room } : {}), event });
  }

  private publish(channel: string, envelope: Envelope): void {
    if (this.closed) return;
    this.redis
      .publish(channel, JSON.stringify(envelope))
      .catch((err: Error) => this.logger.warn({ err: err.message, channel }, 'publish failed'));
  }

  private onMessage(_channel: string, text: string): void {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(text) as Envelope;
    } catch {
      return;
    }
    // What this node published it has already done locally.
    if (envelope.node === this.node && envelope.event.t !== 'send' && envelope.event.t !== 'kick' && envelope.event.t !== 'mute') return;
    try {
      this.handlers.event(envelope.room, envelope.event);
    } catch (err) {
      this.logger.error({ err: String(err) }, 'cluster event handler failed');
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    await this.redis
      .multi()
      .del(nodeKey(this.node))
      .srem(NODES, this.node)
      .exec()
      .catch(() => {});
    this.sub.disconnect();
    this.redis.disconnect();
  }
}
