import t from 'tap';
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import {
  parseRams,
  writeRamsRequest,
  writeRamsInformation,
  writeRamsTermination,
  isRamsParseError,
  RamsParseError,
  RamsResponseCode,
  RamsSfmt,
  RAMS_FIXED_SIZE,
  type RamsMessage,
  type RamsParseErrorCode,
  type RamsPrivateExtension,
  type RamsRequest,
  type RamsInformation,
  type RamsTermination,
} from '../../../../core/fcc/rams.js';
import { ramsCases, hex } from './rams-cases.js';

const ERROR_CODES = new Set<number>(Object.values(RamsParseError));

function write(m: RamsMessage): Buffer {
  switch (m.sfmt) {
    case RamsSfmt.request:
      return writeRamsRequest(m);
    case RamsSfmt.information:
      return writeRamsInformation(m);
    case RamsSfmt.termination:
      return writeRamsTermination(m);
  }
}

/** A comparable copy: plain prototypes, private extension values as number arrays. */
function plain(r: RamsMessage | RamsParseErrorCode): unknown {
  if (isRamsParseError(r)) return r;
  const copy: Record<string, unknown> = { ...r };
  if (r.privateExtensions) {
    copy.privateExtensions = r.privateExtensions.map((x) => ({ type: x.type, enterpriseNumber: x.enterpriseNumber, value: Array.from(x.value) }));
  }
  return JSON.parse(JSON.stringify(copy));
}

function describe(r: RamsMessage | RamsParseErrorCode): string {
  return JSON.stringify(plain(r));
}

const okCases = ramsCases.filter((c) => !isRamsParseError(c.result));

t.test('parses every annotated vector to its expected message or error code', async (t) => {
  for (const c of ramsCases) {
    const r = parseRams(c.bytes, c.bytes.length);
    t.same(plain(r), plain(c.result), c.name);
    if (!isRamsParseError(r) && r.privateExtensions) {
      // The datagram buffer is reused for the next read: the values must not view it.
      const datagram = Buffer.from(c.bytes);
      const own = parseRams(datagram, datagram.length);
      datagram.fill(0);
      t.same(plain(own), plain(c.result), `${c.name}: private extension values are copies`);
    }
  }
});

t.test('writes every writable vector byte for byte from its fields', async (t) => {
  let n = 0;
  for (const c of ramsCases) {
    if (c.writtenAt === undefined || isRamsParseError(c.result)) continue;
    const out = write(c.result);
    t.equal(out.toString('hex'), c.bytes.subarray(c.writtenAt).toString('hex'), c.name);
    n++;
  }
  t.ok(n >= 8, `${n} vectors written`);
});

t.test('finds the RAMS-R behind RR and SDES in a compound packet', async (t) => {
  const c = ramsCases.find((x) => x.name.startsWith('compound RR + SDES + RAMS-R'))!;
  const r = parseRams(c.bytes, c.bytes.length);
  if (isRamsParseError(r)) throw new Error(`error ${r}`);
  t.equal(r.sfmt, RamsSfmt.request);
  t.equal(r.sfmt === RamsSfmt.request && r.minRamsBufferFillMs, 500);
  // The same RAMS-R written by us, behind the same RR + SDES, parses the same.
  const compound = Buffer.concat([c.bytes.subarray(0, 24), write(r)]);
  t.same(plain(parseRams(compound, compound.length)), plain(r));
});

t.test('skips unknown TLVs: the message is the one without them', async (t) => {
  const c = ramsCases.find((x) => x.name.startsWith('RAMS-R skips an unknown TLV'))!;
  const withUnknown = parseRams(c.bytes, c.bytes.length);
  const without = hex(`
    86 cd 00 05   # V2 P0 FMT6 | PT205 | length 5
    0a 0b 0c 0d   # SSRC of packet sender
    0a 0b 0c 0d   # SSRC of media source
    01 00 00 00   # SFMT 1 | reserved
    02 00 00 04   # TLV 2 Min RAMS Buffer Fill Requirement | length 4
    00 00 01 f4   #   500 ms
  `);
  t.same(plain(withUnknown), plain(parseRams(without, without.length)));
  // An unassigned TLV after a RAMS-T's only TLV is skipped too.
  const term = hex(`
    86 cd 00 07   # V2 P0 FMT6 | PT205 | length 7 (32 octets)
    0a 0b 0c 0d   # SSRC of packet sender
    0a 0b 0c 0d   # SSRC of media source
    03 00 00 00   # SFMT 3 | reserved
    3d 00 00 04   # TLV 61 | length 4
    00 00 00 07   #   extended seq 7
    3e 00 00 01   # TLV 62 (unassigned) | length 1
    ff 00 00 00   #   value | padding
  `);
  t.same(plain(parseRams(term, term.length)), {
    sfmt: RamsSfmt.termination, senderSsrc: 0x0a0b0c0d, mediaSsrc: 0x0a0b0c0d, firstMulticastExtendedSequenceNumber: 7,
  });
});

