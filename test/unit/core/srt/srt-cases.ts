/**
 * Annotated SRT vectors: one table per packet kind, each with three uses
 * (STYLE.md §7, after mediacommon's casesReadWriter): the parser test, the
 * writer test (cases marked `written`) and the seeds of the fast-check
 * properties. Hex has one comment per field (`#` to end of line).
 *
 * Two sources:
 *
 * - Hand-derived from the figures of draft-sharabayko-srt-01 §3 and
 *   Appendix A (names without "libsrt").
 * - REAL packets from libsrt 1.5.1 (Debian srt-tools `srt-live-transmit`),
 *   captured on loopback during development with a throwaway Node UDP
 *   listener/caller (names start with "libsrt"). Recipe, so the bytes can be
 *   re-made (STYLE.md §7, "Fixtures from a recipe"):
 *     1. libsrt as caller and sender: a UDP socket on 127.0.0.1:9000 answers
 *        `srt-live-transmit -a:no -t:8 udp://127.0.0.1:9001
 *        'srt://127.0.0.1:9000?mode=caller&latency=120&streamid=room/101'`
 *        with the INDUCTION answer below (draft §4.3.1.1; our listener ID
 *        0x1a2b3c4d, cookie 0x5eed1e55) and a CONCLUSION carrying HSRSP;
 *        MPEG-TS fed to udp://127.0.0.1:9001 then arrives as DATA; a full
 *        ACK number 1 sent back draws the ACKACK; SIGINT draws the SHUTDOWN.
 *        The same with `&passphrase=roomcast-secret&pbkeylen=16` appended
 *        gives the CONCLUSION with KMREQ.
 *     2. libsrt as caller and receiver: `srt-live-transmit -a:no -t:8
 *        'srt://127.0.0.1:9010?mode=caller&latency=120&streamid=room/101'
 *        udp://127.0.0.1:9011`; after the handshake our socket sends data
 *        packets ISN+0, +1, +5 …: libsrt answers with full ACKs and the NAK
 *        of ISN+2..ISN+4.
 *     3. libsrt as listener: `srt-live-transmit -a:no -t:4
 *        'srt://:9030?mode=listener&latency=120&passphrase=roomcast-secret&pbkeylen=16'
 *        udp://127.0.0.1:9031` (and port 9040 without the passphrase); our
 *        caller (socket ID 0x0badcafe, ISN 0x01020304) sends INDUCTION then a
 *        CONCLUSION with HSREQ and Stream ID "room/101", byte-identical in
 *        layout to libsrt's own.
 *     4. As 1, our socket bound to 192.0.2.2 (the host's eth0) and
 *        `&adapter=127.0.0.1` on the caller: the INDUCTION comes from
 *        127.0.0.1 and names 192.0.2.2 in Peer IP.
 *   The tests themselves need no libsrt.
 */

import {
  PacketPosition,
  EncryptionKeyFlags,
  SrtAckKind,
  SrtParseError,
  ControlType,
  type SrtAck,
  type SrtDropReq,
  type SrtHeader,
  type SrtParseErrorCode,
} from '../../../../core/srt/packet.js';
import { HandshakeType, SrtFlags, type SrtHandshake } from '../../../../core/srt/handshake.js';

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

/** A 16-octet peer IP field value (network order) for an IPv4 address. */
export function ip4(a: number, b: number, c: number, d: number): Uint8Array {
  const ip = new Uint8Array(16);
  ip.set([a, b, c, d]);
  return ip;
}

const LOOPBACK = ip4(127, 0, 0, 1);
/** What libsrt 1.5.1 sends in HSREQ and HSRSP: every flag but STREAM. */
const LIBSRT_FLAGS =
  SrtFlags.TSBPDSND | SrtFlags.TSBPDRCV | SrtFlags.CRYPT | SrtFlags.TLPKTDROP |
  SrtFlags.PERIODICNAK | SrtFlags.REXMITFLG | SrtFlags.PACKET_FILTER; // 0xbf
const LIBSRT_HS = { srtVersion: 0x00010501, srtFlags: LIBSRT_FLAGS, receiverTsbpdDelayMs: 120, senderTsbpdDelayMs: 120 };

// ================================================================ header

/**
 * `written`: 'header' when writeDataHeader / writeControlHeader given
 * `header` reproduce bytes[0, 16); 'whole' when the body-less writer for the
 * control type (KEEPALIVE, SHUTDOWN, ACKACK) reproduces every byte.
 */
export interface HeaderCase {
  name: string;
  bytes: Buffer;
  result: SrtParseErrorCode;
  header?: SrtHeader;
  written?: 'header' | 'whole';
}

function dataHeader(h: Partial<SrtHeader>, payloadLength: number): SrtHeader {
  return {
    isControl: false, sequenceNumber: 0, position: PacketPosition.MIDDLE, inOrder: false,
    keyFlags: EncryptionKeyFlags.NONE, retransmitted: false, messageNumber: 0,
    controlType: 0, subtype: 0, typeSpecific: 0, timestampUs: 0, destSocketId: 0,
    payloadOffset: 16, payloadLength, ...h,
  };
}

function controlHeader(h: Partial<SrtHeader>, payloadLength: number): SrtHeader {
  return dataHeader({ isControl: true, ...h }, payloadLength);
}

