// Media in real Chromium from outside the element: a member on a machine without camera or microphone (and without
// the autoplay exemption the other tests use), and a device choice that survives a new page load.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CHROMIUM_ARGS, inboundByPeer, launchChromium, memberPage, waitFor } from '../helpers/browser.js';
import { e2e } from '../helpers/e2e.js';

const ctx = e2e();
let bare: Awaited<ReturnType<typeof launchChromium>>;

before(async () => {
  // No fake devices (this machine has none: getUserMedia finds nothing) and the browser's default autoplay policy.
  // Chrome's desktop policy, stated: sound needs a user gesture, muted video may play.
  bare = await launchChromium(['--autoplay-policy=document-user-activation-required'], {
    without: CHROMIUM_ARGS.filter((a) => a.startsWith('--use-fake-device') || a.startsWith('--autoplay-policy')),
  });
});
after(() => bare?.close());

test('a member with no devices joins, sees and hears the others without a click, and is told why it sends nothing', async () => {
  const bob = await memberPage(ctx.chromium.browser, ctx.server.url, { room: 'nodev', name: 'Bob' });
  ctx.open.push(bob);
  // The demo page joins by itself: no script of ours runs in it before the media plays (Playwright's evaluate counts
  // as a user gesture, which would lift the autoplay block this test is about).
  const context = await bare.browser.newContext();
  const page = await context.newPage();
  const nia = { page, context, close: () => context.close() };
  ctx.open.push(nia);
  await page.goto(`${ctx.server.url}/?room=nodev&name=Nia`, { waitUntil: 'domcontentloaded' });
  // Polled through CDP without a user gesture (Playwright's own evaluations and locators carry one).
  const cdp = await context.newCDPSession(page);
  const look = async () => {
    const { result } = (await cdp.send('Runtime.evaluate', {
      expression: `(() => { const r = document.querySelector('av-room'); const v = r?.shadowRoot?.querySelector('video.remote');
        return { state: r?.state, sound: !!r?.shadowRoot?.querySelector('[part~="sound-button"]'), paused: v?.paused, muted: v?.muted,
        activated: navigator.userActivation.hasBeenActive }; })()`,
      returnByValue: true,
    })) as { result: { value: { state: string; sound: boolean; paused: boolean; muted: boolean; activated: boolean } } };
    return result.value;
  };
  const blocked = await waitFor(
    'remote video playing muted, sound button shown',
    look,
    (v) => v.state === 'connected' && v.sound && v.paused === false,
  );
  assert.equal(blocked.activated, false, 'no user gesture so far');
  assert.equal(blocked.muted, true);
  const first = await waitFor(
    'Nia receives Bob',
    () => inboundByPeer(nia.page),
    (s) => Object.values(s).some((r) => r.framesDecoded > 0 && r.audioPackets > 0),
  );
  await nia.page.waitForTimeout(2000);
  const later = await inboundByPeer(nia.page);
  const [id, row] = Object.entries(first)[0]!;
  assert.ok(later[id]!.framesDecoded > row.framesDecoded, 'video keeps decoding');
  assert.ok(later[id]!.audioPackets > row.audioPackets, 'audio keeps arriving');
  // The remote video plays (muted, as the autoplay policy allows) without any click.
  const playing = async () =>
    nia.page.evaluate(async () => {
      const v = document.querySelector('av-room')!.shadowRoot!.querySelector<HTMLVideoElement>('video.remote')!;
      const t = v.currentTime;
      await new Promise((r) => setTimeout(r, 500));
      return { paused: v.paused, advancing: v.currentTime > t, muted: v.muted };
    });
  const before = await waitFor('remote video playing', playing, (p) => !p.paused && p.advancing);
  assert.equal(before.muted, true, 'still muted: sound waits for the user');
  const status = await nia.page.locator('av-room [part="status"]').innerText();
  assert.match(status, /No camera or microphone found/);
  assert.equal(await nia.page.locator('av-room [part~="mic-button"]').getAttribute('aria-disabled'), 'true');
  assert.equal(await nia.page.locator('av-room [part~="camera-button"]').getAttribute('aria-disabled'), 'true');
  const tracks = await nia.page.evaluate(() => document.querySelector('av-room')!.session!.localStream.getTracks().length);
  assert.equal(tracks, 0);
  // One obvious control while audio is blocked; a click (a user gesture) turns sound on.
  const sound = nia.page.locator('av-room [part~="sound-button"]');
  assert.equal(await sound.count(), 1);
  await sound.click();
  const after = await waitFor('sound on and still playing', playing, (p) => !p.paused && p.advancing && !p.muted);
  assert.equal(after.muted, false);
  assert.equal(await sound.count(), 0);
  // Bob sees Nia's tile as sending nothing.
  const media = await bob.page.evaluate(() => document.querySelector('av-room')!.peers[0]!.media);
  assert.deepEqual({ audio: media.audio, video: media.video }, { audio: false, video: false });
  await ctx.closeAll();
});

test('a microphone chosen in the settings panel is used again by the next page load in the same profile', async () => {
  const ann = await memberPage(ctx.chromium.browser, ctx.server.url, { room: 'remember', name: 'Ann' });
  ctx.open.push(ann);
  await ann.page.locator('av-room[state="connected"]').waitFor({ timeout: 20_000 });
  await ann.page.locator('av-room [part~="settings-button"]').click();
  const mic = ann.page.getByLabel('Microphone');
  await waitFor(
    'microphones listed',
    () => mic.locator('option').count(),
    (n) => n >= 3,
  );
  await mic.selectOption({ label: 'Fake Audio Input 2' });
  const label = () => ann.page.evaluate(() => document.querySelector('av-room')!.session!.localStream.getAudioTracks()[0]?.label);
  await waitFor('switched', label, (l) => l === 'Fake Audio Input 2');
  await ann.page.keyboard.press('Escape');
  const context = ann.context;
  await ann.page.close();
  const again = await memberPage(ctx.chromium.browser, ctx.server.url, { room: 'remember', name: 'Ann' }, {}, '', context);
  await again.page.locator('av-room[state="connected"]').waitFor({ timeout: 20_000 });
  const relabel = await waitFor(
    'remembered microphone',
    () => again.page.evaluate(() => document.querySelector('av-room')!.session!.localStream.getAudioTracks()[0]?.label),
    (l) => !!l,
  );
  assert.equal(relabel, 'Fake Audio Input 2');
  await ctx.closeAll();
});
