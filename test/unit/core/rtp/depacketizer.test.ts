import t from 'tap';
import fc from 'fast-check';
import { RtpDepacketizer } from '../../../../core/rtp/depacketizer.js';
import { Mp2tPacketizer, MP2T_DATAGRAM_SIZE, TS_PER_DATAGRAM } from '../../../../core/rtp/packetizer.js';
import { writeRtpHeader, RTP_HEADER_SIZE } from '../../../../core/rtp/header.js';
import { seqAdd } from '../../../../core/rtp/seq.js';
import { CollectSink, tsPackets, packetIndices } from './collect-sink.js';
import { hex, rtpCases } from './rtp-cases.js';

/** Datagram `seq` carrying one TS packet whose index is `index` (default: seq). */
function dg(seq: number, opts: { index?: number; ssrc?: number; count?: number; pt?: number } = {}): Buffer {
  const count = opts.count ?? 1;
  const ts = tsPackets(count, opts.index ?? seq);
  const b = Buffer.alloc(RTP_HEADER_SIZE + ts.length);
  writeRtpHeader(b, 0, opts.pt ?? 33, false, seq & 0xffff, 0, opts.ssrc ?? 1);
  ts.copy(b, RTP_HEADER_SIZE);
  return b;
}

function run(seqs: number[], opts: { reorderWindow?: number } = {}) {
  const sink = new CollectSink();
  const d = new RtpDepacketizer(sink, opts);
  for (const s of seqs) d.push(dg(s));
  return { sink, d, out: () => packetIndices(sink.bytes()) };
}

t.test('packetize → depacketize returns the same TS bytes (any payload, count, start seq)', async (t) => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 188, maxLength: 188 * 40 }).map((a) => Buffer.from(a.subarray(0, a.length - (a.length % 188)))),
      fc.array(fc.integer({ min: 1, max: TS_PER_DATAGRAM }), { minLength: 1, maxLength: 40 }),
      fc.integer({ min: 0, max: 0xffff }),
      (ts, chunking, seq0) => {
        const p = new Mp2tPacketizer({ initialSequenceNumber: seq0, ssrc: 7 });
        const sink = new CollectSink();
        const d = new RtpDepacketizer(sink);
        const total = ts.length / 188;
        let at = 0;
        for (let i = 0; at < total; i++) {
          const n = Math.min(chunking[i % chunking.length], total - at);
          const out = Buffer.alloc(MP2T_DATAGRAM_SIZE);
          const len = p.packetize(out, ts, at * 188, n, at * 100);
          d.push(out.subarray(0, len));
          at += n;
        }
        const c = d.counters;
        return sink.bytes().equals(ts) && c.lost === 0 && c.malformed === 0 && c.packets === total && sink.discontinuities.length === 0;
      },
    ),
    { numRuns: 300 },
  );
  t.pass();
});

t.test('delivers in order across the 65535 → 0 wrap without loss', async (t) => {
  const seqs = [65533, 65534, 65535, 0, 1, 2].map((s, i) => ({ s, i }));
  const sink = new CollectSink();
  const d = new RtpDepacketizer(sink);
  for (const { s, i } of seqs) d.push(dg(s, { index: i }));
  t.same(packetIndices(sink.bytes()), [0, 1, 2, 3, 4, 5]);
  t.equal(d.counters.lost, 0);
  t.equal(d.counters.late, 0);
});

t.test('reorders within the window across the wrap, back to the original order', async (t) => {
  const order = [65534, 0, 65535, 3, 2, 1, 4];
  const sink = new CollectSink();
  const d = new RtpDepacketizer(sink, { reorderWindow: 4 });
  for (const s of order) d.push(dg(s, { index: seqAdd(s, 2) }));
  t.same(packetIndices(sink.bytes()), [0, 1, 2, 3, 4, 5, 6]);
  t.equal(d.counters.reordered, 3, '65535, 2 and 1 arrived after a higher number');
  t.equal(d.counters.lost, 0);
  t.same(sink.discontinuities, []);
});

t.test('in-order datagrams pass straight through: the sink gets the caller’s buffer', async (t) => {
  const seen: Buffer[] = [];
  const d = new RtpDepacketizer({ writePackets: (buf) => void seen.push(buf) });
  const a = dg(10);
  d.push(a);
  t.equal(seen[0], a, 'same Buffer object, no copy');
  const c = dg(12);
  d.push(c);
  d.push(dg(11));
  t.not(seen[2], c, 'a held datagram is delivered from its slot');
});

