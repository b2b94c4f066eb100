// @web/test-runner: element tests in Debian's Chromium and Firefox ESR with fake devices, against a real av-server
// child process.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultReporter } from '@web/test-runner';
import { chromeLauncher } from '@web/test-runner-chrome';
import puppeteer from 'puppeteer-core';
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { a11ySnapshotPlugin } from '@web/test-runner-commands/plugins';
import { register } from 'tsx/esm/api';

register();
const { startServer } = await import('./test/helpers/server.ts');
const { CHROMIUM_ARGS, CHROMIUM_PATH } = await import('./test/helpers/browser.ts');
const { firefoxLaunchOptions, refusingProxy } = await import('./test/helpers/firefox.mjs');

/** Every element test; `WTR_FILES=components/core/room-link.test.ts npm run test:browser -- --group chromium` runs fewer. */
const FILES = process.env.WTR_FILES ? process.env.WTR_FILES.split(',') : ['components/**/*.test.ts'];

let avServer;
// Firefox gets its own HOME, and a proxy that refuses anything it would send off the machine.
const firefoxHome = mkdtempSync(join(tmpdir(), 'av-wtr-firefox-'));
const firefoxProxy = await refusingProxy();

/** Starts the av-server before the tests and stops it (by PID) after them. */
const avServerPlugin = {
  name: 'av-server',
  async serverStart() {
    avServer = await startServer();
  },
  async serverStop() {
    await avServer?.stop();
    await firefoxProxy.close();
    rmSync(firefoxHome, { recursive: true, force: true });
    if (firefoxProxy.escapes.length) console.log(`Firefox tried to reach beyond this machine: ${firefoxProxy.escapes.join(', ')}`);
  },
};

/**
 * The default reporter, with its summary printed once: in a piped log (npm test, CI) the runner prints progress when
 * the last test file ends (at most every 10 s) and again when it stops, and both carried the final summary.
 */
function oneSummary() {
  const base = defaultReporter();
  let stopped = false;
  return {
    ...base,
    stop() {
      stopped = true;
    },
    getTestProgress(args) {
      const report = base.getTestProgress(args);
      return !stopped && report.some((line) => String(line).includes('Finished running tests')) ? [] : report;
    },
  };
}

/** peerjs → webrtc-adapter → sdp, which is CommonJS: give it an ES default export. */
const sdpAsEsm = {
  name: 'sdp-as-esm',
  transform(context) {
    if (/\/node_modules\/sdp\/sdp\.js$/.test(context.path)) {
      return { body: `const module = { exports: {} };\n${context.body}\nexport default module.exports;` };
    }
  },
};

/**
 * A package's `browser` field that maps a Node module to nothing (`"worker_threads": false`, in
 * @mediabunny/aac-encoder) makes node-resolve import a virtual empty module the dev server cannot serve: serve it.
 */
const emptyModule = {
  name: 'node-resolve-empty',
  serve(context) {
    if (context.path.endsWith('/node-resolve:empty.js')) return { body: 'export default {};', type: 'js' };
  },
};

export default {
  // Lit's production build, as users get it (no "Lit is in dev mode" warning per file).
  nodeResolve: { browser: true, exportConditions: ['production'] },
  concurrency: 1,
  reporters: [oneSummary()],
  // One group per engine; `npm test` runs both at once (a bare `web-test-runner`), `--group chromium` or
  // `--group firefox` runs one. Firefox ESR is driven over WebDriver BiDi (the Chromium launcher drives any
  // puppeteer browser); tests that need what only Chromium has here are marked `chromiumOnly` with the reason.
  groups: [
    {
      name: 'chromium',
      files: FILES,
      browsers: [chromeLauncher({ launchOptions: { executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS } })],
    },
    {
      name: 'firefox',
      files: FILES,
      browsers: [chromeLauncher({ puppeteer, launchOptions: firefoxLaunchOptions(firefoxHome, firefoxProxy.port) })],
    },
  ],
  // a11ySnapshot(): the browser's accessibility tree, for the accessible names of buttons (not a default command).
  plugins: [
    avServerPlugin,
    sdpAsEsm,
    emptyModule,
    a11ySnapshotPlugin(),
    esbuildPlugin({ ts: true, tsconfig: 'tsconfig.json', target: 'es2022' }),
  ],
  testFramework: { config: { timeout: 40_000 } },
  testsFinishTimeout: 10 * 60_000,
  testRunnerHtml: (testFramework) => `<!doctype html><html><head><link rel="icon" href="data:,"></head><body>
    <script>window.AV_SERVER = ${JSON.stringify(avServer?.url ?? '')};</script>
    <script type="module" src="${testFramework}"></script>
  </body></html>`,
};
