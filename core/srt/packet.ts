/**
 * SRT packet formats, draft-sharabayko-srt-01 §3 (Packet Structure): the
 * 16-octet header common to data and control packets, the control bodies a
 * receiver sends and reads (ACK, ACKACK, NAK, DROPREQ, KEEPALIVE, SHUTDOWN),
 * and 31-bit sequence / 26-bit message number arithmetic. The handshake body
 * lives in `handshake.ts`.
 *
 * A pure codec (DESIGN.md: `core/` has no I/O). Bytes stay bytes (STYLE.md
 * §1): accessors read fields at named offsets; {@link parseSrtHeader} and the
 * body parsers fill a caller-owned object reused for every datagram. Parsers
 * never throw: a bad datagram is a negative code from {@link SrtParseError}
 * (STYLE.md §3). Writers store into the caller's buffer and throw RangeError
 * for values the wire cannot carry, or when the buffer is too short
 * (programmer errors).
 *
 * Every field is big-endian (network order), draft §3.
 *
 * Data packet, draft §3.1 (Figure 3):
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |0|                    Packet Sequence Number                   |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |P P|O|K K|R|                   Message Number                  |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                           Timestamp                           |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                     Destination Socket ID                     |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                              Data                             |
 *
 *  PP: 10b first packet of a message, 00b middle, 01b last, 11b the whole
 *  message. O: deliver in order. KK: 00b clear, 01b even key, 10b odd key
 *  (11b is for control packets only). R: retransmitted. The 26-bit message
 *  number assumes the peer set REXMITFLG in its handshake, which every libsrt
 *  since 1.2.0 does (libsrt docs/features/handshake.md, "Special Legacy
 *  Compatibility Flags"); before that R was the message number's top bit.
 *
 * Control packet, draft §3.2 (Figure 4):
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |1|         Control Type        |            Subtype            |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                   Type-specific Information                   |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                           Timestamp                           |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                     Destination Socket ID                     |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+- CIF -+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                   Control Information Field                   |
 *
 * ACK CIF, draft §3.2.4 (Figure 13); the type-specific information is the
 * Acknowledgement Number (0 in a light ACK). The form is told by the CIF
 * length alone: 4 octets light, 16 small, 24 or 28 full (libsrt core.h
 * `AckDataItem`: ACKD_TOTAL_SIZE_SMALL 4 words, _UDTBASE 6, _VER101 7; an
 * 8-word form existed only in SRT 1.0.2):
 *
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |0|          Last Acknowledged Packet Sequence Number           |  light ends here
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                              RTT                              |
 *    |                          RTT Variance                         |
 *    |                     Available Buffer Size                     |  small ends here
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                     Packets Receiving Rate                    |
 *    |                     Estimated Link Capacity                   |  UDT-base full ACK ends here
 *    |                         Receiving Rate                        |  full ACK
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * NAK CIF, draft §3.2.5 and Appendix A (Packet Sequence List Coding): a
 * single lost packet is one word with bit 31 clear; a range is two words,
 * the first with bit 31 set, the last with it clear:
 *
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |1|         Range of lost packets from sequence number          |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |0|                    Up to sequence number                    |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |0|                 Lost packet sequence number                 |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * DROPREQ, draft §3.2.9 (Figure 18): the type-specific information is the
 * Message Number (0 when the sender no longer knows it), the CIF the first
 * and last sequence numbers of the message, each with bit 31 clear.
 *
 * KEEPALIVE (§3.2.3), SHUTDOWN (§3.2.7), ACKACK (§3.2.8, type-specific =
 * the ACK number it acknowledges), CONGESTION_WARNING (§3.2.6) and PEERERROR
 * (§3.2.10, type-specific = error code) have no CIF; libsrt nevertheless
 * sends 4 zero octets after the header (srtcore/packet.cpp `CPacket::pack`:
 * "control info field should be none but writev does not allow this"), and
 * the writers here do the same so that our packets look like libsrt's.
 */

/** Size of the common header, data and control alike (draft §3, Figure 2). */
export const SRT_HEADER_SIZE = 16;
/** Zero octets libsrt puts after body-less control packets (see the module doc). */
export const SRT_CONTROL_PADDING_SIZE = 4;

/** Byte offsets in the header (draft §3.1, §3.2). */
export const SrtOffset = {
  /** Data: F(1)=0 + packet sequence number(31). Control: F(1)=1 + control type(15) + subtype(16). */
  WORD0: 0,
  /** Control: subtype, 16 bits. */
  SUBTYPE: 2,
  /** Data: PP(2) O(1) KK(2) R(1) + message number(26). Control: type-specific information(32). */
  WORD1: 4,
  /** Microseconds since the connection was established (draft §3). */
  TIMESTAMP: 8,
  DESTINATION_SOCKET_ID: 12,
  /** Data payload, or the control information field. */
  CIF: 16,
} as const;

/** Byte offsets in an ACK CIF, relative to the CIF (draft §3.2.4). */
export const SrtAckOffset = {
  LAST_ACKNOWLEDGED_SEQUENCE_NUMBER: 0,
  RTT: 4,
  RTT_VARIANCE: 8,
  AVAILABLE_BUFFER_SIZE: 12,
  PACKETS_RECEIVING_RATE: 16,
  ESTIMATED_LINK_CAPACITY: 20,
  RECEIVING_RATE: 24,
} as const;

