/**
 * PCR-paced datagram output for one channel.
 *
 * TS packets are copied once, straight into preallocated datagram slots (7 ×
 * 188 bytes after room for the 12-byte RTP header: DESIGN.md "at most one copy
 * per datagram"). A datagram gets its due time when the next PCR arrives: the
 * bytes between two PCRs of the PCR PID are spread evenly over the PCR
 * interval (ISO/IEC 13818-1 §2.4.2.2 defines the byte arrival schedule this
 * way: "i" bytes after a PCR arrive at PCR + i / transport_rate), and the
 * 90 kHz RTP timestamp is that interpolated PCR / 300 (RFC 2250 §2: "the
 * timestamp … is the target transmission time of the first byte").
 *
 * PCR time maps to the wall clock through an anchor plus a constant delay
 * that absorbs the input's jitter. The scheduler (`tick`, called about every
 * millisecond) sends whatever is due within a 0.5 ms look-ahead, so the
 * output never bursts: receivers measure RFC 4445 delay factor.
 *
 * Bounds: the ring holds at most `maxSlots` datagrams (default 8192 × 1328
 * bytes ≈ 10.9 MB, ~11 s of an 8 Mbps channel). When it is full, new packets
 * are dropped and counted (`overflowPackets`) rather than growing memory
 * without limit; a source that can wait (a file) asks `wantsMore()` first.
 *
 * GOP cache (DESIGN.md "Fast channel change"): sent datagrams stay in the
 * ring from the last random access point on (`markRandomAccess`), with their
 * RTP headers as multicast, so that a fast-channel-change burst replays the
 * very packets (same SSRC, same sequence numbers) a receiver then splices
 * onto. Without it a joining STB waits for the next I-frame: up to a GOP of
 * black screen (SRS `SrsGopCache` makes the same point). The cache is bounded
 * by `cacheMaxBytes`: a GOP longer than that (or a stream with no I-frame)
 * has no cache, never unbounded memory. The multicast always wins: when the
 * ring is full, the cache and every reader are dropped before a single input
 * packet is.
 */
import {
  TS_PACKET_SIZE,
  PCR_WRAP_27M,
  tsDiscontinuityIndicator,
  tsHasPcr,
  tsPcr27M,
  tsPid,
  tsWriteNullPacket,
} from '../../core/mpegts/packet.js';
import { RTP_HEADER_SIZE } from '../../core/rtp/header.js';
import { Mp2tPacketizer, TS_PER_DATAGRAM } from '../../core/rtp/packetizer.js';

/**
 * Where datagrams go, in order. `buf` is exactly one datagram long
 * (`socket.send(buf, done)` needs no offset/length, which costs a slice per
 * send in Node) and borrowed until the send completes: dgram.send does not
 * copy (NETLAB.md gotcha 2). Only every {@link SEND_MARK_EVERY}-th datagram
 * carries a `done` callback; sends on one socket complete in order, so that
 * callback confirms all earlier ones too. A send callback costs ~500 bytes
 * of garbage (measured: 0.23 vs 0.085 scavenges per 1000 sends), and at
 * 76k datagrams/s those scavenges were the largest source of lateness.
 * A sink must report errors of callback-less sends itself.
 */
export interface DatagramSink {
  send(buf: Buffer, done: ((err?: Error | null) => void) | null): void;
}

/** One send in this many carries a completion callback. */
export const SEND_MARK_EVERY = 64;

/**
 * Something that reads sent datagrams out of the ring after the multicast
 * (an FCC burst). The pacer never reuses slots at or after `heldFrom`
 * (a ring counter); when it needs them for the multicast it calls `cut()`,
 * after which the reader must not touch the ring again.
 */
export interface SentReader {
  heldFrom: number;
  cut(): void;
}

export interface PacerOptions {
  /** `rtp` writes an RFC 3550 header; `udp` sends bare TS (each datagram starts with 0x47). */
  transport: 'rtp' | 'udp';
  sink: DatagramSink;
  /** Constant PCR → send delay, ms. */
  delayMs: number;
  /** Pad with null packets up to this rate (bits/s), or null for no stuffing. */
  cbrBitrateBps: number | null;
  ssrc: number;
  initialSequenceNumber: number;
  /** A live input (its clock is not ours): slew slowly toward the target delay. */
  live: boolean;
  initialSlots?: number;
  maxSlots?: number;
  /** Bound of the GOP cache (sent datagrams kept since the last random access point), bytes. 0: no cache. */
  cacheMaxBytes?: number;
}

