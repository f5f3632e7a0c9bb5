/**
 * The data plane's side of the HLS path (issue 6): each channel's segmenter
 * (core/hls/segmenter.ts) and one writer per worker that puts the segments
 * on disk without ever making the packet path wait.
 *
 * Writes are asynchronous (libuv's thread pool) through a bounded queue: a
 * disk slower than the channels drops whole segments and counts them; the
 * multicast is never held up (issue 6 §1). A segment is written to a hidden
 * temporary name and renamed into place: once its name is visible it is
 * whole and never changes (what `Cache-Control: immutable` promises).
 *
 * File names carry what the index needs, so the main thread can rebuild it
 * from the directory after a restart (no second index to disagree with the
 * files): `<startMs>_<durationMs>[_d].ts` in `<dir>/<channel number>/`,
 * `_d` marking a discontinuity before the segment.
 */
import { mkdir, open, rename, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { threadId } from 'node:worker_threads';
import { join } from 'node:path';
import { HlsSegmenter, type Segment } from '../../core/hls/segmenter.js';
import type { TsPacketSink } from '../../core/mpegts/sink.js';

export interface WrittenSegment {
  number: number;
  file: string;
  startMs: number;
  durationMs: number;
  bytes: number;
  discontinuity: boolean;
}

export function segmentFileName(s: { startMs: number; durationMs: number; discontinuity: boolean }): string {
  return `${Math.round(s.startMs)}_${Math.round(s.durationMs)}${s.discontinuity ? '_d' : ''}.ts`;
}

/** `<startMs>_<durationMs>[_d].ts` → its parts, or null for any other name (temporary files included). */
export function parseSegmentFileName(name: string): { startMs: number; durationMs: number; discontinuity: boolean } | null {
  const m = /^(\d{1,15})_(\d{1,9})(_d)?\.ts$/.exec(name);
  return m ? { startMs: Number(m[1]), durationMs: Number(m[2]), discontinuity: m[3] !== undefined } : null;
}

/** A segment being written as it grows (the segmenter's parts), under a temporary name. */
interface OpenSegment {
  index: number;
  tmp: string;
  /** Set by the first write step; used only by later steps of the same channel's chain. */
  fh: FileHandle | null;
  /** Over the queue bound or a write failed: the segment is not published; its file goes. */
  dropped: boolean;
}

/** Closes a segment's temporary file, if open, and removes it (whatever has become of either). */
async function removeTmp(seg: OpenSegment): Promise<void> {
  const fh = seg.fh;
  seg.fh = null;
  await fh?.close().catch(() => {});
  await unlink(seg.tmp).catch(() => {});
}

export class SegmentWriter {
  readonly counters = { written: 0, bytes: 0, dropped: 0, errors: 0, queuedBytes: 0 };
  private readonly made = new Set<string>();
  /** Per channel, the last write: a channel's segments are written and announced in order (a larger one finishing later must not overtake). */
  private readonly chains = new Map<number, Promise<void>>();
  /** Per channel, the segment whose parts are being written. */
  private readonly open = new Map<number, OpenSegment>();
  /** Temporary names unique to this writer (a channel may move between workers). */
  private readonly tag = `${process.pid}-${threadId}`;
  private tmpSeq = 0;

  constructor(
    private readonly o: {
      dir: string;
      /** Bytes waiting to be written at most; a segment beyond it is dropped. */
      maxQueuedBytes: number;
      onWritten(s: WrittenSegment): void;
      log(level: 'warn', message: string): void;
    },
  ) {}

  /**
   * Part of channel `number`'s segment `index`, written at once to its
   * temporary file (so that closing the segment leaves only its tail to
   * write: the segment is listed milliseconds after its closing I-frame).
   */
  part(number: number, index: number, bytes: Buffer): void {
    let seg = this.open.get(number);
    if (seg && seg.index !== index) {
      this.abandon(number);
      seg = undefined;
    }
    if (!seg) {
      const s: OpenSegment = { index, tmp: join(this.o.dir, String(number), `.${this.tag}-${this.tmpSeq++}.tmp`), fh: null, dropped: false };
      seg = s;
      this.open.set(number, s);
      this.enqueue(number, 0, async () => {
        await this.mkdirOnce(number);
        s.fh = await open(s.tmp, 'w');
      }, s);
    }
    if (seg.dropped) return;
    if (!this.room(number, bytes.length)) return this.discard(number, seg);
    const s = seg;
    this.enqueue(number, bytes.length, async () => {
      await s.fh!.write(bytes);
    }, s);
  }

  /** Resolves once everything queued so far is on disk (or dropped). */
  async drain(): Promise<void> {
    while (this.chains.size > 0) await Promise.all([...this.chains.values()]);
  }

  /** Channel `number`'s segment being built will not be finished: its temporary file goes. */
  abandon(number: number): void {
    const seg = this.open.get(number);
    if (!seg) return;
    this.open.delete(number);
    this.discard(number, seg);
  }

  /** A whole segment (or, after parts, its tail): published under its final name once on disk. */
  write(number: number, s: Segment): void {
    const seg = this.open.get(number);
    if (seg && seg.index === s.index) {
      this.open.delete(number);
      if (seg.dropped) return;
      if (!this.room(number, s.bytes.length)) return this.discard(number, seg);
      this.enqueue(number, s.bytes.length, async () => {
        const fh = seg.fh!;
        seg.fh = null;
        try {
          await fh.write(s.bytes);
        } catch (err) {
          await fh.close().catch(() => {});
          throw err;
        }
        // Renamed and announced while still open (rename(2) does not care; the bytes are all written),
        // closed after: one round trip through libuv's pool fewer before the segment is listed.
        try {
          await this.publish(number, seg.tmp, s);
        } finally {
          fh.close().catch(() => {});
        }
      }, seg);
      return;
    }
    if (seg) this.abandon(number);
    if (!this.room(number, s.bytes.length)) return;
    const tmp = join(this.o.dir, String(number), `.${this.tag}-${this.tmpSeq++}.tmp`);
    const whole: OpenSegment = { index: s.index, tmp, fh: null, dropped: false };
    this.enqueue(number, s.bytes.length, async () => {
      await this.mkdirOnce(number);
      await writeFile(tmp, s.bytes);
      await this.publish(number, tmp, s);
    }, whole);
  }

  private async publish(number: number, tmp: string, s: Segment): Promise<void> {
    const name = segmentFileName(s);
    await rename(tmp, join(this.o.dir, String(number), name));
    this.counters.written++;
    this.counters.bytes += s.size;
    this.o.onWritten({ number, file: name, startMs: s.startMs, durationMs: s.durationMs, bytes: s.size, discontinuity: s.discontinuity });
  }

  /** Whether `bytes` more fit in the queue; if not, counted and told. */
  private room(number: number, bytes: number): boolean {
    if (this.counters.queuedBytes + bytes <= this.o.maxQueuedBytes) return true;
    this.counters.dropped++;
    this.o.log('warn', `HLS: channel ${number}: segment dropped, the disk is behind (${this.counters.queuedBytes} bytes waiting)`);
    return false;
  }

  /** Drops a segment: nothing more is written for it, and its temporary file is closed and removed after what is queued. */
  private discard(number: number, seg: OpenSegment): void {
    seg.dropped = true;
    this.enqueue(number, 0, () => removeTmp(seg), null);
  }

  private async mkdirOnce(number: number): Promise<void> {
    const dir = join(this.o.dir, String(number));
    if (this.made.has(dir)) return;
    await mkdir(dir, { recursive: true });
    this.made.add(dir);
  }

  /**
   * Runs `step` after channel `number`'s earlier steps, `bytes` counted as
   * queued meanwhile. A step of a segment that was dropped is skipped (no
   * disk work for it); a failing step drops its segment (counted, told, its
   * file removed). `seg` null: a step that always runs (the clean-up).
   */
  private enqueue(number: number, bytes: number, step: () => Promise<void>, seg: OpenSegment | null): void {
    this.counters.queuedBytes += bytes;
    const run = async (): Promise<void> => {
      if (seg?.dropped) return;
      try {
        await step();
      } catch (err) {
        this.counters.errors++;
        this.made.delete(join(this.o.dir, String(number)));
        this.o.log('warn', `HLS: channel ${number}: cannot write ${seg?.tmp ?? 'a segment'}: ${(err as Error).message}`);
        if (seg) {
          seg.dropped = true;
          await removeTmp(seg);
        }
      }
    };
    const next = (this.chains.get(number) ?? Promise.resolve()).then(run).finally(() => {
      this.counters.queuedBytes -= bytes;
      if (this.chains.get(number) === next) this.chains.delete(number);
    });
    this.chains.set(number, next);
  }
}

/** A channel's segmenter, feeding the worker's writer. */
export class ChannelHls implements TsPacketSink {
  private readonly segmenter: HlsSegmenter;

  constructor(
    private readonly number: number,
    segmentMs: number,
    private readonly writer: SegmentWriter,
  ) {
    this.segmenter = new HlsSegmenter({
      targetDurationMs: segmentMs,
      onSegment: (s) => writer.write(number, s),
      // Written as they come: at the cut only the tail is left to write (issue 6: availability delay).
      onPartial: (index, bytes) => writer.part(number, index, bytes),
      onAbandon: () => writer.abandon(number),
    });
    // The channel (re)starts: its first segment follows whatever was recorded before.
    this.segmenter.discontinuity();
  }

  get counters(): HlsSegmenter['counters'] {
    return this.segmenter.counters;
  }

  writePackets(buf: Buffer, off: number, count: number): void {
    this.segmenter.writePackets(buf, off, count);
  }

  /** No random access point will be reported before output byte `byte` (what was written before it is final). */
  settle(byte: number): void {
    this.segmenter.settle(byte);
  }

  /** The channel stops: the segment it was building is not finished, and its file goes. */
  close(): void {
    this.writer.abandon(this.number);
  }

  /** A random access point at output byte `byte` (the inspector's), PTS `pts90k`, on the air at `wallMs`. */
  cutAt(byte: number, pts90k: number, wallMs: number): void {
    this.segmenter.cutAt(byte, pts90k, wallMs);
  }

  discontinuity(): void {
    this.segmenter.discontinuity();
  }
}