/** CIF sizes of the three ACK forms (draft §3.2.4; libsrt core.h `AckDataItem`). */
export const SRT_ACK_LIGHT_SIZE = 4;
export const SRT_ACK_SMALL_SIZE = 16;
/** UDT's full ACK, without Receiving Rate: still accepted from old peers. */
export const SRT_ACK_UDT_FULL_SIZE = 24;
export const SRT_ACK_FULL_SIZE = 28;
/** DROPREQ CIF: first and last sequence number (draft §3.2.9). */
export const SRT_DROPREQ_CIF_SIZE = 8;

/**
 * Loss-list words that fit one NAK in a 1500-octet MTU: (1500 − 20 IPv4 − 8
 * UDP − 16 SRT) / 4. A NAK from libsrt never holds more, so a decoder bound
 * of this many ranges loses nothing on a standard path.
 */
export const SRT_MAX_LOSS_WORDS = 364;

/** Packet sequence numbers are 31 bits (draft §3.1) and wrap to 0. */
export const SRT_SEQ_MODULUS = 0x80000000;
export const SRT_SEQ_MAX = 0x7fffffff;
/** Message numbers are 26 bits (draft §3.1). */
export const SRT_MSGNO_MODULUS = 0x4000000;
export const SRT_MSGNO_MAX = 0x3ffffff;
/** The Control Type field is 15 bits (draft §3.2). */
export const SRT_CONTROL_TYPE_MAX = 0x7fff;

/** Control Type values, draft §3.2 Table 1 (libsrt packet.h `UDTMessageType`). */
export const ControlType = {
  HANDSHAKE: 0x0000,
  KEEPALIVE: 0x0001,
  ACK: 0x0002,
  /** Loss report. */
  NAK: 0x0003,
  /** Reserved for future use (draft §3.2.6). */
  CONGESTION_WARNING: 0x0004,
  SHUTDOWN: 0x0005,
  ACKACK: 0x0006,
  /** Message drop request. */
  DROPREQ: 0x0007,
  PEERERROR: 0x0008,
  /** The subtype says what it is: e.g. SRT_CMD_KMREQ 3 / KMRSP 4 for a key refresh (draft §3.2.2). */
  USER_DEFINED: 0x7fff,
} as const;
export type ControlType = (typeof ControlType)[keyof typeof ControlType];

/** The PP field of a data packet, draft §3.1. */
export const PacketPosition = {
  MIDDLE: 0b00,
  LAST: 0b01,
  FIRST: 0b10,
  /** The packet is the whole message (what live mode always sends). */
  SOLO: 0b11,
} as const;
export type PacketPosition = (typeof PacketPosition)[keyof typeof PacketPosition];

/** The KK field, draft §3.1 and §6. */
export const EncryptionKeyFlags = {
  NONE: 0b00,
  EVEN: 0b01,
  ODD: 0b10,
  /** Both keys: key-material messages only, never a data packet. */
  BOTH: 0b11,
} as const;
export type EncryptionKeyFlags = (typeof EncryptionKeyFlags)[keyof typeof EncryptionKeyFlags];

/** The ACK forms of draft §3.2.4, told apart by CIF length. */
export const SrtAckKind = {
  /** Last acknowledged sequence number only; sent every 64 packets at high rates. */
  LIGHT: 'light',
  /** Up to and including Available Buffer Size. */
  SMALL: 'small',
  /** Every field; sent every 10 ms and answered by an ACKACK. */
  FULL: 'full',
} as const;
export type SrtAckKind = (typeof SrtAckKind)[keyof typeof SrtAckKind];

/**
 * Negative results of the SRT parsers (this file and `handshake.ts`); 0 means
 * valid. One table of stable codes (STYLE.md §3).
 */
export const SrtParseError = {
  OK: 0,
  /** Shorter than the 16-octet header, or than the fixed part its type needs. */
  TRUNCATED: -1,
  /** A control-body parser was handed a data packet (F = 0). */
  NOT_CONTROL: -2,
  /** A control-body parser was handed another control type. */
  WRONG_CONTROL_TYPE: -3,
  /** A data packet with KK = 11b, which draft §3.1 reserves for control packets. */
  BAD_KEY_FLAGS: -4,
  /** A 31-bit sequence number field (ACK, DROPREQ, handshake ISN) with bit 31 set. */
  BAD_SEQUENCE_NUMBER: -5,
  /** A loss-list range start that is the last word, or followed by another range start, or a range whose end precedes its start. */
  BAD_LOSS_LIST: -6,
  /** A handshake extension block header or its contents run past the packet. */
  BAD_EXTENSION: -7,
  /** A known handshake extension whose length its type cannot have (e.g. HSREQ under 3 words, Stream ID over 512 octets). */
  BAD_EXTENSION_LENGTH: -8,
} as const;
export type SrtParseErrorCode = (typeof SrtParseError)[keyof typeof SrtParseError];

// ---------------------------------------------------------------- helpers

/** Unsigned 32-bit big-endian read; the caller has checked the bounds. */
export function srtU32(buf: Uint8Array, off: number): number {
  return buf[off] * 16777216 + ((buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]);
}

/** Big-endian 32-bit store of `v` (taken modulo 2^32). */
export function srtPutU32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v >>> 24;
  buf[off + 1] = (v >>> 16) & 0xff;
  buf[off + 2] = (v >>> 8) & 0xff;
  buf[off + 3] = v & 0xff;
}