/** Lateness histogram: 0.1 ms buckets up to 100 ms, the last bucket is "≥ 100 ms". */
const HIST_BUCKETS = 1001;
const HIST_STEP_MS = 0.1;

const LOOKAHEAD_MS = 0.5;
/** Random access points marked ahead of the send head that are remembered. */
const MAX_PENDING_CACHE_STARTS = 16;
/** A PCR more than this far from the previous one (or backwards) is a discontinuity. */
const MAX_PCR_GAP_27M = 27_000_000;



export class PcrPacer {
  readonly counters = {
    packetsIn: 0,
    datagramsSent: 0,
    bytesSent: 0,
    overflowPackets: 0,
    nullPacketsInserted: 0,
    pcrDiscontinuities: 0,
    /** The input fell behind its own PCR schedule by more than the delay: re-anchored. */
    reanchors: 0,
    /** Small anchor corrections for a live input whose clock runs fast. */
    slews: 0,
    /** Datagrams sent more than 1 ms after their due time. */
    lateDatagrams: 0,
    sendErrors: 0,
    /** Random access points the GOP cache started at. */
    cacheStarts: 0,
    /** The cache was dropped: a GOP longer than cacheMaxBytes, or the ring needed the room. */
    cacheDrops: 0,
    /** Readers (bursts) stopped because the multicast needed their slots. */
    readersCut: 0,
  };
  private readonly headerSize: number;
  private readonly datagramSize: number;
  private readonly maxSlots: number;
  private slots: Buffer[] = [];
  private due!: Float64Array; // ms on the performance clock; NaN while untimed
  private startByte!: Float64Array; // stream byte index of the slot's first packet
  private rtpTs!: Float64Array;
  private mark!: Uint8Array; // RTP M bit: first datagram after a timestamp discontinuity
  private markNextTimed = false;
  private cap = 0;
  /** Ring indices as ever-increasing counters; slot = counter % cap. */
  private head = 0; // next to send
  private timed = 0; // [head, timed) have due times
  private tail = 0; // slot being filled
  private tailFill = 0; // packets in the tail slot
  private sent = 0; // datagrams handed to the sink
  private confirmed = 0; // of those, known complete (a multiple of SEND_MARK_EVERY)
  /** First slot (ring counter) of the GOP cache, -1 for none; only sent slots are served. */
  private cacheStart = -1;
  /**
   * Newer random access points whose slots are not sent yet, oldest first:
   * each becomes cacheStart once the multicast has sent it. A file source
   * reads ahead and a low-rate stream carries several GOPs per chunk, so
   * there can be more than one.
   */
  private pendingCacheStarts: number[] = [];
  private readonly cacheMaxSlots: number;
  private readers: SentReader[] = [];
  private bytesIn = 0;
  private pcrPid = -1;
  private prevPcr = -1;
  private prevPcrByte = 0;
  /** PCR time made continuous across wraps and discontinuities (27 MHz). */
  private prevPcrLinear = 0;
  private bytesPer27M = 0;
  private anchorWallMs = NaN;
  private anchorPcrLinear = 0;
  private readonly rtp: Mp2tPacketizer | null;
  private readonly hist = new Uint32Array(HIST_BUCKETS);
  private histCount = 0;
  private latenessMaxMs = 0;
  private readonly onMark = (err?: Error | null): void => {
    this.confirmed += SEND_MARK_EVERY;
    if (err) this.counters.sendErrors++;
  };
  /** One datagram of null packets, the source of CBR stuffing. */
  private readonly nullPackets = Buffer.alloc(TS_PER_DATAGRAM * TS_PACKET_SIZE);

  constructor(private readonly opts: PacerOptions) {
    this.headerSize = opts.transport === 'rtp' ? RTP_HEADER_SIZE : 0;
    this.datagramSize = this.headerSize + TS_PER_DATAGRAM * TS_PACKET_SIZE;
    this.maxSlots = opts.maxSlots ?? 8192;
    this.cacheMaxSlots = Math.floor((opts.cacheMaxBytes ?? 0) / this.datagramSize);
    this.rtp = opts.transport === 'rtp' ? new Mp2tPacketizer({ ssrc: opts.ssrc, initialSequenceNumber: opts.initialSequenceNumber & 0xffff }) : null;
    for (let k = 0; k < TS_PER_DATAGRAM; k++) tsWriteNullPacket(this.nullPackets, k * TS_PACKET_SIZE);
    this.grow(Math.min(opts.initialSlots ?? 512, this.maxSlots));
  }

