import { expect, fixture, html } from '@open-wc/testing';
import { sendKeys } from '@web/test-runner-commands';
import '../index.js';
import type { AvRoom } from './av-room.js';
import { SERVER, eventWithin, inbound, uniqueRoom, until } from '../test-helpers.js';

async function twoInOneRoom() {
  const room = uniqueRoom('pair');
  const wrap = await fixture<HTMLDivElement>(html`<div>
    <section id="a"><av-room server=${SERVER} room=${room} name="Ann"></av-room></section>
    <section id="b"><av-room server=${SERVER} room=${room} name="Bob"></av-room></section>
  </div>`);
  const [ann, bob] = [...wrap.querySelectorAll('av-room')] as [AvRoom, AvRoom];
  for (const el of [ann, bob])
    await until(
      'connected with one peer',
      () => [el.state, el.peers.length],
      ([s, n]) => s === 'connected' && n === 1,
    );
  // The state is the session's at once; the controls it brings are rendered in the element's next update.
  await Promise.all([ann, bob].map((el) => el.updateComplete));
  return { wrap, ann, bob };
}

/** The other member's media, proven by getStats and the video element, rising over ~1.5 s. */
async function expectMediaFlowing(el: AvRoom) {
  const peerId = el.peers[0]!.peerId;
  const first = await until(
    'remote frames decoded',
    () => inbound(el.session!, peerId),
    (s) => s.framesDecoded > 0 && s.audioPackets > 0,
  );
  const video = await until(
    'remote video has a size',
    () => el.shadowRoot!.querySelector<HTMLVideoElement>('video.remote'),
    (v) => !!v && v.videoWidth > 0,
  );
  await new Promise((r) => setTimeout(r, 1500));
  const later = await inbound(el.session!, peerId);
  expect(later.framesDecoded, 'framesDecoded rises').to.be.greaterThan(first.framesDecoded);
  expect(later.audioPackets, 'audio packets rise').to.be.greaterThan(first.audioPackets);
  expect(video!.videoWidth).to.be.greaterThan(0);
}

