/**
 * SRT handshake packets, draft-sharabayko-srt-01 §3.2.1 (Handshake), its
 * extension blocks (§3.2.1.1–§3.2.1.4) and the caller–listener exchange of
 * §4.3.1; checked against libsrt 1.5.1 on the wire (test/unit/core/srt/
 * srt-cases.ts holds the captures). A pure codec: {@link parseHandshake}
 * never throws and returns a negative {@link SrtParseError} code for a bad
 * packet (STYLE.md §3); {@link writeHandshake} returns a new Buffer and throws
 * RangeError for values the wire cannot carry. A handshake is rare (a few per
 * connection), so, unlike the per-packet codecs in `packet.ts`, it is parsed
 * into a fresh object.
 *
 * Control Information Field after the 16-octet control header (control type
 * 0), draft §3.2.1 Figure 5:
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                            Version                            |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |        Encryption Field       |        Extension Field        |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |0|               Initial Packet Sequence Number                |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                 Maximum Transmission Unit Size                |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                    Maximum Flow Window Size                   |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                         Handshake Type                        |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                         SRT Socket ID                         |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                           SYN Cookie                          |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                                                               |
 *    +                        Peer IP Address                        +
 *    |                         (4 × 32 bits)                         |
 *    +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *    |         Extension Type        |        Extension Length       |  repeated
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |              Extension Contents (Length × 4 octets)           |
 *    +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *
 * Two byte-order quirks, both verified on libsrt's own packets:
 *
 * - Peer IP Address: libsrt copies the `in_addr` / `in6_addr` octets into
 *   host-order 32-bit words and then byte-swaps every control word for the
 *   wire (srtcore/common.cpp `CIPAddress::ntop`, srtcore/channel.cpp), so on
 *   a little-endian host — every libsrt peer we will meet — each 32-bit word
 *   of the address arrives with its octets reversed: 127.0.0.1 is sent as
 *   `01 00 00 7f`, 192.0.2.2 as `02 02 00 c0`. An IPv4 address fills the
 *   first word; the other three are zero (draft §3.2.1). And the address is
 *   the one the packet is sent TO (libsrt `startConnect` puts the listener's
 *   address; the listener puts the caller's), not "the packet's sender" as
 *   draft §3.2.1 words it: a libsrt caller on 127.0.0.1 connecting to
 *   192.0.2.2 wrote 192.0.2.2 (captured). {@link SrtHandshake.peerIp} holds
 *   the address in ordinary network order; the codec does the reversal.
 * - String extensions (Stream ID, congestion controller, packet filter):
 *   UTF-8, zero-padded to whole words, then each 32-bit word's octets
 *   reversed (srtcore/core.cpp `fillHsExtConfigString`: memcpy, then
 *   `HtoILA`; libsrt docs/features/handshake.md: "STREAM" is sent as
 *   `ERTS@@MA`; draft §3.2.1.3: "stored as 32-bit little endian words").
 *   "room/101" is on the wire as `6d 6f 6f 72 31 30 31 2f` ("moor", "101/").
 *
 * The key-material message in KMREQ/KMRSP is NOT reversed: libsrt pre-swaps
 * it to cancel the channel's swap (core.cpp `fillHsExtKMREQ`), so its octets
 * are in the order of draft §3.2.2 and are kept raw here.
 */

import {
  ControlType,
  SRT_HEADER_SIZE,
  SRT_SEQ_MAX,
  SrtParseError,
  srtCheckUint,
  srtClampLength,
  srtControlType,
  srtDestSocketId,
  srtIsControl,
  srtPutU32,
  srtTimestamp,
  srtU32,
  writeControlHeader,
  type SrtParseErrorCode,
} from './packet.js';

/** Size of the handshake CIF without extensions (libsrt `CHandShake::m_iContentSize`). */
export const HANDSHAKE_CIF_SIZE = 48;
/** Header + CIF: the smallest handshake packet, and all of an induction. */
export const HANDSHAKE_PACKET_MIN_SIZE = SRT_HEADER_SIZE + HANDSHAKE_CIF_SIZE;
/** Extension Type + Extension Length (draft §3.2.1). */
export const HANDSHAKE_EXTENSION_HEADER_SIZE = 4;
/** Stream ID limit, draft §3.2.1.3 ("The maximum allowed size of the StreamID extension is 512 bytes"). */
export const SRT_STREAM_ID_MAX_BYTES = 512;
/** HSREQ/HSRSP contents: version, flags, the two TSBPD delays (draft §3.2.1.1). */
export const HS_EXTENSION_WORDS = 3;
/** Group membership contents: group ID, type/flags/weight (draft §3.2.1.4). */
export const GROUP_EXTENSION_WORDS = 2;

