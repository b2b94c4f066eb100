import { expect } from '@open-wc/testing';
import type { Peer } from 'peerjs';
import { SignallingGate, sendWhenOpen } from './signalling-gate.js';

/** Stands in for PeerJS's Peer: only the one method the gate wraps (a pure unit: no network here). */
interface Msg {
  type: string;
  src?: string;
  payload?: { type: string; serialization?: string };
}

function fakePeer() {
  const handled: Msg[] = [];
  const peer = { _handleMessage: (m: Msg) => handled.push(m) };
  return { peer: peer as unknown as Peer, handled, receive: (m: Msg) => peer._handleMessage(m) };
}

function recordingLog() {
  const warnings: string[] = [];
  const log = { error() {}, info() {}, debug() {}, warn: (...a: unknown[]) => warnings.push(a.join(' ')) };
  return { log, warnings };
}

describe('SignallingGate', () => {
  it('passes server messages and messages from members; holds others until the room announces them', () => {
    const members = new Set(['member-1']);
    const { log } = recordingLog();
    const gate = new SignallingGate((id) => members.has(id), log);
    const { peer, handled, receive } = fakePeer();
    gate.guard(peer);
    receive({ type: 'OPEN' });
    receive({ type: 'OFFER', src: 'member-1' });
    receive({ type: 'OFFER', src: 'newcomer' });
    receive({ type: 'CANDIDATE', src: 'newcomer' });
    expect(handled.map((m) => `${m.type} ${m.src ?? ''}`)).to.deep.equal(['OPEN ', 'OFFER member-1']);
    members.add('newcomer');
    gate.admit('newcomer');
    expect(handled.map((m) => `${m.type} ${m.src ?? ''}`)).to.deep.equal([
      'OPEN ',
      'OFFER member-1',
      'OFFER newcomer',
      'CANDIDATE newcomer',
    ]);
    gate.destroy();
  });

  it('drops data connections that are not raw, even from members (PeerJS would build them with serializers we cut)', () => {
    const { log, warnings } = recordingLog();
    const gate = new SignallingGate(() => true, log);
    const { peer, handled, receive } = fakePeer();
    gate.guard(peer);
    for (const serialization of ['binary', 'json', 'toString', undefined, 'raw']) {
      receive({ type: 'OFFER', src: 'member-1', payload: { type: 'data', serialization } });
    }
    receive({ type: 'OFFER', src: 'member-1', payload: { type: 'media' } });
    expect(handled.map((m) => m.payload?.serialization ?? m.payload?.type)).to.deep.equal(['raw', 'media']);
    expect(warnings.filter((w) => w.includes('not raw'))).to.have.length(1);
    gate.destroy();
  });

  it('never hands an outsider to PeerJS, and logs it once', () => {
    const { log, warnings } = recordingLog();
    const gate = new SignallingGate(() => false, log);
    const { peer, handled, receive } = fakePeer();
    gate.guard(peer);
    // More ids than it holds at once: the extra ones are refused at once.
    for (let i = 0; i < 40; i++) for (const type of ['OFFER', 'CANDIDATE', 'LEAVE']) receive({ type, src: `outsider-${i % 20}` });
    gate.admit('outsider-1');
    expect(handled).to.have.length(0);
    expect(warnings.filter((w) => w.includes('outsider-19'))).to.have.length(1);
    gate.destroy();
  });

  it('sendWhenOpen: what a peer sends while its socket opens waits in the PeerJS queue, sent in order on open', () => {
    // Stands in for PeerJS's socket: its own send drops everything while the WebSocket is not open.
    const sent: unknown[] = [];
    const ws = { readyState: WebSocket.CONNECTING as number };
    const socket = {
      _socket: ws,
      _messagesQueue: [] as unknown[],
      send(data: unknown) {
        if (ws.readyState === WebSocket.OPEN) sent.push(data);
      },
    };
    sendWhenOpen({ socket } as unknown as Peer);
    socket.send({ type: 'OFFER', n: 1 });
    socket.send({ type: 'CANDIDATE', n: 2 });
    expect(sent).to.have.length(0);
    expect(socket._messagesQueue).to.have.length(2);
    // What PeerJS does when the socket opens: its queue goes out through `send`, in order.
    ws.readyState = WebSocket.OPEN;
    for (const m of socket._messagesQueue.splice(0)) socket.send(m);
    socket.send({ type: 'CANDIDATE', n: 3 });
    expect(sent.map((m) => (m as { n: number }).n)).to.deep.equal([1, 2, 3]);
    // A closed socket is PeerJS's own business again (it drops, as before).
    ws.readyState = WebSocket.CLOSED;
    socket.send({ type: 'CANDIDATE', n: 4 });
    expect(socket._messagesQueue).to.have.length(0);
  });
});
