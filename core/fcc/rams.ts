/**
 * RAMS messages, RFC 6285 §7 (Unicast-Based Rapid Acquisition of Multicast
 * RTP Sessions): the RTCP feedback that starts, describes and ends a fast
 * channel change burst. A pure codec: writers return a new Buffer, the parser
 * never throws and reports a bad datagram as a negative code from
 * {@link RamsParseError} (STYLE.md §3). Writers throw RangeError for field
 * values the wire cannot carry (programmer errors).
 *
 * Roomcast bursts the original RTP packets (same SSRC, same sequence numbers,
 * from the GOP cache) rather than RFC 4588 retransmission-format packets as
 * RFC 6285 §6.1 describes; the agent splices burst and multicast by sequence
 * number. The message formats below are RFC 6285's; the burst format is the
 * product's choice (DESIGN.md, "Fast channel change").
 *
 * Common feedback header, RFC 4585 §6.1 (PT = RTPFB 205, FMT = RAMS 6 per
 * RFC 6285 §7 and the IANA "FMT Values for RTPFB Payload Types" registry):
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |V=2|P|  FMT=6  |    PT=205     |          length               |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                  SSRC of packet sender                        |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                  SSRC of media source                         |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    :            Feedback Control Information (FCI)                 :
 *
 *  `length` is the packet size in 32-bit words minus one, header and padding
 *  included (RFC 3550 §6.4.1). P = 1: the last octet counts the padding
 *  octets, itself included (RFC 3550 §6.4.1).
 *
 * FCI of RAMS-R (SFMT 1, §7.2) and RAMS-T (SFMT 3, §7.4):
 *
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |     SFMT      |                    Reserved                   |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    :              Optional TLV-encoded Fields (and Padding)        :
 *
 * FCI of RAMS-I (SFMT 2, §7.3): MSN is the 8-bit message sequence number of
 * the RAMS-I messages of one session (it moves on when the burst source sends
 * updated information), Response a 16-bit code from §7.3.1:
 *
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |    SFMT=2     |      MSN      |          Response             |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    :              Optional TLV-encoded Fields (and Padding)        :
 *
 * TLV element, §7.1 (Figure 6). Length counts the Value octets only (not
 * Type, Reserved, Length, nor the padding); an element that does not end on a
 * 32-bit boundary is padded with zero octets to the boundary:
 *
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |     Type      |   Reserved    |            Length             |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    :                             Value                             :
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Private extension, §7.1.2 (Figure 7): Type 128–254, the Value opens with
 * the vendor's IANA Private Enterprise Number (counted in Length):
 *
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |     Type      |   Reserved    |            Length             |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                       Enterprise Number                       |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    :                             Value                             :
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Transport: a RAMS message may travel alone as a reduced-size RTCP packet
 * (RFC 5506 §3, the writers' output) or inside a compound RTCP packet
 * (RFC 3550 §6.1, e.g. RR + SDES + RAMS-R); {@link parseRams} takes either.
 *
 * Parsing is liberal where RFC 6285 allows it and strict where a wrong value
 * would be misread: unknown TLV types are skipped (§7.1, §12.5: the registry
 * grows), a known TLV with the wrong Length is an error, Reserved octets are
 * ignored (§7), a repeated TLV replaces the earlier one.
 */

/** RTCP version, RFC 3550 §6.4.1. */
export const RTCP_VERSION = 2;
/** Transport-layer feedback (RTPFB), RFC 4585 §6.1. */
export const RTCP_PT_RTPFB = 205;
/** FMT of every RAMS message within RTPFB, RFC 6285 §7. */
export const RAMS_FMT = 6;
/** RTCP common header: V/P/count, PT, length (RFC 3550 §6.4.1). */
export const RTCP_HEADER_SIZE = 4;
/** Feedback header (12 octets, RFC 4585 §6.1) plus the SFMT word (RFC 6285 §7). */
export const RAMS_FIXED_SIZE = 16;
/** Type, Reserved, Length (RFC 6285 §7.1). */
export const RAMS_TLV_HEADER_SIZE = 4;
/** Largest RTCP packet the 16-bit length field can describe: 65536 words. */
export const RTCP_MAX_PACKET_SIZE = 65536 * 4;
/** Private extension TLV types, RFC 6285 §7.1.2 and §12.5. */
export const RAMS_PRIVATE_TLV_MIN = 128;
export const RAMS_PRIVATE_TLV_MAX = 254;