/** Usable length of `buf[0, len)`: the smaller of `len` and `buf.length`; NaN or negative is 0. */
export function srtClampLength(buf: Uint8Array, len: number): number {
  let n = len > buf.length ? buf.length : len;
  if (!(n >= 0)) n = 0;
  return Math.floor(n);
}

/** @throws RangeError unless `v` is an integer in [0, max]. */
export function srtCheckUint(what: string, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new RangeError(`${what}: ${String(v)} is not an integer in [0, ${max}]`);
  }
  return v;
}

/** @throws RangeError unless `size` octets fit at `off`. */
export function srtCheckRoom(what: string, buf: Uint8Array, off: number, size: number): void {
  if (!Number.isInteger(off) || off < 0 || off + size > buf.length) {
    throw new RangeError(`${what}: ${size} octets do not fit at offset ${off} of a ${buf.length}-octet buffer`);
  }
}

/**
 * Timestamps are 32-bit microsecond counters that wrap about every 71.6
 * minutes; the writers take any non-negative safe integer modulo 2^32, so a
 * caller may pass elapsed microseconds unwrapped.
 */
function timestampField(what: string, v: unknown): number {
  return srtCheckUint(what, v, Number.MAX_SAFE_INTEGER) % 4294967296;
}

// ---------------------------------------------------------------- sequence arithmetic

/** The sequence number after `seq`, wrapping 2^31 − 1 → 0. */
export function seqNext31(seq: number): number {
  return seq === SRT_SEQ_MAX ? 0 : seq + 1;
}

/** `seq + n` modulo 2^31, for any integer `n` (negative steps back). */
export function seqAdd31(seq: number, n: number): number {
  const r = (seq + n) % SRT_SEQ_MODULUS;
  return r < 0 ? r + SRT_SEQ_MODULUS : r;
}

/**
 * Signed distance `a − b` across the 2^31 wrap, in [−2^30, 2^30): positive
 * when `a` is after `b`. Like libsrt `CSeqNo::seqoff(b, a)`, it assumes the
 * two are less than 2^30 apart (half the number space).
 */
export function seqDiff31(a: number, b: number): number {
  let d = a - b;
  if (d < 0) d += SRT_SEQ_MODULUS;
  return d >= 0x40000000 ? d - SRT_SEQ_MODULUS : d;
}

/** True when `a` comes before `b` (see {@link seqDiff31}). */
export function seqLt31(a: number, b: number): boolean {
  return seqDiff31(a, b) < 0;
}

/**
 * The message number after `msgno`. Message numbers wrap at 2^26 and skip 0,
 * which DROPREQ uses for "unknown message" (draft §3.2.9); libsrt's sender
 * starts at 1 and also wraps back to 1 (srtcore/buffer_snd.cpp).
 */
export function msgNext26(msgno: number): number {
  return msgno >= SRT_MSGNO_MAX ? 1 : msgno + 1;
}

/** Signed distance `a − b` between message numbers across the 2^26 wrap, in [−2^25, 2^25). */
export function msgDiff26(a: number, b: number): number {
  let d = a - b;
  if (d < 0) d += SRT_MSGNO_MODULUS;
  return d >= 0x2000000 ? d - SRT_MSGNO_MODULUS : d;
}

// ---------------------------------------------------------------- accessors

/*
 * Field accessors on a packet at `buf[off]`. The caller guarantees
 * `off + 16 <= buf.length` (e.g. after parseSrtHeader returned 0). The data
 * accessors are meaningful only when srtIsControl is false, the control ones
 * only when it is true.
 */

/** F bit: true for a control packet (draft §3). */
export function srtIsControl(buf: Uint8Array, off: number): boolean {
  return (buf[off] & 0x80) !== 0;
}

/** Data: packet sequence number, 31 bits. */
export function srtSequenceNumber(buf: Uint8Array, off: number): number {
  return srtU32(buf, off) & SRT_SEQ_MAX;
}

/** Data: PP. */
export function srtPacketPosition(buf: Uint8Array, off: number): PacketPosition {
  return (buf[off + SrtOffset.WORD1] >> 6) as PacketPosition;
}

/** Data: O. */
export function srtInOrder(buf: Uint8Array, off: number): boolean {
  return (buf[off + SrtOffset.WORD1] & 0x20) !== 0;
}

/** Data: KK. */
export function srtKeyFlags(buf: Uint8Array, off: number): EncryptionKeyFlags {
  return ((buf[off + SrtOffset.WORD1] >> 3) & 0b11) as EncryptionKeyFlags;
}

/** Data: R. */
export function srtRetransmitted(buf: Uint8Array, off: number): boolean {
  return (buf[off + SrtOffset.WORD1] & 0x04) !== 0;
}

/** Data: message number, 26 bits. */
export function srtMessageNumber(buf: Uint8Array, off: number): number {
  const p = off + SrtOffset.WORD1;
  return (buf[p] & 0x03) * 16777216 + ((buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]);
}

/** Control: control type, 15 bits. */
export function srtControlType(buf: Uint8Array, off: number): number {
  return ((buf[off] & 0x7f) << 8) | buf[off + 1];
}

/** Control: subtype, 16 bits. */
export function srtControlSubtype(buf: Uint8Array, off: number): number {
  return (buf[off + SrtOffset.SUBTYPE] << 8) | buf[off + SrtOffset.SUBTYPE + 1];
}

