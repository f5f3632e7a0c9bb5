import t from 'tap';
import fc from 'fast-check';
import { readFixture } from '../../../fixtures/ts-fixtures.js';
import { CollectSink } from '../../core/rtp/collect-sink.js';
import { strictCcErrors } from '../../../helpers/agent-stb-ts.js';
import { TS_PACKET_SIZE } from '../../../../core/mpegts/packet.js';
import { TsInspector } from '../../../../core/mpegts/inspector.js';
import { Mp2tPacketizer, MP2T_DATAGRAM_SIZE, TS_PER_DATAGRAM } from '../../../../core/rtp/packetizer.js';
import { RtpDepacketizer } from '../../../../core/rtp/depacketizer.js';
import { seqAdd } from '../../../../core/rtp/seq.js';
import { FccSplicer } from '../../../../stb-agent/tuner/splice.js';

const P = TS_PACKET_SIZE;
const TS = readFixture('h264-aac-1s-gop');
const TOTAL_PACKETS = TS.length / P;
/** 2795 packets → 399 datagrams of 7 and a last one of 2. */
const DATAGRAMS = Math.ceil(TOTAL_PACKETS / TS_PER_DATAGRAM);

/**
 * The headend's RTP stream of the fixture, 7 TS packets per datagram
 * (RFC 2250 over Ethernet), starting at sequence number `seq0`. The FCC
 * burst replays these very datagrams (same SSRC and numbers).
 */
function rtpStream(seq0: number): Buffer[] {
  const p = new Mp2tPacketizer({ initialSequenceNumber: seq0, ssrc: 0x52434d31 });
  const out: Buffer[] = [];
  for (let at = 0; at < TOTAL_PACKETS; at += TS_PER_DATAGRAM) {
    const n = Math.min(TS_PER_DATAGRAM, TOTAL_PACKETS - at);
    const d = Buffer.alloc(MP2T_DATAGRAM_SIZE);
    out.push(d.subarray(0, p.packetize(d, TS, at * P, n, at * 100)));
  }
  return out;
}

/** The TS bytes carried by datagrams [from, to) of the stream (indices, not sequence numbers). */
function tsOf(from: number, to: number): Buffer {
  return TS.subarray(from * TS_PER_DATAGRAM * P, Math.min(TOTAL_PACKETS, to * TS_PER_DATAGRAM) * P);
}

type Arrival = { from: 'burst' | 'multicast'; i: number } | { from: 'burstEnded' };

function harness(maxHeld?: number) {
  const sink = new CollectSink();
  const depack = new RtpDepacketizer(sink);
  const spliced: number[] = [];
  const gaps: number[] = [];
  const splicer = new FccSplicer(depack, { spliced: (seq) => void spliced.push(seq), gap: (n) => void gaps.push(n) }, maxHeld);
  return { sink, depack, splicer, spliced, gaps };
}

function deliver(h: ReturnType<typeof harness>, dgs: Buffer[], arrivals: Arrival[]): void {
  for (const a of arrivals) {
    if (a.from === 'burstEnded') h.splicer.burstEnded();
    else if (a.from === 'burst') h.splicer.burst(dgs[a.i]);
    else h.splicer.multicast(dgs[a.i]);
  }
}

function ccErrors(ts: Buffer): number {
  const ins = new TsInspector();
  ins.writePackets(ts, 0, ts.length / P);
  return ins.counters.ccErrors;
}

t.test('the fixture as RTP round-trips through the depacketizer (the baseline the splice is compared to)', async (t) => {
  const dgs = rtpStream(65500);
  const sink = new CollectSink();
  const d = new RtpDepacketizer(sink);
  for (const g of dgs) d.push(g);
  t.equal(DATAGRAMS, dgs.length);
  t.ok(sink.bytes().equals(TS));
  t.equal(ccErrors(TS), 0, 'the fixture itself is CC-clean');
});

/** libuv reads at most 32 datagrams from one socket per poll: the most the burst socket can get ahead. */
const SKEW = 32;

