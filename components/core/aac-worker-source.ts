/**
 * The AAC worker's code (components/core/aac-worker.ts with mediabunny and its AAC encoder, one module), when the build
 * inlines it: the script-tag bundle does (see rollup.config.js), as a lazily loaded chunk. Elsewhere there is none and
 * the AAC is made on the page's own thread.
 */
export const aacWorkerSource: string | undefined = undefined;