export const headerCases: HeaderCase[] = [
  {
    name: 'libsrt DATA: first packet of a live stream (payload cut to 4 octets)',
    bytes: hex(`
      2c ef e7 e6   # F0 | packet sequence number 0x2cefe7e6 (= the handshake ISN)
      c0 00 00 01   # PP 11 solo | O0 | KK 00 clear | R0 | message number 1
      00 00 83 50   # timestamp 33616 µs
      1a 2b 3c 4d   # destination socket ID: our listener
      47 1f ff 10   # payload: a null TS packet's header (libsrt sent 7 × 188 octets)
    `),
    result: SrtParseError.OK,
    header: dataHeader({
      sequenceNumber: 0x2cefe7e6, position: PacketPosition.SOLO, messageNumber: 1,
      timestampUs: 33616, destSocketId: 0x1a2b3c4d,
    }, 4),
    written: 'header',
  },
  {
    name: 'data, every field at its maximum: first of message, in order, odd key, retransmitted',
    bytes: hex(`
      7f ff ff ff   # F0 | packet sequence number 2^31-1
      b7 ff ff ff   # PP 10 first | O1 | KK 10 odd | R1 | message number 2^26-1
      ff ff ff ff   # timestamp 2^32-1 µs
      00 00 00 01   # destination socket ID 1
    `),
    result: SrtParseError.OK,
    header: dataHeader({
      sequenceNumber: 0x7fffffff, position: PacketPosition.FIRST, inOrder: true,
      keyFlags: EncryptionKeyFlags.ODD, retransmitted: true, messageNumber: 0x3ffffff,
      timestampUs: 0xffffffff, destSocketId: 1,
    }, 0),
    written: 'header',
  },
  {
    name: 'data, middle of a message, even key',
    bytes: hex(`
      00 00 00 00   # F0 | packet sequence number 0
      08 00 00 ab   # PP 00 middle | O0 | KK 01 even | R0 | message number 171
      00 0f 42 40   # timestamp 1 000 000 µs
      de ad be ef   # destination socket ID
      aa bb         # payload
    `),
    result: SrtParseError.OK,
    header: dataHeader({
      keyFlags: EncryptionKeyFlags.EVEN, messageNumber: 171, timestampUs: 1_000_000, destSocketId: 0xdeadbeef,
    }, 2),
    written: 'header',
  },
  {
    name: 'data, last packet of a message',
    bytes: hex(`
      00 00 30 39   # F0 | packet sequence number 12345
      41 00 00 05   # PP 01 last | O0 | KK 00 | R0 | message number 2^24 + 5
      00 00 00 00   # timestamp 0
      00 00 00 07   # destination socket ID 7
    `),
    result: SrtParseError.OK,
    header: dataHeader({ sequenceNumber: 12345, position: PacketPosition.LAST, messageNumber: 0x1000005, destSocketId: 7 }, 0),
    written: 'header',
  },
  {
    name: 'libsrt ACKACK for full ACK number 1 (4 octets of padding)',
    bytes: hex(`
      80 06 00 00   # F1 | control type 6 ACKACK | subtype 0
      00 00 00 01   # type-specific: ACK number 1
      00 00 fc cc   # timestamp 64716 µs
      1a 2b 3c 4d   # destination socket ID: our listener
      00 00 00 00   # libsrt's padding (no CIF)
    `),
    result: SrtParseError.OK,
    header: controlHeader({ controlType: ControlType.ACKACK, typeSpecific: 1, timestampUs: 64716, destSocketId: 0x1a2b3c4d }, 4),
    written: 'whole',
  },
  {
    name: 'libsrt SHUTDOWN on SIGINT',
    bytes: hex(`
      80 05 00 00   # F1 | control type 5 SHUTDOWN | subtype 0
      00 00 00 00   # type-specific 0
      00 0a ea 29   # timestamp 715305 µs
      1a 2b 3c 4d   # destination socket ID: our listener
      00 00 00 00   # libsrt's padding
    `),
    result: SrtParseError.OK,
    header: controlHeader({ controlType: ControlType.SHUTDOWN, timestampUs: 715305, destSocketId: 0x1a2b3c4d }, 4),
    written: 'whole',
  },
  {
    name: 'libsrt KEEPALIVE from a listener',
    bytes: hex(`
      80 01 00 00   # F1 | control type 1 KEEPALIVE | subtype 0
      00 00 00 00   # type-specific 0
      00 0f 55 6d   # timestamp 1004909 µs (about 1 s after connecting)
      0b ad ca fe   # destination socket ID: our caller
      00 00 00 00   # libsrt's padding
    `),
    result: SrtParseError.OK,
    header: controlHeader({ controlType: ControlType.KEEPALIVE, timestampUs: 1004909, destSocketId: 0x0badcafe }, 4),
    written: 'whole',
  },
  {
    name: 'KEEPALIVE without padding (draft §3.2.3: no CIF)',
    bytes: hex(`
      80 01 00 00   # F1 | control type 1 KEEPALIVE | subtype 0
      00 00 00 00   # type-specific 0
      00 00 00 10   # timestamp 16 µs
      00 00 00 2a   # destination socket ID 42
    `),
    result: SrtParseError.OK,
    header: controlHeader({ controlType: ControlType.KEEPALIVE, timestampUs: 16, destSocketId: 42 }, 0),
    written: 'header',
  },
  {
    name: 'user-defined control packet: key-material refresh request (draft §3.2.2)',
    bytes: hex(`
      ff ff 00 03   # F1 | control type 0x7FFF user-defined | subtype 3 SRT_CMD_KMREQ
      00 00 00 00   # type-specific 0
      00 01 00 00   # timestamp 65536 µs
      00 00 00 2a   # destination socket ID 42
      12 20 29 01   # CIF: start of a KM message
    `),
    result: SrtParseError.OK,
    header: controlHeader({ controlType: ControlType.USER_DEFINED, subtype: 3, timestampUs: 65536, destSocketId: 42 }, 4),
    written: 'header',
  },
  {
    name: 'PEERERROR with error code 4000 (draft §3.2.10: file system error)',
    bytes: hex(`
      80 08 00 00   # F1 | control type 8 PEERERROR | subtype 0
      00 00 0f a0   # type-specific: error code 4000
      00 00 00 01   # timestamp 1 µs
      00 00 00 2a   # destination socket ID 42
    `),
    result: SrtParseError.OK,
    header: controlHeader({ controlType: ControlType.PEERERROR, typeSpecific: 4000, timestampUs: 1, destSocketId: 42 }, 0),
    written: 'header',
  },
  {
    name: 'data packet with KK = 11b (control packets only, draft §3.1)',
    bytes: hex(`
      00 00 00 01   # F0 | packet sequence number 1
      d8 00 00 01   # PP 11 | O0 | KK 11 (invalid for data) | R0 | message number 1
      00 00 00 00   # timestamp 0
      00 00 00 2a   # destination socket ID 42
    `),
    result: SrtParseError.BAD_KEY_FLAGS,
  },
  {
    name: 'truncated: 15 octets',
    bytes: hex(`
      80 01 00 00   # F1 | KEEPALIVE
      00 00 00 00   # type-specific 0
      00 00 00 10   # timestamp
      00 00 2a      # destination socket ID cut short
    `),
    result: SrtParseError.TRUNCATED,
  },
  {
    name: 'empty datagram',
    bytes: hex(''),
    result: SrtParseError.TRUNCATED,
  },
];

// ================================================================ ACK

export interface AckCase {
  name: string;
  bytes: Buffer;
  result: SrtAck | SrtParseErrorCode;
  /** writeAck(result) reproduces bytes. */
  written?: boolean;
}

function ack(a: Partial<SrtAck> & Pick<SrtAck, 'kind' | 'lastAckSeq'>): SrtAck {
  return {
    ackNumber: 0, rttUs: 0, rttVarianceUs: 0, availableBufferPackets: 0, packetsReceivingRatePps: 0,
    estimatedLinkCapacityPps: 0, receivingRateBps: 0, timestampUs: 0, destSocketId: 0, ...a,
  };
}

