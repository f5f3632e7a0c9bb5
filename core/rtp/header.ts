/**
 * RTP fixed header, RFC 3550 §5.1. Bytes stay bytes: the writer stores fields
 * at named offsets into the caller's buffer, the parser fills a caller-owned
 * object that is reused for every datagram (STYLE.md §1) and never throws: a
 * bad datagram is reported as a negative code from {@link RtpParseError}
 * (STYLE.md §3).
 *
 * RFC 3550 §5.1:
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                           timestamp                           |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |           synchronization source (SSRC) identifier            |
 *    +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *    |            contributing source (CSRC) identifiers             |
 *    |                             ....                              |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * RFC 3550 §5.3.1, header extension (present when X = 1), after the CSRCs:
 *
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |      defined by profile       |           length              |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                        header extension                       |
 *    |                             ....                              |
 *
 *  `length` counts 32-bit words of extension data, excluding the 4-octet
 *  extension header itself (so 0 is valid).
 *
 * Padding (§5.1, P = 1): the last octet of the packet counts the padding
 * octets to ignore, *including itself*; so it is at least 1 and at most the
 * octets after the header (RFC 3550 Appendix A.1 lists it among the validity
 * checks).
 */

/** Size of the fixed header (no CSRC, no extension). */
export const RTP_HEADER_SIZE = 12;
/** RFC 3550 §5.1: "This field identifies the version of RTP ... is two (2)". */
export const RTP_VERSION = 2;

/** Byte offsets in the fixed header (RFC 3550 §5.1). */
export const RtpOffset = {
  /** V(2) P(1) X(1) CC(4) */
  VPXCC: 0,
  /** M(1) PT(7) */
  M_PT: 1,
  SEQUENCE_NUMBER: 2,
  TIMESTAMP: 4,
  SSRC: 8,
  /** First CSRC identifier, 4 octets each, CC of them. */
  CSRC_LIST: 12,
} as const;

/** Size of one CSRC identifier. */
export const RTP_CSRC_SIZE = 4;
/** Size of the header-extension header ("defined by profile" + length), §5.3.1. */
export const RTP_EXTENSION_HEADER_SIZE = 4;

/**
 * Negative results of {@link parseRtpHeader}; 0 means the header is valid.
 * One table of stable codes (STYLE.md §3).
 */
export const RtpParseError = {
  OK: 0,
  /** Fewer than 12 octets. */
  TRUNCATED: -1,
  /** V is not 2 (RFC 3550 A.1: "RTP version field must equal 2"). */
  BAD_VERSION: -2,
  /** P = 1 and the padding count is 0 or exceeds the octets after the header. */
  BAD_PADDING: -3,
  /** X = 1 and the extension header or its declared words run past the datagram. */
  BAD_EXTENSION: -4,
  /** The CC CSRC identifiers run past the datagram. */
  BAD_CSRC: -5,
} as const;
export type RtpParseError = (typeof RtpParseError)[keyof typeof RtpParseError];

/** Caller-owned parse result, reused for every datagram. */
export interface RtpHeader {
  version: number;
  padding: boolean;
  extension: boolean;
  csrcCount: number;
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  /** Offset of the first payload octet (after CSRCs and extension). */
  payloadOffset: number;
  /** Payload octets, padding excluded. */
  payloadLength: number;
}

/** A zeroed {@link RtpHeader} to reuse across {@link parseRtpHeader} calls. */
export function createRtpHeader(): RtpHeader {
  return {
    version: 0,
    padding: false,
    extension: false,
    csrcCount: 0,
    marker: false,
    payloadType: 0,
    sequenceNumber: 0,
    timestamp: 0,
    ssrc: 0,
    payloadOffset: 0,
    payloadLength: 0,
  };
}

/**
 * Write a 12-octet fixed header at `off`: V = 2, P = 0, X = 0, CC = 0.
 * `timestamp` is taken modulo 2^32 and `sequenceNumber` modulo 2^16, so
 * callers may pass an unwrapped 33-bit 90 kHz value. The caller guarantees
 * `off + 12 <= buf.length` (a programmer error otherwise: typed arrays
 * silently drop out-of-range writes).
 * @returns octets written (always {@link RTP_HEADER_SIZE}).
 */
