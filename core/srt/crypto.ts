/**
 * SRT encryption as libsrt 1.5 does it: the Key Material message of
 * draft-sharabayko-srt-01 §3.2.2 (carried in the handshake's KMREQ/KMRSP
 * blocks and in USER_DEFINED control packets for key refresh), the
 * passphrase-derived key-encrypting key and RFC 3394 key wrap of §6.1–§6.2,
 * and the AES-CTR payload cipher of §6.3. Checked against libsrt 1.5.1
 * (Debian srt-tools) on the wire: test/unit/core/srt/crypto-cases.ts holds
 * the captures and how they were made.
 *
 * A pure module (DESIGN.md: `core/` has no I/O; node:crypto is computation).
 * {@link parseKmMessage} and {@link unwrapKeys} never throw on input: a bad
 * message or a wrong passphrase is a negative {@link SrtKmError} code
 * (STYLE.md §3). Builders throw RangeError for values the wire cannot carry
 * or a passphrase libsrt would refuse (programmer or configuration errors).
 *
 * Key Material message, draft §3.2.2 Figure 11 (libsrt haicrypt/hcrypt_msg.h);
 * big-endian, and NOT word-reversed in the handshake (see handshake.ts):
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |S|  V  |   PT  |              Sign             |   Resv1   | KK|
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                              KEKI                             |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |     Cipher    |      Auth     |       SE      |     Resv2     |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |             Resv3             |     SLen/4    |     KLen/4    |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                        Salt (SLen octets)                     |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |     Wrapped keys: 8-octet ICV + KLen (one key) or 2 × KLen    |
 *    |                 (both keys, even first) octets                |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 *  S 0, V 1, PT 2 (KM message), Sign 0x2029 ("HAI" as a 5-bit-letter PnP
 *  vendor id), KK 01 even / 10 odd / 11 both, KEKI 0 (the default
 *  passphrase-derived key), Cipher 2 AES-CTR, Auth 0, SE 2 (MPEG-TS over SRT).
 *
 * Keys (draft §6.1; libsrt haicrypt/hcrypt_sa.c `hcryptCtx_GenSecret`):
 *
 *    KEK = PBKDF2-HMAC-SHA1(passphrase, salt[SLen − 8, SLen), 2048, KLen)
 *
 *  — the LAST 8 octets of the salt ("LSB(64, Salt)"), verified: the captured
 *  KMREQs unwrap with the tail and not with the head. The stream key(s)
 *  (SEK) are wrapped under the KEK with AES Key Wrap, RFC 3394, default IV
 *  A6A6A6A6A6A6A6A6 (libsrt cryspr.c); when both keys travel they are wrapped
 *  together, even key first (hcrypt_ctx_rx.c `hcryptCtx_Rx_ParseKM`). A wrong
 *  passphrase gives a wrong KEK, and the key-wrap integrity check fails.
 *
 * Payload (draft §6.3; libsrt haicrypt/hcrypt.h `hcrypt_SetCtrIV`): AES-CTR
 * over the whole data payload (the 16-octet SRT header stays clear), with
 * the stream key the packet's KK names and the 128-bit initial counter block
 *
 *      0   1   2   3   4   5   6   7   8   9  10  11  12  13  14  15
 *    +---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+
 *    |                  0                    | seq (BE, 32b) |   0   |
 *    +---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+---+
 *                               XOR
 *    +---+---+---+---+---+---+---+---+---+---+---+---+---+---+
 *    |                      salt[0, 14)                      |
 *    +---+---+---+---+---+---+---+---+---+---+---+---+---+---+
 *
 *  the packet index being the packet sequence number (header word 0, the F
 *  bit clear) and the last 16 bits the block counter, from 0. A live payload
 *  is at most 1456 octets = 91 blocks, so a 128-bit counter (node:crypto)
 *  and libsrt's 16-bit one never differ. Verified on captured packets.
 *
 * Not supported, as libsrt 1.5.1 has none of it: AES-GCM (Cipher 4, Auth 1;
 * libsrt 1.5.2+ with SRTO_CRYPTOMODE), a KEKI other than the passphrase's,
 * salts of other than 128 bits (draft §3.2.2: "the only valid length").
 */

