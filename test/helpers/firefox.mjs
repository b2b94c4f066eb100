// Debian's Firefox ESR, driven over WebDriver BiDi with puppeteer-core: fake camera and microphone, no prompts, no
// network beyond loopback. One launcher for tests (via browser.ts), web-test-runner and bench scripts.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer from 'puppeteer-core';

export const FIREFOX_PATH = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';

/**
 * Prefs for a quiet, offline test browser. Fake media without permission prompts and with autoplay; host candidates
 * not hidden behind mDNS names (loopback calls need them); everything that phones home turned off. `proxyPort` points
 * every non-loopback request at a local port that refuses it, as a backstop.
 */
export function firefoxPrefs(proxyPort) {
  return {
    'media.navigator.streams.fake': true,
    'media.navigator.permission.disabled': true,
    'media.autoplay.default': 0,
    'media.autoplay.blocking_policy': 0,
    // Else an AudioContext stays suspended until a user gesture (Web Audio sources, mixes and meters silent)…
    'media.autoplay.block-webaudio': false,
    // …or for good in a headless page, which never counts as in the foreground.
    'media.block-autoplay-until-in-foreground': false,
    'media.peerconnection.ice.obfuscate_host_addresses': false,
    // Off the network.
    'app.update.enabled': false,
    'app.update.auto': false,
    'app.normandy.enabled': false,
    'app.shield.optoutstudies.enabled': false,
    'browser.safebrowsing.malware.enabled': false,
    'browser.safebrowsing.phishing.enabled': false,
    'browser.safebrowsing.downloads.enabled': false,
    'browser.safebrowsing.downloads.remote.enabled': false,
    'browser.safebrowsing.provider.mozilla.updateURL': '',
    'browser.newtabpage.enabled': false,
    'browser.newtabpage.activity-stream.feeds.system.topstories': false,
    'browser.newtabpage.activity-stream.feeds.snippets': false,
    'browser.region.network.url': '',
    'browser.region.update.enabled': false,
    'browser.search.update': false,
    'browser.ping-centre.telemetry': false,
    'captivedetect.canonicalURL': '',
    'datareporting.healthreport.uploadEnabled': false,
    'datareporting.policy.dataSubmissionEnabled': false,
    'dom.push.enabled': false,
    'extensions.update.enabled': false,
    'extensions.getAddons.cache.enabled': false,
    'geo.provider.network.url': '',
    'media.gmp-manager.url': '',
    'media.gmp-gmpopenh264.enabled': false,
    'media.gmp-gmpopenh264.autoupdate': false,
    'network.captive-portal-service.enabled': false,
    'network.connectivity-service.enabled': false,
    'network.dns.disablePrefetch': true,
    'network.http.speculative-parallel-limit': 0,
    'network.predictor.enabled': false,
    'network.prefetch-next': false,
    'network.trr.mode': 5,
    'security.OCSP.enabled': 0,
    'services.settings.server': 'http://127.0.0.1:1/',
    'toolkit.telemetry.enabled': false,
    'toolkit.telemetry.unified': false,
    'toolkit.telemetry.server': '',
    ...(proxyPort
      ? {
          'network.proxy.type': 1,
          'network.proxy.http': '127.0.0.1',
          'network.proxy.http_port': proxyPort,
          'network.proxy.ssl': '127.0.0.1',
          'network.proxy.ssl_port': proxyPort,
          'network.proxy.no_proxies_on': 'localhost, 127.0.0.1',
          'network.proxy.allow_hijacking_localhost': false,
        }
      : {}),
  };
}

/** A local "proxy" that refuses everything: any request Firefox tries to make off the machine ends here, counted. */
export async function refusingProxy() {
  const escapes = [];
  const server = createServer((req, res) => {
    escapes.push(req.url);
    res.writeHead(403).end();
  });
  server.on('connect', (req, socket) => {
    escapes.push(`CONNECT ${req.url}`);
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { port: server.address().port, escapes, close: () => new Promise((r) => server.close(r)) };
}

/** Environment of a browser with its own temporary HOME (so nothing is written into the real one). */
export function browserEnv(home) {
  return {
    ...process.env,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_CACHE_HOME: join(home, '.cache'),
    // Firefox 153 honours `services.settings.server` only with this set.
    MOZ_REMOTE_SETTINGS_DEVTOOLS: '1',
  };
}

/** Launch options for puppeteer-core (also used by web-test-runner's launcher). */
export function firefoxLaunchOptions(home, proxyPort) {
  return {
    browser: 'firefox',
    executablePath: FIREFOX_PATH,
    headless: true,
    protocol: 'webDriverBiDi',
    extraPrefsFirefox: firefoxPrefs(proxyPort),
    env: browserEnv(home),
  };
}

/**
 * A headless Firefox ESR with a fresh profile and its own temporary HOME; `close()` removes both. `escapes` lists
 * requests it tried to send off the machine (should stay empty).
 */
export async function launchFirefox() {
  const home = mkdtempSync(join(tmpdir(), 'av-firefox-'));
  const proxy = await refusingProxy();
  const browser = await puppeteer.launch(firefoxLaunchOptions(home, proxy.port));
  return {
    browser,
    escapes: proxy.escapes,
    async close() {
      await browser.close().catch(() => {});
      await proxy.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}
