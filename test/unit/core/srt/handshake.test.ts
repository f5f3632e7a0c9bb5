import t from 'tap';
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import {
  EncryptionField,
  formatPeerIp,
  HANDSHAKE_PACKET_MIN_SIZE,
  handshakeRejection,
  handshakeRejectReason,
  HandshakeExtensionFlags,
  HandshakeType,
  HandshakeVersion,
  isSrtParseError,
  parseHandshake,
  peerIpFromIPv4,
  SRT_MAGIC_CODE,
  SRT_STREAM_ID_MAX_BYTES,
  SrtFlags,
  SrtRejectReason,
  SrtRejectReasonX,
  UDT_DGRAM,
  writeHandshake,
  type SrtHandshake,
} from '../../../../core/srt/handshake.js';
import { SRT_SEQ_MAX, SrtParseError, type SrtParseErrorCode } from '../../../../core/srt/packet.js';
import { allVectors, handshakeCases, hex } from './srt-cases.js';

const ERROR_CODES = new Set<number>(Object.values(SrtParseError));

/** A comparable copy: byte arrays as number arrays, absent keys absent. */
function plain(r: SrtHandshake | SrtParseErrorCode): unknown {
  if (isSrtParseError(r)) return r;
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) {
    if (v === undefined) continue;
    copy[k] = v instanceof Uint8Array ? Array.from(v) : v;
  }
  return JSON.parse(JSON.stringify(copy));
}

function parsed(name: string): SrtHandshake {
  const c = handshakeCases.find((x) => x.name.startsWith(name));
  if (!c) throw new Error(`no case ${name}`);
  const r = parseHandshake(c.bytes, c.bytes.length);
  if (isSrtParseError(r)) throw new Error(`${name}: error ${r}`);
  return r;
}

t.test('parses every handshake vector to its expected handshake or error code', async (t) => {
  for (const c of handshakeCases) {
    t.same(plain(parseHandshake(c.bytes, c.bytes.length)), plain(c.result), c.name);
  }
});

t.test('writes every writable handshake vector byte for byte, real libsrt packets included', async (t) => {
  let n = 0;
  let real = 0;
  for (const c of handshakeCases) {
    if (!c.written || isSrtParseError(c.result)) continue;
    t.equal(writeHandshake(c.result).toString('hex'), c.bytes.toString('hex'), c.name);
    n++;
    if (c.name.startsWith('libsrt')) real++;
  }
  t.ok(n >= 9, `${n} vectors written`);
  t.ok(real >= 6, `${real} of them captured from libsrt`);
});

t.test('libsrt caller INDUCTION: what libsrt 1.5.1 puts in each field', async (t) => {
  const h = parsed('libsrt caller INDUCTION');
  t.equal(h.version, HandshakeVersion.UDT4, 'version 4, even from an HSv5 caller');
  t.equal(h.extensionField, UDT_DGRAM, 'extension field is the UDT socket type');
  t.equal(h.encryptionField, EncryptionField.NONE);
  t.equal(h.handshakeType, HandshakeType.INDUCTION);
  t.equal(h.synCookie, 0);
  t.equal(h.destSocketId, 0, 'a connection request');
  t.equal(h.mtuBytes, 1500);
  t.equal(h.flowWindowPackets, 8192);
  t.equal(formatPeerIp(h.peerIp), '127.0.0.1', 'peer IP read back from the word-reversed 01 00 00 7f');
  const away = parsed('libsrt caller INDUCTION from 127.0.0.1 to 192.0.2.2');
  t.equal(formatPeerIp(away.peerIp), '192.0.2.2', "from 02 02 00 c0: the listener's address, not the sender's");
});

t.test('libsrt caller CONCLUSION: stream id, latency and flags read as srt-live-transmit set them', async (t) => {
  const h = parsed('libsrt caller CONCLUSION: HSREQ');
  t.equal(h.streamId, 'room/101', 'streamid=room/101 from its word-reversed bytes');
  t.equal(h.hsReq?.receiverTsbpdDelayMs, 120, 'latency=120: receiver delay');
  t.equal(h.hsReq?.senderTsbpdDelayMs, 120, 'latency=120: sender delay');
  t.equal(h.hsReq?.srtVersion, 0x00010501, 'SRT 1.5.1');
  const f = h.hsReq?.srtFlags ?? 0;
  for (const flag of ['TSBPDSND', 'TSBPDRCV', 'CRYPT', 'TLPKTDROP', 'PERIODICNAK', 'REXMITFLG', 'PACKET_FILTER'] as const) {
    t.ok(f & SrtFlags[flag], `flag ${flag} set`);
  }
  t.notOk(f & SrtFlags.STREAM, 'message mode (live), not stream');
  t.equal(h.extensionField, HandshakeExtensionFlags.HSREQ | HandshakeExtensionFlags.CONFIG);
  t.equal(h.version, HandshakeVersion.SRT5);
  t.equal(h.handshakeType, HandshakeType.CONCLUSION);
  t.equal(h.synCookie, 0x5eed1e55, 'the cookie our INDUCTION answer gave');
  t.equal(h.destSocketId, 0, 'libsrt 1.5.1 addresses its CONCLUSION to socket 0, not the ID our INDUCTION answer gave');
  t.equal(h.initialSequenceNumber, parsed('libsrt caller INDUCTION').initialSequenceNumber, 'same ISN as the INDUCTION');
  t.equal(h.kmReq, undefined);
});