import { createCipheriv, createDecipheriv, pbkdf2Sync, type CipherKey } from 'node:crypto';
import { EncryptionKeyFlags, SRT_SEQ_MAX, SrtParseError, srtCheckUint, srtPutU32, srtU32 } from './packet.js';

/** Octets before the salt (draft §3.2.2). */
export const KM_HEADER_SIZE = 16;

/** Byte offsets in a KM message (libsrt hcrypt_msg.h `HCRYPT_MSG_KM_OFS_*`). */
export const KmOffset = {
  /** S(1) V(3) PT(4). */
  VERSION_PT: 0,
  /** 16 bits. */
  SIGN: 1,
  /** Resv1(6) KK(2). */
  KEY_FLAGS: 3,
  KEKI: 4,
  CIPHER: 8,
  AUTH: 9,
  /** Stream encapsulation. */
  SE: 10,
  /** Salt length / 4. */
  SLEN: 14,
  /** Key length / 4. */
  KLEN: 15,
  SALT: 16,
} as const;

/** KM message version (draft §3.2.2: "1 for the current version"). */
export const KM_VERSION = 1;
/** Packet Type of a KM message (libsrt `HCRYPT_MSG_PT_KM`). */
export const KM_PACKET_TYPE = 2;
/** "HAI" PnP vendor id: ('H'−'@')<<10 | ('A'−'@')<<5 | ('I'−'@') (libsrt `HCRYPT_MSG_SIGN`). */
export const KM_SIGN = 0x2029;

/** Cipher field values (draft §3.2.2; libsrt `HCRYPT_CIPHER_*`). */
export const KmCipher = {
  NONE: 0,
  AES_ECB: 1,
  /** What libsrt 1.5.1 sends and takes. */
  AES_CTR: 2,
  AES_CBC: 3,
  /** libsrt 1.5.2+ with SRTO_CRYPTOMODE=2; not supported here. */
  AES_GCM: 4,
} as const;
export type KmCipher = (typeof KmCipher)[keyof typeof KmCipher];

/** Auth field values (draft §3.2.2). */
export const KmAuth = {
  NONE: 0,
  AES_GCM: 1,
} as const;

/** SE field values (draft §3.2.2; libsrt `HCRYPT_SE_*`). */
export const KmStreamEncapsulation = {
  MPEG_TS_UDP: 1,
  /** What SRT always sends; libsrt refuses anything else (hcrypt_xpt_srt.c). */
  MPEG_TS_SRT: 2,
} as const;

/**
 * KM state a KMRSP of 4 octets carries instead of a KM message when the
 * responder could not take the keys (draft §3.2.1.2; libsrt srt.h
 * `SRT_KM_STATE`). A listener with the wrong passphrase answers BADSECRET.
 */
export const SrtKmState = {
  UNSECURED: 0,
  SECURING: 1,
  SECURED: 2,
  NOSECRET: 3,
  BADSECRET: 4,
} as const;
export type SrtKmState = (typeof SrtKmState)[keyof typeof SrtKmState];

/** Salt octets: 128 bits is the only valid length (draft §3.2.2; libsrt `HAICRYPT_SALT_SZ`). */
export const SRT_SALT_SIZE = 16;
/** Salt octets that are the nonce of the counter block (libsrt hcrypt.h: 112 bits). */
export const SRT_CTR_NONCE_SIZE = 14;
/** RFC 3394 integrity check value before the wrapped keys (libsrt `HAICRYPT_WRAPKEY_SIGN_SZ`). */
export const SRT_KW_ICV_SIZE = 8;
/** PBKDF2 salt: the last 8 octets of the KM salt (libsrt `HAICRYPT_PBKDF2_SALT_LEN`). */
export const SRT_PBKDF2_SALT_SIZE = 8;
/** PBKDF2 iterations (libsrt `HAICRYPT_PBKDF2_ITER_CNT`). */
export const SRT_PBKDF2_ITERATIONS = 2048;
/**
 * Passphrase length in octets. libsrt 1.5.1 accepts 10 to 80 octets
 * (srtcore/socketconfig.cpp: `optlen < 10 || optlen > HAICRYPT_SECRET_MAX_SZ`,
 * which is 80); its srt.h comment and ffmpeg's docs say 10–79. We accept
 * what the library accepts, since a peer may be configured with 80.
 */
