/**
 * The HLS index and writer with a compressed clock: the live playlist
 * (checked by hls-parser), retention that removes index rows and files
 * together, a rebuild from the directory, and a writer that keeps a
 * channel's segments in order and drops (counted) when the disk is behind.
 */
import t from 'tap';
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import HLS from 'hls-parser';
import { livePlaylist } from '../../../../core/hls/playlist.js';
import { HlsLibrary } from '../../../../headend/control/hls.js';
import { SegmentWriter, parseSegmentFileName, segmentFileName, type WrittenSegment } from '../../../../headend/dataplane/hls.js';

async function dir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'roomcast-hlslib-'));
  t.teardown(() => rm(d, { recursive: true, force: true }));
  return d;
}

t.test('file names carry start, duration and the discontinuity; nothing else parses', async (t) => {
  const n = segmentFileName({ startMs: 1_796_000_000_123, durationMs: 2000.4, discontinuity: true });
  t.equal(n, '1796000000123_2000_d.ts');
  t.same(parseSegmentFileName(n), { startMs: 1_796_000_000_123, durationMs: 2000, discontinuity: true });
  for (const bad of ['.1_2.ts.tmp', '1_2.ts.tmp', '../1_2.ts', '1_2.mp4', 'a_b.ts', '1_2_x.ts', '']) t.equal(parseSegmentFileName(bad), null, JSON.stringify(bad));
});

