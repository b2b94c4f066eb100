import { expect, fixture, html } from '@open-wc/testing';
import '../index.js';
import type { AvChat } from '../av-chat/av-chat.js';
import type { AvFile } from '../av-file/av-file.js';
import type { AvRecorder } from '../av-recorder/av-recorder.js';
import type { AvRoom } from '../av-room/av-room.js';
import { SERVER, uniqueRoom, until } from '../test-helpers.js';

/** The ways a page goes dark: an attribute on each element, the page's colour scheme, or only its text colour. */
const DARK = {
  'theme="dark" on each element': { attr: true, style: {} },
  'color-scheme: dark on the page': { attr: false, style: { colorScheme: 'dark', background: '#121418' } },
  'only --av-color: #eee on a dark page': { attr: false, style: { '--av-color': '#eee', background: '#111' } },
} as const;

function darken(wrap: HTMLElement, how: (typeof DARK)[keyof typeof DARK]): void {
  for (const [k, v] of Object.entries(how.style))
    wrap.style.setProperty(k.startsWith('--') ? k : k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`), v);
  if (how.attr) for (const el of wrap.querySelectorAll('av-room, av-chat, av-file, av-recorder')) el.setAttribute('theme', 'dark');
}

/** A computed colour as sRGB bytes, whatever syntax the engine serialises it in (drawn on a 1x1 canvas). */
function bytes(color: string): number[] {
  const ctx = document.createElement('canvas').getContext('2d')!;
  ctx.fillStyle = color;
  ctx.fillRect(0, 0, 1, 1);
  return [...ctx.getImageData(0, 0, 1, 1).data];
}

/** axe over the whole member (every element, through their shadow roots), with the state named on failure. */
async function accessibleIn(state: string, el: HTMLElement): Promise<void> {
  try {
    await expect(el).to.be.accessible();
  } catch (e) {
    throw new Error(`${state}: ${(e as Error).message}`, { cause: e });
  }
}

describe('theming: text contrast (axe) with dark tokens, in every element and state', () => {
  it('a light text colour on a white chat fails axe here: the contrast rule sees inside our elements', async () => {
    const wrap = await fixture<HTMLDivElement>(html`<div><av-chat></av-chat></div>`);
    wrap.style.setProperty('--av-color', '#eee');
    wrap.style.setProperty('--av-chat-background', '#fff');
    const chat = wrap.querySelector<AvChat>('av-chat')!;
    await until('state text', () => chat.shadowRoot!.querySelector('.state')?.textContent, Boolean);
    await expect(wrap).not.to.be.accessible();
  });

  it('light by default; text on a page-chosen accent follows that accent', async () => {
    const wrap = await fixture<HTMLDivElement>(html`<div><av-chat></av-chat></div>`);
    const send = () => getComputedStyle(wrap.querySelector('av-chat')!.shadowRoot!.querySelector('[part~="send-button"]')!);
    expect(bytes(send().backgroundColor)).to.deep.equal([47, 111, 237, 255]);
    expect(bytes(send().color), 'white on the default accent').to.deep.equal([255, 255, 255, 255]);
    wrap.style.setProperty('--av-accent', '#ffd54f');
    expect(bytes(send().color), 'black on a yellow accent').to.deep.equal([0, 0, 0, 255]);
    wrap.style.setProperty('--av-accent', '#1b5e20');
    expect(bytes(send().color), 'white on a dark green one').to.deep.equal([255, 255, 255, 255]);
  });

  for (const [name, how] of Object.entries(DARK)) {
    it(name, async () => {
      const room = uniqueRoom('theme');
      // The pre-join view first: preview, level meter, device choices, name field, Join.
      const pre = await fixture<HTMLDivElement>(html`<div><av-room server=${SERVER} room=${room} name="Cy" prejoin></av-room></div>`);
      darken(pre, how);
      await until('pre-join view', () => pre.querySelector('av-room')!.shadowRoot!.querySelector('[part~="join-button"]'), Boolean);
      await accessibleIn('pre-join', pre);
      pre.remove();

      const wrap = await fixture<HTMLDivElement>(html`<div>
        <div class="ann">
          <av-room id="ann" server=${SERVER} room=${room} name="Ann"></av-room>
          <av-chat for="ann" history="off"></av-chat>
          <av-file for="ann"></av-file>
          <av-recorder for="ann" source="self"></av-recorder>
        </div>
        <div class="bob">
          <av-room server=${SERVER} room=${room} name="Bob" audio="off" video="off">
            <av-chat history="off"></av-chat>
            <av-file></av-file>
          </av-room>
        </div>
      </div>`);
      const annSide = wrap.querySelector<HTMLElement>('.ann')!;
      const bobSide = wrap.querySelector<HTMLElement>('.bob')!;
      darken(annSide, how);
      darken(bobSide, how);
      const [annRoom, bobRoom] = [...wrap.querySelectorAll('av-room')] as [AvRoom, AvRoom];
      const [annChat, bobChat] = [...wrap.querySelectorAll('av-chat')] as [AvChat, AvChat];
      const [annFile, bobFile] = [...wrap.querySelectorAll('av-file')] as [AvFile, AvFile];
      const recorder = wrap.querySelector<AvRecorder>('av-recorder')!;
      for (const r of [annRoom, bobRoom])
        await until(
          'in the call',
          () => [r.state, r.peers.length],
          ([s, n]) => s === 'connected' && n === 1,
        );
      await until(
        'chats bound',
        () => [annChat.session?.state, bobChat.session?.state],
        (s) => s.every((x) => x === 'connected'),
      );
      // States are the sessions' at once; what they bring is rendered in each element's next update.
      await Promise.all([annRoom, bobRoom, annChat, bobChat].map((el) => el.updateComplete));
      // The dark variant of every default, not only colours that happen to pass.
      const send = annChat.shadowRoot!.querySelector<HTMLButtonElement>('[part~="send-button"]')!;
      expect(bytes(getComputedStyle(send).backgroundColor), 'Send is drawn in the dark accent').to.deep.equal([138, 180, 255, 255]);
      expect(Math.max(...bytes(getComputedStyle(send).color).slice(0, 3)), 'black on the light accent').to.be.below(30);
      const surface = bytes(getComputedStyle(annChat).backgroundColor);
      expect(surface[3], 'the chat paints a surface').to.equal(255);
      expect(Math.max(...surface.slice(0, 3)), 'a dark one').to.be.below(40);
      await accessibleIn('in a call, empty chat', annSide);

      annChat.send('Hello from Ann, with a link: https://example.org/');
      await until(
        'Bob got it',
        () => bobChat.messages.length,
        (n) => n === 1,
      );
      bobChat.send('Hi Ann');
      await until(
        'Ann got the reply',
        () => annChat.messages.length,
        (n) => n === 2,
      );
      annFile.send([new File(['themed'], 'notes.txt', { type: 'text/plain' })]);
      await until('offer shown to Bob', () => bobFile.shadowRoot!.querySelector('[part~="accept-button"]'), Boolean);
      await accessibleIn('messages both ways, a file offered (sender)', annSide);
      await accessibleIn('messages both ways, a file offered (receiver)', bobSide);

      await annRoom.openSettings();
      await until('settings open', () => annRoom.shadowRoot!.querySelector('dialog[open] select'), Boolean);
      await accessibleIn('settings panel open', annSide);
      annRoom.shadowRoot!.querySelector<HTMLDialogElement>('dialog[open]')!.close();

      await recorder.start();
      await until(
        'recording',
        () => recorder.state,
        (s) => s === 'recording',
      );
      await accessibleIn('recording', annSide);
      await recorder.stop().catch(() => {});
      await until(
        'recorder finished',
        () => recorder.state,
        (s) => s === 'done' || s === 'error',
      );
      await accessibleIn(`recording ${recorder.state}`, annSide);

      annRoom.leave();
      await until(
        'left',
        () => annRoom.state,
        (s) => s === 'closed',
      );
      await until('Send disabled', () => annChat.shadowRoot!.querySelector<HTMLButtonElement>('[part~="send-button"]')?.disabled, Boolean);
      expect(
        recorder.shadowRoot!.querySelector<HTMLButtonElement>('[part~="start-button"]')!.disabled,
        'Record is disabled after leaving',
      ).to.equal(true);
      expect(
        recorder.shadowRoot!.querySelector<HTMLButtonElement>('[part~="snapshot-button"]')!.disabled,
        'Snapshot is disabled after leaving',
      ).to.equal(true);
      expect(
        annFile.shadowRoot!.querySelector<HTMLButtonElement>('[part~="pick-button"]')!.disabled,
        'Send files is disabled after leaving',
      ).to.equal(true);
      expect(Number(getComputedStyle(send).opacity), 'a disabled button looks disabled').to.be.below(0.6);
      await accessibleIn('after leaving', annSide);
    });
  }
});
