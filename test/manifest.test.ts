// custom-elements.json is generated from JSDoc and committed: fail when the committed file is stale.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { test } from 'node:test';

test('custom-elements.json matches what the analyzer generates from the sources', () => {
  const out = '.tmp/cem-check';
  rmSync(out, { recursive: true, force: true });
  execFileSync(process.execPath, ['node_modules/@custom-elements-manifest/analyzer/cem.js', 'analyze', '--outdir', out], { stdio: 'pipe' });
  const fresh = JSON.parse(readFileSync(`${out}/custom-elements.json`, 'utf8'));
  const committed = JSON.parse(readFileSync('custom-elements.json', 'utf8'));
  rmSync(out, { recursive: true, force: true });
  assert.deepEqual(committed, fresh, 'custom-elements.json is stale: run `npm run analyze` and commit it');
  const room = fresh.modules.flatMap((m: any) => m.declarations ?? []).find((d: any) => d.tagName === 'av-room');
  assert.ok(room, 'av-room is in the manifest');
  for (const e of ['av-room-join', 'av-room-leave', 'av-peer-join', 'av-peer-leave', 'av-room-error']) {
    assert.ok(
      room.events.some((x: any) => x.name === e),
      `${e} is documented`,
    );
  }
});

test('the manifest lists no bogus entries: events are av- names with a description, every element has its tag', () => {
  const manifest = JSON.parse(readFileSync('custom-elements.json', 'utf8'));
  const elements = manifest.modules.flatMap((m: any) => m.declarations ?? []).filter((d: any) => d.customElement);
  assert.deepEqual(elements.map((d: any) => d.tagName).sort(), ['av-chat', 'av-file', 'av-recorder', 'av-room']);
  for (const el of elements) {
    for (const e of el.events ?? []) {
      assert.match(e.name, /^av-[a-z-]+$/, `${el.tagName}: event "${e.name}"`);
      assert.ok(e.description, `${el.tagName}: event ${e.name} has a description`);
    }
    for (const a of el.attributes ?? []) assert.match(a.name, /^[a-z][a-z0-9-]*$/, `${el.tagName}: attribute "${a.name}"`);
  }
});

test('each element README carries the API tables of the committed manifest (npm run docs)', () => {
  const r = spawnSync(process.execPath, ['scripts/docs.mjs', '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  for (const tag of ['av-room', 'av-chat', 'av-file', 'av-recorder']) {
    const readme = readFileSync(`components/${tag}/README.md`, 'utf8');
    assert.match(readme, /<!-- api:start[^]*\| attribute \| property \| type \| default \| description \|[^]*<!-- api:end -->/, tag);
    assert.doesNotMatch(readme.slice(readme.indexOf('<!-- api:start')), /`type` \| `CustomEvent`/, `${tag}: no bogus event`);
  }
});

test('the suite tokens documented in the manifest are exactly those components/shared/theme.ts reads', async () => {
  const config = '../custom-elements-manifest.config.mjs';
  const { SUITE_TOKENS } = (await import(config)) as { SUITE_TOKENS: { name: string }[] };
  const source = readFileSync('components/shared/theme.ts', 'utf8');
  const read = [...new Set([...source.matchAll(/var\((--av-[a-z-]+)/g)].map((m) => m[1]))].sort();
  assert.deepEqual(SUITE_TOKENS.map((t: { name: string }) => t.name).sort(), read);
  for (const el of ['av-room', 'av-chat', 'av-file', 'av-recorder']) {
    const manifest = JSON.parse(readFileSync('custom-elements.json', 'utf8'));
    const decl = manifest.modules
      .flatMap((m: { declarations?: unknown[] }) => m.declarations ?? [])
      .find((d: { tagName?: string }) => d.tagName === el);
    const names = decl.cssProperties.map((p: { name: string }) => p.name);
    for (const t of read) assert.ok(names.includes(t), `${el} lists ${t}`);
  }
});