  /** Datagrams waiting (timed or not). */
  get queuedDatagrams(): number {
    return this.tail - this.head;
  }

  /** How far ahead of the wall clock the queue reaches, ms (0 when nothing is timed). */
  queuedMs(nowMs: number): number {
    if (this.timed === this.head) return 0;
    return this.due[(this.timed - 1) % this.cap] - nowMs;
  }

  /**
   * A source that can wait (file) reads more only while this is true: while
   * less than the pacing delay plus `marginMs` (300) is queued (a 192 KiB
   * file chunk is ~190 ms at 8 Mbit/s). More read-ahead only costs memory:
   * 1 s more was 1.3 MB per 8 Mbit/s channel. The slate reads less ahead:
   * whatever of it is queued plays before the input that replaces it.
   */
  wantsMore(nowMs: number, marginMs = 300): boolean {
    return this.tail - this.head < this.maxSlots / 2 && this.queuedMs(nowMs) < this.opts.delayMs + marginMs;
  }

  /** Packets are borrowed: copied into datagram slots before returning. */
  writePackets(buf: Buffer, off: number, count: number, nowMs: number): void {
    let i = 0;
    while (i < count) {
      const p = off + i * TS_PACKET_SIZE;
      const pcr = tsPcr27M(buf, p);
      if (pcr >= 0) {
        const pid = tsPid(buf, p);
        if (this.pcrPid === -1 || pid === this.pcrPid) {
          this.pcrPid = pid;
          this.onPcr(pcr, tsDiscontinuityIndicator(buf, p), nowMs);
        }
      }
      // Copy a run: this packet and the next ones up to the end of the
      // datagram or the next PCR packet (which must be timed before it is
      // placed). Every copy call allocates a view inside Node (Buffer#copy
      // and TypedArray#set alike), so one call per run, not per packet.
      let j = i + 1;
      const room = TS_PER_DATAGRAM - this.tailFill;
      while (j < count && j - i < room && !tsHasPcr(buf, off + j * TS_PACKET_SIZE)) j++;
      this.copyRun(buf, p, j - i);
      i = j;
    }
  }

  /** The input restarted (new process, new file loop): PCR continuity is gone. */
  discontinuity(): void {
    this.prevPcr = -1;
    this.pcrPid = -1;
  }

  /**
   * The oldest slot that must not be reused: sends still queued in the
   * socket ([head - unconfirmed, head)), the GOP cache, and every reader.
   */
  private retainFrom(): number {
    let k = this.head - (this.sent - this.confirmed);
    if (this.cacheStart >= 0 && this.cacheStart < k) k = this.cacheStart;
    for (let i = 0; i < this.readers.length; i++) if (this.readers[i].heldFrom < k) k = this.readers[i].heldFrom;
    return k;
  }

  /** Copy `n` packets (at most what is left of the tail datagram) into the tail slot. */
  private copyRun(buf: Buffer, p: number, n: number): void {
    if (this.tail - this.retainFrom() >= this.cap) {
      // 1.5×, not 2×: with a GOP cache the ring settles near GOP + pacing
      // delay, and doubling overshot it by up to half (5.4 MB per 8 Mbit/s channel).
      if (this.cap < this.maxSlots) this.grow(Math.min(Math.ceil(this.cap * 1.5), this.maxSlots));
      else {
        // The multicast wins over the cache and the bursts.
        this.dropCache();
        this.cutReaders();
        if (this.tail - this.retainFrom() >= this.cap) {
          this.counters.overflowPackets += n;
          return;
        }
      }
    }
    const s = this.tail % this.cap;
    const fill = this.tailFill;
    if (fill === 0) {
      this.startByte[s] = this.bytesIn;
      this.due[s] = NaN;
    }
    buf.copy(this.slots[s], this.headerSize + fill * TS_PACKET_SIZE, p, p + n * TS_PACKET_SIZE);
    this.bytesIn += n * TS_PACKET_SIZE;
    this.counters.packetsIn += n;
    if (fill + n === TS_PER_DATAGRAM) {
      this.tailFill = 0;
      this.tail++;
    } else {
      this.tailFill = fill + n;
    }
  }