/** Byte offsets in a RAMS packet (RFC 4585 §6.1, RFC 6285 §7.2–§7.4). */
export const RamsOffset = {
  /** V(2) P(1) FMT(5) */
  V_P_FMT: 0,
  PT: 1,
  LENGTH: 2,
  SENDER_SSRC: 4,
  MEDIA_SSRC: 8,
  SFMT: 12,
  /** RAMS-I only; Reserved in RAMS-R and RAMS-T. */
  MSN: 13,
  /** RAMS-I only; Reserved in RAMS-R and RAMS-T. */
  RESPONSE: 14,
  /** First TLV element. */
  TLVS: 16,
} as const;

/** Byte offsets in a TLV element (RFC 6285 §7.1, Figures 6 and 7). */
export const RamsTlvOffset = {
  TYPE: 0,
  RESERVED: 1,
  LENGTH: 2,
  VALUE: 4,
  /** Private extensions only: first octet of the Value. */
  ENTERPRISE_NUMBER: 4,
} as const;

/** Sub Feedback Message Type, RFC 6285 §7 and §12.4. */
export const RamsSfmt = {
  request: 1,
  information: 2,
  termination: 3,
} as const;
export type RamsSfmt = (typeof RamsSfmt)[keyof typeof RamsSfmt];

/**
 * Vendor-neutral TLV types, RFC 6285 §7.2–§7.4 and the "RAMS TLV Space
 * Registry" (§12.5). 0 and 255 are reserved; 128–254 are private extensions.
 */
export const RamsTlvType = {
  /** RAMS-R: SSRCs of the media senders the receiver asks for; Length 4·n. */
  requestedMediaSenderSsrcs: 1,
  /** RAMS-R: least burst the receiver needs, milliseconds, 32 bits. */
  minRamsBufferFillRequirement: 2,
  /** RAMS-R: most burst the receiver can take, milliseconds, 32 bits. */
  maxRamsBufferFillRequirement: 3,
  /** RAMS-R: highest rate the receiver can take, bits per second, 64 bits. */
  maxReceiveBitrate: 4,
  /** RAMS-R: send only the preamble (Reference Information); Length 0. */
  requestForPreambleOnly: 5,
  /** RAMS-R: Private Enterprise Numbers whose extensions the receiver reads; Length 4·n. */
  supportedEnterpriseNumbers: 6,
  /** RAMS-I: SSRC of the media sender this burst is for, 32 bits. */
  mediaSenderSsrc: 31,
  /** RAMS-I: RTP sequence number of the first packet of the burst, 16 bits. */
  rtpSeqnumOfFirstPacket: 32,
  /** RAMS-I: when to join the multicast, ms after the first burst packet arrives, 32 bits. */
  earliestMulticastJoinTime: 33,
  /** RAMS-I: planned burst duration, milliseconds, 32 bits. */
  burstDuration: 34,
  /** RAMS-I: highest rate the burst will be sent at, bits per second, 64 bits. */
  maxTransmitRate: 35,
  /** RAMS-T: extended RTP sequence number of the first multicast packet received, 32 bits. */
  extendedRtpSeqnumOfFirstMulticastPacket: 61,
} as const;
export type RamsTlvType = (typeof RamsTlvType)[keyof typeof RamsTlvType];

/**
 * RAMS-I Response field, RFC 6285 §7.3.1 and the "RAMS Response Code Space
 * Registry" (§12.6). 1xx informational, 2xx success, 4xx the receiver's
 * request was wrong, 5xx the burst source cannot serve it.
 */