/** Byte offsets in a handshake packet (from the start of the SRT header; draft §3.2.1). */
export const HandshakeOffset = {
  VERSION: 16,
  ENCRYPTION_FIELD: 20,
  EXTENSION_FIELD: 22,
  INITIAL_SEQUENCE_NUMBER: 24,
  MTU: 28,
  FLOW_WINDOW: 32,
  HANDSHAKE_TYPE: 36,
  SOCKET_ID: 40,
  SYN_COOKIE: 44,
  PEER_IP: 48,
  /** First extension block. */
  EXTENSIONS: 64,
} as const;

/** Handshake Version values (draft §3.2.1). */
export const HandshakeVersion = {
  /** UDT-compatible: a caller's INDUCTION always says 4 (draft §4.3.1.1). */
  UDT4: 4,
  /** SRT's integrated handshake, "HSv5". */
  SRT5: 5,
} as const;

/**
 * Handshake Type values, draft §3.2.1 Table 4 (libsrt handshake.h
 * `UDTRequestType`: CONCLUSION −1, AGREEMENT −2, DONE −3 as int32). Values
 * from 1000 on are rejections: see {@link handshakeRejectReason}.
 */
export const HandshakeType = {
  /** Rendezvous: first message of each side. */
  WAVEAHAND: 0x00000000,
  /** Caller-listener: first request, and the listener's cookie-bearing answer. */
  INDUCTION: 0x00000001,
  CONCLUSION: 0xffffffff,
  /** Rendezvous: last message. */
  AGREEMENT: 0xfffffffe,
  /** libsrt internal "send nothing"; never expected on the wire. */
  DONE: 0xfffffffd,
} as const;
export type HandshakeType = (typeof HandshakeType)[keyof typeof HandshakeType];

/** Added to a rejection reason to make a Handshake Type (libsrt handshake.h `URQ_FAILURE_TYPES`). */
export const HANDSHAKE_REJECT_BASE = 1000;

/**
 * Rejection reasons, libsrt srt.h `SRT_REJECT_REASON` and
 * docs/API/rejection-codes.md; draft §4.3 Table 7 lists them as wire codes
 * 1000–1017. On the wire the Handshake Type is 1000 + reason: libsrt
 * 1.5.1 answered a caller without a passphrase with 1011 (UNSECURE),
 * captured in srt-cases.ts.
 */
export const SrtRejectReason = {
  /** 0: unknown reason (also libsrt's fallback for unlisted codes below 1000). */
  UNKNOWN: 0,
  /** 1: a system function failed. */
  SYSTEM: 1,
  /** 2: rejected by the peer, no details (the old URQ_ERROR_REJECT 1002). */
  PEER: 2,
  /** 3: resource allocation problem. */
  RESOURCE: 3,
  /** 4: incorrect data in the handshake (the old URQ_ERROR_INVALID 1004). */
  ROGUE: 4,
  /** 5: listener's backlog exceeded. */
  BACKLOG: 5,
  /** 6: internal program error. */
  IPE: 6,
  /** 7: the listener socket is closing. */
  CLOSE: 7,
  /** 8: peer older than the agent's minimum version (SRTO_MINVERSION). */
  VERSION: 8,
  /** 9: rendezvous cookie collision. */
  RDVCOOKIE: 9,
  /** 10: both sides set passphrases, and they differ. */
  BADSECRET: 10,
  /** 11: only one side set a passphrase (with enforced encryption). */
  UNSECURE: 11,
  /** 12: SRTO_MESSAGEAPI (stream / message mode) differs. */
  MESSAGEAPI: 12,
  /** 13: incompatible congestion controller (SRTO_CONGESTION). */
  CONGESTION: 13,
  /** 14: incompatible packet filter (SRTO_PACKETFILTER). */
  FILTER: 14,
  /** 15: incompatible group. */
  GROUP: 15,
  /** 16: connection timed out (local only; never sent). */
  TIMEOUT: 16,
  /** 17: unsupported or mismatching crypto mode (libsrt 1.5.2+). */
  CRYPTO: 17,
} as const;
export type SrtRejectReason = (typeof SrtRejectReason)[keyof typeof SrtRejectReason];

