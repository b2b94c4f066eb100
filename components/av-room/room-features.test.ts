// <av-room>'s participants panel, pinned tiles, full screen and icons, with two real members in a room.
import { expect, fixture, html } from '@open-wc/testing';
import { a11ySnapshot, sendKeys, sendMouse } from '@web/test-runner-commands';
import '../index.js';
import type { AvRoom, PinChangeDetail } from './av-room.js';
import { SERVER, eventWithin, inFirefox, uniqueRoom, until } from '../test-helpers.js';

/** Ann and Bob in one room, each with their own attributes (no devices unless asked), side by side in `width` px. */
async function pair(annAttrs: Record<string, string> = {}, width = 760): Promise<{ wrap: HTMLElement; ann: AvRoom; bob: AvRoom }> {
  const room = uniqueRoom('features');
  const wrap = await fixture<HTMLDivElement>(html`<div style="width: ${width}px"></div>`);
  const els: AvRoom[] = [];
  for (const [name, attrs] of [
    ['Ann', { audio: 'off', video: 'off', ...annAttrs }],
    ['Bob', { audio: 'off', video: 'off' }],
  ] as const) {
    const el = document.createElement('av-room');
    for (const [k, v] of Object.entries({ server: SERVER, room, name, ...attrs })) el.setAttribute(k, v);
    wrap.append(el);
    els.push(el);
  }
  for (const el of els)
    await until(
      'connected with one peer',
      () => [el.state, el.peers.length],
      ([s, n]) => s === 'connected' && n === 1,
    );
  // The state is the session's at once; the controls it brings are rendered in the element's next update.
  await Promise.all(els.map((el) => el.updateComplete));
  const [ann, bob] = els as [AvRoom, AvRoom];
  return { wrap, ann, bob };
}

const $ = <T extends Element = HTMLElement>(el: AvRoom, selector: string) => el.shadowRoot!.querySelector<T>(selector);
const $$ = <T extends Element = HTMLElement>(el: AvRoom, selector: string) => [...el.shadowRoot!.querySelectorAll<T>(selector)];
const tileOf = (el: AvRoom, peerId: string) => $(el, `figure[data-peer-id="${peerId}"]`)!;
const entries = (el: AvRoom) => $$(el, '[part~="participant"]');
const entryOf = (el: AvRoom, name: string) => entries(el).find((li) => li.querySelector('.name')!.textContent === name);

/** A real mouse click in the middle of an element (a user gesture), after scrolling it into view. */
async function click(target: Element): Promise<void> {
  target.scrollIntoView({ block: 'center' });
  const r = target.getBoundingClientRect();
  await sendMouse({ type: 'click', position: [Math.round(r.x + r.width / 2), Math.round(r.y + r.height / 2)] });
}

/** Presses Tab until `want` has focus (at most `max` times). */
async function tabTo(el: AvRoom, want: (focused: Element | null) => boolean, max = 10): Promise<void> {
  for (let i = 0; i < max && !want(el.shadowRoot!.activeElement); i++) await sendKeys({ press: 'Tab' });
  expect(want(el.shadowRoot!.activeElement), `focus reached within ${max} Tabs`).to.equal(true);
}

interface AxNode {
  role: string;
  name?: string;
  children?: AxNode[];
}

/** Names of the buttons in the browser's accessibility tree (what a screen reader announces). */
async function accessibleButtonNames(): Promise<string[]> {
  const names: string[] = [];
  const walk = (n: AxNode) => {
    if (n.role === 'button' && n.name) names.push(n.name);
    n.children?.forEach(walk);
  };
  walk((await a11ySnapshot({})) as unknown as AxNode);
  return names;
}