export const RamsResponseCode = {
  /** 1: "A private response code is included in the message" (in a private extension). */
  privateResponse: 1,
  /** 100: "Parameter update for RAMS session". */
  parameterUpdate: 100,
  /** 200: "RAMS request has been accepted". */
  accepted: 200,
  /** 201: "Unicast burst has been completed". */
  burstCompleted: 201,
  /** 400: "Invalid RAMS-R message syntax". */
  invalidRequestSyntax: 400,
  /** 401: "Invalid min buffer requirement in RAMS-R message". */
  invalidMinBufferRequirement: 401,
  /** 402: "Invalid max buffer requirement in RAMS-R message". */
  invalidMaxBufferRequirement: 402,
  /** 403: "Insufficient max bitrate requirement in RAMS-R message". */
  insufficientMaxBitrate: 403,
  /** 404: "Invalid RAMS-T message syntax". */
  invalidTerminationSyntax: 404,
  /** 500: "An unspecified BRS internal error has occurred". */
  internalError: 500,
  /** 501: "BRS has insufficient bandwidth to start RAMS session". */
  insufficientBandwidth: 501,
  /** 502: "Burst is terminated due to network congestion". */
  networkCongestion: 502,
  /** 503: "BRS has insufficient CPU cycles to start RAMS session". */
  insufficientCpu: 503,
  /** 504: "RAMS functionality is not available on BRS". */
  notAvailableOnServer: 504,
  /** 505: "RAMS functionality is not available for RTP_Rx". */
  notAvailableForReceiver: 505,
  /** 506: "RAMS functionality is not available for the requested multicast stream". */
  notAvailableForStream: 506,
  /** 507: "BRS has no valid starting point available for the requested multicast stream". */
  noValidStartingPoint: 507,
  /** 508: "BRS has no reference information available for the requested multicast stream". */
  noReferenceInformation: 508,
  /** 509: "BRS has no RTP stream matching the requested SSRC". */
  noMatchingSsrc: 509,
  /** 510: "RAMS request to acquire the entire session has been denied". */
  entireSessionDenied: 510,
  /** 511: "Only the preamble information is sent". */
  preambleOnly: 511,
  /** 512: "RAMS request has been denied due to a policy". */
  deniedByPolicy: 512,
} as const;
export type RamsResponseCode = (typeof RamsResponseCode)[keyof typeof RamsResponseCode];

/**
 * Negative results of {@link parseRams}. One table of stable codes
 * (STYLE.md §3); a message object is the only non-error result.
 */
export const RamsParseError = {
  /** Fewer than 4 octets, or the RAMS packet is shorter than its 16-octet fixed part. */
  TRUNCATED: -1,
  /** An RTCP packet whose V is not 2 (RFC 3550 A.2 validity check). */
  BAD_VERSION: -2,
  /** An RTCP length runs past the datagram, or octets are left after the last packet (RFC 3550 A.2: the lengths must add up). */
  LENGTH_MISMATCH: -3,
  /** No transport-layer feedback packet (PT 205) in the datagram. */
  NOT_FEEDBACK: -4,
  /** Transport-layer feedback, but none with FMT 6 (e.g. a generic NACK, FMT 1). */
  WRONG_FMT: -5,
  /** FMT 6 with an SFMT other than 1, 2, 3 (RFC 6285 §12.4). */
  UNKNOWN_SFMT: -6,
  /** P = 1 and the padding count is 0 or reaches into the 16-octet fixed part. */
  BAD_PADDING: -7,
  /** A TLV header or value runs past the end of the packet. */
  TLV_OVERRUN: -8,
  /** A known TLV whose Length does not fit its type (e.g. 2 for a 32-bit value). */
  BAD_TLV_LENGTH: -9,
} as const;
export type RamsParseErrorCode = (typeof RamsParseError)[keyof typeof RamsParseError];

/** A private extension TLV (RFC 6285 §7.1.2), carried through uninterpreted. */
export interface RamsPrivateExtension {
  /** 128–254. */
  type: number;
  /** IANA Private Enterprise Number of the vendor. */
  enterpriseNumber: number;
  /** The octets after the enterprise number, padding excluded. Parsed values are copies: the message owns them. */
  value: Uint8Array;
}

interface RamsCommon {
  /** "SSRC of packet sender", RFC 4585 §6.1. */
  senderSsrc: number;
  /** "SSRC of media source", RFC 4585 §6.1. */
  mediaSsrc: number;
  /** Private extensions in wire order (RFC 6285 §7.1.2); absent when there are none. */
  privateExtensions?: RamsPrivateExtension[];
}

/** RAMS-R, RFC 6285 §7.2: the receiver asks the burst source for a burst. */
export interface RamsRequest extends RamsCommon {
  sfmt: typeof RamsSfmt.request;
  /** TLV 1. Empty: the TLV with Length 0. */
  requestedMediaSenderSsrcs?: number[];
  /** TLV 2, milliseconds. */
  minRamsBufferFillMs?: number;
  /** TLV 3, milliseconds. */
  maxRamsBufferFillMs?: number;
  /** TLV 4, bits per second (a 64-bit field; values above 2^53 are read rounded). */
  maxReceiveBitrateBps?: number;
  /** TLV 5: present means true (writers also take `false`, meaning absent). */
  preambleOnly?: true;
  /** TLV 6. */
  supportedEnterpriseNumbers?: number[];
}