export const SRT_PASSPHRASE_MIN_BYTES = 10;
export const SRT_PASSPHRASE_MAX_BYTES = 80;
/** Largest KM message: header, salt, ICV and two 256-bit keys (libsrt `HCRYPT_MSG_KM_MAX_SZ`). */
export const KM_MAX_SIZE = KM_HEADER_SIZE + SRT_SALT_SIZE + SRT_KW_ICV_SIZE + 2 * 32;

/** RFC 3394 §2.2.3.1 default initial value. */
const KW_DEFAULT_IV = Buffer.from('a6a6a6a6a6a6a6a6', 'hex');

/**
 * Negative results of {@link parseKmMessage} and {@link unwrapKeys}; 0 means
 * valid. TRUNCATED is {@link SrtParseError.TRUNCATED}; the others start at
 * −20, clear of SrtParseError's −1…−8, so that a code means one thing
 * whichever SRT table it came from.
 */
export const SrtKmError = {
  OK: SrtParseError.OK,
  /** Shorter than the 16-octet header, or than the salt and keys its header announces. */
  TRUNCATED: SrtParseError.TRUNCATED,
  /** Longer than its header announces (libsrt: "KMmsg length inconsistent"). */
  BAD_LENGTH: -20,
  /** S bit set or version other than 1. */
  BAD_VERSION: -21,
  /** Packet Type other than 2 (KM message). */
  BAD_PACKET_TYPE: -22,
  /** Sign other than 0x2029 "HAI". */
  BAD_SIGN: -23,
  /** KK = 00: a KM message without a key (libsrt "invalid KM msg flgs"). */
  NO_KEY: -24,
  /** Cipher other than AES-CTR (AES-GCM is libsrt 1.5.2+). */
  UNSUPPORTED_CIPHER: -25,
  /** Auth other than none. */
  UNSUPPORTED_AUTH: -26,
  /** SE other than 2 (MPEG-TS over SRT). */
  BAD_STREAM_ENCAPSULATION: -27,
  /** Salt other than 128 bits. */
  BAD_SALT_LENGTH: -28,
  /** Key length other than 16, 24 or 32 octets. */
  BAD_KEY_LENGTH: -29,
  /**
   * The key-wrap integrity check failed: the peer's passphrase is not ours
   * (or the wrapped keys were damaged). libsrt's KM state BADSECRET and
   * rejection reason 10 (SrtRejectReason.BADSECRET).
   */
  BAD_SECRET: -30,
} as const;
export type SrtKmErrorCode = (typeof SrtKmError)[keyof typeof SrtKmError];

/**
 * A KM message's fields (draft §3.2.2): {@link parseKmMessage}'s result and
 * {@link buildKmMessage}'s input. Parsed values own their bytes.
 */
export interface SrtKeyMaterial {
  /** 3 bits; 1. */
  version: number;
  /** KK: {@link EncryptionKeyFlags} EVEN, ODD or BOTH. */
  keyFlags: number;
  /** 32 bits; 0 = the passphrase-derived KEK. */
  keki: number;
  /** {@link KmCipher}. */
  cipher: number;
  /** {@link KmAuth}. */
  auth: number;
  /** {@link KmStreamEncapsulation}. */
  streamEncapsulation: number;
  /** SLen octets. */
  salt: Uint8Array;
  /** KLen: octets of ONE stream key (16, 24, 32). */
  keyLength: number;
  /** ICV + the key(s), even first: 8 + KLen × (1 or 2) octets. */
  wrappedKeys: Uint8Array;
}

