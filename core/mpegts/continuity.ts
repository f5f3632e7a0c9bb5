/**
 * Continuity across zaps for one player connection. Within a channel the TS
 * passes unchanged; across a zap (or a restart of the gate) the continuity
 * counters of the new stream would jump and the PCR would leap, which
 * players report as errors (ffmpeg: "Continuity check failed"; TR 101 290
 * 1.4). So, per PID, the output counter continues where it left off: the
 * first packet of each PID after a start fixes an offset that the following
 * packets keep (a jump *within* the new stream — real loss — still shows),
 * and the first PCR after a start carries discontinuity_indicator
 * (ISO/IEC 13818-1 §2.4.3.5: a new time base follows).
 *
 * PAT/PMT copies put first by the gate take the next counter of their PID
 * and do not fix its offset: the stream's own next PAT does.
 *
 * Packets are copied (a connection's counters differ from another's) into
 * a new Buffer handed to `write`, which owns it.
 */
import { TS_PACKET_SIZE, TsPid, tsPid } from './packet.js';
import type { TsPacketSink } from './sink.js';

/** A stage that also takes the start of a new stream (after a zap or an input switch), with PSI to put first. */
export interface StartSink extends TsPacketSink {
  start(psi: Buffer): void;
}

const PID_COUNT = 8192;

export class ContinuityRestamper implements StartSink {
  readonly counters = { starts: 0, packets: 0, pcrMarked: 0 };
  /** Next output CC per PID; -1 before the PID's first packet. */
  private readonly nextCc = new Int8Array(PID_COUNT).fill(-1);
  private readonly offset = new Uint8Array(PID_COUNT);
  private readonly anchored = new Uint8Array(PID_COUNT);
  private markPcr = false;

  constructor(private readonly write: (chunk: Buffer) => void) {}

  start(psi: Buffer): void {
    this.counters.starts++;
    this.anchored.fill(0);
    this.markPcr = this.counters.packets > 0;
    if (psi.length === 0) return;
    const copy = Buffer.from(psi);
    for (let o = 0; o + TS_PACKET_SIZE <= copy.length; o += TS_PACKET_SIZE) {
      const pid = tsPid(copy, o);
      const next = this.nextCc[pid];
      const cc = next >= 0 ? next : copy[o + 3] & 0x0f;
      copy[o + 3] = (copy[o + 3] & 0xf0) | cc;
      // An adaptation-only packet repeats the last payload packet's CC: the next payload one is +1 either way.
      this.nextCc[pid] = (cc + 1) & 0x0f;
    }
    this.counters.packets += copy.length / TS_PACKET_SIZE;
    this.write(copy);
  }

  writePackets(buf: Buffer, off: number, count: number): void {
    const copy = Buffer.allocUnsafe(count * TS_PACKET_SIZE);
    buf.copy(copy, 0, off, off + count * TS_PACKET_SIZE);
    this.restamp(copy);
    this.write(copy);
  }

  /** Like writePackets, but rewrites `buf` in place (the caller owns it and lets it go) and hands on that view. */
  writeInPlace(buf: Buffer, off: number, count: number): void {
    const view = buf.subarray(off, off + count * TS_PACKET_SIZE);
    this.restamp(view);
    this.write(view);
  }

  private restamp(copy: Buffer): void {
    for (let o = 0; o < copy.length; o += TS_PACKET_SIZE) {
      const pid = tsPid(copy, o);
      if (pid === TsPid.NULL) continue; // §2.4.3.3: undefined for null packets
      const b3 = copy[o + 3];
      const cc = b3 & 0x0f;
      const payload = (b3 & 0x10) !== 0;
      if (this.anchored[pid] === 0) {
        this.anchored[pid] = 1;
        const next = this.nextCc[pid];
        // A payload packet should carry `next`; an adaptation-only one repeats the last (§2.4.3.3).
        const want = next < 0 ? cc : payload ? next : (next + 15) & 0x0f;
        this.offset[pid] = (want - cc + 16) & 0x0f;
      }
      const out = (cc + this.offset[pid]) & 0x0f;
      copy[o + 3] = (b3 & 0xf0) | out;
      // §2.4.3.3: an adaptation-only packet carries the CC of the last payload
      // packet, so the next payload packet is +1 after either kind.
      this.nextCc[pid] = (out + 1) & 0x0f;
      // discontinuity_indicator on the first PCR after a start (adaptation field with PCR_flag).
      if (this.markPcr && (b3 & 0x20) !== 0 && copy[o + 4] > 0 && (copy[o + 5] & 0x10) !== 0) {
        copy[o + 5] |= 0x80;
        this.markPcr = false;
        this.counters.pcrMarked++;
      }
    }
    this.counters.packets += copy.length / TS_PACKET_SIZE;
  }
}
