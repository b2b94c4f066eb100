/** One participant fed into a {@link MediaMix}. */
export interface MixSource {
  id: string;
  /** Drawn as a label on the tile (plain canvas text, never HTML). */
  name: string;
  stream: MediaStream | undefined;
}

export interface MediaMixOptions {
  /** Canvas size; made even (H.264 needs even sizes). */
  width: number;
  height: number;
  /** Frames per second drawn and captured. Default 30. */
  fps?: number;
  /** Draw each source's name on its tile. Default true when there is more than one tile. */
  labels?: boolean;
}

interface Tile {
  source: MixSource;
  video: HTMLVideoElement;
  gain: GainNode;
  input: MediaStreamAudioSourceNode | undefined;
  audioTrack: MediaStreamTrack | undefined;
}

const BACKGROUND = '#15181e';
const TILE_BACKGROUND = '#20242c';

/**
 * Mixes several participants into one MediaStream: their videos on a canvas grid that follows joins and leaves, and
 * their voices summed with Web Audio — each input scaled by 1/√n and the sum through a compressor acting as a
 * limiter, so several loud voices do not clip. Frames are drawn from a worker timer (a page timer drifts and
 * `requestAnimationFrame` stops in background tabs), falling back to a page timer where blob workers are refused.
 */
export class MediaMix {
  readonly stream: MediaStream;
  readonly width: number;
  readonly height: number;
  private readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  private readonly audio: AudioContext;
  private readonly bus: GainNode;
  private readonly tiles = new Map<string, Tile>();
  private ticker: Worker | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private workerUrl: string | undefined;
  private destroyed = false;
  private waiting: (() => void)[] = [];

  constructor(private readonly options: MediaMixOptions) {
    this.width = even(options.width);
    this.height = even(options.height);
    this.canvas = Object.assign(document.createElement('canvas'), { width: this.width, height: this.height });
    const ctx = this.canvas.getContext('2d', { alpha: false });
    if (!ctx) throw new Error('2D canvas is not available');
    this.ctx = ctx;
    this.audio = new AudioContext();
    const limiter = this.audio.createDynamicsCompressor();
    limiter.threshold.value = -6;
    limiter.knee.value = 3;
    limiter.ratio.value = 20;
    limiter.attack.value = 0.002;
    limiter.release.value = 0.2;
    this.bus = this.audio.createGain();
    const destination = this.audio.createMediaStreamDestination();
    this.bus.connect(limiter).connect(destination);
    // A user gesture usually started us; without one the context may stay suspended until the page is interacted with.
    void this.audio.resume().catch(() => {});
    const fps = options.fps ?? 30;
    this.stream = new MediaStream([...this.canvas.captureStream(fps).getVideoTracks(), ...destination.stream.getAudioTracks()]);
    this.draw();
    this.startTicker(1000 / fps);
  }

