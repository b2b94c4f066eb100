// <av-file> helpers for end-to-end tests in either engine: random files offered with their SHA-256, received files
// hashed in the page.
import type { Evaluator } from './browser.js';

export interface ReceivedFile {
  name: string;
  size: number;
  sha256: string;
  /** Transfer id. */
  id: string;
}

/** From now on, keeps every file the page's `<av-file>` receives (name, size, SHA-256 of its bytes, transfer id). */
export function collectReceivedFiles(p: Evaluator): Promise<void> {
  return p.evaluate(() => {
    const w = window as unknown as { received: ReceivedFile[] };
    w.received = [];
    document.querySelector('av-file')!.addEventListener('av-file-received', (e) => {
      const { file, transfer } = (e as CustomEvent<{ file: File; transfer: { id: string } }>).detail;
      void (async () => {
        const digest = [...new Uint8Array(await crypto.subtle.digest('SHA-256', await file.arrayBuffer()))]
          .map((b) => b.toString(16).padStart(2, '0'))
          .join('');
        w.received.push({ name: file.name, size: file.size, sha256: digest, id: transfer.id });
      })();
    });
  });
}

/** The files received since `collectReceivedFiles`. */
export const receivedFiles = (p: Evaluator): Promise<ReceivedFile[]> =>
  p.evaluate(() => (window as unknown as { received: ReceivedFile[] }).received);

/** Makes files of random bytes in the page and offers them with its `<av-file>`; resolves their SHA-256s. */
export function sendRandomFiles(p: Evaluator, sizes: number[], name = (i: number) => `random-${i}.bin`): Promise<string[]> {
  return p.evaluate(
    async ({ sizes, names }) => {
      const files: File[] = [];
      const hashes: string[] = [];
      for (const [i, size] of sizes.entries()) {
        const bytes = new Uint8Array(size);
        for (let o = 0; o < size; o += 65536) crypto.getRandomValues(bytes.subarray(o, Math.min(size, o + 65536)));
        hashes.push([...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((b) => b.toString(16).padStart(2, '0')).join(''));
        files.push(new File([bytes], names[i]!, { type: 'application/octet-stream' }));
      }
      document.querySelector('av-file')!.send(files);
      return hashes;
    },
    { sizes, names: sizes.map((_, i) => name(i)) },
  );
}
