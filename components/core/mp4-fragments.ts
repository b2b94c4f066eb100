/**
 * Reads the audio samples out of a fragmented MP4 while it is being written (Chromium's MediaRecorder MP4: ftyp, moov
 * with an empty sample table and mvex, then moof + mdat pairs). Only what the recorder's live AAC track needs: the
 * audio track's Opus parameters and its samples in order. Bytes may be pushed in pieces of any size.
 */

/** A box: its type, where its payload starts and where it ends (offsets into the buffer it was read from). */
export interface Mp4Box {
  type: string;
  start: number;
  payload: number;
  end: number;
}

/** The boxes one after another in `bytes[start, end)`; a box that does not fit (still being written) ends the walk. */
export function readBoxes(bytes: Uint8Array, start = 0, end = bytes.length): Mp4Box[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const boxes: Mp4Box[] = [];
  let at = start;
  while (at + 8 <= end) {
    let size = view.getUint32(at);
    let header = 8;
    if (size === 1) {
      if (at + 16 > end) break;
      size = Number(view.getBigUint64(at + 8));
      header = 16;
    } else if (size === 0) size = end - at;
    if (size < header || at + size > end) break;
    const type = String.fromCharCode(bytes[at + 4]!, bytes[at + 5]!, bytes[at + 6]!, bytes[at + 7]!);
    boxes.push({ type, start: at, payload: at + header, end: at + size });
    at += size;
  }
  return boxes;
}

/** The first box found by following `path` (e.g. `['moov', 'trak']` gives the first trak), or undefined. */
export function findBox(bytes: Uint8Array, path: string[], start = 0, end = bytes.length): Mp4Box | undefined {
  let box: Mp4Box | undefined;
  for (const type of path) {
    box = readBoxes(bytes, start, end).find((b) => b.type === type);
    if (!box) return undefined;
    start = box.payload;
    end = box.end;
  }
  return box;
}

/** The audio track of the recording, as the moov box describes it. */
export interface Mp4AudioTrack {
  trackId: number;
  /** Ticks per second of the track's sample times. */
  timescale: number;
  /** Sample entry type: `Opus`, `mp4a`, … */
  codec: string;
  channels: number;
  sampleRate: number;
  /** Opus pre-skip: decoded samples at the start to drop (they still take their place in time). */
  preSkip: number;
}

/** One audio sample (an Opus packet) and its decode time in track ticks. */
export interface Mp4Sample {
  data: Uint8Array;
  time: number;
  duration: number;
}

const u32 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset + at, 4).getUint32(0);
const u16 = (b: Uint8Array, at: number) => (b[at]! << 8) | b[at + 1]!;

/** Track id, timescale and sound sample entry of every `soun` trak in a moov payload; the first is returned. */
function audioTrackOf(bytes: Uint8Array, moov: Mp4Box): Mp4AudioTrack | undefined {
  for (const trak of readBoxes(bytes, moov.payload, moov.end).filter((b) => b.type === 'trak')) {
    const hdlr = findBox(bytes, ['mdia', 'hdlr'], trak.payload, trak.end);
    if (!hdlr || String.fromCharCode(...bytes.subarray(hdlr.payload + 8, hdlr.payload + 12)) !== 'soun') continue;
    const tkhd = findBox(bytes, ['tkhd'], trak.payload, trak.end)!;
    const mdhd = findBox(bytes, ['mdia', 'mdhd'], trak.payload, trak.end)!;
    const stsd = findBox(bytes, ['mdia', 'minf', 'stbl', 'stsd'], trak.payload, trak.end)!;
    const entry = readBoxes(bytes, stsd.payload + 8, stsd.end)[0]!;
    const v1 = (b: Mp4Box) => bytes[b.payload] === 1;
    // AudioSampleEntry: 8 reserved/data-reference bytes, 8 reserved, channelcount, samplesize, 4 more, samplerate 16.16.
    const channels = u16(bytes, entry.payload + 16);
    const sampleRate = u32(bytes, entry.payload + 24) >>> 16;
    const dOps = entry.type === 'Opus' ? findBox(bytes, ['dOps'], entry.payload + 28, entry.end) : undefined;
    return {
      trackId: u32(bytes, tkhd.payload + (v1(tkhd) ? 20 : 12)),
      timescale: u32(bytes, mdhd.payload + (v1(mdhd) ? 20 : 12)),
      codec: entry.type,
      channels: dOps ? bytes[dOps.payload + 1]! : channels,
      sampleRate: dOps ? u32(bytes, dOps.payload + 4) : sampleRate,
      preSkip: dOps ? u16(bytes, dOps.payload + 2) : 0,
    };
  }
  return undefined;
}

interface TrackDefaults {
  duration: number;
  size: number;
}