t.test('libsrt caller CONCLUSION with a passphrase: raw KMREQ and advertised AES-128', async (t) => {
  const h = parsed('libsrt caller CONCLUSION with a passphrase');
  t.equal(h.encryptionField, EncryptionField.AES_128, 'pbkeylen=16');
  t.equal(h.extensionField, HandshakeExtensionFlags.HSREQ | HandshakeExtensionFlags.KMREQ | HandshakeExtensionFlags.CONFIG);
  const km = h.kmReq;
  if (!km) throw new Error('no KMREQ');
  t.equal(km.length, 56, '14 words');
  t.same(Array.from(km.subarray(0, 4)), [0x12, 0x20, 0x29, 0x01], 'KM message in draft §3.2.2 order: V1 PT2, sign 0x2029, KK even');
  t.equal(km[8], 2, 'cipher AES-CTR');
  t.equal(km[15], 4, 'KLen/4 = 4: 16-octet key');
  t.equal(h.streamId, 'room/101');
});

t.test('libsrt listener answers: magic, echoed caller ID, rejection 1011, HSRSP', async (t) => {
  const ind = parsed('libsrt listener INDUCTION');
  t.equal(ind.extensionField, SRT_MAGIC_CODE);
  t.equal(ind.encryptionField, EncryptionField.AES_128);
  t.equal(ind.version, HandshakeVersion.SRT5);
  t.equal(ind.socketId, 0x0badcafe, "libsrt echoes the caller's socket ID in its INDUCTION answer");
  const rej = parsed('libsrt listener rejection');
  t.equal(handshakeRejectReason(rej.handshakeType), SrtRejectReason.UNSECURE);
  const con = parsed('libsrt listener CONCLUSION');
  t.equal(con.hsRsp?.receiverTsbpdDelayMs, 120);
  t.equal(con.hsReq, undefined);
  // That capture's INDUCTION answer (a second run, no passphrase) gave cookie 0x5d306390, which our CONCLUSION echoed.
  t.equal(con.synCookie, 0x5d306390, 'libsrt keeps the cookie in its CONCLUSION answer');
});

t.test('unknown extension types are skipped: the result is the one without them', async (t) => {
  const withUnknown = parsed('unknown extension type 9');
  const rewritten = writeHandshake(withUnknown); // the writer knows no type 9 or 99
  t.equal(rewritten.length, HANDSHAKE_PACKET_MIN_SIZE + 8, 'only the Stream ID block is written back');
  t.same(plain(parseHandshake(rewritten, rewritten.length)), plain(withUnknown));
});

t.test('parsed values own their bytes: reusing the datagram does not change them', async (t) => {
  const c = handshakeCases.find((x) => x.name.startsWith('libsrt caller CONCLUSION with a passphrase'))!;
  const datagram = Buffer.from(c.bytes);
  const r = parseHandshake(datagram, datagram.length);
  datagram.fill(0);
  t.same(plain(r), plain(c.result));
});

t.test('bounds come from len: a shorter len drops whole extension blocks or fails', async (t) => {
  const c = handshakeCases.find((x) => x.name.startsWith('libsrt caller CONCLUSION: HSREQ'))!;
  const afterHsreq = HANDSHAKE_PACKET_MIN_SIZE + 16;
  const r = parseHandshake(c.bytes, afterHsreq);
  if (isSrtParseError(r)) throw new Error(`error ${r}`);
  t.equal(r.streamId, undefined, 'cut at a block boundary: the Stream ID block is gone');
  t.equal(r.hsReq?.receiverTsbpdDelayMs, 120);
  t.equal(parseHandshake(c.bytes, afterHsreq + 2), SrtParseError.BAD_EXTENSION, 'cut inside a block header');
  t.equal(parseHandshake(c.bytes, c.bytes.length - 1), SrtParseError.BAD_EXTENSION, 'cut inside a block');
  t.equal(parseHandshake(c.bytes, HANDSHAKE_PACKET_MIN_SIZE - 1), SrtParseError.TRUNCATED);
  t.equal(parseHandshake(c.bytes, NaN), SrtParseError.TRUNCATED);
  t.same(plain(parseHandshake(c.bytes, 1e9)), plain(c.result), 'len past the buffer is clamped');
});

