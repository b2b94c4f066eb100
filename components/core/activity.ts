/**
 * Who is speaking, who speaks loudest, and how good each member's connection is: measured from what the browser
 * reports (RTP audio levels of received packets, an analyser on our microphone, getStats), never from what members
 * say about themselves.
 */

export type Quality = 'good' | 'fair' | 'poor';

export interface QualitySample {
  /** Round-trip time of the selected candidate pair, seconds (undefined until measured). */
  rtt: number | undefined;
  /** Share of packets lost since the last sample, 0–1. */
  loss: number;
  /** Bits per second received since the last sample (audio + video). */
  bitrate: number;
  /** Packets received since the last sample. */
  packets: number;
}

/** good / fair / poor from round-trip time, loss and whether anything arrives at all. */
export function classifyQuality(s: QualitySample, expectsMedia: boolean): Quality {
  if ((expectsMedia && s.packets === 0) || s.loss > 0.1 || (s.rtt ?? 0) > 0.5) return 'poor';
  if (s.loss > 0.03 || (s.rtt ?? 0) > 0.25) return 'fair';
  return 'good';
}

/** Cumulative counters of one call, from getStats. */
export interface QualityCounters {
  at: number;
  lost: number;
  received: number;
  bytes: number;
  rtt: number | undefined;
}

export function qualityCounters(report: RTCStatsReport, at: number): QualityCounters {
  const c: QualityCounters = { at, lost: 0, received: 0, bytes: 0, rtt: undefined };
  report.forEach(
    (s: { type: string; packetsLost?: number; packetsReceived?: number; bytesReceived?: number; selectedCandidatePairId?: string }) => {
      if (s.type === 'inbound-rtp') {
        c.lost += Math.max(0, s.packetsLost ?? 0);
        c.received += s.packetsReceived ?? 0;
        c.bytes += s.bytesReceived ?? 0;
      } else if (s.type === 'transport' && s.selectedCandidatePairId) {
        const pair = report.get(s.selectedCandidatePairId) as { currentRoundTripTime?: number } | undefined;
        c.rtt = pair?.currentRoundTripTime;
      }
    },
  );
  return c;
}

export function qualitySample(prev: QualityCounters, next: QualityCounters): QualitySample {
  const lost = Math.max(0, next.lost - prev.lost);
  const packets = Math.max(0, next.received - prev.received);
  const seconds = Math.max(0.001, (next.at - prev.at) / 1000);
  return {
    rtt: next.rtt,
    loss: lost + packets > 0 ? lost / (lost + packets) : 0,
    bitrate: Math.round((Math.max(0, next.bytes - prev.bytes) * 8) / seconds),
    packets,
  };
}

/** Voice activity from audio levels (0–1, linear): on above a threshold, off after a quiet hold time. */
export class SpeakingDetector {
  speaking = false;
  /** Smoothed level, for choosing the loudest member. */
  level = 0;
  private lastLoud = -Infinity;

  constructor(
    private readonly on = 0.03,
    private readonly holdMs = 1200,
  ) {}

  /** Feeds one level; returns true when `speaking` changed. */
  push(level: number, now: number): boolean {
    this.level = this.level * 0.6 + level * 0.4;
    if (level >= this.on) this.lastLoud = now;
    const speaking = now - this.lastLoud < this.holdMs;
    if (speaking === this.speaking) return false;
    this.speaking = speaking;
    return true;
  }
}

/**
 * The member speaking loudest for a while: a candidate takes over only after being loudest for `switchMs`, so a
 * cough does not move the spotlight.
 */
export class ActiveSpeaker {
  current: string | undefined;
  private candidate: string | undefined;
  private since = 0;

  constructor(private readonly switchMs = 600) {}

  /** Levels of the members speaking now; returns the new active speaker when it changed. */
  push(speaking: ReadonlyMap<string, number>, now: number): string | undefined {
    let loudest: string | undefined;
    let best = 0;
    for (const [id, level] of speaking) {
      if (level > best) {
        best = level;
        loudest = id;
      }
    }
    if (!loudest || loudest === this.current) {
      this.candidate = undefined;
      return undefined;
    }
    if (this.candidate !== loudest) {
      this.candidate = loudest;
      this.since = now;
    }
    if (this.current !== undefined && now - this.since < this.switchMs) return undefined;
    this.current = loudest;
    this.candidate = undefined;
    return loudest;
  }
}

/** RMS level (0–1) of a live audio track, through an AnalyserNode; for our own microphone and the pre-join meter. */
export class LevelMeter {
  private readonly context: AudioContext;
  private readonly analyser: AnalyserNode;
  private readonly buffer: Float32Array<ArrayBuffer>;

  constructor(track: MediaStreamTrack) {
    this.context = new AudioContext();
    const source = this.context.createMediaStreamSource(new MediaStream([track]));
    this.analyser = this.context.createAnalyser();
    this.analyser.fftSize = 1024;
    this.buffer = new Float32Array(this.analyser.fftSize);
    source.connect(this.analyser);
    void this.context.resume().catch(() => {});
  }

  get level(): number {
    this.analyser.getFloatTimeDomainData(this.buffer);
    let sum = 0;
    for (const v of this.buffer) sum += v * v;
    return Math.sqrt(sum / this.buffer.length);
  }

  close(): void {
    void this.context.close().catch(() => {});
  }
}

/** The audio level (0–1) of the last packet from `receiver`, or 0 when none came since the previous call. */
export function receiverLevel(receiver: RTCRtpReceiver, last: Map<RTCRtpReceiver, number>): number {
  const source = receiver.getSynchronizationSources()[0];
  if (!source) return 0;
  const fresh = last.get(receiver) !== source.rtpTimestamp;
  last.set(receiver, source.rtpTimestamp);
  return fresh ? (source.audioLevel ?? 0) : 0;
}
