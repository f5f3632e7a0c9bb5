/**
 * MPEG-TS packet accessors. A TS packet *is* 188 bytes in some buffer at some
 * offset; fields are read on demand, never copied into an object per packet
 * (STYLE.md §1, after TSDuck's tsTSPacket.h and hls.js's parsePID).
 *
 * ISO/IEC 13818-1 §2.4.3.2, transport packet header:
 *
 *   byte 0     sync_byte (0x47)
 *   byte 1     transport_error_indicator(1) payload_unit_start_indicator(1)
 *              transport_priority(1) PID[12:8](5)
 *   byte 2     PID[7:0]
 *   byte 3     transport_scrambling_control(2) adaptation_field_control(2)
 *              continuity_counter(4)
 *
 * §2.4.3.4, adaptation field (when adaptation_field_control & 2):
 *   byte 4     adaptation_field_length
 *   byte 5     discontinuity_indicator(1) random_access_indicator(1)
 *              elementary_stream_priority_indicator(1) PCR_flag(1) OPCR_flag(1)
 *              splicing_point_flag(1) transport_private_data_flag(1)
 *              adaptation_field_extension_flag(1)
 *   byte 6..11 program_clock_reference_base(33) reserved(6) extension(9)
 *
 * Every accessor assumes `off` is the start of a whole packet inside `buf`
 * (callers get that from the resync stage) and never reads past off + 188.
 */

export const TS_PACKET_SIZE = 188;
export const TS_SYNC_BYTE = 0x47;
export const TS_HEADER_SIZE = 4;

/** PIDs with a fixed meaning, ISO/IEC 13818-1 Table 2-3. */
export const TsPid = {
  PAT: 0x0000,
  CAT: 0x0001,
  TSDT: 0x0002,
  /** SDT/BAT, ETSI EN 300 468 Table 1. */
  SDT: 0x0011,
  NULL: 0x1fff,
} as const;

/** 2^33: the wrap of the 90 kHz PTS/DTS/PCR base. */
export const PTS_WRAP = 8589934592;
/** PCR in 27 MHz ticks wraps at 2^33 * 300. Fits a double exactly. */
export const PCR_WRAP_27M = PTS_WRAP * 300;

export function tsSyncOk(buf: Uint8Array, off: number): boolean {
  return buf[off] === TS_SYNC_BYTE;
}

export function tsTransportErrorIndicator(buf: Uint8Array, off: number): boolean {
  return (buf[off + 1] & 0x80) !== 0;
}

export function tsPayloadUnitStartIndicator(buf: Uint8Array, off: number): boolean {
  return (buf[off + 1] & 0x40) !== 0;
}

export function tsPid(buf: Uint8Array, off: number): number {
  return ((buf[off + 1] & 0x1f) << 8) | buf[off + 2];
}

export function tsScramblingControl(buf: Uint8Array, off: number): number {
  return (buf[off + 3] >> 6) & 0x03;
}

/** adaptation_field_control: 1 payload only, 2 adaptation only, 3 both, 0 reserved. */
export function tsAdaptationFieldControl(buf: Uint8Array, off: number): number {
  return (buf[off + 3] >> 4) & 0x03;
}

export function tsHasPayload(buf: Uint8Array, off: number): boolean {
  return (buf[off + 3] & 0x10) !== 0;
}

export function tsHasAdaptationField(buf: Uint8Array, off: number): boolean {
  return (buf[off + 3] & 0x20) !== 0;
}

export function tsCc(buf: Uint8Array, off: number): number {
  return buf[off + 3] & 0x0f;
}

/** Rewrite the continuity counter in place (used when restamping or splicing). */
export function tsSetCc(buf: Uint8Array, off: number, cc: number): void {
  buf[off + 3] = (buf[off + 3] & 0xf0) | (cc & 0x0f);
}

/** adaptation_field_length, or -1 when the packet has no adaptation field. */
export function tsAdaptationFieldLength(buf: Uint8Array, off: number): number {
  return (buf[off + 3] & 0x20) !== 0 ? buf[off + 4] : -1;
}

/** The adaptation-field flags byte, or 0 when there is none or it is empty. */
function adaptationFlags(buf: Uint8Array, off: number): number {
  if ((buf[off + 3] & 0x20) === 0 || buf[off + 4] === 0) return 0;
  return buf[off + 5];
}

export function tsDiscontinuityIndicator(buf: Uint8Array, off: number): boolean {
  return (adaptationFlags(buf, off) & 0x80) !== 0;
}

export function tsRandomAccessIndicator(buf: Uint8Array, off: number): boolean {
  return (adaptationFlags(buf, off) & 0x40) !== 0;
}

export function tsHasPcr(buf: Uint8Array, off: number): boolean {
  // PCR needs 7 bytes of adaptation field (flags + 6): §2.4.3.4.
  return (adaptationFlags(buf, off) & 0x10) !== 0 && buf[off + 4] >= 7;
}

/**
 * program_clock_reference in 27 MHz ticks (base * 300 + extension), or -1 when
 * the packet carries none. 33-bit arithmetic with multiplication, never `<<`
 * (STYLE.md §1).
 */
export function tsPcr27M(buf: Uint8Array, off: number): number {
  if (!tsHasPcr(buf, off)) return -1;
  const base =
    buf[off + 6] * 33554432 + // 2^25
    buf[off + 7] * 131072 + // 2^17
    buf[off + 8] * 512 + // 2^9
    buf[off + 9] * 2 +
    (buf[off + 10] >> 7);
  const ext = ((buf[off + 10] & 0x01) << 8) | buf[off + 11];
  return base * 300 + ext;
}

/**
 * Offset of the first payload byte, or off + 188 when the packet has no
 * payload or a malformed adaptation_field_length (> 183 with payload, > 183
 * overall): the caller then sees an empty payload rather than reading junk.
 */
export function tsPayloadOffset(buf: Uint8Array, off: number): number {
  const afc = (buf[off + 3] >> 4) & 0x03;
  if ((afc & 0x01) === 0) return off + TS_PACKET_SIZE;
  if (afc === 1) return off + TS_HEADER_SIZE;
  const p = off + 5 + buf[off + 4];
  return p > off + TS_PACKET_SIZE ? off + TS_PACKET_SIZE : p;
}

/** Write a PCR (27 MHz ticks) into a packet that already has the PCR field. */
export function tsWritePcr27M(buf: Uint8Array, off: number, pcr27M: number): void {
  const pcr = pcr27M % PCR_WRAP_27M;
  const base = Math.floor(pcr / 300);
  const ext = pcr - base * 300;
  buf[off + 6] = Math.floor(base / 33554432) & 0xff;
  buf[off + 7] = Math.floor(base / 131072) & 0xff;
  buf[off + 8] = Math.floor(base / 512) & 0xff;
  buf[off + 9] = Math.floor(base / 2) & 0xff;
  buf[off + 10] = ((base % 2) << 7) | 0x7e | ((ext >> 8) & 0x01);
  buf[off + 11] = ext & 0xff;
}

/** A null packet (PID 0x1FFF, payload of 0xFF), for CBR stuffing. §2.4.3.3. */
export function tsWriteNullPacket(buf: Uint8Array, off: number): void {
  buf[off] = TS_SYNC_BYTE;
  buf[off + 1] = 0x1f;
  buf[off + 2] = 0xff;
  buf[off + 3] = 0x10;
  buf.fill(0xff, off + 4, off + TS_PACKET_SIZE);
}