export const ackCases: AckCase[] = [
  {
    name: 'libsrt full ACK (28-octet CIF) from a receiving caller',
    bytes: hex(`
      80 02 00 00   # F1 | control type 2 ACK | subtype 0
      00 00 00 01   # type-specific: ACK number 1
      00 00 8c df   # timestamp 36063 µs
      1a 2b 3c 4d   # destination socket ID: our listener
      13 2f b5 95   # last acknowledged packet sequence number: ISN+1 (next expected)
      00 01 86 a0   # RTT 100 000 µs (libsrt's initial estimate)
      00 00 c3 50   # RTT variance 50 000 µs
      00 00 1f fe   # available buffer 8190 packets
      00 00 00 01   # packets receiving rate 1 pkt/s
      00 00 03 e8   # estimated link capacity 1000 pkt/s
      00 00 05 dc   # receiving rate 1500 B/s
    `),
    result: ack({
      kind: SrtAckKind.FULL, ackNumber: 1, lastAckSeq: 0x132fb595, rttUs: 100_000, rttVarianceUs: 50_000,
      availableBufferPackets: 8190, packetsReceivingRatePps: 1, estimatedLinkCapacityPps: 1000, receivingRateBps: 1500,
      timestampUs: 36063, destSocketId: 0x1a2b3c4d,
    }),
    written: true,
  },
  {
    name: 'light ACK: one word, ACK number 0 (draft §3.2.4)',
    bytes: hex(`
      80 02 00 00   # F1 | ACK | subtype 0
      00 00 00 00   # type-specific 0: light ACKs are not numbered
      00 00 27 10   # timestamp 10 000 µs
      00 00 00 2a   # destination socket ID 42
      00 00 04 00   # last acknowledged packet sequence number 1024
    `),
    result: ack({ kind: SrtAckKind.LIGHT, lastAckSeq: 1024, timestampUs: 10_000, destSocketId: 42 }),
    written: true,
  },
  {
    name: 'small ACK: up to Available Buffer Size',
    bytes: hex(`
      80 02 00 00   # F1 | ACK | subtype 0
      00 00 00 07   # type-specific: ACK number 7
      00 00 00 01   # timestamp 1 µs
      00 00 00 2a   # destination socket ID 42
      7f ff ff ff   # last acknowledged packet sequence number 2^31-1
      00 00 4e 20   # RTT 20 000 µs
      00 00 07 d0   # RTT variance 2000 µs
      00 00 00 19   # available buffer 25 packets
    `),
    result: ack({
      kind: SrtAckKind.SMALL, ackNumber: 7, lastAckSeq: 0x7fffffff, rttUs: 20_000, rttVarianceUs: 2000,
      availableBufferPackets: 25, timestampUs: 1, destSocketId: 42,
    }),
    written: true,
  },
  {
    name: "UDT's 24-octet full ACK: no Receiving Rate",
    bytes: hex(`
      80 02 00 00   # F1 | ACK | subtype 0
      00 00 00 02   # type-specific: ACK number 2
      00 00 00 00   # timestamp 0
      00 00 00 2a   # destination socket ID 42
      00 00 00 64   # last acknowledged packet sequence number 100
      00 00 03 e8   # RTT 1000 µs
      00 00 01 f4   # RTT variance 500 µs
      00 00 10 00   # available buffer 4096 packets
      00 00 01 2c   # packets receiving rate 300 pkt/s
      00 00 27 10   # estimated link capacity 10 000 pkt/s
    `),
    result: ack({
      kind: SrtAckKind.FULL, ackNumber: 2, lastAckSeq: 100, rttUs: 1000, rttVarianceUs: 500,
      availableBufferPackets: 4096, packetsReceivingRatePps: 300, estimatedLinkCapacityPps: 10_000, destSocketId: 42,
    }),
  },
  {
    name: 'SRT 1.0.2 full ACK with an eighth word (ignored)',
    bytes: hex(`
      80 02 00 00   # F1 | ACK | subtype 0
      00 00 00 03   # type-specific: ACK number 3
      00 00 00 00   # timestamp 0
      00 00 00 2a   # destination socket ID 42
      00 00 00 65   # last acknowledged packet sequence number 101
      00 00 03 e8   # RTT 1000 µs
      00 00 01 f4   # RTT variance 500 µs
      00 00 10 00   # available buffer 4096 packets
      00 00 01 2c   # packets receiving rate 300 pkt/s
      00 00 27 10   # estimated link capacity 10 000 pkt/s
      00 06 1a 80   # receiving rate 400 000 B/s
      00 00 00 09   # ACKD_XMRATE (1.0.2 only)
    `),
    result: ack({
      kind: SrtAckKind.FULL, ackNumber: 3, lastAckSeq: 101, rttUs: 1000, rttVarianceUs: 500,
      availableBufferPackets: 4096, packetsReceivingRatePps: 300, estimatedLinkCapacityPps: 10_000,
      receivingRateBps: 400_000, destSocketId: 42,
    }),
  },
  {
    name: 'ACK with an 8-octet CIF reads as light (largest form that fits)',
    bytes: hex(`
      80 02 00 00   # F1 | ACK | subtype 0
      00 00 00 00   # type-specific 0
      00 00 00 00   # timestamp 0
      00 00 00 2a   # destination socket ID 42
      00 00 00 05   # last acknowledged packet sequence number 5
      00 00 00 00   # a stray word
    `),
    result: ack({ kind: SrtAckKind.LIGHT, lastAckSeq: 5, destSocketId: 42 }),
  },
  {
    name: 'ACK whose sequence number has bit 31 set',
    bytes: hex(`
      80 02 00 00   # F1 | ACK | subtype 0
      00 00 00 00   # type-specific 0
      00 00 00 00   # timestamp 0
      00 00 00 2a   # destination socket ID 42
      80 00 00 05   # bit 31 set: not a 31-bit sequence number
    `),
    result: SrtParseError.BAD_SEQUENCE_NUMBER,
  },
  {
    name: 'ACK with a 3-octet CIF',
    bytes: hex(`
      80 02 00 00   # F1 | ACK | subtype 0
      00 00 00 00   # type-specific 0
      00 00 00 00   # timestamp 0
      00 00 00 2a   # destination socket ID 42
      00 00 05      # sequence number cut short
    `),
    result: SrtParseError.TRUNCATED,
  },
  {
    name: 'an ACKACK is not an ACK',
    bytes: hex(`
      80 06 00 00   # F1 | control type 6 ACKACK
      00 00 00 01   # ACK number 1
      00 00 00 00   # timestamp 0
      00 00 00 2a   # destination socket ID 42
      00 00 00 00   # padding
    `),
    result: SrtParseError.WRONG_CONTROL_TYPE,
  },
  {
    name: 'a data packet is not an ACK',
    bytes: hex(`
      00 00 00 02   # F0 | packet sequence number 2
      c0 00 00 01   # PP 11 | message number 1
      00 00 00 00   # timestamp 0
      00 00 00 2a   # destination socket ID 42
      47 00 00 00   # payload
    `),
    result: SrtParseError.NOT_CONTROL,
  },
];

// ================================================================ NAK

export interface NakCase {
  name: string;
  bytes: Buffer;
  result: { ranges: Array<[number, number]>; truncated: boolean } | SrtParseErrorCode;
  /** Decoder capacity (ranges); default: the library default. */
  maxRanges?: number;
  /** writeNak(address, result.ranges) reproduces bytes. */
  written?: { timestampUs: number; destSocketId: number };
}

