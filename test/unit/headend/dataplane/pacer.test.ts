import t from 'tap';
import { PcrPacer, type DatagramSink } from '../../../../headend/dataplane/pacer.js';
import { TS_PACKET_SIZE, tsPid } from '../../../../core/mpegts/packet.js';
import { createRtpHeader, parseRtpHeader } from '../../../../core/rtp/header.js';
import { makeCbrStream } from '../../../helpers/ts-gen.js';

interface Sent {
  atMs: number;
  bytes: Buffer;
}

function harness(opts: { transport?: 'rtp' | 'udp'; cbrBitrateBps?: number | null; maxSlots?: number; delayMs?: number; cacheMaxBytes?: number } = {}) {
  const sent: Sent[] = [];
  let now = 1000;
  const sink: DatagramSink = {
    send(buf, done) {
      sent.push({ atMs: now, bytes: Buffer.from(buf) });
      done?.();
    },
  };
  const pacer = new PcrPacer({
    transport: opts.transport ?? 'rtp',
    sink,
    delayMs: opts.delayMs ?? 100,
    cbrBitrateBps: opts.cbrBitrateBps ?? null,
    live: false,
    ssrc: 0x12345678,
    initialSequenceNumber: 65530,
    maxSlots: opts.maxSlots,
    cacheMaxBytes: opts.cacheMaxBytes,
  });
  return {
    pacer,
    sent,
    get now() {
      return now;
    },
    /** Advance the fake clock 1 ms at a time, ticking the pacer. */
    run(ms: number) {
      for (let i = 0; i < ms; i++) {
        now += 1;
        pacer.tick(now);
      }
    },
    write(ts: Buffer, from: number, count: number) {
      pacer.writePackets(ts, from * TS_PACKET_SIZE, count, now);
    },
    /**
     * Feed PCR intervals `from`..`to` in real time (one interval of packets
     * every 40 ms), then the next PCR packet, then let `drainMs` pass.
     */
    feed(ts: Buffer, from: number, to: number, drainMs: number) {
      for (let k = from; k < to; k++) {
        this.write(ts, k * PER_PCR, PER_PCR);
        this.run(40);
      }
      this.write(ts, to * PER_PCR, 1);
      this.run(drainMs);
    },
    /** Intervals `from`..`to` in real time, continuing a stream (no extra PCR packet at the end). */
    stream(ts: Buffer, from: number, to: number) {
      for (let k = from; k < to; k++) {
        this.write(ts, k * PER_PCR, PER_PCR);
        this.run(40);
      }
    },
  };
}

// 8 Mbps: 1 MB/s = 5319 packets/s; a PCR every 40 ms = every 212.8 packets.
// Use 210 packets per 40 ms (≈ 7.9 Mbps) so the schedule is exact.
const PCR_STEP = 40 * 27_000; // 40 ms in 27 MHz ticks
const PER_PCR = 210;

t.test('spreads the bytes between two PCRs evenly: one datagram every 40/30 ms, never a burst', async (t) => {
  const h = harness();
  const { ts } = makeCbrStream({ count: PER_PCR * 30 + 1, pcrEvery: PER_PCR, pcrStep27M: PCR_STEP });
  h.feed(ts, 0, 30, 300);
  t.ok(h.sent.length >= 29 * 30, `sent ${h.sent.length} datagrams`);
  // 210 packets = 30 datagrams per 40 ms → 1.333 ms apart: at most 1 datagram in a 1 ms tick... plus look-ahead: ≤ 2.
  const perTick = new Map<number, number>();
  for (const s of h.sent) perTick.set(s.atMs, (perTick.get(s.atMs) ?? 0) + 1);
  t.ok(Math.max(...perTick.values()) <= 2, `max datagrams per 1 ms tick: ${Math.max(...perTick.values())}`);
  t.equal(h.pacer.counters.reanchors, 0);
});

t.test('RTP header: PT 33, sequence wraps 65535 → 0, SSRC constant, timestamp = PCR / 300 interpolated', async (t) => {
  const h = harness();
  const { ts, pcrAt } = makeCbrStream({ count: PER_PCR * 4 + 1, pcrEvery: PER_PCR, pcrStep27M: PCR_STEP });
  h.feed(ts, 0, 4, 300);
  const hdr = createRtpHeader();
  let expectSeq = 65530;
  for (const [i, s] of h.sent.entries()) {
    t.equal(parseRtpHeader(s.bytes, s.bytes.length, hdr), 0);
    t.equal(hdr.payloadType, 33);
    t.equal(hdr.ssrc, 0x12345678);
    t.equal(hdr.sequenceNumber, expectSeq, `seq of datagram ${i}`);
    expectSeq = (expectSeq + 1) & 0xffff;
    t.equal(hdr.payloadLength, 7 * TS_PACKET_SIZE);
    // The first packet of datagram i is packet 7i; its PCR by linear interpolation.
    const first = i * 7;
    const k = Math.floor(first / PER_PCR);
    const pcr = pcrAt.get(k * PER_PCR)! + ((first - k * PER_PCR) / PER_PCR) * PCR_STEP;
    t.equal(hdr.timestamp, Math.floor(pcr / 300) >>> 0, `timestamp of datagram ${i}`);
    if (i > 40) break;
  }
});