/** Reads moof + mdat pairs as they complete and hands out the audio track's samples, in order. */
export class FragmentedMp4AudioReader {
  /** Known once the moov box has arrived; undefined before, and after it when the recording has no audio. */
  track: Mp4AudioTrack | undefined;
  private pending = new Uint8Array(0);
  /** Stream offset of `pending[0]`. */
  private offset = 0;
  private defaults: TrackDefaults = { duration: 0, size: 0 };
  private moof: { bytes: Uint8Array; start: number } | undefined;
  private sawMoov = false;

  /** True once the init segment has been read (whether or not it has an audio track). */
  get ready(): boolean {
    return this.sawMoov;
  }

  /** Adds the next bytes of the file; returns the audio samples of every fragment they completed. */
  push(bytes: Uint8Array): Mp4Sample[] {
    const joined = new Uint8Array(this.pending.length + bytes.length);
    joined.set(this.pending);
    joined.set(bytes, this.pending.length);
    const samples: Mp4Sample[] = [];
    let used = 0;
    for (const box of readBoxes(joined)) {
      if (box.type === 'moov') this.readMoov(joined, box);
      else if (box.type === 'moof') this.moof = { bytes: joined.slice(box.start, box.end), start: this.offset + box.start };
      else if (box.type === 'mdat' && this.moof) {
        samples.push(...this.readFragment(this.moof, joined, box));
        this.moof = undefined;
      }
      used = box.end;
    }
    this.pending = joined.slice(used);
    this.offset += used;
    return samples;
  }

  private readMoov(bytes: Uint8Array, moov: Mp4Box): void {
    this.sawMoov = true;
    this.track = audioTrackOf(bytes, moov);
    if (!this.track) return;
    const mvex = findBox(bytes, ['mvex'], moov.payload, moov.end);
    for (const trex of mvex ? readBoxes(bytes, mvex.payload, mvex.end).filter((b) => b.type === 'trex') : []) {
      if (u32(bytes, trex.payload + 4) !== this.track.trackId) continue;
      this.defaults = { duration: u32(bytes, trex.payload + 12), size: u32(bytes, trex.payload + 16) };
    }
  }

  /** The audio samples of one fragment: the audio traf's tfhd/tfdt/trun, their data taken from the mdat that follows. */
  private readFragment(moof: { bytes: Uint8Array; start: number }, bytes: Uint8Array, mdat: Mp4Box): Mp4Sample[] {
    const track = this.track;
    if (!track) return [];
    const m = moof.bytes;
    const mdatStart = this.offset + mdat.payload;
    const data = (at: number, size: number) => {
      const from = at - this.offset;
      if (at < mdatStart || from + size > mdat.end) throw new Error('an MP4 sample lies outside its mdat');
      return bytes.slice(from, from + size);
    };
    const samples: Mp4Sample[] = [];
    for (const traf of readBoxes(m, 8).filter((b) => b.type === 'traf')) {
      const tfhd = findBox(m, ['tfhd'], traf.payload, traf.end)!;
      if (u32(m, tfhd.payload + 4) !== track.trackId) continue;
      const tfhdFlags = u32(m, tfhd.payload) & 0xffffff;
      let at = tfhd.payload + 8;
      let base = moof.start;
      if (tfhdFlags & 0x1) {
        base = Number(new DataView(m.buffer, m.byteOffset + at, 8).getBigUint64(0));
        at += 8;
      }
      if (tfhdFlags & 0x2) at += 4;
      let defaultDuration = this.defaults.duration;
      let defaultSize = this.defaults.size;
      if (tfhdFlags & 0x8) {
        defaultDuration = u32(m, at);
        at += 4;
      }
      if (tfhdFlags & 0x10) defaultSize = u32(m, at);
      const tfdt = findBox(m, ['tfdt'], traf.payload, traf.end);
      let time = 0;
      if (tfdt && m[tfdt.payload] === 1) time = Number(new DataView(m.buffer, m.byteOffset + tfdt.payload + 4, 8).getBigUint64(0));
      else if (tfdt) time = u32(m, tfdt.payload + 4);
      let next = base;
      for (const trun of readBoxes(m, traf.payload, traf.end).filter((b) => b.type === 'trun')) {
        const flags = u32(m, trun.payload) & 0xffffff;
        const count = u32(m, trun.payload + 4);
        let p = trun.payload + 8;
        if (flags & 0x1) {
          next = base + (u32(m, p) | 0);
          p += 4;
        }
        if (flags & 0x4) p += 4;
        for (let i = 0; i < count; i++) {
          let duration = defaultDuration;
          let size = defaultSize;
          if (flags & 0x100) {
            duration = u32(m, p);
            p += 4;
          }
          if (flags & 0x200) {
            size = u32(m, p);
            p += 4;
          }
          if (flags & 0x400) p += 4;
          if (flags & 0x800) p += 4;
          samples.push({ data: data(next, size), time, duration });
          next += size;
          time += duration;
        }
      }
    }
    return samples;
  }
}