/** RAMS-I, RFC 6285 §7.3: the burst source answers and describes the burst. */
export interface RamsInformation extends RamsCommon {
  sfmt: typeof RamsSfmt.information;
  /** Message sequence number of this session's RAMS-I messages, 8 bits. */
  msn: number;
  /** 16 bits; see {@link RamsResponseCode} (other values pass through). */
  responseCode: number;
  /** TLV 31. */
  mediaSenderSsrc?: number;
  /** TLV 32: RTP sequence number of the first packet of the burst. */
  firstPacketSequenceNumber?: number;
  /** TLV 33, milliseconds after the first burst packet arrives. */
  earliestMulticastJoinTimeMs?: number;
  /** TLV 34, milliseconds. */
  burstDurationMs?: number;
  /** TLV 35, bits per second (a 64-bit field; values above 2^53 are read rounded). */
  maxTransmitRateBps?: number;
}

/** RAMS-T, RFC 6285 §7.4: the receiver ends the burst. */
export interface RamsTermination extends RamsCommon {
  sfmt: typeof RamsSfmt.termination;
  /**
   * TLV 61: extended RTP sequence number (RFC 3550 §6.4.1 style: cycles in
   * the high 16 bits) of the first multicast packet the receiver got; the
   * burst source need not send from there on.
   */
  firstMulticastExtendedSequenceNumber?: number;
}

export type RamsMessage = RamsRequest | RamsInformation | RamsTermination;

/** Writer inputs: the message without its `sfmt` (or with the matching one). */
export type RamsRequestInit = Omit<RamsRequest, 'sfmt' | 'preambleOnly'> & { sfmt?: typeof RamsSfmt.request; preambleOnly?: boolean };
export type RamsInformationInit = Omit<RamsInformation, 'sfmt'> & { sfmt?: typeof RamsSfmt.information };
export type RamsTerminationInit = Omit<RamsTermination, 'sfmt'> & { sfmt?: typeof RamsSfmt.termination };

/** True when {@link parseRams} returned an error code rather than a message. */
export function isRamsParseError(r: RamsMessage | RamsParseErrorCode): r is RamsParseErrorCode {
  return typeof r === 'number';
}

// ---------------------------------------------------------------- writing

/** One TLV element to write: type and its unpadded value. */
interface Tlv {
  type: number;
  value: Uint8Array;
}

const U64_MAX_SAFE = Number.MAX_SAFE_INTEGER;

function checkUint(what: string, v: unknown, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new RangeError(`${what}: ${String(v)} is not an integer in [0, ${max}]`);
  }
  return v;
}

function u16Value(what: string, v: number): Uint8Array {
  checkUint(what, v, 0xffff);
  const b = Buffer.alloc(2);
  b[0] = v >>> 8;
  b[1] = v & 0xff;
  return b;
}

function u32Value(what: string, v: number): Uint8Array {
  const b = Buffer.alloc(4);
  putU32(b, 0, checkUint(what, v, 0xffffffff));
  return b;
}

function u64Value(what: string, v: number): Uint8Array {
  checkUint(what, v, U64_MAX_SAFE);
  const b = Buffer.alloc(8);
  putU32(b, 0, Math.floor(v / 4294967296));
  putU32(b, 4, v % 4294967296);
  return b;
}

function u32ListValue(what: string, list: readonly number[]): Uint8Array {
  if (!Array.isArray(list)) throw new RangeError(`${what}: not an array`);
  if (list.length * 4 > 0xffff) throw new RangeError(`${what}: ${list.length} entries do not fit a 16-bit TLV length`);
  const b = Buffer.alloc(list.length * 4);
  for (let i = 0; i < list.length; i++) putU32(b, i * 4, checkUint(`${what}[${i}]`, list[i], 0xffffffff));
  return b;
}

