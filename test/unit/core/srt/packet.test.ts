import t from 'tap';
import fc from 'fast-check';
import {
  createLossList,
  createSrtAck,
  createSrtDropReq,
  createSrtHeader,
  ControlType,
  EncryptionKeyFlags,
  lossListSize,
  msgDiff26,
  msgNext26,
  parseAck,
  parseDropReq,
  parseLossList,
  parseNak,
  parseSrtHeader,
  PacketPosition,
  seqAdd31,
  seqDiff31,
  seqLt31,
  seqNext31,
  SRT_HEADER_SIZE,
  SRT_MAX_LOSS_WORDS,
  SRT_MSGNO_MAX,
  SRT_SEQ_MAX,
  SrtAckKind,
  SrtParseError,
  srtControlSubtype,
  srtControlType,
  srtDestSocketId,
  srtInOrder,
  srtIsControl,
  srtKeyFlags,
  srtMessageNumber,
  srtPacketPosition,
  srtRetransmitted,
  srtSequenceNumber,
  srtTimestamp,
  srtTypeSpecific,
  writeAck,
  writeAckAck,
  writeControlHeader,
  writeDataHeader,
  writeDropReq,
  writeKeepalive,
  writeLossList,
  writeNak,
  writeShutdown,
  type SrtAck,
  type SrtDataHeaderFields,
  type SrtHeader,
  type SrtLossList,
  type SrtLossRange,
} from '../../../../core/srt/packet.js';
import { ackCases, allVectors, dropReqCases, headerCases, nakCases } from './srt-cases.js';

const ERROR_CODES = new Set<number>(Object.values(SrtParseError));

function ranges(list: SrtLossList): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < list.count; i++) out.push([list.ranges[2 * i], list.ranges[2 * i + 1]]);
  return out;
}

// ---------------------------------------------------------------- header

t.test('parses every header vector to its expected result and fields', async (t) => {
  const out = createSrtHeader();
  for (const c of headerCases) {
    const r = parseSrtHeader(c.bytes, c.bytes.length, out);
    t.equal(r, c.result, `${c.name}: result`);
    if (c.header) t.same(out, c.header, `${c.name}: fields`);
  }
});

t.test('the accessors read the same fields as parseSrtHeader', async (t) => {
  const out = createSrtHeader();
  for (const c of headerCases) {
    if (c.result !== SrtParseError.OK) continue;
    // Read at an offset inside a larger buffer: the accessors take `off`.
    const b = Buffer.concat([Buffer.alloc(3, 0xee), c.bytes]);
    parseSrtHeader(c.bytes, c.bytes.length, out);
    t.equal(srtIsControl(b, 3), out.isControl, `${c.name}: F`);
    t.equal(srtTimestamp(b, 3), out.timestampUs, `${c.name}: timestamp`);
    t.equal(srtDestSocketId(b, 3), out.destSocketId, `${c.name}: destination`);
    if (out.isControl) {
      t.equal(srtControlType(b, 3), out.controlType, `${c.name}: control type`);
      t.equal(srtControlSubtype(b, 3), out.subtype, `${c.name}: subtype`);
      t.equal(srtTypeSpecific(b, 3), out.typeSpecific, `${c.name}: type-specific`);
    } else {
      t.equal(srtSequenceNumber(b, 3), out.sequenceNumber, `${c.name}: seq`);
      t.equal(srtPacketPosition(b, 3), out.position, `${c.name}: PP`);
      t.equal(srtInOrder(b, 3), out.inOrder, `${c.name}: O`);
      t.equal(srtKeyFlags(b, 3), out.keyFlags, `${c.name}: KK`);
      t.equal(srtRetransmitted(b, 3), out.retransmitted, `${c.name}: R`);
      t.equal(srtMessageNumber(b, 3), out.messageNumber, `${c.name}: msgno`);
    }
  }
});