export const nakCases: NakCase[] = [
  {
    name: 'libsrt NAK of three packets lost in a row',
    bytes: hex(`
      80 03 00 00   # F1 | control type 3 NAK | subtype 0
      00 00 00 00   # type-specific 0
      00 00 f9 25   # timestamp 63781 µs
      1a 2b 3c 4d   # destination socket ID: our listener
      93 2f b5 96   # 1 | range from 0x132fb596 (ISN+2)
      13 2f b5 98   # 0 | up to 0x132fb598 (ISN+4)
    `),
    result: { ranges: [[0x132fb596, 0x132fb598]], truncated: false },
    written: { timestampUs: 63781, destSocketId: 0x1a2b3c4d },
  },
  {
    name: 'singles and ranges; two consecutive losses are a range, as in libsrt',
    bytes: hex(`
      80 03 00 00   # F1 | NAK | subtype 0
      00 00 00 00   # type-specific 0
      00 00 00 64   # timestamp 100 µs
      00 00 00 2a   # destination socket ID 42
      00 00 00 05   # 0 | single 5
      80 00 00 0a   # 1 | range from 10
      00 00 00 0c   # 0 | up to 12
      80 00 00 14   # 1 | range from 20
      00 00 00 15   # 0 | up to 21
      00 00 00 64   # 0 | single 100
    `),
    result: { ranges: [[5, 5], [10, 12], [20, 21], [100, 100]], truncated: false },
    written: { timestampUs: 100, destSocketId: 42 },
  },
  {
    name: 'a range across the 2^31 wrap, then the first number after it',
    bytes: hex(`
      80 03 00 00   # F1 | NAK | subtype 0
      00 00 00 00   # type-specific 0
      00 00 00 00   # timestamp 0
      00 00 00 2a   # destination socket ID 42
      ff ff ff fe   # 1 | range from 2^31-2
      00 00 00 01   # 0 | up to 1 (4 packets: 2^31-2, 2^31-1, 0, 1)
      00 00 00 03   # 0 | single 3
    `),
    result: { ranges: [[0x7ffffffe, 1], [3, 3]], truncated: false },
    written: { timestampUs: 0, destSocketId: 42 },
  },
  {
    name: 'the largest sequence number alone',
    bytes: hex(`
      80 03 00 00   # F1 | NAK | subtype 0
      00 00 00 00   # type-specific 0
      00 00 00 00   # timestamp 0
      00 00 00 2a   # destination socket ID 42
      7f ff ff ff   # 0 | single 2^31-1
    `),
    result: { ranges: [[0x7fffffff, 0x7fffffff]], truncated: false },
    written: { timestampUs: 0, destSocketId: 42 },
  },
  {
    name: 'trailing 2 octets are ignored (libsrt reads whole words)',
    bytes: hex(`
      80 03 00 00   # F1 | NAK | subtype 0
      00 00 00 00   # type-specific 0
      00 00 00 00   # timestamp 0
      00 00 00 2a   # destination socket ID 42
      00 00 00 09   # 0 | single 9
      ff ff         # stray
    `),
    result: { ranges: [[9, 9]], truncated: false },
  },
  {
    name: 'decoder bound of 2 ranges stops a list of 3',
    bytes: hex(`
      80 03 00 00   # F1 | NAK | subtype 0
      00 00 00 00   # type-specific 0
      00 00 00 00   # timestamp 0
      00 00 00 2a   # destination socket ID 42
      00 00 00 01   # 0 | single 1
      80 00 00 03   # 1 | range from 3
      00 00 00 04   # 0 | up to 4
      00 00 00 07   # 0 | single 7: beyond the bound
    `),
    result: { ranges: [[1, 1], [3, 4]], truncated: true },
    maxRanges: 2,
  },
  {
    name: 'range start as the last word',
    bytes: hex(`
      80 03 00 00   # F1 | NAK | subtype 0
      00 00 00 00   # type-specific 0
      00 00 00 00   # timestamp 0
      00 00 00 2a   # destination socket ID 42
      00 00 00 01   # 0 | single 1
      80 00 00 03   # 1 | range from 3 ... and no end
    `),
    result: SrtParseError.BAD_LOSS_LIST,
  },
  {
    name: 'range start followed by another range start',
    bytes: hex(`
      80 03 00 00   # F1 | NAK | subtype 0
      00 00 00 00   # type-specific 0
      00 00 00 00   # timestamp 0
      00 00 00 2a   # destination socket ID 42
      80 00 00 03   # 1 | range from 3
      80 00 00 05   # 1 | (bit 31 set where the end should be)
      00 00 00 06   # 0 | 6
    `),
    result: SrtParseError.BAD_LOSS_LIST,
  },
  {
    name: 'reversed range',
    bytes: hex(`
      80 03 00 00   # F1 | NAK | subtype 0
      00 00 00 00   # type-specific 0
      00 00 00 00   # timestamp 0
      00 00 00 2a   # destination socket ID 42
      80 00 00 0a   # 1 | range from 10
      00 00 00 05   # 0 | up to 5: before its start
    `),
    result: SrtParseError.BAD_LOSS_LIST,
  },
  {
    name: 'NAK with no loss list',
    bytes: hex(`
      80 03 00 00   # F1 | NAK | subtype 0
      00 00 00 00   # type-specific 0
      00 00 00 00   # timestamp 0
      00 00 00 2a   # destination socket ID 42
    `),
    result: SrtParseError.TRUNCATED,
  },
  {
    name: 'an ACK is not a NAK',
    bytes: hex(`
      80 02 00 00   # F1 | ACK
      00 00 00 00   # type-specific 0
      00 00 00 00   # timestamp 0
      00 00 00 2a   # destination socket ID 42
      00 00 00 05   # last acknowledged 5
    `),
    result: SrtParseError.WRONG_CONTROL_TYPE,
  },
];

// ================================================================ DROPREQ

export interface DropReqCase {
  name: string;
  bytes: Buffer;
  result: SrtDropReq | SrtParseErrorCode;
  written?: boolean;
}

export const dropReqCases: DropReqCase[] = [
  {
    name: 'drop message 42, packets 1000..1006',
    bytes: hex(`
      80 07 00 00   # F1 | control type 7 DROPREQ | subtype 0
      00 00 00 2a   # type-specific: message number 42
      00 00 01 00   # timestamp 256 µs
      00 00 00 2a   # destination socket ID 42
      00 00 03 e8   # 0 | first packet sequence number 1000
      00 00 03 ee   # 0 | last packet sequence number 1006
    `),
    result: { messageNumber: 42, firstSeq: 1000, lastSeq: 1006, timestampUs: 256, destSocketId: 42 },
    written: true,
  },
  {
    name: 'message number 0: the sender no longer knows it (draft §3.2.9)',
    bytes: hex(`
      80 07 00 00   # F1 | DROPREQ | subtype 0
      00 00 00 00   # type-specific: message number 0 (unknown)
      00 00 00 00   # timestamp 0
      00 00 00 2a   # destination socket ID 42
      7f ff ff fe   # 0 | first 2^31-2
      00 00 00 01   # 0 | last 1 (across the wrap)
    `),
    result: { messageNumber: 0, firstSeq: 0x7ffffffe, lastSeq: 1, timestampUs: 0, destSocketId: 42 },
    written: true,
  },
  {
    name: 'flag bits above the 26-bit message number are masked, as libsrt does',
    bytes: hex(`
      80 07 00 00   # F1 | DROPREQ | subtype 0
      e0 00 00 2a   # type-specific: PP 11 O1 | message number 42
      00 00 00 00   # timestamp 0
      00 00 00 2a   # destination socket ID 42
      00 00 00 01   # 0 | first 1
      00 00 00 02   # 0 | last 2
    `),
    result: { messageNumber: 42, firstSeq: 1, lastSeq: 2, timestampUs: 0, destSocketId: 42 },
  },
  {
    name: 'DROPREQ with one CIF word',
    bytes: hex(`
      80 07 00 00   # F1 | DROPREQ | subtype 0
      00 00 00 2a   # message number 42
      00 00 00 00   # timestamp 0
      00 00 00 2a   # destination socket ID 42
      00 00 00 01   # 0 | first 1 ... no last
    `),
    result: SrtParseError.TRUNCATED,
  },
  {
    name: 'DROPREQ with bit 31 set in the first sequence number',
    bytes: hex(`
      80 07 00 00   # F1 | DROPREQ | subtype 0
      00 00 00 2a   # message number 42
      00 00 00 00   # timestamp 0
      00 00 00 2a   # destination socket ID 42
      80 00 00 01   # 1 | (bit 31 set)
      00 00 00 02   # 0 | last 2
    `),
    result: SrtParseError.BAD_SEQUENCE_NUMBER,
  },
];

// ================================================================ handshake

