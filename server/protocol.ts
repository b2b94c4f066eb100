import { z } from 'zod';
import type { ClientMessage } from '../components/core/room-protocol.js';

const CONTROL_CHARS = /[\p{Cc}\u2028\u2029]/gu;

const media = z.object({ audio: z.boolean(), video: z.boolean(), screen: z.boolean().optional(), stereo: z.boolean().optional() }).strict();
const role = z.enum(['member', 'presenter', 'viewer']);
const secret = z.string().max(1024, 'secrets are at most 1024 characters');

/** Display names: trimmed, control characters removed, 1–64 characters. Rendered as text by clients. */
const displayName = z
  .string()
  .transform((s) => s.replace(CONTROL_CHARS, '').trim())
  .pipe(z.string().min(1, 'name must not be empty').max(64, 'name must be at most 64 characters'));

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** A JSON value (`data`) or base64 bytes (`bin`), exactly one of them. */
function withPayload<T extends z.ZodRawShape>(shape: T) {
  return z
    .object({ ...shape, data: z.json().optional(), bin: z.string().regex(BASE64, 'bin must be base64').optional() })
    .strict()
    .refine((m) => {
      const p = m as { data?: unknown; bin?: string };
      return (p.data === undefined) !== (p.bin === undefined);
    }, 'exactly one of "data" and "bin" is required');
}

const schemas = {
  join: z
    .object({
      type: z.literal('join'),
      name: displayName,
      media: media.optional(),
      role: role.optional(),
      key: secret.optional(),
      password: secret.optional(),
      token: z.string().max(4096).optional(),
      maxParticipants: z.number().int().min(1).max(64).optional(),
      fanout: z.number().int().min(1).max(64).optional(),
      resume: z.string().min(16).max(64).optional(),
    })
    .strict(),
  leave: z.object({ type: z.literal('leave') }).strict(),
  update: z.object({ type: z.literal('update'), media }).strict(),
  ping: z.object({ type: z.literal('ping'), t: z.number().finite().optional() }).strict(),
  relay: withPayload({
    type: z.literal('relay'),
    to: z.string().max(64),
    ch: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,31}$/)
      .optional(),
    except: z.array(z.string().max(64)).max(64).optional(),
  }),
  'route-lost': z.object({ type: z.literal('route-lost') }).strict(),
  app: withPayload({ type: z.literal('app') }),
};

export type ParseResult =
  { ok: true; message: ClientMessage } | { ok: false; code: 'bad-json' | 'unknown-type' | 'invalid-message'; message: string };

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
