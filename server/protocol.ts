import { z } from 'zod';
import type { ClientMessage } from '../components/core/room-protocol.js';
import { PEER_ID } from '../components/core/room-protocol.js';

const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

const media = z.object({ audio: z.boolean(), video: z.boolean() }).strict();

/** Display names: trimmed, control characters removed, 1–64 characters. Rendered as text by clients. */
const displayName = z
  .string()
  .transform((s) => s.replace(CONTROL_CHARS, '').trim())
  .pipe(z.string().min(1, 'name must not be empty').max(64, 'name must be at most 64 characters'));

const schemas = {
  join: z
    .object({
      type: z.literal('join'),
      name: displayName,
      peerId: z.string().regex(PEER_ID, 'peerId must be 4–64 letters, digits, "-" or "_"').optional(),
      media: media.optional(),
    })
    .strict(),
  leave: z.object({ type: z.literal('leave') }).strict(),
  update: z.object({ type: z.literal('update'), media }).strict(),
  ping: z.object({ type: z.literal('ping'), t: z.number().finite().optional() }).strict(),
} satisfies { [K in ClientMessage['type']]: z.ZodType<Extract<ClientMessage, { type: K }>, unknown> };

export type ParseResult =
  | { ok: true; message: ClientMessage }
  | { ok: false; code: 'bad-json' | 'unknown-type' | 'invalid-message'; message: string };

/** Parses one inbound text frame. Never throws. */
export function parseClientMessage(text: string): ParseResult {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { ok: false, code: 'bad-json', message: 'message is not valid JSON' };
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    return { ok: false, code: 'invalid-message', message: 'message must be a JSON object' };
  }
  const type = (data as { type?: unknown }).type;
  if (typeof type !== 'string') {
    return { ok: false, code: 'invalid-message', message: 'message has no "type" string' };
  }
  if (!Object.hasOwn(schemas, type)) {
    return { ok: false, code: 'unknown-type', message: `unknown message type "${type.slice(0, 32)}"` };
  }
  const result = schemas[type as keyof typeof schemas].safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    return { ok: false, code: 'invalid-message', message: `invalid "${type}" message: ${where}${issue?.message ?? 'bad shape'}` };
  }
  return { ok: true, message: result.data as ClientMessage };
}
