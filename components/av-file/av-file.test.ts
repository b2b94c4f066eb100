import { expect, fixture, html } from '@open-wc/testing';
import '../index.js';
import type { AvFile } from './av-file.js';
import type { AvRoom } from '../av-room/av-room.js';
import { SERVER, uniqueRoom, until } from '../test-helpers.js';

describe('<av-file>', () => {
  it('offers, accepts by button, verifies, and is accessible', async () => {
    const room = uniqueRoom('files');
    const wrap = await fixture<HTMLDivElement>(html`<div>
      <av-room server=${SERVER} room=${room} name="Ann" audio="off" video="off"><av-file></av-file></av-room>
      <av-room server=${SERVER} room=${room} name="Bob" audio="off" video="off"><av-file></av-file></av-room>
    </div>`);
    const rooms = [...wrap.querySelectorAll('av-room')] as AvRoom[];
    const [ann, bob] = [...wrap.querySelectorAll('av-file')] as [AvFile, AvFile];
    for (const r of rooms)
      await until(
        'p2p',
        () => r.peers[0]?.path,
        (p) => p === 'p2p',
      );
    const offers: string[] = [];
    bob.addEventListener('av-file-offer', (e) => offers.push((e as CustomEvent).detail.transfer.name));
    const received = new Promise<File>((resolve) =>
      bob.addEventListener('av-file-received', (e) => resolve((e as CustomEvent).detail.file)),
    );
    ann.send([new File(['hello files'], 'hello.txt', { type: 'text/plain' })]);
    const accept = await until('accept button', () => bob.shadowRoot!.querySelector<HTMLButtonElement>('[part~="accept-button"]'), Boolean);
    expect(offers).to.deep.equal(['hello.txt']);
    await expect(bob).to.be.accessible();
    accept!.click();
    const file = await received;
    expect(await file.text()).to.equal('hello files');
    await until(
      'save link',
      () => bob.shadowRoot!.querySelector('a[download]')?.getAttribute('download'),
      (d) => d === 'hello.txt',
    );
    await until(
      'sender done',
      () => ann.transfers[0]?.state,
      (s) => s === 'done',
    );
    await expect(ann).to.be.accessible();
  });
});