  private onPcr(pcr: number, discontinuityIndicator: boolean, nowMs: number): void {
    if (this.prevPcr < 0) {
      // First PCR of a run: anchor here. Whatever came before it goes now.
      this.startRun(pcr, nowMs);
      return;
    }
    let d = pcr - this.prevPcr;
    if (d < 0) d += PCR_WRAP_27M; // 33-bit wrap (§2.4.2.2)
    const bytes = this.bytesIn - this.prevPcrByte;
    if (discontinuityIndicator || d === 0 || d > MAX_PCR_GAP_27M) {
      // §2.4.3.5: a PCR discontinuity. Close the previous interval at the last
      // known rate, then continue the wall clock seamlessly from there.
      this.counters.pcrDiscontinuities++;

      const rate = this.bytesPer27M > 0 ? this.bytesPer27M : 0;
      const endLinear = rate > 0 ? this.prevPcrLinear + bytes / rate : this.prevPcrLinear;
      this.timeUpTo(this.bytesIn, endLinear, this.prevPcrByte, this.prevPcrLinear, rate);
      // RFC 2250 §2.1: the M bit marks the first datagram after a timestamp discontinuity.
      this.markNextTimed = true;
      this.prevPcr = pcr;
      this.prevPcrByte = this.bytesIn;
      this.prevPcrLinear = endLinear;
      return;
    }
    if (this.opts.cbrBitrateBps !== null) {
      // Stuff null packets before the PCR packet so the interval carries
      // exactly the constant rate (ISO/IEC 13818-1 §2.4.3.3, null packets).
      const want = (this.opts.cbrBitrateBps / 8) * (d / 27_000_000);
      let missing = Math.floor((want - bytes) / TS_PACKET_SIZE);
      while (missing > 0) {
        const n = Math.min(missing, TS_PER_DATAGRAM - this.tailFill);
        this.copyRun(this.nullPackets, 0, n);
        this.counters.nullPacketsInserted += n;
        missing -= n;
      }
    }
    const totalBytes = this.bytesIn - this.prevPcrByte;
    const rate = totalBytes / d;
    this.bytesPer27M = rate;
    const linear = this.prevPcrLinear + d;
    // The input must keep up with its own PCR. If this interval is already
    // past due, the input fell behind (stall, slow start): move the anchor so
    // the output resumes evenly instead of bursting to catch up.
    const lead = this.wallOf(this.prevPcrLinear) - nowMs;
    if (lead < 0) {
      this.anchorWallMs += this.opts.delayMs / 2 - lead;
      this.counters.reanchors++;
    } else if (this.opts.live && lead > this.opts.delayMs * 1.5) {
      // A live input whose clock runs faster than ours (encoder drift) would
      // grow the queue without end: slew by at most 0.1 ms per PCR
      // (≤ 4000 ppm at 40 ms PCR spacing, invisible to receivers).
      this.anchorWallMs -= Math.min(0.1, lead - this.opts.delayMs);
      this.counters.slews++;
    }
    this.timeUpTo(this.bytesIn, linear, this.prevPcrByte, this.prevPcrLinear, rate);
    this.prevPcr = pcr;
    this.prevPcrByte = this.bytesIn;
    this.prevPcrLinear = linear;
  }

  private startRun(pcr: number, nowMs: number): void {
    // A new run (first PCR, or the input restarted): continue the wall clock
    // after whatever is still queued, never earlier than now + delay.
    const lastDue = this.timed > this.head ? this.due[(this.timed - 1) % this.cap] : -Infinity;
    if (!Number.isNaN(this.anchorWallMs)) this.markNextTimed = true; // a restart, not the first run
    const target = Math.max(nowMs + this.opts.delayMs, lastDue);
    this.anchorPcrLinear = this.prevPcrLinear;
    this.anchorWallMs = target - this.opts.delayMs;
    this.prevPcr = pcr;
    this.prevPcrByte = this.bytesIn;
    // Datagrams from before the first PCR have no rate yet: due at the anchor.
    this.timeUpTo(this.bytesIn, this.prevPcrLinear, this.bytesIn, this.prevPcrLinear, 0);
  }

