import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import commonjs from '@rollup/plugin-commonjs';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';
import { rollup } from 'rollup';

const require = createRequire(import.meta.url);
const ASSETS = '\0av-ffmpeg-assets';

/** A worker's code as one ES module (its imports and lazy imports inlined), for a blob URL. */
async function workerCode(input, plugins) {
  const bundle = await rollup({
    input,
    plugins,
    onwarn(warning, warn) {
      if (warning.code !== 'THIS_IS_UNDEFINED' && warning.code !== 'CIRCULAR_DEPENDENCY') warn(warning);
    },
  });
  const { output } = await bundle.generate({ format: 'es', inlineDynamicImports: true });
  await bundle.close();
  return output[0].code;
}
const WORKER = '\0av-ffmpeg-worker';

/**
 * ffmpeg.wasm without a CDN: the single-thread ESM core is emitted beside the bundle (dist/ffmpeg/) and its worker is
 * bundled into one module and inlined as a string (rollup leaves the package's `new Worker(new URL(...))` alone), so
 * `components/core/ffmpeg-assets.js` is replaced with a module that knows both.
 */
function ffmpegAssets() {
  return {
    name: 'av-ffmpeg-assets',
    resolveId(source) {
      if (source.endsWith('/ffmpeg-assets.js')) return ASSETS;
      if (source === WORKER) return WORKER;
      return null;
    },
    async load(id) {
      if (id === ASSETS) {
        const dir = require
          .resolve('@ffmpeg/core')
          .replace(/[^/]+$/, '')
          .replace(/\/umd\/$/, '/esm/');
        const core = this.emitFile({ type: 'asset', fileName: 'ffmpeg/ffmpeg-core.js', source: readFileSync(`${dir}ffmpeg-core.js`) });
        this.emitFile({ type: 'asset', fileName: 'ffmpeg/ffmpeg-core.wasm', source: readFileSync(`${dir}ffmpeg-core.wasm`) });
        return `import source from '${WORKER}';
export const bundledCoreBase = new URL('.', import.meta.ROLLUP_FILE_URL_${core}).href;
let url;
export function bundledWorkerURL() {
  return (url ??= URL.createObjectURL(new Blob([source], { type: 'text/javascript' })));
}`;
      }
      if (id === WORKER) return `export default ${JSON.stringify(await workerCode(require.resolve('@ffmpeg/ffmpeg/worker'), [terser()]))};`;
      return null;
    },
  };
}

const AAC_WORKER = '\0av-aac-worker-source';
/**
 * The AAC worker (components/core/aac-worker.ts, compiled into dist/lib) bundled with mediabunny and its AAC encoder into
 * one module and inlined as a string, replacing `aac-worker-source.js`: the recorder starts it from a blob URL (a worker
 * must be same-origin, and the bundle runs on other sites' pages). Only the recorder's lazy import reaches it.
 */
function aacWorker() {
  return {
    name: 'av-aac-worker',
    resolveId: (source) => (source.endsWith('/aac-worker-source.js') ? AAC_WORKER : null),
    async load(id) {
      if (id !== AAC_WORKER) return null;
      const plugins = [nodeResolve({ browser: true }), commonjs(), terser({ format: { comments: false } })];
      return `export const aacWorkerSource = ${JSON.stringify(await workerCode('dist/lib/components/core/aac-worker.js', plugins))};`;
    },
  };
}

/**
 * PeerJS imports webrtc-adapter (with the `sdp` parser, ~14 KiB gzip) to patch browsers of 2018 and to name the
 * browser. Every browser we support speaks standard WebRTC, so the bundle gets only the name and version PeerJS reads
 * (`browserDetails`, from the user agent, as the adapter computes them).
 */
const ADAPTER = '\0webrtc-adapter-lite';
function webrtcAdapterLite() {
  return {
    name: 'webrtc-adapter-lite',
    resolveId: (source) => (source === 'webrtc-adapter' ? ADAPTER : null),
    load: (id) =>
      id === ADAPTER
        ? `const ua = typeof navigator === 'undefined' ? '' : navigator.userAgent;
const m = /Firefox\\/(\\d+)/.exec(ua) ? ['firefox', /Firefox\\/(\\d+)/.exec(ua)] : /Chrom(?:e|ium)\\/(\\d+)/.exec(ua) ? ['chrome', /Chrom(?:e|ium)\\/(\\d+)/.exec(ua)]
  : /AppleWebKit\\/(\\d+)/.exec(ua) ? ['safari', /AppleWebKit\\/(\\d+)/.exec(ua)] : ['Not a supported browser.', null];
export default { browserDetails: { browser: m[0], version: m[1] ? Number(m[1][1]) : null, supportsUnifiedPlan: true } };`
        : null,
  };
}

/**
 * PeerJS's default data serialization, BinaryPack (~2.5 KiB gzip), is never used: our data connections are `raw`, and
 * the session closes any other kind a peer opens. The module is replaced by one that refuses, so a peer that opens
 * one anyway gets nothing decoded.
 */
const BINARYPACK = '\0binarypack-refused';
function noBinaryPack() {
  return {
    name: 'no-binarypack',
    resolveId: (source) => (source === 'peerjs-js-binarypack' ? BINARYPACK : null),
    load: (id) =>
      id === BINARYPACK
        ? `const refuse = () => { throw new Error('av-elements uses raw data connections only'); };
export const pack = refuse;
export const unpack = refuse;`
        : null,
  };
}