t.test('drops duplicates and counts them, delivered or held', async (t) => {
  const { d, out } = run([0, 1, 1, 3, 3, 2, 0]);
  t.same(out(), [0, 1, 2, 3]);
  t.equal(d.counters.duplicates, 3, '1 again after delivery, 3 again while held, 0 again after delivery');
});

t.test('a gap larger than the window is counted as loss exactly, with one discontinuity', async (t) => {
  const seqs = [0, ...Array.from({ length: 11 }, (_, i) => 10 + i)];
  const { sink, d, out } = run(seqs, { reorderWindow: 4 });
  t.equal(d.counters.lost, 9, 'sequence numbers 1..9');
  t.same(sink.discontinuities, [1], 'before the first packet after the gap');
  t.same(out(), [0, ...Array.from({ length: 11 }, (_, i) => 10 + i)], 'held ones released once the loss was declared');
  t.equal(d.heldDatagrams, 0);
  d.push(dg(5));
  t.equal(d.counters.late, 1, 'arrival after being declared lost is late, not a duplicate');
  t.equal(d.counters.duplicates, 0);
});

t.test('flush delivers what is held and declares the holes lost', async (t) => {
  const { sink, d, out } = run([0, 2, 5]);
  t.same(out(), [0]);
  d.flush();
  t.same(out(), [0, 2, 5]);
  t.equal(d.counters.lost, 3, '1, 3, 4');
  t.same(sink.discontinuities, [1, 2], 'one per hole');
  d.push(dg(6));
  t.same(out(), [0, 2, 5, 6], 'continues after the flushed ones');
});

t.test('a new SSRC is a new stream: held data delivered, one discontinuity, counted', async (t) => {
  const sink = new CollectSink();
  const d = new RtpDepacketizer(sink);
  for (const s of [100, 101, 103]) d.push(dg(s, { index: s }));
  for (const s of [40000, 40001]) d.push(dg(s, { index: s, ssrc: 2 }));
  t.same(packetIndices(sink.bytes()), [100, 101, 103, 40000, 40001]);
  t.equal(d.counters.ssrcChanges, 1);
  t.equal(d.counters.lost, 1, '102 never came');
  t.same(sink.discontinuities, [2, 3]);
});

t.test('a large jump in sequence number restarts the stream only when confirmed (RFC 3550 A.1)', async (t) => {
  const sink = new CollectSink();
  const d = new RtpDepacketizer(sink);
  for (const s of [100, 101, 30000, 102]) d.push(dg(s));
  t.same(packetIndices(sink.bytes()), [100, 101, 102], 'a lone stray is dropped');
  t.equal(d.counters.malformed, 1);
  t.equal(d.counters.lost, 0);
  for (const s of [30000, 30001, 30002]) d.push(dg(s));
  t.same(packetIndices(sink.bytes()), [100, 101, 102, 30000, 30001, 30002], 'two sequential: restart, first one kept');
  t.same(sink.discontinuities, [3]);
  t.equal(d.counters.lost, 0, 'a restart is not 29898 lost datagrams');
});

t.test('truncated and malformed datagrams are counted, never thrown', async (t) => {
  const sink = new CollectSink();
  const d = new RtpDepacketizer(sink, { expectedPayloadType: 33 });
  d.push(Buffer.alloc(0));
  d.push(Buffer.from([0x80, 0x21, 0x00]));
  for (const c of rtpCases) if (c.result !== 0) d.push(c.bytes);
  d.push(dg(1, { pt: 96 }));
  const c = d.counters;
  t.equal(c.datagrams, 2 + rtpCases.filter((x) => x.result !== 0).length + 1);
  t.equal(c.truncated, 2 + rtpCases.filter((x) => x.result === -1).length);
  t.equal(c.malformed, rtpCases.filter((x) => x.result < -1).length + 1, 'bad headers + wrong PT');
  t.equal(c.packets, 0);
});

t.test('payload not a multiple of 188: whole-packet prefix kept if it starts with 0x47, else dropped', async (t) => {
  const sink = new CollectSink();
  const d = new RtpDepacketizer(sink);
  d.push(dg(0));
  d.push(Buffer.concat([dg(1, { count: 2 }), Buffer.from([1, 2, 3, 4, 5])]));
  const junk = dg(2, { count: 2 });
  junk[RTP_HEADER_SIZE] = 0x00;
  d.push(Buffer.concat([junk, Buffer.from([9])]));
  d.push(dg(3));
  d.flush();
  t.same(packetIndices(sink.bytes()), [0, 1, 2, 3]);
  t.equal(d.counters.malformed, 2);
  t.equal(d.counters.lost, 1, 'the dropped datagram leaves a hole');
  t.same(sink.discontinuities, [3]);
});

