// Makes sure Debian's Chromium, Firefox ESR, coturn, openssl, ffmpeg (ffprobe), redis-server and nginx are present: installs them with apt when root, else says exactly what to run.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const firefox = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr';
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

export function ensureSystemDeps() {
  const missing = [];
  if (!existsSync(chromium)) missing.push('chromium');
  // The second engine: interop tests and element tests in Firefox.
  if (!existsSync(firefox)) missing.push('firefox-esr');
  if (!has('turnserver')) missing.push('coturn');
  // The TLS test makes a self-signed certificate with it.
  if (!has('openssl')) missing.push('openssl');
  // Recording tests check the files with Debian's ffprobe (never used by the product itself).
  if (!has('ffprobe')) missing.push('ffmpeg');
  // Cluster tests run real Redis and nginx processes of their own on ephemeral ports.
  if (!has('redis-server')) missing.push('redis-server');
  if (!has('nginx') && !existsSync('/usr/sbin/nginx')) missing.push('nginx');
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    console.error(
      `Missing system packages: ${missing.join(' ')}.\nInstall them with:\n  sudo apt-get update && sudo apt-get install -y ${missing.join(' ')}`,
    );
    process.exit(1);
  }
  console.log(`Installing ${missing.join(' ')} with apt-get…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', ...missing], { stdio: 'inherit', env });
}

if (import.meta.url === `file://${process.argv[1]}`) ensureSystemDeps();