/** Stream keys in the clear, with the salt they are used with (borrowed by the cipher classes). */
export interface SrtStreamKeys {
  even?: Uint8Array;
  odd?: Uint8Array;
  /** 16 octets: the KM message's salt. */
  salt: Uint8Array;
}

/** True when the result is an error code rather than a value. */
export function isSrtKmError<T>(r: T | SrtKmErrorCode): r is SrtKmErrorCode {
  return typeof r === 'number';
}

function isKeyLength(n: number): boolean {
  return n === 16 || n === 24 || n === 32;
}

function keyCount(keyFlags: number): number {
  return keyFlags === EncryptionKeyFlags.BOTH ? 2 : 1;
}

// ---------------------------------------------------------------- KM message

/**
 * Parse the KM message in `buf[off, off + len)` (the contents of a KMREQ or
 * KMRSP block, or the CIF of a USER_DEFINED KMREQ/KMRSP control packet),
 * with libsrt's checks (hcrypt_ctx_rx.c `hcryptCtx_Rx_ParseKM`,
 * hcrypt_xpt_srt.c `hcryptMsg_SRT_ParseMsg`): version 1, KM type, "HAI"
 * sign, a key, AES-CTR without auth, SE 2, a 128-bit salt, a 16/24/32-octet
 * key, and a length that is exactly what the header announces. Reserved
 * fields and KEKI are not checked (libsrt does not either). Nothing outside
 * `buf[off, off + len)` is read; never throws.
 *
 * `buf` is borrowed: the result holds copies.
 * @returns the fields, or a negative {@link SrtKmError} code.
 */
export function parseKmMessage(buf: Uint8Array, off: number, len: number): SrtKeyMaterial | SrtKmErrorCode {
  if (!(off >= 0) || !Number.isInteger(off) || off > buf.length) return SrtKmError.TRUNCATED;
  let n = Math.min(len, buf.length - off);
  if (!(n >= 0)) n = 0;
  n = Math.floor(n);
  if (n < KM_HEADER_SIZE) return SrtKmError.TRUNCATED;
  const b0 = buf[off + KmOffset.VERSION_PT];
  if ((b0 & 0x80) !== 0 || (b0 >> 4) !== KM_VERSION) return SrtKmError.BAD_VERSION;
  if ((b0 & 0x0f) !== KM_PACKET_TYPE) return SrtKmError.BAD_PACKET_TYPE;
  if (((buf[off + KmOffset.SIGN] << 8) | buf[off + KmOffset.SIGN + 1]) !== KM_SIGN) return SrtKmError.BAD_SIGN;
  const keyFlags = buf[off + KmOffset.KEY_FLAGS] & 0b11;
  if (keyFlags === EncryptionKeyFlags.NONE) return SrtKmError.NO_KEY;
  const cipher = buf[off + KmOffset.CIPHER];
  if (cipher !== KmCipher.AES_CTR) return SrtKmError.UNSUPPORTED_CIPHER;
  const auth = buf[off + KmOffset.AUTH];
  if (auth !== KmAuth.NONE) return SrtKmError.UNSUPPORTED_AUTH;
  const se = buf[off + KmOffset.SE];
  if (se !== KmStreamEncapsulation.MPEG_TS_SRT) return SrtKmError.BAD_STREAM_ENCAPSULATION;
  const saltLength = buf[off + KmOffset.SLEN] * 4;
  if (saltLength !== SRT_SALT_SIZE) return SrtKmError.BAD_SALT_LENGTH;
  const keyLength = buf[off + KmOffset.KLEN] * 4;
  if (!isKeyLength(keyLength)) return SrtKmError.BAD_KEY_LENGTH;
  const wrappedLength = SRT_KW_ICV_SIZE + keyCount(keyFlags) * keyLength;
  const size = KM_HEADER_SIZE + saltLength + wrappedLength;
  if (n < size) return SrtKmError.TRUNCATED;
  if (n > size) return SrtKmError.BAD_LENGTH;
  const s = off + KmOffset.SALT;
  return {
    version: KM_VERSION,
    keyFlags,
    keki: srtU32(buf, off + KmOffset.KEKI),
    cipher,
    auth,
    streamEncapsulation: se,
    salt: new Uint8Array(buf.subarray(s, s + saltLength)),
    keyLength,
    wrappedKeys: new Uint8Array(buf.subarray(s + saltLength, s + saltLength + wrappedLength)),
  };
}