/** Control: type-specific information (ACK / ACKACK number, DROPREQ message number, PEERERROR code). */
export function srtTypeSpecific(buf: Uint8Array, off: number): number {
  return srtU32(buf, off + SrtOffset.WORD1);
}

/** Timestamp, microseconds (32 bits, wraps). */
export function srtTimestamp(buf: Uint8Array, off: number): number {
  return srtU32(buf, off + SrtOffset.TIMESTAMP);
}

/** Destination socket ID (0 on a connection request). */
export function srtDestSocketId(buf: Uint8Array, off: number): number {
  return srtU32(buf, off + SrtOffset.DESTINATION_SOCKET_ID);
}

// ---------------------------------------------------------------- header

/** Caller-owned parse result for {@link parseSrtHeader}, reused for every datagram. */
export interface SrtHeader {
  isControl: boolean;
  /** Data only (0 for control). */
  sequenceNumber: number;
  position: PacketPosition;
  inOrder: boolean;
  keyFlags: EncryptionKeyFlags;
  retransmitted: boolean;
  messageNumber: number;
  /** Control only (0 for data). */
  controlType: number;
  subtype: number;
  typeSpecific: number;
  timestampUs: number;
  destSocketId: number;
  /** Offset of the data payload or CIF: always {@link SRT_HEADER_SIZE}. */
  payloadOffset: number;
  /** Octets after the header. */
  payloadLength: number;
}

/** Fields {@link writeDataHeader} takes (an {@link SrtHeader} will do). */
export type SrtDataHeaderFields = Pick<
  SrtHeader,
  'sequenceNumber' | 'position' | 'inOrder' | 'keyFlags' | 'retransmitted' | 'messageNumber' | 'timestampUs' | 'destSocketId'
>;

/** Fields {@link writeControlHeader} takes (an {@link SrtHeader} will do). */
export type SrtControlHeaderFields = Pick<SrtHeader, 'controlType' | 'subtype' | 'typeSpecific' | 'timestampUs' | 'destSocketId'>;

/** Addressing common to every control packet. */
export interface SrtControlAddress {
  timestampUs: number;
  destSocketId: number;
}

/** A zeroed {@link SrtHeader} to reuse across {@link parseSrtHeader} calls. */
export function createSrtHeader(): SrtHeader {
  return {
    isControl: false,
    sequenceNumber: 0,
    position: PacketPosition.MIDDLE,
    inOrder: false,
    keyFlags: EncryptionKeyFlags.NONE,
    retransmitted: false,
    messageNumber: 0,
    controlType: 0,
    subtype: 0,
    typeSpecific: 0,
    timestampUs: 0,
    destSocketId: 0,
    payloadOffset: 0,
    payloadLength: 0,
  };
}

/**
 * Parse the header of the datagram in `buf[0, len)` into `out`. Bounds come
 * from `len` and `buf.length` (the smaller wins); never throws. Fields of the
 * other packet kind are set to 0. On error `out` must not be used.
 * @returns 0, or a negative {@link SrtParseError} code.
 */
export function parseSrtHeader(buf: Uint8Array, len: number, out: SrtHeader): SrtParseErrorCode {
  const n = srtClampLength(buf, len);
  if (n < SRT_HEADER_SIZE) return SrtParseError.TRUNCATED;
  const control = srtIsControl(buf, 0);
  out.isControl = control;
  out.timestampUs = srtTimestamp(buf, 0);
  out.destSocketId = srtDestSocketId(buf, 0);
  out.payloadOffset = SRT_HEADER_SIZE;
  out.payloadLength = n - SRT_HEADER_SIZE;
  if (control) {
    out.controlType = srtControlType(buf, 0);
    out.subtype = srtControlSubtype(buf, 0);
    out.typeSpecific = srtTypeSpecific(buf, 0);
    out.sequenceNumber = 0;
    out.position = PacketPosition.MIDDLE;
    out.inOrder = false;
    out.keyFlags = EncryptionKeyFlags.NONE;
    out.retransmitted = false;
    out.messageNumber = 0;
    return SrtParseError.OK;
  }
  out.sequenceNumber = srtSequenceNumber(buf, 0);
  out.position = srtPacketPosition(buf, 0);
  out.inOrder = srtInOrder(buf, 0);
  out.keyFlags = srtKeyFlags(buf, 0);
  out.retransmitted = srtRetransmitted(buf, 0);
  out.messageNumber = srtMessageNumber(buf, 0);
  out.controlType = 0;
  out.subtype = 0;
  out.typeSpecific = 0;
  if (out.keyFlags === EncryptionKeyFlags.BOTH) return SrtParseError.BAD_KEY_FLAGS;
  return SrtParseError.OK;
}

/**
 * Write a data packet header at `off`; the payload follows at `off + 16`.
 * @returns octets written ({@link SRT_HEADER_SIZE}).
 * @throws RangeError for a field the wire cannot carry, KK = 11b, or too small a buffer.
 */
