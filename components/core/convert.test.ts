import { expect } from '@open-wc/testing';
import type { FFmpeg } from '@ffmpeg/ffmpeg';
import { AacSegmentEncoder, loadFfmpeg, type AacSegmentOptions } from './convert.js';
import { SERVER } from '../test-helpers.js';

const RATE = 48_000;
/** 3 s of a 997 Hz tone (a period that never lines up with the 1024-sample frames), left and right out of phase. */
const SECONDS = 3;
const tone = (n: number, channel: number) => 0.5 * Math.sin((2 * Math.PI * 997 * n) / RATE + channel * 0.7);

/** Encodes the tone in 0.5 s pieces, each encoded before the next arrives (a join every ~0.5 s), and decodes it. */
async function encodeTone(ffmpeg: FFmpeg, options: Partial<AacSegmentOptions> = {}): Promise<Float32Array> {
  const encoder = new AacSegmentEncoder(ffmpeg, { channels: 2, sampleRate: RATE, segmentSeconds: 0.25, ...options });
  const piece = RATE / 2;
  for (let at = 0; at < SECONDS * RATE; at += piece) {
    const pcm = new Float32Array(piece * 2);
    for (let i = 0; i < piece; i++) {
      pcm[2 * i] = tone(at + i, 0);
      pcm[2 * i + 1] = tone(at + i, 1);
    }
    encoder.push(pcm);
    await encoder.idle();
  }
  const adts = await encoder.finish();
  await ffmpeg.writeFile('tone.aac', adts);
  expect(await ffmpeg.exec(['-f', 'aac', '-i', 'tone.aac', '-f', 'f32le', '-y', 'tone.pcm'])).to.equal(0);
  const pcm = (await ffmpeg.readFile('tone.pcm')) as Uint8Array;
  return new Float32Array(pcm.buffer, pcm.byteOffset, pcm.byteLength / 4);
}

/** RMS difference from the tone, per 1024-sample block, of the left channel (decoded sample n + 1024 is input n). */
function blockErrors(decoded: Float32Array): number[] {
  const errors: number[] = [];
  for (let block = 0; (block + 1) * 1024 <= SECONDS * RATE; block++) {
    let sum = 0;
    for (let n = block * 1024; n < (block + 1) * 1024; n++) sum += (decoded[2 * (n + 1024)]! - tone(n, 0)) ** 2;
    errors.push(Math.sqrt(sum / 1024));
  }
  return errors;
}

/** Past the encoder's first two frames (its start-up is the same, joined or not). */
const worst = (errors: number[]) => Math.max(...errors.slice(2));
const median = (errors: number[]) => [...errors].sort((a, b) => a - b)[errors.length >> 1]!;

describe('AacSegmentEncoder', function () {
  this.timeout(120_000);
  let ffmpeg: FFmpeg;
  before(async () => (ffmpeg = await loadFfmpeg(`${SERVER}/ffmpeg/`)));
  after(() => ffmpeg?.terminate());

  it('joins segments with no gap, no repeat and no click: every block as close to the tone as one whole encode', async () => {
    const whole = await encodeTone(ffmpeg, { segmentSeconds: 60 });
    const joined = await encodeTone(ffmpeg);
    // One priming frame, then every input sample once (the last frame padded): no frame lost or doubled at a join.
    expect(joined.length).to.equal(whole.length);
    expect(joined.length / 2).to.equal((Math.ceil((SECONDS * RATE) / 1024) + 1) * 1024);
    const errors = blockErrors(joined);
    const reference = blockErrors(whole);
    // A gap, a repeat or a window without its partner leaves a block 0.2 or more off the tone (see the next test);
    // ffmpeg's encoder alone leaves about 0.006 (up to 0.1 in a block) on this tone.
    expect(worst(errors), `worst block ${worst(errors).toFixed(4)}, whole encode ${worst(reference).toFixed(4)}`).to.be.below(
      Math.min(0.05, worst(reference)),
    );
    // Each segment's encoder starts afresh (its rate control too): a little more noise, no more than half as much again.
    expect(median(errors)).to.be.below(1.5 * median(reference));
  });

  it('would hear the joins without the look-ahead (the check above can fail)', async () => {
    const naive = worst(blockErrors(await encodeTone(ffmpeg, { prerollFrames: 0, lookaheadFrames: 0 })));
    expect(naive).to.be.above(0.2);
  });
});
