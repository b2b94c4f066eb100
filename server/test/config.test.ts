import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { ConfigError, OPTIONS, helpText, loadConfig } from '../config.js';

const files: Record<string, string> = {
  'good.json': JSON.stringify({
    port: 7000,
    host: '0.0.0.0',
    maxParticipants: 4,
    rooms: { board: { password: 'b' } },
    turn: { urls: ['turn:t:3478'], secret: 'file-secret' },
  }),
  'bad-type.json': JSON.stringify({ port: 'eighty' }),
  'unknown.json': JSON.stringify({ turn: { urls: ['turn:t'], secret: 's', colour: 'red' } }),
  'broken.json': '{ "port": ',
};
const read = (p: string) => {
  if (!(p in files)) throw new Error('ENOENT');
  return files[p]!;
};
const load = (argv: string[], env: Record<string, string> = {}) => loadConfig(argv, env, read).config;

test('defaults need no configuration', () => {
  const c = load([]);
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.port, 9000);
  assert.equal(c.peerPath, '/peerjs');
  assert.equal(c.maxParticipants, 6);
  assert.equal(c.turn, undefined);
});

test('precedence: defaults < config file < environment < flags', () => {
  assert.equal(load(['--config', 'good.json']).port, 7000);
  assert.equal(load(['--config', 'good.json'], { AV_PORT: '7100' }).port, 7100);
  assert.equal(load(['--config', 'good.json', '--port', '7200'], { AV_PORT: '7100' }).port, 7200);
  assert.equal(load([], { AV_CONFIG: 'good.json' }).host, '0.0.0.0');
  const c = load(['--config', 'good.json', '--turn-secret', 'flag-secret'], { AV_MAX_PARTICIPANTS: '3' });
  assert.deepEqual(c.turn, { urls: ['turn:t:3478'], secret: 'flag-secret', ttlSeconds: 3600 }, 'nested keys merge');
  assert.equal(c.maxParticipants, 3);
  assert.deepEqual(c.rooms, { board: { password: 'b' } });
  assert.deepEqual(load(['--room-password', 'a=1', '--room-password', 'b=2']).rooms, { a: { password: '1' }, b: { password: '2' } });
  assert.deepEqual(load([], { AV_TURN_URLS: 'turn:a:1, turn:b:2', AV_TURN_SECRET: 'x' }).turn?.urls, ['turn:a:1', 'turn:b:2']);
  assert.equal(load(['--turn']).localTurn?.enabled, true);
  assert.equal(load([], { AV_LOCAL_TURN: 'yes' }).localTurn?.enabled, true);
});

test('validation names the bad key and where it came from', () => {
  const fails = (argv: string[], env: Record<string, string>, message: RegExp) =>
    assert.throws(
      () => load(argv, env),
      (e: unknown) => e instanceof ConfigError && message.test(e.message),
      message.source,
    );
  fails(['--port', '70000'], {}, /^invalid config: port \(from --port\): .*65535/);
  fails([], { AV_PORT: 'x' }, /port \(from env AV_PORT\): expected an integer/);
  fails(['--config', 'bad-type.json'], {}, /port \(from config file bad-type\.json\)/);
  fails(['--config', 'unknown.json'], {}, /turn\.colour \(from config file unknown\.json\): unknown key/);
  fails(['--config', 'broken.json'], {}, /not valid JSON/);
  fails(['--config', 'missing.json'], {}, /cannot read config file missing\.json/);
  fails(['--turn-url', 'http://x'], {}, /turn\.urls\.0 .*turn:/);
  fails(['--turn-url', 'turn:x'], {}, /turn\.secret: is required/);
  fails(['--log-level', 'loud'], {}, /logLevel \(from --log-level\)/);
  fails(['--peer-path', 'a/b'], {}, /peerPath/);
  fails(['--nope'], {}, /unknown option --nope/);
  fails(['--room-password', 'nopassword'], {}, /room=password/);
  fails([], { AV_LOCAL_TURN: 'maybe' }, /localTurn\.enabled \(from env AV_LOCAL_TURN\): expected true or false/);
});

test('--help lists every option with its environment variable', () => {
  const help = helpText();
  for (const o of OPTIONS) {
    assert.ok(help.includes(`--${o.flag}`), `--${o.flag} in help`);
    assert.ok(help.includes(o.env), `${o.env} in help`);
  }
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'server/cli.ts', '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.equal(r.stdout, help);
  const bad = spawnSync(process.execPath, ['--import', 'tsx', 'server/cli.ts', '--port', 'many'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /port \(from --port\): expected an integer/);
});