// ------------------------------------------------------------ round trips

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u64 = fc.oneof(u32, fc.maxSafeNat());
const privateExtension: fc.Arbitrary<RamsPrivateExtension> = fc.record({
  type: fc.integer({ min: 128, max: 254 }),
  enterpriseNumber: u32,
  value: fc.uint8Array({ maxLength: 13 }),
});
const privateExtensions = fc.array(privateExtension, { minLength: 1, maxLength: 3 });

const ramsRequest: fc.Arbitrary<RamsRequest> = fc
  .record(
    {
      senderSsrc: u32,
      mediaSsrc: u32,
      requestedMediaSenderSsrcs: fc.array(u32, { maxLength: 4 }),
      minRamsBufferFillMs: u32,
      maxRamsBufferFillMs: u32,
      maxReceiveBitrateBps: u64,
      preambleOnly: fc.constant(true as const),
      supportedEnterpriseNumbers: fc.array(u32, { maxLength: 3 }),
      privateExtensions,
    },
    { requiredKeys: ['senderSsrc', 'mediaSsrc'] },
  )
  .map((r) => ({ ...r, sfmt: RamsSfmt.request }));

const ramsInformation: fc.Arbitrary<RamsInformation> = fc
  .record(
    {
      senderSsrc: u32,
      mediaSsrc: u32,
      msn: u8,
      responseCode: fc.oneof(fc.constantFrom(...Object.values(RamsResponseCode)), u16),
      mediaSenderSsrc: u32,
      firstPacketSequenceNumber: u16,
      earliestMulticastJoinTimeMs: u32,
      burstDurationMs: u32,
      maxTransmitRateBps: u64,
      privateExtensions,
    },
    { requiredKeys: ['senderSsrc', 'mediaSsrc', 'msn', 'responseCode'] },
  )
  .map((r) => ({ ...r, sfmt: RamsSfmt.information }));

const ramsTermination: fc.Arbitrary<RamsTermination> = fc
  .record(
    { senderSsrc: u32, mediaSsrc: u32, firstMulticastExtendedSequenceNumber: u32, privateExtensions },
    { requiredKeys: ['senderSsrc', 'mediaSsrc'] },
  )
  .map((r) => ({ ...r, sfmt: RamsSfmt.termination }));

t.test('write then parse round-trips arbitrary field values of all three messages (vectors as seeds)', async (t) => {
  const seeds = okCases.filter((c) => c.writtenAt !== undefined).map((c): [RamsMessage] => [c.result as RamsMessage]);
  fc.assert(
    fc.property(fc.oneof(ramsRequest, ramsInformation, ramsTermination), (m) => {
      const bytes = write(m);
      // A single reduced-size RTCP feedback packet (RFC 5506): V2 P0 FMT6 PT205, length in words - 1.
      if (bytes[0] !== 0x86 || bytes[1] !== 205) return false;
      if (bytes.length % 4 !== 0 || ((bytes.readUInt16BE(2) + 1) * 4) !== bytes.length) return false;
      if (bytes[12] !== m.sfmt) return false;
      return isDeepStrictEqual(plain(parseRams(bytes, bytes.length)), plain(m));
    }),
    { examples: seeds, numRuns: 3000 },
  );
  t.pass();
});

t.test('preambleOnly: false writes no TLV 5', async (t) => {
  const a = writeRamsRequest({ senderSsrc: 1, mediaSsrc: 1, preambleOnly: false });
  const b = writeRamsRequest({ senderSsrc: 1, mediaSsrc: 1 });
  t.same(a, b);
  t.equal(a.length, RAMS_FIXED_SIZE);
});

// ------------------------------------------------------------ robustness

