/**
 * The HLS segmenter (core/hls/segmenter.ts) on the ffmpeg-made fixtures
 * (1 s GOP, 6 s): every segment starts with PAT, PMT and an I-frame, lasts
 * the target (2 s = two GOPs), ffprobe reads each on its own, and the
 * segments put back together are the stream byte for byte from the first
 * cut; a jump of the time base marks the next segment as a discontinuity;
 * a stream with no I-frame for too long drops the segment, bounded.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HlsSegmenter, type Segment } from '../../../../core/hls/segmenter.js';
import { TsInspector } from '../../../../core/mpegts/inspector.js';
import { TS_PACKET_SIZE } from '../../../../core/mpegts/packet.js';
import { FIXTURES, readFixture } from '../../../fixtures/ts-fixtures.js';

const execFileP = promisify(execFile);

/** Inspector and segmenter fed alike, cut where the headend's channel cuts its GOP cache: the PAT before the I-frame. */
function segment(ts: Buffer, o: { targetDurationMs?: number; maxSegmentBytes?: number; runPackets?: number; ptsOffset?: (byte: number) => number; partialBytes?: number } = {}) {
  const segments: Segment[] = [];
  /** Streaming (partialBytes given): each segment's parts, in order, then its tail. */
  const parts = new Map<number, Buffer[]>();
  const abandoned: number[] = [];
  const streaming = o.partialBytes !== undefined;
  const seg = new HlsSegmenter({
    targetDurationMs: o.targetDurationMs ?? 2000,
    maxSegmentBytes: o.maxSegmentBytes,
    onSegment: (s) => segments.push(s),
    ...(streaming
      ? {
          partialBytes: o.partialBytes,
          onPartial: (i: number, b: Buffer) => parts.set(i, [...(parts.get(i) ?? []), b]),
          onAbandon: (i: number) => abandoned.push(i),
        }
      : {}),
  });
  const ins: TsInspector = new TsInspector({
    listener: {
      randomAccess(_b, _o, pts90k, auStart) {
        const pat = ins.lastPatByte;
        const pmt = ins.lastPmtByte;
        const start = pat >= 0 && pat <= auStart && pmt > pat && pmt < auStart ? pat : auStart;
        // The wall clock runs on whatever the PTS does.
        seg.cutAt(start, pts90k + (o.ptsOffset?.(auStart) ?? 0), pts90k / 90);
      },
    },
  });
  const run = (o.runPackets ?? 7) * TS_PACKET_SIZE;
  for (let off = 0; off < ts.length; off += run) {
    const n = Math.min(run, ts.length - off) / TS_PACKET_SIZE;
    ins.writePackets(ts, off, n);
    seg.writePackets(ts, off, n);
    // What the headend's channel says after each run: no cut before the PAT or the access unit still open.
    if (streaming) seg.settle(Math.min(ins.undecidedFrom, ins.lastPatByte >= 0 ? ins.lastPatByte : ins.undecidedFrom));
  }
  return { segments, seg, parts, abandoned };
}

const pidAt = (b: Buffer, k: number): number => ((b[k * TS_PACKET_SIZE + 1] & 0x1f) << 8) | b[k * TS_PACKET_SIZE + 2];

for (const name of FIXTURES) {
  t.test(`${name}: segments start PAT, PMT, I-frame; last the target; are the stream, byte for byte; each decodes alone`, async (t) => {
    const ts = readFixture(name);
    const { segments, seg } = segment(ts);
    t.equal(segments.length, 2, '6 s at a 2 s target: two closed segments (the third is still open)');
    t.equal(seg.counters.segments, 2);
    for (const s of segments) {
      t.equal(pidAt(s.bytes, 0), 0, `segment ${s.index} starts with the PAT`);
      t.equal(pidAt(s.bytes, 1), 0x1000, `then the PMT (0x1000 in the fixtures)`);
      t.ok(Math.abs(s.durationMs - 2000) <= 40, `lasts 2 s by PTS (${s.durationMs.toFixed(1)} ms)`);
      t.equal(s.discontinuity, false);
      t.equal(s.bytes.length % TS_PACKET_SIZE, 0, 'whole packets');
    }
    t.equal(segments[1].startPts90k - segments[0].startPts90k, 180_000, 'back to back');
    // Byte for byte: from the first cut, nothing added or lost.
    const firstCut = ts.indexOf(segments[0].bytes.subarray(0, 4 * TS_PACKET_SIZE));
    t.ok(firstCut >= 0 && firstCut % TS_PACKET_SIZE === 0, 'the first segment is where the stream has it');
    const joined = Buffer.concat(segments.map((s) => s.bytes));
    t.ok(joined.equals(ts.subarray(firstCut, firstCut + joined.length)), 'the segments put together are the stream');

    // ffprobe reads each segment on its own, from a key frame.
    const dir = await mkdtemp(join(tmpdir(), 'roomcast-seg-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    for (const s of segments) {
      const f = join(dir, `${s.index}.ts`);
      await writeFile(f, s.bytes);
      const { stdout } = await execFileP('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=key_frame,pict_type', '-of', 'csv=p=0', f]);
      const frames = stdout.trim().split('\n');
      t.match(frames[0], /^1,I\b/, `segment ${s.index} decodes from its first frame, an I-frame`);
      t.ok(frames.length >= 45 && frames.length <= 55, `segment ${s.index}: ${frames.length} frames (2 s at 25 fps)`);
    }
  });
}

