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
  const naksAt: number[] = [];
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
      nak: (r) => {
        naks.push(r.map(([a, b]) => [a, b]));
        naksAt.push(now);
      },
    },
    { initialSequenceNumber: opts.initial ?? 100, latencyUs: (opts.latencyMs ?? 120) * 1000, windowPackets: opts.window },
  );
  return {
    rx,
    delivered,
    deliveredAt,
    acks,
    acksAt,
    naks,
    naksAt,
    get now() {
      return now;
    },
    /** Packet `i` (seq = initial + i, sender timestamp i ms) arrives now. */
    send(i: number, retransmitted = false) {
      // A Buffer per packet, as node:dgram gives each datagram: the receiver keeps it, not a copy.
      const payload = Buffer.alloc(4);
      payload.writeUInt32BE(i);
      rx.data(seqAdd31(opts.initial ?? 100, i), i * 1000, retransmitted, payload, 0, 4, now);
    },
    advance(ms: number) {
      for (let k = 0; k < ms; k++) {
        now += 1000;
        rx.tick(now);
      }
    },
    /**
     * Event-driven, as headend/dataplane/srt.ts runs it: the clock jumps to
     * the next arrival or to rx.nextDeadlineUs(), whichever is first; an
     * arrival is the packet then a tick, a deadline a tick. `arrivals` are
     * [atUs, i, retransmitted?], in time order. Returns the wake-ups at
     * deadlines and how many of them had nothing to do.
     */
    run(endUs: number, arrivals: readonly (readonly [number, number, boolean?])[] = []) {
      let k = 0;
      let wakeups = 0;
      let idle = 0;
      const c = rx.counters;
      for (let guard = 0; guard < 1_000_000; guard++) {
        const d = rx.nextDeadlineUs();
        const a = k < arrivals.length ? arrivals[k][0] : Infinity;
        const at = Math.min(a, d);
        if (at > endUs || rx.isIdle(now)) {
          now = Math.max(now, Math.min(endUs, at));
          return { wakeups, idle };
        }
        now = Math.max(now, at);
        if (a <= d) {
          this.send(arrivals[k][1], arrivals[k][2] ?? false);
          k++;
          rx.tick(now);
          continue;
        }
        const before = c.acksSent + c.naksSent + c.packetsDelivered + c.packetsDropped;
        rx.tick(now);
        wakeups++;
        if (c.acksSent + c.naksSent + c.packetsDelivered + c.packetsDropped === before && !rx.isIdle(now)) idle++;
      }
      throw new Error('the event loop did not end');
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

// ---------------------------------------------------------------------------
// Event-driven timing (nextDeadlineUs): the same protocol times as polling.

t.test('driven by nextDeadlineUs alone, without packets: a full ACK exactly every 10 ms, one per wake-up', async (t) => {
  const h = harness();
  const t0 = h.now;
  const { wakeups, idle } = h.run(t0 + 100_000);
  t.same(h.acksAt, Array.from({ length: 11 }, (_, i) => t0 + i * 10_000), 'at the start, then every 10 ms (§4.8.1)');
  t.equal(wakeups, 11);
  t.equal(idle, 0, 'no wake-up for nothing');
});

t.test('periodic NAK exactly every max(20 ms, (RTT + 4·RTTVar) / 2) while the loss lasts, none after', async (t) => {
  const h = harness({ latencyMs: 5000 });
  const t0 = h.now;
  h.send(0);
  h.send(2);
  h.run(t0 + 460_000);
  // The immediate NAK, then the periodic one (none sent before), then every 150 ms: libsrt's initial RTT 100 ms, RTTVar 50 ms.
  t.same(h.naksAt, [t0, t0, t0 + 150_000, t0 + 300_000, t0 + 450_000]);
  t.ok(h.naks.every((r) => r.length === 1 && r[0][0] === 101 && r[0][1] === 101), 'each asks for seq 101');
  h.rx.rttUs = 2000;
  h.rx.rttVarUs = 500;
  let n = h.naksAt.length;
  h.run(t0 + 560_000);
  t.same(h.naksAt.slice(n), [t0 + 470_000, t0 + 490_000, t0 + 510_000, t0 + 530_000, t0 + 550_000], 'a short RTT: the 20 ms floor');
  h.rx.rttUs = 60_000;
  h.rx.rttVarUs = 10_000;
  n = h.naksAt.length;
  h.run(t0 + 700_000);
  t.same(h.naksAt.slice(n), [t0 + 600_000, t0 + 650_000, t0 + 700_000], '(60 + 4 × 10) / 2 = 50 ms');
  h.send(1, true);
  n = h.naksAt.length;
  const { idle } = h.run(t0 + 1_000_000);
  t.equal(h.naksAt.length, n, 'recovered: no more NAKs');
  t.equal(idle, 0, 'no wake-up for nothing');
});

t.test('TSBPD driven by nextDeadlineUs: each packet leaves exactly at first arrival + its timestamp + latency, whatever its own arrival', async (t) => {
  const h = harness({ latencyMs: 120 });
  const t0 = h.now;
  // Packet i sent at i ms (its timestamp), arriving 0–7 ms later; the first with no delay fixes the clock mapping.
  const jitterUs = [0, 3000, 7000, 1000, 500, 6999, 2000, 0, 4000, 3500];
  h.run(t0 + 400_000, jitterUs.map((j, i) => [t0 + i * 1000 + j, i] as const).sort((a, b) => a[0] - b[0]));
  t.same(h.delivered, jitterUs.map((_, i) => i));
  t.same(h.deliveredAt, jitterUs.map((_, i) => t0 + i * 1000 + 120_000));
});

t.test('TLPKTDROP exactly when the first packet after the hole is due; nextReleaseUs says when', async (t) => {
  const h = harness({ latencyMs: 50 });
  const t0 = h.now;
  for (const i of [0, 1, 3]) h.send(i);
  h.run(t0 + 51_000);
  t.same(h.delivered, [0, 1]);
  t.equal(h.rx.nextReleaseUs(), t0 + 53_000, 'the hole (packet 2) is too late when packet 3 is due');
  t.equal(h.rx.counters.packetsDropped, 0);
  h.run(t0 + 53_000);
  t.same(h.delivered, [0, 1, 3]);
  t.same(h.deliveredAt.slice(2), [t0 + 53_000]);
  t.equal(h.rx.counters.packetsDropped, 1);
  t.equal(h.rx.nextReleaseUs(), Infinity, 'nothing held');
});

t.test('nextControlUs: the next full ACK, the next periodic NAK, the peer idle timeout — whichever is first', async (t) => {
  const h = harness();
  const t0 = h.now;
  h.rx.tick(t0);
  t.equal(h.rx.nextControlUs(), t0 + 10_000, 'the next full ACK');
  h.send(0);
  h.send(2); // packet 1 lost: the immediate NAK
  h.rx.tick(t0); // and the first periodic one
  h.rx.rttUs = 2000;
  h.rx.rttVarUs = 500;
  t.equal(h.rx.nextControlUs(), t0 + 10_000, 'the ACK, before the NAK (20 ms)');
  h.rx.tick(t0 + 10_000);
  h.rx.tick(t0 + 15_000);
  t.equal(h.rx.nextControlUs(), t0 + 20_000, 'the ACK and the NAK, both at 20 ms');
  h.rx.rttUs = 60_000;
  h.rx.rttVarUs = 10_000;
  h.rx.tick(t0 + 20_000);
  t.equal(h.rx.nextControlUs(), t0 + 30_000, 'the next ACK; the NAK now waits 50 ms');
  h.send(1, true);
  // From now on, no packet: ACKs every 10 ms until the idle timeout.
  let last = 0;
  for (let i = 0; i < 1000 && h.rx.nextControlUs() < t0 + 5_000_000; i++) h.rx.tick((last = h.rx.nextControlUs()));
  t.equal(last, t0 + 4_990_000);
  h.rx.tick(t0 + 5_000_000);
  t.equal(h.rx.nextControlUs(), t0 + 5_000_001, 'the idle timeout: the first µs isIdle is true');
  t.notOk(h.rx.isIdle(t0 + 5_000_000));
  t.ok(h.rx.isIdle(t0 + 5_000_001));
});

t.test('event-driven with random loss and reordering: every packet delivered once, in order, exactly at its TSBPD time; no wake-up for nothing', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.boolean(), { minLength: 50, maxLength: 150, size: 'max' }), fc.integer({ min: 0, max: 0x7fffffff }), fc.integer({ min: 0, max: 999 }), (dropped, initial, phaseUs) => {
      const h = harness({ initial, latencyMs: 200 });
      const t0 = h.now;
      const n = dropped.length;
      const arrivals: [number, number, boolean?][] = [];
      dropped[0] = false; // the first packet fixes the clock mapping at t0
      for (let i = 0; i < n; i++) if (!dropped[i] || i === n - 1) arrivals.push([t0 + i * 1000, i]);
      // The sender answers the NAKs (here: everything still missing) well within the latency, off the ms grid.
      for (let i = 0; i < n; i++) if (dropped[i] && i !== n - 1) arrivals.push([t0 + n * 1000 + phaseUs, i, true]);
      const { idle } = h.run(t0 + (n + 400) * 1000, arrivals);
      return (
        idle === 0 &&
        h.delivered.length === n &&
        h.delivered.every((v, i) => v === i) &&
        h.deliveredAt.every((at, i) => at === t0 + i * 1000 + 200_000) &&
        h.rx.counters.packetsDropped === 0
      );
    }),
    { numRuns: 60 },
  );
});

t.test('a held packet is the caller\'s Buffer itself (no copy), delivered with its offset and length', async (t) => {
  const seen: [Buffer, number, number][] = [];
  const rx = new SrtReceiver({ deliver: (b, off, len) => seen.push([b, off, len]), ack: () => undefined, nak: () => undefined }, { initialSequenceNumber: 7, latencyUs: 10_000 });
  const datagram = Buffer.from('0123456789abcdefPAYLOAD');
  rx.data(7, 0, false, datagram, 16, 7, 1_000_000);
  t.same(seen, [], 'held until its time');
  rx.tick(1_010_000);
  t.equal(seen.length, 1);
  t.equal(seen[0][0], datagram, 'the same Buffer');
  t.same([seen[0][1], seen[0][2]], [16, 7]);
});
