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
import { mkdir, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { livePlaylist, rangePlaylist, type IndexedSegment } from '../../core/hls/playlist.js';
import { sendFile } from './files.js';
import { parseSegmentFileName, type WrittenSegment } from '../dataplane/hls.js';

interface ChannelIndex {
  segments: (IndexedSegment & { bytes: number })[];
  nextSeq: number;
  discontinuitySequence: number;
}

export interface HlsLibraryOptions {
  dir: string;
  segmentS: number;
  /** Seconds kept for a channel without catch-up (the live window). */
  windowS: number;
  /** All channels together at most this many bytes; the oldest segments go first. 0: no limit. */
  maxDiskBytes?: number;
  now?: () => number;
  log(level: 'info' | 'warn', message: string): void;
}

export class HlsLibrary {
  private readonly channels = new Map<number, ChannelIndex>();
  /** Per channel: seconds kept (catch-up days), where longer than the live window. */
  private readonly keepS = new Map<number, number>();
  private totalBytes = 0;
  readonly counters = { segments: 0, removed: 0, removeErrors: 0, tmpRemoved: 0, removedForBudget: 0 };
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
      for (const f of found) {
        idx.segments.push({ seq: idx.nextSeq++, uri: f.name, startMs: f.startMs, durationMs: f.durationMs, discontinuity: f.discontinuity, bytes: f.bytes });
        this.totalBytes += f.bytes;
      }
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
    this.totalBytes += s.bytes;
    this.counters.segments++;
    this.expire(s.number, idx);
    this.enforceBudget();
  }

  /** The live playlist of a channel, or null when it has no segment. */
  live(number: number): string | null {
    const idx = this.channels.get(number);
    if (!idx || idx.segments.length === 0) return null;
    return livePlaylist(idx.segments, { targetDurationS: this.o.segmentS, discontinuitySequence: idx.discontinuitySequence });
  }

  /**
   * Catch-up: the segments that overlap [fromMs, toMs). 404 with the reason
   * when the range is outside what is recorded; a range reaching past now
   * is an EVENT playlist (start-over), else a VOD one.
   */
  range(number: number, fromMs: number, toMs: number): { text: string } | { status: 400 | 404; message: string } {
    if (!(toMs > fromMs)) return { status: 400, message: 'the range is empty: the end must be after the start' };
    if (toMs - fromMs > 24 * 3600_000) return { status: 400, message: 'a catch-up range is at most 24 hours' };
    const segs = this.channels.get(number)?.segments ?? [];
    if (segs.length === 0) return { status: 404, message: `channel ${number} has no recording` };
    const now = (this.o.now ?? Date.now)();
    const first = segs[0].startMs;
    const last = segs[segs.length - 1];
    if (toMs <= first) return { status: 404, message: `channel ${number} is recorded from ${new Date(first).toISOString()} on (it keeps ${this.keptS(number)} s); ${new Date(fromMs).toISOString()}–${new Date(toMs).toISOString()} is before it` };
    if (fromMs >= now) return { status: 404, message: `${new Date(fromMs).toISOString()} is in the future` };
    // A segment belongs to the range when at least half of it lies inside: the playlist then lasts the
    // range to within one segment (segments are cut at I-frames, not at the requested times).
    const overlap = (s: IndexedSegment): number => Math.min(s.startMs + s.durationMs, toMs) - Math.max(s.startMs, fromMs);
    let inRange = segs.filter((s) => overlap(s) > 0 && overlap(s) * 2 >= s.durationMs);
    if (inRange.length === 0) {
      const best = segs.filter((s) => overlap(s) > 0).sort((a, b) => overlap(b) - overlap(a))[0];
      inRange = best ? [best] : [];
    }
    if (inRange.length === 0) return { status: 404, message: `channel ${number} has no segment between ${new Date(fromMs).toISOString()} and ${new Date(toMs).toISOString()}` };
    const ended = toMs <= last.startMs + last.durationMs;
    return { text: rangePlaylist(inRange, { targetDurationS: this.o.segmentS, ended }) };
  }

  /** The segment's path if the index lists it (nothing else on the disk is served). */
  segmentPath(number: number, name: string): { path: string; bytes: number } | null {
    const segs = this.channels.get(number)?.segments;
    const startMs = parseSegmentFileName(name)?.startMs;
    if (!segs || startMs === undefined) return null;
    // The index is in start order (a day of catch-up is 43 200 segments): binary search, not a scan per request.
    let lo = 0;
    let hi = segs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (segs[mid].startMs < startMs) lo = mid + 1;
      else hi = mid - 1;
    }
    const seg = segs[lo];
    return seg && seg.uri === name ? { path: join(this.o.dir, String(number), name), bytes: seg.bytes } : null;
  }

  now(): number {
    return (this.o.now ?? Date.now)();
  }

  /** When the channel's recording starts (its oldest segment), or null when it has none. */
  recordedFrom(number: number): number | null {
    return this.channels.get(number)?.segments[0]?.startMs ?? null;
  }

  private index(number: number): ChannelIndex {
    let idx = this.channels.get(number);
    if (!idx) this.channels.set(number, (idx = { segments: [], nextSeq: 0, discontinuitySequence: 0 }));
    return idx;
  }

  /** Catch-up days per channel (from the lineup); channels not listed keep the live window. */
  setCatchupDays(days: ReadonlyMap<number, number>): void {
    this.keepS.clear();
    for (const [n, d] of days) if (d > 0) this.keepS.set(n, d * 86_400);
    this.sweep();
  }

  /** Seconds kept for a channel: its catch-up days, at least the live window. */
  keptS(number: number): number {
    return Math.max(this.o.windowS, this.keepS.get(number) ?? 0);
  }

  /** Bytes of every indexed segment. */
  get diskBytes(): number {
    return this.totalBytes;
  }

  private sweep(): void {
    for (const [n, idx] of this.channels) this.expire(n, idx);
    this.enforceBudget();
  }

  /** Segments that ended longer ago than the channel keeps leave the index, then the disk. */
  private expire(number: number, idx: ChannelIndex): void {
    const limit = (this.o.now ?? Date.now)() - this.keptS(number) * 1000;
    while (idx.segments.length > 0 && idx.segments[0].startMs + idx.segments[0].durationMs < limit) this.removeFirst(number, idx);
  }

  /** Over the disk budget: the oldest segment of all channels goes, until under it (a channel keeps its newest three). */
  private enforceBudget(): void {
    const max = this.o.maxDiskBytes ?? 0;
    while (max > 0 && this.totalBytes > max) {
      let oldest: [number, ChannelIndex] | null = null;
      for (const [n, idx] of this.channels) {
        if (idx.segments.length <= 3) continue;
        if (!oldest || idx.segments[0].startMs < oldest[1].segments[0].startMs) oldest = [n, idx];
      }
      if (!oldest) return;
      this.removeFirst(oldest[0], oldest[1]);
      this.counters.removedForBudget++;
    }
  }

  private removeFirst(number: number, idx: ChannelIndex): void {
    const s = idx.segments.shift()!;
    if (s.discontinuity) idx.discontinuitySequence++;
    this.totalBytes -= s.bytes;
    this.counters.removed++;
    unlink(join(this.o.dir, String(number), s.uri)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return;
      this.counters.removeErrors++;
      this.o.log('warn', `HLS: cannot remove ${join(this.o.dir, String(number), s.uri)}: ${err.message}`);
    });
  }
}