  private wallOf(linear27M: number): number {
    return this.anchorWallMs + (linear27M - this.anchorPcrLinear) / 27000 + this.opts.delayMs;
  }

  /**
   * Give due times to every datagram whose first byte lies before `endByte`,
   * interpolating the PCR linearly from (`fromByte`, `fromLinear`) at `rate`
   * bytes per 27 MHz tick.
   */
  private timeUpTo(endByte: number, endLinear: number, fromByte: number, fromLinear: number, rate: number): void {
    while (this.timed - this.head < this.cap) {
      const k = this.timed;
      const s = k % this.cap;
      if (k > this.tail || (k === this.tail && this.tailFill === 0)) break;
      const b = this.startByte[s];
      if (b >= endByte) break;
      const linear = rate > 0 ? fromLinear + (b - fromByte) / rate : endLinear;
      this.due[s] = this.wallOf(linear);
      this.mark[s] = this.markNextTimed ? 1 : 0;
      this.markNextTimed = false;
      const pcrAbs = (this.prevPcr + (linear - this.prevPcrLinear)) % PCR_WRAP_27M;
      this.rtpTs[s] = Math.floor((pcrAbs < 0 ? pcrAbs + PCR_WRAP_27M : pcrAbs) / 300) % 4294967296;
      this.timed = k + 1;
    }
  }

  // ------------------------------------------------------------ GOP cache

  /** Bytes written so far (stream byte index of the next packet, null stuffing included). */
  get bytesWritten(): number {
    return this.bytesIn;
  }

  /**
   * The access unit of a random access point (or the PAT before it) starts
   * at stream byte `byteIndex` (counted like {@link bytesWritten}): the
   * cache restarts at the datagram holding that byte once it is sent. A
   * byte whose datagram is no longer in the ring is ignored (counted as a
   * drop).
   */
  markRandomAccess(byteIndex: number): void {
    if (this.cacheMaxSlots === 0) return;
    const lo = this.retainFrom();
    let k = this.tailFill > 0 ? this.tail : this.tail - 1;
    while (k >= lo && k >= 0 && this.startByte[k % this.cap] > byteIndex) k--;
    if (k < lo || k < 0) {
      this.counters.cacheDrops++;
      return;
    }
    const p = this.pendingCacheStarts;
    if (p.length > 0 && p[p.length - 1] >= k) return; // not newer than one already marked
    if (p.length >= MAX_PENDING_CACHE_STARTS) p.shift(); // keep the newest
    p.push(k);
    this.promotePendingCache();
  }

  private promotePendingCache(): void {
    const p = this.pendingCacheStarts;
    while (p.length > 0 && p[0] < this.head) {
      this.cacheStart = p.shift()!;
      this.counters.cacheStarts++;
    }
    if (this.cacheStart >= 0 && this.head - this.cacheStart > this.cacheMaxSlots) this.dropCache();
  }

  private dropCache(): void {
    if (this.cacheStart >= 0) this.counters.cacheDrops++;
    this.cacheStart = -1;
  }

  private cutReaders(): void {
    const rs = this.readers;
    this.readers = [];
    for (const r of rs) {
      this.counters.readersCut++;
      r.cut();
    }
  }

  /** First cached slot (a ring counter), or -1 when there is no cache. */
  get cacheFrom(): number {
    return this.cacheStart;
  }

  /** The live edge: the ring counter of the next datagram the multicast will send. */
  get liveEdge(): number {
    return this.head;
  }

  /**
   * A copy of the GOP cache's TS packets (RTP headers removed): what was sent
   * from the last random access point to the live edge, at most `maxBytes`
   * of it, or null when there is no cache. For the admin UI's thumbnail: a
   * decoder fed this starts on an I-frame.
   */
  copyCache(maxBytes: number): Buffer | null {
    const from = this.cacheStart;
    if (from < 0 || from >= this.head) return null;
    const payload = this.datagramSize - this.headerSize;
    const n = Math.min(this.head - from, Math.floor(maxBytes / payload));
    if (n <= 0) return null;
    // Its own memory (never the shared pool): the worker transfers it to the main thread.
    const out = Buffer.alloc(n * payload);
    for (let k = 0; k < n; k++) this.slots[(from + k) % this.cap].copy(out, k * payload, this.headerSize, this.datagramSize);
    return out;
  }

