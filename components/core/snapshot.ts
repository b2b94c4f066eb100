/** A still frame as JPEG, with its real size. */
export interface Snapshot {
  blob: Blob;
  width: number;
  height: number;
}

/**
 * Captures the current frame of a playing video element, or of a MediaStream's video, as a JPEG of the source's own
 * size (not the size it is displayed at, and never mirrored).
 */
export async function snapshotJpeg(source: HTMLVideoElement | MediaStream, quality = 0.92): Promise<Snapshot> {
  const video = source instanceof HTMLVideoElement ? source : await playing(source);
  try {
    if (!video.videoWidth || !video.videoHeight) throw new Error('no video frame to capture yet');
    const canvas = document.createElement('canvas');
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('2D canvas is not available');
    ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/jpeg', Math.min(1, Math.max(0, quality))));
    if (!blob) throw new Error('the browser could not encode a JPEG');
    return { blob, width: canvas.width, height: canvas.height };
  } finally {
    if (!(source instanceof HTMLVideoElement)) video.srcObject = null;
  }
}

async function playing(stream: MediaStream): Promise<HTMLVideoElement> {
  if (!stream.getVideoTracks().some((t) => t.readyState === 'live')) throw new Error('the stream has no live video');
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  video.srcObject = stream;
  await video.play();
  if (!video.videoWidth) await new Promise((r) => video.addEventListener('resize', r, { once: true }));
  return video;
}

/** Offers a Blob as a download (an `<a download>` clicked once), e.g. a snapshot. */
export function saveBlob(blob: Blob, fileName: string): void {
  const a = Object.assign(document.createElement('a'), { href: URL.createObjectURL(blob), download: fileName });
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
}