/**
 * The parser's contract on any input: no throw; a known negative code, or a
 * message with in-range fields that the writer can write back to the same
 * message.
 */
function checkContract(bytes: Uint8Array, len: number): RamsMessage | RamsParseErrorCode {
  const r = parseRams(bytes, len);
  if (isRamsParseError(r)) {
    if (!ERROR_CODES.has(r)) throw new Error(`unknown code ${r}`);
    return r;
  }
  const sfmt: number = r.sfmt;
  if (sfmt !== 1 && sfmt !== 2 && sfmt !== 3) throw new Error(`sfmt ${sfmt}`);
  for (const ssrc of [r.senderSsrc, r.mediaSsrc]) {
    if (!Number.isInteger(ssrc) || ssrc < 0 || ssrc > 0xffffffff) throw new Error(`ssrc ${ssrc}`);
  }
  const unsafe = (r.sfmt === RamsSfmt.request && (r.maxReceiveBitrateBps ?? 0) > Number.MAX_SAFE_INTEGER) ||
    (r.sfmt === RamsSfmt.information && (r.maxTransmitRateBps ?? 0) > Number.MAX_SAFE_INTEGER);
  if (!unsafe) {
    const again = write(r);
    if (!isDeepStrictEqual(plain(parseRams(again, again.length)), plain(r))) throw new Error(`rewrite differs: ${describe(r)}`);
  }
  return r;
}

t.test('rejects every proper truncation of every valid vector with a known negative code', async (t) => {
  for (const c of ramsCases) {
    for (let len = 0; len <= c.bytes.length; len++) {
      const r = checkContract(c.bytes, len);
      if (len < c.bytes.length && !isRamsParseError(c.result) && !isRamsParseError(r)) {
        t.fail(`${c.name}: truncated to ${len} octets still parsed: ${describe(r)}`);
      }
    }
  }
  t.pass();
});

t.test('never throws on bit flips of the vectors, returning a message or a known code', async (t) => {
  const seed = fc.constantFrom(...ramsCases.filter((c) => c.bytes.length > 0).map((c) => c.bytes));
  fc.assert(
    fc.property(seed, fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), fc.integer({ min: -3, max: 120 }), (bytes, flips, len) => {
      const b = new Uint8Array(bytes);
      for (const f of flips) b[f % b.length] ^= 1 << ((f >>> 8) % 8);
      checkContract(b, len);
    }),
    { numRuns: 5000 },
  );
  t.pass();
});

t.test('never throws on arbitrary bytes (vectors as seeds)', async (t) => {
  const seeds = ramsCases.map((c): [Uint8Array] => [new Uint8Array(c.bytes)]);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      checkContract(bytes, bytes.length);
    }),
    { examples: seeds, numRuns: 3000 },
  );
  t.pass();
});

t.test('never throws on random TLV areas behind a valid RAMS header', async (t) => {
  // Random bytes rarely get past the header checks; this reaches the TLV walk.
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 3 }), fc.boolean(), fc.uint8Array({ maxLength: 64 }), (sfmt, pad, body) => {
      const size = RAMS_FIXED_SIZE + ((body.length + 3) & ~3);
      const b = Buffer.alloc(size);
      b[0] = pad ? 0xa6 : 0x86;
      b[1] = 205;
      b.writeUInt16BE(size / 4 - 1, 2);
      b[12] = sfmt;
      b.set(body, RAMS_FIXED_SIZE);
      checkContract(b, size);
    }),
    { numRuns: 5000 },
  );
  t.pass();
});

t.test('reads nothing at or past len: the octets after len never change the result', async (t) => {
  const seed = fc.constantFrom(...ramsCases.map((c) => c.bytes));
  fc.assert(
    fc.property(seed, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 40 }), (bytes, cut, tail) => {
      const len = bytes.length === 0 ? 0 : cut % (bytes.length + 1);
      const exact = Buffer.from(bytes.subarray(0, len));
      const padded = Buffer.concat([exact, Buffer.from(tail)]);
      return isDeepStrictEqual(plain(parseRams(padded, len)), plain(parseRams(exact, exact.length)));
    }),
    { numRuns: 3000 },
  );
  t.pass();
});

