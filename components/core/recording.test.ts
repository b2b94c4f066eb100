import { expect } from '@open-wc/testing';
import { planRecording } from './recording.js';
import { MediaMix } from './media-mix.js';

describe('planRecording', () => {
  it('takes the cheapest path to the asked file', () => {
    expect(planRecording({}, true)).to.deep.equal({ record: 'mp4', conversion: undefined });
    expect(planRecording({ audioCodec: 'aac' }, true)).to.deep.equal({ record: 'mp4', conversion: 'aac' });
    expect(planRecording({ nativeMp4: false }, true)).to.deep.equal({ record: 'webm', conversion: 'h264' });
    expect(planRecording({ audioCodec: 'aac' }, false)).to.deep.equal({ record: 'webm', conversion: 'h264' });
    expect(planRecording({ format: 'webm', audioCodec: 'aac' }, true)).to.deep.equal({ record: 'webm', conversion: undefined });
  });
});

describe('MediaMix', () => {
  it('draws one stream of the asked (even) size and ends only its own tracks', () => {
    const canvas = Object.assign(document.createElement('canvas'), { width: 320, height: 240 });
    const source = canvas.captureStream(10);
    const mix = new MediaMix({ width: 641, height: 361, fps: 10 });
    mix.setSources([
      { id: 'a', name: '<b>Ann</b>', stream: source },
      { id: 'b', name: 'Bob', stream: undefined },
    ]);
    const settings = mix.stream.getVideoTracks()[0]!.getSettings();
    expect([settings.width, settings.height]).to.deep.equal([642, 362]);
    expect(mix.stream.getAudioTracks()).to.have.length(1);
    mix.setSources([]);
    mix.destroy();
    mix.destroy();
    expect(mix.stream.getTracks().every((t) => t.readyState === 'ended')).to.equal(true);
    expect(source.getVideoTracks()[0]!.readyState).to.equal('live');
    source.getTracks().forEach((t) => t.stop());
  });
});