t.test('writes every writable header vector byte for byte', async (t) => {
  let n = 0;
  for (const c of headerCases) {
    if (!c.written || !c.header) continue;
    const h = c.header;
    const buf = Buffer.alloc(c.bytes.length + 4, 0xee);
    let written: number;
    if (c.written === 'header') {
      written = h.isControl ? writeControlHeader(buf, 2, h) : writeDataHeader(buf, 2, h);
      t.equal(written, SRT_HEADER_SIZE, `${c.name}: returns 16`);
      t.equal(buf.subarray(2, 18).toString('hex'), c.bytes.subarray(0, 16).toString('hex'), `${c.name}: bytes`);
      t.equal(buf[18], 0xee, `${c.name}: nothing written after the header`);
    } else {
      const a = { timestampUs: h.timestampUs, destSocketId: h.destSocketId };
      if (h.controlType === ControlType.KEEPALIVE) written = writeKeepalive(buf, 2, a);
      else if (h.controlType === ControlType.SHUTDOWN) written = writeShutdown(buf, 2, a);
      else if (h.controlType === ControlType.ACKACK) written = writeAckAck(buf, 2, h.typeSpecific, a);
      else throw new Error(`no whole-packet writer for control type ${h.controlType}`);
      t.equal(written, c.bytes.length, `${c.name}: size`);
      t.equal(buf.subarray(2, 2 + written).toString('hex'), c.bytes.toString('hex'), `${c.name}: bytes`);
    }
    t.equal(buf[0], 0xee, `${c.name}: nothing written before off`);
    n++;
  }
  t.ok(n >= 10, `${n} header vectors written`);
});

t.test('bounds come from len: a shorter len hides the tail', async (t) => {
  const out = createSrtHeader();
  const c = headerCases[0];
  t.equal(parseSrtHeader(c.bytes, 16, out), SrtParseError.OK);
  t.equal(out.payloadLength, 0);
  t.equal(parseSrtHeader(c.bytes, 15, out), SrtParseError.TRUNCATED);
  t.equal(parseSrtHeader(c.bytes, 1e9, out), SrtParseError.OK, 'len past the buffer is clamped');
  t.equal(out.payloadLength, c.bytes.length - 16);
  t.equal(parseSrtHeader(c.bytes, NaN, out), SrtParseError.TRUNCATED);
  t.equal(parseSrtHeader(c.bytes, -1, out), SrtParseError.TRUNCATED);
});

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const seq31 = fc.integer({ min: 0, max: SRT_SEQ_MAX });
const dataFields: fc.Arbitrary<SrtDataHeaderFields> = fc.record({
  sequenceNumber: seq31,
  position: fc.constantFrom(PacketPosition.MIDDLE, PacketPosition.LAST, PacketPosition.FIRST, PacketPosition.SOLO),
  inOrder: fc.boolean(),
  keyFlags: fc.constantFrom(EncryptionKeyFlags.NONE, EncryptionKeyFlags.EVEN, EncryptionKeyFlags.ODD),
  retransmitted: fc.boolean(),
  messageNumber: fc.integer({ min: 0, max: SRT_MSGNO_MAX }),
  timestampUs: u32,
  destSocketId: u32,
});