export interface HandshakeCase {
  name: string;
  bytes: Buffer;
  result: SrtHandshake | SrtParseErrorCode;
  /** writeHandshake(result) reproduces bytes. */
  written?: boolean;
}

function hs(h: Partial<SrtHandshake> & Pick<SrtHandshake, 'handshakeType'>): SrtHandshake {
  return {
    timestampUs: 0, destSocketId: 0, version: 5, encryptionField: 0, extensionField: 0,
    initialSequenceNumber: 0, mtuBytes: 1500, flowWindowPackets: 8192, socketId: 0, synCookie: 0,
    peerIp: LOOPBACK, ...h,
  };
}

/** A Stream ID block of 129 words (516 octets of 'A'): 4 octets over the limit. */
const LONG_SID = Buffer.concat([
  hex(`
    80 00 00 00   # F1 | HANDSHAKE
    00 00 00 00   # type-specific 0
    00 00 00 00   # timestamp 0
    00 00 00 00   # destination socket ID 0
    00 00 00 05   # version 5
    00 00 00 04   # encryption 0 | extension flags CONFIG
    00 00 00 01   # ISN 1
    00 00 05 dc   # MTU 1500
    00 00 20 00   # flow window 8192
    ff ff ff ff   # CONCLUSION
    00 00 00 2a   # socket ID 42
    00 00 00 00   # cookie
    01 00 00 7f   # peer IP 127.0.0.1 (word-reversed)
    00 00 00 00   #
    00 00 00 00   #
    00 00 00 00   #
    00 05 00 81   # extension SID | 129 words (516 octets > 512)
  `),
  Buffer.alloc(516, 0x41),
]);

