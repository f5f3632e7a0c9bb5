/**
 * RFC 2250 §2 MP2T depacketizer with a bounded reorder window: RTP datagrams
 * in, whole TS packets out, in sequence-number order, to a pipeline stage
 * (`writePackets(buf, off, count)` + in-band `discontinuity()`, STYLE.md §2).
 *
 * Sequencing, per datagram with 16-bit sequence number `seq`, measured as the
 * signed distance d from the next sequence number to deliver (RFC 3550 §5.1
 * wrap, {@link seqExtend}):
 * - d = 0: delivered at once from the caller's datagram (no copy), then any
 *   held successors are delivered.
 * - 1 ≤ d ≤ reorderWindow: copied into a preallocated slot and held until the
 *   gap before it fills.
 * - d > reorderWindow: the window is exceeded; the oldest missing datagrams
 *   are declared lost (counted, history marked) until this one fits, and the
 *   sink gets `discontinuity()` before the next TS packet after the gap.
 * - d < 0: already delivered (`duplicates`) or already declared lost (`late`);
 *   dropped.
 * - d ≥ MAX_DROPOUT or d < −MAX_MISORDER (RFC 3550 A.1): not loss but a
 *   possible sender restart; the datagram is kept aside (one extra slot) and
 *   the stream restarts at it only when the next datagram is its successor
 *   (A.1's two-sequential-packets rule), else it is dropped as a stray
 *   (`late` when it was behind, `malformed` when ahead).
 * - A new SSRC is a new stream (RFC 3550 §8.2 would be a collision or a new
 *   sender; for one channel's group it is a headend restart or an input
 *   switch upstream): held datagrams are delivered, `discontinuity()`, state
 *   reset, `ssrcChanges` counted. Unlike A.1 there is no probation for a new
 *   SSRC: a fast channel change must deliver the very first datagram.
 *
 * Payload (RFC 2250 §2: "an integral number of MPEG transport packets"):
 * a payload whose length is not a multiple of 188 is counted `malformed`. If
 * it starts with the sync byte 0x47 and holds at least one whole packet, the
 * whole-packet prefix is delivered (the tail is what GStreamer's mp2tpay also
 * cuts: `payload_len -= payload_len % 188`); otherwise nothing of it is
 * delivered and the datagram is treated as never received, so its sequence
 * number is later also counted in `lost` and the sink is told
 * `discontinuity()`. The same happens to an unparsable header (`truncated` /
 * `malformed`) or a payload-type mismatch (`malformed`).
 *
 * Bounds (STYLE.md §5): at most `reorderWindow` datagrams are held, each in a
 * slot of `maxPacketsPerDatagram` × 188 octets, all in one buffer allocated in
 * the constructor (default 33 × 1316 octets ≈ 43 KiB per channel). Without
 * the bound a lost datagram would make the receiver wait, and buffer, for
 * ever. A datagram that must be held but is larger than a slot is dropped and
 * counted `malformed`. Nothing is released on a timer: an owner that sees the
 * input go idle calls {@link RtpDepacketizer.flush}.
 */

import { TS_PACKET_SIZE, TS_SYNC_BYTE } from '../mpegts/packet.js';
import { createRtpHeader, parseRtpHeader, RtpParseError } from './header.js';
import type { TsPacketSink } from '../mpegts/sink.js';
import { TS_PER_DATAGRAM } from './packetizer.js';
import { MAX_DROPOUT, MAX_MISORDER, SEQ_MOD, seqExtend, seqNext } from './seq.js';

/**
 * What the depacketizer feeds: the packet path's stage interface. Packets are
 * borrowed (the caller's datagram or a reorder slot); `discontinuity()` marks
 * missing data (loss, restart, new SSRC).
 */
export type RtpDepacketizerSink = TsPacketSink;

export interface RtpDepacketizerOptions {
  /** Datagrams held for reordering, 1..1024. Default 32. */
  reorderWindow?: number;
  /** Drop (count `malformed`) datagrams with another payload type. Default: accept any. */
  expectedPayloadType?: number;
  /** Slot size for held datagrams, in TS packets, 1..348. Default 7 (RFC 2250 over Ethernet). */
  maxPacketsPerDatagram?: number;
}

/** Fixed-shape counters (STYLE.md §2). Units: datagrams, except `packets`. */
export interface RtpDepacketizerCounters {
  /** Datagrams pushed. */
  datagrams: number;
  /** TS packets delivered to the sink. */
  packets: number;
  /** Datagrams declared lost (sequence numbers skipped). */
  lost: number;
  /** Datagrams dropped because that sequence number was already delivered or held. */
  duplicates: number;
  /** Datagrams that arrived after a higher sequence number and were delivered in order. */
  reordered: number;
  /** Datagrams shorter than an RTP header. */
  truncated: number;
  /** Bad RTP header, unexpected PT, payload not whole TS packets, unconfirmed jump, oversize for a slot. */
  malformed: number;
  /** SSRC changes (new stream). */
  ssrcChanges: number;
  /**
   * Datagrams that arrived after their sequence number was declared lost (or
   * that are older than the first datagram of the stream, or an unconfirmed
   * jump backwards).
   */
  late: number;
}