const CHANNEL_PARAM = { type: 'object', required: ['channel'], properties: { channel: { type: 'string', minLength: 1, maxLength: 64 } } } as const;

/**
 * `GET /hls/:channel/index.m3u8` and `GET /hls/:channel/:segment`, where
 * `:channel` is the channel's number or the slug of its name (issue 6 §3);
 * `resolve` turns it into a number with the lineup of the moment.
 */
export function registerHls(app: FastifyInstance, lib: HlsLibrary, resolve: (channel: string) => number | null = (c) => (/^\d{1,4}$/.test(c) ? Number(c) : null)): void {
  const notFound = (message: string) => ({ statusCode: 404, code: 'ROOMCAST_ERR_NOT_FOUND', error: 'Not Found', message });
  const noChannel = (channel: string) => notFound(`there is no channel ${JSON.stringify(channel)} (give its number or the slug of its name)`);

  const sendRange = (reply: FastifyReply, number: number, fromMs: number, toMs: number): FastifyReply => {
    const r = lib.range(number, fromMs, toMs);
    if ('message' in r) return reply.code(r.status).send({ ...notFound(r.message), statusCode: r.status, code: r.status === 404 ? 'ROOMCAST_ERR_NOT_FOUND' : 'ROOMCAST_ERR_BAD_REQUEST', error: r.status === 404 ? 'Not Found' : 'Bad Request' });
    // A finished range never changes; a growing one (EVENT) is reloaded like a live playlist.
    return reply.type('application/vnd.apple.mpegurl').header('cache-control', r.text.includes('#EXT-X-ENDLIST') ? 'max-age=60' : 'max-age=1').send(r.text);
  };

  app.get('/hls/:channel/index.m3u8', { schema: { params: CHANNEL_PARAM, querystring: { type: 'object', additionalProperties: false, properties: { start: { type: 'string', maxLength: 40 }, end: { type: 'string', maxLength: 40 } } } } }, async (req, reply) => {
    const { channel } = req.params as { channel: string };
    const number = resolve(channel);
    if (number === null) return reply.code(404).send(noChannel(channel));
    const q = req.query as { start?: string; end?: string };
    if (q.start !== undefined || q.end !== undefined) {
      // ?start=&end= in ISO 8601. An end left out: start-over from `start` on, an EVENT playlist that
      // grows with the channel (for at most a day: a range is at most 24 h).
      const from = Date.parse(q.start ?? '');
      const to = q.end !== undefined ? Date.parse(q.end) : from + 24 * 3600_000;
      if (!Number.isFinite(from) || !Number.isFinite(to)) return reply.code(400).send({ statusCode: 400, code: 'ROOMCAST_ERR_BAD_REQUEST', error: 'Bad Request', message: 'start and end must be ISO 8601 times, e.g. 2026-12-02T18:00:00Z' });
      return sendRange(reply, number, from, to);
    }
    const text = lib.live(number);
    if (text === null) return reply.code(404).send(notFound(`channel ${number} has no HLS segments (not on the air, or headend.hls is off)`));
    // Short-lived: a player reloads it every target duration (RFC 8216 §6.3.4); a cache in front must too.
    return reply.type('application/vnd.apple.mpegurl').header('cache-control', 'max-age=1').send(text);
  });

  app.get('/hls/:channel/:segment', { schema: { params: { ...CHANNEL_PARAM, required: ['channel', 'segment'], properties: { ...CHANNEL_PARAM.properties, segment: { type: 'string', maxLength: 64 } } } } }, async (req, reply) => {
    const { channel, segment } = req.params as { channel: string; segment: string };
    const number = resolve(channel);
    if (number === null) return reply.code(404).send(noChannel(channel));
    // Catch-up by time, the Flussonic convention IPTV clients build (Kodi IPTV Simple, TiviMate):
    // index-<from>-<duration>.m3u8 and archive-<from>-<duration>.m3u8, Unix seconds.
    const cu = /^(?:index|archive)-(\d{1,12})-(\d{1,6})\.m3u8$/.exec(segment);
    if (cu) return sendRange(reply, number, Number(cu[1]) * 1000, (Number(cu[1]) + Number(cu[2])) * 1000);
    // Only names the index lists: no path is built from what the client sent otherwise.
    const found = lib.segmentPath(number, segment);
    if (!found) return reply.code(404).send(notFound(`no segment ${JSON.stringify(segment)} for channel ${number} (it may have left the window)`));
    return sendFile(req, reply, found, 'video/mp2t');
  });
}
