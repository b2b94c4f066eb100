import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseClientMessage } from '../protocol.js';

test('parses a valid join and cleans the name', () => {
  const r = parseClientMessage(JSON.stringify({ type: 'join', name: '  Ann\u0000\u001b ', media: { audio: true, video: false } }));
  assert.deepEqual(r, { ok: true, message: { type: 'join', name: 'Ann', media: { audio: true, video: false } } });
});

test('rejects what is not a well-formed message, with a code and a reason', () => {
  const cases: [string, string, RegExp][] = [
    ['{', 'bad-json', /not valid JSON/],
    ['42', 'invalid-message', /JSON object/],
    ['[]', 'invalid-message', /JSON object/],
    ['{}', 'invalid-message', /no "type"/],
    ['{"type":"teleport"}', 'unknown-type', /teleport/],
    ['{"type":"__proto__"}', 'unknown-type', /__proto__/],
    ['{"type":"join"}', 'invalid-message', /name/],
    ['{"type":"join","name":"   "}', 'invalid-message', /empty/],
    [JSON.stringify({ type: 'join', name: 'x'.repeat(65) }), 'invalid-message', /64/],
    ['{"type":"join","name":"A","peerId":"../x"}', 'invalid-message', /peerId/],
    ['{"type":"join","name":"A","extra":1}', 'invalid-message', /extra|Unrecognized/i],
    ['{"type":"update","media":{"audio":"yes","video":true}}', 'invalid-message', /media\.audio/],
  ];
  for (const [text, code, reason] of cases) {
    const r = parseClientMessage(text);
    assert.equal(r.ok, false, text);
    if (!r.ok) {
      assert.equal(r.code, code, text);
      assert.match(r.message, reason, text);
    }
  }
});
