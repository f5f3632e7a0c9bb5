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
import { mkdir, rename, unlink, writeFile } from 'node:fs/promises';
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

export class SegmentWriter {
  readonly counters = { written: 0, bytes: 0, dropped: 0, errors: 0, queuedBytes: 0 };
  private readonly made = new Set<string>();
  /** Per channel, the last write: a channel's segments are written and announced in order (a larger one finishing later must not overtake). */
  private readonly chains = new Map<number, Promise<void>>();

  constructor(
    private readonly o: {
      dir: string;
      /** Bytes waiting to be written at most; a segment beyond it is dropped. */
      maxQueuedBytes: number;
      onWritten(s: WrittenSegment): void;
      log(level: 'warn', message: string): void;
    },
  ) {}

  write(number: number, s: Segment): void {
    if (this.counters.queuedBytes + s.bytes.length > this.o.maxQueuedBytes) {
      this.counters.dropped++;
      this.o.log('warn', `HLS: channel ${number}: segment dropped, the disk is behind (${this.counters.queuedBytes} bytes waiting)`);
      return;
    }
    this.counters.queuedBytes += s.bytes.length;
    const next = (this.chains.get(number) ?? Promise.resolve())
      .then(() => this.put(number, s))
      .finally(() => {
        this.counters.queuedBytes -= s.bytes.length;
        if (this.chains.get(number) === next) this.chains.delete(number);
      });
    this.chains.set(number, next);
  }

  private async put(number: number, s: Segment): Promise<void> {
    const dir = join(this.o.dir, String(number));
    const name = segmentFileName(s);
    const tmp = join(dir, `.${name}.tmp`);
    try {
      if (!this.made.has(dir)) {
        await mkdir(dir, { recursive: true });
        this.made.add(dir);
      }
      await writeFile(tmp, s.bytes);
      await rename(tmp, join(dir, name));
    } catch (err) {
      this.counters.errors++;
      this.made.delete(dir);
      await unlink(tmp).catch(() => {});
      this.o.log('warn', `HLS: channel ${number}: cannot write ${join(dir, name)}: ${(err as Error).message}`);
      return;
    }
    this.counters.written++;
    this.counters.bytes += s.bytes.length;
    this.o.onWritten({ number, file: name, startMs: s.startMs, durationMs: s.durationMs, bytes: s.bytes.length, discontinuity: s.discontinuity });
  }
}

/** A channel's segmenter, feeding the worker's writer. */
export class ChannelHls implements TsPacketSink {
  private readonly segmenter: HlsSegmenter;

  constructor(number: number, segmentMs: number, writer: SegmentWriter) {
    this.segmenter = new HlsSegmenter({ targetDurationMs: segmentMs, onSegment: (s) => writer.write(number, s) });
    // The channel (re)starts: its first segment follows whatever was recorded before.
    this.segmenter.discontinuity();
  }

  get counters(): HlsSegmenter['counters'] {
    return this.segmenter.counters;
  }

  writePackets(buf: Buffer, off: number, count: number): void {
    this.segmenter.writePackets(buf, off, count);
  }

  /** A random access point at output byte `byte` (the inspector's), PTS `pts90k`, on the air at `wallMs`. */
  cutAt(byte: number, pts90k: number, wallMs: number): void {
    this.segmenter.cutAt(byte, pts90k, wallMs);
  }

  discontinuity(): void {
    this.segmenter.discontinuity();
  }
}