t.test('the live playlist: version, target, sequences, date times, discontinuities — as a parser reads it', async (t) => {
  const segs = [0, 1, 2, 3].map((i) => ({ seq: 10 + i, uri: `s${i}.ts`, startMs: Date.UTC(2026, 11, 2, 10, 0, i * 2), durationMs: i === 2 ? 2400 : 2000, discontinuity: i === 2 }));
  const text = livePlaylist(segs, { targetDurationS: 2, discontinuitySequence: 3 });
  const p = HLS.parse(text) as HLS.types.MediaPlaylist;
  t.equal(p.version, 3);
  t.equal(p.targetDuration, 2, '2.4 s rounds to 2: within the target');
  t.equal(p.mediaSequenceBase, 10);
  t.equal(p.discontinuitySequenceBase, 3);
  t.same(p.segments.map((s) => !!s.discontinuity), [false, false, true, false]);
  t.same(p.segments.map((s) => s.programDateTime?.toISOString()), segs.map((s) => new Date(s.startMs).toISOString()));
  t.equal(p.endlist, false);
  const long = livePlaylist([{ seq: 0, uri: 'a.ts', startMs: 0, durationMs: 3600, discontinuity: false }], { targetDurationS: 2, discontinuitySequence: 0 });
  t.match(long, /#EXT-X-TARGETDURATION:4\n/, 'a segment longer than the target raises it (RFC 8216 §4.3.3.1)');
});

t.test('retention: expired segments leave the index and the disk together; a rebuild finds what is left', async (t) => {
  const d = await dir(t);
  let now = 1_796_000_000_000;
  const lib = new HlsLibrary({ dir: d, segmentS: 2, windowS: 10, now: () => now, log: () => {} });
  await lib.load();
  t.teardown(() => lib.close());
  await mkdir(join(d, '5'));
  const add = async (i: number, disc = false): Promise<WrittenSegment> => {
    const s = { number: 5, startMs: now - 2000, durationMs: 2000, discontinuity: disc, bytes: 376, file: '' };
    s.file = segmentFileName(s);
    await writeFile(join(d, '5', s.file), Buffer.alloc(376, i));
    lib.add(s);
    return s;
  };
  const added: WrittenSegment[] = [];
  for (let i = 0; i < 10; i++) {
    now += 2000;
    added.push(await add(i, i === 0 || i === 6));
  }
  await sleep(50); // unlink is asynchronous
  const p = HLS.parse(lib.live(5)!) as HLS.types.MediaPlaylist;
  t.ok(p.segments.length <= 6, `${p.segments.length} segments: 10 s window at 2 s`);
  t.equal(p.mediaSequenceBase, 10 - p.segments.length, 'the sequence counts the removed ones');
  t.equal(p.discontinuitySequenceBase, 1, 'the removed discontinuity is counted');
  const files = (await readdir(join(d, '5'))).sort();
  t.same(files, p.segments.map((s) => s.uri).sort(), 'the disk holds exactly what the playlist lists');
  t.equal(lib.counters.removed, 10 - p.segments.length);

  // Rebuild: a new library on the same directory, with a leftover temporary file.
  await writeFile(join(d, '5', `.${added[9].file}.tmp`), 'x');
  const again = new HlsLibrary({ dir: d, segmentS: 2, windowS: 10, now: () => now, log: () => {} });
  await again.load();
  t.teardown(() => again.close());
  const q = HLS.parse(again.live(5)!) as HLS.types.MediaPlaylist;
  t.same(q.segments.map((s) => s.uri), p.segments.map((s) => s.uri), 'the same segments, in order');
  t.equal(again.counters.tmpRemoved, 1);
  t.notOk((await readdir(join(d, '5'))).some((f) => f.endsWith('.tmp')));
  t.equal(again.live(6), null, 'a channel without segments has no playlist');
  t.equal(again.segmentPath(5, '../../etc/passwd'), null);
});

t.test('the writer: a channel\'s segments announced in order; a full queue drops and counts', async (t) => {
  const d = await dir(t);
  const written: WrittenSegment[] = [];
  const w = new SegmentWriter({ dir: d, maxQueuedBytes: 3 * 1024 * 1024, onWritten: (s) => written.push(s), log: () => {} });
  // A large segment first, then small ones: without ordering the small ones would finish first.
  const sizes = [2 * 1024 * 1024, 188, 188];
  sizes.forEach((n, i) => w.write(3, { index: i, bytes: Buffer.alloc(n, 0x47), size: n, startMs: 1000 + i * 2000, durationMs: 2000, startPts90k: i * 180_000, discontinuity: false }));
  w.write(3, { index: 9, bytes: Buffer.alloc(2 * 1024 * 1024), size: 2 * 1024 * 1024, startMs: 99_000, durationMs: 2000, startPts90k: 0, discontinuity: false });
  t.equal(w.counters.dropped, 1, 'the segment that does not fit the queue is dropped');
  for (let i = 0; i < 100 && written.length < 3; i++) await sleep(20);
  t.same(written.map((s) => s.startMs), [1000, 3000, 5000], 'announced in the order they were cut');
  t.equal(w.counters.queuedBytes, 0);
  t.same((await readdir(join(d, '3'))).sort(), written.map((s) => s.file).sort(), 'every announced segment is on disk, under its final name');
});

t.test('the writer, streaming: parts go to a hidden file as they come, the tail closes it under its final name; abandoned or dropped segments leave nothing', async (t) => {
  const d = await dir(t);
  const written: WrittenSegment[] = [];
  const w = new SegmentWriter({ dir: d, maxQueuedBytes: 1024 * 1024, onWritten: (s) => written.push(s), log: () => {} });
  const settle = (): Promise<void> => w.drain();
  const bytes = Buffer.alloc(188 * 300);
  for (let i = 0; i < bytes.length; i++) bytes[i] = i % 251;
  w.part(5, 0, bytes.subarray(0, 188 * 100));
  w.part(5, 0, bytes.subarray(188 * 100, 188 * 250));
  await settle();
  const during = await readdir(join(d, '5'));
  t.equal(during.length, 1, 'one file while the segment grows');
  t.match(during[0], /^\..*\.tmp$/, 'hidden and temporary: never listed, removed by a restart');
  t.equal(parseSegmentFileName(during[0]), null);
  w.write(5, { index: 0, bytes: bytes.subarray(188 * 250), size: bytes.length, startMs: 7000, durationMs: 2000, startPts90k: 0, discontinuity: false });
  await settle();
  t.equal(written.length, 1);
  t.equal(written[0].bytes, bytes.length, 'announced with the whole size');
  t.same(await readdir(join(d, '5')), [written[0].file], 'published under its final name, nothing else left');
  t.ok((await readFile(join(d, '5', written[0].file))).equals(bytes), 'parts then tail: the segment, byte for byte');

  // A channel that stops mid-segment: the temporary file goes.
  w.part(5, 1, bytes.subarray(0, 188 * 10));
  await settle();
  w.abandon(5);
  await settle();
  t.same(await readdir(join(d, '5')), [written[0].file], 'abandoned: its temporary file removed');

  // A part that does not fit the queue drops the whole segment: no file, no announcement, even when its tail comes.
  const big = new SegmentWriter({ dir: d, maxQueuedBytes: 188 * 20, onWritten: (s) => written.push(s), log: () => {} });
  big.part(6, 0, bytes.subarray(0, 188 * 15));
  big.part(6, 0, bytes.subarray(0, 188 * 15));
  t.equal(big.counters.dropped, 1, 'counted once');
  big.part(6, 0, bytes.subarray(0, 188));
  big.write(6, { index: 0, bytes: bytes.subarray(0, 188), size: 188 * 31, startMs: 9000, durationMs: 2000, startPts90k: 0, discontinuity: false });
  await big.drain();
  t.equal(written.length, 1, 'the dropped segment is never announced');
  t.same(await readdir(join(d, '6')).catch(() => []), [], 'and leaves no file');
  t.equal(big.counters.dropped, 1, 'still one drop');
});

t.test('catch-up ranges: VOD when over, EVENT while airing, 404 with the reason outside the recording, 400 for nonsense', async (t) => {
  const d = await dir(t);
  const t0 = 1_796_000_000_000;
  let now = t0;
  const lib = new HlsLibrary({ dir: d, segmentS: 2, windowS: 3600, now: () => now, log: () => {} });
  await lib.load();
  t.teardown(() => lib.close());
  await mkdir(join(d, '4'));
  for (let i = 0; i < 30; i++) {
    const s = { number: 4, startMs: t0 + i * 2000, durationMs: 2000, discontinuity: i === 0 || i === 20, bytes: 188, file: '' };
    s.file = segmentFileName(s);
    await writeFile(join(d, '4', s.file), Buffer.alloc(188));
    lib.add(s);
  }
  now = t0 + 60_000; // 30 segments recorded, up to now

  const past = lib.range(4, t0 + 10_000, t0 + 20_000);
  t.ok('text' in past);
  const p = HLS.parse((past as { text: string }).text) as HLS.types.MediaPlaylist;
  t.equal(p.playlistType, 'VOD');
  t.equal(p.endlist, true, 'a range in the past is finished: ENDLIST');
  t.same(p.segments.map((s) => s.programDateTime!.getTime() - t0), [10_000, 12_000, 14_000, 16_000, 18_000], 'the five segments of those 10 s');
  t.equal(p.segments.reduce((a, s) => a + s.duration, 0), 10, 'lasting the range');

  const across = HLS.parse((lib.range(4, t0 + 36_000, t0 + 44_000) as { text: string }).text) as HLS.types.MediaPlaylist;
  t.same(across.segments.map((s) => !!s.discontinuity), [false, false, true, false], 'a discontinuity inside the range is marked');
  const startsWithOne = HLS.parse((lib.range(4, t0 + 40_000, t0 + 44_000) as { text: string }).text) as HLS.types.MediaPlaylist;
  t.equal(!!startsWithOne.segments[0].discontinuity, false, 'not at the start of a playlist of its own');

  const airing = lib.range(4, t0 + 50_000, t0 + 120_000);
  const e = HLS.parse((airing as { text: string }).text) as HLS.types.MediaPlaylist;
  t.equal(e.playlistType, 'EVENT', 'a programme still airing: an EVENT playlist (start-over)');
  t.equal(e.endlist, false);
  t.equal(e.segments.length, 5, 'from its start to now');

  t.match(lib.range(4, t0 - 100_000, t0 - 50_000), { status: 404, message: /recorded from 2026-.*is before it/ });
  t.match(lib.range(4, now + 1000, now + 5000), { status: 404, message: /in the future/ });
  t.match(lib.range(4, t0 + 5000, t0 + 5000), { status: 400, message: /empty/ });
  t.match(lib.range(4, t0, t0 + 25 * 3600_000), { status: 400, message: /at most 24 hours/ });
  t.match(lib.range(9, t0, t0 + 1000), { status: 404, message: /channel 9 has no recording/ });
});

t.test('catch-up days keep a channel longer than the live window; the disk budget removes the oldest of all channels first', async (t) => {
  const d = await dir(t);
  const t0 = 1_796_000_000_000;
  let now = t0;
  const lib = new HlsLibrary({ dir: d, segmentS: 2, windowS: 10, maxDiskBytes: 15 * 1000, now: () => now, log: () => {} });
  await lib.load();
  t.teardown(() => lib.close());
  lib.setCatchupDays(new Map([[1, 1], [2, 0]]));
  t.equal(lib.keptS(1), 86_400, 'channel 1: a day');
  t.equal(lib.keptS(2), 10, 'channel 2: the live window');
  for (const n of [1, 2]) await mkdir(join(d, String(n)));
  const add = async (n: number, i: number): Promise<void> => {
    const s = { number: n, startMs: t0 + i * 2000, durationMs: 2000, discontinuity: false, bytes: 1000, file: '' };
    s.file = segmentFileName(s);
    await writeFile(join(d, String(n), s.file), Buffer.alloc(1000));
    lib.add(s);
  };
  for (let i = 0; i < 15; i++) {
    now = t0 + (i + 1) * 2000;
    await add(1, i);
    await add(2, i);
  }
  await sleep(50);
  const p1 = HLS.parse(lib.live(1)!) as HLS.types.MediaPlaylist;
  const p2 = HLS.parse(lib.live(2)!) as HLS.types.MediaPlaylist;
  t.ok(p2.segments.length <= 6, `channel 2 keeps its 10 s window (${p2.segments.length} segments)`);
  t.equal(p1.segments.length + p2.segments.length, 15, 'together at the 15 kB budget: 15 segments of 1 kB');
  t.ok(p1.segments.length > p2.segments.length, `channel 1 (catch-up) keeps more (${p1.segments.length})`);
  t.ok(lib.counters.removedForBudget > 0, `the budget removed ${lib.counters.removedForBudget} of channel 1's oldest`);
  t.equal(lib.diskBytes, 15_000);
  const files = (await readdir(join(d, '1'))).length + (await readdir(join(d, '2'))).length;
  t.equal(files, 15, 'the disk holds what the index lists');
  t.equal(p1.segments[0].programDateTime!.getTime(), t0 + (15 - p1.segments.length) * 2000, 'the oldest went first');
});
