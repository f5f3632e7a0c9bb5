import t from 'tap';
import fc from 'fast-check';
import { SrtReceiver, seqAdd31, seqDiff31, type SrtReceiverAck } from '../../../../core/srt/receiver.js';

/** A receiver with a recording sink; payload i is 4 bytes holding i. */
function harness(opts: { initial?: number; latencyMs?: number; window?: number } = {}) {
  const delivered: number[] = [];
  const deliveredAt: number[] = [];
  const acks: SrtReceiverAck[] = [];
  const acksAt: number[] = [];
  const naks: [number, number][][] = [];
  let now = 1_000_000;
  const rx = new SrtReceiver(
    {
      deliver: (buf, off) => {
        delivered.push(buf.readUInt32BE(off));
        deliveredAt.push(now);
      },
      ack: (a) => {
        acks.push(a);
        acksAt.push(now);
      },
      nak: (r) => naks.push(r.map(([a, b]) => [a, b])),
    },
    { initialSequenceNumber: opts.initial ?? 100, latencyUs: (opts.latencyMs ?? 120) * 1000, windowPackets: opts.window },
  );
  const payload = Buffer.alloc(4);
  return {
    rx,
    delivered,
    deliveredAt,
    acks,
    acksAt,
    naks,
    get now() {
      return now;
    },
    /** Packet `i` (seq = initial + i, sender timestamp i ms) arrives now. */
    send(i: number, retransmitted = false) {
      payload.writeUInt32BE(i);
      rx.data(seqAdd31(opts.initial ?? 100, i), i * 1000, retransmitted, payload, 0, 4, now);
    },
    advance(ms: number) {
      for (let k = 0; k < ms; k++) {
        now += 1000;
        rx.tick(now);
      }
    },
  };
}

t.test('31-bit sequence arithmetic across the wrap', async (t) => {
  t.equal(seqAdd31(0x7fffffff, 1), 0);
  t.equal(seqAdd31(0, -1), 0x7fffffff);
  t.equal(seqDiff31(0, 0x7fffffff), 1);
  t.equal(seqDiff31(0x7fffffff, 0), -1);
  fc.assert(fc.property(fc.integer({ min: 0, max: 0x7fffffff }), fc.integer({ min: -(2 ** 30) + 1, max: 2 ** 30 - 1 }), (a, n) => seqDiff31(seqAdd31(a, n), a) === n));
});

t.test('in-order packets are delivered at their TSBPD time: first arrival + timestamp + latency', async (t) => {
  const h = harness({ latencyMs: 120 });
  const t0 = h.now;
  for (let i = 0; i < 50; i++) {
    h.send(i);
    h.advance(1);
  }
  h.advance(200);
  t.same(h.delivered, Array.from({ length: 50 }, (_, i) => i));
  for (let i = 0; i < 50; i++) if (h.deliveredAt[i] - (t0 + i * 1000 + 120_000) > 1000) t.fail(`packet ${i} late`);
  t.ok(h.deliveredAt[0] >= t0 + 120_000, 'not before the latency');
  t.equal(h.rx.counters.packetsLost, 0);
});

t.test('a gap is NAKed at once, the retransmission fills it, everything is delivered in order', async (t) => {
  const h = harness();
  for (const i of [0, 1, 2, 5, 6]) {
    h.send(i);
    h.advance(1);
  }
  t.same(h.naks[0], [[103, 104]], 'one NAK for seq 103..104 right away');
  t.equal(h.rx.counters.packetsLost, 2);
  h.send(3, true);
  h.send(4, true);
  h.advance(300);
  t.same(h.delivered, [0, 1, 2, 3, 4, 5, 6]);
  t.equal(h.rx.counters.packetsRetransmitted, 2);
  t.equal(h.rx.counters.packetsDropped, 0);
  t.equal(h.rx.lossCount, 0);
});

t.test('the loss list is asked for again periodically until it arrives', async (t) => {
  const h = harness({ latencyMs: 2000 });
  h.send(0);
  h.send(2);
  const before = h.naks.length;
  // Period: max(20 ms, (RTT + 4 × RTTVar) / 2) = 150 ms with libsrt's initial 100 / 50 ms.
  h.advance(700);
  t.ok(h.naks.length - before >= 4, `periodic NAKs: ${h.naks.length - before}`);
  t.same(h.naks[h.naks.length - 1], [[101, 101]]);
});