/**
 * The KM message of `km` as a new Buffer, reserved fields zero, PT 2 and the
 * "HAI" sign always (libsrt hcrypt_xpt_srt.c `hcryptMsg_SRT_ResetCache`).
 * Anything the fields can carry is written, so that tests can make messages
 * {@link parseKmMessage} refuses; the wrapped keys are written as given.
 * @throws RangeError for a value its field cannot carry.
 */
export function buildKmMessage(km: SrtKeyMaterial): Buffer {
  const w = 'SRT KM message';
  const version = srtCheckUint(`${w}.version`, km.version, 7);
  const keyFlags = srtCheckUint(`${w}.keyFlags`, km.keyFlags, 3);
  const keki = srtCheckUint(`${w}.keki`, km.keki, 0xffffffff);
  const cipher = srtCheckUint(`${w}.cipher`, km.cipher, 0xff);
  const auth = srtCheckUint(`${w}.auth`, km.auth, 0xff);
  const se = srtCheckUint(`${w}.streamEncapsulation`, km.streamEncapsulation, 0xff);
  const keyLength = srtCheckUint(`${w}.keyLength`, km.keyLength, 0xff * 4);
  if (keyLength % 4 !== 0) throw new RangeError(`${w}.keyLength: ${keyLength} is not a whole number of 32-bit words`);
  if (!(km.salt instanceof Uint8Array) || km.salt.length % 4 !== 0 || km.salt.length > 0xff * 4) {
    throw new RangeError(`${w}.salt: not a Uint8Array of a whole number of 32-bit words, at most ${0xff * 4} octets`);
  }
  if (!(km.wrappedKeys instanceof Uint8Array)) throw new RangeError(`${w}.wrappedKeys: not a Uint8Array`);
  const out = Buffer.alloc(KM_HEADER_SIZE + km.salt.length + km.wrappedKeys.length);
  out[KmOffset.VERSION_PT] = (version << 4) | KM_PACKET_TYPE;
  out[KmOffset.SIGN] = KM_SIGN >>> 8;
  out[KmOffset.SIGN + 1] = KM_SIGN & 0xff;
  out[KmOffset.KEY_FLAGS] = keyFlags;
  srtPutU32(out, KmOffset.KEKI, keki);
  out[KmOffset.CIPHER] = cipher;
  out[KmOffset.AUTH] = auth;
  out[KmOffset.SE] = se;
  out[KmOffset.SLEN] = km.salt.length / 4;
  out[KmOffset.KLEN] = keyLength / 4;
  out.set(km.salt, KmOffset.SALT);
  out.set(km.wrappedKeys, KmOffset.SALT + km.salt.length);
  return out;
}

// ---------------------------------------------------------------- passphrase and KEK

/**
 * Why `passphrase` cannot be an SRT passphrase, or null when it can: 10 to
 * 80 octets of UTF-8 ({@link SRT_PASSPHRASE_MAX_BYTES}). For configuration
 * validation, which lists every problem at once (STYLE.md §3).
 */
export function srtPassphraseProblem(passphrase: unknown): string | null {
  if (typeof passphrase !== 'string') return 'not a string';
  const n = Buffer.byteLength(passphrase, 'utf8');
  if (n < SRT_PASSPHRASE_MIN_BYTES || n > SRT_PASSPHRASE_MAX_BYTES) {
    return `${n} octets; libsrt takes ${SRT_PASSPHRASE_MIN_BYTES} to ${SRT_PASSPHRASE_MAX_BYTES}`;
  }
  return null;
}