t.test('data header: write then parse round-trips arbitrary fields', async (t) => {
  const out = createSrtHeader();
  fc.assert(
    fc.property(dataFields, (f) => {
      const b = Buffer.alloc(SRT_HEADER_SIZE);
      writeDataHeader(b, 0, f);
      if (parseSrtHeader(b, b.length, out) !== SrtParseError.OK) return false;
      return (Object.keys(f) as Array<keyof SrtDataHeaderFields>).every((k) => out[k] === f[k]) && !out.isControl;
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

t.test('control header: write then parse round-trips arbitrary fields', async (t) => {
  const out = createSrtHeader();
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0x7fff }), fc.integer({ min: 0, max: 0xffff }), u32, u32, u32, (type, sub, info, ts, dst) => {
      const b = Buffer.alloc(SRT_HEADER_SIZE);
      writeControlHeader(b, 0, { controlType: type, subtype: sub, typeSpecific: info, timestampUs: ts, destSocketId: dst });
      if (parseSrtHeader(b, b.length, out) !== SrtParseError.OK) return false;
      return out.isControl && out.controlType === type && out.subtype === sub && out.typeSpecific === info &&
        out.timestampUs === ts && out.destSocketId === dst;
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

t.test('timestamps are written modulo 2^32 (unwrapped elapsed microseconds)', async (t) => {
  const b = Buffer.alloc(16);
  const out = createSrtHeader();
  writeControlHeader(b, 0, { controlType: 1, subtype: 0, typeSpecific: 0, timestampUs: 2 ** 32 + 7, destSocketId: 1 });
  parseSrtHeader(b, 16, out);
  t.equal(out.timestampUs, 7);
});

t.test('header writers throw RangeError for what the wire cannot carry, and leave the buffer alone', async (t) => {
  const good: SrtDataHeaderFields = {
    sequenceNumber: 1, position: PacketPosition.SOLO, inOrder: false, keyFlags: EncryptionKeyFlags.NONE,
    retransmitted: false, messageNumber: 1, timestampUs: 0, destSocketId: 1,
  };
  const bad: Array<[string, Partial<SrtDataHeaderFields>]> = [
    ['sequence number 2^31', { sequenceNumber: 2 ** 31 }],
    ['negative sequence number', { sequenceNumber: -1 }],
    ['message number 2^26', { messageNumber: 2 ** 26 }],
    ['KK 11b on data', { keyFlags: EncryptionKeyFlags.BOTH }],
    ['PP 4', { position: 4 as PacketPosition }],
    ['fractional timestamp', { timestampUs: 1.5 }],
    ['destination 2^32', { destSocketId: 2 ** 32 }],
  ];
  for (const [what, patch] of bad) {
    const b = Buffer.alloc(16, 0xee);
    t.throws(() => writeDataHeader(b, 0, { ...good, ...patch }), RangeError, what);
    t.equal(b.toString('hex'), 'ee'.repeat(16), `${what}: buffer untouched`);
  }
  t.throws(() => writeDataHeader(Buffer.alloc(15), 0, good), RangeError, 'buffer too short');
  t.throws(() => writeDataHeader(Buffer.alloc(20), 5, good), RangeError, 'offset too far');
  const ctl = { controlType: 1, subtype: 0, typeSpecific: 0, timestampUs: 0, destSocketId: 0 };
  t.throws(() => writeControlHeader(Buffer.alloc(16), 0, { ...ctl, controlType: 0x8000 }), RangeError, 'control type 2^15');
  t.throws(() => writeControlHeader(Buffer.alloc(16), 0, { ...ctl, subtype: 0x10000 }), RangeError, 'subtype 2^16');
  t.throws(() => writeAckAck(Buffer.alloc(20), 0, -1, ctl), RangeError, 'ACKACK number -1');
  t.throws(() => writeKeepalive(Buffer.alloc(19), 0, ctl), RangeError, 'KEEPALIVE needs 20 octets');
});

// ---------------------------------------------------------------- ACK

t.test('parses every ACK vector to its expected ACK or error code', async (t) => {
  const out = createSrtAck();
  for (const c of ackCases) {
    const r = parseAck(c.bytes, c.bytes.length, out);
    if (typeof c.result === 'number') {
      t.equal(r, c.result, c.name);
    } else {
      t.equal(r, SrtParseError.OK, `${c.name}: OK`);
      t.same(out, c.result, `${c.name}: fields`);
    }
  }
});

t.test('writes every writable ACK vector byte for byte', async (t) => {
  let n = 0;
  for (const c of ackCases) {
    if (!c.written || typeof c.result === 'number') continue;
    const buf = Buffer.alloc(64, 0xee);
    const size = writeAck(buf, 1, c.result);
    t.equal(buf.subarray(1, 1 + size).toString('hex'), c.bytes.toString('hex'), c.name);
    t.equal(buf[1 + size], 0xee, `${c.name}: nothing past the CIF`);
    n++;
  }
  t.equal(n, 3, 'light, small and full written');
});

t.test('ACK: write then parse round-trips each form', async (t) => {
  const out = createSrtAck();
  const arb = fc.record({
    kind: fc.constantFrom(SrtAckKind.LIGHT, SrtAckKind.SMALL, SrtAckKind.FULL),
    ackNumber: u32, lastAckSeq: seq31, rttUs: u32, rttVarianceUs: u32, availableBufferPackets: u32,
    packetsReceivingRatePps: u32, estimatedLinkCapacityPps: u32, receivingRateBps: u32, timestampUs: u32, destSocketId: u32,
  });
  fc.assert(
    fc.property(arb, (a: SrtAck) => {
      const b = Buffer.alloc(64);
      const size = writeAck(b, 0, a);
      if (parseAck(b, size, out) !== SrtParseError.OK) return false;
      const expected: SrtAck = { ...a };
      if (a.kind !== SrtAckKind.FULL) {
        expected.packetsReceivingRatePps = expected.estimatedLinkCapacityPps = expected.receivingRateBps = 0;
      }
      if (a.kind === SrtAckKind.LIGHT) expected.rttUs = expected.rttVarianceUs = expected.availableBufferPackets = 0;
      return JSON.stringify(out) === JSON.stringify(expected);
    }),
    { numRuns: 1000 },
  );
  t.pass();
});

t.test('writeAck throws RangeError for a bad kind or field', async (t) => {
  const a = createSrtAck();
  t.throws(() => writeAck(Buffer.alloc(64), 0, { ...a, kind: 'huge' as SrtAckKind }), RangeError);
  t.throws(() => writeAck(Buffer.alloc(64), 0, { ...a, lastAckSeq: 2 ** 31 }), RangeError);
  t.throws(() => writeAck(Buffer.alloc(64), 0, { ...a, kind: SrtAckKind.FULL, rttUs: -1 }), RangeError);
  t.throws(() => writeAck(Buffer.alloc(43), 0, { ...a, kind: SrtAckKind.FULL }), RangeError, 'full ACK needs 44 octets');
});

// ---------------------------------------------------------------- NAK

t.test('parses every NAK vector to its expected ranges or error code', async (t) => {
  for (const c of nakCases) {
    const out = c.maxRanges === undefined ? createLossList() : createLossList(c.maxRanges);
    const r = parseNak(c.bytes, c.bytes.length, out);
    if (typeof c.result === 'number') {
      t.equal(r, c.result, c.name);
    } else {
      t.equal(r, SrtParseError.OK, `${c.name}: OK`);
      t.same(ranges(out), c.result.ranges, `${c.name}: ranges`);
      t.equal(out.truncated, c.result.truncated, `${c.name}: truncated`);
    }
  }
});

t.test('writes every writable NAK vector byte for byte', async (t) => {
  let n = 0;
  for (const c of nakCases) {
    if (!c.written || typeof c.result === 'number') continue;
    const buf = Buffer.alloc(c.bytes.length + 2, 0xee);
    const size = writeNak(buf, 1, c.written, c.result.ranges);
    t.equal(size, c.bytes.length, `${c.name}: size`);
    t.equal(buf.subarray(1, 1 + size).toString('hex'), c.bytes.toString('hex'), c.name);
    t.equal(buf[0], 0xee);
    t.equal(buf[1 + size], 0xee);
    n++;
  }
  t.ok(n >= 4, `${n} NAK vectors written`);
});

/** Sorted, non-overlapping ranges in 31-bit order, starting anywhere (so some lists wrap past 2^31 − 1). */
const lossRanges: fc.Arbitrary<SrtLossRange[]> = fc
  .tuple(seq31, fc.array(fc.tuple(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 0, max: 50 })), { minLength: 1, maxLength: 60 }))
  .map(([start, steps]) => {
    const out: SrtLossRange[] = [];
    let at = start;
    for (const [gap, len] of steps) {
      const from = seqAdd31(at, out.length === 0 ? 0 : gap);
      const to = seqAdd31(from, len);
      out.push([from, to]);
      at = to;
    }
    return out;
  });

t.test('NAK: encode then decode round-trips random sorted range lists, across the 2^31 wrap', async (t) => {
  const out = createLossList(64);
  fc.assert(
    fc.property(lossRanges, fc.integer({ min: 0, max: 2 ** 32 - 1 }), (list, ts) => {
      const b = Buffer.alloc(16 + 8 * list.length);
      const size = writeNak(b, 0, { timestampUs: ts, destSocketId: 9 }, list);
      if (size !== 16 + lossListSize(list)) return false;
      if (parseNak(b, size, out) !== SrtParseError.OK) return false;
      return !out.truncated && JSON.stringify(ranges(out)) === JSON.stringify(list);
    }),
    {
      numRuns: 1000,
      examples: [
        [[[SRT_SEQ_MAX, 0]], 0],
        [[[SRT_SEQ_MAX - 5, 5], [7, 7]], 1],
        [[[0, 0], [2, 3]], 2],
      ],
    },
  );
  t.pass();
});

t.test('the loss-list decoder bounds its output and its work', async (t) => {
  // 16 384 single losses (a 64 KiB datagram's worth): decoding stops at the bound.
  const words = 16384;
  const b = Buffer.alloc(words * 4);
  for (let i = 0; i < words; i++) b.writeUInt32BE(i * 2, i * 4);
  const out = createLossList();
  t.equal(parseLossList(b, 0, b.length, out), SrtParseError.OK);
  t.equal(out.count, SRT_MAX_LOSS_WORDS);
  t.equal(out.truncated, true);
  t.same(ranges(out).at(-1), [(SRT_MAX_LOSS_WORDS - 1) * 2, (SRT_MAX_LOSS_WORDS - 1) * 2]);
  // A bad word beyond the bound is never looked at.
  b.writeUInt32BE(0x80000001, (words - 1) * 4);
  t.equal(parseLossList(b, 0, b.length, out), SrtParseError.OK);
  // Exactly at capacity is not truncated; one more entry is.
  const small = createLossList(2);
  const two = Buffer.from('000000018000000300000005', 'hex'); // [1], [3..5]
  t.equal(parseLossList(two, 0, two.length, small), SrtParseError.OK);
  t.same(ranges(small), [[1, 1], [3, 5]]);
  t.equal(small.truncated, false, 'two ranges fit a bound of two');
  const three = Buffer.from('00000001800000030000000500000009', 'hex'); // [1], [3..5], [9]
  t.equal(parseLossList(three, 0, three.length, small), SrtParseError.OK);
  t.equal(small.count, 2);
  t.equal(small.truncated, true, 'the third does not');
  // `end` past the buffer and a negative `off` are safe.
  t.equal(parseLossList(two, 0, 1e9, small), SrtParseError.OK);
  t.equal(parseLossList(two, -4, two.length, small), SrtParseError.TRUNCATED);
});

t.test('writeLossList throws RangeError for lists it cannot encode', async (t) => {
  const b = Buffer.alloc(64);
  t.throws(() => writeLossList(b, 0, []), RangeError, 'empty');
  t.throws(() => writeLossList(b, 0, [[5, 4]]), RangeError, 'reversed');
  t.throws(() => writeLossList(b, 0, [[1, 2], [2, 3]]), RangeError, 'overlapping');
  t.throws(() => writeLossList(b, 0, [[10, 10], [5, 5]]), RangeError, 'descending');
  t.throws(() => writeLossList(b, 0, [[0, 2 ** 31]]), RangeError, 'out of range');
  t.throws(() => writeLossList(b, 0, [[0, 2 ** 30]]), RangeError, 'half the number space');
  t.throws(() => writeLossList(Buffer.alloc(7), 0, [[1, 3]]), RangeError, 'no room');
  t.equal(writeLossList(b, 0, [[1, 1], [2, 2]]), 8, 'adjacent singles are allowed');
});

// ---------------------------------------------------------------- DROPREQ

t.test('parses every DROPREQ vector; writes the writable ones byte for byte', async (t) => {
  const out = createSrtDropReq();
  for (const c of dropReqCases) {
    const r = parseDropReq(c.bytes, c.bytes.length, out);
    if (typeof c.result === 'number') {
      t.equal(r, c.result, c.name);
      continue;
    }
    t.equal(r, SrtParseError.OK, `${c.name}: OK`);
    t.same(out, c.result, `${c.name}: fields`);
    if (c.written) {
      const b = Buffer.alloc(24);
      t.equal(writeDropReq(b, 0, c.result), 24);
      t.equal(b.toString('hex'), c.bytes.toString('hex'), `${c.name}: written`);
    }
  }
  t.throws(() => writeDropReq(Buffer.alloc(24), 0, { ...createSrtDropReq(), messageNumber: 2 ** 26 }), RangeError);
  t.throws(() => writeDropReq(Buffer.alloc(24), 0, { ...createSrtDropReq(), lastSeq: 2 ** 31 }), RangeError);
});

t.test('DROPREQ: write then parse round-trips', async (t) => {
  const out = createSrtDropReq();
  fc.assert(
    fc.property(fc.integer({ min: 0, max: SRT_MSGNO_MAX }), seq31, seq31, u32, u32, (m, a, z, ts, dst) => {
      const d = { messageNumber: m, firstSeq: a, lastSeq: z, timestampUs: ts, destSocketId: dst };
      const b = Buffer.alloc(24);
      writeDropReq(b, 0, d);
      return parseDropReq(b, 24, out) === SrtParseError.OK && JSON.stringify(out) === JSON.stringify(d);
    }),
  );
  t.pass();
});

// ---------------------------------------------------------------- robustness

/** Every parser's contract on any input: no throw, a known code, results inside their ranges. */
function checkContract(bytes: Uint8Array, len: number): void {
  const n = Math.max(0, Math.min(Number.isNaN(len) ? 0 : Math.floor(len), bytes.length));
  const h: SrtHeader = createSrtHeader();
  const rh = parseSrtHeader(bytes, len, h);
  if (!ERROR_CODES.has(rh)) throw new Error(`header: unknown code ${rh}`);
  if (rh === SrtParseError.OK && h.payloadOffset + h.payloadLength !== n) throw new Error('header: payload outside the datagram');

  const a = createSrtAck();
  const ra = parseAck(bytes, len, a);
  if (!ERROR_CODES.has(ra)) throw new Error(`ACK: unknown code ${ra}`);
  if (ra === SrtParseError.OK && a.lastAckSeq > SRT_SEQ_MAX) throw new Error('ACK: sequence number out of range');

  const l = createLossList(8);
  const rl = parseNak(bytes, len, l);
  if (!ERROR_CODES.has(rl)) throw new Error(`NAK: unknown code ${rl}`);
  if (rl === SrtParseError.OK) {
    if (l.count < 1 || l.count > 8) throw new Error(`NAK: ${l.count} ranges`);
    for (const [from, to] of ranges(l)) {
      if (from > SRT_SEQ_MAX || to > SRT_SEQ_MAX || seqDiff31(to, from) < 0) throw new Error('NAK: bad range');
    }
  }

  const d = createSrtDropReq();
  const rd = parseDropReq(bytes, len, d);
  if (!ERROR_CODES.has(rd)) throw new Error(`DROPREQ: unknown code ${rd}`);
  if (rd === SrtParseError.OK && (d.firstSeq > SRT_SEQ_MAX || d.lastSeq > SRT_SEQ_MAX || d.messageNumber > SRT_MSGNO_MAX)) {
    throw new Error('DROPREQ: field out of range');
  }
}

t.test('never throws on arbitrary bytes (vectors as seeds)', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => checkContract(bytes, bytes.length)),
    { examples: allVectors.map((v): [Uint8Array] => [new Uint8Array(v)]), numRuns: 3000 },
  );
  t.pass();
});

t.test('never throws on any truncation of any vector', async (t) => {
  for (const v of allVectors) for (let len = 0; len <= v.length; len++) checkContract(v, len);
  t.pass();
});

t.test('never throws on random bit flips and lengths of the vectors', async (t) => {
  fc.assert(
    fc.property(fc.constantFrom(...allVectors), fc.nat(), fc.nat(), fc.integer({ min: -3, max: 700 }), (v, at, bit, len) => {
      const b = new Uint8Array(v);
      if (b.length > 0) b[at % b.length] ^= 1 << (bit % 8);
      checkContract(b, len);
    }),
    { numRuns: 5000 },
  );
  t.pass();
});

// ---------------------------------------------------------------- sequence arithmetic

t.test('31-bit sequence helpers across the 2^31 wrap', async (t) => {
  t.equal(seqNext31(0), 1);
  t.equal(seqNext31(SRT_SEQ_MAX), 0, 'wraps to 0');
  t.equal(seqAdd31(SRT_SEQ_MAX, 2), 1);
  t.equal(seqAdd31(0, -1), SRT_SEQ_MAX, 'steps back across the wrap');
  t.equal(seqDiff31(0, SRT_SEQ_MAX), 1, '0 is one after 2^31-1');
  t.equal(seqDiff31(SRT_SEQ_MAX, 0), -1);
  t.equal(seqDiff31(5, 5), 0);
  t.equal(seqDiff31(100, 10), 90);
  t.equal(seqDiff31(2 ** 30 - 1, 0), 2 ** 30 - 1, 'largest forward distance');
  t.equal(seqDiff31(2 ** 30, 0), -(2 ** 30), 'half the space reads as behind');
  t.ok(seqLt31(SRT_SEQ_MAX, 0));
  t.notOk(seqLt31(0, SRT_SEQ_MAX));
  t.notOk(seqLt31(7, 7));
  fc.assert(
    // d = -2^30 is excluded: exactly half the space apart, a and b both read as behind the other.
    fc.property(seq31, fc.integer({ min: -(2 ** 30) + 1, max: 2 ** 30 - 1 }), (a, d) => {
      const b = seqAdd31(a, d);
      return b >= 0 && b <= SRT_SEQ_MAX && seqDiff31(b, a) === d && seqLt31(a, b) === d > 0 &&
        (d === 1 ? seqNext31(a) === b : true);
    }),
    { numRuns: 5000, examples: [[SRT_SEQ_MAX, 1], [0, -1], [SRT_SEQ_MAX - 3, 10]] },
  );
});

t.test('26-bit message number helpers skip 0 and wrap', async (t) => {
  t.equal(msgNext26(1), 2);
  t.equal(msgNext26(SRT_MSGNO_MAX), 1, 'wraps to 1: 0 means "unknown" in DROPREQ');
  t.equal(msgDiff26(1, SRT_MSGNO_MAX), 2, 'two steps forward across the wrap (0 included in the arithmetic)');
  t.equal(msgDiff26(3, 1), 2);
  t.equal(msgDiff26(1, 3), -2);
});
