/**
 * Catch-up and VOD on the set-top box (issue 6 §6): the agent plays an HLS
 * playlist from the headend into the same player output as the live
 * channels, so the integrator's player keeps one URL (`/stream.ts`, the UDP
 * destination, stdout) for everything, and `zap` goes back to multicast.
 *
 * The playlist is one of the headend's own: a catch-up range (VOD, or EVENT
 * while the programme still airs), or a VOD asset. Its segments each begin
 * PAT, PMT, I-frame; they are fetched in order, one ahead, and written to
 * the output at the pace of their EXTINF durations (a little ahead of real
 * time, so the player fills its buffer at once) — a UDP output must not get
 * a 2 s segment in one burst. They still go through an I-frame gate: the
 * player's first byte is a decodable start whatever the source.
 *
 * Bounded: two segments in memory at most; a segment that cannot be fetched
 * is retried a few times, then skipped (counted, a discontinuity); a
 * playlist that stops growing ends the playback.
 */
import HLS from 'hls-parser';
import { TS_PACKET_SIZE } from '../core/mpegts/packet.js';
import { RandomAccessGate, type GateSink } from './tuner/gate.js';

export interface UnicastOptions {
  /** The playlist (absolute URL). */
  url: string;
  /** What is played, for status and logs: "channel 1 from 18:00:00", "vod big-buck-bunny". */
  label: string;
  /** The player output (the agent's fanout). */
  out: GateSink;
  /** Put an I-frame gate before the output (the agent's `gate` setting). Default true. */
  gate?: boolean;
  /** How far ahead of real time the output may run, ms. Default 1500. */
  leadMs?: number;
  /** Per request. Default 10 000. */
  requestTimeoutMs?: number;
  log(level: 'info' | 'warn', message: string): void;
  now?: () => number;
  /** The playback ended (end of the playlist, or an error): the reason. */
  onEnd?(reason: string): void;
}

export interface UnicastStatus {
  label: string;
  url: string;
  state: 'starting' | 'playing' | 'ended' | 'failed' | 'stopped';
  /** The playlist's type: VOD (whole), EVENT (still growing: start-over of a programme on the air). */
  playlistType: string | null;
  /** Media played (written to the output), seconds. */
  positionS: number;
  /** The playlist's length as last loaded, seconds. */
  durationS: number;
  segments: number;
  bytes: number;
  skippedSegments: number;
  reloads: number;
  error: string | null;
}

interface Seg {
  uri: string;
  durationMs: number;
  discontinuity: boolean;
}

const TICK_MS = 20;
const SEGMENT_TRIES = 3;
/** An EVENT playlist reloaded this many times without a new segment has ended. */
const MAX_IDLE_RELOADS = 10;
/** A playlist or segment larger than this is refused (a 2–10 s segment is a few MB). */
const MAX_SEGMENT_BYTES = 64 * 1024 * 1024;
const MAX_PLAYLIST_BYTES = 8 * 1024 * 1024;

export class UnicastError extends Error {
  constructor(
    message: string,
    readonly statusCode: number,
  ) {
    super(message);
  }
}

/** GET `url` with a timeout and a size bound; an HTTP error becomes a UnicastError with the server's message. */
async function get(url: string, timeoutMs: number, maxBytes: number): Promise<{ body: Buffer; url: string }> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
  } catch (err) {
    throw new UnicastError(`${url}: ${(err as Error).message}`, 502);
  }
  if (!res.ok) {
    const text = await res.text().catch(() => '');
    let message = text.slice(0, 300);
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? message;
    } catch {
      /* not JSON: the text itself */
    }
    throw new UnicastError(`${url}: HTTP ${res.status}${message ? `: ${message}` : ''}`, res.status === 404 ? 404 : 502);
  }
  const len = Number(res.headers.get('content-length') ?? '0');
  if (len > maxBytes) throw new UnicastError(`${url}: ${len} bytes, more than ${maxBytes}`, 502);
  const body = Buffer.from(await res.arrayBuffer());
  if (body.length > maxBytes) throw new UnicastError(`${url}: more than ${maxBytes} bytes`, 502);
  return { body, url: res.url || url };
}