function checkPassphrase(what: string, passphrase: unknown): string {
  const p = srtPassphraseProblem(passphrase);
  if (p !== null) throw new RangeError(`${what}: ${p}`);
  return passphrase as string;
}

/**
 * The key-encrypting key for `salt` and a `keyLength`-octet stream key:
 * PBKDF2-HMAC-SHA1 over the passphrase's UTF-8 octets, the last 8 octets of
 * the salt, 2048 iterations (libsrt hcrypt_sa.c `hcryptCtx_GenSecret`). About
 * a millisecond of CPU, synchronously: once per connection and per salt
 * change, as libsrt (which re-derives only when salt or key length change).
 * @throws RangeError for a passphrase libsrt refuses, a key length other than
 *   16/24/32 or a salt shorter than 8 octets.
 */
export function deriveKek(passphrase: string, salt: Uint8Array, keyLength: number): Buffer {
  const pass = checkPassphrase('SRT passphrase', passphrase);
  if (!isKeyLength(keyLength)) throw new RangeError(`SRT key length: ${String(keyLength)} is not 16, 24 or 32`);
  if (!(salt instanceof Uint8Array) || salt.length < SRT_PBKDF2_SALT_SIZE) throw new RangeError('SRT salt: fewer than 8 octets');
  const tail = salt.subarray(salt.length - SRT_PBKDF2_SALT_SIZE);
  return pbkdf2Sync(Buffer.from(pass, 'utf8'), tail, SRT_PBKDF2_ITERATIONS, keyLength, 'sha1');
}

function wrapAlgorithm(kekLength: number): string {
  return `id-aes${kekLength * 8}-wrap`;
}

/**
 * Unwrap the stream key(s) of a parsed KM message with a KEK from
 * {@link deriveKek} (a caller may keep the KEK while the salt and key length
 * stay the same). Never throws on input.
 * @returns the keys (`even` and/or `odd` as KK says, and the salt), or
 *   {@link SrtKmError.BAD_SECRET} when the integrity check fails,
 *   {@link SrtKmError.BAD_KEY_LENGTH} / {@link SrtKmError.BAD_LENGTH} when
 *   `km` or `kek` is inconsistent (not from parseKmMessage / deriveKek).
 */
export function unwrapKeysWithKek(km: SrtKeyMaterial, kek: Uint8Array): SrtStreamKeys | SrtKmErrorCode {
  const klen = km.keyLength;
  if (!isKeyLength(klen) || kek.length !== klen) return SrtKmError.BAD_KEY_LENGTH;
  if (km.keyFlags < EncryptionKeyFlags.EVEN || km.keyFlags > EncryptionKeyFlags.BOTH) return SrtKmError.NO_KEY;
  const count = keyCount(km.keyFlags);
  if (km.wrappedKeys.length !== SRT_KW_ICV_SIZE + count * klen) return SrtKmError.BAD_LENGTH;
  let keys: Buffer;
  try {
    // node:crypto (OpenSSL) checks the RFC 3394 ICV and throws when it differs.
    const d = createDecipheriv(wrapAlgorithm(klen), kek, KW_DEFAULT_IV);
    keys = Buffer.concat([d.update(km.wrappedKeys), d.final()]);
  } catch {
    return SrtKmError.BAD_SECRET;
  }
  if (keys.length !== count * klen) return SrtKmError.BAD_SECRET;
  const salt = Buffer.from(km.salt);
  // Both keys: even first (libsrt hcrypt_ctx_rx.c: "First SEK in KMmsg is eSEK if both SEK present").
  if (km.keyFlags === EncryptionKeyFlags.BOTH) return { even: keys.subarray(0, klen), odd: keys.subarray(klen), salt };
  return km.keyFlags === EncryptionKeyFlags.EVEN ? { even: keys, salt } : { odd: keys, salt };
}

/**
 * Unwrap the stream key(s) of a parsed KM message with `passphrase`
 * ({@link deriveKek}, then {@link unwrapKeysWithKek}). Never throws on input;
 * a passphrase libsrt would refuse cannot be the peer's, so it is
 * {@link SrtKmError.BAD_SECRET} too.
 */
