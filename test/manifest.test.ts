// custom-elements.json is generated from JSDoc and committed: fail when the committed file is stale.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
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