export const handshakeCases: HandshakeCase[] = [
  {
    name: 'libsrt caller INDUCTION (HSv5 caller still says version 4)',
    bytes: hex(`
      80 00 00 00   # F1 | control type 0 HANDSHAKE | subtype 0
      00 00 00 00   # type-specific 0
      00 00 00 99   # timestamp 153 µs
      00 00 00 00   # destination socket ID 0: a connection request
      00 00 00 04   # version 4 (draft §4.3.1.1: MUST be 4 here)
      00 00 00 02   # encryption field 0 | extension field 2 = UDT_DGRAM
      2c ef e7 e6   # 0 | initial packet sequence number
      00 00 05 dc   # MTU 1500
      00 00 20 00   # maximum flow window 8192 packets
      00 00 00 01   # handshake type INDUCTION
      11 ee 57 0b   # SRT socket ID of the caller
      00 00 00 00   # SYN cookie 0
      01 00 00 7f   # peer IP word 1: 127.0.0.1 (the address sent TO), octets reversed
      00 00 00 00   # peer IP word 2 (IPv4: zero)
      00 00 00 00   # peer IP word 3
      00 00 00 00   # peer IP word 4
    `),
    result: hs({
      timestampUs: 153, version: 4, extensionField: 2, initialSequenceNumber: 0x2cefe7e6,
      handshakeType: HandshakeType.INDUCTION, socketId: 0x11ee570b,
    }),
    written: true,
  },
  {
    name: 'libsrt caller INDUCTION from 127.0.0.1 to 192.0.2.2: Peer IP is the address sent TO',
    bytes: hex(`
      80 00 00 00   # F1 | HANDSHAKE | subtype 0
      00 00 00 00   # type-specific 0
      00 00 00 73   # timestamp 115 µs
      00 00 00 00   # destination socket ID 0: a connection request
      00 00 00 04   # version 4
      00 00 00 02   # encryption 0 | UDT_DGRAM
      2e 78 37 da   # 0 | ISN
      00 00 05 dc   # MTU 1500
      00 00 20 00   # flow window 8192
      00 00 00 01   # INDUCTION
      08 55 e3 1b   # SRT socket ID of the caller
      00 00 00 00   # SYN cookie 0
      02 02 00 c0   # peer IP 192.0.2.2 = c0 00 02 02 reversed: the listener, not the sender 127.0.0.1
      00 00 00 00   #
      00 00 00 00   #
      00 00 00 00   #
    `),
    result: hs({
      timestampUs: 115, version: 4, extensionField: 2, initialSequenceNumber: 0x2e7837da,
      handshakeType: HandshakeType.INDUCTION, socketId: 0x0855e31b, peerIp: ip4(192, 0, 2, 2),
    }),
    written: true,
  },
  {
    name: 'our INDUCTION answer per draft §4.3.1.1, accepted by libsrt 1.5.1',
    bytes: hex(`
      80 00 00 00   # F1 | HANDSHAKE | subtype 0
      00 00 00 00   # type-specific 0
      00 00 33 4e   # timestamp 13134 µs
      11 ee 57 0b   # destination socket ID: the caller's
      00 00 00 05   # version 5: this listener speaks HSv5
      00 00 4a 17   # encryption 0 (none advertised) | extension field 0x4A17 SRT magic
      2c ef e7 e6   # 0 | ISN echoed
      00 00 05 dc   # MTU 1500
      00 00 20 00   # flow window 8192
      00 00 00 01   # INDUCTION
      1a 2b 3c 4d   # SRT socket ID: ours
      5e ed 1e 55   # SYN cookie
      01 00 00 7f   # peer IP 127.0.0.1 (word-reversed)
      00 00 00 00   #
      00 00 00 00   #
      00 00 00 00   #
    `),
    result: hs({
      timestampUs: 13134, destSocketId: 0x11ee570b, extensionField: 0x4a17, initialSequenceNumber: 0x2cefe7e6,
      handshakeType: HandshakeType.INDUCTION, socketId: 0x1a2b3c4d, synCookie: 0x5eed1e55,
    }),
    written: true,
  },
  {
    name: 'libsrt caller CONCLUSION: HSREQ and Stream ID "room/101"',
    bytes: hex(`
      80 00 00 00   # F1 | HANDSHAKE | subtype 0
      00 00 00 00   # type-specific 0
      00 00 07 b5   # timestamp 1973 µs
      00 00 00 00   # destination socket ID 0: libsrt 1.5.1 does not fill in the listener's ID
      00 00 00 05   # version 5
      00 00 00 05   # encryption 0 | extension flags HSREQ 0x1 + CONFIG 0x4
      2c ef e7 e6   # 0 | ISN, as in the INDUCTION
      00 00 05 dc   # MTU 1500
      00 00 20 00   # flow window 8192
      ff ff ff ff   # CONCLUSION
      11 ee 57 0b   # SRT socket ID of the caller
      5e ed 1e 55   # SYN cookie echoed from our INDUCTION answer
      01 00 00 7f   # peer IP 127.0.0.1 (word-reversed)
      00 00 00 00   #
      00 00 00 00   #
      00 00 00 00   #
      00 01 00 03   # extension HSREQ | 3 words
      00 01 05 01   #   SRT version 1.5.1
      00 00 00 bf   #   flags TSBPDSND TSBPDRCV CRYPT TLPKTDROP PERIODICNAK REXMITFLG PACKET_FILTER (not STREAM)
      00 78 00 78   #   receiver TSBPD delay 120 ms | sender TSBPD delay 120 ms (latency=120)
      00 05 00 02   # extension SID | 2 words
      6d 6f 6f 72   #   "moor": "room" with the word's octets reversed
      31 30 31 2f   #   "101/": "/101" reversed
    `),
    result: hs({
      timestampUs: 1973, extensionField: 0x5, initialSequenceNumber: 0x2cefe7e6,
      handshakeType: HandshakeType.CONCLUSION, socketId: 0x11ee570b, synCookie: 0x5eed1e55,
      hsReq: LIBSRT_HS, streamId: 'room/101',
    }),
    written: true,
  },
  {
    name: 'libsrt caller CONCLUSION with a passphrase: KMREQ after HSREQ and SID',
    bytes: hex(`
      80 00 00 00   # F1 | HANDSHAKE | subtype 0
      00 00 00 00   # type-specific 0
      00 00 0d 8e   # timestamp 3470 µs
      00 00 00 00   # destination socket ID 0
      00 00 00 05   # version 5
      00 02 00 07   # encryption 2 = AES-128 (pbkeylen=16) | flags HSREQ + KMREQ + CONFIG
      3b e2 b1 ad   # 0 | ISN
      00 00 05 dc   # MTU 1500
      00 00 20 00   # flow window 8192
      ff ff ff ff   # CONCLUSION
      19 a9 13 e1   # SRT socket ID of the caller
      5e ed 1e 55   # SYN cookie echoed
      01 00 00 7f   # peer IP 127.0.0.1 (word-reversed)
      00 00 00 00   #
      00 00 00 00   #
      00 00 00 00   #
      00 01 00 03   # extension HSREQ | 3 words
      00 01 05 01   #   SRT version 1.5.1
      00 00 00 bf   #   flags as above
      00 78 00 78   #   TSBPD 120 ms | 120 ms
      00 05 00 02   # extension SID | 2 words
      6d 6f 6f 72   #   "room" reversed
      31 30 31 2f   #   "/101" reversed
      00 03 00 0e   # extension KMREQ | 14 words: the KM message in its own (unreversed) order
      12 20 29 01   #   S0 V1 PT2 KMmsg | sign 0x2029 "HAI" | resv | KK 01 even key
      00 00 00 00   #   KEKI 0
      02 00 02 00   #   cipher 2 AES-CTR | auth 0 | SE 2 MPEG-TS/SRT | resv
      00 00 04 04   #   resv | SLen/4 4 | KLen/4 4 (16-octet key)
      56 ac 5f 24   #   salt (16 octets)
      6a 4f f1 3d   #
      94 30 59 58   #
      6b 5b d6 00   #
      10 32 57 35   #   wrapped key: ICV (8 octets) + even SEK (16)
      7f 08 da e5   #
      25 fd d1 51   #
      08 da 63 fd   #
      c5 d0 f7 d7   #
      49 8f fd 9a   #
    `),
    result: hs({
      timestampUs: 3470, encryptionField: 2, extensionField: 0x7, initialSequenceNumber: 0x3be2b1ad,
      handshakeType: HandshakeType.CONCLUSION, socketId: 0x19a913e1, synCookie: 0x5eed1e55,
      hsReq: LIBSRT_HS, streamId: 'room/101',
      kmReq: hex(`
        12202901 00000000 02000200 00000404
        56ac5f24 6a4ff13d 94305958 6b5bd600
        10325735 7f08dae5 25fdd151 08da63fd c5d0f7d7 498ffd9a
      `),
    }),
    written: true,
  },
  {
    name: 'libsrt listener INDUCTION answer: magic, advertised AES-128, caller ID echoed',
    bytes: hex(`
      80 00 00 00   # F1 | HANDSHAKE | subtype 0
      00 00 00 00   # type-specific 0
      00 07 9d cf   # timestamp 499151 µs
      0b ad ca fe   # destination socket ID: the caller's
      00 00 00 05   # version 5
      00 02 4a 17   # encryption 2 (passphrase, pbkeylen=16) | extension field 0x4A17 magic
      01 02 03 04   # 0 | ISN echoed from the caller
      00 00 05 dc   # MTU 1500
      00 00 20 00   # flow window 8192
      00 00 00 01   # INDUCTION
      0b ad ca fe   # SRT socket ID: libsrt 1.5.1 echoes the CALLER's (draft §4.3.1.1 says the listener's)
      2f 63 53 42   # SYN cookie
      01 00 00 7f   # peer IP 127.0.0.1 (word-reversed)
      00 00 00 00   #
      00 00 00 00   #
      00 00 00 00   #
    `),
    result: hs({
      timestampUs: 499151, destSocketId: 0x0badcafe, encryptionField: 2, extensionField: 0x4a17,
      initialSequenceNumber: 0x01020304, handshakeType: HandshakeType.INDUCTION, socketId: 0x0badcafe, synCookie: 0x2f635342,
    }),
    written: true,
  },
  {
    name: 'libsrt listener rejection 1011 UNSECURE (caller sent no KMREQ)',
    bytes: hex(`
      80 00 00 00   # F1 | HANDSHAKE | subtype 0
      00 00 00 00   # type-specific 0
      00 07 a1 16   # timestamp 499990 µs
      0b ad ca fe   # destination socket ID: the caller's
      00 00 00 05   # version 5
      00 00 00 05   # encryption 0 | extension flags echoed (HSREQ + CONFIG)
      01 02 03 04   # 0 | ISN echoed
      00 00 05 dc   # MTU 1500
      00 00 20 00   # flow window 8192
      00 00 03 f3   # handshake type 1011 = 1000 + SRT_REJ_UNSECURE 11
      2b e8 69 a6   # SRT socket ID the listener had allocated
      2f 63 53 42   # SYN cookie echoed
      01 00 00 7f   # peer IP 127.0.0.1 (word-reversed)
      00 00 00 00   #
      00 00 00 00   #
      00 00 00 00   #
    `),
    result: hs({
      timestampUs: 499990, destSocketId: 0x0badcafe, extensionField: 0x5, initialSequenceNumber: 0x01020304,
      handshakeType: 1011, socketId: 0x2be869a6, synCookie: 0x2f635342,
    }),
    written: true,
  },
  {
    name: 'libsrt listener CONCLUSION answer with HSRSP',
    bytes: hex(`
      80 00 00 00   # F1 | HANDSHAKE | subtype 0
      00 00 00 00   # type-specific 0
      00 00 02 10   # timestamp 528 µs (the accepted socket's clock)
      0b ad ca fe   # destination socket ID: the caller's
      00 00 00 05   # version 5
      00 00 00 01   # encryption 0 | extension flags HSREQ (for HSRSP)
      01 02 03 04   # 0 | ISN echoed
      00 00 05 dc   # MTU 1500
      00 00 20 00   # flow window 8192
      ff ff ff ff   # CONCLUSION
      13 aa 09 1c   # SRT socket ID of the accepted socket
      5d 30 63 90   # SYN cookie echoed (draft §4.3.1.2 says "without the cookie"; libsrt keeps it)
      01 00 00 7f   # peer IP 127.0.0.1 (word-reversed)
      00 00 00 00   #
      00 00 00 00   #
      00 00 00 00   #
      00 02 00 03   # extension HSRSP | 3 words
      00 01 05 01   #   SRT version 1.5.1
      00 00 00 bf   #   flags as the caller's
      00 78 00 78   #   TSBPD 120 ms | 120 ms: max of both sides
    `),
    result: hs({
      timestampUs: 528, destSocketId: 0x0badcafe, extensionField: 0x1, initialSequenceNumber: 0x01020304,
      handshakeType: HandshakeType.CONCLUSION, socketId: 0x13aa091c, synCookie: 0x5d306390, hsRsp: LIBSRT_HS,
    }),
    written: true,
  },
  {
    name: 'CONCLUSION answer with every other extension, IPv6 peer',
    bytes: hex(`
      80 00 00 00   # F1 | HANDSHAKE | subtype 0
      00 00 00 00   # type-specific 0
      00 00 00 0a   # timestamp 10 µs
      00 00 00 2a   # destination socket ID 42
      00 00 00 05   # version 5
      00 04 00 07   # encryption 4 AES-256 | flags HSREQ + KMREQ + CONFIG
      00 00 00 64   # 0 | ISN 100
      00 00 05 c8   # MTU 1480
      00 00 10 00   # flow window 4096
      ff ff ff ff   # CONCLUSION
      00 00 00 07   # SRT socket ID 7
      00 00 00 00   # cookie 0
      b8 0d 01 20   # peer IP 2001:db8::1 word 1 (20 01 0d b8 reversed)
      00 00 00 00   # word 2
      00 00 00 00   # word 3
      01 00 00 00   # word 4: ::1 (00 00 00 01 reversed)
      00 02 00 03   # extension HSRSP | 3 words
      00 01 05 02   #   SRT version 1.5.2
      00 00 00 7f   #   flags: all but PACKET_FILTER, STREAM included
      07 d0 00 14   #   receiver TSBPD 2000 ms | sender TSBPD 20 ms
      00 05 00 02   # extension SID | 2 words
      c3 66 61 63   #   "caf" + first octet of é (63 61 66 c3), reversed: the reversal cuts through é
      00 00 00 a9   #   last octet of é + 3 NUL of padding (a9 00 00 00), reversed: the padding comes first
      00 06 00 01   # extension CONGESTION | 1 word
      65 6c 69 66   #   "file" reversed ("elif")
      00 07 00 03   # extension FILTER | 3 words
      2c 63 65 66   #   "fec," reversed
      73 6c 6f 63   #   "cols" reversed
      00 30 31 3a   #   ":10" + NUL, reversed
      00 08 00 02   # extension GROUP | 2 words
      40 00 00 05   #   group ID 0x40000005
      02 01 00 64   #   type 2 main/backup | flags 1 (M) | weight 100
      00 04 00 01   # extension KMRSP | 1 word: a KM state, not a KM message
      00 00 00 03   #   3 = NOSECRET
    `),
    result: hs({
      timestampUs: 10, destSocketId: 42, encryptionField: 4, extensionField: 0x7, initialSequenceNumber: 100,
      mtuBytes: 1480, flowWindowPackets: 4096, handshakeType: HandshakeType.CONCLUSION, socketId: 7,
      peerIp: new Uint8Array([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
      hsRsp: { srtVersion: 0x00010502, srtFlags: 0x7f, receiverTsbpdDelayMs: 2000, senderTsbpdDelayMs: 20 },
      streamId: 'café', congestion: 'file', filter: 'fec,cols:10',
      group: { groupId: 0x40000005, type: 2, flags: 1, weight: 100 },
      kmRsp: hex('00 00 00 03'),
    }),
    written: true,
  },
  {
    name: 'application rejection 2404: NOTFOUND (SRT_REJX 1404) for an unknown stream',
    bytes: hex(`
      80 00 00 00   # F1 | HANDSHAKE | subtype 0
      00 00 00 00   # type-specific 0
      00 00 00 01   # timestamp 1 µs
      00 00 00 2a   # destination socket ID 42
      00 00 00 05   # version 5
      00 00 00 00   # encryption 0 | extension field 0
      00 00 00 01   # 0 | ISN 1
      00 00 05 dc   # MTU 1500
      00 00 20 00   # flow window 8192
      00 00 09 64   # handshake type 2404 = 1000 + 1404
      00 00 00 09   # SRT socket ID 9
      12 34 56 78   # cookie echoed
      0a 00 00 0a   # peer IP 10.0.0.10 (word-reversed)
      00 00 00 00   #
      00 00 00 00   #
      00 00 00 00   #
    `),
    result: hs({
      timestampUs: 1, destSocketId: 42, initialSequenceNumber: 1, handshakeType: 2404, socketId: 9,
      synCookie: 0x12345678, peerIp: ip4(10, 0, 0, 10),
    }),
    written: true,
  },
  {
    name: 'unknown extension type 9 is skipped',
    bytes: hex(`
      80 00 00 00   # F1 | HANDSHAKE | subtype 0
      00 00 00 00   # type-specific 0
      00 00 00 00   # timestamp 0
      00 00 00 00   # destination socket ID 0
      00 00 00 05   # version 5
      00 00 00 05   # encryption 0 | flags HSREQ + CONFIG
      00 00 00 01   # 0 | ISN 1
      00 00 05 dc   # MTU 1500
      00 00 20 00   # flow window 8192
      ff ff ff ff   # CONCLUSION
      00 00 00 2a   # SRT socket ID 42
      00 00 00 00   # cookie
      01 00 00 7f   # peer IP 127.0.0.1 (word-reversed)
      00 00 00 00   #
      00 00 00 00   #
      00 00 00 00   #
      00 09 00 02   # extension type 9 (unknown) | 2 words
      de ad be ef   #   skipped
      de ad be ef   #   skipped
      00 05 00 01   # extension SID | 1 word
      31 30 31 72   #   "r101" reversed
      00 63 00 00   # extension type 99 (unknown) | 0 words
    `),
    result: hs({
      extensionField: 0x5, initialSequenceNumber: 1, handshakeType: HandshakeType.CONCLUSION, socketId: 42, streamId: 'r101',
    }),
  },
  {
    name: 'a version-4 handshake has no extension blocks: trailing octets are ignored',
    bytes: hex(`
      80 00 00 00   # F1 | HANDSHAKE | subtype 0
      00 00 00 00   # type-specific 0
      00 00 00 00   # timestamp 0
      00 00 00 00   # destination socket ID 0
      00 00 00 04   # version 4
      00 00 00 02   # encryption 0 | UDT_DGRAM
      00 00 00 01   # 0 | ISN 1
      00 00 05 dc   # MTU 1500
      00 00 20 00   # flow window 8192
      00 00 00 01   # INDUCTION
      00 00 00 2a   # SRT socket ID 42
      00 00 00 00   # cookie
      01 00 00 7f   # peer IP 127.0.0.1 (word-reversed)
      00 00 00 00   #
      00 00 00 00   #
      00 00 00 00   #
      ff ff ff      # junk a version-5 parser would reject
    `),
    result: hs({ version: 4, extensionField: 2, initialSequenceNumber: 1, handshakeType: HandshakeType.INDUCTION, socketId: 42 }),
  },
  {
    name: 'extension block header cut short (2 octets after the CIF)',
    bytes: hex(`
      80 00 00 00   # F1 | HANDSHAKE | subtype 0
      00 00 00 00   # type-specific 0
      00 00 00 00   # timestamp 0
      00 00 00 00   # destination socket ID 0
      00 00 00 05   # version 5
      00 00 00 05   # encryption 0 | flags HSREQ + CONFIG
      00 00 00 01   # 0 | ISN 1
      00 00 05 dc   # MTU 1500
      00 00 20 00   # flow window 8192
      ff ff ff ff   # CONCLUSION
      00 00 00 2a   # SRT socket ID 42
      00 00 00 00   # cookie
      01 00 00 7f   # peer IP
      00 00 00 00   #
      00 00 00 00   #
      00 00 00 00   #
      00 01         # extension type HSREQ ... no length
    `),
    result: SrtParseError.BAD_EXTENSION,
  },
  {
    name: 'extension length runs past the packet',
    bytes: hex(`
      80 00 00 00   # F1 | HANDSHAKE | subtype 0
      00 00 00 00   # type-specific 0
      00 00 00 00   # timestamp 0
      00 00 00 00   # destination socket ID 0
      00 00 00 05   # version 5
      00 00 00 05   # encryption 0 | flags HSREQ + CONFIG
      00 00 00 01   # 0 | ISN 1
      00 00 05 dc   # MTU 1500
      00 00 20 00   # flow window 8192
      ff ff ff ff   # CONCLUSION
      00 00 00 2a   # SRT socket ID 42
      00 00 00 00   # cookie
      01 00 00 7f   # peer IP
      00 00 00 00   #
      00 00 00 00   #
      00 00 00 00   #
      00 05 00 03   # extension SID | 3 words (12 octets)
      31 30 31 72   #   only 8 present
      00 00 00 00   #
    `),
    result: SrtParseError.BAD_EXTENSION,
  },
  {
    name: 'HSREQ of 2 words',
    bytes: hex(`
      80 00 00 00   # F1 | HANDSHAKE | subtype 0
      00 00 00 00   # type-specific 0
      00 00 00 00   # timestamp 0
      00 00 00 00   # destination socket ID 0
      00 00 00 05   # version 5
      00 00 00 01   # encryption 0 | flags HSREQ
      00 00 00 01   # 0 | ISN 1
      00 00 05 dc   # MTU 1500
      00 00 20 00   # flow window 8192
      ff ff ff ff   # CONCLUSION
      00 00 00 2a   # SRT socket ID 42
      00 00 00 00   # cookie
      01 00 00 7f   # peer IP
      00 00 00 00   #
      00 00 00 00   #
      00 00 00 00   #
      00 01 00 02   # extension HSREQ | 2 words (must be 3)
      00 01 05 01   #   SRT version
      00 00 00 bf   #   flags ... no latency word
    `),
    result: SrtParseError.BAD_EXTENSION_LENGTH,
  },
  {
    name: 'KMREQ of 0 words',
    bytes: hex(`
      80 00 00 00   # F1 | HANDSHAKE | subtype 0
      00 00 00 00   # type-specific 0
      00 00 00 00   # timestamp 0
      00 00 00 00   # destination socket ID 0
      00 00 00 05   # version 5
      00 02 00 02   # encryption 2 | flags KMREQ
      00 00 00 01   # 0 | ISN 1
      00 00 05 dc   # MTU 1500
      00 00 20 00   # flow window 8192
      ff ff ff ff   # CONCLUSION
      00 00 00 2a   # SRT socket ID 42
      00 00 00 00   # cookie
      01 00 00 7f   # peer IP
      00 00 00 00   #
      00 00 00 00   #
      00 00 00 00   #
      00 03 00 00   # extension KMREQ | 0 words: no KM message
    `),
    result: SrtParseError.BAD_EXTENSION_LENGTH,
  },
  {
    name: 'GROUP of 1 word',
    bytes: hex(`
      80 00 00 00   # F1 | HANDSHAKE | subtype 0
      00 00 00 00   # type-specific 0
      00 00 00 00   # timestamp 0
      00 00 00 00   # destination socket ID 0
      00 00 00 05   # version 5
      00 00 00 04   # encryption 0 | flags CONFIG
      00 00 00 01   # 0 | ISN 1
      00 00 05 dc   # MTU 1500
      00 00 20 00   # flow window 8192
      ff ff ff ff   # CONCLUSION
      00 00 00 2a   # SRT socket ID 42
      00 00 00 00   # cookie
      01 00 00 7f   # peer IP
      00 00 00 00   #
      00 00 00 00   #
      00 00 00 00   #
      00 08 00 01   # extension GROUP | 1 word (must be 2)
      40 00 00 05   #   group ID ... no type/flags/weight
    `),
    result: SrtParseError.BAD_EXTENSION_LENGTH,
  },
  {
    name: 'Stream ID of 516 octets (limit 512, draft §3.2.1.3)',
    bytes: LONG_SID,
    result: SrtParseError.BAD_EXTENSION_LENGTH,
  },
  {
    name: 'ISN with bit 31 set',
    bytes: hex(`
      80 00 00 00   # F1 | HANDSHAKE | subtype 0
      00 00 00 00   # type-specific 0
      00 00 00 00   # timestamp 0
      00 00 00 00   # destination socket ID 0
      00 00 00 04   # version 4
      00 00 00 02   # encryption 0 | UDT_DGRAM
      80 00 00 01   # 1 | ISN: bit 31 must be 0
      00 00 05 dc   # MTU 1500
      00 00 20 00   # flow window 8192
      00 00 00 01   # INDUCTION
      00 00 00 2a   # SRT socket ID 42
      00 00 00 00   # cookie
      01 00 00 7f   # peer IP
      00 00 00 00   #
      00 00 00 00   #
      00 00 00 00   #
    `),
    result: SrtParseError.BAD_SEQUENCE_NUMBER,
  },
  {
    name: 'CIF cut at 47 octets',
    bytes: hex(`
      80 00 00 00   # F1 | HANDSHAKE | subtype 0
      00 00 00 00   # type-specific 0
      00 00 00 00   # timestamp 0
      00 00 00 00   # destination socket ID 0
      00 00 00 04   # version 4
      00 00 00 02   # encryption 0 | UDT_DGRAM
      00 00 00 01   # 0 | ISN 1
      00 00 05 dc   # MTU 1500
      00 00 20 00   # flow window 8192
      00 00 00 01   # INDUCTION
      00 00 00 2a   # SRT socket ID 42
      00 00 00 00   # cookie
      01 00 00 7f   # peer IP
      00 00 00 00   #
      00 00 00 00   #
      00 00 00      # last word cut short
    `),
    result: SrtParseError.TRUNCATED,
  },
  {
    name: 'a KEEPALIVE is not a handshake',
    bytes: hex(`
      80 01 00 00   # F1 | KEEPALIVE
      00 00 00 00   # type-specific 0
      00 00 00 00   # timestamp 0
      00 00 00 2a   # destination socket ID 42
      00 00 00 00   # padding
    `),
    result: SrtParseError.WRONG_CONTROL_TYPE,
  },
  {
    name: 'a data packet is not a handshake',
    bytes: hex(`
      00 00 00 00   # F0 | packet sequence number 0
      c0 00 00 01   # PP 11 | message number 1
      00 00 00 00   # timestamp 0
      00 00 00 2a   # destination socket ID 42
    `),
    result: SrtParseError.NOT_CONTROL,
  },
  {
    name: 'ten octets',
    bytes: hex(`
      80 00 00 00   # F1 | HANDSHAKE
      00 00 00 00   # type-specific 0
      00 00         # timestamp cut short
    `),
    result: SrtParseError.TRUNCATED,
  },
];

/** Every vector's bytes: seeds for the fuzz properties. */
export const allVectors: Buffer[] = [
  ...headerCases.map((c) => c.bytes),
  ...ackCases.map((c) => c.bytes),
  ...nakCases.map((c) => c.bytes),
  ...dropReqCases.map((c) => c.bytes),
  ...handshakeCases.map((c) => c.bytes),
];
