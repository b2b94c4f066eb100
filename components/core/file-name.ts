/**
 * A file name that is safe to show and to save: no directories, no control or reserved characters, no leading
 * dots, at most 200 characters, never empty. Peers are untrusted; so are the names they send.
 */
export function safeFileName(name: unknown): string {
  const base = (typeof name === 'string' ? name : '')
    .split(/[\\/]/)
    .pop()!
    .replace(/[\p{Cc}<>:"|?*\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu, '_')
    .replace(/^[.\s]+/, '')
    .replace(/[.\s]+$/, '')
    .slice(0, 200);
  return base || 'file';
}
