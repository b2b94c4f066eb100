import { expect, fixture, html } from '@open-wc/testing';
import { sendKeys } from '@web/test-runner-commands';
import '../index.js';
import type { AvChat, ChatSendDetail } from './av-chat.js';
import type { AvRoom } from '../av-room/av-room.js';
import { SERVER, uniqueRoom, until } from '../test-helpers.js';

async function pair() {
  const room = uniqueRoom('chat');
  const wrap = await fixture<HTMLDivElement>(html`<div>
    <av-room id="r1" server=${SERVER} room=${room} name="Ann" audio="off" video="off"></av-room>
    <av-chat for="r1" history="off"></av-chat>
    <av-room server=${SERVER} room=${room} name="Bob" audio="off" video="off"><av-chat history="off"></av-chat></av-room>
  </div>`);
  const [ann, bob] = [...wrap.querySelectorAll('av-chat')] as [AvChat, AvChat];
  const rooms = [...wrap.querySelectorAll('av-room')] as AvRoom[];
  for (const r of rooms)
    await until(
      'room connected with a peer',
      () => [r.state, r.peers.length],
      ([s, n]) => s === 'connected' && n === 1,
    );
  for (const c of [ann, bob])
    await until(
      'chat bound',
      () => c.session?.state,
      (s) => s === 'connected',
    );
  // States are the sessions' at once; what they bring is rendered in each element's next update.
  await Promise.all([...rooms, ann, bob].map((el) => el.updateComplete));
  return { ann, bob, rooms };
}

describe('<av-chat>', () => {
  it('beside (for=) and nested in a room: Enter sends, Shift+Enter is a new line, delivery is acknowledged', async () => {
    const { ann, bob } = await pair();
    const input = ann.shadowRoot!.querySelector('textarea')!;
    input.focus();
    await sendKeys({ type: 'first line' });
    await sendKeys({ down: 'Shift' });
    await sendKeys({ press: 'Enter' });
    await sendKeys({ up: 'Shift' });
    await sendKeys({ type: 'second line' });
    await sendKeys({ press: 'Enter' });
    await until(
      'Bob got it',
      () => bob.messages.length,
      (n) => n === 1,
    );
    expect(bob.messages[0]!.text).to.equal('first line\nsecond line');
    expect(bob.messages[0]!.name).to.equal('Ann');
    expect(input.value).to.equal('');
    await until(
      'delivered',
      () => ann.messages[0]?.status,
      (s) => s === 'delivered',
    );
    await until(
      'rendered',
      () => ann.shadowRoot!.querySelector('[part~="status"]')?.textContent,
      (t) => t === 'delivered',
    );
  });

  it('av-chat-send can rewrite or veto; av-chat-message fires for incoming; clear() empties', async () => {
    const { ann, bob } = await pair();
    ann.addEventListener('av-chat-send', (e) => {
      const ev = e as CustomEvent<ChatSendDetail>;
      if (ev.detail.text.includes('secret')) ev.preventDefault();
      else ev.detail.text = ev.detail.text.toUpperCase();
    });
    const incoming: string[] = [];
    bob.addEventListener('av-chat-message', (e) => incoming.push((e as CustomEvent).detail.message.text));
    expect(ann.send('the secret plan')).to.equal(undefined);
    ann.send('hello');
    await until(
      'Bob got the rewritten one',
      () => incoming,
      (m) => m.length === 1,
    );
    expect(incoming).to.deep.equal(['HELLO']);
    expect(() => ann.send('x'.repeat(4001))).to.throw(RangeError);
    ann.clear();
    expect(ann.messages).to.have.length(0);
  });

  it('is accessible, with named controls', async () => {
    const { ann } = await pair();
    ann.send('hi');
    await until(
      'rendered',
      () => ann.shadowRoot!.querySelectorAll('[part~="message"]').length,
      (n) => n === 1,
    );
    await expect(ann).to.be.accessible();
    const named = [...ann.shadowRoot!.querySelectorAll('textarea, select, button')].map(
      (el) => el.getAttribute('aria-label') || el.textContent.trim(),
    );
    expect(named.every(Boolean)).to.equal(true);
  });

  it('shows the newest max-shown messages, keeps the rest in .messages, and "show earlier" adds more', async () => {
    const { ann, bob } = await pair();
    ann.maxShown = 5;
    const shown = () => [...ann.shadowRoot!.querySelectorAll('[part~="message"] [part~="text"]')].map((t) => t.textContent);
    for (let i = 0; i < 12; i++) bob.send(`m${i}`);
    await until(
      'Ann got all 12',
      () => ann.messages.length,
      (n) => n === 12,
    );
    await until('Ann shows the newest 5', shown, (t) => t.length === 5 && t[4] === 'm11');
    expect(shown()).to.deep.equal(['m7', 'm8', 'm9', 'm10', 'm11']);
    const earlier = ann.shadowRoot!.querySelector<HTMLButtonElement>('[part="earlier"]')!;
    expect(earlier.textContent).to.contain('7');
    await expect(ann).to.be.accessible();
    earlier.click();
    await until('5 more shown', shown, (t) => t.length === 10);
    expect(shown()[0]).to.equal('m2');
  });

  it('a standalone chat joins on its own and releases its session when removed', async () => {
    const room = uniqueRoom('solo');
    const el = await fixture<AvChat>(html`<av-chat server=${SERVER} room=${room} name="Solo" history="off"></av-chat>`);
    await until(
      'connected',
      () => el.session?.state,
      (s) => s === 'connected',
    );
    const session = el.session!;
    el.remove();
    await until(
      'session closed',
      () => session.state,
      (s) => s === 'closed',
    );
  });
});
