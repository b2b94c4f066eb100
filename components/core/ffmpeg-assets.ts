/**
 * Where ffmpeg.wasm's pieces come from. In the npm build there is nothing here: the package's own worker is used and
 * the core is the av-server's copy (`<server>/ffmpeg/`). The script-tag bundle replaces this module (see
 * rollup.config.js) with the core copied beside the bundle and the worker inlined as a blob URL, so nothing is ever
 * fetched from a CDN.
 */

/** Folder (absolute URL, ending in `/`) holding `ffmpeg-core.js` and `ffmpeg-core.wasm`, if the build ships one. */
export const bundledCoreBase: string | undefined = undefined;

/** URL of ffmpeg.wasm's worker script, if the build inlines it. */
export function bundledWorkerURL(): string | undefined {
  return undefined;
}
