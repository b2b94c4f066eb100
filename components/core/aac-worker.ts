/**
 * A worker that makes the AAC of a recording while it records ({@link AacRecordingEncoder}), off the page's main
 * thread: there the grid is drawn and the call runs, and every frame of audio waited behind them (the encoder got
 * through 57% of the audio as it came). Messages: `piece` (a Blob MediaRecorder handed over), `finish` (the whole
 * recording) in; `ready`, `done` (the MP4), `failed` (a message) out.
 */
import { AacRecordingEncoder } from './live-aac.js';

export type AacWorkerRequest = { type: 'piece'; piece: Blob } | { type: 'finish'; recording: Blob };
export type AacWorkerReply = { type: 'ready' } | { type: 'done'; blob: Blob } | { type: 'failed'; message: string };

const scope = self as unknown as { postMessage(m: AacWorkerReply): void; onmessage: ((e: MessageEvent<AacWorkerRequest>) => void) | null };
const encoder = new AacRecordingEncoder();
encoder.loaded.then(
  () => scope.postMessage({ type: 'ready' }),
  () => {},
);
scope.onmessage = ({ data }) => {
  if (data.type === 'piece') return encoder.push(data.piece);
  encoder.finish(data.recording).then(
    (blob) => scope.postMessage({ type: 'done', blob }),
    (e: unknown) => scope.postMessage({ type: 'failed', message: String((e as Error)?.message ?? e) }),
  );
};
