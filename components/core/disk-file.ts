/**
 * A received file written to the origin's private file system (OPFS) as its bytes arrive, so that it is held on disk
 * rather than in the page's memory. Each chunk's memory is released (`ArrayBuffer.prototype.transfer(0)`) as soon as
 * it is written: Firefox counts in-memory Blobs and unreferenced ArrayBuffers against the page's JS heap until its
 * next major GC, which lets a bare receiver grow by 150 MiB for 256 MiB received; detached buffers count nothing, and
 * neither does a File read back from OPFS.
 */

/** Where received files go: one folder per page, below this one; folders of pages gone for a day are removed. */
const ROOT = 'av-file-received';
const STALE_MS = 24 * 60 * 60 * 1000;

type Detachable = ArrayBuffer & { transfer?(newByteLength: number): ArrayBuffer };

/**
 * Whether received files should go to disk here: in an engine that keeps Blob contents in the page's own process,
 * counted against its heap (Gecko), and that can write chunk by chunk and release each chunk at once. Chromium keeps
 * Blob contents in its browser process, paging them to disk itself: there Blobs stay (8 MiB of heap for 256 MiB,
 * faster than OPFS, which measured 87 MiB there).
 */
function supported(): boolean {
  return (
    typeof navigator !== 'undefined' &&
    /\bFirefox\//.test(navigator.userAgent) &&
    typeof navigator.storage?.getDirectory === 'function' &&
    typeof FileSystemFileHandle !== 'undefined' &&
    'createWritable' in FileSystemFileHandle.prototype &&
    typeof (ArrayBuffer.prototype as Detachable).transfer === 'function'
  );
}

let pageFolder: Promise<FileSystemDirectoryHandle | undefined> | undefined;

/** This page's folder (made once); undefined where OPFS cannot be used (private windows, older engines). */
function folder(): Promise<FileSystemDirectoryHandle | undefined> {
  pageFolder ??= (async () => {
    if (!supported()) return undefined;
    try {
      const root = await (await navigator.storage.getDirectory()).getDirectoryHandle(ROOT, { create: true });
      void removeStale(root);
      return await root.getDirectoryHandle(`${Date.now()}-${crypto.randomUUID()}`, { create: true });
    } catch {
      return undefined;
    }
  })();
  return pageFolder;
}

/** Folders left by pages that are long gone (their name starts with the time they were made). */
async function removeStale(root: FileSystemDirectoryHandle): Promise<void> {
  try {
    for await (const name of (root as unknown as { keys(): AsyncIterable<string> }).keys()) {
      const made = Number(name.split('-')[0]);
      if (Number.isFinite(made) && Date.now() - made > STALE_MS) await root.removeEntry(name, { recursive: true }).catch(() => {});
    }
  } catch {
    // Another page may be cleaning up too.
  }
}

export class DiskFile {
  private writing: Promise<void> = Promise.resolve();
  private _error: Error | undefined;
  private state: 'open' | 'closed' | 'discarded' = 'open';

  private constructor(
    private readonly dir: FileSystemDirectoryHandle,
    private readonly name: string,
    private readonly handle: FileSystemFileHandle,
    private readonly writable: FileSystemWritableFileStream,
  ) {}

  /** A new empty file on disk, or undefined where it is not needed or cannot be had (the caller keeps Blobs instead). */
  static async create(): Promise<DiskFile | undefined> {
    const dir = await folder();
    if (!dir) return undefined;
    try {
      const name = crypto.randomUUID();
      const handle = await dir.getFileHandle(name, { create: true });
      return new DiskFile(dir, name, handle, await handle.createWritable());
    } catch {
      return undefined;
    }
  }

  /** Why writing failed (the disk is full, the storage was cleared), said for the user, once it has. */
  get error(): Error | undefined {
    return this._error;
  }

  /** Appends `chunk` after everything written before; its memory is released once it is on disk. */
  write(chunk: ArrayBuffer): void {
    this.writing = this.writing.then(async () => {
      try {
        if (!this._error && this.state === 'open') await this.writable.write(chunk);
      } catch (err) {
        const e = err as Error;
        this._error ??= new Error(`could not store the file: ${e.name}: ${e.message}`);
      }
      (chunk as Detachable).transfer?.(0);
    });
  }

  /** Once every chunk is written: the file, named and typed as given, read from disk. */
  async close(name: string, type: string): Promise<File> {
    await this.writing;
    if (this._error) throw this._error;
    this.state = 'closed';
    await this.writable.close();
    return new File([await this.handle.getFile()], name, { type });
  }

  /** Drops what was written (cancelled, failed or damaged), closed or not. Idempotent. */
  async discard(): Promise<void> {
    if (this.state === 'discarded') return;
    const wasOpen = this.state === 'open';
    this.state = 'discarded';
    await this.writing;
    if (wasOpen) await this.writable.abort().catch(() => {});
    await this.dir.removeEntry(this.name).catch(() => {});
  }
}