export const DEFAULT_REORDER_WINDOW = 32;
const MAX_REORDER_WINDOW = 1024;
/** 348 × 188 = 65424: the most whole TS packets in one UDP datagram. */
const MAX_PACKETS_PER_DATAGRAM = 348;

/** History of recent sequence numbers, to tell duplicates from late arrivals. */
const HISTORY_SIZE = 128; // power of two, > MAX_MISORDER
const HISTORY_MASK = HISTORY_SIZE - 1;
const DELIVERED = 1;
const LOST = 2;

export class RtpDepacketizer {
  readonly counters: RtpDepacketizerCounters = {
    datagrams: 0,
    packets: 0,
    lost: 0,
    duplicates: 0,
    reordered: 0,
    truncated: 0,
    malformed: 0,
    ssrcChanges: 0,
    late: 0,
  };

  private readonly sink: RtpDepacketizerSink;
  private readonly window: number;
  private readonly expectedPayloadType: number;
  private readonly slotBytes: number;
  /** window + 1 slots: the last one holds a datagram on A.1 probation. */
  private readonly pool: Buffer;
  private readonly slotExt: Float64Array;
  private readonly slotCount: Int32Array;
  private readonly historyExt: Float64Array;
  private readonly historyState: Uint8Array;
  private readonly header = createRtpHeader();

  private started = false;
  private ssrc = 0;
  /** Extended sequence number of the next datagram to deliver. */
  private nextExt = 0;
  /** Highest extended sequence number accepted. */
  private highestExt = 0;
  private held = 0;
  private gapPending = false;
  /** Sequence number that would confirm the probation datagram, or -1. */
  private probationNextSeq = -1;
  private probationCount = 0;
  private probationBehind = false;

  /** Throws RangeError for an out-of-range option (a configuration error). */
  constructor(sink: RtpDepacketizerSink, opts: RtpDepacketizerOptions = {}) {
    const w = opts.reorderWindow ?? DEFAULT_REORDER_WINDOW;
    if (!Number.isInteger(w) || w < 1 || w > MAX_REORDER_WINDOW) {
      throw new RangeError(`reorderWindow: ${w} is not an integer in 1..${MAX_REORDER_WINDOW}`);
    }
    const mp = opts.maxPacketsPerDatagram ?? TS_PER_DATAGRAM;
    if (!Number.isInteger(mp) || mp < 1 || mp > MAX_PACKETS_PER_DATAGRAM) {
      throw new RangeError(`maxPacketsPerDatagram: ${mp} is not an integer in 1..${MAX_PACKETS_PER_DATAGRAM}`);
    }
    const pt = opts.expectedPayloadType;
    if (pt !== undefined && (!Number.isInteger(pt) || pt < 0 || pt > 127)) {
      throw new RangeError(`expectedPayloadType: ${pt} is not an integer in 0..127`);
    }
    this.sink = sink;
    this.window = w;
    this.expectedPayloadType = pt ?? -1;
    this.slotBytes = mp * TS_PACKET_SIZE;
    this.pool = Buffer.alloc((w + 1) * this.slotBytes);
    this.slotExt = new Float64Array(w).fill(-1);
    this.slotCount = new Int32Array(w);
    this.historyExt = new Float64Array(HISTORY_SIZE).fill(-1);
    this.historyState = new Uint8Array(HISTORY_SIZE);
  }

  /**
   * The 16-bit sequence number of the next datagram to deliver, or -1 before
   * the first. A splice (FCC burst → multicast) compares against it.
   */
  get nextSequenceNumber(): number {
    return this.started ? this.nextExt % SEQ_MOD : -1;
  }

  /** Datagrams currently held in the reorder window. */
  get heldDatagrams(): number {
    return this.held;
  }