function privateTlvs(what: string, list: readonly RamsPrivateExtension[] | undefined, out: Tlv[]): void {
  if (list === undefined) return;
  if (!Array.isArray(list)) throw new RangeError(`${what}.privateExtensions: not an array`);
  for (let i = 0; i < list.length; i++) {
    const x = list[i];
    const path = `${what}.privateExtensions[${i}]`;
    checkUint(`${path}.type`, x.type, RAMS_PRIVATE_TLV_MAX);
    if (x.type < RAMS_PRIVATE_TLV_MIN) {
      throw new RangeError(`${path}.type: ${x.type} is not a private extension type (${RAMS_PRIVATE_TLV_MIN}–${RAMS_PRIVATE_TLV_MAX}, RFC 6285 §7.1.2)`);
    }
    checkUint(`${path}.enterpriseNumber`, x.enterpriseNumber, 0xffffffff);
    if (!(x.value instanceof Uint8Array)) throw new RangeError(`${path}.value: not a Uint8Array`);
    if (4 + x.value.length > 0xffff) throw new RangeError(`${path}.value: ${x.value.length} octets do not fit a 16-bit TLV length`);
    const v = Buffer.alloc(4 + x.value.length);
    putU32(v, 0, x.enterpriseNumber);
    v.set(x.value, 4);
    out.push({ type: x.type, value: v });
  }
}

function putU32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v >>> 24;
  buf[off + 1] = (v >>> 16) & 0xff;
  buf[off + 2] = (v >>> 8) & 0xff;
  buf[off + 3] = v & 0xff;
}

/** Octets a TLV with `valueLength` value octets takes, padding included (§7.1). */
export function ramsTlvSize(valueLength: number): number {
  return RAMS_TLV_HEADER_SIZE + ((valueLength + 3) & ~3);
}

/**
 * Lay out one reduced-size RAMS packet (RFC 5506 §3): V = 2, P = 0,
 * FMT = 6, PT = 205, the SFMT word, then the TLVs in order, each padded with
 * zeros to a 32-bit boundary (§7.1).
 */
function writePacket(
  what: string,
  msg: RamsCommon,
  sfmt: RamsSfmt,
  msn: number,
  response: number,
  tlvs: readonly Tlv[],
): Buffer {
  checkUint(`${what}.senderSsrc`, msg.senderSsrc, 0xffffffff);
  checkUint(`${what}.mediaSsrc`, msg.mediaSsrc, 0xffffffff);
  let size = RAMS_FIXED_SIZE;
  for (const tlv of tlvs) size += ramsTlvSize(tlv.value.length);
  if (size > RTCP_MAX_PACKET_SIZE) throw new RangeError(`${what}: ${size} octets exceed the RTCP length field (${RTCP_MAX_PACKET_SIZE})`);

  const buf = Buffer.alloc(size); // zeroed: Reserved fields and TLV padding are 0 (§7, §7.1)
  const words = size / 4 - 1;
  buf[RamsOffset.V_P_FMT] = (RTCP_VERSION << 6) | RAMS_FMT;
  buf[RamsOffset.PT] = RTCP_PT_RTPFB;
  buf[RamsOffset.LENGTH] = words >>> 8;
  buf[RamsOffset.LENGTH + 1] = words & 0xff;
  putU32(buf, RamsOffset.SENDER_SSRC, msg.senderSsrc);
  putU32(buf, RamsOffset.MEDIA_SSRC, msg.mediaSsrc);
  buf[RamsOffset.SFMT] = sfmt;
  buf[RamsOffset.MSN] = msn;
  buf[RamsOffset.RESPONSE] = response >>> 8;
  buf[RamsOffset.RESPONSE + 1] = response & 0xff;
  let off = RamsOffset.TLVS;
  for (const tlv of tlvs) {
    buf[off + RamsTlvOffset.TYPE] = tlv.type;
    buf[off + RamsTlvOffset.LENGTH] = tlv.value.length >>> 8;
    buf[off + RamsTlvOffset.LENGTH + 1] = tlv.value.length & 0xff;
    buf.set(tlv.value, off + RamsTlvOffset.VALUE);
    off += ramsTlvSize(tlv.value.length);
  }
  return buf;
}

/**
 * Write a RAMS-R as a single reduced-size RTCP feedback packet. TLVs go in
 * type order, private extensions last (§7.1: extensions after the mandatory
 * fields). `preambleOnly` writes TLV 5 when true; an empty
 * `requestedMediaSenderSsrcs` writes TLV 1 with Length 0.
 * @returns a new Buffer the caller owns.
 * @throws RangeError when a field does not fit its wire field.
 */