t.test('too late: a hole whose successor is due is dropped and counted; delivery goes on (TLPKTDROP)', async (t) => {
  const h = harness({ latencyMs: 50 });
  for (const i of [0, 1, 3, 4]) h.send(i);
  h.advance(200);
  t.same(h.delivered, [0, 1, 3, 4], 'the stream did not stall behind packet 2');
  t.equal(h.rx.counters.packetsDropped, 1);
  t.equal(h.rx.lossCount, 0, 'no longer asked for');
  h.send(2, true); // arrives after all: a duplicate now
  t.equal(h.rx.counters.packetsDuplicate, 1);
});

t.test('full ACK every 10 ms with the first missing sequence number; light ACK every 64 packets; ACKACK gives the RTT', async (t) => {
  const h = harness();
  for (let i = 0; i < 10; i++) h.send(i);
  h.send(12);
  h.advance(10);
  const full = h.acks.filter((a) => !a.light);
  t.ok(full.length >= 1);
  t.equal(full[full.length - 1].lastAckedSeq, 110, 'everything before the first lost one (seq 110)');
  for (let i = 13; i < 13 + 64; i++) h.send(i);
  t.ok(h.acks.some((a) => a.light), 'light ACK after 64 packets');
  const k = h.acks.map((x) => !x.light).lastIndexOf(true);
  const sentAt = h.acksAt[k];
  h.advance(3);
  const rtt = h.now - sentAt;
  h.rx.ackAck(h.acks[k].ackNumber, h.now);
  t.ok(Math.abs(h.rx.rttUs - (7 * 100_000 + rtt) / 8) < 1, `RTT smoothed toward the ${rtt / 1000} ms sample: ${h.rx.rttUs}`);
  h.rx.ackAck(h.acks[k].ackNumber, h.now + 5000);
  t.ok(Math.abs(h.rx.rttUs - (7 * 100_000 + rtt) / 8) < 1, 'a repeated ACKACK is not a second sample');
});

t.test('hostile input is bounded: beyond the window, oversize, duplicates are counted, nothing else changes', async (t) => {
  const h = harness({ window: 64 });
  h.send(0);
  h.send(100000); // far beyond the 64-packet window
  t.equal(h.rx.counters.packetsBeyondWindow, 1);
  t.equal(h.naks.length, 0, 'no NAK storm for a bogus sequence number');
  h.send(0);
  t.equal(h.rx.counters.packetsDuplicate, 1);
  h.rx.data(101, 0, false, Buffer.alloc(5000), 0, 5000, h.now);
  t.equal(h.rx.counters.packetsOversize, 1);
  h.advance(200);
  t.same(h.delivered, [0]);
});

t.test('random loss and reordering: every packet delivered exactly once and in order when retransmissions come in time', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.boolean(), { minLength: 50, maxLength: 300 }), fc.integer({ min: 0, max: 0x7fffffff }), (dropped, initial) => {
      const h = harness({ initial, latencyMs: 200 });
      const n = dropped.length;
      for (let i = 0; i < n; i++) {
        if (!dropped[i] || i === n - 1) h.send(i);
        h.advance(1);
      }
      // The sender answers the NAKs (here: everything still missing) well within the latency.
      for (let i = 0; i < n; i++) if (dropped[i] && i !== n - 1) h.send(i, true);
      h.advance(400);
      return h.delivered.length === n && h.delivered.every((v, i) => v === i) && h.rx.counters.packetsDropped === 0;
    }),
    { numRuns: 60 },
  );
});

t.test('a DROPREQ makes the receiver stop asking and skip the range', async (t) => {
  const h = harness();
  for (const i of [0, 1, 5]) h.send(i);
  h.rx.dropRequest(102, 104, h.now);
  t.equal(h.rx.lossCount, 0);
  h.advance(300);
  t.same(h.delivered, [0, 1, 5]);
  t.equal(h.rx.counters.packetsDropped, 3);
});

t.test('peer idle after the timeout', async (t) => {
  const h = harness();
  h.send(0);
  h.advance(4000);
  t.notOk(h.rx.isIdle(h.now));
  h.advance(1100);
  t.ok(h.rx.isIdle(h.now));
});