t.test('CSRC, header extension and padding are skipped to find the TS payload', async (t) => {
  const ts = tsPackets(1, 77);
  const b = Buffer.concat([
    hex(`
      b1 21 00 05   # V2 P1 X1 CC1 | M0 PT33 | sequence number 5
      00 00 00 00   # timestamp 0
      00 00 00 2a   # SSRC 42
      33 33 33 33   # CSRC[0]
      00 01 00 01   # extension: profile 0x0001 | length 1 word
      aa bb cc dd   # extension data
    `),
    ts,
    hex('00 00 00 04  # padding: 3 octets + count 4'),
  ]);
  const sink = new CollectSink();
  const d = new RtpDepacketizer(sink);
  d.push(b);
  t.same(sink.bytes(), ts);
  t.equal(d.counters.malformed, 0);
});

t.test('arbitrary bytes are counted, never thrown, and only whole TS packets come out', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 1400 }), { maxLength: 50 }), (dgs) => {
      const sink = new CollectSink();
      const d = new RtpDepacketizer(sink, { reorderWindow: 8 });
      for (const x of dgs) d.push(Buffer.from(x));
      d.flush();
      return d.counters.datagrams === dgs.length && sink.bytes().length === d.counters.packets * 188;
    }),
    { numRuns: 300 },
  );
  t.pass();
});

t.test('random displacement within the window, duplicates and loss: order kept, loss exact', async (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 0xffff }),
      fc.array(fc.tuple(fc.integer({ min: 0, max: 7 }), fc.boolean(), fc.boolean()), { minLength: 10, maxLength: 200 }),
      (seq0, plan) => {
        const n = plan.length;
        // Arrival key: position plus a displacement < window/2; some dropped, some doubled.
        const arrivals: { seq: number; key: number }[] = [];
        const dropped = new Set<number>();
        plan.forEach(([disp, drop, dup], i) => {
          if (drop && i > 0 && i < n - 1) {
            dropped.add(i);
            return;
          }
          arrivals.push({ seq: i, key: i + disp });
          if (dup) arrivals.push({ seq: i, key: i + disp + 0.5 });
        });
        arrivals.sort((a, b) => a.key - b.key || a.seq - b.seq);
        const sink = new CollectSink();
        const d = new RtpDepacketizer(sink, { reorderWindow: 16 });
        const first = arrivals[0].seq;
        for (const a of arrivals) d.push(dg(seq0 + a.seq, { index: a.seq }));
        d.flush();
        const expected = Array.from({ length: n }, (_, i) => i).filter((i) => i >= first && !dropped.has(i));
        const got = packetIndices(sink.bytes());
        // Anything older than the first arrival (reordered ahead of the
        // stream start) is late; second copies are duplicates.
        return (
          JSON.stringify(got) === JSON.stringify(expected) &&
          d.counters.lost === [...dropped].filter((i) => i > first).length &&
          d.counters.late + d.counters.duplicates === arrivals.length - expected.length
        );
      },
    ),
    { numRuns: 300 },
  );
  t.pass();
});

t.test('a datagram too big for a reorder slot is dropped and counted; in order, any size passes', async (t) => {
  const sink = new CollectSink();
  const d = new RtpDepacketizer(sink, { maxPacketsPerDatagram: 1 });
  d.push(dg(0, { count: 3, index: 0 }));
  d.push(dg(2, { count: 2, index: 10 }));
  d.push(dg(1, { index: 3 }));
  d.flush();
  t.same(packetIndices(sink.bytes()), [0, 1, 2, 3]);
  t.equal(d.counters.malformed, 1);
  t.equal(d.counters.lost, 0, 'nothing held, so nothing left to declare');
});

t.test('programmer errors throw RangeError at construction', async (t) => {
  const sink = new CollectSink();
  t.throws(() => new RtpDepacketizer(sink, { reorderWindow: 0 }), RangeError);
  t.throws(() => new RtpDepacketizer(sink, { reorderWindow: 1.5 }), RangeError);
  t.throws(() => new RtpDepacketizer(sink, { expectedPayloadType: 200 }), RangeError);
});