export function writeRamsRequest(msg: RamsRequestInit): Buffer {
  const w = 'RAMS-R';
  const tlvs: Tlv[] = [];
  if (msg.requestedMediaSenderSsrcs !== undefined) {
    tlvs.push({ type: RamsTlvType.requestedMediaSenderSsrcs, value: u32ListValue(`${w}.requestedMediaSenderSsrcs`, msg.requestedMediaSenderSsrcs) });
  }
  if (msg.minRamsBufferFillMs !== undefined) {
    tlvs.push({ type: RamsTlvType.minRamsBufferFillRequirement, value: u32Value(`${w}.minRamsBufferFillMs`, msg.minRamsBufferFillMs) });
  }
  if (msg.maxRamsBufferFillMs !== undefined) {
    tlvs.push({ type: RamsTlvType.maxRamsBufferFillRequirement, value: u32Value(`${w}.maxRamsBufferFillMs`, msg.maxRamsBufferFillMs) });
  }
  if (msg.maxReceiveBitrateBps !== undefined) {
    tlvs.push({ type: RamsTlvType.maxReceiveBitrate, value: u64Value(`${w}.maxReceiveBitrateBps`, msg.maxReceiveBitrateBps) });
  }
  const preamble: unknown = msg.preambleOnly;
  if (preamble === true) {
    tlvs.push({ type: RamsTlvType.requestForPreambleOnly, value: new Uint8Array(0) });
  } else if (preamble !== undefined && preamble !== false) {
    throw new RangeError(`${w}.preambleOnly: ${String(preamble)} is not a boolean`);
  }
  if (msg.supportedEnterpriseNumbers !== undefined) {
    tlvs.push({ type: RamsTlvType.supportedEnterpriseNumbers, value: u32ListValue(`${w}.supportedEnterpriseNumbers`, msg.supportedEnterpriseNumbers) });
  }
  privateTlvs(w, msg.privateExtensions, tlvs);
  return writePacket(w, msg, RamsSfmt.request, 0, 0, tlvs);
}

/**
 * Write a RAMS-I as a single reduced-size RTCP feedback packet. TLVs go in
 * type order (Media Sender SSRC first), private extensions last.
 * @returns a new Buffer the caller owns.
 * @throws RangeError when a field does not fit its wire field.
 */
export function writeRamsInformation(msg: RamsInformationInit): Buffer {
  const w = 'RAMS-I';
  checkUint(`${w}.msn`, msg.msn, 0xff);
  checkUint(`${w}.responseCode`, msg.responseCode, 0xffff);
  const tlvs: Tlv[] = [];
  if (msg.mediaSenderSsrc !== undefined) {
    tlvs.push({ type: RamsTlvType.mediaSenderSsrc, value: u32Value(`${w}.mediaSenderSsrc`, msg.mediaSenderSsrc) });
  }
  if (msg.firstPacketSequenceNumber !== undefined) {
    tlvs.push({ type: RamsTlvType.rtpSeqnumOfFirstPacket, value: u16Value(`${w}.firstPacketSequenceNumber`, msg.firstPacketSequenceNumber) });
  }
  if (msg.earliestMulticastJoinTimeMs !== undefined) {
    tlvs.push({ type: RamsTlvType.earliestMulticastJoinTime, value: u32Value(`${w}.earliestMulticastJoinTimeMs`, msg.earliestMulticastJoinTimeMs) });
  }
  if (msg.burstDurationMs !== undefined) {
    tlvs.push({ type: RamsTlvType.burstDuration, value: u32Value(`${w}.burstDurationMs`, msg.burstDurationMs) });
  }
  if (msg.maxTransmitRateBps !== undefined) {
    tlvs.push({ type: RamsTlvType.maxTransmitRate, value: u64Value(`${w}.maxTransmitRateBps`, msg.maxTransmitRateBps) });
  }
  privateTlvs(w, msg.privateExtensions, tlvs);
  return writePacket(w, msg, RamsSfmt.information, msg.msn, msg.responseCode, tlvs);
}

/**
 * Write a RAMS-T as a single reduced-size RTCP feedback packet.
 * @returns a new Buffer the caller owns.
 * @throws RangeError when a field does not fit its wire field.
 */