/**
 * A burst [s0, s0+k) and the multicast [m0, end), s0 < m0 ≤ s0+k, merged in
 * the order the `takeBurst` bits say (each stream in its own order), with
 * some datagrams arriving again a little later, and the server's "burst
 * over" somewhere after the burst's last datagram.
 */
const scenario = fc
  .record({
    anySeq0: fc.integer({ min: 0, max: 0xffff }),
    /** Where 65535 → 0 falls, in datagrams after s0 (mostly inside the splice window); null: anywhere. */
    wrapAt: fc.option(fc.integer({ min: 0, max: 100 }), { freq: 4 }),
    s0: fc.integer({ min: 0, max: 200 }),
    k: fc.integer({ min: 1, max: 120 }),
    mOff: fc.integer({ min: 1, max: 120 }),
    mLen: fc.integer({ min: 1, max: 70 }),
    takeBurst: fc.array(fc.boolean(), { maxLength: 300 }),
    dups: fc.array(fc.record({ multicast: fc.boolean(), i: fc.nat(), delay: fc.integer({ min: 0, max: 12 }) }), { maxLength: 8 }),
    endedDelay: fc.option(fc.nat({ max: 80 }), { nil: undefined }),
  })
  .map((r) => {
    const m0 = r.s0 + Math.min(r.mOff, r.k); // s0 < m0 ≤ s0 + k
    const burstEnd = Math.min(DATAGRAMS, r.s0 + r.k);
    // The multicast runs on past the burst's last datagram (it is the live stream).
    const end = Math.min(DATAGRAMS, Math.max(burstEnd + 1, m0 + r.mLen));
    const burst = Array.from({ length: burstEnd - r.s0 }, (_, j) => r.s0 + j);
    const multicast = Array.from({ length: end - m0 }, (_, j) => m0 + j);
    const arrivals: Arrival[] = [];
    let b = 0;
    let m = 0;
    for (let step = 0; b < burst.length || m < multicast.length; step++) {
      // The burst replays what the multicast already carried: it cannot run
      // more than a receive batch (SKEW) ahead of the live multicast.
      const burstMayGo = b < burst.length && burst[b] < m0 + m + SKEW;
      const pickBurst = m >= multicast.length || (burstMayGo && (r.takeBurst[step] ?? true));
      if (pickBurst) arrivals.push({ from: 'burst', i: burst[b++] });
      else arrivals.push({ from: 'multicast', i: multicast[m++] });
    }
    for (const d of r.dups) {
      const src = d.multicast ? multicast : burst;
      const i = src[d.i % src.length];
      const at = arrivals.findIndex((a) => a.from === (d.multicast ? 'multicast' : 'burst') && a.i === i);
      arrivals.splice(Math.min(arrivals.length, at + 1 + d.delay), 0, { from: d.multicast ? 'multicast' : 'burst', i });
    }
    if (r.endedDelay !== undefined) {
      let last = -1;
      arrivals.forEach((a, k) => {
        if (a.from === 'burst') last = k;
      });
      arrivals.splice(Math.min(arrivals.length, last + 1 + r.endedDelay), 0, { from: 'burstEnded' });
    }
    const seq0 = r.wrapAt === null ? r.anySeq0 : (65536 - r.s0 - r.wrapAt) & 0xffff;
    return { seq0, s0: r.s0, m0, end, arrivals };
  });

t.test('burst then multicast, any interleaving, across the 65535 → 0 wrap, with duplicates: the TS from s0 on exactly once', async (t) => {
  let wrapped = 0;
  fc.assert(
    fc.property(scenario, ({ seq0, s0, m0, end, arrivals }) => {
      const dgs = rtpStream(seq0);
      const h = harness();
      deliver(h, dgs, arrivals);
      if (seq0 + s0 < 65536 && seq0 + end > 65536) wrapped++;
      const out = h.sink.bytes();
      return (
        out.equals(tsOf(s0, end)) && // no gap, no duplicate, in order
        h.spliced.length === 1 &&
        h.spliced[0] === seqAdd(seq0, m0) &&
        h.gaps.length === 0 &&
        h.splicer.onMulticast &&
        h.sink.discontinuities.length === 0 &&
        ccErrors(out) === 0 &&
        strictCcErrors(out).length === 0
      );
    }),
    {
      numRuns: 250,
      examples: [
        // Multicast first, then the whole burst; m0 = s0 + k (the burst ends right before the multicast).
        [{ seq0: 65530, s0: 3, m0: 13, end: 20, arrivals: [...[13, 14, 15, 16, 17, 18, 19].map((i) => ({ from: 'multicast' as const, i })), ...[3, 4, 5, 6, 7, 8, 9, 10, 11, 12].map((i) => ({ from: 'burst' as const, i }))] }],
      ],
    },
  );
  t.ok(wrapped > 50, `${wrapped} runs crossed the sequence-number wrap`);
});