/** A media playlist's segments, their URLs resolved against the playlist's own (after redirects). */
export function parseMediaPlaylist(text: string, base: string): { type: string | null; ended: boolean; targetS: number; segments: Seg[] } {
  let p: ReturnType<typeof HLS.parse>;
  try {
    p = HLS.parse(text);
  } catch (err) {
    throw new UnicastError(`not an HLS playlist: ${(err as Error).message}`, 502);
  }
  if (p.isMasterPlaylist) throw new UnicastError('a multivariant playlist: give a media playlist (the headend serves only those)', 502);
  const m = p as HLS.types.MediaPlaylist;
  return {
    type: m.playlistType ?? null,
    ended: m.endlist,
    targetS: m.targetDuration,
    segments: m.segments.map((s) => ({ uri: new URL(s.uri, base).href, durationMs: s.duration * 1000, discontinuity: s.discontinuity === true })),
  };
}

export class UnicastPlayback {
  private st: UnicastStatus;
  private stopped = false;
  private playlistUrl: string;
  /** Segments known and not yet fetched, in order. */
  private queue: Seg[] = [];
  private seen = new Set<string>();
  private ended = false;
  private targetS = 2;
  private idleReloads = 0;
  private readonly sink: { writePackets(buf: Buffer, off: number, count: number): void; discontinuity(): void };
  private readonly now: () => number;
  /** Real time the media clock started, and media written so far (ms). */
  private t0 = 0;
  private mediaMs = 0;
  private timer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;
  private done: Promise<void> | null = null;

  constructor(private readonly o: UnicastOptions) {
    this.playlistUrl = o.url;
    this.now = o.now ?? (() => performance.now());
    this.st = { label: o.label, url: o.url, state: 'starting', playlistType: null, positionS: 0, durationS: 0, segments: 0, bytes: 0, skippedSegments: 0, reloads: 0, error: null };
    if (o.gate === false) {
      let started = false;
      this.sink = {
        writePackets: (buf, off, count) => {
          if (!started) {
            started = true;
            o.out.start(Buffer.alloc(0));
          }
          o.out.writePackets(buf, off, count);
        },
        discontinuity: () => o.out.discontinuity?.(),
      };
    } else {
      const gate = new RandomAccessGate(o.out);
      // (The gate passes a discontinuity on to the output: the player's clients re-gate if they have not started.)
      this.sink = { writePackets: (b, off, n) => gate.writePackets(b, off, n), discontinuity: () => gate.discontinuity() };
    }
  }

  status(): UnicastStatus {
    return { ...this.st, positionS: Math.round(this.mediaMs / 100) / 10 };
  }

  /** Loads the playlist: a wrong time or a missing asset is an error here, with the headend's reason. */
  async load(): Promise<void> {
    await this.reload(true);
    if (this.queue.length === 0 && this.ended) throw new UnicastError(`${this.o.url}: the playlist has no segments`, 404);
  }

  /** Plays what load() found, in the background. */
  play(): void {
    if (this.stopped || this.done) return;
    this.st.state = 'playing';
    this.o.log('info', `playing ${this.o.label} (${this.st.playlistType ?? 'live'} playlist, ${this.st.durationS} s) from ${this.playlistUrl}`);
    this.t0 = this.now();
    this.done = this.run().catch((err: Error) => this.finish('failed', err.message));
  }

  /** Stops at once (a zap): nothing more reaches the output. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    if (this.st.state === 'playing' || this.st.state === 'starting') this.st.state = 'stopped';
  }

  /** Resolves when the playback has ended or stopped (tests). */
  async finished(): Promise<void> {
    await this.done;
  }

  private finish(state: 'ended' | 'failed', reason: string): void {
    if (this.stopped) return;
    this.stopped = true;
    this.st.state = state;
    if (state === 'failed') this.st.error = reason;
    this.o.log(state === 'failed' ? 'warn' : 'info', `${this.o.label}: ${reason}`);
    this.o.onEnd?.(reason);
  }