export function writeDataHeader(buf: Uint8Array, off: number, h: SrtDataHeaderFields): number {
  const w = 'SRT data header';
  srtCheckRoom(w, buf, off, SRT_HEADER_SIZE);
  const seq = srtCheckUint(`${w}.sequenceNumber`, h.sequenceNumber, SRT_SEQ_MAX);
  const pp = srtCheckUint(`${w}.position`, h.position, 0b11);
  const kk = srtCheckUint(`${w}.keyFlags`, h.keyFlags, 0b10); // 11b is not for data (draft §3.1)
  const msgno = srtCheckUint(`${w}.messageNumber`, h.messageNumber, SRT_MSGNO_MAX);
  const ts = timestampField(`${w}.timestampUs`, h.timestampUs);
  const dst = srtCheckUint(`${w}.destSocketId`, h.destSocketId, 0xffffffff);
  srtPutU32(buf, off + SrtOffset.WORD0, seq); // bit 31 (F) = 0
  const p = off + SrtOffset.WORD1;
  buf[p] = (pp << 6) | (h.inOrder ? 0x20 : 0) | (kk << 3) | (h.retransmitted ? 0x04 : 0) | Math.floor(msgno / 16777216);
  buf[p + 1] = (msgno >>> 16) & 0xff;
  buf[p + 2] = (msgno >>> 8) & 0xff;
  buf[p + 3] = msgno & 0xff;
  srtPutU32(buf, off + SrtOffset.TIMESTAMP, ts);
  srtPutU32(buf, off + SrtOffset.DESTINATION_SOCKET_ID, dst);
  return SRT_HEADER_SIZE;
}

/**
 * Write a control packet header at `off`; the CIF follows at `off + 16`.
 * @returns octets written ({@link SRT_HEADER_SIZE}).
 * @throws RangeError for a field the wire cannot carry or too small a buffer.
 */
export function writeControlHeader(buf: Uint8Array, off: number, h: SrtControlHeaderFields): number {
  const w = 'SRT control header';
  srtCheckRoom(w, buf, off, SRT_HEADER_SIZE);
  const type = srtCheckUint(`${w}.controlType`, h.controlType, SRT_CONTROL_TYPE_MAX);
  const subtype = srtCheckUint(`${w}.subtype`, h.subtype, 0xffff);
  const info = srtCheckUint(`${w}.typeSpecific`, h.typeSpecific, 0xffffffff);
  const ts = timestampField(`${w}.timestampUs`, h.timestampUs);
  const dst = srtCheckUint(`${w}.destSocketId`, h.destSocketId, 0xffffffff);
  buf[off] = 0x80 | (type >>> 8);
  buf[off + 1] = type & 0xff;
  buf[off + SrtOffset.SUBTYPE] = subtype >>> 8;
  buf[off + SrtOffset.SUBTYPE + 1] = subtype & 0xff;
  srtPutU32(buf, off + SrtOffset.WORD1, info);
  srtPutU32(buf, off + SrtOffset.TIMESTAMP, ts);
  srtPutU32(buf, off + SrtOffset.DESTINATION_SOCKET_ID, dst);
  return SRT_HEADER_SIZE;
}

/** Header + libsrt's 4 zero octets for a control packet without a CIF. */
function writeBodilessControl(what: string, buf: Uint8Array, off: number, type: number, typeSpecific: number, a: SrtControlAddress): number {
  srtCheckRoom(what, buf, off, SRT_HEADER_SIZE + SRT_CONTROL_PADDING_SIZE);
  writeControlHeader(buf, off, { controlType: type, subtype: 0, typeSpecific, timestampUs: a.timestampUs, destSocketId: a.destSocketId });
  srtPutU32(buf, off + SRT_HEADER_SIZE, 0);
  return SRT_HEADER_SIZE + SRT_CONTROL_PADDING_SIZE;
}

/**
 * Write a KEEPALIVE (draft §3.2.3), padded like libsrt's.
 * @returns octets written (20).
 */
export function writeKeepalive(buf: Uint8Array, off: number, a: SrtControlAddress): number {
  return writeBodilessControl('SRT KEEPALIVE', buf, off, ControlType.KEEPALIVE, 0, a);
}

/**
 * Write a SHUTDOWN (draft §3.2.7), padded like libsrt's.
 * @returns octets written (20).
 */
export function writeShutdown(buf: Uint8Array, off: number, a: SrtControlAddress): number {
  return writeBodilessControl('SRT SHUTDOWN', buf, off, ControlType.SHUTDOWN, 0, a);
}

/**
 * Write an ACKACK for the full ACK numbered `ackNumber` (draft §3.2.8), padded like libsrt's.
 * @returns octets written (20).
 */
export function writeAckAck(buf: Uint8Array, off: number, ackNumber: number, a: SrtControlAddress): number {
  srtCheckUint('SRT ACKACK.ackNumber', ackNumber, 0xffffffff);
  return writeBodilessControl('SRT ACKACK', buf, off, ControlType.ACKACK, ackNumber, a);
}

/** Check that `buf[0, n)` is a control packet of `type`. */
function expectControl(buf: Uint8Array, n: number, type: ControlType): SrtParseErrorCode {
  if (n < SRT_HEADER_SIZE) return SrtParseError.TRUNCATED;
  if (!srtIsControl(buf, 0)) return SrtParseError.NOT_CONTROL;
  if (srtControlType(buf, 0) !== type) return SrtParseError.WRONG_CONTROL_TYPE;
  return SrtParseError.OK;
}

// ---------------------------------------------------------------- ACK

/** An ACK (draft §3.2.4): parse target and writer input. Fields a form lacks are 0. */
export interface SrtAck extends SrtControlAddress {
  kind: SrtAckKind;
  /** Type-specific information: the full ACK's number, answered by ACKACK (0 in a light ACK). */
  ackNumber: number;
  /** "Last Acknowledged Packet Sequence Number": one past the last packet received, i.e. the next one expected. */
  lastAckSeq: number;
  rttUs: number;
  rttVarianceUs: number;
  /** Free space in the receiver buffer, packets. */
  availableBufferPackets: number;
  /** Packets received per second. */
  packetsReceivingRatePps: number;
  /** Estimated link capacity, packets per second. */
  estimatedLinkCapacityPps: number;
  /** Bytes received per second (0 in UDT's 24-octet full ACK). */
  receivingRateBps: number;
}