t.test('a burst that ends short of the multicast reports the hole once, and the multicast follows after it', async (t) => {
  const seq0 = 65520;
  const dgs = rtpStream(seq0);
  const [s0, j, m0, end] = [10, 20, 40, 90];
  const h = harness();
  for (let i = s0; i < s0 + j; i++) h.splicer.burst(dgs[i]);
  for (let i = m0; i < m0 + 5; i++) h.splicer.multicast(dgs[i]);
  t.same(h.gaps, [], 'nothing reported while the burst may still come');
  t.notOk(h.splicer.onMulticast);
  h.splicer.burstEnded();
  t.same(h.gaps, [m0 - (s0 + j)], 'gap(m0 - (s0 + j)) once');
  t.same(h.spliced, [seqAdd(seq0, m0)]);
  t.equal(h.splicer.counters.gaps, 1);
  for (let i = m0 + 5; i < end; i++) h.splicer.multicast(dgs[i]);
  h.splicer.burst(dgs[s0 + j]); // the server had not stopped after all: too late
  h.depack.flush();
  t.same(h.gaps, [m0 - (s0 + j)], 'still once');
  t.equal(h.splicer.counters.burstAfterSplice, 1);
  t.ok(h.sink.bytes().equals(Buffer.concat([tsOf(s0, s0 + j), tsOf(m0, end)])), 'burst part, then the multicast from m0, nothing else');
  t.same(h.sink.discontinuities, [j * TS_PER_DATAGRAM], 'the player stage hears of the hole where it is');
});

t.test(
  'after a gap the held multicast reaches the player at once, not after the reorder window fills',

  async (t) => {
    const dgs = rtpStream(100);
    const h = harness();
    for (let i = 10; i < 30; i++) h.splicer.burst(dgs[i]);
    for (let i = 40; i < 45; i++) h.splicer.multicast(dgs[i]);
    h.splicer.burstEnded();
    t.same(h.gaps, [10]);
    t.equal(h.sink.packets, 25 * TS_PER_DATAGRAM, 'burst 10..29 and multicast 40..44 delivered');
    t.equal(h.depack.heldDatagrams, 0);
  },
);

t.test(
  'a reordered first multicast datagram neither delays the splice nor fakes a gap',

  async (t) => {
    const seq0 = 7;
    const dgs = rtpStream(seq0);
    const [s0, m0, end] = [10, 30, 50];
    const h = harness();
    h.splicer.multicast(dgs[m0 + 1]);
    h.splicer.multicast(dgs[m0]);
    for (let i = m0 + 2; i < m0 + 6; i++) h.splicer.multicast(dgs[i]);
    for (let i = s0; i < m0; i++) h.splicer.burst(dgs[i]);
    t.ok(h.splicer.onMulticast, 'spliced as soon as the burst reached m0');
    t.same(h.spliced, [seqAdd(seq0, m0)]);
    h.splicer.burstEnded();
    for (let i = m0 + 6; i < end; i++) h.splicer.multicast(dgs[i]);
    t.same(h.gaps, [], 'nothing is missing');
    t.ok(h.sink.bytes().equals(tsOf(s0, end)));
  },
);

t.test(
  'a held multicast datagram the burst delivered more than 100 datagrams earlier is dropped, not replayed',

  async (t) => {
    // The multicast socket lagged (its first datagrams waited in the kernel
    // while the burst socket was drained): when m0 is read, the burst is 110 past it.
    const dgs = rtpStream(60000);
    const h = harness();
    for (let i = 0; i < 120; i++) h.splicer.burst(dgs[i]);
    for (let i = 10; i < 160; i++) h.splicer.multicast(dgs[i]);
    t.ok(h.sink.bytes().equals(tsOf(0, 160)), 'each TS packet once, in order');
    t.same(h.sink.discontinuities, []);
  },
);

