/**
 * Loop a recorded transport stream forever with timestamps that stay
 * continuous for receivers: each pass is shifted by the length of the file so
 * PCR, PTS and DTS keep rising at the stream's own rate, and continuity
 * counters carry on from the previous pass. A receiver sees one endless
 * stream, never a PCR jump (which would need discontinuity_indicator in an
 * adaptation field the packet may not have, ISO/IEC 13818-1 §2.4.3.5).
 *
 * Works in place on buffers the caller owns (a file read buffer).
 */
import {
  PCR_WRAP_27M,
  PTS_WRAP,
  TS_PACKET_SIZE,
  tsCc,
  tsHasPayload,
  tsPayloadOffset,
  tsPayloadUnitStartIndicator,
  tsPcr27M,
  tsPid,
  tsSetCc,
  tsWritePcr27M,
} from './packet.js';
import { pesHasOptionalHeader, pesReadTimestamp90k, pesWriteTimestamp90k } from './pes.js';

const PID_COUNT = 8192;

export class LoopRestamper {
  readonly counters = { loops: 0, pcrRewritten: 0, ptsRewritten: 0 };
  /** Shift applied to this pass, 27 MHz ticks. */
  private offset27M = 0;
  private pcrPid = -1;
  private firstPcr = -1;
  private firstPcrByte = 0;
  private lastPcr = -1;
  private lastPcrByte = 0;
  private passBytes = 0;
  private readonly lastCcOut = new Int8Array(PID_COUNT).fill(-1);
  private readonly ccDelta = new Int8Array(PID_COUNT);
  /** Whether the PID's CC delta was set for this pass. */
  private readonly seenThisPass = new Uint8Array(PID_COUNT);

  /** Restamp whole packets in place. */
  process(buf: Buffer, off: number, count: number): void {
    for (let i = 0; i < count; i++) {
      const p = off + i * TS_PACKET_SIZE;
      const pid = tsPid(buf, p);
      if (pid !== 0x1fff) this.restampCc(buf, p, pid);
      const pcr = tsPcr27M(buf, p);
      if (pcr >= 0 && (this.pcrPid === -1 || this.pcrPid === pid)) {
        this.pcrPid = pid;
        if (this.firstPcr < 0) {
          this.firstPcr = pcr;
          this.firstPcrByte = this.passBytes;
        }
        this.lastPcr = pcr;
        this.lastPcrByte = this.passBytes;
      }
      if (this.offset27M !== 0) {
        if (pcr >= 0) {
          tsWritePcr27M(buf, p, pcr + this.offset27M);
          this.counters.pcrRewritten++;
        }
        if (tsPayloadUnitStartIndicator(buf, p)) this.restampPes(buf, p);
      }
      this.passBytes += TS_PACKET_SIZE;
    }
  }

  /**
   * The file starts over. The next pass is shifted so its first byte follows
   * the last byte of this one at the stream's average rate.
   */
  loop(): void {
    if (this.firstPcr >= 0 && this.lastPcr > this.firstPcr) {
      const span = this.lastPcr - this.firstPcr;
      const rate = (this.lastPcrByte - this.firstPcrByte) / span; // bytes per tick
      const tail = this.passBytes - this.lastPcrByte + this.firstPcrByte;
      this.offset27M += span + (rate > 0 ? Math.round(tail / rate) : 0);
      this.offset27M %= PCR_WRAP_27M;
    }
    this.counters.loops++;
    this.passBytes = 0;
    this.firstPcr = -1;
    this.lastPcr = -1;
    this.seenThisPass.fill(0);
  }

  private restampCc(buf: Buffer, p: number, pid: number): void {
    const cc = tsCc(buf, p);
    if (this.seenThisPass[pid] === 0) {
      this.seenThisPass[pid] = 1;
      const last = this.lastCcOut[pid];
      // §2.4.3.3: the counter increments only with a payload.
      this.ccDelta[pid] = last < 0 ? 0 : (last + (tsHasPayload(buf, p) ? 1 : 0) - cc) & 0x0f;
    }
    const out = (cc + this.ccDelta[pid]) & 0x0f;
    if (out !== cc) tsSetCc(buf, p, out);
    this.lastCcOut[pid] = out;
  }

  /** PES header PTS/DTS (§2.4.3.7) shifted by the pass offset, markers kept. */
  private restampPes(buf: Buffer, p: number): void {
    const po = tsPayloadOffset(buf, p);
    const end = p + TS_PACKET_SIZE;
    if (po + 19 > end) return;
    if (buf[po] !== 0 || buf[po + 1] !== 0 || buf[po + 2] !== 1) return;
    if (!pesHasOptionalHeader(buf[po + 3])) return;
    const flags = buf[po + 7] >> 6;
    const shift90k = Math.round(this.offset27M / 300);
    if (flags & 0x2) {
      pesWriteTimestamp90k(buf, po + 9, buf[po + 9] >> 4, (pesReadTimestamp90k(buf, po + 9) + shift90k) % PTS_WRAP);
      this.counters.ptsRewritten++;
    }
    if (flags === 0x3) pesWriteTimestamp90k(buf, po + 14, buf[po + 14] >> 4, (pesReadTimestamp90k(buf, po + 14) + shift90k) % PTS_WRAP);
  }
}
