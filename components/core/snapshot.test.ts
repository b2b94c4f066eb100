import { expect } from '@open-wc/testing';
import { snapshotJpeg } from './snapshot.js';

/** A canvas stream of a given size with a moving pattern. */
function canvasStream(width: number, height: number) {
  const canvas = Object.assign(document.createElement('canvas'), { width, height });
  const ctx = canvas.getContext('2d')!;
  let n = 0;
  const timer = setInterval(() => {
    ctx.fillStyle = `hsl(${(n += 10) % 360} 80% 50%)`;
    ctx.fillRect(0, 0, width, height);
  }, 30);
  return { stream: canvas.captureStream(30), stop: () => clearInterval(timer) };
}

describe('snapshotJpeg', () => {
  for (const [w, h] of [
    [640, 480],
    [1280, 720],
  ] as const) {
    it(`captures a ${w}x${h} source as a ${w}x${h} JPEG`, async () => {
      const { stream, stop } = canvasStream(w, h);
      try {
        await new Promise((r) => setTimeout(r, 100));
        const shot = await snapshotJpeg(stream, 0.8);
        expect(shot.blob.type).to.equal('image/jpeg');
        const bitmap = await createImageBitmap(shot.blob);
        expect([shot.width, shot.height, bitmap.width, bitmap.height]).to.deep.equal([w, h, w, h]);
      } finally {
        stop();
        stream.getTracks().forEach((t) => t.stop());
      }
    });
  }

  it('refuses a stream without live video', async () => {
    let error: Error | undefined;
    await snapshotJpeg(new MediaStream()).catch((e: Error) => (error = e));
    expect(error?.message).to.match(/no live video/);
  });
});