/** A zeroed light {@link SrtAck} to reuse across {@link parseAck} calls. */
export function createSrtAck(): SrtAck {
  return {
    kind: SrtAckKind.LIGHT,
    ackNumber: 0,
    lastAckSeq: 0,
    rttUs: 0,
    rttVarianceUs: 0,
    availableBufferPackets: 0,
    packetsReceivingRatePps: 0,
    estimatedLinkCapacityPps: 0,
    receivingRateBps: 0,
    timestampUs: 0,
    destSocketId: 0,
  };
}

/**
 * Parse the ACK in `buf[0, len)` into `out`. The form is chosen by the CIF
 * length, taking the largest form that fits (4 light, 16 small, 24 or more
 * full; extra octets, such as SRT 1.0.2's eighth word, are ignored). Never
 * throws; on error `out` must not be used.
 * @returns 0, or a negative {@link SrtParseError} code.
 */
export function parseAck(buf: Uint8Array, len: number, out: SrtAck): SrtParseErrorCode {
  const n = srtClampLength(buf, len);
  const r = expectControl(buf, n, ControlType.ACK);
  if (r !== SrtParseError.OK) return r;
  const cif = n - SRT_HEADER_SIZE;
  if (cif < SRT_ACK_LIGHT_SIZE) return SrtParseError.TRUNCATED;
  const c = SrtOffset.CIF;
  out.ackNumber = srtTypeSpecific(buf, 0);
  out.timestampUs = srtTimestamp(buf, 0);
  out.destSocketId = srtDestSocketId(buf, 0);
  const seq = srtU32(buf, c + SrtAckOffset.LAST_ACKNOWLEDGED_SEQUENCE_NUMBER);
  if (seq > SRT_SEQ_MAX) return SrtParseError.BAD_SEQUENCE_NUMBER;
  out.lastAckSeq = seq;
  out.rttUs = 0;
  out.rttVarianceUs = 0;
  out.availableBufferPackets = 0;
  out.packetsReceivingRatePps = 0;
  out.estimatedLinkCapacityPps = 0;
  out.receivingRateBps = 0;
  if (cif < SRT_ACK_SMALL_SIZE) {
    out.kind = SrtAckKind.LIGHT;
    return SrtParseError.OK;
  }
  out.rttUs = srtU32(buf, c + SrtAckOffset.RTT);
  out.rttVarianceUs = srtU32(buf, c + SrtAckOffset.RTT_VARIANCE);
  out.availableBufferPackets = srtU32(buf, c + SrtAckOffset.AVAILABLE_BUFFER_SIZE);
  if (cif < SRT_ACK_UDT_FULL_SIZE) {
    out.kind = SrtAckKind.SMALL;
    return SrtParseError.OK;
  }
  out.kind = SrtAckKind.FULL;
  out.packetsReceivingRatePps = srtU32(buf, c + SrtAckOffset.PACKETS_RECEIVING_RATE);
  out.estimatedLinkCapacityPps = srtU32(buf, c + SrtAckOffset.ESTIMATED_LINK_CAPACITY);
  if (cif >= SRT_ACK_FULL_SIZE) out.receivingRateBps = srtU32(buf, c + SrtAckOffset.RECEIVING_RATE);
  return SrtParseError.OK;
}

/** CIF octets of an ACK of `kind` as written (a full ACK is always the 28-octet form libsrt sends). */
export function srtAckCifSize(kind: SrtAckKind): number {
  return kind === SrtAckKind.LIGHT ? SRT_ACK_LIGHT_SIZE : kind === SrtAckKind.SMALL ? SRT_ACK_SMALL_SIZE : SRT_ACK_FULL_SIZE;
}

/**
 * Write an ACK of `ack.kind` at `off`: header, then the 4-, 16- or 28-octet
 * CIF. Fields the form lacks are not written (they need not be 0).
 * @returns octets written (20, 32 or 44).
 * @throws RangeError for a field the wire cannot carry or too small a buffer.
 */
export function writeAck(buf: Uint8Array, off: number, ack: SrtAck): number {
  const w = 'SRT ACK';
  const kind = ack.kind;
  if (kind !== SrtAckKind.LIGHT && kind !== SrtAckKind.SMALL && kind !== SrtAckKind.FULL) {
    throw new RangeError(`${w}.kind: ${String(kind)} is not light, small or full`);
  }
  const size = SRT_HEADER_SIZE + srtAckCifSize(kind);
  srtCheckRoom(w, buf, off, size);
  const seq = srtCheckUint(`${w}.lastAckSeq`, ack.lastAckSeq, SRT_SEQ_MAX);
  const c = off + SrtOffset.CIF;
  // Check every field before the first store, so a throw leaves buf untouched.
  const words: number[] = [seq];
  if (kind !== SrtAckKind.LIGHT) {
    words.push(
      srtCheckUint(`${w}.rttUs`, ack.rttUs, 0xffffffff),
      srtCheckUint(`${w}.rttVarianceUs`, ack.rttVarianceUs, 0xffffffff),
      srtCheckUint(`${w}.availableBufferPackets`, ack.availableBufferPackets, 0xffffffff),
    );
  }
  if (kind === SrtAckKind.FULL) {
    words.push(
      srtCheckUint(`${w}.packetsReceivingRatePps`, ack.packetsReceivingRatePps, 0xffffffff),
      srtCheckUint(`${w}.estimatedLinkCapacityPps`, ack.estimatedLinkCapacityPps, 0xffffffff),
      srtCheckUint(`${w}.receivingRateBps`, ack.receivingRateBps, 0xffffffff),
    );
  }
  writeControlHeader(buf, off, {
    controlType: ControlType.ACK,
    subtype: 0,
    typeSpecific: ack.ackNumber,
    timestampUs: ack.timestampUs,
    destSocketId: ack.destSocketId,
  });
  for (let i = 0; i < words.length; i++) srtPutU32(buf, c + i * 4, words[i]);
  return size;
}