/**
 * Cuts in PeerJS, each found by its text (the build fails if PeerJS changes it):
 * - `util.supports` is a probe run when the bundle loads: an RTCPeerConnection (with PeerJS's public STUN/TURN servers
 *   in its config) and a data channel, only to fill booleans our browsers all answer alike. It becomes plain checks;
 *   only `audioVideo` and `data` are read (a Peer refuses to start without either), `binaryBlob` is for the BinaryPack
 *   serialization we do not ship. The page's first RTCPeerConnection is then its first call's.
 * - `supports.toString()` and the `isUnifiedPlanSupported()` it alone calls (another probe connection) are never used.
 * - `peer.listAllPeers()` (deprecated; our server does not allow discovery) and the API call behind it.
 */
const PEERJS_CUTS = [
  {
    from: 'this.supports = function() {',
    to: '}(), // Ensure alphanumeric ids',
    with: "this.supports = { browser: true, webRTC: typeof RTCPeerConnection < 'u', audioVideo: typeof RTCPeerConnection < 'u', data: typeof RTCPeerConnection < 'u', binaryBlob: false, reliable: true }, // Ensure alphanumeric ids",
  },
  { from: '    isUnifiedPlanSupported() {', to: 'isUnifiedPlanSupported:${this.isUnifiedPlanSupported()}`;\n    }\n', with: '' },
  {
    from: '    /** @deprecated */ async listAllPeers() {',
    to: 'Could not get list peers from the server." + error);\n        }\n    }\n',
    with: '',
  },
  { from: ' listAllPeers(cb = (_)=>{}) {', to: '.ServerError, error));\n    }\n', with: '\n' },
  // Our data connections are raw, and the signalling gate drops other offers before PeerJS sees them: the BinaryPack
  // and JSON serializers go.
  {
    from: 'super(), this._serializers = {\n            raw: (0, $bbaee3f15f714663$export$6f88fe47d32c9c94),',
    to: 'default: (0, $9fcfddb3ae148f88$export$f0a5a64d5bb37108)\n        }',
    with: 'super(), this._serializers = { raw: (0, $bbaee3f15f714663$export$6f88fe47d32c9c94) }',
  },
];
function peerjsSupportsLite() {
  return {
    name: 'peerjs-supports-lite',
    transform(code, id) {
      if (!id.endsWith('/peerjs/dist/bundler.mjs')) return null;
      for (const cut of PEERJS_CUTS) {
        const from = code.indexOf(cut.from);
        const to = code.indexOf(cut.to, from);
        if (from < 0 || to < 0) throw new Error(`peerjs-supports-lite: PeerJS changed "${cut.from}"; look again`);
        code = code.slice(0, from) + cut.with + code.slice(to + cut.to.length);
      }
      return { code, map: null };
    },
  };
}

/**
 * Marks the entry for eager compilation (V8's explicit compile hints): Chromium compiles every function of the bundle
 * on a background thread while it streams in, instead of lazily on the main thread the first time each one runs, which
 * was ~150 functions (10–20 ms) inside the join. The comment must survive minification, hence after terser; the
 * source map gains one empty line to match.
 */
function compileHints() {
  const HINT = '//# allFunctionsCalledOnLoad\n';
  return {
    name: 'compile-hints',
    generateBundle(_options, bundle) {
      const entry = bundle['av-elements.js'];
      const map = bundle['av-elements.js.map'];
      if (!entry || entry.type !== 'chunk') return;
      entry.code = HINT + entry.code;
      if (map?.type === 'asset') {
        const json = JSON.parse(String(map.source));
        json.mappings = ';' + json.mappings;
        map.source = JSON.stringify(json);
      }
    },
  };
}

/**
 * The script-tag bundle: our code (already compiled by tsc into dist/lib) + lit + peerjs in one minified ES module,
 * dist/av-elements.js. Recording code, ffmpeg.wasm's wrapper, mediabunny (MP4 muxing; its AAC encoder, a 1 MB module
 * with its wasm inlined) and the SHA-256 wasm are split into dist/chunks/, loaded by the bundle when a recorder or a
 * file transfer needs them. `sdp` (a peerjs dependency) is CommonJS, hence the commonjs plugin.
 */
export default {
  input: 'dist/lib/components/index.js',
  // Let shared code live in the entry itself (no facade module and no extra request at start).
  preserveEntrySignatures: 'allow-extension',
  output: {
    dir: 'dist',
    entryFileNames: 'av-elements.js',
    chunkFileNames: (chunk) => {
      const from = (pkg) => chunk.moduleIds.some((id) => id.includes(`/node_modules/${pkg}/`));
      const name = from('@ffmpeg/ffmpeg')
        ? 'ffmpeg'
        : from('hash-wasm')
          ? 'sha256'
          : chunk.moduleIds.includes(AAC_WORKER)
            ? 'aac-worker'
            : from('mediabunny')
              ? 'mediabunny'
              : chunk.name;
      return `chunks/${name}-[hash].js`;
    },
    format: 'es',
    sourcemap: true,
  },
  plugins: [
    ffmpegAssets(),
    aacWorker(),
    webrtcAdapterLite(),
    noBinaryPack(),
    peerjsSupportsLite(),
    nodeResolve({ browser: true }),
    commonjs(),
    terser({ format: { comments: false }, compress: { passes: 2 } }),
    compileHints(),
  ],
  onwarn(warning, warn) {
    if (warning.code === 'THIS_IS_UNDEFINED') return;
    warn(warning);
  },
};