  /**
   * Resolves true once the voice mixer runs, false if it still does not after `timeoutMs`: the browser has no audio
   * output device (Firefox then never runs an AudioContext), or it waits for a user gesture. A recorder given a
   * stream whose audio never flows may hold every frame until it stops (Firefox), so callers check before recording.
   */
  audioRunning(timeoutMs = 1000): Promise<boolean> {
    const audio = this.audio;
    if (audio.state === 'running') return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        audio.removeEventListener('statechange', check);
        resolve(audio.state === 'running');
      };
      const check = () => {
        if (audio.state !== 'suspended') done();
      };
      const timer = setTimeout(done, timeoutMs);
      audio.addEventListener('statechange', check);
      void audio.resume().catch(() => {});
    });
  }

  /**
   * Gives up mixing voices (see {@link audioRunning}): the mixed track leaves `stream`. With one voice in the mix, a
   * copy of its own track takes its place (ended with the mix); with more, `stream` has no audio. Says which.
   */
  withoutMixer(): 'direct' | 'none' {
    for (const track of this.stream.getAudioTracks()) {
      this.stream.removeTrack(track);
      track.stop();
    }
    const voices = [...this.tiles.values()].flatMap((t) => (t.audioTrack ? [t.audioTrack] : []));
    const [only] = voices;
    if (!only || voices.length > 1) return 'none';
    this.stream.addTrack(only.clone());
    return 'direct';
  }

  /** Sets who is in the mix; tiles keep their order of arrival. */
  setSources(sources: readonly MixSource[]): void {
    if (this.destroyed) return;
    const ids = new Set(sources.map((s) => s.id));
    for (const [id, tile] of this.tiles) if (!ids.has(id)) this.removeTile(id, tile);
    for (const source of sources) {
      const tile = this.tiles.get(source.id);
      if (tile) this.updateTile(tile, source);
      else this.addTile(source);
    }
    this.rebalance();
  }

  private addTile(source: MixSource): void {
    const video = document.createElement('video');
    video.muted = true;
    video.playsInline = true;
    const gain = this.audio.createGain();
    gain.connect(this.bus);
    const tile: Tile = { source, video, gain, input: undefined, audioTrack: undefined };
    this.tiles.set(source.id, tile);
    this.updateTile(tile, source);
  }

  private updateTile(tile: Tile, source: MixSource): void {
    tile.source = source;
    if (tile.video.srcObject !== (source.stream ?? null)) {
      tile.video.srcObject = source.stream ?? null;
      if (source.stream) void tile.video.play().catch(() => {});
    }
    const track = source.stream?.getAudioTracks().find((t) => t.readyState === 'live');
    if (track === tile.audioTrack) return;
    tile.input?.disconnect();
    tile.input = undefined;
    tile.audioTrack = track;
    if (track) {
      tile.input = this.audio.createMediaStreamSource(new MediaStream([track]));
      tile.input.connect(tile.gain);
    }
  }

  private removeTile(id: string, tile: Tile): void {
    tile.input?.disconnect();
    tile.gain.disconnect();
    tile.video.srcObject = null;
    this.tiles.delete(id);
  }

  private rebalance(): void {
    const voices = [...this.tiles.values()].filter((t) => t.input).length;
    const level = 1 / Math.sqrt(Math.max(1, voices));
    for (const tile of this.tiles.values()) tile.gain.gain.setTargetAtTime(level, this.audio.currentTime, 0.05);
  }

  private startTicker(ms: number): void {
    try {
      this.workerUrl = URL.createObjectURL(new Blob([`setInterval(()=>postMessage(0),${ms})`], { type: 'text/javascript' }));
      this.ticker = new Worker(this.workerUrl);
      this.ticker.onmessage = () => this.draw();
    } catch {
      this.timer = setInterval(() => this.draw(), ms);
    }
  }

  /** Resolves once a frame has been drawn with every live camera's picture in it (at most `timeoutMs`). */
  ready(timeoutMs = 1500): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.waiting.push(done);
    });
  }

  /** Draws one frame: a grid of tiles, videos fitted inside (never cropped), names as labels. */
  private draw(): void {
    const { ctx, width: W, height: H } = this;
    ctx.fillStyle = BACKGROUND;
    ctx.fillRect(0, 0, W, H);
    const tiles = [...this.tiles.values()];
    const n = tiles.length;
    let missing = 0;
    if (!n) return this.drew(missing);
    const cols = Math.ceil(Math.sqrt(n));
    const rows = Math.ceil(n / cols);
    const gap = n > 1 ? Math.round(Math.min(W, H) / 120) : 0;
    const tw = (W - gap * (cols + 1)) / cols;
    const th = (H - gap * (rows + 1)) / rows;
    const labels = this.options.labels ?? n > 1;
    tiles.forEach((tile, i) => {
      const row = Math.floor(i / cols);
      // Centre a last row that is not full.
      const inRow = row === rows - 1 ? n - row * cols : cols;
      const x = gap + (i % cols) * (tw + gap) + ((cols - inRow) * (tw + gap)) / 2;
      const y = gap + row * (th + gap);
      const v = tile.video;
      const hasFrame =
        v.readyState >= 2 && v.videoWidth > 0 && tile.source.stream?.getVideoTracks().some((t) => t.readyState === 'live' && !t.muted);
      if (n > 1 || !hasFrame) {
        ctx.fillStyle = TILE_BACKGROUND;
        ctx.fillRect(x, y, tw, th);
      }
      if (!hasFrame && tile.source.stream?.getVideoTracks().some((t) => t.readyState === 'live' && !t.muted)) missing++;
      if (hasFrame) {
        const scale = Math.min(tw / v.videoWidth, th / v.videoHeight);
        const w = v.videoWidth * scale;
        const h = v.videoHeight * scale;
        ctx.drawImage(v, x + (tw - w) / 2, y + (th - h) / 2, w, h);
      } else {
        ctx.fillStyle = '#8a93a6';
        ctx.font = `${Math.round(th / 4)}px system-ui, sans-serif`;
        ctx.textAlign = 'center';
        ctx.textBaseline = 'middle';
        ctx.fillText((tile.source.name.trim()[0] ?? '?').toUpperCase(), x + tw / 2, y + th / 2);
      }
      if (labels && tile.source.name) this.label(tile.source.name, x, y + th, tw);
    });
    this.drew(missing);
  }

  /** After a frame: wakes `ready()` callers once no live camera is missing from it. */
  private drew(missing: number): void {
    if (missing || !this.waiting.length) return;
    for (const done of this.waiting.splice(0)) done();
  }

  private label(name: string, x: number, bottom: number, maxWidth: number): void {
    const { ctx } = this;
    const size = Math.max(12, Math.round(this.height / 36));
    ctx.font = `${size}px system-ui, sans-serif`;
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    const text = name.length > 40 ? `${name.slice(0, 39)}…` : name;
    const w = Math.min(ctx.measureText(text).width + size, maxWidth - size);
    ctx.fillStyle = 'rgba(0,0,0,0.55)';
    ctx.fillRect(x + size / 2, bottom - size * 2, w, size * 1.5);
    ctx.fillStyle = '#fff';
    ctx.fillText(text, x + size, bottom - size * 1.25, w - size);
  }

  /** Stops drawing and mixing and ends the mixed tracks; the sources' own tracks are left alone. Idempotent. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.ticker?.terminate();
    clearInterval(this.timer);
    if (this.workerUrl) URL.revokeObjectURL(this.workerUrl);
    for (const [id, tile] of this.tiles) this.removeTile(id, tile);
    for (const done of this.waiting.splice(0)) done();
    for (const track of this.stream.getTracks()) track.stop();
    void this.audio.close().catch(() => {});
  }
}

function even(n: number): number {
  return Math.max(2, Math.round(n / 2) * 2);
}