export function writeRamsTermination(msg: RamsTerminationInit): Buffer {
  const w = 'RAMS-T';
  const tlvs: Tlv[] = [];
  if (msg.firstMulticastExtendedSequenceNumber !== undefined) {
    tlvs.push({
      type: RamsTlvType.extendedRtpSeqnumOfFirstMulticastPacket,
      value: u32Value(`${w}.firstMulticastExtendedSequenceNumber`, msg.firstMulticastExtendedSequenceNumber),
    });
  }
  privateTlvs(w, msg.privateExtensions, tlvs);
  return writePacket(w, msg, RamsSfmt.termination, 0, 0, tlvs);
}

// ---------------------------------------------------------------- parsing

function u16(buf: Uint8Array, off: number): number {
  return (buf[off] << 8) | buf[off + 1];
}

function u32(buf: Uint8Array, off: number): number {
  return buf[off] * 16777216 + ((buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]);
}

/** Exact below 2^53; above, the nearest double (no BigInt: STYLE.md §1). */
function u64(buf: Uint8Array, off: number): number {
  return u32(buf, off) * 4294967296 + u32(buf, off + 4);
}

function u32List(buf: Uint8Array, off: number, length: number): number[] {
  const list: number[] = [];
  for (let i = 0; i < length; i += 4) list.push(u32(buf, off + i));
  return list;
}

/**
 * Read one TLV's value into `msg`. The caller has checked that the value lies
 * inside the packet. Types not defined for this SFMT are skipped (§7.1).
 * @returns 0, or {@link RamsParseError.BAD_TLV_LENGTH}.
 */
function readTlv(msg: RamsMessage, type: number, buf: Uint8Array, v: number, length: number): 0 | typeof RamsParseError.BAD_TLV_LENGTH {
  const bad = RamsParseError.BAD_TLV_LENGTH;
  if (type >= RAMS_PRIVATE_TLV_MIN && type <= RAMS_PRIVATE_TLV_MAX) {
    if (length < 4) return bad; // §7.1.2: the value opens with a 4-octet enterprise number
    const ext: RamsPrivateExtension = {
      type,
      enterpriseNumber: u32(buf, v),
      value: Buffer.from(buf.subarray(v + 4, v + length)), // a copy: the datagram buffer is the caller's
    };
    (msg.privateExtensions ??= []).push(ext);
    return 0;
  }
  switch (msg.sfmt) {
    case RamsSfmt.request:
      switch (type) {
        case RamsTlvType.requestedMediaSenderSsrcs:
          if (length % 4 !== 0) return bad;
          msg.requestedMediaSenderSsrcs = u32List(buf, v, length);
          return 0;
        case RamsTlvType.minRamsBufferFillRequirement:
          if (length !== 4) return bad;
          msg.minRamsBufferFillMs = u32(buf, v);
          return 0;
        case RamsTlvType.maxRamsBufferFillRequirement:
          if (length !== 4) return bad;
          msg.maxRamsBufferFillMs = u32(buf, v);
          return 0;
        case RamsTlvType.maxReceiveBitrate:
          if (length !== 8) return bad;
          msg.maxReceiveBitrateBps = u64(buf, v);
          return 0;
        case RamsTlvType.requestForPreambleOnly:
          if (length !== 0) return bad;
          msg.preambleOnly = true;
          return 0;
        case RamsTlvType.supportedEnterpriseNumbers:
          if (length % 4 !== 0) return bad;
          msg.supportedEnterpriseNumbers = u32List(buf, v, length);
          return 0;
        default:
          return 0;
      }
    case RamsSfmt.information:
      switch (type) {
        case RamsTlvType.mediaSenderSsrc:
          if (length !== 4) return bad;
          msg.mediaSenderSsrc = u32(buf, v);
          return 0;
        case RamsTlvType.rtpSeqnumOfFirstPacket:
          if (length !== 2) return bad;
          msg.firstPacketSequenceNumber = u16(buf, v);
          return 0;
        case RamsTlvType.earliestMulticastJoinTime:
          if (length !== 4) return bad;
          msg.earliestMulticastJoinTimeMs = u32(buf, v);
          return 0;
        case RamsTlvType.burstDuration:
          if (length !== 4) return bad;
          msg.burstDurationMs = u32(buf, v);
          return 0;
        case RamsTlvType.maxTransmitRate:
          if (length !== 8) return bad;
          msg.maxTransmitRateBps = u64(buf, v);
          return 0;
        default:
          return 0;
      }
    case RamsSfmt.termination:
      if (type === RamsTlvType.extendedRtpSeqnumOfFirstMulticastPacket) {
        if (length !== 4) return bad;
        msg.firstMulticastExtendedSequenceNumber = u32(buf, v);
      }
      return 0;
  }
}

