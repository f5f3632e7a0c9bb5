import t from 'tap';
import { PesError, newPesHeader, pesParseHeader, pesReadTimestamp90k, pesWriteTimestamp90k } from '../../../../core/mpegts/pes.js';

/** A video PES header with PTS and DTS (ISO/IEC 13818-1 §2.4.3.7). */
function pesWithPtsDts(pts90k: number, dts90k: number): Buffer {
  const b = Buffer.alloc(19 + 4);
  // 00 00 01 e0  # packet_start_code_prefix | stream_id 0xE0 (video 0)
  // 00 00        # PES_packet_length 0 (unbounded, video in TS)
  // 84           # '10' | scrambling 00 | priority 0 | data_alignment 1 | copyright 0 | original 0
  // c0           # PTS_DTS_flags '11' | other flags 0
  // 0a           # PES_header_data_length 10
  b.set([0x00, 0x00, 0x01, 0xe0, 0x00, 0x00, 0x84, 0xc0, 0x0a], 0);
  pesWriteTimestamp90k(b, 9, 0x3, pts90k); // '0011' PTS
  pesWriteTimestamp90k(b, 14, 0x1, dts90k); // '0001' DTS
  b.set([0x00, 0x00, 0x00, 0x01], 19); // payload: a start code
  return b;
}

t.test('reads PTS and DTS above 2^32 exactly (33-bit, no `<<`)', async (t) => {
  const h = newPesHeader();
  for (const [pts, dts] of [
    [2 ** 33 - 1, 2 ** 32 + 5],
    [2 ** 32, 2 ** 32 - 1],
    [0, 0],
    [2 ** 31, 2 ** 30 + 12345],
  ]) {
    const b = pesWithPtsDts(pts, dts);
    t.equal(pesParseHeader(b, 0, b.length, h), 19);
    t.equal(h.pts90k, pts, `pts ${pts}`);
    t.equal(h.dts90k, dts, `dts ${dts}`);
    t.equal(h.streamId, 0xe0);
    t.equal(h.dataAlignmentIndicator, true);
    t.equal(pesReadTimestamp90k(b, 9), pts);
  }
});

t.test('PTS-only header gives dts = pts', async (t) => {
  const b = Buffer.from([0x00, 0x00, 0x01, 0xc0, 0x01, 0x00, 0x80, 0x80, 0x05, 0, 0, 0, 0, 0]);
  pesWriteTimestamp90k(b, 9, 0x2, 8589934591);
  const h = newPesHeader();
  t.equal(pesParseHeader(b, 0, b.length, h), 14);
  t.equal(h.pts90k, 8589934591);
  t.equal(h.dts90k, 8589934591);
});

t.test('returns negative codes, never throws, for truncated and malformed headers', async (t) => {
  const h = newPesHeader();
  const b = pesWithPtsDts(1234, 1000);
  for (let end = 0; end < 19; end++) t.equal(pesParseHeader(b, 0, end, h), PesError.TRUNCATED, `end ${end}`);
  const noPrefix = Buffer.from(b);
  noPrefix[2] = 2;
  t.equal(pesParseHeader(noPrefix, 0, noPrefix.length, h), PesError.NO_START_CODE);
  const badMarker = Buffer.from(b);
  badMarker[6] = 0x44;
  t.equal(pesParseHeader(badMarker, 0, badMarker.length, h), PesError.MALFORMED);
  const shortData = Buffer.from(b);
  shortData[8] = 4; // PES_header_data_length too short for PTS+DTS
  t.equal(pesParseHeader(shortData, 0, shortData.length, h), PesError.MALFORMED);
  const forbidden = Buffer.from(b);
  forbidden[7] = 0x40; // PTS_DTS_flags '01' is forbidden
  t.equal(pesParseHeader(forbidden, 0, forbidden.length, h), PesError.MALFORMED);
});

t.test('stream_ids without the optional header (padding) have a 6-byte header', async (t) => {
  const h = newPesHeader();
  const b = Buffer.from([0x00, 0x00, 0x01, 0xbe, 0x00, 0x04, 0xff, 0xff, 0xff, 0xff]);
  t.equal(pesParseHeader(b, 0, b.length, h), 6);
  t.equal(h.pts90k, -1);
  t.equal(h.pesPacketLength, 4);
});