t.test('raw UDP transport: every datagram starts with 0x47 and carries 7 packets', async (t) => {
  const h = harness({ transport: 'udp' });
  const { ts } = makeCbrStream({ count: PER_PCR * 3 + 1, pcrEvery: PER_PCR, pcrStep27M: PCR_STEP });
  h.feed(ts, 0, 3, 300);
  t.ok(h.sent.length > 80);
  for (const s of h.sent) {
    t.equal(s.bytes.length, 1316);
    for (let p = 0; p < 7; p++) if (s.bytes[p * 188] !== 0x47) t.fail('datagram not aligned');
  }
  // Bytes come out in order and complete.
  const out = Buffer.concat(h.sent.map((s) => s.bytes));
  t.same(out, ts.subarray(0, out.length));
});

t.test('CBR stuffing adds null packets up to the configured rate', async (t) => {
  // Input 210 packets per 40 ms ≈ 7.9 Mbps; ask for 10 Mbps.
  const h = harness({ transport: 'udp', cbrBitrateBps: 10_000_000 });
  const { ts } = makeCbrStream({ count: PER_PCR * 25 + 1, pcrEvery: PER_PCR, pcrStep27M: PCR_STEP });
  h.feed(ts, 0, 25, 400);
  const wanted = Math.floor((10_000_000 / 8) * 0.04 / 188) - PER_PCR; // per interval
  t.equal(h.pacer.counters.nullPacketsInserted, wanted * 25);
  let nulls = 0;
  for (const s of h.sent) for (let p = 0; p < s.bytes.length; p += 188) if (tsPid(s.bytes, p) === 0x1fff) nulls++;
  t.ok(nulls > 0 && nulls <= wanted * 25);
});

t.test('a full ring drops new packets and counts them instead of growing without bound', async (t) => {
  const h = harness({ maxSlots: 64 });
  const { ts } = makeCbrStream({ count: 2000, pcrEvery: 2000, pcrStep27M: PCR_STEP });
  h.write(ts, 0, 2000); // no second PCR: nothing becomes due, nothing is sent
  t.equal(h.pacer.queuedDatagrams, 64);
  t.ok(h.pacer.counters.overflowPackets > 0);
  t.equal(h.pacer.counters.packetsIn + h.pacer.counters.overflowPackets, 2000);
});

t.test('a stalled input is re-anchored: output resumes evenly instead of bursting to catch up', async (t) => {
  const h = harness();
  const { ts } = makeCbrStream({ count: PER_PCR * 20 + 1, pcrEvery: PER_PCR, pcrStep27M: PCR_STEP });
  for (let k = 0; k < 10; k++) {
    h.write(ts, k * PER_PCR, PER_PCR);
    h.run(40);
  }
  h.run(1000); // the input stalls for a second
  const before = h.sent.length;
  for (let k = 10; k < 20; k++) {
    h.write(ts, k * PER_PCR, PER_PCR);
    h.run(40);
  }
  h.run(300);
  t.ok(h.pacer.counters.reanchors >= 1);
  const perTick = new Map<number, number>();
  for (const s of h.sent.slice(before)) perTick.set(s.atMs, (perTick.get(s.atMs) ?? 0) + 1);
  t.ok(Math.max(...perTick.values()) <= 2, `max per tick after the stall: ${Math.max(...perTick.values())}`);
});

t.test('a ring filled to the last slot keeps every byte in order once it drains (regression: stale tail slot)', async (t) => {
  const h = harness({ transport: 'udp', maxSlots: 128 });
  const { ts } = makeCbrStream({ count: 128 * 7 * 3, pcrEvery: PER_PCR, pcrStep27M: PCR_STEP });
  h.write(ts, 0, 128 * 7); // exactly full: tail - head == capacity
  t.equal(h.pacer.queuedDatagrams, 128);
  t.equal(h.pacer.counters.overflowPackets, 0);
  h.run(400); // sends the 120 timed datagrams; 64 of them confirmed by a send callback
  t.doesNotThrow(() => h.write(ts, 128 * 7, 50 * 7));
  h.run(400);
  h.write(ts, 178 * 7, 30 * 7);
  h.run(1000);
  t.equal(h.pacer.counters.overflowPackets, 0);
  const out = Buffer.concat(h.sent.map((s) => s.bytes));
  t.ok(out.length >= 150 * 1316, `sent ${out.length} bytes`);
  t.ok(out.equals(ts.subarray(0, out.length)), 'output equals input byte for byte');
});