/** Decode the RAMS packet at `buf[p, p + size)`; `size` is inside the datagram. */
function parseRamsPacket(buf: Uint8Array, p: number, size: number): RamsMessage | RamsParseErrorCode {
  if (size < RAMS_FIXED_SIZE) return RamsParseError.TRUNCATED;
  let end = p + size;
  if ((buf[p + RamsOffset.V_P_FMT] & 0x20) !== 0) {
    // RFC 3550 §6.4.1: the last octet counts the padding, itself included;
    // it may not reach into the fixed part.
    const count = buf[end - 1];
    if (count === 0 || count > size - RAMS_FIXED_SIZE) return RamsParseError.BAD_PADDING;
    end -= count;
  }

  const senderSsrc = u32(buf, p + RamsOffset.SENDER_SSRC);
  const mediaSsrc = u32(buf, p + RamsOffset.MEDIA_SSRC);
  let msg: RamsMessage;
  switch (buf[p + RamsOffset.SFMT]) {
    case RamsSfmt.request:
      msg = { sfmt: RamsSfmt.request, senderSsrc, mediaSsrc };
      break;
    case RamsSfmt.information:
      msg = {
        sfmt: RamsSfmt.information,
        senderSsrc,
        mediaSsrc,
        msn: buf[p + RamsOffset.MSN],
        responseCode: u16(buf, p + RamsOffset.RESPONSE),
      };
      break;
    case RamsSfmt.termination:
      msg = { sfmt: RamsSfmt.termination, senderSsrc, mediaSsrc };
      break;
    default:
      return RamsParseError.UNKNOWN_SFMT;
  }

  let off = p + RamsOffset.TLVS;
  while (off < end) {
    if (end - off < RAMS_TLV_HEADER_SIZE) return RamsParseError.TLV_OVERRUN;
    const type = buf[off + RamsTlvOffset.TYPE];
    const length = u16(buf, off + RamsTlvOffset.LENGTH);
    const v = off + RamsTlvOffset.VALUE;
    if (length > end - v) return RamsParseError.TLV_OVERRUN;
    const r = readTlv(msg, type, buf, v, length);
    if (r !== 0) return r;
    // §7.1: padding to the next 32-bit boundary follows the value; a last
    // element whose padding was left off still ends the loop.
    off += ramsTlvSize(length);
  }
  return msg;
}

/**
 * Find and decode the RAMS message in the RTCP datagram `buf[0, len)`: a lone
 * feedback packet (RFC 5506) or a compound packet (RFC 3550 §6.1) whose
 * packets' lengths add up to the datagram (RFC 3550 A.2); the first PT 205
 * FMT 6 packet is decoded. Bounds come from `len` and `buf.length` (the
 * smaller wins); nothing outside `[0, len)` is read; never throws.
 *
 * `buf` is borrowed: the result holds no view into it (private extension
 * values are copies).
 * @returns the message, or a negative {@link RamsParseError} code.
 */
export function parseRams(buf: Uint8Array, len: number): RamsMessage | RamsParseErrorCode {
  // A negative or NaN `len` means "nothing there"; a fractional one is floored.
  let n = len > buf.length ? buf.length : len;
  if (!(n >= 0)) n = 0;
  n = Math.floor(n);
  if (n < RTCP_HEADER_SIZE) return RamsParseError.TRUNCATED;

  let rams = -1;
  let ramsSize = 0;
  let sawRtpfb = false;
  let off = 0;
  while (off < n) {
    if (n - off < RTCP_HEADER_SIZE) return RamsParseError.LENGTH_MISMATCH;
    const b0 = buf[off];
    if (b0 >> 6 !== RTCP_VERSION) return RamsParseError.BAD_VERSION;
    const size = (u16(buf, off + 2) + 1) * 4;
    if (size > n - off) return RamsParseError.LENGTH_MISMATCH;
    if (buf[off + 1] === RTCP_PT_RTPFB) {
      sawRtpfb = true;
      if ((b0 & 0x1f) === RAMS_FMT && rams < 0) {
        rams = off;
        ramsSize = size;
      }
    }
    off += size;
  }
  if (rams < 0) return sawRtpfb ? RamsParseError.WRONG_FMT : RamsParseError.NOT_FEEDBACK;
  return parseRamsPacket(buf, rams, ramsSize);
}
