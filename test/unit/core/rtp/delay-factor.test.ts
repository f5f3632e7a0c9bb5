import t from 'tap';
import { DelayFactorMeter } from '../../../../core/rtp/delay-factor.js';
import { MP2T_PAYLOAD_SIZE } from '../../../../core/rtp/packetizer.js';

const S = MP2T_PAYLOAD_SIZE; // 1316 octets of TS per datagram
const MS = 1e6; // ns

t.test('a perfectly paced stream has a DF of one datagram’s time', async (t) => {
  const rateBps = 10_000_000;
  const m = new DelayFactorMeter({ mediaRateBps: rateBps });
  const gapNs = (S * 8 * 1e9) / rateBps; // 1.0528 ms
  const dfs: number[] = [];
  for (let i = 0; i < 3 * 950; i++) {
    const df = m.sample(i * gapNs, S);
    if (df >= 0) dfs.push(df);
  }
  t.equal(dfs.length, 2, 'two intervals closed by later arrivals');
  for (const df of dfs) t.ok(Math.abs(df - gapNs / MS) < 0.001, `DF ${df} ms ≈ ${gapNs / MS} ms`);
  t.ok(m.finish() > 0, 'finish closes the partial third interval');
  t.equal(m.intervals, 3);
});

t.test('a stream sent as one burst every 100 ms has a DF of ~100 ms', async (t) => {
  const perBurst = 95;
  const rateBps = perBurst * S * 8 * 10; // exactly 95 datagrams per 100 ms
  const m = new DelayFactorMeter({ mediaRateBps: rateBps });
  const dfs: number[] = [];
  for (let burst = 0; burst < 25; burst++) {
    for (let i = 0; i < perBurst; i++) {
      // back-to-back at 1 Gbit/s line rate inside the burst
      const df = m.sample(burst * 100 * MS + i * ((S + 40) * 8), S);
      if (df >= 0) dfs.push(df);
    }
  }
  t.equal(dfs.length, 2);
  // The burst itself takes ~1 ms on the wire, during which the buffer drains.
  for (const df of dfs) t.ok(df > 98 && df < 101, `DF ${df} ms ≈ 100 ms`);
});

t.test('DF grows with the jitter: a 20 ms hole in a paced stream adds ~20 ms', async (t) => {
  const rateBps = 8_000_000;
  const gapNs = (S * 8 * 1e9) / rateBps;
  const m = new DelayFactorMeter({ mediaRateBps: rateBps });
  let t0 = 0;
  for (let i = 0; i < 800; i++) {
    // datagrams 300..318 are held up 20 ms in the network, then arrive together
    const due = i * gapNs;
    const arrival = i >= 300 && i < 319 ? Math.max(due, 300 * gapNs + 20 * MS) : due;
    m.sample(Math.max(arrival, t0), S);
    t0 = Math.max(arrival, t0);
  }
  m.finish();
  t.equal(m.intervals, 2);
  t.ok(m.maxDfMs > 20 && m.maxDfMs < 22, `worst DF ${m.maxDfMs} ms`);
});

t.test('MLR is media packets lost per second of interval', async (t) => {
  const m = new DelayFactorMeter({ mediaRateBps: 1_000_000, intervalNs: 500 * MS });
  m.sample(0, S);
  m.addLostPackets(14);
  m.sample(100 * MS, S);
  t.equal(m.sample(600 * MS, S) >= 0, true, 'interval closed');
  t.equal(m.lastMlrPps, 28);
});

t.test('an arrival earlier than the previous one is counted and treated as simultaneous', async (t) => {
  const m = new DelayFactorMeter({ mediaRateBps: 1_000_000 });
  m.sample(10 * MS, S);
  m.sample(5 * MS, S);
  t.equal(m.nonMonotonic, 1);
  t.ok(m.finish() > 0);
});

t.test('a non-positive rate is a configuration error', async (t) => {
  t.throws(() => new DelayFactorMeter({ mediaRateBps: 0 }), RangeError);
  t.throws(() => new DelayFactorMeter({ mediaRateBps: 1e6, intervalNs: -1 }), RangeError);
});
