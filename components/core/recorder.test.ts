import { expect } from '@open-wc/testing';
import { CHROMIUM_ONLY, chromiumOnly } from '../test-helpers.js';
import { StreamRecorder, pickMimeType } from './recorder.js';

/** A 640x480 canvas video and a 440 Hz tone, as one stream. */
function testStream() {
  const canvas = Object.assign(document.createElement('canvas'), { width: 640, height: 480 });
  const ctx = canvas.getContext('2d')!;
  let n = 0;
  const timer = setInterval(() => {
    ctx.fillStyle = `hsl(${(n += 7) % 360} 70% 50%)`;
    ctx.fillRect(0, 0, 640, 480);
  }, 33);
  const audio = new AudioContext();
  const osc = audio.createOscillator();
  const dest = audio.createMediaStreamDestination();
  osc.connect(dest);
  osc.start();
  const stream = new MediaStream([...canvas.captureStream(30).getVideoTracks(), ...dest.stream.getAudioTracks()]);
  return {
    stream,
    stop: () => {
      clearInterval(timer);
      stream.getTracks().forEach((t) => t.stop());
      void audio.close();
    },
  };
}

/** Plays a recording and reads what the browser says about it. */
async function probe(blob: Blob) {
  const video = document.createElement('video');
  video.muted = true;
  video.src = URL.createObjectURL(blob);
  await new Promise((resolve, reject) => {
    video.onloadedmetadata = resolve;
    video.onerror = () => reject(new Error('the recording does not play'));
  });
  const result = { duration: video.duration, width: video.videoWidth, height: video.videoHeight };
  URL.revokeObjectURL(video.src);
  return result;
}

describe('StreamRecorder', () => {
  chromiumOnly(CHROMIUM_ONLY.nativeMp4)(
    'records native MP4 (H.264 + Opus) in timeslices, with pauses left out of the duration',
    async () => {
      expect(pickMimeType('mp4', true, true)).to.match(/^video\/mp4;codecs=avc1/);
      const { stream, stop } = testStream();
      try {
        const rec = new StreamRecorder(stream, { timesliceMs: 250 });
        let dataEvents = 0;
        rec.on('data', () => dataEvents++);
        const t0 = performance.now();
        rec.start();
        await new Promise((r) => setTimeout(r, 1200));
        const p0 = performance.now();
        rec.pause();
        await new Promise((r) => setTimeout(r, 800));
        rec.resume();
        const p1 = performance.now();
        await new Promise((r) => setTimeout(r, 1000));
        const recorded = (performance.now() - t0 - (p1 - p0)) / 1000;
        const result = await rec.stop();
        expect(result.mimeType).to.match(/^video\/mp4/);
        expect(result.size).to.be.greaterThan(1000);
        expect(Math.abs(result.duration - recorded), `duration ${result.duration} vs ${recorded} recorded`).to.be.below(0.2);
        expect(dataEvents).to.be.greaterThan(2);
        const info = await probe(result.blob);
        expect([info.width, info.height]).to.deep.equal([640, 480]);
        expect(Math.abs(info.duration - recorded), `file says ${info.duration} s`).to.be.below(0.7);
        expect(await rec.stop()).to.equal(result);
      } finally {
        stop();
      }
    },
  );

  it('stops by itself at the maximum duration', async () => {
    const { stream, stop } = testStream();
    try {
      const rec = new StreamRecorder(stream, { format: 'webm', maxDurationSeconds: 1 });
      const stopped = new Promise<number>((resolve) => rec.on('stop', (r) => resolve(r.duration)));
      rec.start();
      const duration = await stopped;
      expect(duration).to.be.within(0.99, 2);
      expect(rec.state).to.equal('inactive');
    } finally {
      stop();
    }
  });
});
