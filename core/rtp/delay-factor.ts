/**
 * RFC 4445 Media Delivery Index (MDI = DF:MLR), measured by a receiver from
 * arrival times alone. Pure: the caller supplies the clock (monotonic
 * nanoseconds, e.g. `process.hrtime.bigint()` as a number) and the payload
 * size of each datagram.
 *
 * Delay factor, RFC 4445 §3.1. A virtual buffer is filled by arriving media
 * bytes and drained at the nominal media rate MR. At the arrival of packet i
 * of an interval, with Ti its time since the interval's first packet and Sj
 * the payload sizes:
 *
 *     VB(i,pre)  = sum(Sj, j = 0 .. i-1) − MR · Ti
 *     VB(i,post) = VB(i,pre) + Si
 *     DF         = (max(VB) − min(VB)) / MR      over every pre and post value
 *
 * DF is the buffering (in time) a receiver needs to absorb the jitter of the
 * interval: a perfectly paced stream gives one packet's time; a stream sent
 * as one burst every 100 ms gives ~100 ms. The buffer restarts at each
 * interval's first packet, so a small error in MR can only add
 * |error| × interval, not grow without bound.
 *
 * Media loss rate, RFC 4445 §3.2: media (TS) packets lost per second over the
 * interval; the caller reports losses with {@link DelayFactorMeter.addLostPackets}
 * (e.g. lost RTP datagrams × TS_PER_DATAGRAM from the depacketizer).
 *
 * Intervals are a fixed grid of `intervalNs` from the first arrival ever;
 * an interval with no arrivals is not reported.
 */

export const DEFAULT_MDI_INTERVAL_NS = 1_000_000_000;

export interface DelayFactorOptions {
  /** Nominal media rate in bit/s (TS rate, RTP/UDP/IP headers excluded). */
  mediaRateBps: number;
  /** Measurement interval in ns. Default 1 s (the RFC 4445 §3.1 example). */
  intervalNs?: number;
}

export class DelayFactorMeter {
  readonly mediaRateBps: number;
  readonly intervalNs: number;
  /** DF of the last closed interval in ms, or -1 before the first one closes. */
  lastDfMs = -1;
  /** Largest DF of any closed interval, ms. */
  maxDfMs = -1;
  /** MLR of the last closed interval, media packets per second. */
  lastMlrPps = 0;
  /** Closed intervals. */
  intervals = 0;
  /** Arrivals with a time before the previous one (clock fault); treated as simultaneous. */
  nonMonotonic = 0;

  private readonly bytesPerNs: number;
  private started = false;
  private gridStartNs = 0;
  private intervalEndNs = 0;
  private intervalFirstNs = 0;
  private lastArrivalNs = 0;
  private bytesSum = 0;
  private vbMax = 0;
  private vbMin = 0;
  private lostPackets = 0;
  private packetsInInterval = 0;

  /** Throws RangeError on a non-positive rate or interval (configuration error). */
  constructor(opts: DelayFactorOptions) {
    const mr = opts.mediaRateBps;
    const iv = opts.intervalNs ?? DEFAULT_MDI_INTERVAL_NS;
    if (!(mr > 0) || !Number.isFinite(mr)) throw new RangeError(`mediaRateBps: ${mr} must be > 0`);
    if (!(iv > 0) || !Number.isFinite(iv)) throw new RangeError(`intervalNs: ${iv} must be > 0`);
    this.mediaRateBps = mr;
    this.intervalNs = iv;
    this.bytesPerNs = mr / 8 / 1e9;
  }

  /**
   * Account one datagram's media payload arriving at `arrivalNs`.
   * @returns the DF in ms of the interval this arrival closed, or -1.
   */
  sample(arrivalNs: number, payloadBytes: number): number {
    let t = arrivalNs;
    let closedDfMs = -1;
    if (!this.started) {
      this.started = true;
      this.gridStartNs = t;
      this.intervalEndNs = t + this.intervalNs;
      this.beginInterval(t);
    } else {
      if (t < this.lastArrivalNs) {
        this.nonMonotonic++;
        t = this.lastArrivalNs;
      }
      if (t >= this.intervalEndNs) {
        if (this.packetsInInterval > 0) closedDfMs = this.closeInterval();
        const k = Math.floor((t - this.gridStartNs) / this.intervalNs);
        this.intervalEndNs = this.gridStartNs + (k + 1) * this.intervalNs;
        this.beginInterval(t);
      }
    }
    this.lastArrivalNs = t;
    // §3.1: pre-arrival level, then post-arrival level.
    const pre = this.bytesSum - (t - this.intervalFirstNs) * this.bytesPerNs;
    const post = pre + payloadBytes;
    if (pre < this.vbMin) this.vbMin = pre;
    if (pre > this.vbMax) this.vbMax = pre;
    if (post < this.vbMin) this.vbMin = post;
    if (post > this.vbMax) this.vbMax = post;
    this.bytesSum += payloadBytes;
    this.packetsInInterval++;
    return closedDfMs;
  }

  /** Media (TS) packets lost in the current interval, for MLR (§3.2). */
  addLostPackets(count: number): void {
    if (count > 0) this.lostPackets += count;
  }

  /**
   * Close the current interval early (end of measurement).
   * @returns its DF in ms, or -1 when it holds no arrival.
   */
  finish(): number {
    if (!this.started || this.packetsInInterval === 0) return -1;
    const df = this.closeInterval();
    this.packetsInInterval = 0;
    this.intervalEndNs = this.lastArrivalNs; // the next arrival starts a new interval
    return df;
  }

  private beginInterval(t: number): void {
    this.intervalFirstNs = t;
    this.bytesSum = 0;
    this.vbMax = 0;
    this.vbMin = 0;
    this.lostPackets = 0;
    this.packetsInInterval = 0;
  }

  private closeInterval(): number {
    // DF = (VBmax − VBmin) / MR; bytes → ns at bytesPerNs → ms.
    const dfMs = (this.vbMax - this.vbMin) / this.bytesPerNs / 1e6;
    this.lastDfMs = dfMs;
    if (dfMs > this.maxDfMs) this.maxDfMs = dfMs;
    this.lastMlrPps = this.lostPackets / (this.intervalNs / 1e9);
    this.intervals++;
    return dfMs;
  }
}
