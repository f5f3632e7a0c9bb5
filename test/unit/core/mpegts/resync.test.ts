import t from 'tap';
import fc from 'fast-check';
import { TsResync } from '../../../../core/mpegts/resync.js';
import type { TsPacketSink } from '../../../../core/mpegts/sink.js';
import { TS_PACKET_SIZE } from '../../../../core/mpegts/packet.js';
import { insertAt, readFixture, run } from '../../../fixtures/ts-fixtures.js';

/** Split `buf` into chunks whose sizes cycle through `sizes`. */
function* chunked(buf: Buffer, sizes: readonly number[]): Generator<Buffer> {
  let o = 0;
  for (let i = 0; o < buf.length; i++) {
    const n = sizes[i % sizes.length];
    yield buf.subarray(o, o + n);
    o += n;
  }
}

function summary(r: ReturnType<typeof run>) {
  return {
    inspector: { ...r.inspector.counters },
    resync: { ...r.resync.counters },
    keyframePts: r.keyframePts,
    keyframeAuStart: r.keyframeAuStart,
    pts: r.pts,
  };
}

const clean = readFixture('h264-aac-1s-gop');
const garbage = Buffer.alloc(777, 0x47); // sync-looking garbage is the hard case
const dirty = insertAt(insertAt(clean, TS_PACKET_SIZE * 900 + 31, garbage), TS_PACKET_SIZE * 300, Buffer.alloc(5, 1));

t.test('gives identical results for every chunking (fast-check, chunks of 1..5000 bytes)', async (t) => {
  const expectedClean = summary(run([clean]));
  const expectedDirty = summary(run([dirty]));
  t.equal(expectedClean.inspector.keyframes, 6);
  t.ok(expectedDirty.resync.syncLosses >= 1);
  const size = fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 187 }), fc.integer({ min: 1, max: 5000 }));
  fc.assert(
    fc.property(fc.array(size, { minLength: 1, maxLength: 40 }), fc.boolean(), (sizes, useDirty) => {
      const input = useDirty ? dirty : clean;
      const got = summary(run(chunked(input, sizes)));
      t.strictSame(got, useDirty ? expectedDirty : expectedClean);
    }),
    { numRuns: 60 },
  );
});

t.test('gives identical results when fed one byte at a time', async (t) => {
  t.strictSame(summary(run(chunked(dirty, [1]))), summary(run([dirty])));
});

t.test('aligned fast path hands the chunk itself to the sink, no copy', async (t) => {
  const calls: { buf: Buffer; off: number; count: number }[] = [];
  const sink: TsPacketSink = {
    writePackets(buf, off, count) {
      calls.push({ buf, off, count });
    },
  };
  const r = new TsResync(sink);
  const a = clean.subarray(0, 7 * TS_PACKET_SIZE);
  const b = clean.subarray(7 * TS_PACKET_SIZE, 14 * TS_PACKET_SIZE);
  r.push(a);
  r.push(b);
  t.equal(calls.length, 2);
  t.equal(calls[0].buf, a, 'same Buffer object');
  t.equal(calls[0].off, 0);
  t.equal(calls[0].count, 7);
  t.equal(calls[1].buf, b);
  t.equal(calls[1].buf.buffer, clean.buffer, 'same underlying memory');
  t.equal(calls[1].buf.byteOffset, clean.byteOffset + 7 * TS_PACKET_SIZE);
});

t.test('a remainder is carried in scratch and the rest of the next chunk is passed in place', async (t) => {
  const calls: { buf: Buffer; off: number; count: number }[] = [];
  const r = new TsResync({
    writePackets(buf, off, count) {
      calls.push({ buf, off, count });
    },
  });
  const first = clean.subarray(0, 10 * TS_PACKET_SIZE + 100);
  const second = clean.subarray(10 * TS_PACKET_SIZE + 100, 100 * TS_PACKET_SIZE);
  r.push(first);
  r.push(second);
  const total = calls.reduce((n, c) => n + c.count, 0);
  t.equal(total, 100);
  t.equal(calls[0].buf, first);
  const inPlace = calls.find((c) => c.buf === second);
  t.ok(inPlace, 'most of the second chunk goes to the sink without a copy');
  const copied = calls.filter((c) => c.buf !== first && c.buf !== second).reduce((n, c) => n + c.count, 0);
  t.ok(copied <= 4, `at most the scratch's 4 packets are copies (got ${copied})`);
});

t.test('garbage before the first packet is skipped and counted', async (t) => {
  const input = Buffer.concat([Buffer.from([0x47, 0x00, 0x47, 1, 2, 3]), clean.subarray(0, 20 * TS_PACKET_SIZE)]);
  let packets = 0;
  const r = new TsResync({
    writePackets(_b, _o, count) {
      packets += count;
    },
  });
  r.push(input);
  r.end();
  t.equal(packets, 20);
  t.equal(r.counters.bytesSkipped, 6);
  t.equal(r.counters.syncLosses, 0, 'never in sync before, so not a loss');
  t.equal(r.counters.syncAcquisitions, 1);
});

t.test('end() flushes an input of only two packets, confirmed by what there is', async (t) => {
  let packets = 0;
  let ended = 0;
  const r = new TsResync({
    writePackets(_b, _o, count) {
      packets += count;
    },
    end() {
      ended++;
    },
  });
  r.push(clean.subarray(0, 2 * TS_PACKET_SIZE));
  t.equal(packets, 0, 'two syncs do not acquire sync while more may come');
  r.end();
  t.equal(packets, 2);
  t.equal(r.counters.bytesSkipped, 0);
  t.equal(ended, 1);
});

t.test('end() counts a trailing partial packet as skipped', async (t) => {
  let packets = 0;
  const r = new TsResync({
    writePackets(_b, _o, count) {
      packets += count;
    },
  });
  r.push(clean.subarray(0, 10 * TS_PACKET_SIZE + 50));
  r.end();
  t.equal(packets, 10);
  t.equal(r.counters.bytesSkipped, 50);
});

t.test('reset() drops the remainder and forwards a discontinuity', async (t) => {
  let packets = 0;
  let discontinuities = 0;
  const r = new TsResync({
    writePackets(_b, _o, count) {
      packets += count;
    },
    discontinuity() {
      discontinuities++;
    },
  });
  r.push(clean.subarray(0, 5 * TS_PACKET_SIZE + 10));
  r.reset();
  r.push(clean.subarray(20 * TS_PACKET_SIZE, 30 * TS_PACKET_SIZE));
  t.equal(packets, 15);
  t.equal(discontinuities, 1);
  t.equal(r.counters.bytesSkipped, 0);
});

t.test('two consecutive corrupt sync bytes are a sync loss', async (t) => {
  const ts = Buffer.from(clean.subarray(0, 50 * TS_PACKET_SIZE));
  ts[10 * TS_PACKET_SIZE] = 0;
  ts[11 * TS_PACKET_SIZE] = 0;
  let packets = 0;
  const r = new TsResync({
    writePackets(_b, _o, count) {
      packets += count;
    },
  });
  r.push(ts);
  r.end();
  t.equal(r.counters.syncLosses, 1);
  t.equal(r.counters.syncByteErrors, 0);
  t.equal(packets, 48, 'the two packets are lost');
  t.equal(r.counters.bytesSkipped, 2 * TS_PACKET_SIZE);
});