/**
 * Application rejection codes a listener may send after reading the Stream ID
 * (libsrt access_control.h `SRT_REJX_*`, the `SRT_REJC_PREDEFINED` range
 * 1000–1999, mostly HTTP status + 1000); on the wire 1000 more again (e.g.
 * NOTFOUND is Handshake Type 2404). 2000–2999 are free for applications
 * (`SRT_REJC_USERDEFINED`).
 */
export const SrtRejectReasonX = {
  FALLBACK: 1000,
  KEY_NOTSUP: 1001,
  SESSIONOFF: 1002,
  FILEPATH: 1003,
  HOSTNOTFOUND: 1004,
  BAD_REQUEST: 1400,
  UNAUTHORIZED: 1401,
  OVERLOAD: 1402,
  FORBIDDEN: 1403,
  /** The resource named by the Stream ID does not exist (an unknown room or channel). */
  NOTFOUND: 1404,
  BAD_MODE: 1405,
  UNACCEPTABLE: 1406,
  CONFLICT: 1409,
  NOTSUP_MEDIA: 1415,
  LOCKED: 1423,
  FAILED_DEPEND: 1424,
  ISE: 1500,
  UNIMPLEMENTED: 1501,
  GW: 1502,
  DOWN: 1503,
  VERSION: 1505,
  NOROOM: 1507,
} as const;
/** First code of the application-defined range (libsrt `SRT_REJC_USERDEFINED`). */
export const SRT_REJC_USERDEFINED = 2000;

/** Handshake Type that rejects with `reason` (libsrt `URQFailure`). @throws RangeError outside [0, 2^31 − 1001]. */
export function handshakeRejection(reason: number): number {
  srtCheckUint('handshake rejection reason', reason, 0x7fffffff - HANDSHAKE_REJECT_BASE);
  return HANDSHAKE_REJECT_BASE + reason;
}

/**
 * The rejection reason a Handshake Type carries, or −1 when it is not a
 * rejection. Like libsrt `RejectReasonForURQ`, an unlisted code below the
 * application range reads as {@link SrtRejectReason.UNKNOWN}. Rejections are
 * 1000 ≤ type < 2^31 (libsrt's type is a signed int32: CONCLUSION, AGREEMENT
 * and DONE are negative there).
 */
export function handshakeRejectReason(handshakeType: number): number {
  if (!(handshakeType >= HANDSHAKE_REJECT_BASE && handshakeType <= 0x7fffffff)) return -1;
  const reason = handshakeType - HANDSHAKE_REJECT_BASE;
  if (reason > SrtRejectReason.CRYPTO && reason < SrtRejectReasonX.FALLBACK) return SrtRejectReason.UNKNOWN;
  return reason;
}

/** Encryption Field values: the advertised key length (draft §3.2.1 Table 2; libsrt: PBKEYLEN / 8). */
export const EncryptionField = {
  NONE: 0,
  AES_128: 2,
  AES_192: 3,
  AES_256: 4,
} as const;
export type EncryptionField = (typeof EncryptionField)[keyof typeof EncryptionField];

/** "SRT magic code" in the Extension Field of the listener's INDUCTION answer (draft §4.3.1.1; libsrt `SrtHSRequest::SRT_MAGIC_CODE`). */
export const SRT_MAGIC_CODE = 0x4a17;
/** Extension Field of a caller's INDUCTION: UDT's socket type UDT_DGRAM (libsrt docs/features/handshake.md, "The Type Field"). */
export const UDT_DGRAM = 2;

/** Extension Field flags of a CONCLUSION (draft §3.2.1 Table 3; libsrt `CHandShake::HS_EXT_*`). */
export const HandshakeExtensionFlags = {
  /** HSREQ or HSRSP present. */
  HSREQ: 0x1,
  /** KMREQ or KMRSP present. */
  KMREQ: 0x2,
  /** Stream ID, congestion controller, filter or group present. */
  CONFIG: 0x4,
} as const;