t.test('a slot is not reused while its send may still be queued: only every 64th send is confirmed', async (t) => {
  const held: Array<() => void> = [];
  let now = 0;
  const sent: Buffer[] = [];
  const pacer = new PcrPacer({
    transport: 'udp',
    sink: {
      send(buf, done) {
        sent.push(Buffer.from(buf));
        if (done) held.push(() => done()); // completion delayed, as a queued send would be
      },
    },
    delayMs: 100,
    cbrBitrateBps: null,
    live: false,
    ssrc: 1,
    initialSequenceNumber: 0,
    initialSlots: 128,
    maxSlots: 128,
  });
  const { ts } = makeCbrStream({ count: 128 * 7 * 2, pcrEvery: PER_PCR, pcrStep27M: PCR_STEP });
  pacer.writePackets(ts, 0, 128 * 7, now);
  for (let i = 0; i < 400; i++) pacer.tick(++now);
  t.equal(held.length, 1, 'one marked send (the 64th) outstanding');
  // 120 sent, none confirmed, 8 queued: every slot is taken.
  pacer.writePackets(ts, 128 * 7 * TS_PACKET_SIZE, 20 * 7, now);
  t.equal(pacer.counters.overflowPackets, 20 * 7, 'new packets are dropped, not written over datagrams that may still be queued');
  held.shift()!(); // the 64th send completes: 64 slots are free again
  pacer.writePackets(ts, (128 + 20) * 7 * TS_PACKET_SIZE, 20 * 7, now);
  t.equal(pacer.counters.overflowPackets, 20 * 7, 'after the confirmation the next 20 datagrams fit');
  const out = Buffer.concat(sent);
  t.ok(out.equals(ts.subarray(0, out.length)), 'what was sent is intact');
});

t.test('RTP M bit only on the first datagram after a restart of the input (RFC 2250 §2.1)', async (t) => {
  const h = harness();
  const a = makeCbrStream({ count: PER_PCR * 3 + 1, pcrEvery: PER_PCR, pcrStep27M: PCR_STEP });
  h.feed(a.ts, 0, 3, 300);
  const before = h.sent.length;
  h.pacer.discontinuity(); // the source restarted: a new PCR timeline
  const b = makeCbrStream({ count: PER_PCR * 3 + 1, pcrEvery: PER_PCR, pcrStep27M: PCR_STEP, firstPcr27M: 5_000_000_000 });
  h.feed(b.ts, 0, 3, 300);
  const hdr = createRtpHeader();
  const marked = h.sent.map((s, i) => (parseRtpHeader(s.bytes, s.bytes.length, hdr), hdr.marker ? i : -1)).filter((i) => i >= 0);
  t.same(marked, [before], `marked datagram(s): ${marked.join(', ')} (first of the new run: ${before})`);
  parseRtpHeader(h.sent[before].bytes, 1328, hdr);
  t.equal(hdr.timestamp, Math.floor(5_000_000_000 / 300) >>> 0, 'its timestamp is the new PCR / 300');
});

// ---------------------------------------------------------------- GOP cache

