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
/** The most a loop point may stretch the PCR beyond the bytes' own timing: 90 ms. */
const MAX_LOOP_STRETCH_27M = 90 * 27_000;

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
  /**
   * Per PID, this pass's first and last PTS (as read, before the shift) and
   * the last PTS step: the next pass must start after each stream's last
   * frame has ended, not only after the last PCR (audio often runs a frame
   * past the video).
   */
  private readonly firstPts = new Float64Array(PID_COUNT).fill(-1);
  private readonly lastPts = new Float64Array(PID_COUNT).fill(-1);
  private readonly lastPtsStep = new Float64Array(PID_COUNT);
  /** Payload bytes of the PID this pass, and up to the start of its last PES. */
  private readonly pesBytes = new Float64Array(PID_COUNT);
  private readonly pesBytesBeforeLast = new Float64Array(PID_COUNT);
  /** stream_id 0xE0–0xEF: one picture per PES, so the last PTS step is a frame. */
  private readonly isVideo = new Uint8Array(PID_COUNT);
  private readonly ptsPids: number[] = [];

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
      }
      if (tsPayloadUnitStartIndicator(buf, p)) this.restampPes(buf, p, pid);
      if (this.firstPts[pid] >= 0) this.pesBytes[pid] += p + TS_PACKET_SIZE - tsPayloadOffset(buf, p);
      this.passBytes += TS_PACKET_SIZE;
    }
  }

  /**
   * The file starts over. The next pass is shifted so its first byte follows
   * the last byte of this one at the stream's average rate — or later, when
   * a stream's last frame runs past that point. Returns how many null packets
   * the caller must send before the next pass to fill that stretch at the
   * stream's byte rate, so the PCR interval across the loop point carries as
   * many bytes as any other (without them, a ~10 ms hole in the output).
   */
  loop(): number {
    let fill = 0;
    if (this.firstPcr >= 0 && this.lastPcr > this.firstPcr) {
      const span = this.lastPcr - this.firstPcr;
      const rate = (this.lastPcrByte - this.firstPcrByte) / span; // bytes per tick
      const tail = this.passBytes - this.lastPcrByte + this.firstPcrByte;
      let shift = span + (rate > 0 ? Math.round(tail / rate) : 0);
      const pcrShift = shift;
      for (const pid of this.ptsPids) {
        // Each stream's last access unit must end before the stream's first
        // one of the next pass begins, or players see time run backwards.
        const spanPts = this.lastPts[pid] - this.firstPts[pid];
        let lastDur = this.lastPtsStep[pid];
        if (!this.isVideo[pid] && this.pesBytesBeforeLast[pid] > 0) {
          // Audio PES carry several frames (ffmpeg packs ~2930 bytes): the
          // last one's duration is its size at the stream's byte rate.
          lastDur = ((this.pesBytes[pid] - this.pesBytesBeforeLast[pid]) * spanPts) / this.pesBytesBeforeLast[pid];
        }
        const need = Math.ceil((spanPts + lastDur) * 300);
        // A PCR step over 100 ms is a TR 101 290 2.3b error: never stretch more.
        if (need > shift) shift = Math.min(need, pcrShift + MAX_LOOP_STRETCH_27M);
      }
      if (rate > 0) fill = Math.round(((shift - pcrShift) * rate) / TS_PACKET_SIZE);
      this.offset27M = (this.offset27M + shift) % PCR_WRAP_27M;
    }
    for (const pid of this.ptsPids) {
      this.firstPts[pid] = -1;
      this.pesBytes[pid] = 0;
      this.pesBytesBeforeLast[pid] = 0;
    }
    this.ptsPids.length = 0;
    this.counters.loops++;
    this.passBytes = 0;
    this.firstPcr = -1;
    this.lastPcr = -1;
    this.seenThisPass.fill(0);
    return fill;
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
  private restampPes(buf: Buffer, p: number, pid: number): void {
    const po = tsPayloadOffset(buf, p);
    const end = p + TS_PACKET_SIZE;
    if (po + 19 > end) return;
    if (buf[po] !== 0 || buf[po + 1] !== 0 || buf[po + 2] !== 1) return;
    if (!pesHasOptionalHeader(buf[po + 3])) return;
    const flags = buf[po + 7] >> 6;
    if (flags & 0x2) {
      this.isVideo[pid] = (buf[po + 3] & 0xf0) === 0xe0 ? 1 : 0;
      this.notePts(pid, pesReadTimestamp90k(buf, po + 9));
    }
    if (this.offset27M === 0) return;
    const shift90k = Math.round(this.offset27M / 300);
    if (flags & 0x2) {
      pesWriteTimestamp90k(buf, po + 9, buf[po + 9] >> 4, (pesReadTimestamp90k(buf, po + 9) + shift90k) % PTS_WRAP);
      this.counters.ptsRewritten++;
    }
    if (flags === 0x3) pesWriteTimestamp90k(buf, po + 14, buf[po + 14] >> 4, (pesReadTimestamp90k(buf, po + 14) + shift90k) % PTS_WRAP);
  }

  private notePts(pid: number, pts: number): void {
    if (this.firstPts[pid] < 0) {
      this.firstPts[pid] = pts;
      this.lastPts[pid] = pts;
      this.lastPtsStep[pid] = 0;
      this.ptsPids.push(pid);
      return;
    }
    this.pesBytesBeforeLast[pid] = this.pesBytes[pid];
    // Only forward steps count (B-frames reorder PTS); wraps are ignored.
    if (pts > this.lastPts[pid]) {
      this.lastPtsStep[pid] = pts - this.lastPts[pid];
      this.lastPts[pid] = pts;
    }
  }
}
