// @web/test-runner: element tests in Debian's Chromium with fake devices, against a real av-server child process.
import { chromeLauncher } from '@web/test-runner-chrome';
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { register } from 'tsx/esm/api';

register();
const { startServer } = await import('./test/helpers/server.ts');
const { CHROMIUM_ARGS, CHROMIUM_PATH } = await import('./test/helpers/browser.ts');

let avServer;

/** Starts the av-server before the tests and stops it (by PID) after them. */
const avServerPlugin = {
  name: 'av-server',
  async serverStart() {
    avServer = await startServer();
  },
  async serverStop() {
    await avServer?.stop();
  },
};

/** peerjs → webrtc-adapter → sdp, which is CommonJS: give it an ES default export. */
const sdpAsEsm = {
  name: 'sdp-as-esm',
  transform(context) {
    if (/\/node_modules\/sdp\/sdp\.js$/.test(context.path)) {
      return { body: `const module = { exports: {} };\n${context.body}\nexport default module.exports;` };
    }
  },
};

export default {
  files: ['components/**/*.test.ts'],
  nodeResolve: { browser: true },
  concurrency: 1,
  browsers: [chromeLauncher({ launchOptions: { executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS } })],
  plugins: [avServerPlugin, sdpAsEsm, esbuildPlugin({ ts: true, tsconfig: 'tsconfig.json', target: 'es2022' })],
  testFramework: { config: { timeout: 40_000 } },
  testsFinishTimeout: 10 * 60_000,
  testRunnerHtml: (testFramework) => `<!doctype html><html><body>
    <script>window.AV_SERVER = ${JSON.stringify(avServer?.url ?? '')};</script>
    <script type="module" src="${testFramework}"></script>
  </body></html>`,
};
