/**
 * Splices an FCC burst onto the multicast by RTP sequence number (DESIGN.md
 * "Fast channel change"). The burst replays the multicast's own datagrams —
 * same SSRC, same sequence numbers — from the last random access point,
 * faster than real time; the multicast, joined at the same moment, starts
 * somewhere after that point. So:
 *
 *   burst      s0 s0+1 … … … … … … … m0-1 m0 m0+1 …   (until RAMS-T or the server's end)
 *   multicast                          m0 m0+1 m0+2 …   (held until the burst reaches m0)
 *
 * Burst datagrams go to the depacketizer as they come; multicast datagrams
 * are copied and held (bounded) until the burst has delivered everything
 * before the first held one; then the held ones follow (those the burst
 * already delivered are duplicates the depacketizer drops by sequence
 * number) and the multicast takes over: no gap, no duplicate, and the TS
 * continuity counters run on unchanged because the bytes are the same.
 *
 * If the burst ends short of the multicast (the server stopped, the burst
 * lost its tail), the hole is reported (`gaps`) and the caller restarts the
 * I-frame gate; if the burst never comes, {@link abandonBurst} hands over to
 * the multicast at once. Pure: no sockets, no timers.
 */
import type { RtpDepacketizer } from '../../core/rtp/depacketizer.js';
import { seqDiff } from '../../core/rtp/seq.js';

export interface SpliceEvents {
  /** The multicast took over at RTP sequence number `seq` (send RAMS-T with it). */
  spliced(seq: number): void;
  /** The burst ended before reaching the multicast: data is missing at the splice. */
  gap(missing: number): void;
}

export class FccSplicer {
  readonly counters = {
    burstDatagrams: 0,
    multicastDatagrams: 0,
    /** Burst datagrams after the multicast took over (the server had not heard RAMS-T yet). */
    burstAfterSplice: 0,
    /** Multicast datagrams held while the burst caught up (the most at once). */
    heldMax: 0,
    /** More multicast than the bound while waiting: the burst was given up. */
    holdOverflows: 0,
    gaps: 0,
    /** Multicast datagrams the burst had already delivered (right after the splice), dropped here. */
    duplicatesDropped: 0,
  };
  /** After a splice, until the multicast has passed what the burst delivered. */
  private catchingUp = false;
  private mode: 'burst' | 'multicast' = 'burst';
  private held: Buffer[] = [];
  private firstHeldSeq = -1;
  private burstOver = false;

  constructor(
    private readonly depack: RtpDepacketizer,
    private readonly events: SpliceEvents,
    /** Bound of the multicast held during the burst, datagrams. Default 16384 (~20 s at 8 Mbit/s). */
    private readonly maxHeld = 16384,
  ) {}

  get onMulticast(): boolean {
    return this.mode === 'multicast';
  }

  /** One burst datagram (borrowed). */
  burst(datagram: Buffer): void {
    this.counters.burstDatagrams++;
    if (this.mode === 'multicast') {
      this.counters.burstAfterSplice++;
      return;
    }
    this.depack.push(datagram);
    this.tryJoin();
  }

  /** One multicast datagram (borrowed; copied while it must wait). */
  multicast(datagram: Buffer): void {
    this.counters.multicastDatagrams++;
    if (this.mode === 'multicast') {
      if (this.catchingUp && datagram.length >= 12) {
        // Already delivered by the burst: dropped here, because far behind
        // (> 100) the depacketizer would take two in a row for a sender
        // restart (RFC 3550 A.1) and replay them.
        const next = this.depack.nextSequenceNumber;
        if (next >= 0 && seqDiff(datagram.readUInt16BE(2), next) < 0) {
          this.counters.duplicatesDropped++;
          return;
        }
        this.catchingUp = false;
      }
      this.depack.push(datagram);
      return;
    }
    if (datagram.length < 12) return; // not RTP; the depacketizer would only count it
    if (this.held.length >= this.maxHeld) {
      this.counters.holdOverflows++;
      this.handOver();
      this.depack.push(datagram);
      return;
    }
    // The splice point is the lowest held sequence number, not the first to arrive (reordering).
    const seq = datagram.readUInt16BE(2);
    if (this.held.length === 0 || seqDiff(seq, this.firstHeldSeq) < 0) this.firstHeldSeq = seq;
    this.held.push(Buffer.from(datagram));
    if (this.held.length > this.counters.heldMax) this.counters.heldMax = this.held.length;
    if (this.burstOver) this.handOver();
    else this.tryJoin();
  }

  /** The server says the burst is over (RAMS-I 201, or an error code). */
  burstEnded(): void {
    this.burstOver = true;
    if (this.mode === 'burst' && this.held.length > 0) this.handOver();
  }

  /** No burst after all (no RAMS-I in time, or refused): the multicast alone, from now. */
  abandonBurst(): void {
    this.burstOver = true;
    if (this.mode === 'burst') this.handOver();
  }

  private tryJoin(): void {
    if (this.held.length === 0) return;
    const next = this.depack.nextSequenceNumber;
    if (next < 0) return;
    // The burst has delivered everything before the first held multicast datagram.
    if (seqDiff(this.firstHeldSeq, next) <= 0) this.handOver();
  }

  private handOver(): void {
    if (this.mode === 'multicast') return;
    this.mode = 'multicast';
    const next = this.depack.nextSequenceNumber;
    let missing = 0;
    if (this.held.length > 0 && next >= 0) {
      missing = seqDiff(this.firstHeldSeq, next);
      if (missing > 0) {
        this.counters.gaps++;
        this.events.gap(missing);
      }
    }
    const held = this.held;
    this.held = [];
    if (held.length === 0) return;
    this.events.spliced(this.firstHeldSeq);
    // In sequence order; what the burst already delivered is left out (pushed
    // again, a datagram far behind could look like a sender restart to the
    // depacketizer, RFC 3550 A.1).
    const base = this.firstHeldSeq;
    held.sort((a, b) => seqDiff(a.readUInt16BE(2), base) - seqDiff(b.readUInt16BE(2), base));
    for (const d of held) {
      if (next < 0 || seqDiff(d.readUInt16BE(2), next) >= 0) this.depack.push(d);
      else this.counters.duplicatesDropped++;
    }
    this.catchingUp = true;
    // After a gap the depacketizer would wait in its reorder window for
    // datagrams the ended burst will never send: the hole is final.
    if (missing > 0) this.depack.flush();
  }
}