t.test('GOP cache: starts at the datagram holding the marked byte once it is sent, with the multicast\'s own bytes and sequence numbers', async (t) => {
  const h = harness({ cacheMaxBytes: 4 * 1024 * 1024 });
  const { ts } = makeCbrStream({ count: PER_PCR * 20 + 1, pcrEvery: PER_PCR, pcrStep27M: PCR_STEP });
  h.stream(ts, 0, 5);
  t.equal(h.pacer.cacheFrom, -1, 'no cache before a random access point');
  // A random access point at packet 5 * PER_PCR + 10.
  const rapPacket = 5 * PER_PCR + 10;
  h.write(ts, 5 * PER_PCR, PER_PCR);
  h.pacer.markRandomAccess(rapPacket * TS_PACKET_SIZE);
  t.equal(h.pacer.cacheFrom, -1, 'not served before its datagram is sent');
  h.run(40);
  h.feed(ts, 6, 12, 300);
  const k = h.pacer.cacheFrom;
  t.ok(k >= 0, 'cache started');
  t.equal(h.pacer.counters.cacheStarts, 1);
  // Datagram k is the one whose 7 packets contain the marked packet.
  t.equal(k, Math.floor(rapPacket / 7), 'datagram holding the random access point');
  const hdr = createRtpHeader();
  for (let i = k; i < h.pacer.liveEdge; i++) {
    const d = h.pacer.sentDatagram(i);
    if (!d.equals(h.sent[i].bytes)) {
      t.fail(`cached datagram ${i} differs from what the multicast sent`);
      break;
    }
    parseRtpHeader(d, d.length, hdr);
    if (hdr.sequenceNumber !== h.pacer.sentSequenceNumber(i)) t.fail('sequence number');
  }
  t.equal(h.pacer.liveEdge, h.sent.length, 'live edge = datagrams the multicast sent');

  // copyCache (the admin UI's thumbnail): the same packets as TS, RTP headers off, bounded.
  const copy = h.pacer.copyCache(64 * 1024 * 1024)!;
  const n = h.pacer.liveEdge - k;
  t.equal(copy.length, n * 7 * TS_PACKET_SIZE, 'every cached datagram, 7 TS packets each');
  t.ok(copy.equals(Buffer.concat(h.sent.slice(k).map((s) => s.bytes.subarray(12)))), 'byte for byte what the multicast carried after its RTP header');
  t.equal(copy[0], 0x47, 'starts on a TS packet');
  t.equal(copy.buffer.byteLength, copy.length, 'in its own memory (transferable), not the shared pool');
  t.equal(h.pacer.copyCache(3 * 7 * TS_PACKET_SIZE + 5)!.length, 3 * 7 * TS_PACKET_SIZE, 'at most maxBytes, whole datagrams');
  t.equal(h.pacer.copyCache(100), null, 'less than a datagram: none');
});

t.test('GOP cache: a GOP longer than cacheMaxBytes has no cache (bounded memory), counted', async (t) => {
  const h = harness({ cacheMaxBytes: 100 * 1328 });
  const { ts } = makeCbrStream({ count: PER_PCR * 40 + 1, pcrEvery: PER_PCR, pcrStep27M: PCR_STEP });
  h.stream(ts, 0, 2);
  h.pacer.markRandomAccess(PER_PCR * 2 * TS_PACKET_SIZE);
  h.stream(ts, 2, 8);
  h.run(200); // ~180 datagrams after the mark
  t.equal(h.pacer.cacheFrom, -1, 'dropped once it held more than 100 datagrams');
  t.ok(h.pacer.counters.cacheDrops >= 1);
  h.pacer.markRandomAccess(PER_PCR * 8 * TS_PACKET_SIZE);
  h.feed(ts, 8, 9, 150);
  t.ok(h.pacer.cacheFrom >= 0, 'the next random access point starts a new one');
});

t.test('GOP cache: the multicast wins — a full ring cuts readers and drops the cache instead of input', async (t) => {
  const h = harness({ maxSlots: 200, cacheMaxBytes: 8 * 1024 * 1024 });
  const { ts } = makeCbrStream({ count: PER_PCR * 60 + 1, pcrEvery: PER_PCR, pcrStep27M: PCR_STEP });
  h.stream(ts, 0, 2);
  h.pacer.markRandomAccess(0);
  h.stream(ts, 2, 4);
  h.run(100);
  let cut = 0;
  const reader = { heldFrom: h.pacer.cacheFrom, cut: () => cut++ };
  h.pacer.addReader(reader);
  // Keep feeding: the reader never moves, the ring (200 slots) fills up.
  h.feed(ts, 4, 40, 300);
  t.equal(cut, 1, 'reader cut once');
  t.equal(h.pacer.counters.readersCut, 1);
  t.equal(h.pacer.counters.overflowPackets, 0, 'no input packet lost for the cache');
  const out = Buffer.concat(h.sent.map((s) => s.bytes.subarray(12)));
  t.ok(out.equals(ts.subarray(0, out.length)), 'the multicast carried every byte in order');
});

t.test('GOP cache: held slots survive the ring growing (cache and readers keep their bytes)', async (t) => {
  const h = harness({ cacheMaxBytes: 8 * 1024 * 1024 });
  const { ts } = makeCbrStream({ count: PER_PCR * 120 + 1, pcrEvery: PER_PCR, pcrStep27M: PCR_STEP });
  h.stream(ts, 0, 2);
  h.pacer.markRandomAccess(PER_PCR * 2 * TS_PACKET_SIZE);
  h.feed(ts, 2, 110, 200); // ~3100 datagrams: the 512-slot ring grows several times
  const k = h.pacer.cacheFrom;
  t.ok(k >= 0);
  let bad = 0;
  for (let i = k; i < h.pacer.liveEdge; i++) if (!h.pacer.sentDatagram(i).equals(h.sent[i].bytes)) bad++;
  t.equal(bad, 0, `${h.pacer.liveEdge - k} cached datagrams intact after growth`);
});
