/**
 * The HLS path's main-thread side (issue 6 §2–3, live part): the index of
 * every channel's segments on disk, their retention, and the HTTP routes
 * players use — `/hls/<n>/index.m3u8` (live, sliding window, program date
 * time) and the segments themselves (immutable, byte ranges).
 *
 * The index is the directory: the workers name each segment after its start
 * and duration (headend/dataplane/hls.ts), announce it once it is whole, and
 * at start the index is rebuilt from the names, leftover temporary files
 * removed. Retention drops a segment from the index first and then deletes
 * its file, so a playlist never lists a missing file.
 *
 * Not yet here (issue 6): catch-up windows and days, the disk budget, EPG,
 * VOD. Segments are public, as the multicast is: any player on the hotel
 * network may fetch them.
 */
import { createReadStream } from 'node:fs';
import { mkdir, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { livePlaylist, type IndexedSegment } from '../../core/hls/playlist.js';
import { parseSegmentFileName, type WrittenSegment } from '../dataplane/hls.js';

interface ChannelIndex {
  segments: (IndexedSegment & { bytes: number })[];
  nextSeq: number;
  discontinuitySequence: number;
}

export interface HlsLibraryOptions {
  dir: string;
  segmentS: number;
  windowS: number;
  now?: () => number;
  log(level: 'info' | 'warn', message: string): void;
}

export class HlsLibrary {
  private readonly channels = new Map<number, ChannelIndex>();
  readonly counters = { segments: 0, removed: 0, removeErrors: 0, tmpRemoved: 0 };
  private sweeper: NodeJS.Timeout | null = null;

  constructor(private readonly o: HlsLibraryOptions) {}

  /** Reads the directory: every segment file within the window is indexed, anything older or temporary is removed. */
  async load(): Promise<void> {
    await mkdir(this.o.dir, { recursive: true });
    for (const d of await readdir(this.o.dir)) {
      if (!/^\d{1,4}$/.test(d)) continue;
      const number = Number(d);
      const files = await readdir(join(this.o.dir, d)).catch(() => [] as string[]);
      const found: { name: string; startMs: number; durationMs: number; discontinuity: boolean; bytes: number }[] = [];
      for (const name of files) {
        const p = parseSegmentFileName(name);
        if (!p) {
          if (name.endsWith('.tmp')) {
            await unlink(join(this.o.dir, d, name)).catch(() => {});
            this.counters.tmpRemoved++;
          }
          continue;
        }
        const st = await stat(join(this.o.dir, d, name)).catch(() => null);
        if (st) found.push({ name, ...p, bytes: st.size });
      }
      found.sort((a, b) => a.startMs - b.startMs);
      const idx = this.index(number);
      for (const f of found) idx.segments.push({ seq: idx.nextSeq++, uri: f.name, startMs: f.startMs, durationMs: f.durationMs, discontinuity: f.discontinuity, bytes: f.bytes });
    }
    this.sweep();
    this.sweeper = setInterval(() => this.sweep(), 5000);
    this.sweeper.unref();
  }

  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
  }

  /** A worker wrote a segment. */
  add(s: WrittenSegment): void {
    const idx = this.index(s.number);
    idx.segments.push({ seq: idx.nextSeq++, uri: s.file, startMs: s.startMs, durationMs: s.durationMs, discontinuity: s.discontinuity, bytes: s.bytes });
    this.counters.segments++;
    this.expire(s.number, idx);
  }

  /** The live playlist of a channel, or null when it has no segment. */
  live(number: number): string | null {
    const idx = this.channels.get(number);
    if (!idx || idx.segments.length === 0) return null;
    return livePlaylist(idx.segments, { targetDurationS: this.o.segmentS, discontinuitySequence: idx.discontinuitySequence });
  }

  /** The segment's path if the index lists it (nothing else on the disk is served). */
  segmentPath(number: number, name: string): { path: string; bytes: number } | null {
    const seg = this.channels.get(number)?.segments.find((s) => s.uri === name);
    return seg ? { path: join(this.o.dir, String(number), name), bytes: seg.bytes } : null;
  }

  stats(number: number): { segments: number; bytes: number; fromMs: number | null } {
    const segs = this.channels.get(number)?.segments ?? [];
    return { segments: segs.length, bytes: segs.reduce((a, s) => a + s.bytes, 0), fromMs: segs[0]?.startMs ?? null };
  }

  private index(number: number): ChannelIndex {
    let idx = this.channels.get(number);
    if (!idx) this.channels.set(number, (idx = { segments: [], nextSeq: 0, discontinuitySequence: 0 }));
    return idx;
  }

  private sweep(): void {
    for (const [n, idx] of this.channels) this.expire(n, idx);
  }

  /** Segments that ended more than windowS ago leave the index, then the disk. */
  private expire(number: number, idx: ChannelIndex): void {
    const limit = (this.o.now ?? Date.now)() - this.o.windowS * 1000;
    while (idx.segments.length > 0 && idx.segments[0].startMs + idx.segments[0].durationMs < limit) {
      const s = idx.segments.shift()!;
      if (s.discontinuity) idx.discontinuitySequence++;
      this.counters.removed++;
      unlink(join(this.o.dir, String(number), s.uri)).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return;
        this.counters.removeErrors++;
        this.o.log('warn', `HLS: cannot remove ${join(this.o.dir, String(number), s.uri)}: ${err.message}`);
      });
    }
  }
}