// ------------------------------------------------------------ round trips

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const hsExt = fc.record({ srtVersion: u32, srtFlags: u32, receiverTsbpdDelayMs: u16, senderTsbpdDelayMs: u16 });
const km = fc.integer({ min: 1, max: 20 }).chain((words) => fc.uint8Array({ minLength: words * 4, maxLength: words * 4 }));
/** Well-formed text without NUL (which ends the string on the wire) of at most `max` UTF-8 octets. */
function configString(max: number): fc.Arbitrary<string> {
  return fc
    .string({ unit: 'grapheme', maxLength: 60 })
    .filter((s) => !s.includes('\0') && Buffer.byteLength(s, 'utf8') <= max);
}

const handshake: fc.Arbitrary<SrtHandshake> = fc.record(
  {
    timestampUs: u32,
    destSocketId: u32,
    version: fc.constant(5),
    encryptionField: u16,
    extensionField: u16,
    initialSequenceNumber: fc.integer({ min: 0, max: SRT_SEQ_MAX }),
    mtuBytes: u32,
    flowWindowPackets: u32,
    handshakeType: u32,
    socketId: u32,
    synCookie: u32,
    peerIp: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    hsReq: hsExt,
    hsRsp: hsExt,
    kmReq: km,
    kmRsp: km,
    streamId: configString(SRT_STREAM_ID_MAX_BYTES),
    congestion: configString(200),
    filter: configString(200),
    group: fc.record({ groupId: u32, type: fc.integer({ min: 0, max: 255 }), flags: fc.integer({ min: 0, max: 255 }), weight: u16 }),
  },
  {
    requiredKeys: [
      'timestampUs', 'destSocketId', 'version', 'encryptionField', 'extensionField', 'initialSequenceNumber',
      'mtuBytes', 'flowWindowPackets', 'handshakeType', 'socketId', 'synCookie', 'peerIp',
    ],
  },
);

t.test('write then parse round-trips arbitrary handshakes with any set of extensions', async (t) => {
  const seeds = handshakeCases
    .filter((c) => c.written && !isSrtParseError(c.result) && c.result.version >= 5)
    .map((c): [SrtHandshake] => [c.result as SrtHandshake]);
  fc.assert(
    fc.property(handshake, (h) => {
      const b = writeHandshake(h);
      const r = parseHandshake(b, b.length);
      if (!isDeepStrictEqual(plain(r), plain(h))) return false;
      // ... and writing the parse gives the same bytes again.
      return !isSrtParseError(r) && writeHandshake(r).equals(b);
    }),
    { examples: seeds, numRuns: 1000 },
  );
  t.pass();
});

t.test('Stream IDs: every UTF-8 length 0..512 round-trips; the word reversal is as libsrt does it', async (t) => {
  for (let len = 0; len <= SRT_STREAM_ID_MAX_BYTES; len += 1) {
    const sid = 'r'.repeat(len);
    const base = parsed('libsrt caller CONCLUSION: HSREQ');
    const b = writeHandshake({ ...base, streamId: sid });
    const r = parseHandshake(b, b.length);
    if (isSrtParseError(r) || r.streamId !== sid) {
      t.fail(`length ${len}`);
      return;
    }
  }
  const b = writeHandshake({ ...parsed('libsrt caller CONCLUSION: HSREQ'), streamId: 'abcde' });
  t.equal(b.subarray(b.length - 8).toString('hex'), '6463626100000065', '"abcd" → "dcba", "e\\0\\0\\0" → "\\0\\0\\0e"');
});

t.test('writeHandshake throws RangeError for what the wire cannot carry', async (t) => {
  const base = parsed('libsrt caller CONCLUSION: HSREQ');
  const bad: Array<[string, Partial<SrtHandshake>]> = [
    ['Stream ID of 513 octets', { streamId: 'x'.repeat(SRT_STREAM_ID_MAX_BYTES + 1) }],
    ['Stream ID of 257 two-octet characters', { streamId: 'é'.repeat(257) }],
    ['Stream ID with NUL', { streamId: 'room\u0000101' }],
    ['ISN 2^31', { initialSequenceNumber: 2 ** 31 }],
    ['encryption field 2^16', { encryptionField: 0x10000 }],
    ['peer IP of 4 octets', { peerIp: new Uint8Array(4) }],
    ['KMREQ of 5 octets', { kmReq: new Uint8Array(5) }],
    ['empty KMRSP', { kmRsp: new Uint8Array(0) }],
    ['TSBPD delay 65536 ms', { hsReq: { srtVersion: 0x10501, srtFlags: 0xbf, receiverTsbpdDelayMs: 65536, senderTsbpdDelayMs: 0 } }],
    ['group weight 2^16', { group: { groupId: 1, type: 2, flags: 0, weight: 0x10000 } }],
    ['handshake type -1 (write CONCLUSION as 0xFFFFFFFF)', { handshakeType: -1 }],
  ];
  for (const [what, patch] of bad) t.throws(() => writeHandshake({ ...base, ...patch }), RangeError, what);
});

