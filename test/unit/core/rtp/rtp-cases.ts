/**
 * Annotated RTP header vectors: one table, three uses (STYLE.md §7, after
 * mediacommon's casesReadWriter). The same cases drive the parser test, the
 * writer test (cases with `write`) and the seeds of the fast-check properties.
 * Hex has one comment per field (`#` to end of line).
 */

import { RtpParseError, type RtpHeader } from '../../../../core/rtp/header.js';

export function hex(annotated: string): Buffer {
  const digits = annotated
    .split('\n')
    .map((line) => line.replace(/#.*$/, ''))
    .join('')
    .replace(/\s+/g, '');
  if (digits.length % 2 !== 0 || /[^0-9a-f]/i.test(digits)) throw new Error(`bad hex vector: ${digits}`);
  return Buffer.from(digits, 'hex');
}

export interface RtpCase {
  name: string;
  bytes: Buffer;
  result: RtpParseError;
  /** Expected parse fields when result is OK. */
  header?: Partial<RtpHeader>;
  /** writeRtpHeader arguments that must produce bytes[0, 12). */
  write?: { payloadType: number; marker: boolean; sequenceNumber: number; timestamp: number; ssrc: number };
}

export const rtpCases: RtpCase[] = [
  {
    name: 'fixed header, MP2T, 4 payload octets',
    bytes: hex(`
      80 21 12 34   # V2 P0 X0 CC0 | M0 PT33 | sequence number 0x1234
      00 01 5f 90   # timestamp 90000 (1 s at 90 kHz)
      de ad be ef   # SSRC 0xdeadbeef
      47 1f ff 10   # payload: start of a null TS packet
    `),
    result: RtpParseError.OK,
    header: {
      version: 2, padding: false, extension: false, csrcCount: 0, marker: false, payloadType: 33,
      sequenceNumber: 0x1234, timestamp: 90000, ssrc: 0xdeadbeef, payloadOffset: 12, payloadLength: 4,
    },
    write: { payloadType: 33, marker: false, sequenceNumber: 0x1234, timestamp: 90000, ssrc: 0xdeadbeef },
  },
  {
    name: 'marker set, every counter at its maximum',
    bytes: hex(`
      80 a1 ff ff   # V2 P0 X0 CC0 | M1 PT33 | sequence number 65535
      ff ff ff ff   # timestamp 2^32-1
      ff ff ff ff   # SSRC 2^32-1
    `),
    result: RtpParseError.OK,
    header: { marker: true, payloadType: 33, sequenceNumber: 65535, timestamp: 0xffffffff, ssrc: 0xffffffff, payloadOffset: 12, payloadLength: 0 },
    write: { payloadType: 33, marker: true, sequenceNumber: 65535, timestamp: 0xffffffff, ssrc: 0xffffffff },
  },
  {
    name: 'timestamp written modulo 2^32 from a 33-bit 90 kHz value',
    bytes: hex(`
      80 21 00 00   # V2 | M0 PT33 | sequence number 0
      00 00 00 05   # timestamp (2^32 + 5) mod 2^32 = 5
      00 00 00 01   # SSRC 1
    `),
    result: RtpParseError.OK,
    header: { timestamp: 5, ssrc: 1 },
    write: { payloadType: 33, marker: false, sequenceNumber: 0, timestamp: 2 ** 32 + 5, ssrc: 1 },
  },
  {
    name: 'two CSRCs',
    bytes: hex(`
      82 21 00 07   # V2 P0 X0 CC2 | M0 PT33 | sequence number 7
      00 00 00 00   # timestamp 0
      00 00 00 2a   # SSRC 42
      11 11 11 11   # CSRC[0]
      22 22 22 22   # CSRC[1]
      47 00         # payload (2 octets)
    `),
    result: RtpParseError.OK,
    header: { csrcCount: 2, payloadOffset: 20, payloadLength: 2, ssrc: 42 },
  },
  {
    name: 'header extension of one word (RFC 3550 §5.3.1)',
    bytes: hex(`
      90 21 00 08   # V2 P0 X1 CC0 | M0 PT33 | sequence number 8
      00 00 00 00   # timestamp 0
      00 00 00 2a   # SSRC 42
      be de 00 01   # extension: defined by profile 0xBEDE | length 1 word
      01 02 03 04   # extension data
      47 00 00      # payload (3 octets)
    `),
    result: RtpParseError.OK,
    header: { extension: true, payloadOffset: 20, payloadLength: 3 },
  },
  {
    name: 'empty header extension (length 0)',
    bytes: hex(`
      90 21 00 09   # V2 P0 X1 CC0 | M0 PT33 | sequence number 9
      00 00 00 00   # timestamp 0
      00 00 00 2a   # SSRC 42
      10 00 00 00   # extension: profile 0x1000 | length 0 words
    `),
    result: RtpParseError.OK,
    header: { extension: true, payloadOffset: 16, payloadLength: 0 },
  },
  {
    name: 'padding of 3 octets, count included (RFC 3550 §5.1)',
    bytes: hex(`
      a0 21 00 0a   # V2 P1 X0 CC0 | M0 PT33 | sequence number 10
      00 00 00 00   # timestamp 0
      00 00 00 2a   # SSRC 42
      47 00         # payload (2 octets)
      00 00 03      # padding: 2 octets + count 3
    `),
    result: RtpParseError.OK,
    header: { padding: true, payloadOffset: 12, payloadLength: 2 },
  },
  {
    name: 'padding that is the whole payload',
    bytes: hex(`
      a0 21 00 0b   # V2 P1 X0 CC0 | M0 PT33 | sequence number 11
      00 00 00 00   # timestamp 0
      00 00 00 2a   # SSRC 42
      00 00 00 04   # padding: 3 octets + count 4
    `),
    result: RtpParseError.OK,
    header: { padding: true, payloadOffset: 12, payloadLength: 0 },
  },
  {
    name: 'CSRC, extension and padding together',
    bytes: hex(`
      b1 21 00 0c   # V2 P1 X1 CC1 | M0 PT33 | sequence number 12
      00 00 00 00   # timestamp 0
      00 00 00 2a   # SSRC 42
      33 33 33 33   # CSRC[0]
      00 01 00 01   # extension: profile 0x0001 | length 1 word
      aa bb cc dd   # extension data
      47 01 02 03   # payload (4 octets)
      00 02         # padding: 1 octet + count 2
    `),
    result: RtpParseError.OK,
    header: { csrcCount: 1, extension: true, padding: true, payloadOffset: 24, payloadLength: 4 },
  },
  {
    name: 'truncated: 11 octets',
    bytes: hex(`
      80 21 00 01   # V2 | M0 PT33 | sequence number 1
      00 00 00 00   # timestamp 0
      00 00 00      # SSRC cut short
    `),
    result: RtpParseError.TRUNCATED,
  },
  {
    name: 'empty datagram',
    bytes: hex(''),
    result: RtpParseError.TRUNCATED,
  },
  {
    name: 'version 1',
    bytes: hex(`
      40 21 00 01   # V1 P0 X0 CC0 | M0 PT33 | sequence number 1
      00 00 00 00   # timestamp 0
      00 00 00 2a   # SSRC 42
    `),
    result: RtpParseError.BAD_VERSION,
  },
  {
    name: 'raw TS mistaken for RTP (sync byte 0x47 = V1)',
    bytes: hex(`
      47 40 00 10   # TS header: sync | PUSI PID 0 | CC 0   (as RTP: V1)
      00 00 b0 0d   # pointer field, PAT table id, section length
      00 01 c1 00   # transport_stream_id, version, section numbers
    `),
    result: RtpParseError.BAD_VERSION,
  },
  {
    name: 'CC 15 but only two CSRCs present',
    bytes: hex(`
      8f 21 00 01   # V2 P0 X0 CC15 | M0 PT33 | sequence number 1
      00 00 00 00   # timestamp 0
      00 00 00 2a   # SSRC 42
      11 11 11 11   # CSRC[0]
      22 22 22 22   # CSRC[1] (13 missing)
    `),
    result: RtpParseError.BAD_CSRC,
  },
  {
    name: 'X set, no room for the extension header',
    bytes: hex(`
      90 21 00 01   # V2 P0 X1 CC0 | M0 PT33 | sequence number 1
      00 00 00 00   # timestamp 0
      00 00 00 2a   # SSRC 42
      be de         # extension header cut short
    `),
    result: RtpParseError.BAD_EXTENSION,
  },
  {
    name: 'extension length runs past the datagram',
    bytes: hex(`
      90 21 00 01   # V2 P0 X1 CC0 | M0 PT33 | sequence number 1
      00 00 00 00   # timestamp 0
      00 00 00 2a   # SSRC 42
      be de 00 02   # extension: length 2 words (8 octets)
      01 02 03 04   # only 4 present
    `),
    result: RtpParseError.BAD_EXTENSION,
  },
  {
    name: 'padding count 0',
    bytes: hex(`
      a0 21 00 01   # V2 P1 X0 CC0 | M0 PT33 | sequence number 1
      00 00 00 00   # timestamp 0
      00 00 00 2a   # SSRC 42
      47 00 00 00   # payload ... last octet: padding count 0 (invalid)
    `),
    result: RtpParseError.BAD_PADDING,
  },
  {
    name: 'padding count larger than the payload',
    bytes: hex(`
      a0 21 00 01   # V2 P1 X0 CC0 | M0 PT33 | sequence number 1
      00 00 00 00   # timestamp 0
      00 00 00 2a   # SSRC 42
      47 00 05      # payload 2 octets | padding count 5 (only 3 after the header)
    `),
    result: RtpParseError.BAD_PADDING,
  },
  {
    name: 'padding bit on a header-only datagram (count would be the SSRC)',
    bytes: hex(`
      a0 21 00 01   # V2 P1 X0 CC0 | M0 PT33 | sequence number 1
      00 00 00 00   # timestamp 0
      00 00 00 01   # SSRC 1: last octet 1 > 0 octets after the header
    `),
    result: RtpParseError.BAD_PADDING,
  },
];