const CHANNEL_PARAM = { type: 'object', required: ['number'], properties: { number: { type: 'integer', minimum: 1, maximum: 9999 } } } as const;

/** `GET /hls/:number/index.m3u8` and `GET /hls/:number/:segment`. */
export function registerHls(app: FastifyInstance, lib: HlsLibrary): void {
  const notFound = (message: string) => ({ statusCode: 404, code: 'ROOMCAST_ERR_NOT_FOUND', error: 'Not Found', message });

  app.get('/hls/:number/index.m3u8', { schema: { params: CHANNEL_PARAM } }, async (req, reply) => {
    const { number } = req.params as { number: number };
    const text = lib.live(number);
    if (text === null) return reply.code(404).send(notFound(`channel ${number} has no HLS segments (not on the air, or headend.hls is off)`));
    // Short-lived: a player reloads it every target duration (RFC 8216 §6.3.4); a cache in front must too.
    return reply.type('application/vnd.apple.mpegurl').header('cache-control', 'max-age=1').send(text);
  });

  app.get('/hls/:number/:segment', { schema: { params: { ...CHANNEL_PARAM, required: ['number', 'segment'], properties: { ...CHANNEL_PARAM.properties, segment: { type: 'string', maxLength: 64 } } } } }, async (req, reply) => {
    const { number, segment } = req.params as { number: number; segment: string };
    // Only names the index lists: no path is built from what the client sent otherwise.
    const found = parseSegmentFileName(segment) ? lib.segmentPath(number, segment) : null;
    if (!found) return reply.code(404).send(notFound(`no segment ${JSON.stringify(segment)} for channel ${number} (it may have left the window)`));
    reply
      .header('content-type', 'video/mp2t')
      // A segment never changes once published: any cache may keep it.
      .header('cache-control', 'public, max-age=31536000, immutable')
      .header('accept-ranges', 'bytes');
    const range = req.headers.range;
    if (range !== undefined) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
      let start = m && m[1] !== '' ? Number(m[1]) : NaN;
      let end = m && m[2] !== '' ? Number(m[2]) : found.bytes - 1;
      if (m && m[1] === '' && m[2] !== '') {
        // bytes=-N: the last N bytes (RFC 9110 §14.1.2).
        start = Math.max(0, found.bytes - Number(m[2]));
        end = found.bytes - 1;
      }
      end = Math.min(end, found.bytes - 1);
      // A range we do not serve (several ranges, another unit): the whole segment (RFC 9110 §14.2 lets a server ignore Range).
      if (!m) return reply.header('content-length', String(found.bytes)).send(createReadStream(found.path));
      if (!Number.isFinite(start) || start > end || start >= found.bytes) {
        return reply.code(416).header('content-range', `bytes */${found.bytes}`).send();
      }
      return reply
        .code(206)
        .header('content-range', `bytes ${start}-${end}/${found.bytes}`)
        .header('content-length', String(end - start + 1))
        .send(createReadStream(found.path, { start, end }));
    }
    return reply.header('content-length', String(found.bytes)).send(createReadStream(found.path));
  });
}