describe('<av-room> participants, pin, full screen, icons', () => {
  afterEach(async () => {
    if (document.fullscreenElement) await document.exitFullscreen();
  });

  it('the participants button opens a list of both members with their status, and a mute shows in the other list', async () => {
    // Ann sends her (fake) microphone; nobody sends video.
    const { ann, bob } = await pair({ audio: 'on' });
    const annId = bob.peers[0]!.peerId;
    const button = $<HTMLButtonElement>(bob, '[part~="participants-button"]')!;
    const panel = $(bob, '[part~="participants"]')!;
    expect(button.getAttribute('aria-expanded')).to.equal('false');
    expect(panel.hidden, 'closed at first').to.equal(true);
    expect(button.querySelector('.label')!.textContent).to.equal('Participants (2)');

    button.click();
    await bob.updateComplete;
    expect(button.getAttribute('aria-expanded')).to.equal('true');
    expect(panel.hidden).to.equal(false);
    expect(panel.localName).to.equal('section');
    expect($(bob, `#${button.getAttribute('aria-controls')!}`) === panel, 'aria-controls names the panel').to.equal(true);
    expect($(bob, `#${panel.getAttribute('aria-labelledby')!}`)!.textContent).to.equal('Participants');
    expect(entries(bob).map((li) => li.querySelector('.name')!.textContent)).to.deep.equal(['Bob (you)', 'Ann']);
    // Bob sends nothing: his own entry says so. Ann's microphone is on, and her connection is measured.
    expect(entryOf(bob, 'Bob (you)')!.textContent).to.contain('microphone muted').and.contain('camera off');
    await until(
      "Ann's connection quality listed",
      () => entryOf(bob, 'Ann')!.textContent,
      (t) => t.includes('Connection good'),
    );
    expect(entryOf(bob, 'Ann')!.textContent).to.contain('camera off').and.not.contain('microphone muted');
    expect(entryOf(bob, 'Ann')!.querySelector('[part~="pin-button"]')!.getAttribute('aria-label')).to.equal('Pin Ann');
    expect(tileOf(bob, annId)).to.not.equal(null);

    ann.muted = true;
    await until(
      "Bob's list shows Ann muted",
      () => entryOf(bob, 'Ann')!.textContent,
      (t) => t.includes('microphone muted'),
    );
    await expect(bob).to.be.accessible();
  });

  it('works from the keyboard: Enter opens the list, a pin button in it pins, Escape closes it and focus goes back', async () => {
    const { bob } = await pair();
    const annId = bob.peers[0]!.peerId;
    const button = $<HTMLButtonElement>(bob, '[part~="participants-button"]')!;
    const panel = $(bob, '[part~="participants"]')!;
    button.focus();
    await sendKeys({ press: 'Enter' });
    await until(
      'opened',
      () => panel.hidden,
      (h) => !h,
    );
    const changes: (string | null)[] = [];
    bob.addEventListener('av-pin-change', (e) => changes.push((e as CustomEvent<PinChangeDetail>).detail.peerId));
    await tabTo(bob, (f) => !!f && panel.contains(f) && f.getAttribute('aria-label') === 'Pin Ann');
    await sendKeys({ press: 'Enter' });
    await until(
      'Ann pinned',
      () => bob.pinned,
      (p) => p === annId,
    );
    expect(changes).to.deep.equal([annId]);
    expect(bob.shadowRoot!.activeElement!.getAttribute('aria-label'), 'the same button, now').to.equal('Unpin Ann');

    await sendKeys({ press: 'Escape' });
    await until(
      'closed',
      () => panel.hidden,
      (h) => h,
    );
    expect(button.getAttribute('aria-expanded')).to.equal('false');
    // (Elements compared as booleans: a failing assertion with a shadow-DOM element in it loses the browser's connection.)
    expect(bob.shadowRoot!.activeElement === button, 'focus back on the participants button').to.equal(true);
    expect(bob.pinned, 'closing leaves the pin').to.equal(annId);

    // Escape on the button itself closes it too.
    await sendKeys({ press: 'Enter' });
    await until(
      'opened again',
      () => panel.hidden,
      (h) => !h,
    );
    await sendKeys({ press: 'Escape' });
    await until(
      'closed again',
      () => panel.hidden,
      (h) => h,
    );
  });

  it("a tile's pin button makes it the spotlight, first and full width, fires av-pin-change, and can pin our own tile", async () => {
    const { bob } = await pair();
    const annId = bob.peers[0]!.peerId;
    const bobId = bob.session!.peerId!;
    const annTile = tileOf(bob, annId);
    const selfTile = tileOf(bob, bobId);
    // Side by side at first.
    expect(Math.round(annTile.getBoundingClientRect().width)).to.equal(Math.round(selfTile.getBoundingClientRect().width));

    const pin = annTile.querySelector<HTMLButtonElement>('[part~="pin-button"]')!;
    expect(pin.getAttribute('aria-label')).to.equal('Pin Ann');
    // Always shown where nothing hovers (touch screens; both headless engines say so) ...
    await sendMouse({ type: 'move', position: [0, 0] });
    const opacity = () => getComputedStyle(pin).opacity;
    expect(matchMedia('(hover: none)').matches ? opacity() : '1', 'shown without hover on touch screens').to.equal('1');
    // ... and elsewhere out of sight until the pointer is over the tile or a key moves focus into it. The touch rule
    // is taken out of the (shared) style sheet for a moment to see that.
    const sheet = bob.shadowRoot!.adoptedStyleSheets.find((x) => [...x.cssRules].some((r) => r instanceof CSSMediaRule))!;
    const index = [...sheet.cssRules].findIndex((r) => r instanceof CSSMediaRule && r.conditionText.includes('hover: none'));
    expect(index, 'a rule for touch screens').to.be.at.least(0);
    const touchRule = sheet.cssRules[index]!.cssText;
    sheet.deleteRule(index);
    try {
      await until('pin button hidden', opacity, (o) => o === '0');
      pin.focus();
      await until('pin button shown on keyboard focus', opacity, (o) => o === '1');
      pin.blur();
      await until('hidden again', opacity, (o) => o === '0');
      annTile.scrollIntoView({ block: 'center' });
      const r = annTile.getBoundingClientRect();
      await sendMouse({ type: 'move', position: [Math.round(r.x + r.width / 2), Math.round(r.y + r.height / 2)] });
      await until('pin button shown on hover', opacity, (o) => o === '1');
    } finally {
      sheet.insertRule(touchRule, index);
    }
    const changed = eventWithin<PinChangeDetail>(bob, 'av-pin-change', 2000);
    await click(pin);
    const e = await changed;
    expect(e.detail).to.deep.equal({ peerId: annId });
    expect(e.bubbles && e.composed).to.equal(true);
    expect(bob.pinned).to.equal(annId);
    expect(bob.getAttribute('pinned'), 'reflected').to.equal(annId);
    await bob.updateComplete;
    expect(pin.getAttribute('aria-label')).to.equal('Unpin Ann');
    const a = annTile.getBoundingClientRect();
    const s = selfTile.getBoundingClientRect();
    expect(a.width, 'the pinned tile is wider').to.be.greaterThan(s.width * 1.5);
    expect(a.bottom, 'and above the other').to.be.at.most(s.top + 1);

    // Our own tile can be pinned too (by our peer id); the other one is then unpinned.
    const ownPin = selfTile.querySelector('[part~="pin-button"]')!;
    expect(ownPin.getAttribute('aria-label')).to.equal('Pin Bob (you)');
    const changedAgain = eventWithin<PinChangeDetail>(bob, 'av-pin-change', 2000);
    await click(ownPin);
    expect((await changedAgain).detail.peerId).to.equal(bobId);
    await bob.updateComplete;
    expect(selfTile.getBoundingClientRect().width).to.be.greaterThan(annTile.getBoundingClientRect().width * 1.5);
    expect(pin.getAttribute('aria-label')).to.equal('Pin Ann');

    const unpinned = eventWithin<PinChangeDetail>(bob, 'av-pin-change', 2000);
    await click(ownPin);
    expect((await unpinned).detail.peerId).to.equal(null);
    expect(bob.hasAttribute('pinned')).to.equal(false);
    await bob.updateComplete;
    expect(Math.round(annTile.getBoundingClientRect().width)).to.equal(Math.round(selfTile.getBoundingClientRect().width));
  });

  it('the pin is cleared (with av-pin-change) when the pinned member leaves; a pin set by the page fires nothing', async () => {
    const { ann, bob } = await pair();
    const annId = bob.peers[0]!.peerId;
    const changes: (string | null)[] = [];
    bob.addEventListener('av-pin-change', (e) => changes.push((e as CustomEvent<PinChangeDetail>).detail.peerId));
    bob.setAttribute('pinned', annId);
    await bob.updateComplete;
    expect(tileOf(bob, annId).closest('li')!.classList.contains('pinned')).to.equal(true);
    expect(changes, 'nothing fired for a pin the page set').to.deep.equal([]);
    const cleared = eventWithin<PinChangeDetail>(bob, 'av-pin-change', 10_000);
    ann.remove();
    expect((await cleared).detail.peerId).to.equal(null);
    expect(bob.pinned).to.equal('');
    expect(bob.hasAttribute('pinned')).to.equal(false);
  });

  it("a tile's full-screen button shows that tile full screen, with the whole picture, and the button exits it", async () => {
    const { bob } = await pair({ video: 'on' });
    const annId = bob.peers[0]!.peerId;
    const tile = tileOf(bob, annId);
    const button = tile.querySelector<HTMLButtonElement>('[part~="fullscreen-button"]')!;
    expect(document.fullscreenEnabled, 'full screen is allowed here').to.equal(true);
    expect(button.getAttribute('aria-label')).to.equal('Full screen');
    expect(button.querySelector('svg.icon')).to.not.equal(null);
    let requested = 0;
    const request = tile.requestFullscreen.bind(tile);
    tile.requestFullscreen = (options?: FullscreenOptions) => {
      requested++;
      return request(options);
    };
    await click(button);
    expect(requested, 'requestFullscreen called on the tile').to.equal(1);
    // Both engines do it, headless too.
    await until(
      "Ann's tile is the element's full-screen element",
      () => bob.shadowRoot!.fullscreenElement,
      (f) => f === tile,
    );
    expect(document.fullscreenElement === bob, 'the document sees the host').to.equal(true);
    await until(
      'the button says Exit',
      () => button.getAttribute('aria-label'),
      (l) => l === 'Exit full screen',
    );
    expect(getComputedStyle(tile.querySelector('video')!).objectFit).to.equal('contain');
    button.focus();
    await sendKeys({ press: 'Enter' });
    await until(
      'left full screen',
      () => document.fullscreenElement,
      (f) => f === null,
    );
    await until(
      'the button says Full screen again',
      () => button.getAttribute('aria-label'),
      (l) => l === 'Full screen',
    );
    expect(getComputedStyle(tile.querySelector('video')!).objectFit).to.equal('cover');

    // The document listener goes with the element.
    const removed: string[] = [];
    const remove = document.removeEventListener.bind(document);
    document.removeEventListener = (type: string, ...rest: [EventListenerOrEventListenerObject, boolean?]) => {
      removed.push(type);
      remove(type, ...rest);
    };
    try {
      bob.remove();
    } finally {
      document.removeEventListener = remove;
    }
    expect(removed).to.include('fullscreenchange');
  });

  it('the control buttons have icons and keep their accessible names; narrow, they become round icon buttons', async () => {
    const { wrap, bob } = await pair();
    const controls = $$<HTMLButtonElement>(bob, '[part~="controls"] button');
    const expected = ['Mute microphone', 'Turn camera off', 'Share screen', 'Participants (2)', 'Settings', 'Leave'];
    // Firefox has getDisplayMedia too; the share button is there in both engines.
    expect(controls.map((b) => b.querySelector('.label')!.textContent.trim())).to.deep.equal(expected);
    for (const b of controls) {
      const svg = b.querySelector('svg.icon')!;
      expect(svg, `${b.textContent} has an icon`).to.not.equal(null);
      expect([svg.getAttribute('aria-hidden'), svg.getAttribute('focusable'), svg.getAttribute('viewBox')]).to.deep.equal([
        'true',
        'false',
        '0 0 24 24',
      ]);
      expect(getComputedStyle(svg).stroke, 'drawn in currentColor').to.equal(getComputedStyle(b).color);
    }
    for (const b of $$(bob, '.tile [part~="pin-button"], .tile [part~="fullscreen-button"]'))
      expect(b.querySelector('svg.icon')).to.not.equal(null);

    const names = async () => {
      // Firefox is driven over WebDriver BiDi, and puppeteer's accessibility snapshot needs CDP: there the name is
      // taken as the accessible-name computation does for these buttons, from the text outside aria-hidden.
      if (inFirefox)
        return controls.map((b) => {
          const copy = b.cloneNode(true) as HTMLElement;
          copy.querySelectorAll('[aria-hidden="true"]').forEach((n) => n.remove());
          return copy.textContent.trim();
        });
      const all = await accessibleButtonNames();
      return expected.filter((n) => all.includes(n));
    };
    expect(await names(), 'accessible names, wide').to.deep.equal(expected);
    const label = controls[0]!.querySelector('.label')!;
    expect(label.getBoundingClientRect().width, 'text shown when wide').to.be.greaterThan(20);

    wrap.style.width = '320px';
    await until(
      'text hidden visually when narrow',
      () => label.getBoundingClientRect().width,
      (w) => w <= 1,
    );
    for (const b of controls) {
      const r = b.getBoundingClientRect();
      expect(r.width, `${b.textContent} at least 44 px wide`).to.be.at.least(44);
      expect(r.height, `${b.textContent} at least 44 px tall`).to.be.at.least(44);
      expect(Math.abs(r.width - r.height), 'round').to.be.below(1);
    }
    expect(await names(), 'accessible names, narrow').to.deep.equal(expected);
    expect(getComputedStyle($(bob, '[part~="participants-button"] .count')!).display, 'the count shows on the icon').to.not.equal('none');
  });
});