/** Extension Type values (draft §3.2.1 Table 5; libsrt handshake.h `SRT_CMD_*`). */
export const HandshakeExtensionType = {
  HSREQ: 1,
  HSRSP: 2,
  KMREQ: 3,
  KMRSP: 4,
  SID: 5,
  CONGESTION: 6,
  FILTER: 7,
  GROUP: 8,
} as const;
export type HandshakeExtensionType = (typeof HandshakeExtensionType)[keyof typeof HandshakeExtensionType];

/** SRT Flags of HSREQ/HSRSP (draft §3.2.1.1.1 Table 6; libsrt handshake.h `SrtOptions`). */
export const SrtFlags = {
  /** Will send in TSBPD mode. */
  TSBPDSND: 0x01,
  /** Expects to receive in TSBPD mode. */
  TSBPDRCV: 0x02,
  /** Legacy: understands the KK field; must be set (libsrt SRT_OPT_HAICRYPT). */
  CRYPT: 0x04,
  /** Drops packets too late to deliver. */
  TLPKTDROP: 0x08,
  /** Sends periodic NAKs (libsrt SRT_OPT_NAKREPORT). */
  PERIODICNAK: 0x10,
  /** Legacy: understands the R field; must be set. */
  REXMITFLG: 0x20,
  /** Buffer (stream) mode rather than message mode. */
  STREAM: 0x40,
  /** Supports packet filters (libsrt SRT_OPT_FILTERCAP). */
  PACKET_FILTER: 0x80,
} as const;

/** HSREQ / HSRSP contents (draft §3.2.1.1 Figure 6). */
export interface SrtHsExtension {
  /** major·0x10000 + minor·0x100 + patch (libsrt 1.5.1 sends 0x00010501). */
  srtVersion: number;
  /** {@link SrtFlags} bits. */
  srtFlags: number;
  /** Upper 16 bits: the latency this side wants to receive with, ms. */
  receiverTsbpdDelayMs: number;
  /** Lower 16 bits: the latency this side asks its peer to receive with, ms. */
  senderTsbpdDelayMs: number;
}

/** Group membership contents (draft §3.2.1.4 Figures 8–9). */
export interface SrtGroupExtension {
  groupId: number;
  /** 8 bits: 0 undefined, 1 broadcast, 2 main/backup, 3 balancing. */
  type: number;
  /** 8 bits: bit 0 (M) = synchronise on message numbers. */
  flags: number;
  /** 16 bits: link priority for main/backup. */
  weight: number;
}

/**
 * A whole handshake packet: header addressing, the 48-octet CIF, and the
 * extensions found after it (absent when not sent). Parsed values own their
 * bytes: no field is a view into the datagram.
 */
export interface SrtHandshake {
  timestampUs: number;
  /** 0 on a connection request (draft §3). */
  destSocketId: number;
  /** 4 or 5 ({@link HandshakeVersion}). */
  version: number;
  /** 16 bits: {@link EncryptionField}. */
  encryptionField: number;
  /** 16 bits: {@link HandshakeExtensionFlags}, {@link SRT_MAGIC_CODE} or {@link UDT_DGRAM}. Written as given, not derived from the extensions. */
  extensionField: number;
  /** 31 bits. */
  initialSequenceNumber: number;
  mtuBytes: number;
  flowWindowPackets: number;
  /** Unsigned 32 bits: {@link HandshakeType} or a rejection (1000 + reason). */
  handshakeType: number;
  /** The sender's SRT socket ID. */
  socketId: number;
  synCookie: number;
  /**
   * The address of the host the packet is sent to (see the module doc), 16
   * octets in ordinary network order (IPv4: the first 4, then zeros).
   */
  peerIp: Uint8Array;
  hsReq?: SrtHsExtension;
  hsRsp?: SrtHsExtension;
  /** The raw key-material message (draft §3.2.2), as many octets as the block. */
  kmReq?: Uint8Array;
  /** The raw KM message, or 4 octets of KM state on failure (draft §3.2.1.2). */
  kmRsp?: Uint8Array;
  streamId?: string;
  /** Congestion controller name ("live", "file"). */
  congestion?: string;
  /** Packet filter configuration (e.g. "fec,cols:10,rows:5"). */
  filter?: string;
  group?: SrtGroupExtension;
}

