/**
 * HLS segmenter (issue 6 §1): cuts a channel's output MPEG-TS into segments
 * that each start at a random access point — at the PAT just before it when
 * the stream has one there, so a segment begins PAT, PMT, I-frame (RFC 8216
 * §3.3: each segment must start with PAT and PMT when it is to be decodable
 * on its own; Apple's HLS authoring spec: begin with an IDR) — once the
 * target duration is reached. Nothing is added and nothing is dropped: the
 * concatenation of the segments is the stream, byte for byte.
 *
 * It is fed the same packet runs as the channel's inspector, so byte
 * positions are the inspector's (`auStartByteIndex` of its randomAccess
 * callback, `lastPatByte`): `cutAt(byte, pts90k, wallMs)` is called from the
 * inspector's callback, usually for bytes the segmenter has not been given
 * yet; the cut happens when they arrive.
 *
 * Duration is the PTS distance between the two random access points a
 * segment lies between (what players add up against EXTINF), and so is the
 * target: within one time base segments follow each other exactly, their
 * wall-clock starts (program date time) too. When the PTS does not move
 * forward sensibly (an input switch, a new time base) the wall clock given
 * to cutAt is used instead, and the next segment is marked as a
 * discontinuity (EXT-X-DISCONTINUITY).
 *
 * Pure and synchronous: bytes in, `Segment`s out to `onSegment` (owned by
 * the receiver). Memory is bounded by `maxSegmentBytes`: a stream without a
 * random access point for that long loses the segment (counted) and waits
 * for the next one.
 *
 * Streaming (`onPartial`): a segment's bytes can be handed out while it
 * grows, so that a writer puts them on disk as they come and has only the
 * tail left to write when the segment closes (issue 6 benchmark: the
 * segment is listed within milliseconds of its closing I-frame, instead of
 * after a whole-segment write). The segmenter cannot know alone which bytes
 * are final — a later cut may name a PAT it has already been given — so the
 * caller says so with `settle(byte)`: no cut will come before `byte`.
 */
import { TS_PACKET_SIZE } from '../mpegts/packet.js';
import type { TsPacketSink } from '../mpegts/sink.js';

export interface Segment {
  /** 0, 1, 2 … per segmenter (the caller adds its own base). */
  index: number;
  /**
   * TS packets, starting at a random access point (or its PAT); with
   * `onPartial`, only those not already given to it (the segment's tail).
   * Owned by the receiver.
   */
  bytes: Buffer;
  /** The whole segment's length in bytes (what `bytes` and the parts before it add up to). */
  size: number;
  /** Wall clock of the first packet (ms since the epoch), as given to cutAt. */
  startMs: number;
  durationMs: number;
  /** PTS (90 kHz) of the random access point it starts with. */
  startPts90k: number;
  /** A new time base or a gap before this segment: players must reset their timeline (EXT-X-DISCONTINUITY). */
  discontinuity: boolean;
}

export interface SegmenterOptions {
  /** Cut at the first random access point at least this long after the segment's start. Default 2000. */
  targetDurationMs?: number;
  /** A segment longer than this (no random access point) is dropped. Default 32 MiB. */
  maxSegmentBytes?: number;
  onSegment(segment: Segment): void;
  /**
   * Streaming: the segment being built (index `index`) goes on with `bytes`
   * (owned by the receiver), given once at least `partialBytes` of it are
   * settled. Its end comes with onSegment, or onAbandon.
   */
  onPartial?(index: number, bytes: Buffer): void;
  /** Streaming: the segment being built (index `index`) will never be finished (no random access point for too long): forget its parts. */
  onAbandon?(index: number): void;
  /** Streaming: hand out settled bytes once this many have gathered. Default 64 KiB. */
  partialBytes?: number;
}

const PTS_WRAP = 2 ** 33;
/** Bytes kept before the first cut: a cut may name bytes already seen (the PAT before the I-frame). */
const LOOKBEHIND_BYTES = 1024 * 1024;
/** PTS steps beyond this (or backwards) are a new time base, not a duration. */
const MAX_PTS_STEP_90K = 60 * 90_000;