// ---------------------------------------------------------------- NAK loss list

/**
 * Caller-owned result of {@link parseLossList} / {@link parseNak}: up to
 * `ranges.length / 2` ranges, range i being `[ranges[2i], ranges[2i+1]]`
 * (inclusive; a single loss has from = to).
 */
export interface SrtLossList {
  count: number;
  /** True when the list held more ranges than fit; the first `count` are valid. */
  truncated: boolean;
  ranges: Uint32Array;
}

/**
 * A {@link SrtLossList} that holds at most `maxRanges` ranges. The bound is
 * what stops a hostile NAK from costing more than `maxRanges` steps; without
 * it a 64 KiB datagram would be 16 384 entries to walk and act on.
 */
export function createLossList(maxRanges: number = SRT_MAX_LOSS_WORDS): SrtLossList {
  srtCheckUint('createLossList maxRanges', maxRanges, 1 << 20);
  return { count: 0, truncated: false, ranges: new Uint32Array(maxRanges * 2) };
}

/**
 * Decode the loss list in `buf[off, end)` (draft Appendix A) into `out`.
 * Stops after `out.ranges.length / 2` ranges and sets `out.truncated`; the
 * words after that are not examined. Trailing 1–3 octets are ignored, as
 * libsrt reads whole words only. Never throws.
 * @returns 0, or {@link SrtParseError.TRUNCATED} (no words) or
 *   {@link SrtParseError.BAD_LOSS_LIST}.
 */
export function parseLossList(buf: Uint8Array, off: number, end: number, out: SrtLossList): SrtParseErrorCode {
  out.count = 0;
  out.truncated = false;
  const limit = Math.min(Math.floor(end), buf.length);
  if (!(off >= 0) || limit - off < 4) return SrtParseError.TRUNCATED;
  const words = Math.floor((limit - off) / 4);
  const cap = out.ranges.length >> 1;
  let i = 0;
  while (i < words) {
    if (out.count === cap) {
      out.truncated = true;
      return SrtParseError.OK;
    }
    const v = srtU32(buf, off + i * 4);
    let from: number;
    let to: number;
    if (v > SRT_SEQ_MAX) {
      // Range: this word with bit 31 set, then the last with bit 31 clear.
      if (i + 1 >= words) return SrtParseError.BAD_LOSS_LIST;
      from = v - SRT_SEQ_MODULUS;
      to = srtU32(buf, off + (i + 1) * 4);
      if (to > SRT_SEQ_MAX) return SrtParseError.BAD_LOSS_LIST;
      // libsrt core.cpp processCtrlLossReport drops a report whose range is reversed.
      if (seqDiff31(to, from) < 0) return SrtParseError.BAD_LOSS_LIST;
      i += 2;
    } else {
      from = to = v;
      i += 1;
    }
    out.ranges[out.count * 2] = from;
    out.ranges[out.count * 2 + 1] = to;
    out.count++;
  }
  return SrtParseError.OK;
}

/**
 * Parse the NAK in `buf[0, len)` into `out` (see {@link parseLossList}).
 * @returns 0, or a negative {@link SrtParseError} code.
 */
export function parseNak(buf: Uint8Array, len: number, out: SrtLossList): SrtParseErrorCode {
  out.count = 0;
  out.truncated = false;
  const n = srtClampLength(buf, len);
  const r = expectControl(buf, n, ControlType.NAK);
  if (r !== SrtParseError.OK) return r;
  return parseLossList(buf, SrtOffset.CIF, n, out);
}

/** A lost range, inclusive: `[from, to]`, from = to for a single packet. */
export type SrtLossRange = readonly [from: number, to: number];

function checkRanges(what: string, ranges: readonly SrtLossRange[]): number {
  if (!Array.isArray(ranges)) throw new RangeError(`${what}: not an array`);
  let words = 0;
  for (let i = 0; i < ranges.length; i++) {
    const r = ranges[i];
    if (!Array.isArray(r) || r.length !== 2) throw new RangeError(`${what}[${i}]: not a [from, to] pair`);
    const from = srtCheckUint(`${what}[${i}][0]`, r[0], SRT_SEQ_MAX);
    const to = srtCheckUint(`${what}[${i}][1]`, r[1], SRT_SEQ_MAX);
    if (seqDiff31(to, from) < 0) throw new RangeError(`${what}[${i}]: ${to} precedes ${from}`);
    if (i > 0 && seqDiff31(from, ranges[i - 1][1]) <= 0) {
      throw new RangeError(`${what}[${i}]: ${from} does not follow the previous range's end ${ranges[i - 1][1]}`);
    }
    words += from === to ? 1 : 2;
  }
  return words;
}