export function unwrapKeys(km: SrtKeyMaterial, passphrase: string): SrtStreamKeys | SrtKmErrorCode {
  if (srtPassphraseProblem(passphrase) !== null) return SrtKmError.BAD_SECRET;
  if (!isKeyLength(km.keyLength)) return SrtKmError.BAD_KEY_LENGTH;
  if (!(km.salt instanceof Uint8Array) || km.salt.length !== SRT_SALT_SIZE) return SrtKmError.BAD_SALT_LENGTH;
  return unwrapKeysWithKek(km, deriveKek(passphrase, km.salt, km.keyLength));
}

/**
 * The KM message fields announcing `keys` under `passphrase`: KK from the
 * keys present, KEKI 0, AES-CTR, no auth, SE 2, and the key(s) wrapped (even
 * first) as libsrt's sender does (hcrypt_ctx_tx.c `hcryptCtx_Tx_AsmKM`).
 * Pass the result to {@link buildKmMessage}.
 * @throws RangeError for a bad passphrase, no key, keys of different or
 *   unsupported lengths, or a salt that is not 16 octets.
 */
export function wrapKeys(keys: SrtStreamKeys, passphrase: string): SrtKeyMaterial {
  const w = 'SRT stream keys';
  const { even, odd, salt } = keys;
  if (!(salt instanceof Uint8Array) || salt.length !== SRT_SALT_SIZE) throw new RangeError(`${w}.salt: not ${SRT_SALT_SIZE} octets`);
  if (even === undefined && odd === undefined) throw new RangeError(`${w}: neither an even nor an odd key`);
  const klen = (even ?? odd)!.length;
  if (!isKeyLength(klen)) throw new RangeError(`${w}: a ${klen}-octet key is not AES-128, -192 or -256`);
  if (even !== undefined && odd !== undefined && odd.length !== klen) throw new RangeError(`${w}: the even and odd keys differ in length`);
  const kek = deriveKek(passphrase, salt, klen);
  const plain = even !== undefined && odd !== undefined ? Buffer.concat([even, odd]) : Buffer.from((even ?? odd)!);
  const c = createCipheriv(wrapAlgorithm(klen), kek, KW_DEFAULT_IV);
  const wrappedKeys = Buffer.concat([c.update(plain), c.final()]);
  const keyFlags = (even !== undefined ? EncryptionKeyFlags.EVEN : 0) | (odd !== undefined ? EncryptionKeyFlags.ODD : 0);
  return {
    version: KM_VERSION,
    keyFlags,
    keki: 0,
    cipher: KmCipher.AES_CTR,
    auth: KmAuth.NONE,
    streamEncapsulation: KmStreamEncapsulation.MPEG_TS_SRT,
    salt: Buffer.from(salt),
    keyLength: klen,
    wrappedKeys,
  };
}

// ---------------------------------------------------------------- payload cipher

/**
 * Write the initial counter block for packet `seq` under `salt` into
 * `iv[0, 16)` (libsrt hcrypt.h `hcrypt_SetCtrIV`; see the module doc).
 */
export function srtCtrIv(salt: Uint8Array, seq: number, iv: Uint8Array): void {
  iv.fill(0);
  srtPutU32(iv, 10, seq);
  for (let i = 0; i < SRT_CTR_NONCE_SIZE; i++) iv[i] ^= salt[i];
}

interface KeySlot {
  key: CipherKey;
  algorithm: string;
  salt: Uint8Array;
}

/** AES-CTR in place over `buf[off, off + len)`. CTR is its own inverse. */
function ctrInPlace(slot: KeySlot, iv: Uint8Array, seq: number, buf: Uint8Array, off: number, len: number): void {
  srtCtrIv(slot.salt, seq, iv);
  // A cipher per packet: node:crypto cannot re-seed a CTR cipher's counter.
  const c = createCipheriv(slot.algorithm, slot.key, iv);
  const out = c.update(buf.subarray(off, off + len));
  buf.set(out, off);
}