interface Cut {
  byte: number;
  pts90k: number;
  wallMs: number;
}

export class HlsSegmenter implements TsPacketSink {
  readonly counters = { segments: 0, cuts: 0, droppedOversize: 0, droppedBeforeFirstCut: 0, discontinuities: 0, lateCuts: 0 };
  private buf: Buffer;
  private len = 0;
  /** Stream byte position of buf[0]; -1 until the first cut (bytes before it are not kept). */
  private startByte = -1;
  /** Stream bytes fed so far. */
  private fed = 0;
  private current: Cut | null = null;
  private readonly pending: Cut[] = [];
  private index = 0;
  private nextDiscontinuity = false;
  private readonly targetMs: number;
  private readonly maxBytes: number;
  private readonly partialBytes: number;
  /** Stream bytes known not to be moved into a later segment (`settle`). */
  private settled = 0;
  /** Bytes of the current segment already given to onPartial (buf[0] is the byte after them). */
  private given = 0;

  constructor(private readonly o: SegmenterOptions) {
    this.targetMs = o.targetDurationMs ?? 2000;
    this.maxBytes = o.maxSegmentBytes ?? 32 * 1024 * 1024;
    this.partialBytes = o.partialBytes ?? 64 * 1024;
    this.buf = Buffer.alloc(256 * 1024);
  }

  /**
   * No cut will name a byte before stream byte `byte`: what the current
   * segment holds up to there is final, and (streaming) may be handed out.
   */
  settle(byte: number): void {
    if (byte > this.settled) this.settled = byte;
    this.giveSettled(this.partialBytes);
  }

  /** Streaming: the current segment's settled bytes to onPartial, when at least `min` of them. */
  private giveSettled(min: number): void {
    if (!this.o.onPartial || !this.current || this.startByte < 0) return;
    // buf[0] is stream byte startByte + given; never past a pending cut (its bytes belong to the next segment).
    const upTo = Math.min(this.settled, this.fed, this.pending.length > 0 ? this.pending[0].byte : Infinity);
    const n = upTo - (this.startByte + this.given);
    if (n < min || n <= 0) return;
    const n188 = n - (n % TS_PACKET_SIZE);
    if (n188 <= 0) return;
    const part = Buffer.from(this.buf.subarray(0, n188));
    this.buf.copy(this.buf, 0, n188, this.len);
    this.len -= n188;
    this.given += n188;
    this.o.onPartial(this.index, part);
  }

  /**
   * A random access point: a segment may start at stream byte `byte` (a
   * packet boundary), whose I-frame has PTS `pts90k`, on the air at wall
   * clock `wallMs`. Positions must not go backwards.
   */
  cutAt(byte: number, pts90k: number, wallMs: number): void {
    const last = this.pending.length > 0 ? this.pending[this.pending.length - 1].byte : this.current?.byte ?? -1;
    if (byte <= last || byte % TS_PACKET_SIZE !== 0) return;
    // Before bytes already handed out as final (a caller's `settle` was wrong): not a cut.
    if (this.startByte >= 0 && byte < this.startByte + this.given) {
      this.counters.lateCuts++;
      return;
    }
    // Before the segment is long enough (by PTS, the stream's own clock): not a cut, the next I-frame will do.
    const ref = this.pending.length > 0 ? this.pending[this.pending.length - 1] : this.current;
    if (ref && !this.ptsJump(ref.pts90k, pts90k) && ((pts90k - ref.pts90k + PTS_WRAP) % PTS_WRAP) / 90 < this.targetMs) return;
    this.pending.push({ byte, pts90k, wallMs });
    this.apply();
  }

  /** The stream restarted (a new input attempt): the next segment is a discontinuity. */
  discontinuity(): void {
    this.nextDiscontinuity = true;
  }

