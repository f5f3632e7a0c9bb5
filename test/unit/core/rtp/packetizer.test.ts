import t from 'tap';
import { Mp2tPacketizer, TS_PER_DATAGRAM, MP2T_DATAGRAM_SIZE, PAYLOAD_TYPE_MP2T } from '../../../../core/rtp/packetizer.js';
import { createRtpHeader, parseRtpHeader, RtpParseError } from '../../../../core/rtp/header.js';
import { tsPackets } from './collect-sink.js';

t.test('7 TS packets make one 1328-octet datagram: header, then the TS bytes unchanged', async (t) => {
  t.equal(TS_PER_DATAGRAM, 7);
  t.equal(MP2T_DATAGRAM_SIZE, 1328);
  const p = new Mp2tPacketizer({ ssrc: 0x01020304, initialSequenceNumber: 0x0a0b });
  const ts = tsPackets(8);
  const out = Buffer.alloc(MP2T_DATAGRAM_SIZE);
  const n = p.packetize(out, ts, 188, 7, 123456);
  t.equal(n, 1328);
  // 80 21 0a 0b  # V2 | M0 PT33 | seq 0x0a0b
  // 00 01 e2 40  # timestamp 123456
  // 01 02 03 04  # SSRC
  t.same(out.subarray(0, 12), Buffer.from('80210a0b0001e24001020304', 'hex'));
  t.same(out.subarray(12), ts.subarray(188, 188 * 8));
  t.equal(p.sequenceNumber, 0x0a0c);
});

t.test('sequence number wraps 65535 → 0 and advances once per datagram', async (t) => {
  const p = new Mp2tPacketizer({ initialSequenceNumber: 65534, ssrc: 1 });
  const out = Buffer.alloc(MP2T_DATAGRAM_SIZE);
  const ts = tsPackets(1);
  const h = createRtpHeader();
  const seen: number[] = [];
  for (let i = 0; i < 4; i++) {
    const n = p.packetize(out, ts, 0, 1, i * 3000);
    t.equal(parseRtpHeader(out, n, h), RtpParseError.OK);
    seen.push(h.sequenceNumber);
  }
  t.same(seen, [65534, 65535, 0, 1]);
});

t.test('M bit is 0 except on the datagram after a timestamp discontinuity (RFC 2250 §2.1)', async (t) => {
  const p = new Mp2tPacketizer({ initialSequenceNumber: 0, ssrc: 1 });
  const out = Buffer.alloc(MP2T_DATAGRAM_SIZE);
  const ts = tsPackets(1);
  const h = createRtpHeader();
  const markers: boolean[] = [];
  for (let i = 0; i < 4; i++) {
    if (i === 2) p.markTimestampDiscontinuity();
    parseRtpHeader(out, p.packetize(out, ts, 0, 1, 0), h);
    markers.push(h.marker);
  }
  t.same(markers, [false, false, true, false]);
  t.equal(h.payloadType, PAYLOAD_TYPE_MP2T);
});

t.test('initial sequence number and SSRC come from the random source when not given', async (t) => {
  const values = [0.5, 0.25];
  const p = new Mp2tPacketizer({ random: () => values.shift() ?? 0 });
  t.equal(p.ssrc, 0x80000000);
  t.equal(p.sequenceNumber, 0x4000);
  const a = new Mp2tPacketizer();
  const b = new Mp2tPacketizer();
  t.not(a.ssrc === b.ssrc && a.sequenceNumber === b.sequenceNumber, true, 'crypto default differs between instances');
});

t.test('the timestamp is the caller’s (from PCR), written modulo 2^32', async (t) => {
  const p = new Mp2tPacketizer({ ssrc: 1, initialSequenceNumber: 0 });
  const out = Buffer.alloc(MP2T_DATAGRAM_SIZE);
  const h = createRtpHeader();
  parseRtpHeader(out, p.packetize(out, tsPackets(1), 0, 1, 2 ** 33 - 1), h);
  t.equal(h.timestamp, 2 ** 32 - 1);
});

t.test('programmer errors throw RangeError: bad options, too many packets, overrun input', async (t) => {
  t.throws(() => new Mp2tPacketizer({ payloadType: 128 }), RangeError);
  t.throws(() => new Mp2tPacketizer({ ssrc: -1 }), RangeError);
  t.throws(() => new Mp2tPacketizer({ initialSequenceNumber: 65536 }), RangeError);
  const p = new Mp2tPacketizer({ ssrc: 1, initialSequenceNumber: 0 });
  t.throws(() => p.packetize(Buffer.alloc(1327), tsPackets(7), 0, 7, 0), RangeError);
  t.throws(() => p.packetize(Buffer.alloc(1328), tsPackets(7), 188, 7, 0), RangeError);
  t.throws(() => p.packetize(Buffer.alloc(1328), tsPackets(7), 0, 0, 0), RangeError);
  t.equal(p.sequenceNumber, 0, 'a refused call does not consume a sequence number');
});