t.test('abandonBurst() before any burst: the multicast goes straight to the depacketizer', async (t) => {
  const seq0 = 65535;
  const dgs = rtpStream(seq0);
  const h = harness();
  h.splicer.abandonBurst();
  t.ok(h.splicer.onMulticast);
  const [m0, end] = [25, 60];
  for (let i = m0; i < end; i++) h.splicer.multicast(dgs[i]);
  t.ok(h.sink.bytes().equals(tsOf(m0, end)), 'the multicast from its first datagram');
  t.equal(h.splicer.counters.heldMax, 0, 'nothing held');
  t.same(h.spliced, [], 'no splice to announce: there was no burst');
  t.same(h.gaps, []);
  h.splicer.burst(dgs[m0 - 3]);
  t.equal(h.splicer.counters.burstAfterSplice, 1, 'a burst that comes after all is ignored');
  t.ok(h.sink.bytes().equals(tsOf(m0, end)));
});

t.test('abandonBurst() with multicast already held hands it over in order', async (t) => {
  const dgs = rtpStream(1000);
  const h = harness();
  for (let i = 50; i < 55; i++) h.splicer.multicast(dgs[i]);
  t.equal(h.sink.packets, 0, 'held while a burst may come');
  h.splicer.abandonBurst();
  for (let i = 55; i < 70; i++) h.splicer.multicast(dgs[i]);
  t.ok(h.sink.bytes().equals(tsOf(50, 70)));
  t.same(h.gaps, [], 'no burst, so no hole to report');
});

t.test('more multicast than maxHeld while the burst lags: holdOverflows counted, hand-over, hole reported', async (t) => {
  const seq0 = 65533;
  const dgs = rtpStream(seq0);
  const maxHeld = 4;
  const h = harness(maxHeld);
  const [s0, m0] = [20, 30];
  for (let i = s0; i < s0 + 3; i++) h.splicer.burst(dgs[i]);
  for (let i = m0; i < m0 + maxHeld; i++) h.splicer.multicast(dgs[i]);
  t.notOk(h.splicer.onMulticast, `${maxHeld} held: still waiting`);
  t.equal(h.sink.packets, 3 * TS_PER_DATAGRAM);
  h.splicer.multicast(dgs[m0 + maxHeld]);
  t.equal(h.splicer.counters.holdOverflows, 1);
  t.equal(h.splicer.counters.heldMax, maxHeld, 'never more than the bound');
  t.ok(h.splicer.onMulticast, 'handed over to the multicast');
  t.same(h.spliced, [seqAdd(seq0, m0)]);
  t.same(h.gaps, [m0 - (s0 + 3)]);
  for (let i = m0 + maxHeld + 1; i < m0 + 60; i++) h.splicer.multicast(dgs[i]);
  h.splicer.burst(dgs[s0 + 3]);
  t.equal(h.splicer.counters.burstAfterSplice, 1);
  h.depack.flush();
  t.ok(h.sink.bytes().equals(Buffer.concat([tsOf(s0, s0 + 3), tsOf(m0, m0 + 60)])));
});

t.test('a burst that already covers the multicast when it arrives splices on the first multicast datagram', async (t) => {
  const dgs = rtpStream(0);
  const h = harness();
  for (let i = 0; i < 40; i++) h.splicer.burst(dgs[i]);
  t.same(h.spliced, []);
  h.splicer.multicast(dgs[35]);
  t.same(h.spliced, [35], 'RAMS-T names the first multicast datagram');
  t.ok(h.splicer.onMulticast);
  for (let i = 36; i < 80; i++) h.splicer.multicast(dgs[i]);
  t.ok(h.sink.bytes().equals(tsOf(0, 80)));
  t.equal(h.depack.counters.duplicates + h.splicer.counters.duplicatesDropped, 5, '35..39 came twice, and were dropped');
});