// ------------------------------------------------------------ robustness

function checkContract(bytes: Uint8Array, len: number): void {
  const r = parseHandshake(bytes, len);
  if (isSrtParseError(r)) {
    if (!ERROR_CODES.has(r) || r === SrtParseError.OK) throw new Error(`unknown code ${r}`);
    return;
  }
  if (r.initialSequenceNumber > SRT_SEQ_MAX) throw new Error('ISN out of range');
  if (r.peerIp.length !== 16) throw new Error('peer IP not 16 octets');
  if (r.streamId !== undefined && Buffer.byteLength(r.streamId, 'utf8') > SRT_STREAM_ID_MAX_BYTES * 3) throw new Error('stream id too long');
  if (r.kmReq && r.kmReq.length > bytes.length) throw new Error('KM longer than the datagram');
}

t.test('never throws on arbitrary bytes (vectors as seeds)', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => checkContract(bytes, bytes.length)),
    { examples: allVectors.map((v): [Uint8Array] => [new Uint8Array(v)]), numRuns: 3000 },
  );
  // Arbitrary tails behind a valid version-5 CIF reach the extension walker.
  const cif = handshakeCases.find((c) => c.name.startsWith('libsrt caller CONCLUSION: HSREQ'))!.bytes.subarray(0, HANDSHAKE_PACKET_MIN_SIZE);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (tail) => {
      const b = Buffer.concat([cif, tail]);
      checkContract(b, b.length);
    }),
    { numRuns: 3000 },
  );
  t.pass();
});

t.test('never throws on any truncation of any vector', async (t) => {
  for (const v of allVectors) for (let len = -1; len <= v.length; len++) checkContract(v, len);
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

// ------------------------------------------------------------ tables and helpers

t.test('rejection codes: 1000 + reason on the wire, libsrt SRT_REJ_* numbering', async (t) => {
  t.equal(handshakeRejection(SrtRejectReason.PEER), 1002, 'the old URQ_ERROR_REJECT');
  t.equal(handshakeRejection(SrtRejectReason.ROGUE), 1004, 'the old URQ_ERROR_INVALID');
  t.equal(handshakeRejection(SrtRejectReason.BADSECRET), 1010);
  t.equal(handshakeRejection(SrtRejectReason.UNSECURE), 1011);
  t.equal(handshakeRejection(SrtRejectReasonX.NOTFOUND), 2404);
  for (const reason of Object.values(SrtRejectReason)) t.equal(handshakeRejectReason(handshakeRejection(reason)), reason);
  for (const reason of Object.values(SrtRejectReasonX)) t.equal(handshakeRejectReason(handshakeRejection(reason)), reason);
  t.equal(handshakeRejectReason(3005), 2005, 'user-defined 2005');
  t.equal(handshakeRejectReason(1500), SrtRejectReason.UNKNOWN, 'unlisted internal code reads as UNKNOWN, as in libsrt');
  for (const ty of Object.values(HandshakeType)) t.equal(handshakeRejectReason(ty), -1, `type ${ty} is not a rejection`);
  t.equal(handshakeRejectReason(999), -1);
  t.throws(() => handshakeRejection(-1), RangeError);
});

t.test('peer IP helpers', async (t) => {
  t.same(Array.from(peerIpFromIPv4('192.168.1.20')), [192, 168, 1, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  t.equal(formatPeerIp(peerIpFromIPv4('10.0.0.1')), '10.0.0.1');
  t.equal(formatPeerIp(parsed('CONCLUSION answer with every other extension').peerIp), '2001:db8::1');
  t.equal(formatPeerIp(hex('fe80 0000 0000 0000 0000 0000 0000 0001')), 'fe80::1');
  t.equal(formatPeerIp(hex('0001 0000 0002 0000 0000 0003 0000 0004')), '1:0:2::3:0:4', 'longest zero run wins');
  t.equal(formatPeerIp(hex('0001 0000 0002 0003 0004 0005 0006 0007')), '1:0:2:3:4:5:6:7', 'a single zero group is not compressed');
  for (const bad of ['1.2.3', '256.0.0.1', '01.2.3.4', 'a.b.c.d', '1.2.3.4.5']) t.throws(() => peerIpFromIPv4(bad), RangeError, bad);
});
