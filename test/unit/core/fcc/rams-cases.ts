/**
 * Annotated RAMS vectors (RFC 6285 §7, RFC 4585 §6.1, RFC 3550 §6): one
 * table, three uses (STYLE.md §7). The same cases drive the parser test, the
 * writer test (cases with `writtenAt`) and the seeds of the fast-check
 * properties. The hex is laid out by hand from the RFC diagrams, one comment
 * per field (`#` to end of line); it is not produced by our writer.
 *
 * SSRCs used throughout: 0x0a0b0c0d the set-top box (RTP_Rx), 0x00c0ffee the
 * headend's FCC server (burst source), 0xdeadbeef the channel's media sender.
 */

import {
  RamsParseError,
  RamsResponseCode,
  RamsSfmt,
  type RamsMessage,
  type RamsParseErrorCode,
} from '../../../../core/fcc/rams.js';

/** Annotated hex to bytes: `#` starts a comment, whitespace is ignored. */
export function hex(annotated: string): Buffer {
  const digits = annotated
    .split('\n')
    .map((line) => line.replace(/#.*$/, ''))
    .join('')
    .replace(/\s+/g, '');
  if (digits.length % 2 !== 0 || /[^0-9a-f]/i.test(digits)) throw new Error(`bad hex vector: ${digits}`);
  return Buffer.from(digits, 'hex');
}

export interface RamsCase {
  name: string;
  bytes: Buffer;
  /** The parse result: the whole message, or the error code. */
  result: RamsMessage | RamsParseErrorCode;
  /**
   * When set, writing `result` gives `bytes.subarray(writtenAt)` byte for
   * byte (0 for a lone packet; the RAMS packet's offset in a compound one).
   */
  writtenAt?: number;
}

const STB = 0x0a0b0c0d;
const FCC = 0x00c0ffee;
const CHANNEL = 0xdeadbeef;

export const ramsCases: RamsCase[] = [
  // ------------------------------------------------------------ RAMS-R
  {
    name: 'RAMS-R with every vendor-neutral TLV',
    bytes: hex(`
      86 cd 00 10   # V2 P0 FMT6 RAMS | PT205 RTPFB | length 16 (68 octets)
      0a 0b 0c 0d   # SSRC of packet sender: the STB
      0a 0b 0c 0d   # SSRC of media source: the STB's own again
      01 00 00 00   # SFMT 1 RAMS-R | reserved
      01 00 00 08   # TLV 1 Requested Media Sender SSRC(s) | reserved | length 8
      de ad be ef   #   SSRC 0xdeadbeef
      55 66 77 88   #   SSRC 0x55667788
      02 00 00 04   # TLV 2 Min RAMS Buffer Fill Requirement | length 4
      00 00 01 f4   #   500 ms
      03 00 00 04   # TLV 3 Max RAMS Buffer Fill Requirement | length 4
      00 00 0b b8   #   3000 ms
      04 00 00 08   # TLV 4 Max Receive Bitrate | length 8
      00 00 00 00   #   high 32 bits
      01 31 2d 00   #   low 32 bits: 20 000 000 bit/s
      05 00 00 00   # TLV 5 Request for Preamble Only | length 0
      06 00 00 04   # TLV 6 Supported Enterprise Number(s) | length 4
      00 00 00 09   #   PEN 9
    `),
    result: {
      sfmt: RamsSfmt.request,
      senderSsrc: STB,
      mediaSsrc: STB,
      requestedMediaSenderSsrcs: [CHANNEL, 0x55667788],
      minRamsBufferFillMs: 500,
      maxRamsBufferFillMs: 3000,
      maxReceiveBitrateBps: 20_000_000,
      preambleOnly: true,
      supportedEnterpriseNumbers: [9],
    },
    writtenAt: 0,
  },
  {
    name: 'RAMS-R with no TLV',
    bytes: hex(`
      86 cd 00 03   # V2 P0 FMT6 | PT205 | length 3 (16 octets)
      0a 0b 0c 0d   # SSRC of packet sender: the STB
      0a 0b 0c 0d   # SSRC of media source
      01 00 00 00   # SFMT 1 RAMS-R | reserved
    `),
    result: { sfmt: RamsSfmt.request, senderSsrc: STB, mediaSsrc: STB },
    writtenAt: 0,
  },
  {
    name: 'RAMS-R max receive bitrate above 2^32 (10 Gbit/s)',
    bytes: hex(`
      86 cd 00 06   # V2 P0 FMT6 | PT205 | length 6 (28 octets)
      0a 0b 0c 0d   # SSRC of packet sender
      0a 0b 0c 0d   # SSRC of media source
      01 00 00 00   # SFMT 1 | reserved
      04 00 00 08   # TLV 4 Max Receive Bitrate | length 8
      00 00 00 02   #   high 32 bits: 2
      54 0b e4 00   #   low 32 bits: 2·2^32 + 0x540be400 = 10^10 bit/s
    `),
    result: { sfmt: RamsSfmt.request, senderSsrc: STB, mediaSsrc: STB, maxReceiveBitrateBps: 10_000_000_000 },
    writtenAt: 0,
  },
  {
    name: 'RAMS-R with an empty SSRC list and a padded private extension',
    bytes: hex(`
      86 cd 00 07   # V2 P0 FMT6 | PT205 | length 7 (32 octets)
      0a 0b 0c 0d   # SSRC of packet sender
      0a 0b 0c 0d   # SSRC of media source
      01 00 00 00   # SFMT 1 | reserved
      01 00 00 00   # TLV 1 Requested Media Sender SSRC(s) | length 0 (no SSRC named)
      80 00 00 07   # TLV 128 private extension | reserved | length 7 (PEN + 3)
      00 00 00 09   #   enterprise number 9
      aa bb cc 00   #   value aa bb cc | 1 octet of padding to the 32-bit boundary
    `),
    result: {
      sfmt: RamsSfmt.request,
      senderSsrc: STB,
      mediaSsrc: STB,
      requestedMediaSenderSsrcs: [],
      privateExtensions: [{ type: 128, enterpriseNumber: 9, value: hex('aa bb cc') }],
    },
    writtenAt: 0,
  },
  {
    name: 'RAMS-R skips an unknown TLV, a RAMS-I TLV and the reserved type 0',
    bytes: hex(`
      86 cd 00 0a   # V2 P0 FMT6 | PT205 | length 10 (44 octets)
      0a 0b 0c 0d   # SSRC of packet sender
      0a 0b 0c 0d   # SSRC of media source
      01 00 00 00   # SFMT 1 | reserved
      07 00 00 03   # TLV 7 (unassigned) | length 3
      01 02 03 00   #   value 01 02 03 | padding
      1f 00 00 04   # TLV 31 Media Sender SSRC: a RAMS-I element, unknown here
      12 34 56 78   #   value
      00 00 00 00   # TLV 0 (reserved) | length 0
      02 00 00 04   # TLV 2 Min RAMS Buffer Fill Requirement | length 4
      00 00 01 f4   #   500 ms
    `),
    result: { sfmt: RamsSfmt.request, senderSsrc: STB, mediaSsrc: STB, minRamsBufferFillMs: 500 },
  },
  {
    name: 'compound RR + SDES + RAMS-R (RFC 3550 §6.1)',
    bytes: hex(`
      80 c9 00 01   # RR: V2 P0 RC0 | PT201 | length 1 (8 octets)
      0a 0b 0c 0d   #   SSRC of packet sender
      81 ca 00 03   # SDES: V2 P0 SC1 | PT202 | length 3 (16 octets)
      0a 0b 0c 0d   #   chunk SSRC
      01 04 73 74   #   CNAME | length 4 | "st"
      62 31 00 00   #   "b1" | end of items | pad to 32 bits
      86 cd 00 05   # RAMS-R: V2 P0 FMT6 | PT205 | length 5 (24 octets)
      0a 0b 0c 0d   #   SSRC of packet sender
      0a 0b 0c 0d   #   SSRC of media source
      01 00 00 00   #   SFMT 1 | reserved
      02 00 00 04   #   TLV 2 Min RAMS Buffer Fill Requirement | length 4
      00 00 01 f4   #     500 ms
    `),
    result: { sfmt: RamsSfmt.request, senderSsrc: STB, mediaSsrc: STB, minRamsBufferFillMs: 500 },
    writtenAt: 24,
  },
  {
    name: 'reduced-size RAMS-R with 4 octets of RTCP padding (P = 1)',
    bytes: hex(`
      a6 cd 00 04   # V2 P1 FMT6 | PT205 | length 4 (20 octets, padding included)
      0a 0b 0c 0d   # SSRC of packet sender
      0a 0b 0c 0d   # SSRC of media source
      01 00 00 00   # SFMT 1 | reserved
      00 00 00 04   # padding: 3 octets + count 4
    `),
    result: { sfmt: RamsSfmt.request, senderSsrc: STB, mediaSsrc: STB },
  },
  // ------------------------------------------------------------ RAMS-I
  {
    name: 'RAMS-I accepting a burst, every vendor-neutral TLV',
    bytes: hex(`
      86 cd 00 0e   # V2 P0 FMT6 | PT205 | length 14 (60 octets)
      00 c0 ff ee   # SSRC of packet sender: the FCC server
      0a 0b 0c 0d   # SSRC of media source: the STB
      02 00 00 c8   # SFMT 2 RAMS-I | MSN 0 | Response 200 accepted
      1f 00 00 04   # TLV 31 Media Sender SSRC | length 4
      de ad be ef   #   the channel's SSRC
      20 00 00 02   # TLV 32 RTP Seqnum of the First Packet | length 2
      12 34 00 00   #   sequence number 0x1234 | 2 octets of padding
      21 00 00 04   # TLV 33 Earliest Multicast Join Time | length 4
      00 00 00 64   #   100 ms
      22 00 00 04   # TLV 34 Burst Duration | length 4
      00 00 05 dc   #   1500 ms
      23 00 00 08   # TLV 35 Max Transmit Rate | length 8
      00 00 00 00   #   high 32 bits
      02 62 5a 00   #   low 32 bits: 40 000 000 bit/s
    `),
    result: {
      sfmt: RamsSfmt.information,
      senderSsrc: FCC,
      mediaSsrc: STB,
      msn: 0,
      responseCode: RamsResponseCode.accepted,
      mediaSenderSsrc: CHANNEL,
      firstPacketSequenceNumber: 0x1234,
      earliestMulticastJoinTimeMs: 100,
      burstDurationMs: 1500,
      maxTransmitRateBps: 40_000_000,
    },
    writtenAt: 0,
  },
  {
    name: 'RAMS-I burst completed, no TLV',
    bytes: hex(`
      86 cd 00 03   # V2 P0 FMT6 | PT205 | length 3 (16 octets)
      00 c0 ff ee   # SSRC of packet sender: the FCC server
      0a 0b 0c 0d   # SSRC of media source: the STB
      02 03 00 c9   # SFMT 2 | MSN 3 | Response 201 burst completed
    `),
    result: { sfmt: RamsSfmt.information, senderSsrc: FCC, mediaSsrc: STB, msn: 3, responseCode: RamsResponseCode.burstCompleted },
    writtenAt: 0,
  },
  {
    name: 'RAMS-I with a private response code in a private extension',
    bytes: hex(`
      86 cd 00 06   # V2 P0 FMT6 | PT205 | length 6 (28 octets)
      00 c0 ff ee   # SSRC of packet sender
      0a 0b 0c 0d   # SSRC of media source
      02 ff 00 01   # SFMT 2 | MSN 255 | Response 1 private
      81 00 00 08   # TLV 129 private extension | length 8 (PEN + 4)
      00 00 00 09   #   enterprise number 9
      00 00 01 f7   #   the vendor's code
    `),
    result: {
      sfmt: RamsSfmt.information,
      senderSsrc: FCC,
      mediaSsrc: STB,
      msn: 255,
      responseCode: RamsResponseCode.privateResponse,
      privateExtensions: [{ type: 129, enterpriseNumber: 9, value: hex('00 00 01 f7') }],
    },
    writtenAt: 0,
  },
  {
    name: 'RAMS-I 64-bit rate of all ones is read as the nearest double',
    bytes: hex(`
      86 cd 00 06   # V2 P0 FMT6 | PT205 | length 6 (28 octets)
      00 c0 ff ee   # SSRC of packet sender
      0a 0b 0c 0d   # SSRC of media source
      02 01 00 64   # SFMT 2 | MSN 1 | Response 100 parameter update
      23 00 00 08   # TLV 35 Max Transmit Rate | length 8
      ff ff ff ff   #   high 32 bits
      ff ff ff ff   #   low 32 bits: 2^64 - 1
    `),
    result: {
      sfmt: RamsSfmt.information,
      senderSsrc: FCC,
      mediaSsrc: STB,
      msn: 1,
      responseCode: RamsResponseCode.parameterUpdate,
      maxTransmitRateBps: 2 ** 64,
    },
  },
  // ------------------------------------------------------------ RAMS-T
  {
    name: 'RAMS-T with the first multicast packet received',
    bytes: hex(`
      86 cd 00 05   # V2 P0 FMT6 | PT205 | length 5 (24 octets)
      0a 0b 0c 0d   # SSRC of packet sender: the STB
      0a 0b 0c 0d   # SSRC of media source
      03 00 00 00   # SFMT 3 RAMS-T | reserved
      3d 00 00 04   # TLV 61 Extended RTP Seqnum of First Multicast Packet | length 4
      00 01 ab cd   #   cycle 1 | sequence number 0xabcd
    `),
    result: { sfmt: RamsSfmt.termination, senderSsrc: STB, mediaSsrc: STB, firstMulticastExtendedSequenceNumber: 0x0001abcd },
    writtenAt: 0,
  },
  {
    name: 'RAMS-T with no TLV',
    bytes: hex(`
      86 cd 00 03   # V2 P0 FMT6 | PT205 | length 3 (16 octets)
      0a 0b 0c 0d   # SSRC of packet sender
      0a 0b 0c 0d   # SSRC of media source
      03 00 00 00   # SFMT 3 | reserved
    `),
    result: { sfmt: RamsSfmt.termination, senderSsrc: STB, mediaSsrc: STB },
    writtenAt: 0,
  },
  {
    name: 'compound RR + generic NACK + RAMS-T: the NACK is passed over',
    bytes: hex(`
      80 c9 00 01   # RR: V2 P0 RC0 | PT201 | length 1
      0a 0b 0c 0d   #   SSRC of packet sender
      81 cd 00 03   # Generic NACK: V2 P0 FMT1 | PT205 | length 3
      0a 0b 0c 0d   #   SSRC of packet sender
      de ad be ef   #   SSRC of media source
      12 34 00 00   #   PID 0x1234 | BLP 0
      86 cd 00 03   # RAMS-T: V2 P0 FMT6 | PT205 | length 3
      0a 0b 0c 0d   #   SSRC of packet sender
      0a 0b 0c 0d   #   SSRC of media source
      03 00 00 00   #   SFMT 3 | reserved
    `),
    result: { sfmt: RamsSfmt.termination, senderSsrc: STB, mediaSsrc: STB },
    writtenAt: 24,
  },
  // ------------------------------------------------------------ errors
  {
    name: 'empty datagram',
    bytes: hex(''),
    result: RamsParseError.TRUNCATED,
  },
  {
    name: 'three octets',
    bytes: hex(`
      86 cd 00      # header cut short
    `),
    result: RamsParseError.TRUNCATED,
  },
  {
    name: 'RAMS packet of 12 octets: no SFMT word',
    bytes: hex(`
      86 cd 00 02   # V2 P0 FMT6 | PT205 | length 2 (12 octets)
      0a 0b 0c 0d   # SSRC of packet sender
      0a 0b 0c 0d   # SSRC of media source
    `),
    result: RamsParseError.TRUNCATED,
  },
  {
    name: 'version 1',
    bytes: hex(`
      46 cd 00 03   # V1 P0 FMT6 | PT205 | length 3
      0a 0b 0c 0d   # SSRC of packet sender
      0a 0b 0c 0d   # SSRC of media source
      01 00 00 00   # SFMT 1 | reserved
    `),
    result: RamsParseError.BAD_VERSION,
  },
  {
    name: 'a bad packet after a good RAMS-R spoils the compound (RFC 3550 A.2)',
    bytes: hex(`
      86 cd 00 03   # RAMS-R: V2 P0 FMT6 | PT205 | length 3
      0a 0b 0c 0d   #   SSRC of packet sender
      0a 0b 0c 0d   #   SSRC of media source
      01 00 00 00   #   SFMT 1 | reserved
      00 00 00 00   # V0: not RTCP
    `),
    result: RamsParseError.BAD_VERSION,
  },
  {
    name: 'RR alone',
    bytes: hex(`
      80 c9 00 01   # RR: V2 P0 RC0 | PT201 | length 1
      0a 0b 0c 0d   #   SSRC of packet sender
    `),
    result: RamsParseError.NOT_FEEDBACK,
  },
  {
    name: 'payload-specific feedback FMT 6 (TSTN, PT 206) is not RAMS',
    bytes: hex(`
      86 ce 00 03   # V2 P0 FMT6 | PT206 PSFB | length 3
      0a 0b 0c 0d   # SSRC of packet sender
      de ad be ef   # SSRC of media source
      01 00 00 00   # FCI
    `),
    result: RamsParseError.NOT_FEEDBACK,
  },
  {
    name: 'generic NACK alone',
    bytes: hex(`
      81 cd 00 03   # V2 P0 FMT1 | PT205 | length 3
      0a 0b 0c 0d   # SSRC of packet sender
      de ad be ef   # SSRC of media source
      12 34 00 00   # PID 0x1234 | BLP 0
    `),
    result: RamsParseError.WRONG_FMT,
  },
  {
    name: 'SFMT 4',
    bytes: hex(`
      86 cd 00 03   # V2 P0 FMT6 | PT205 | length 3
      0a 0b 0c 0d   # SSRC of packet sender
      0a 0b 0c 0d   # SSRC of media source
      04 00 00 00   # SFMT 4 (unassigned) | reserved
    `),
    result: RamsParseError.UNKNOWN_SFMT,
  },
  {
    name: 'SFMT 0',
    bytes: hex(`
      86 cd 00 03   # V2 P0 FMT6 | PT205 | length 3
      0a 0b 0c 0d   # SSRC of packet sender
      0a 0b 0c 0d   # SSRC of media source
      00 00 00 00   # SFMT 0 (reserved) | reserved
    `),
    result: RamsParseError.UNKNOWN_SFMT,
  },
  {
    name: 'length field longer than the datagram',
    bytes: hex(`
      86 cd 00 0d   # V2 P0 FMT6 | PT205 | length 13 (56 octets; 16 present)
      0a 0b 0c 0d   # SSRC of packet sender
      0a 0b 0c 0d   # SSRC of media source
      01 00 00 00   # SFMT 1 | reserved
    `),
    result: RamsParseError.LENGTH_MISMATCH,
  },
  {
    name: 'two stray octets after the packet',
    bytes: hex(`
      86 cd 00 03   # V2 P0 FMT6 | PT205 | length 3
      0a 0b 0c 0d   # SSRC of packet sender
      0a 0b 0c 0d   # SSRC of media source
      01 00 00 00   # SFMT 1 | reserved
      00 00         # stray
    `),
    result: RamsParseError.LENGTH_MISMATCH,
  },
  {
    name: 'padding count 0',
    bytes: hex(`
      a6 cd 00 04   # V2 P1 FMT6 | PT205 | length 4
      0a 0b 0c 0d   # SSRC of packet sender
      0a 0b 0c 0d   # SSRC of media source
      01 00 00 00   # SFMT 1 | reserved
      00 00 00 00   # last octet: padding count 0 (invalid)
    `),
    result: RamsParseError.BAD_PADDING,
  },
  {
    name: 'padding count reaching into the fixed part',
    bytes: hex(`
      a6 cd 00 03   # V2 P1 FMT6 | PT205 | length 3 (16 octets)
      0a 0b 0c 0d   # SSRC of packet sender
      0a 0b 0c 0d   # SSRC of media source
      01 00 00 08   # SFMT 1 | reserved ... last octet: count 8 > 0 octets after the fixed part
    `),
    result: RamsParseError.BAD_PADDING,
  },
  {
    name: 'TLV value runs past the packet',
    bytes: hex(`
      86 cd 00 05   # V2 P0 FMT6 | PT205 | length 5 (24 octets)
      0a 0b 0c 0d   # SSRC of packet sender
      0a 0b 0c 0d   # SSRC of media source
      01 00 00 00   # SFMT 1 | reserved
      04 00 00 08   # TLV 4 Max Receive Bitrate | length 8
      00 00 00 00   #   only 4 of 8 octets
    `),
    result: RamsParseError.TLV_OVERRUN,
  },
  {
    name: 'TLV header cut short by the RTCP padding',
    bytes: hex(`
      a6 cd 00 05   # V2 P1 FMT6 | PT205 | length 5 (24 octets)
      0a 0b 0c 0d   # SSRC of packet sender
      0a 0b 0c 0d   # SSRC of media source
      01 00 00 00   # SFMT 1 | reserved
      05 00 00 00   # 2 octets of TLV area (05 00) | padding starts
      00 00 00 06   # padding: count 6
    `),
    result: RamsParseError.TLV_OVERRUN,
  },
  {
    name: 'Min RAMS Buffer Fill Requirement of 2 octets',
    bytes: hex(`
      86 cd 00 05   # V2 P0 FMT6 | PT205 | length 5
      0a 0b 0c 0d   # SSRC of packet sender
      0a 0b 0c 0d   # SSRC of media source
      01 00 00 00   # SFMT 1 | reserved
      02 00 00 02   # TLV 2 | length 2 (must be 4)
      01 f4 00 00   #   value | padding
    `),
    result: RamsParseError.BAD_TLV_LENGTH,
  },
  {
    name: 'Request for Preamble Only with a value',
    bytes: hex(`
      86 cd 00 05   # V2 P0 FMT6 | PT205 | length 5
      0a 0b 0c 0d   # SSRC of packet sender
      0a 0b 0c 0d   # SSRC of media source
      01 00 00 00   # SFMT 1 | reserved
      05 00 00 04   # TLV 5 | length 4 (must be 0)
      00 00 00 01   #   value
    `),
    result: RamsParseError.BAD_TLV_LENGTH,
  },
  {
    name: 'SSRC list of 6 octets',
    bytes: hex(`
      86 cd 00 05   # V2 P0 FMT6 | PT205 | length 5
      0a 0b 0c 0d   # SSRC of packet sender
      0a 0b 0c 0d   # SSRC of media source
      01 00 00 00   # SFMT 1 | reserved
      01 00 00 06   # TLV 1 | length 6 (not a multiple of 4)
      de ad be ef   #   value ...
    `),
    result: RamsParseError.TLV_OVERRUN,
  },
  {
    name: 'SSRC list of 6 octets, padded',
    bytes: hex(`
      86 cd 00 06   # V2 P0 FMT6 | PT205 | length 6
      0a 0b 0c 0d   # SSRC of packet sender
      0a 0b 0c 0d   # SSRC of media source
      01 00 00 00   # SFMT 1 | reserved
      01 00 00 06   # TLV 1 | length 6 (not a multiple of 4)
      de ad be ef   #   value ...
      55 66 00 00   #   ... | padding
    `),
    result: RamsParseError.BAD_TLV_LENGTH,
  },
  {
    name: 'private extension too short for its enterprise number',
    bytes: hex(`
      86 cd 00 05   # V2 P0 FMT6 | PT205 | length 5
      0a 0b 0c 0d   # SSRC of packet sender
      0a 0b 0c 0d   # SSRC of media source
      03 00 00 00   # SFMT 3 | reserved
      fe 00 00 02   # TLV 254 private | length 2 (< 4)
      00 09 00 00   #   value | padding
    `),
    result: RamsParseError.BAD_TLV_LENGTH,
  },
  {
    name: 'RAMS-I RTP Seqnum of the First Packet of 4 octets',
    bytes: hex(`
      86 cd 00 05   # V2 P0 FMT6 | PT205 | length 5
      00 c0 ff ee   # SSRC of packet sender
      0a 0b 0c 0d   # SSRC of media source
      02 00 00 c8   # SFMT 2 | MSN 0 | Response 200
      20 00 00 04   # TLV 32 | length 4 (must be 2)
      00 00 12 34   #   value
    `),
    result: RamsParseError.BAD_TLV_LENGTH,
  },
];