/**
 * Octets the loss list of `ranges` takes on the wire.
 * @throws RangeError as {@link writeLossList}.
 */
export function lossListSize(ranges: readonly SrtLossRange[]): number {
  return checkRanges('SRT loss list', ranges) * 4;
}

/**
 * Encode `ranges` as a loss list at `off` (draft Appendix A): a single
 * packet as one word, anything longer as a range (libsrt does the same for
 * two consecutive packets: srtcore/list.cpp `CRcvLossList::getLossArray`).
 * `ranges` must be in ascending 31-bit order (a list may wrap past 2^31 − 1),
 * each after the previous one's end.
 * @returns octets written.
 * @throws RangeError for an empty, unordered or out-of-range list, or too small a buffer.
 */
export function writeLossList(buf: Uint8Array, off: number, ranges: readonly SrtLossRange[]): number {
  const w = 'SRT loss list';
  const words = checkRanges(w, ranges);
  if (words === 0) throw new RangeError(`${w}: empty (a NAK names at least one lost packet)`);
  srtCheckRoom(w, buf, off, words * 4);
  let p = off;
  for (const [from, to] of ranges) {
    if (from === to) {
      srtPutU32(buf, p, from);
      p += 4;
    } else {
      srtPutU32(buf, p, from + SRT_SEQ_MODULUS);
      srtPutU32(buf, p + 4, to);
      p += 8;
    }
  }
  return p - off;
}

/**
 * Write a NAK (draft §3.2.5) reporting `ranges` at `off`.
 * @returns octets written.
 * @throws RangeError as {@link writeLossList} and {@link writeControlHeader}.
 */
export function writeNak(buf: Uint8Array, off: number, a: SrtControlAddress, ranges: readonly SrtLossRange[]): number {
  const size = SRT_HEADER_SIZE + lossListSize(ranges);
  srtCheckRoom('SRT NAK', buf, off, size);
  writeControlHeader(buf, off, { controlType: ControlType.NAK, subtype: 0, typeSpecific: 0, timestampUs: a.timestampUs, destSocketId: a.destSocketId });
  writeLossList(buf, off + SRT_HEADER_SIZE, ranges);
  return size;
}

// ---------------------------------------------------------------- DROPREQ

/** A message drop request (draft §3.2.9): parse target and writer input. */
export interface SrtDropReq extends SrtControlAddress {
  /** 0 when the sender no longer knows the message number. */
  messageNumber: number;
  firstSeq: number;
  lastSeq: number;
}

/** A zeroed {@link SrtDropReq} to reuse across {@link parseDropReq} calls. */
export function createSrtDropReq(): SrtDropReq {
  return { messageNumber: 0, firstSeq: 0, lastSeq: 0, timestampUs: 0, destSocketId: 0 };
}

/**
 * Parse the DROPREQ in `buf[0, len)` into `out`. The message number is the
 * low 26 bits of the type-specific information, as libsrt reads it
 * (`CPacket::getMsgSeq`). Never throws; on error `out` must not be used.
 * @returns 0, or a negative {@link SrtParseError} code.
 */
export function parseDropReq(buf: Uint8Array, len: number, out: SrtDropReq): SrtParseErrorCode {
  const n = srtClampLength(buf, len);
  const r = expectControl(buf, n, ControlType.DROPREQ);
  if (r !== SrtParseError.OK) return r;
  if (n - SRT_HEADER_SIZE < SRT_DROPREQ_CIF_SIZE) return SrtParseError.TRUNCATED;
  out.messageNumber = srtTypeSpecific(buf, 0) % SRT_MSGNO_MODULUS;
  out.timestampUs = srtTimestamp(buf, 0);
  out.destSocketId = srtDestSocketId(buf, 0);
  const first = srtU32(buf, SrtOffset.CIF);
  const last = srtU32(buf, SrtOffset.CIF + 4);
  if (first > SRT_SEQ_MAX || last > SRT_SEQ_MAX) return SrtParseError.BAD_SEQUENCE_NUMBER;
  out.firstSeq = first;
  out.lastSeq = last;
  return SrtParseError.OK;
}

/**
 * Write a DROPREQ at `off`.
 * @returns octets written (24).
 * @throws RangeError for a field the wire cannot carry or too small a buffer.
 */
export function writeDropReq(buf: Uint8Array, off: number, d: SrtDropReq): number {
  const w = 'SRT DROPREQ';
  const size = SRT_HEADER_SIZE + SRT_DROPREQ_CIF_SIZE;
  srtCheckRoom(w, buf, off, size);
  const msgno = srtCheckUint(`${w}.messageNumber`, d.messageNumber, SRT_MSGNO_MAX);
  const first = srtCheckUint(`${w}.firstSeq`, d.firstSeq, SRT_SEQ_MAX);
  const last = srtCheckUint(`${w}.lastSeq`, d.lastSeq, SRT_SEQ_MAX);
  writeControlHeader(buf, off, { controlType: ControlType.DROPREQ, subtype: 0, typeSpecific: msgno, timestampUs: d.timestampUs, destSocketId: d.destSocketId });
  srtPutU32(buf, off + SrtOffset.CIF, first);
  srtPutU32(buf, off + SrtOffset.CIF + 4, last);
  return size;
}
