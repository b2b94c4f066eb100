/**
 * Small, pure edits of session descriptions that the WebRTC API has no setter for: Opus parameters (stereo, bitrate,
 * capture rate), the video start bitrate and, for the offer PeerJS creates before we can reach its transceivers, the
 * codec order.
 */

const EOL = '\r\n';

function lines(sdp: string): string[] {
  return sdp.split(/\r?\n/).filter((l, i, all) => l !== '' || i < all.length - 1);
}

/** Payload types of `codec` (case-insensitive encoding name, e.g. `opus`, `VP9`) in the `kind` m-section(s). */
function payloadTypes(sdp: string, codec: string): number[] {
  const re = new RegExp(`^a=rtpmap:(\\d+) ${codec}/`, 'i');
  return lines(sdp)
    .map((l) => re.exec(l)?.[1])
    .filter((pt): pt is string => !!pt)
    .map(Number);
}

/**
 * Sets Opus fmtp parameters (`stereo`, `sprop-stereo`, `maxaveragebitrate`, `sprop-maxcapturerate`, …): added, or
 * replaced when present; `undefined` removes one.
 */
export function setOpusParams(sdp: string, params: Record<string, string | number | undefined>): string {
  const opus = new Set(payloadTypes(sdp, 'opus'));
  if (opus.size === 0) return sdp;
  const out = lines(sdp).map((line) => {
    const m = /^a=fmtp:(\d+) (.*)$/.exec(line);
    if (!m || !opus.has(Number(m[1]))) return line;
    const current = new Map(
      m[2]!
        .split(';')
        .map((p) => p.trim())
        .filter(Boolean)
        .map((p) => {
          const eq = p.indexOf('=');
          return eq < 0 ? ([p, ''] as const) : ([p.slice(0, eq), p.slice(eq + 1)] as const);
        }),
    );
    for (const [k, v] of Object.entries(params)) {
      if (v === undefined) current.delete(k);
      else current.set(k, String(v));
    }
    return `a=fmtp:${m[1]} ${[...current].map(([k, v]) => (v === '' ? k : `${k}=${v}`)).join(';')}`;
  });
  return out.join(EOL) + EOL;
}

/**
 * Asks the other side to start sending our video at `kbps` (Chromium's `x-google-start-bitrate`, on every video codec;
 * other engines ignore it). Chromium otherwise starts a call at 300 kbit/s, below what it wants for 640x480, and drops
 * the first frames while it scales down: the first frame shown comes later, and smaller.
 */
export function startVideoBitrate(sdp: string, kbps: number): string {
  const pts = new Set(['VP8', 'VP9', 'H264', 'AV1'].flatMap((c) => payloadTypes(sdp, c)));
  const param = `x-google-start-bitrate=${Math.round(kbps)}`;
  const all = lines(sdp);
  const withFmtp = new Set(all.filter((l) => l.startsWith('a=fmtp:')).map((l) => parseInt(l.slice(7))));
  const out = all.flatMap((line) => {
    const pt = Number(/^a=(?:rtpmap|fmtp):(\d+) /.exec(line)?.[1]);
    if (!pts.has(pt)) return [line];
    if (line.startsWith('a=fmtp:')) return [`${line};${param}`];
    return withFmtp.has(pt) ? [line] : [line, `a=fmtp:${pt} ${param}`];
  });
  return out.join(EOL) + EOL;
}

/**
 * Moves `codec`'s payload types (and their retransmission types) to the front of every `kind` m-line, so the other
 * side sends it. Returns the description unchanged when the codec is absent.
 */
export function preferCodec(sdp: string, kind: 'audio' | 'video', codec: string): string {
  const all = lines(sdp);
  const wanted = new Set(payloadTypes(sdp, codec));
  if (wanted.size === 0) return sdp;
  // RTX payloads that repair the wanted ones follow them.
  for (const line of all) {
    const m = /^a=fmtp:(\d+) apt=(\d+)/.exec(line);
    if (m && wanted.has(Number(m[2]))) wanted.add(Number(m[1]));
  }
  const out = all.map((line) => {
    const m = /^(m=(\w+) \d+(?:\/\d+)? [\w/]+) (.*)$/.exec(line);
    if (!m || m[2] !== kind) return line;
    const pts = m[3]!.split(' ');
    const first = pts.filter((pt) => wanted.has(Number(pt)));
    const rest = pts.filter((pt) => !wanted.has(Number(pt)));
    return `${m[1]} ${[...first, ...rest].join(' ')}`;
  });
  return out.join(EOL) + EOL;
}

/** The Opus fmtp parameters of a description, for tests and diagnostics. */
export function opusParams(sdp: string): Record<string, string> {
  const pt = payloadTypes(sdp, 'opus')[0];
  if (pt === undefined) return {};
  const line = lines(sdp).find((l) => l.startsWith(`a=fmtp:${pt} `));
  return Object.fromEntries(
    (line?.slice(`a=fmtp:${pt} `.length) ?? '')
      .split(';')
      .filter(Boolean)
      .map((p) => p.trim().split('=') as [string, string]),
  );
}