  /** RTP sequence number of the datagram at ring counter `k` (sent, still held). */
  sentSequenceNumber(k: number): number {
    return this.slots[k % this.cap].readUInt16BE(2);
  }

  /**
   * The sent datagram at ring counter `k`. Valid only for slots a reader
   * holds (`heldFrom <= k < liveEdge`) and only until the pacer runs again:
   * take it, hand it to `send`, and count the completion in `heldFrom`.
   */
  sentDatagram(k: number): Buffer {
    return this.slots[k % this.cap];
  }

  addReader(r: SentReader): void {
    this.readers.push(r);
  }

  removeReader(r: SentReader): void {
    const i = this.readers.indexOf(r);
    if (i >= 0) this.readers.splice(i, 1);
  }

  /** Send every complete datagram due by now + look-ahead. */
  tick(nowMs: number): void {
    const limit = nowMs + LOOKAHEAD_MS;
    while (this.head < this.timed) {
      const s = this.head % this.cap;
      if (this.head === this.tail) break; // still filling
      const due = this.due[s];
      if (due > limit) break;
      const lateness = nowMs - due;
      this.recordLateness(lateness);
      const slot = this.slots[s];
      if (this.rtp) {
        if (this.mark[s]) this.rtp.markTimestampDiscontinuity();
        this.rtp.writeHeader(slot, this.rtpTs[s]);
      }
      this.sent++;
      this.opts.sink.send(slot, this.sent % SEND_MARK_EVERY === 0 ? this.onMark : null);
      this.counters.datagramsSent++;
      this.counters.bytesSent += this.datagramSize;
      this.head++;
    }
    if (this.pendingCacheStarts.length > 0 || this.cacheStart >= 0) this.promotePendingCache();
  }

  private recordLateness(ms: number): void {
    if (ms > 1) this.counters.lateDatagrams++;
    const v = ms < 0 ? 0 : ms;
    if (v > this.latenessMaxMs) this.latenessMaxMs = v;
    const b = Math.min(HIST_BUCKETS - 1, Math.floor(v / HIST_STEP_MS));
    this.hist[b]++;
    this.histCount++;
  }

  /** Lateness percentiles since the last call, then reset. */
  takeLateness(): { p50Ms: number; p99Ms: number; maxMs: number; count: number } {
    const r = { p50Ms: quantile(this.hist, this.histCount, 0.5), p99Ms: quantile(this.hist, this.histCount, 0.99), maxMs: this.latenessMaxMs, count: this.histCount };
    this.hist.fill(0);
    this.histCount = 0;
    this.latenessMaxMs = 0;
    return r;
  }

  private grow(newCap: number): void {
    // A slot may be reused only after its send callback (dgram.send does not
    // copy): growing allocates new slots and never touches in-flight ones.
    const slots: Buffer[] = new Array(newCap);
    const pool = Buffer.alloc(newCap * this.datagramSize);
    const due = new Float64Array(newCap).fill(NaN);
    const startByte = new Float64Array(newCap);
    const rtpTs = new Float64Array(newCap);
    const mark = new Uint8Array(newCap);
    for (let i = 0; i < newCap; i++) slots[i] = pool.subarray(i * this.datagramSize, (i + 1) * this.datagramSize);
    // Everything still held moves: queued datagrams, the GOP cache, what readers hold.
    const from = Math.max(0, this.retainFrom());
    for (let k = from; k <= this.tail && k - from < this.cap; k++) {
      const o = k % this.cap;
      const n = k % newCap;
      this.slots[o].copy(slots[n], 0, 0, this.datagramSize);
      due[n] = this.due[o];
      startByte[n] = this.startByte[o];
      rtpTs[n] = this.rtpTs[o];
      mark[n] = this.mark[o];
    }
    this.slots = slots;
    this.due = due;
    this.startByte = startByte;
    this.rtpTs = rtpTs;
    this.mark = mark;
    this.cap = newCap;
  }
}

function quantile(hist: Uint32Array, count: number, q: number): number {
  if (count === 0) return 0;
  const target = Math.ceil(count * q);
  let acc = 0;
  for (let i = 0; i < hist.length; i++) {
    acc += hist[i];
    if (acc >= target) return (i + 1) * HIST_STEP_MS;
  }
  return hist.length * HIST_STEP_MS;
}
