import t from 'tap';
import fc from 'fast-check';
import {
  createRtpHeader,
  parseRtpHeader,
  writeRtpHeader,
  RTP_HEADER_SIZE,
  RtpParseError,
} from '../../../../core/rtp/header.js';
import { rtpCases } from './rtp-cases.js';

const ERROR_CODES = new Set<number>(Object.values(RtpParseError));

t.test('parses every annotated vector to its expected result and fields', async (t) => {
  const out = createRtpHeader();
  for (const c of rtpCases) {
    const r = parseRtpHeader(c.bytes, c.bytes.length, out);
    t.equal(r, c.result, `${c.name}: result`);
    if (c.header) {
      for (const [k, v] of Object.entries(c.header)) {
        t.equal(out[k as keyof typeof out], v, `${c.name}: ${k}`);
      }
    }
  }
});

t.test('writes the fixed header of every writable vector byte for byte', async (t) => {
  for (const c of rtpCases) {
    if (!c.write) continue;
    const w = c.write;
    const buf = Buffer.alloc(RTP_HEADER_SIZE + 4, 0xee);
    const n = writeRtpHeader(buf, 2, w.payloadType, w.marker, w.sequenceNumber, w.timestamp, w.ssrc);
    t.equal(n, RTP_HEADER_SIZE, `${c.name}: returns 12`);
    t.same(buf.subarray(2, 2 + RTP_HEADER_SIZE), c.bytes.subarray(0, RTP_HEADER_SIZE), `${c.name}: bytes`);
    t.equal(buf[0], 0xee, `${c.name}: nothing written before off`);
    t.equal(buf[RTP_HEADER_SIZE + 2], 0xee, `${c.name}: nothing written after the header`);
  }
});

t.test('a shorter len than the buffer hides the tail (bounds come from len)', async (t) => {
  const out = createRtpHeader();
  const c = rtpCases.find((x) => x.name.startsWith('two CSRCs'))!;
  t.equal(parseRtpHeader(c.bytes, 19, out), RtpParseError.BAD_CSRC);
  t.equal(parseRtpHeader(c.bytes, 20, out), RtpParseError.OK);
  t.equal(out.payloadLength, 0);
  t.equal(parseRtpHeader(c.bytes, 1e9, out), RtpParseError.OK, 'len past the buffer is clamped');
  t.equal(out.payloadLength, 2);
  t.equal(parseRtpHeader(c.bytes, NaN, out), RtpParseError.TRUNCATED);
  t.equal(parseRtpHeader(c.bytes, -5, out), RtpParseError.TRUNCATED);
});

/** The parser's contract on any input: no throw, a known code, payload inside the datagram. */
function checkContract(bytes: Uint8Array, len: number): void {
  const out = createRtpHeader();
  const r = parseRtpHeader(bytes, len, out);
  if (!ERROR_CODES.has(r)) throw new Error(`unknown code ${r}`);
  if (r === RtpParseError.OK) {
    const n = Math.min(len, bytes.length);
    if (out.payloadOffset < RTP_HEADER_SIZE) throw new Error('payload inside the header');
    if (out.payloadLength < 0 || out.payloadOffset + out.payloadLength > n) throw new Error('payload outside the datagram');
    if (out.version !== 2) throw new Error('OK with version != 2');
  }
}

t.test('never throws and keeps the payload inside the datagram for arbitrary bytes (vectors as seeds)', async (t) => {
  const seeds = rtpCases.map((c): [Uint8Array] => [new Uint8Array(c.bytes)]);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      checkContract(bytes, bytes.length);
    }),
    { examples: seeds, numRuns: 2000 },
  );
  t.pass();
});

t.test('never throws on truncations and bit flips of the vectors', async (t) => {
  const seed = fc.constantFrom(...rtpCases.map((c) => c.bytes));
  fc.assert(
    fc.property(seed, fc.nat(), fc.nat(), fc.integer({ min: -3, max: 300 }), (bytes, at, bit, len) => {
      const b = new Uint8Array(bytes);
      if (b.length > 0) b[at % b.length] ^= 1 << (bit % 8);
      checkContract(b, len);
    }),
    { numRuns: 3000 },
  );
  t.pass();
});

t.test('write then parse round-trips arbitrary field values', async (t) => {
  const out = createRtpHeader();
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 127 }),
      fc.boolean(),
      fc.integer({ min: 0, max: 0xffff }),
      fc.integer({ min: 0, max: 2 ** 33 - 1 }),
      fc.integer({ min: 0, max: 0xffffffff }),
      (pt, m, seq, ts, ssrc) => {
        const b = Buffer.alloc(RTP_HEADER_SIZE);
        writeRtpHeader(b, 0, pt, m, seq, ts, ssrc);
        if (parseRtpHeader(b, b.length, out) !== RtpParseError.OK) return false;
        return (
          out.payloadType === pt && out.marker === m && out.sequenceNumber === seq &&
          out.timestamp === ts % 2 ** 32 && out.ssrc === ssrc && out.payloadLength === 0
        );
      },
    ),
    { examples: rtpCases.filter((c) => c.write).map((c) => {
      const w = c.write!;
      return [w.payloadType, w.marker, w.sequenceNumber, w.timestamp, w.ssrc] as [number, boolean, number, number, number];
    }) },
  );
  t.pass();
});