t.test('a shorter target cuts at every I-frame; the run size does not matter', async (t) => {
  const ts = readFixture('h264-aac-1s-gop');
  const a = segment(ts, { targetDurationMs: 500, runPackets: 1 }).segments;
  const b = segment(ts, { targetDurationMs: 500, runPackets: 100 }).segments;
  t.equal(a.length, 5, 'one segment per 1 s GOP (the sixth still open)');
  t.same(
    a.map((s) => s.bytes.length),
    b.map((s) => s.bytes.length),
    'packet by packet or 100 at a time: the same cuts',
  );
});

t.test('a time-base jump: the segment before it gets its wall-clock duration, the next is a discontinuity', async (t) => {
  const ts = readFixture('h264-aac-1s-gop');
  // From byte 3 s on, PTS jumps by 10 hours (an input switch to another encoder).
  const half = Math.floor(ts.length / 2 / TS_PACKET_SIZE) * TS_PACKET_SIZE;
  const { segments, seg } = segment(ts, { targetDurationMs: 500, ptsOffset: (b) => (b >= half ? 10 * 3600 * 90_000 : 0) });
  const d = segments.findIndex((s) => s.discontinuity);
  t.ok(d > 0, `segment ${d} is marked as a discontinuity`);
  t.equal(seg.counters.discontinuities, 1);
  t.ok(segments.every((s) => s.durationMs >= 0 && s.durationMs < 60_000), 'no duration is absurd');
});

t.test('bounded: no I-frame for longer than maxSegmentBytes drops the segment and waits for the next one', async (t) => {
  const ts = readFixture('h264-aac-1s-gop');
  const { segments, seg } = segment(ts, { targetDurationMs: 500, maxSegmentBytes: 64 * 1024 });
  t.ok(seg.counters.droppedOversize > 0, `dropped ${seg.counters.droppedOversize} (a 1 s GOP is larger than 64 KiB)`);
  t.ok(segments.every((s) => s.bytes.length <= 64 * 1024), 'nothing larger than the bound came out');
});

for (const runPackets of [1, 7, 50]) {
  t.test(`streaming (runs of ${runPackets} packets): the parts and the tail are the segments a whole-segment cut makes, byte for byte`, async (t) => {
    for (const name of FIXTURES) {
      const ts = readFixture(name);
      const whole = segment(ts, { runPackets }).segments;
      const { segments, parts, seg } = segment(ts, { runPackets, partialBytes: 16 * 1024 });
      t.equal(segments.length, whole.length, `${name}: as many segments`);
      for (const [i, s] of segments.entries()) {
        const p = parts.get(s.index) ?? [];
        t.ok(p.length >= 2, `${name} segment ${i}: handed out in ${p.length} parts before its end`);
        t.ok(p.every((b) => b.length % TS_PACKET_SIZE === 0 && b.length >= 16 * 1024), 'each part whole packets, at least partialBytes');
        const joined = Buffer.concat([...p, s.bytes]);
        t.ok(joined.equals(whole[i].bytes), `${name} segment ${i}: parts + tail = the segment (${joined.length} bytes)`);
        t.equal(s.size, whole[i].bytes.length, 'size is the whole segment');
        t.ok(s.bytes.length < 16 * 1024 + 64 * TS_PACKET_SIZE, `only a small tail is left at the cut (${s.bytes.length} bytes)`);
        t.equal(s.durationMs, whole[i].durationMs);
        t.equal(s.startMs, whole[i].startMs);
      }
      t.equal(seg.counters.lateCuts, 0, 'no cut came before settled bytes');
    }
  });
}

t.test('streaming: a cut before bytes already handed out is refused and counted, never corrupts a segment', async (t) => {
  const ts = readFixture(FIXTURES[0]);
  const got: Segment[] = [];
  const parts: Buffer[] = [];
  const seg = new HlsSegmenter({ targetDurationMs: 500, partialBytes: 188, onSegment: (s) => got.push(s), onPartial: (_i, b) => parts.push(b) });
  seg.cutAt(0, 0, 0);
  seg.writePackets(ts, 0, 100);
  seg.settle(100 * TS_PACKET_SIZE);
  t.equal(Buffer.concat(parts).length, 100 * TS_PACKET_SIZE, 'all settled bytes handed out');
  seg.cutAt(50 * TS_PACKET_SIZE, 90_000, 1000);
  t.equal(seg.counters.lateCuts, 1, 'a cut inside handed-out bytes: refused');
  t.equal(got.length, 0, 'no segment made of it');
  seg.cutAt(120 * TS_PACKET_SIZE, 90_000, 1000);
  seg.writePackets(ts, 100 * TS_PACKET_SIZE, 30);
  t.equal(got.length, 1, 'the next cut closes the segment');
  t.equal(got[0].size, 120 * TS_PACKET_SIZE);
  t.ok(Buffer.concat([...parts, got[0].bytes]).subarray(0, 120 * TS_PACKET_SIZE).equals(ts.subarray(0, 120 * TS_PACKET_SIZE)), 'parts + tail are the stream');
});

t.test('streaming: a segment too long is abandoned (its parts must be forgotten)', async (t) => {
  const ts = readFixture(FIXTURES[0]);
  const { abandoned, seg } = segment(ts, { maxSegmentBytes: 64 * 1024, partialBytes: 8 * 1024 });
  t.ok(seg.counters.droppedOversize > 0);
  t.ok(abandoned.length > 0, `onAbandon told for ${abandoned.length} segments`);
});