/**
 * The AES-CTR stream cipher of one direction, keyed per KK value. The keys
 * and salt are copied in; {@link setKeys} installs refreshed keys.
 */
abstract class SrtCtrCipher {
  /** Fixed shape (STYLE.md §2). */
  readonly counters = {
    /** Payloads processed. */
    packets: 0,
    /** Payloads refused: KK names a key we do not have (or is 00/11), or the range is not integers inside the buffer. */
    noKey: 0,
  };
  private even: KeySlot | null = null;
  private odd: KeySlot | null = null;
  private readonly iv = new Uint8Array(16);

  constructor(keys: SrtStreamKeys) {
    this.setKeys(keys);
  }

  /**
   * Install the key(s) present in `keys` with its salt, keeping a slot `keys`
   * lacks (a key refresh announces one key at a time; libsrt keeps a salt
   * per key context, hcrypt_ctx_rx.c).
   * @throws RangeError for a key that is not 16/24/32 octets or a salt that is not 16.
   */
  setKeys(keys: SrtStreamKeys): void {
    if (!(keys.salt instanceof Uint8Array) || keys.salt.length !== SRT_SALT_SIZE) throw new RangeError(`SRT stream keys.salt: not ${SRT_SALT_SIZE} octets`);
    const slot = (what: string, k: Uint8Array): KeySlot => {
      if (!(k instanceof Uint8Array) || !isKeyLength(k.length)) throw new RangeError(`SRT stream keys.${what}: not 16, 24 or 32 octets`);
      return { key: Buffer.from(k), algorithm: `aes-${k.length * 8}-ctr`, salt: Uint8Array.from(keys.salt) };
    };
    if (keys.even !== undefined) this.even = slot('even', keys.even);
    if (keys.odd !== undefined) this.odd = slot('odd', keys.odd);
  }

  /** Whether a key for KK `keyFlags` is installed. */
  hasKey(keyFlags: number): boolean {
    return (keyFlags === EncryptionKeyFlags.EVEN ? this.even : keyFlags === EncryptionKeyFlags.ODD ? this.odd : null) !== null;
  }

  protected run(seq: number, keyFlags: number, buf: Uint8Array, off: number, len: number): boolean {
    const slot = keyFlags === EncryptionKeyFlags.EVEN ? this.even : keyFlags === EncryptionKeyFlags.ODD ? this.odd : null;
    if (slot === null || (off | 0) !== off || off < 0 || (len | 0) !== len || len < 0 || off + len > buf.length || !(seq >= 0 && seq <= SRT_SEQ_MAX)) {
      this.counters.noKey++;
      return false;
    }
    ctrInPlace(slot, this.iv, seq, buf, off, len);
    this.counters.packets++;
    return true;
  }
}

/** Receiver side: decrypts data payloads in place. */
export class SrtDecryptor extends SrtCtrCipher {
  /**
   * Decrypt the payload `buf[off, off + len)` of data packet `seq` whose KK
   * is `keyFlags`, in place. `buf` is borrowed. Never throws.
   * @returns true when decrypted; false (and counted in `counters.noKey`)
   *   when KK is 00 (clear: what to do with it is the caller's policy) or
   *   11, when that key is not installed, or for a range outside `buf`.
   */
  decrypt(seq: number, keyFlags: number, buf: Uint8Array, off: number, len: number): boolean {
    return this.run(seq, keyFlags, buf, off, len);
  }
}

/** Sender side (tests, and a future caller mode): encrypts data payloads in place. */
export class SrtEncryptor extends SrtCtrCipher {
  /**
   * Encrypt the payload `buf[off, off + len)` of data packet `seq` with the
   * key `keyFlags` names (EVEN or ODD: set the same KK in the header), in
   * place. Never throws.
   * @returns false when that key is not installed or the range is outside `buf`.
   */
  encrypt(seq: number, keyFlags: number, buf: Uint8Array, off: number, len: number): boolean {
    return this.run(seq, keyFlags, buf, off, len);
  }
}