  private async reload(first = false): Promise<void> {
    const { body, url } = await get(this.playlistUrl, this.o.requestTimeoutMs ?? 10_000, MAX_PLAYLIST_BYTES);
    // Segment URLs are relative to where the playlist really is (the headend may redirect: /api/epg/…/play).
    this.playlistUrl = url;
    const p = parseMediaPlaylist(body.toString('utf8'), url);
    if (!first) this.st.reloads++;
    this.st.playlistType = p.type;
    this.targetS = p.targetS > 0 ? p.targetS : 2;
    this.ended = p.ended;
    this.st.durationS = Math.round(p.segments.reduce((a, s) => a + s.durationMs, 0) / 100) / 10;
    let added = 0;
    for (const s of p.segments) {
      if (this.seen.has(s.uri)) continue;
      this.seen.add(s.uri);
      this.queue.push(s);
      added++;
    }
    this.idleReloads = added > 0 ? 0 : this.idleReloads + 1;
  }

  private async fetchSegment(s: Seg): Promise<Buffer | null> {
    for (let attempt = 1; attempt <= SEGMENT_TRIES; attempt++) {
      if (this.stopped) return null;
      try {
        const { body } = await get(s.uri, this.o.requestTimeoutMs ?? 10_000, MAX_SEGMENT_BYTES);
        if (body.length === 0 || body.length % TS_PACKET_SIZE !== 0 || body[0] !== 0x47) {
          throw new UnicastError(`${s.uri}: not MPEG-TS (${body.length} bytes, first byte 0x${(body[0] ?? 0).toString(16)})`, 502);
        }
        return body;
      } catch (err) {
        this.o.log('warn', `${this.o.label}: segment ${s.uri} (try ${attempt} of ${SEGMENT_TRIES}): ${(err as Error).message}`);
        if (attempt < SEGMENT_TRIES) await this.sleep(250 * attempt);
      }
    }
    return null;
  }

  private async run(): Promise<void> {
    let next: Promise<Buffer | null> | null = null;
    let nextSeg: Seg | null = null;
    let discontinuity = false;
    for (;;) {
      if (this.stopped) return;
      if (this.queue.length === 0 && next === null) {
        if (this.ended) return this.finish('ended', 'end of the playlist');
        if (this.idleReloads >= MAX_IDLE_RELOADS) return this.finish('ended', `the playlist has not grown for ${MAX_IDLE_RELOADS} reloads`);
        // EVENT (a programme still on the air): the next segment comes every target duration (RFC 8216 §6.3.4).
        await this.sleep((this.targetS * 1000) / 2);
        if (this.stopped) return;
        await this.reload();
        continue;
      }
      if (next === null) {
        nextSeg = this.queue.shift()!;
        next = this.fetchSegment(nextSeg);
      }
      const seg = nextSeg!;
      const bytes = await next;
      next = null;
      // One ahead: the next segment downloads while this one plays.
      if (this.queue.length > 0) {
        nextSeg = this.queue.shift()!;
        next = this.fetchSegment(nextSeg);
      }
      if (this.stopped) return;
      if (bytes === null) {
        this.st.skippedSegments++;
        discontinuity = true;
        continue;
      }
      if (seg.discontinuity || discontinuity) this.sink.discontinuity();
      discontinuity = false;
      await this.writeSegment(bytes, seg.durationMs);
      this.st.segments++;
    }
  }

  /** Writes one segment over its duration, keeping at most `leadMs` ahead of real time. */
  private async writeSegment(bytes: Buffer, durationMs: number): Promise<void> {
    const lead = this.o.leadMs ?? 1500;
    const packets = bytes.length / TS_PACKET_SIZE;
    const segStart = this.mediaMs;
    let sent = 0;
    while (sent < packets) {
      if (this.stopped) return;
      const elapsed = this.now() - this.t0;
      const allowed = durationMs > 0 ? Math.min(packets, Math.floor(((elapsed + lead - segStart) / durationMs) * packets)) : packets;
      if (allowed > sent) {
        this.sink.writePackets(bytes, sent * TS_PACKET_SIZE, allowed - sent);
        this.st.bytes += (allowed - sent) * TS_PACKET_SIZE;
        this.mediaMs = segStart + (durationMs * allowed) / packets;
        sent = allowed;
      }
      if (sent < packets) await this.sleep(TICK_MS);
    }
    this.mediaMs = segStart + durationMs;
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
    });
  }
}
