/**
 * RFC 2250 §2 MPEG-2 transport stream over RTP (payload type MP2T, static PT
 * 33 in RFC 3551 Table 5): each datagram carries an integral number of whole
 * 188-octet TS packets after a 12-octet RFC 3550 header.
 *
 * Header usage, RFC 2250 §2.1:
 * - PT: 33 unless configured otherwise.
 * - M bit: "Set to 1 whenever the timestamp is discontinuous (such as might
 *   happen when a sender switches from one data source to another)". So it is
 *   not unused for MP2T: it is 0 on every datagram except the first one after
 *   {@link Mp2tPacketizer.markTimestampDiscontinuity} (input switch, slate,
 *   PCR discontinuity).
 * - timestamp: "32 bit 90K Hz timestamp representing the target transmission
 *   time for the first byte of the packet payload", synchronised to the PCR.
 *   The pacer derives it from the PCR and passes it in; it is never the wall
 *   clock (DESIGN.md "Wire choices").
 *
 * Sequence number and SSRC start random (RFC 3550 §5.1: the initial sequence
 * number "SHOULD be random (unpredictable)"; §8.1: the SSRC is chosen
 * randomly).
 */

import { TS_PACKET_SIZE } from '../mpegts/packet.js';
import { RTP_HEADER_SIZE, writeRtpHeader } from './header.js';

/**
 * TS packets per datagram: 7 × 188 = 1316 octets is the most that fits an
 * Ethernet MTU of 1500 with IPv4 (20) + UDP (8) + RTP (12) headers
 * (1316 + 40 = 1356; 8 packets would be 1544). Same choice as TSDuck's
 * tsTSDatagramOutput.h and every IPTV headend.
 */
export const TS_PER_DATAGRAM = 7;
/** 7 × 188 = 1316 octets of MP2T payload. */
export const MP2T_PAYLOAD_SIZE = TS_PER_DATAGRAM * TS_PACKET_SIZE;
/** 12 + 1316 = 1328 octets of RTP per full datagram. */
export const MP2T_DATAGRAM_SIZE = RTP_HEADER_SIZE + MP2T_PAYLOAD_SIZE;
/** RFC 3551 Table 5: MP2T, 90 kHz. */
export const PAYLOAD_TYPE_MP2T = 33;

export interface Mp2tPacketizerOptions {
  /** RTP payload type, 0..127. Default 33 (MP2T, RFC 3551). */
  payloadType?: number;
  /** SSRC (uint32). Default random. */
  ssrc?: number;
  /** First sequence number (uint16). Default random. */
  initialSequenceNumber?: number;
  /** Uniform [0, 1) source for the defaults; default crypto.getRandomValues. */
  random?: () => number;
}

function defaultRandom(): number {
  const a = new Uint32Array(1);
  globalThis.crypto.getRandomValues(a);
  return a[0] / 0x100000000;
}

export class Mp2tPacketizer {
  readonly payloadType: number;
  readonly ssrc: number;
  /** Sequence number the next datagram will carry. */
  sequenceNumber: number;
  private markerPending = false;

  /** Throws RangeError for an out-of-range option (a configuration error). */
  constructor(opts: Mp2tPacketizerOptions = {}) {
    const random = opts.random ?? defaultRandom;
    const pt = opts.payloadType ?? PAYLOAD_TYPE_MP2T;
    if (!Number.isInteger(pt) || pt < 0 || pt > 127) {
      throw new RangeError(`payloadType: ${pt} is not an integer in 0..127`);
    }
    const ssrc = opts.ssrc ?? Math.floor(random() * 0x100000000);
    if (!Number.isInteger(ssrc) || ssrc < 0 || ssrc > 0xffffffff) {
      throw new RangeError(`ssrc: ${ssrc} is not a uint32`);
    }
    const seq = opts.initialSequenceNumber ?? Math.floor(random() * 0x10000);
    if (!Number.isInteger(seq) || seq < 0 || seq > 0xffff) {
      throw new RangeError(`initialSequenceNumber: ${seq} is not a uint16`);
    }
    this.payloadType = pt;
    this.ssrc = ssrc;
    this.sequenceNumber = seq;
  }

  /**
   * Set the M bit on the next datagram only (RFC 2250 §2.1: the timestamp is
   * discontinuous there, e.g. after an input switch).
   */
  markTimestampDiscontinuity(): void {
    this.markerPending = true;
  }

  /**
   * Write one datagram into `out` (from offset 0): the RTP header, then
   * `tsCount` TS packets copied from `tsBuf` at `tsOff` (the one copy per
   * datagram, STYLE.md §6). `tsBuf` is borrowed; `out` belongs to the caller
   * and must not be reused before its send callback (NETLAB.md gotcha 2).
   * Advances the sequence number (16-bit wrap).
   *
   * Throws RangeError on a programmer error (count or buffers out of range);
   * nothing here depends on stream content.
   * @param timestamp90k target transmission time of the first payload octet,
   *   90 kHz from the PCR; any non-negative integer, written modulo 2^32.
   * @returns datagram length in octets (12 + 188 × tsCount).
   */
  packetize(out: Buffer, tsBuf: Uint8Array, tsOff: number, tsCount: number, timestamp90k: number): number {
    const payloadLength = tsCount * TS_PACKET_SIZE;
    const length = RTP_HEADER_SIZE + payloadLength;
    if (!(tsCount >= 1) || !Number.isInteger(tsCount) || length > out.length) {
      throw new RangeError(`packetize: ${tsCount} TS packets do not fit ${out.length} octets`);
    }
    if (!(tsOff >= 0) || tsOff + payloadLength > tsBuf.length) {
      throw new RangeError(`packetize: ${tsCount} TS packets at ${tsOff} overrun ${tsBuf.length} octets`);
    }
    this.writeHeader(out, timestamp90k);
    out.set(tsBuf.subarray(tsOff, tsOff + payloadLength), RTP_HEADER_SIZE);
    return length;
  }

  /**
   * Write only the 12-octet header at the start of `out`, for a caller that
   * already placed the payload after it (the pacer fills datagrams in place,
   * its one copy). Same sequence, SSRC and M-bit rules as packetize().
   */
  writeHeader(out: Uint8Array, timestamp90k: number): void {
    writeRtpHeader(out, 0, this.payloadType, this.markerPending, this.sequenceNumber, timestamp90k, this.ssrc);
    this.markerPending = false;
    this.sequenceNumber = (this.sequenceNumber + 1) & 0xffff;
  }
}