/** True when {@link parseHandshake} returned an error code rather than a handshake. */
export function isSrtParseError(r: SrtHandshake | SrtParseErrorCode): r is SrtParseErrorCode {
  return typeof r === 'number';
}

// ---------------------------------------------------------------- peer IP

/** The 16-octet peer IP field for an IPv4 address in dotted form. @throws RangeError for anything else. */
export function peerIpFromIPv4(dotted: string): Uint8Array {
  const parts = typeof dotted === 'string' ? dotted.split('.') : [];
  const ip = new Uint8Array(16);
  if (parts.length !== 4) throw new RangeError(`peer IP: ${String(dotted)} is not a dotted IPv4 address`);
  for (let i = 0; i < 4; i++) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(parts[i]) || Number(parts[i]) > 255) {
      throw new RangeError(`peer IP: ${dotted} is not a dotted IPv4 address`);
    }
    ip[i] = Number(parts[i]);
  }
  return ip;
}

/**
 * Text form of a peer IP field: dotted IPv4 when the last 12 octets are zero
 * (draft §3.2.1), else IPv6 with the longest zero run compressed (RFC 5952).
 */
export function formatPeerIp(ip: Uint8Array): string {
  let tailZero = true;
  for (let i = 4; i < 16; i++) if (ip[i] !== 0) tailZero = false;
  if (tailZero) return `${ip[0]}.${ip[1]}.${ip[2]}.${ip[3]}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((ip[i] << 8) | ip[i + 1]);
  let best = -1;
  let bestLen = 1; // RFC 5952 §4.2.2: a single 0 group is not compressed
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

// ---------------------------------------------------------------- string extensions

const utf8 = new TextDecoder('utf-8'); // not fatal: bad UTF-8 becomes U+FFFD, never a throw

/**
 * Read `words` reversed 32-bit words at `off` as a string: un-reverse each
 * word, stop at the first NUL (libsrt keeps the string up to its strlen),
 * decode UTF-8.
 */
function readConfigString(buf: Uint8Array, off: number, words: number): string {
  const bytes = new Uint8Array(words * 4);
  for (let i = 0; i < words; i++) {
    const p = off + i * 4;
    bytes[i * 4] = buf[p + 3];
    bytes[i * 4 + 1] = buf[p + 2];
    bytes[i * 4 + 2] = buf[p + 1];
    bytes[i * 4 + 3] = buf[p];
  }
  let end = bytes.indexOf(0);
  if (end < 0) end = bytes.length;
  return utf8.decode(bytes.subarray(0, end));
}

function configStringBytes(what: string, s: unknown, maxBytes: number): Uint8Array {
  if (typeof s !== 'string') throw new RangeError(`${what}: not a string`);
  const raw = Buffer.from(s, 'utf8');
  if (raw.includes(0)) throw new RangeError(`${what}: contains NUL, which ends the string on the wire`);
  if (raw.length > maxBytes) throw new RangeError(`${what}: ${raw.length} octets exceed ${maxBytes}`);
  const words = Math.ceil(raw.length / 4);
  const out = new Uint8Array(words * 4); // zero-padded to a whole word
  for (let i = 0; i < words; i++) {
    for (let k = 0; k < 4; k++) out[i * 4 + 3 - k] = raw[i * 4 + k] ?? 0;
  }
  return out;
}

// ---------------------------------------------------------------- parsing

function readHsExtension(buf: Uint8Array, p: number): SrtHsExtension {
  return {
    srtVersion: srtU32(buf, p),
    srtFlags: srtU32(buf, p + 4),
    receiverTsbpdDelayMs: (buf[p + 8] << 8) | buf[p + 9],
    senderTsbpdDelayMs: (buf[p + 10] << 8) | buf[p + 11],
  };
}

/**
 * Read one extension block's contents into `h`. The caller has checked that
 * the contents lie inside the packet. Unknown types are skipped (libsrt
 * core.cpp `interpretSrtHandshake` ignores them too); a repeated type
 * replaces the earlier one.
 */
function readExtension(h: SrtHandshake, type: number, buf: Uint8Array, p: number, words: number): SrtParseErrorCode {
  const bad = SrtParseError.BAD_EXTENSION_LENGTH;
  const bytes = words * 4;
  switch (type) {
    case HandshakeExtensionType.HSREQ:
    case HandshakeExtensionType.HSRSP: {
      if (words < HS_EXTENSION_WORDS) return bad;
      const ext = readHsExtension(buf, p);
      if (type === HandshakeExtensionType.HSREQ) h.hsReq = ext;
      else h.hsRsp = ext;
      return SrtParseError.OK;
    }
    case HandshakeExtensionType.KMREQ:
    case HandshakeExtensionType.KMRSP: {
      if (words < 1) return bad;
      const km = new Uint8Array(buf.subarray(p, p + bytes)); // a copy: the datagram buffer is the caller's
      if (type === HandshakeExtensionType.KMREQ) h.kmReq = km;
      else h.kmRsp = km;
      return SrtParseError.OK;
    }
    case HandshakeExtensionType.SID:
      // libsrt rejects a longer Stream ID as ROGUE (core.cpp interpretSrtHandshake, MAX_SID_LENGTH).
      if (bytes > SRT_STREAM_ID_MAX_BYTES) return bad;
      h.streamId = readConfigString(buf, p, words);
      return SrtParseError.OK;
    case HandshakeExtensionType.CONGESTION:
      h.congestion = readConfigString(buf, p, words);
      return SrtParseError.OK;
    case HandshakeExtensionType.FILTER:
      h.filter = readConfigString(buf, p, words);
      return SrtParseError.OK;
    case HandshakeExtensionType.GROUP:
      if (words < GROUP_EXTENSION_WORDS) return bad;
      h.group = {
        groupId: srtU32(buf, p),
        type: buf[p + 4],
        flags: buf[p + 5],
        weight: (buf[p + 6] << 8) | buf[p + 7],
      };
      return SrtParseError.OK;
    default:
      return SrtParseError.OK;
  }
}

/**
 * Parse the handshake packet in `buf[0, len)`: header, CIF and, for version
 * 5 and above, every extension block up to the end of the datagram. Bounds
 * come from `len` and `buf.length` (the smaller wins); nothing outside
 * `[0, len)` is read; never throws. A version-4 (UDT) handshake has no
 * blocks: any octets after its CIF are ignored.
 *
 * `buf` is borrowed: the result holds no view into it.
 * @returns the handshake, or a negative {@link SrtParseError} code.
 */
export function parseHandshake(buf: Uint8Array, len: number): SrtHandshake | SrtParseErrorCode {
  const n = srtClampLength(buf, len);
  if (n < SRT_HEADER_SIZE) return SrtParseError.TRUNCATED;
  if (!srtIsControl(buf, 0)) return SrtParseError.NOT_CONTROL;
  if (srtControlType(buf, 0) !== ControlType.HANDSHAKE) return SrtParseError.WRONG_CONTROL_TYPE;
  if (n < HANDSHAKE_PACKET_MIN_SIZE) return SrtParseError.TRUNCATED;

  const isn = srtU32(buf, HandshakeOffset.INITIAL_SEQUENCE_NUMBER);
  if (isn > SRT_SEQ_MAX) return SrtParseError.BAD_SEQUENCE_NUMBER;
  const peerIp = new Uint8Array(16);
  for (let i = 0; i < 16; i += 4) {
    // Undo libsrt's per-word reversal (module doc).
    const p = HandshakeOffset.PEER_IP + i;
    peerIp[i] = buf[p + 3];
    peerIp[i + 1] = buf[p + 2];
    peerIp[i + 2] = buf[p + 1];
    peerIp[i + 3] = buf[p];
  }
  const h: SrtHandshake = {
    timestampUs: srtTimestamp(buf, 0),
    destSocketId: srtDestSocketId(buf, 0),
    version: srtU32(buf, HandshakeOffset.VERSION),
    encryptionField: (buf[HandshakeOffset.ENCRYPTION_FIELD] << 8) | buf[HandshakeOffset.ENCRYPTION_FIELD + 1],
    extensionField: (buf[HandshakeOffset.EXTENSION_FIELD] << 8) | buf[HandshakeOffset.EXTENSION_FIELD + 1],
    initialSequenceNumber: isn,
    mtuBytes: srtU32(buf, HandshakeOffset.MTU),
    flowWindowPackets: srtU32(buf, HandshakeOffset.FLOW_WINDOW),
    handshakeType: srtU32(buf, HandshakeOffset.HANDSHAKE_TYPE),
    socketId: srtU32(buf, HandshakeOffset.SOCKET_ID),
    synCookie: srtU32(buf, HandshakeOffset.SYN_COOKIE),
    peerIp,
  };
  if (h.version < HandshakeVersion.SRT5) return h;

  let p: number = HandshakeOffset.EXTENSIONS;
  while (p < n) {
    if (n - p < HANDSHAKE_EXTENSION_HEADER_SIZE) return SrtParseError.BAD_EXTENSION;
    const type = (buf[p] << 8) | buf[p + 1];
    const words = (buf[p + 2] << 8) | buf[p + 3];
    const contents = p + HANDSHAKE_EXTENSION_HEADER_SIZE;
    if (words * 4 > n - contents) return SrtParseError.BAD_EXTENSION;
    const r = readExtension(h, type, buf, contents, words);
    if (r !== SrtParseError.OK) return r;
    p = contents + words * 4;
  }
  return h;
}

// ---------------------------------------------------------------- writing

interface Block {
  type: number;
  contents: Uint8Array;
}

function hsBlock(what: string, type: number, e: SrtHsExtension): Block {
  const b = new Uint8Array(HS_EXTENSION_WORDS * 4);
  srtPutU32(b, 0, srtCheckUint(`${what}.srtVersion`, e.srtVersion, 0xffffffff));
  srtPutU32(b, 4, srtCheckUint(`${what}.srtFlags`, e.srtFlags, 0xffffffff));
  const rcv = srtCheckUint(`${what}.receiverTsbpdDelayMs`, e.receiverTsbpdDelayMs, 0xffff);
  const snd = srtCheckUint(`${what}.senderTsbpdDelayMs`, e.senderTsbpdDelayMs, 0xffff);
  b[8] = rcv >>> 8;
  b[9] = rcv & 0xff;
  b[10] = snd >>> 8;
  b[11] = snd & 0xff;
  return { type, contents: b };
}

function kmBlock(what: string, type: number, km: unknown): Block {
  if (!(km instanceof Uint8Array)) throw new RangeError(`${what}: not a Uint8Array`);
  if (km.length === 0 || km.length % 4 !== 0) throw new RangeError(`${what}: ${km.length} octets is not a positive whole number of 32-bit words`);
  return { type, contents: km };
}

/**
 * Write the handshake `h` as a new packet: control header (type 0), CIF,
 * then the extensions present in libsrt's order (HSREQ/HSRSP, Stream ID,
 * congestion, filter, group, KMREQ/KMRSP; srtcore/core.cpp
 * `createSrtHandshake`), which reproduces the captured libsrt packets byte
 * for byte (test/unit/core/srt/srt-cases.ts).
 * The Extension Field is written as given. Extensions are written whatever
 * the version; a version-4 handshake should carry none.
 * @returns a new Buffer the caller owns.
 * @throws RangeError when a field does not fit its wire field.
 */
export function writeHandshake(h: SrtHandshake): Buffer {
  const w = 'SRT handshake';
  const version = srtCheckUint(`${w}.version`, h.version, 0xffffffff);
  const enc = srtCheckUint(`${w}.encryptionField`, h.encryptionField, 0xffff);
  const ext = srtCheckUint(`${w}.extensionField`, h.extensionField, 0xffff);
  const isn = srtCheckUint(`${w}.initialSequenceNumber`, h.initialSequenceNumber, SRT_SEQ_MAX);
  const mtu = srtCheckUint(`${w}.mtuBytes`, h.mtuBytes, 0xffffffff);
  const window = srtCheckUint(`${w}.flowWindowPackets`, h.flowWindowPackets, 0xffffffff);
  const type = srtCheckUint(`${w}.handshakeType`, h.handshakeType, 0xffffffff);
  const socketId = srtCheckUint(`${w}.socketId`, h.socketId, 0xffffffff);
  const cookie = srtCheckUint(`${w}.synCookie`, h.synCookie, 0xffffffff);
  if (!(h.peerIp instanceof Uint8Array) || h.peerIp.length !== 16) throw new RangeError(`${w}.peerIp: not 16 octets`);

  const blocks: Block[] = [];
  if (h.hsReq !== undefined) blocks.push(hsBlock(`${w}.hsReq`, HandshakeExtensionType.HSREQ, h.hsReq));
  if (h.hsRsp !== undefined) blocks.push(hsBlock(`${w}.hsRsp`, HandshakeExtensionType.HSRSP, h.hsRsp));
  if (h.streamId !== undefined) {
    blocks.push({ type: HandshakeExtensionType.SID, contents: configStringBytes(`${w}.streamId`, h.streamId, SRT_STREAM_ID_MAX_BYTES) });
  }
  if (h.congestion !== undefined) {
    blocks.push({ type: HandshakeExtensionType.CONGESTION, contents: configStringBytes(`${w}.congestion`, h.congestion, 0xffff * 4) });
  }
  if (h.filter !== undefined) {
    blocks.push({ type: HandshakeExtensionType.FILTER, contents: configStringBytes(`${w}.filter`, h.filter, 0xffff * 4) });
  }
  if (h.group !== undefined) {
    const g = h.group;
    const b = new Uint8Array(GROUP_EXTENSION_WORDS * 4);
    srtPutU32(b, 0, srtCheckUint(`${w}.group.groupId`, g.groupId, 0xffffffff));
    b[4] = srtCheckUint(`${w}.group.type`, g.type, 0xff);
    b[5] = srtCheckUint(`${w}.group.flags`, g.flags, 0xff);
    const weight = srtCheckUint(`${w}.group.weight`, g.weight, 0xffff);
    b[6] = weight >>> 8;
    b[7] = weight & 0xff;
    blocks.push({ type: HandshakeExtensionType.GROUP, contents: b });
  }
  if (h.kmReq !== undefined) blocks.push(kmBlock(`${w}.kmReq`, HandshakeExtensionType.KMREQ, h.kmReq));
  if (h.kmRsp !== undefined) blocks.push(kmBlock(`${w}.kmRsp`, HandshakeExtensionType.KMRSP, h.kmRsp));

  let size = HANDSHAKE_PACKET_MIN_SIZE;
  for (const b of blocks) {
    if (b.contents.length / 4 > 0xffff) throw new RangeError(`${w}: extension ${b.type} exceeds the 16-bit length field`);
    size += HANDSHAKE_EXTENSION_HEADER_SIZE + b.contents.length;
  }

  const buf = Buffer.alloc(size);
  writeControlHeader(buf, 0, {
    controlType: ControlType.HANDSHAKE,
    subtype: 0,
    typeSpecific: 0,
    timestampUs: h.timestampUs,
    destSocketId: h.destSocketId,
  });
  srtPutU32(buf, HandshakeOffset.VERSION, version);
  buf[HandshakeOffset.ENCRYPTION_FIELD] = enc >>> 8;
  buf[HandshakeOffset.ENCRYPTION_FIELD + 1] = enc & 0xff;
  buf[HandshakeOffset.EXTENSION_FIELD] = ext >>> 8;
  buf[HandshakeOffset.EXTENSION_FIELD + 1] = ext & 0xff;
  srtPutU32(buf, HandshakeOffset.INITIAL_SEQUENCE_NUMBER, isn);
  srtPutU32(buf, HandshakeOffset.MTU, mtu);
  srtPutU32(buf, HandshakeOffset.FLOW_WINDOW, window);
  srtPutU32(buf, HandshakeOffset.HANDSHAKE_TYPE, type);
  srtPutU32(buf, HandshakeOffset.SOCKET_ID, socketId);
  srtPutU32(buf, HandshakeOffset.SYN_COOKIE, cookie);
  for (let i = 0; i < 16; i += 4) {
    // libsrt's per-word reversal (module doc).
    const p = HandshakeOffset.PEER_IP + i;
    buf[p] = h.peerIp[i + 3];
    buf[p + 1] = h.peerIp[i + 2];
    buf[p + 2] = h.peerIp[i + 1];
    buf[p + 3] = h.peerIp[i];
  }
  let p: number = HandshakeOffset.EXTENSIONS;
  for (const b of blocks) {
    const words = b.contents.length / 4;
    buf[p] = b.type >>> 8;
    buf[p + 1] = b.type & 0xff;
    buf[p + 2] = words >>> 8;
    buf[p + 3] = words & 0xff;
    buf.set(b.contents, p + HANDSHAKE_EXTENSION_HEADER_SIZE);
    p += HANDSHAKE_EXTENSION_HEADER_SIZE + b.contents.length;
  }
  return buf;
}