  writePackets(src: Buffer, off: number, count: number): void {
    const n = count * TS_PACKET_SIZE;
    if (this.startByte >= 0 && this.given + this.len + n > this.maxBytes) {
      // No random access point for too long: drop the segment, wait for the next one.
      this.counters.droppedOversize++;
      if (this.given > 0) this.o.onAbandon?.(this.index);
      this.startByte = -1;
      this.given = 0;
      this.current = null;
      this.nextDiscontinuity = true;
    }
    if (this.startByte < 0) {
      // Before the first cut: keep the recent past only (a cut names bytes
      // already seen: the inspector reports an I-frame some packets after
      // its PAT). LOOKBEHIND_BYTES is far more than that.
      if (this.len + n > LOOKBEHIND_BYTES) {
        const drop = Math.min(this.len, this.len + n - LOOKBEHIND_BYTES);
        this.buf.copy(this.buf, 0, drop, this.len);
        this.len -= drop;
        this.counters.droppedBeforeFirstCut += drop / TS_PACKET_SIZE;
      }
      this.appendRaw(src, off, n);
      this.fed += n;
      this.startFirst();
      this.apply();
      return;
    }
    this.appendRaw(src, off, n);
    this.fed += n;
    this.apply();
    this.giveSettled(this.partialBytes);
  }

  /** The first cut whose byte is still held starts the first segment; earlier bytes go. */
  private startFirst(): void {
    const heldFrom = this.fed - this.len;
    while (this.pending.length > 0 && this.pending[0].byte < heldFrom) this.pending.shift();
    const first = this.pending[0];
    if (!first || first.byte > this.fed) return;
    const drop = first.byte - heldFrom;
    this.counters.droppedBeforeFirstCut += drop / TS_PACKET_SIZE;
    this.buf.copy(this.buf, 0, drop, this.len);
    this.len -= drop;
    this.startByte = first.byte;
    this.current = this.pending.shift()!;
    this.counters.cuts++;
  }

  private appendRaw(src: Buffer, off: number, n: number): void {
    if (this.len + n > this.buf.length) {
      const bigger = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
      this.buf.copy(bigger, 0, 0, this.len);
      this.buf = bigger;
    }
    src.copy(this.buf, this.len, off, off + n);
    this.len += n;
  }

  /** Close segments at every pending cut whose byte has arrived. */
  private apply(): void {
    while (this.pending.length > 0 && this.current && this.startByte >= 0 && this.pending[0].byte <= this.fed) {
      const cut = this.pending.shift()!;
      const at = cut.byte - this.startByte - this.given;
      if (at + this.given <= 0) continue;
      const size = at + this.given;
      const bytes = Buffer.from(this.buf.subarray(0, at));
      this.given = 0;
      // What follows the cut starts the next segment.
      this.buf.copy(this.buf, 0, at, this.len);
      this.len -= at;
      this.startByte = cut.byte;
      const prev = this.current;
      const jump = this.ptsJump(prev.pts90k, cut.pts90k);
      const durationMs = jump ? Math.max(0, cut.wallMs - prev.wallMs) : (((cut.pts90k - prev.pts90k + PTS_WRAP) % PTS_WRAP) / 90);
      // One time base: the next segment starts when this one ends (program date times without gaps or
      // overlaps, whatever the read-ahead of the source); a new one: the wall clock given, after this one.
      cut.wallMs = jump ? Math.max(cut.wallMs, prev.wallMs + 1) : prev.wallMs + durationMs;
      const discontinuity = this.nextDiscontinuity;
      this.nextDiscontinuity = jump;
      if (discontinuity) this.counters.discontinuities++;
      this.counters.segments++;
      this.counters.cuts++;
      this.current = cut;
      this.o.onSegment({ index: this.index++, bytes, size, startMs: prev.wallMs, durationMs, startPts90k: prev.pts90k, discontinuity });
    }
  }

  private ptsJump(from: number, to: number): boolean {
    if (from < 0 || to < 0) return true;
    const step = (to - from + PTS_WRAP) % PTS_WRAP;
    return step === 0 || step > MAX_PTS_STEP_90K;
  }
}