export function writeRtpHeader(
  buf: Uint8Array,
  off: number,
  payloadType: number,
  marker: boolean,
  sequenceNumber: number,
  timestamp: number,
  ssrc: number,
): number {
  const ts = timestamp >>> 0; // ToUint32 is modulo 2^32 for any integer < 2^53
  const id = ssrc >>> 0;
  buf[off + RtpOffset.VPXCC] = RTP_VERSION << 6;
  buf[off + RtpOffset.M_PT] = (marker ? 0x80 : 0) | (payloadType & 0x7f);
  buf[off + RtpOffset.SEQUENCE_NUMBER] = (sequenceNumber >>> 8) & 0xff;
  buf[off + RtpOffset.SEQUENCE_NUMBER + 1] = sequenceNumber & 0xff;
  buf[off + RtpOffset.TIMESTAMP] = ts >>> 24;
  buf[off + RtpOffset.TIMESTAMP + 1] = (ts >>> 16) & 0xff;
  buf[off + RtpOffset.TIMESTAMP + 2] = (ts >>> 8) & 0xff;
  buf[off + RtpOffset.TIMESTAMP + 3] = ts & 0xff;
  buf[off + RtpOffset.SSRC] = id >>> 24;
  buf[off + RtpOffset.SSRC + 1] = (id >>> 16) & 0xff;
  buf[off + RtpOffset.SSRC + 2] = (id >>> 8) & 0xff;
  buf[off + RtpOffset.SSRC + 3] = id & 0xff;
  return RTP_HEADER_SIZE;
}

function u32(buf: Uint8Array, off: number): number {
  return buf[off] * 16777216 + ((buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]);
}

/**
 * Parse the RTP header of the datagram in `buf[0, len)` into `out`.
 * Bounds-checked against both `len` and `buf.length` (the smaller wins); never
 * throws. On error `out` holds whatever fields were read before the check that
 * failed and must not be used.
 * @returns 0, or a negative {@link RtpParseError} code.
 */
export function parseRtpHeader(buf: Uint8Array, len: number, out: RtpHeader): RtpParseError {
  // A non-integer, negative or NaN `len` is treated as "nothing there".
  let n = len > buf.length ? buf.length : len;
  if (!(n >= 0)) n = 0;
  n = Math.floor(n);
  if (n < RTP_HEADER_SIZE) return RtpParseError.TRUNCATED;

  const b0 = buf[RtpOffset.VPXCC];
  const b1 = buf[RtpOffset.M_PT];
  out.version = b0 >> 6;
  out.padding = (b0 & 0x20) !== 0;
  out.extension = (b0 & 0x10) !== 0;
  out.csrcCount = b0 & 0x0f;
  out.marker = (b1 & 0x80) !== 0;
  out.payloadType = b1 & 0x7f;
  out.sequenceNumber = (buf[RtpOffset.SEQUENCE_NUMBER] << 8) | buf[RtpOffset.SEQUENCE_NUMBER + 1];
  out.timestamp = u32(buf, RtpOffset.TIMESTAMP);
  out.ssrc = u32(buf, RtpOffset.SSRC);
  out.payloadOffset = 0;
  out.payloadLength = 0;
  if (out.version !== RTP_VERSION) return RtpParseError.BAD_VERSION;

  let p = RtpOffset.CSRC_LIST + out.csrcCount * RTP_CSRC_SIZE;
  if (p > n) return RtpParseError.BAD_CSRC;

  if (out.extension) {
    // §5.3.1: 4-octet extension header, then `length` 32-bit words.
    if (p + RTP_EXTENSION_HEADER_SIZE > n) return RtpParseError.BAD_EXTENSION;
    const words = (buf[p + 2] << 8) | buf[p + 3];
    p += RTP_EXTENSION_HEADER_SIZE + words * 4;
    if (p > n) return RtpParseError.BAD_EXTENSION;
  }

  let end = n;
  if (out.padding) {
    // §5.1: the last octet counts the padding, itself included; it may not
    // reach into the header (A.1 validity check).
    const count = buf[n - 1];
    if (count === 0 || count > n - p) return RtpParseError.BAD_PADDING;
    end = n - count;
  }
  out.payloadOffset = p;
  out.payloadLength = end - p;
  return RtpParseError.OK;
}