  /**
   * One received UDP datagram. Borrowed: it is read (and possibly passed to
   * the sink) during the call only; a datagram that must wait is copied.
   * Never throws on any content.
   */
  push(datagram: Buffer): void {
    const c = this.counters;
    const h = this.header;
    c.datagrams++;
    const r = parseRtpHeader(datagram, datagram.length, h);
    if (r !== RtpParseError.OK) {
      if (r === RtpParseError.TRUNCATED) c.truncated++;
      else c.malformed++;
      return;
    }
    if (this.expectedPayloadType >= 0 && h.payloadType !== this.expectedPayloadType) {
      c.malformed++;
      return;
    }
    const off = h.payloadOffset;
    const count = Math.floor(h.payloadLength / TS_PACKET_SIZE);
    if (count * TS_PACKET_SIZE !== h.payloadLength) {
      c.malformed++;
      if (count === 0 || datagram[off] !== TS_SYNC_BYTE) return;
    }
    const seq = h.sequenceNumber;

    if (!this.started) {
      this.start(h.ssrc, seq);
    } else if (h.ssrc !== this.ssrc) {
      c.ssrcChanges++;
      this.flush();
      this.dropProbation();
      this.gapPending = true;
      this.start(h.ssrc, seq);
    }

    let ext = seqExtend(seq, this.nextExt);
    if (this.probationNextSeq >= 0) {
      if (seq === this.probationNextSeq) {
        // RFC 3550 A.1: two sequential packets after a large jump: the
        // sender restarted its numbering. Deliver what is held, restart at
        // the probation datagram.
        this.flush();
        this.gapPending = true;
        const probationSeq = (seq - 1) & 0xffff;
        this.reset(probationSeq);
        this.probationNextSeq = -1;
        this.deliver(this.pool, this.window * this.slotBytes, this.probationCount, this.nextExt);
        ext = seqExtend(seq, this.nextExt);
      } else {
        this.dropProbation();
      }
    }

    const d = ext - this.nextExt;
    if (d >= MAX_DROPOUT || d < -MAX_MISORDER) {
      this.dropProbation();
      if (count > this.slotBytes / TS_PACKET_SIZE) {
        c.malformed++;
        return;
      }
      datagram.copy(this.pool, this.window * this.slotBytes, off, off + count * TS_PACKET_SIZE);
      this.probationCount = count;
      this.probationNextSeq = seqNext(seq);
      this.probationBehind = d < 0;
      return;
    }

    if (d < 0) {
      const i = ext & HISTORY_MASK;
      if (this.historyExt[i] === ext && this.historyState[i] === DELIVERED) c.duplicates++;
      else c.late++;
      return;
    }

    if (d > this.window) {
      // Window exceeded: declare the oldest missing lost until ext fits.
      this.advanceTo(ext - this.window);
      this.drainHeld();
    }

    if (ext === this.nextExt) {
      if (ext < this.highestExt) c.reordered++;
      else this.highestExt = ext;
      this.deliver(datagram, off, count, ext);
      this.drainHeld();
      return;
    }

    const slot = ext % this.window;
    if (this.slotExt[slot] === ext) {
      c.duplicates++;
      return;
    }
    if (count > this.slotBytes / TS_PACKET_SIZE) {
      c.malformed++;
      return;
    }
    datagram.copy(this.pool, slot * this.slotBytes, off, off + count * TS_PACKET_SIZE);
    this.slotExt[slot] = ext;
    this.slotCount[slot] = count;
    this.held++;
    if (ext < this.highestExt) c.reordered++;
    else this.highestExt = ext;
  }

  /**
   * Deliver everything held, in order, declaring the gaps between held
   * datagrams lost. Call it when the input goes idle or ends.
   */
  flush(): void {
    if (this.held > 0) this.advanceTo(this.highestExt + 1);
  }

  private start(ssrc: number, seq: number): void {
    this.started = true;
    this.ssrc = ssrc;
    this.reset(seq);
  }

  /** Empty window and history; next delivery is `seq`. */
  private reset(seq: number): void {
    // Extended numbers start at seq + 2^16 so that anything up to 2^15
    // behind is still positive (history and slot indices use it).
    this.nextExt = seq + SEQ_MOD;
    this.highestExt = this.nextExt - 1;
    this.slotExt.fill(-1);
    this.historyExt.fill(-1);
    this.held = 0;
  }

  private dropProbation(): void {
    if (this.probationNextSeq < 0) return;
    if (this.probationBehind) this.counters.late++;
    else this.counters.malformed++;
    this.probationNextSeq = -1;
  }

  private deliver(buf: Buffer, off: number, count: number, ext: number): void {
    if (this.gapPending) {
      this.gapPending = false;
      this.sink.discontinuity?.();
    }
    const i = ext & HISTORY_MASK;
    this.historyExt[i] = ext;
    this.historyState[i] = DELIVERED;
    this.nextExt = ext + 1;
    if (count > 0) {
      this.counters.packets += count;
      this.sink.writePackets(buf, off, count);
    }
  }

  /** Deliver held datagrams that are now in sequence. */
  private drainHeld(): void {
    while (this.held > 0) {
      const ext = this.nextExt;
      const slot = ext % this.window;
      if (this.slotExt[slot] !== ext) return;
      this.slotExt[slot] = -1;
      this.held--;
      this.deliver(this.pool, slot * this.slotBytes, this.slotCount[slot], ext);
    }
  }

  /**
   * Move the next expected number up to `target`, delivering held datagrams
   * below it and declaring the missing ones lost. At most MAX_DROPOUT
   * iterations (the caller's d is below it).
   */
  private advanceTo(target: number): void {
    while (this.nextExt < target) {
      const ext = this.nextExt;
      const slot = ext % this.window;
      if (this.slotExt[slot] === ext) {
        this.slotExt[slot] = -1;
        this.held--;
        this.deliver(this.pool, slot * this.slotBytes, this.slotCount[slot], ext);
      } else {
        const i = ext & HISTORY_MASK;
        this.historyExt[i] = ext;
        this.historyState[i] = LOST;
        this.counters.lost++;
        this.gapPending = true;
        this.nextExt = ext + 1;
      }
    }
    if (this.highestExt < target - 1) this.highestExt = target - 1;
  }
}
