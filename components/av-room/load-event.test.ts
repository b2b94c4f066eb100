import { expect } from '@open-wc/testing';
import { SERVER, uniqueRoom } from '../test-helpers.js';

/** Loads a page holding an <av-room> (in an iframe) and resolves with whether its load event fired within `ms`. */
function pageLoads(attrs: string, ms: number): Promise<boolean> {
  const frame = document.createElement('iframe');
  frame.srcdoc = `<!doctype html><script type="module" src="${new URL('../index.ts', import.meta.url).href}"></script>
    <av-room server="${SERVER}" room="${uniqueRoom('load')}" name="Ann" ${attrs}></av-room><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">`;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    frame.addEventListener('load', () => {
      clearTimeout(timer);
      resolve(true);
    });
    document.body.append(frame);
  }).finally(() => frame.remove()) as Promise<boolean>;
}

describe('<av-room> and the page load event', () => {
  it('a page joining with camera and microphone off still fires load', async () => {
    expect(await pageLoads('audio="off" video="off"', 15_000)).to.equal(true);
  });
});