describe('<av-room>', () => {
  it('two elements in one page call each other: video and audio flow both ways', async () => {
    const { ann, bob } = await twoInOneRoom();
    await expectMediaFlowing(ann);
    await expectMediaFlowing(bob);
    expect(ann.getAttribute('state')).to.equal('connected');
    expect(ann.shadowRoot!.querySelector('figure.remote figcaption')!.textContent).to.contain('Bob');
  });

  it('re-rendering leaves the playing videos alone (no reload, no flicker)', async () => {
    const { ann } = await twoInOneRoom();
    await expectMediaFlowing(ann);
    const videos = [...ann.shadowRoot!.querySelectorAll('video')];
    expect(videos.length, 'self-view and remote video').to.equal(2);
    const reloads: string[] = [];
    for (const v of videos) v.addEventListener('emptied', () => reloads.push(v.className || 'self'));
    // What a call does all the time: speaking, quality and roster updates each render the element again.
    for (let i = 0; i < 5; i++) {
      ann.requestUpdate();
      await ann.updateComplete;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(reloads, 'videos reloaded by a render').to.deep.equal([]);
    for (const v of videos) expect(v.paused, `${v.className || 'self'} video playing`).to.equal(false);
  });

  it('removing an element stops its tracks and the other side gets av-peer-leave within 5 s', async () => {
    const { ann, bob } = await twoInOneRoom();
    await expectMediaFlowing(bob);
    const tracks = ann.session!.localStream.getTracks();
    expect(tracks.length).to.equal(2);
    const left = eventWithin<{ peerId: string; name: string }>(bob, 'av-peer-leave', 5000);
    const leaveEvent = eventWithin<{ reason: string }>(ann, 'av-room-leave', 1000);
    ann.remove();
    expect((await leaveEvent).detail.reason).to.equal('removed');
    expect(tracks.map((t) => t.readyState)).to.deep.equal(['ended', 'ended']);
    expect((await left).detail.name).to.equal('Ann');
    expect(bob.peers).to.have.length(0);
  });

  it('moving an element to another parent keeps the call', async () => {
    const { wrap, ann, bob } = await twoInOneRoom();
    await expectMediaFlowing(bob);
    const session = ann.session;
    let left = false;
    bob.addEventListener('av-peer-leave', () => (left = true));
    wrap.querySelector('#b')!.append(ann);
    await new Promise((r) => setTimeout(r, 2000));
    expect(ann.session).to.equal(session);
    expect(ann.state).to.equal('connected');
    expect(left).to.equal(false);
    await expectMediaFlowing(bob);
  });

  it('mute and camera buttons work from the keyboard, release the camera, and show on the other side', async () => {
    const { ann, bob } = await twoInOneRoom();
    await expectMediaFlowing(bob);
    const mic = ann.shadowRoot!.querySelector<HTMLButtonElement>('[part~="mic-button"]')!;
    mic.focus();
    await sendKeys({ press: 'Enter' });
    await until('muted', () => ann.muted, Boolean);
    expect(mic.getAttribute('aria-pressed')).to.equal('true');
    await until(
      'Bob sees Ann muted',
      () => bob.peers[0]?.media.audio,
      (a) => a === false,
    );

    const cameraTrack = ann.session!.localStream.getVideoTracks()[0]!;
    const cam = ann.shadowRoot!.querySelector<HTMLButtonElement>('[part~="camera-button"]')!;
    cam.focus();
    await sendKeys({ press: ' ' });
    await until(
      'camera released',
      () => cameraTrack.readyState,
      (s) => s === 'ended',
    );
    await until(
      'Bob sees Ann camera off',
      () => bob.peers[0]?.media.video,
      (v) => v === false,
    );
    cam.click();
    await until(
      'camera back',
      () => ann.session!.localStream.getVideoTracks()[0]?.readyState,
      (s) => s === 'live',
    );
    const peerId = bob.peers[0]!.peerId;
    const before = await inbound(bob.session!, peerId);
    await until(
      'Bob decodes Ann again',
      () => inbound(bob.session!, peerId),
      (s) => s.framesDecoded > before.framesDecoded + 5,
    );
  });

  it('is accessible', async () => {
    const { ann } = await twoInOneRoom();
    await expect(ann).to.be.accessible();
  });

  it('a broadcast viewer is accessible, asks for no device, and says it waits for the presenter', async () => {
    const el = await fixture<AvRoom>(html`<av-room server=${SERVER} room=${uniqueRoom('show')} name="Vi" mode="broadcast"></av-room>`);
    await until(
      'connected',
      () => el.state,
      (s) => s === 'connected',
    );
    expect(el.hasAttribute('waiting')).to.equal(true);
    expect(el.shadowRoot!.querySelector('[part="status"]')!.textContent).to.match(/presenter/i);
    expect(el.session!.localStream.getTracks()).to.have.length(0);
    expect(el.shadowRoot!.querySelector('[part~="mic-button"]')).to.equal(null);
    await expect(el).to.be.accessible();
  });

  it('snapshot() gives JPEGs of the self-view and of a member at their real sizes', async () => {
    const { ann, bob } = await twoInOneRoom();
    await expectMediaFlowing(bob);
    const events: string[] = [];
    ann.addEventListener('av-snapshot', (e) => events.push((e as CustomEvent).detail.peerId));
    const self = await ann.snapshot();
    expect(self.blob.type).to.equal('image/jpeg');
    const selfBitmap = await createImageBitmap(self.blob);
    const track = ann.session!.localStream.getVideoTracks()[0]!.getSettings();
    expect([selfBitmap.width, selfBitmap.height]).to.deep.equal([track.width, track.height]);
    const peerId = ann.peers[0]!.peerId;
    const remote = await ann.snapshot(peerId);
    const bitmap = await createImageBitmap(remote.blob);
    const video = ann.shadowRoot!.querySelector<HTMLVideoElement>('video.remote')!;
    expect([bitmap.width, bitmap.height]).to.deep.equal([video.videoWidth, video.videoHeight]);
    expect(events).to.deep.equal([ann.session!.peerId, peerId]);
  });

  it('opens its room socket as it connects, before it renders, and joins on that one socket', async () => {
    const room = uniqueRoom('early');
    const opened: string[] = [];
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols);
        opened.push(String(url));
      }
    };
    try {
      const wrap = await fixture<HTMLDivElement>(html`<div></div>`);
      const el = Object.assign(document.createElement('av-room'), { server: SERVER, room, name: 'Ann' });
      wrap.append(el);
      const roomSockets = () => opened.filter((u) => u.endsWith(`/r/${room}/ws`));
      expect(roomSockets(), 'opened by the time append() returns').to.have.length(1);
      expect(el.shadowRoot?.childElementCount ?? 0, 'not rendered yet').to.equal(0);
      await eventWithin(el, 'av-room-join', 15_000);
      // Any other socket would have been closed unclaimed after a second: wait past that and count again.
      await new Promise((r) => setTimeout(r, 1200));
      expect(roomSockets(), 'one room socket for the join').to.have.length(1);
      expect(el.state).to.equal('connected');
    } finally {
      window.WebSocket = Native;
    }
  });

  it('reports an unreachable server with av-room-error and state="error"', async () => {
    const el = await fixture<AvRoom>(html`<av-room server="http://127.0.0.1:9" room=${uniqueRoom()} name="Ann"></av-room>`);
    const err = await eventWithin<{ code: string; fatal: boolean }>(el, 'av-room-error', 15_000);
    expect(err.detail.code).to.equal('server-unreachable');
    expect(err.detail.fatal).to.equal(true);
    await until(
      'state error',
      () => el.getAttribute('state'),
      (s) => s === 'error',
    );
    expect(el.session!.localStream.getTracks()).to.have.length(0);
  });
});
