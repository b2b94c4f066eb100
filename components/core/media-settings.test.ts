import { expect } from '@open-wc/testing';
import { classifyQuality, qualitySample, ActiveSpeaker, SpeakingDetector } from './activity.js';
import { audioNeedsRecapture, parseBounded, parseResolution, DEFAULT_AUDIO } from './media-settings.js';
import { opusParams, preferCodec, setOpusParams, startVideoBitrate } from './sdp.js';

const SDP = [
  'v=0',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9',
  'a=rtpmap:111 opus/48000/2',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=rtpmap:63 red/48000/2',
  'a=rtpmap:9 G722/8000',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99',
  'a=rtpmap:96 VP8/90000',
  'a=rtpmap:97 rtx/90000',
  'a=fmtp:97 apt=96',
  'a=rtpmap:98 VP9/90000',
  'a=rtpmap:99 rtx/90000',
  'a=fmtp:99 apt=98',
  '',
].join('\r\n');

describe('media settings (pure)', () => {
  it('parses resolutions, presets and bounded numbers; rejects the rest', () => {
    expect(parseResolution('320x240')).to.deep.equal([320, 240]);
    expect(parseResolution(' 1280×720 ')).to.deep.equal([1280, 720]);
    expect(parseResolution('qcif')).to.deep.equal([176, 144]);
    expect(parseResolution('sxga')).to.deep.equal([1280, 1024]);
    for (const bad of ['', 'big', '10x10', '99999x2', '320x', '<b>']) expect(parseResolution(bad), bad).to.equal(undefined);
    expect(parseBounded('16000', 8000, 48000)).to.equal(16000);
    expect(parseBounded('abc', 1, 2)).to.equal(undefined);
    expect(parseBounded('3', 1, 2)).to.equal(undefined);
    expect(audioNeedsRecapture(DEFAULT_AUDIO, { ...DEFAULT_AUDIO, maxBitrate: 1 })).to.equal(false);
    expect(audioNeedsRecapture(DEFAULT_AUDIO, { ...DEFAULT_AUDIO, echoCancellation: false })).to.equal(true);
  });

  it('edits Opus parameters and codec order in a session description', () => {
    const stereo = setOpusParams(SDP, { stereo: 1, 'sprop-stereo': 1, minptime: undefined });
    expect(opusParams(stereo)).to.deep.equal({ useinbandfec: '1', stereo: '1', 'sprop-stereo': '1' });
    const vp9 = preferCodec(SDP, 'video', 'VP9');
    expect(vp9).to.contain('m=video 9 UDP/TLS/RTP/SAVPF 98 99 96 97\r\n');
    expect(preferCodec(SDP, 'video', 'AV1'), 'absent codec: unchanged').to.equal(SDP);
    expect(preferCodec(SDP, 'audio', 'G722')).to.contain('m=audio 9 UDP/TLS/RTP/SAVPF 9 111 63\r\n');
    // The start bitrate goes on the video codecs only, in a new fmtp line or the one they have.
    const h264 = SDP.replace('a=rtpmap:98 VP9/90000', 'a=rtpmap:98 H264/90000\r\na=fmtp:98 profile-level-id=42e01f');
    const started = startVideoBitrate(h264, 1000);
    expect(started).to.contain('a=rtpmap:96 VP8/90000\r\na=fmtp:96 x-google-start-bitrate=1000\r\na=rtpmap:97 rtx/90000\r\n');
    expect(started).to.contain('a=fmtp:98 profile-level-id=42e01f;x-google-start-bitrate=1000\r\n');
    expect(started).to.contain('a=fmtp:97 apt=96\r\n');
    expect(started).to.contain('a=fmtp:111 minptime=10;useinbandfec=1\r\n');
    expect(started.split('x-google-start-bitrate').length).to.equal(3);
  });

  it('classifies quality, detects speech with a hold, and picks the loudest speaker after a while', () => {
    const at = (lost: number, received: number, bytes: number, t: number, rtt?: number) => ({ at: t, lost, received, bytes, rtt });
    expect(classifyQuality(qualitySample(at(0, 0, 0, 0), at(0, 100, 50_000, 1000, 0.02)), true)).to.equal('good');
    expect(classifyQuality(qualitySample(at(0, 0, 0, 0), at(5, 95, 50_000, 1000, 0.02)), true)).to.equal('fair');
    expect(classifyQuality(qualitySample(at(0, 0, 0, 0), at(0, 100, 50_000, 1000, 0.6)), true)).to.equal('poor');
    expect(classifyQuality(qualitySample(at(0, 100, 0, 0), at(0, 100, 0, 1000, 0.01)), true), 'nothing arrives').to.equal('poor');
    const d = new SpeakingDetector(0.03, 1000);
    expect(d.push(0.2, 0)).to.equal(true);
    expect(d.push(0, 500)).to.equal(false);
    expect(d.speaking).to.equal(true);
    expect(d.push(0, 1100)).to.equal(true);
    expect(d.speaking).to.equal(false);
    const a = new ActiveSpeaker(600);
    expect(a.push(new Map([['x', 0.1]]), 0)).to.equal('x');
    expect(
      a.push(
        new Map([
          ['x', 0.1],
          ['y', 0.5],
        ]),
        100,
      ),
    ).to.equal(undefined);
    expect(
      a.push(
        new Map([
          ['x', 0.1],
          ['y', 0.5],
        ]),
        800,
      ),
    ).to.equal('y');
  });
});
