/**
 * PES packet header, ISO/IEC 13818-1 §2.4.3.6 / §2.4.3.7 (Table 2-21):
 *
 *   byte 0..2   packet_start_code_prefix 0x000001
 *   byte 3      stream_id
 *   byte 4..5   PES_packet_length (0 = unbounded, allowed for video in TS)
 *   -- only for stream_ids that carry the optional header (see below) --
 *   byte 6      '10' PES_scrambling_control(2) PES_priority(1)
 *               data_alignment_indicator(1) copyright(1) original_or_copy(1)
 *   byte 7      PTS_DTS_flags(2) ESCR_flag ES_rate_flag DSM_trick_mode_flag
 *               additional_copy_info_flag PES_CRC_flag PES_extension_flag
 *   byte 8      PES_header_data_length
 *   byte 9..13  PTS when PTS_DTS_flags is '10' or '11'
 *   byte 14..18 DTS when PTS_DTS_flags is '11'
 *
 * Timestamps are 33-bit 90 kHz values, assembled with multiplication
 * (STYLE.md §1: `<<` would wrap at 2^31).
 */

/** Negative results of {@link pesParseHeader}: never thrown, the caller counts them. */
export const PesError = {
  /** Fewer bytes than the header needs: wait for more (header spans TS packets). */
  TRUNCATED: -1,
  /** No 0x000001 packet_start_code_prefix. */
  NO_START_CODE: -2,
  /** Optional header without the '10' marker bits, or PES_header_data_length too short for the flags. */
  MALFORMED: -3,
} as const;
export type PesError = (typeof PesError)[keyof typeof PesError];

/** Fixed-shape result of {@link pesParseHeader}; reuse one instance. */
export interface PesHeader {
  streamId: number;
  pesPacketLength: number;
  /** PTS in 90 kHz ticks, or -1 when absent. */
  pts90k: number;
  /** DTS in 90 kHz ticks; equals pts90k when only a PTS is present; -1 when absent. */
  dts90k: number;
  /** Bytes from the start code to the first payload byte. */
  headerLength: number;
  dataAlignmentIndicator: boolean;
}

export function newPesHeader(): PesHeader {
  return { streamId: 0, pesPacketLength: 0, pts90k: -1, dts90k: -1, headerLength: 0, dataAlignmentIndicator: false };
}

/**
 * stream_ids without the optional PES header (§2.4.3.7: program_stream_map,
 * padding_stream, private_stream_2, ECM, EMM, DSMCC, H.222.1 type E,
 * program_stream_directory).
 */
export function pesHasOptionalHeader(streamId: number): boolean {
  return (
    streamId !== 0xbc &&
    streamId !== 0xbe &&
    streamId !== 0xbf &&
    streamId !== 0xf0 &&
    streamId !== 0xf1 &&
    streamId !== 0xf2 &&
    streamId !== 0xf8 &&
    streamId !== 0xff
  );
}

/**
 * Read a 5-byte PTS/DTS field at `off` (§2.4.3.7):
 *   '001x' TS[32..30] marker | TS[29..15] marker | TS[14..0] marker
 * Bounds are the caller's job.
 */
export function pesReadTimestamp90k(buf: Uint8Array, off: number): number {
  return (
    ((buf[off] >> 1) & 0x07) * 1073741824 + // 2^30
    buf[off + 1] * 4194304 + // 2^22
    (buf[off + 2] >> 1) * 32768 + // 2^15
    buf[off + 3] * 128 + // 2^7
    (buf[off + 4] >> 1)
  );
}

/**
 * Write a 5-byte PTS/DTS field with the 4-bit `prefix` ('0010' PTS only,
 * '0011' PTS of a pair, '0001' DTS) and the marker bits.
 */
export function pesWriteTimestamp90k(buf: Uint8Array, off: number, prefix: number, ts90k: number): void {
  const ts = ts90k % 8589934592;
  const hi = Math.floor(ts / 1073741824); // bits 32..30
  const mid = Math.floor(ts / 32768) % 32768; // bits 29..15
  const lo = ts % 32768; // bits 14..0
  buf[off] = (prefix << 4) | (hi << 1) | 1;
  buf[off + 1] = mid >> 7;
  buf[off + 2] = ((mid & 0x7f) << 1) | 1;
  buf[off + 3] = lo >> 7;
  buf[off + 4] = ((lo & 0x7f) << 1) | 1;
}

/**
 * Parse the PES header at `buf[off .. end)` into `out`. Returns the header
 * length (> 0) or a {@link PesError} code; reads nothing at or beyond `end`.
 * Only the bytes up to the DTS must be present: the payload starts at
 * off + headerLength, which may lie beyond `end` (header stuffing).
 */
export function pesParseHeader(buf: Uint8Array, off: number, end: number, out: PesHeader): number {
  if (end - off < 6) return PesError.TRUNCATED;
  if (buf[off] !== 0 || buf[off + 1] !== 0 || buf[off + 2] !== 1) return PesError.NO_START_CODE;
  const streamId = buf[off + 3];
  out.streamId = streamId;
  out.pesPacketLength = (buf[off + 4] << 8) | buf[off + 5];
  out.pts90k = -1;
  out.dts90k = -1;
  out.dataAlignmentIndicator = false;
  if (!pesHasOptionalHeader(streamId)) {
    out.headerLength = 6;
    return 6;
  }
  if (end - off < 9) return PesError.TRUNCATED;
  const flags1 = buf[off + 6];
  if ((flags1 & 0xc0) !== 0x80) return PesError.MALFORMED;
  const ptsDtsFlags = buf[off + 7] >> 6;
  const headerDataLength = buf[off + 8];
  const headerLength = 9 + headerDataLength;
  // '01' is forbidden; PTS needs 5 bytes, PTS+DTS 10 (§2.4.3.7).
  if (ptsDtsFlags === 1) return PesError.MALFORMED;
  const need = ptsDtsFlags === 3 ? 10 : ptsDtsFlags === 2 ? 5 : 0;
  if (headerDataLength < need) return PesError.MALFORMED;
  if (end - off < 9 + need) return PesError.TRUNCATED;
  out.dataAlignmentIndicator = (flags1 & 0x04) !== 0;
  if (ptsDtsFlags >= 2) {
    out.pts90k = pesReadTimestamp90k(buf, off + 9);
    out.dts90k = ptsDtsFlags === 3 ? pesReadTimestamp90k(buf, off + 14) : out.pts90k;
  }
  out.headerLength = headerLength;
  return headerLength;
}
