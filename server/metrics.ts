import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** The server's Prometheus metrics (`GET /metrics`), one registry per server so several can live in one process. */
export class Metrics {
  readonly registry = new Registry();
  readonly members: Gauge;
  readonly rooms: Gauge;
  readonly signalling: Gauge;
  readonly joins: Counter<'result'>;
  readonly authFailures: Counter;
  /** Signalling messages PeerServer never saw, by why. */
  readonly signallingDropped: Counter<'reason'>;
  /** Sockets we closed, by why (rate, invalid frames, join timeout, address cap, slow reader…). */
  readonly socketsCut: Counter<'socket' | 'reason'>;

  constructor(read: { members: () => number; rooms: () => number; signalling: () => number }) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'av_' });
    /** A gauge read when scraped. */
    const gauge = (name: string, help: string, value: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(value());
        },
      });
    this.members = gauge('av_members', 'Members in rooms on this server', read.members);
    this.rooms = gauge('av_rooms', 'Rooms with members on this server', read.rooms);
    this.signalling = gauge('av_signalling_sockets', 'Open PeerServer signalling sockets', read.signalling);
    this.joins = new Counter({ name: 'av_joins_total', help: 'Room joins by result', labelNames: ['result'], registers });
    this.authFailures = new Counter({ name: 'av_auth_failures_total', help: 'Joins refused for credentials', registers });
    this.signallingDropped = new Counter({
      name: 'av_signalling_dropped_total',
      help: "Signalling messages dropped before PeerServer (not a member of the sender's room, malformed, unknown type)",
      labelNames: ['reason'],
      registers,
    });
    this.socketsCut = new Counter({
      name: 'av_sockets_cut_total',
      help: 'Sockets closed by the server for a reason',
      labelNames: ['socket', 'reason'],
      registers,
    });
  }
}