t.test('len past the buffer is clamped; NaN, negative and fractional len are safe', async (t) => {
  const c = ramsCases.find((x) => x.name === 'RAMS-T with no TLV')!;
  t.same(plain(parseRams(c.bytes, 1e9)), plain(c.result), 'len past the buffer');
  t.equal(parseRams(c.bytes, NaN), RamsParseError.TRUNCATED);
  t.equal(parseRams(c.bytes, -5), RamsParseError.TRUNCATED);
  t.same(plain(parseRams(c.bytes, 16.7)), plain(c.result), 'fractional len is floored');
  t.equal(parseRams(c.bytes, 15), RamsParseError.LENGTH_MISMATCH);
});

t.test('a datagram in a pooled Buffer at a non-zero byteOffset parses the same', async (t) => {
  for (const c of okCases) {
    const pool = Buffer.alloc(c.bytes.length + 37, 0xee);
    c.bytes.copy(pool, 37);
    const view = pool.subarray(37);
    t.same(plain(parseRams(view, view.length)), plain(c.result), c.name);
  }
});

// ------------------------------------------------------------ writer errors

t.test('writers throw RangeError for values the wire cannot carry', async (t) => {
  const r = { senderSsrc: 1, mediaSsrc: 2 };
  t.throws(() => writeRamsRequest({ ...r, senderSsrc: -1 }), RangeError, 'negative SSRC');
  t.throws(() => writeRamsRequest({ ...r, mediaSsrc: 2 ** 32 }), RangeError, 'SSRC of 2^32');
  t.throws(() => writeRamsRequest({ ...r, senderSsrc: 1.5 }), RangeError, 'fractional SSRC');
  t.throws(() => writeRamsRequest({ ...r, senderSsrc: NaN }), RangeError, 'NaN SSRC');
  t.throws(() => writeRamsRequest({ ...r, minRamsBufferFillMs: 2 ** 32 }), RangeError, '32-bit ms overflow');
  t.throws(() => writeRamsRequest({ ...r, maxReceiveBitrateBps: 2 ** 53 }), RangeError, 'bitrate past 2^53 - 1');
  t.throws(() => writeRamsRequest({ ...r, requestedMediaSenderSsrcs: [1, -2] }), RangeError, 'bad SSRC in the list');
  t.throws(() => writeRamsRequest({ ...r, requestedMediaSenderSsrcs: new Array<number>(16384).fill(1) }), RangeError, 'list longer than a 16-bit length');
  t.throws(() => writeRamsRequest({ ...r, preambleOnly: 1 as unknown as boolean }), RangeError, 'preambleOnly not a boolean');
  t.throws(() => writeRamsInformation({ ...r, msn: 256, responseCode: 200 }), RangeError, 'MSN of 9 bits');
  t.throws(() => writeRamsInformation({ ...r, msn: 0, responseCode: 65536 }), RangeError, 'response code of 17 bits');
  t.throws(() => writeRamsInformation({ ...r, msn: 0, responseCode: 200, firstPacketSequenceNumber: 65536 }), RangeError, 'sequence number of 17 bits');
  t.throws(() => writeRamsInformation({ ...r, msn: 0, responseCode: 200, maxTransmitRateBps: -1 }), RangeError, 'negative rate');
  t.throws(() => writeRamsTermination({ ...r, firstMulticastExtendedSequenceNumber: 2 ** 32 }), RangeError, 'extended seq of 33 bits');
  const ext = (type: number, value = new Uint8Array(0)) => ({ type, enterpriseNumber: 9, value });
  t.throws(() => writeRamsTermination({ ...r, privateExtensions: [ext(127)] }), RangeError, 'private type below 128');
  t.throws(() => writeRamsTermination({ ...r, privateExtensions: [ext(255)] }), RangeError, 'private type 255 (reserved)');
  t.throws(() => writeRamsTermination({ ...r, privateExtensions: [{ type: 128, enterpriseNumber: -1, value: new Uint8Array(0) }] }), RangeError, 'negative enterprise number');
  t.throws(() => writeRamsTermination({ ...r, privateExtensions: [ext(128, new Uint8Array(65532))] }), RangeError, 'private value past a 16-bit length');
  const big = ext(128, new Uint8Array(65531));
  t.throws(() => writeRamsTermination({ ...r, privateExtensions: [big, big, big, big, big] }), RangeError, 'packet past the RTCP length field');
  t.doesNotThrow(() => writeRamsTermination({ ...r, privateExtensions: [big, big, big] }), 'three maximal private extensions fit');
});
