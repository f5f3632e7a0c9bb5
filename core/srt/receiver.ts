/**
 * The receiving side of one SRT connection, as a pure state machine (no
 * sockets, no clock: the caller passes the time in µs). It is what makes SRT
 * "reliable" for live TS (draft-sharabayko-srt §4.5–§4.8, libsrt's
 * `CUDT::processData`, `CRcvBuffer`, `CRcvLossList`):
 *
 *   - a receive buffer of at most `windowPackets` packets, indexed by
 *     sequence number from the next one to deliver;
 *   - loss detection: a packet ahead of the next expected one marks the gap
 *     lost and asks at once for it (NAK, §4.8.2); the loss list is asked for
 *     again periodically (periodic NAK, §4.8.2; every max((RTT + 4·RTTVar) / 2,
 *     20 ms) as libsrt's live mode does)
 *     until it arrives or is too late;
 *   - acknowledgement: a full ACK every 10 ms (§4.8.1, the "SYN" interval)
 *     with the first not-yet-received sequence number, RTT and rates, and a
 *     light ACK every 64 packets; the sender's ACKACK gives the RTT (§4.10);
 *   - timestamp-based packet delivery (TSBPD, §4.5): a packet leaves at
 *     base + its timestamp + latency, where base maps the sender's clock to
 *     ours at the first packet; a packet whose time has come while an earlier
 *     one is still missing makes the missing ones "too late" and they are
 *     dropped and counted (TLPKTDROP, §4.6) — live TS must not stall;
 *   - peer idle: no packet for `peerIdleTimeoutUs` → the connection is dead.
 *
 * Timing is the caller's: {@link SrtReceiver.nextDeadlineUs} says when
 * {@link SrtReceiver.tick} next has something to do (a full ACK, a periodic
 * NAK, the head packet's TSBPD time, the idle timeout), so the caller can
 * sleep until then instead of polling, and call `tick` after each packet
 * too, as libsrt checks its timers after every packet it processes
 * (queue.cpp `CRcvQueue::worker_ProcessAddressedPacket` → `CUDT::checkTimers`).
 *
 * Bounds (STYLE.md §5): the buffer holds at most `windowPackets` packets of
 * at most `maxPayloadBytes` each, kept in the datagrams they came in (header
 * included, not copied: see {@link SrtReceiver.data}); the loss list is
 * bounded by the window too. A packet beyond the window is dropped and counted: without
 * the bound a hostile sender could make us hold anything it likes.
 */

import { seqAdd31, seqDiff31 } from './packet.js';

export { seqAdd31, seqDiff31 };

/** 32-bit µs packet timestamps wrap every ~71.6 min (draft §3). */
const TS_WRAP = 0x100000000;

/** §4.8.1: full ACK period. */
export const ACK_PERIOD_US = 10_000;
/** libsrt: a light ACK after this many packets between full ACKs. */
export const LIGHT_ACK_PACKETS = 64;
/** §4.8.2: periodic NAK at least this far apart. */
const MIN_NAK_PERIOD_US = 20_000;
/** ACK numbers remembered for RTT from ACKACK. */
const ACK_HISTORY = 64;

export interface SrtReceiverOptions {
  /** First sequence number the sender will use (from its handshake). */
  initialSequenceNumber: number;
  /** TSBPD latency, µs (the larger of both sides' wishes, from the handshake). */
  latencyUs: number;
  /** Buffer bound, packets (the flow window). Default 8192. */
  windowPackets?: number;
  /** Largest payload accepted, bytes. Default 1456 (libsrt's live payload limit 1316 + room). */
  maxPayloadBytes?: number;
  /** No packet for this long → dead. Default 5 s (libsrt's peer idle timeout). */
  peerIdleTimeoutUs?: number;
  /** Drop packets that are too late (TLPKTDROP). Default true. */
  tooLatePacketDrop?: boolean;
}

/** What the receiver wants sent, and what it delivers. */
export interface SrtReceiverSink {
  /** One payload, in order, at its TSBPD time. `payload[off, off + len)` is borrowed: valid until the call returns (copy to keep). */
  deliver(payload: Buffer, off: number, len: number): void;
  /** A full ACK (`light` false) or light ACK with `ackNumber` (full only). */
  ack(a: SrtReceiverAck): void;
  /** Lost ranges [from, to], inclusive, in order. */
  nak(ranges: readonly (readonly [number, number])[]): void;
}

export interface SrtReceiverAck {
  light: boolean;
  ackNumber: number;
  /** The first sequence number not received in order (everything before it is in). */
  lastAckedSeq: number;
  rttUs: number;
  rttVarUs: number;
  availableBufferPackets: number;
  packetsPerS: number;
  linkCapacityPacketsPerS: number;
  bytesPerS: number;
}

export class SrtReceiver {
  readonly counters = {
    packetsReceived: 0,
    bytesReceived: 0,
    /** Sequence numbers found missing (each once). */
    packetsLost: 0,
    /** Received with the retransmitted flag, or filling a hole. */
    packetsRetransmitted: 0,
    /** Given up on: too late for TSBPD (or dropped by the sender's DROPREQ). */
    packetsDropped: 0,
    /** Already received (or already given up on). */
    packetsDuplicate: 0,
    /** Beyond the receive window: a sender far ahead, or hostile. */
    packetsBeyondWindow: 0,
    /** Bigger than maxPayloadBytes. */
    packetsOversize: 0,
    packetsDelivered: 0,
    naksSent: 0,
    acksSent: 0,
    lightAcksSent: 0,
    ackAcks: 0,
  };
  /** Smoothed RTT and its variance, µs (§4.10; libsrt starts at 100 ms / 50 ms). */
  rttUs = 100_000;
  rttVarUs = 50_000;

  private readonly window: number;
  private readonly maxPayload: number;
  /** The datagram each held packet came in (its own Buffer, see data()), or null. */
  private readonly buf: (Buffer | null)[];
  private readonly off: Int32Array;
  private readonly len: Int32Array; // -1: empty
  private readonly tsUs: Float64Array; // unwrapped sender timestamp
  private readonly latencyUs: number;
  private readonly idleUs: number;
  private readonly tlpktdrop: boolean;
  /** Next sequence number to deliver. */
  private next: number;
  /** Highest sequence number received + 1 (the edge of what is known). */
  private edge: number;
  /** Lost sequence numbers still wanted, as [from, to] ranges in order. */
  private loss: [number, number][] = [];
  private tsbpdBaseUs = NaN;
  private lastTs = -1;
  private tsWraps = 0;
  private lastPacketAtUs = NaN;
  private lastAckAtUs = 0;
  private lastAckedSeq = -1;
  private packetsSinceAck = 0;
  private ackNumber = 0;
  private readonly ackSentAt = new Float64Array(ACK_HISTORY).fill(NaN);
  private readonly ackSentNumber = new Int32Array(ACK_HISTORY).fill(-1);
  private lastNakAtUs = 0;
  /**
   * When release() next has something to do: the TSBPD time of the next
   * packet to deliver, or of the first held packet after a hole at the head
   * (then the hole is too late); Infinity when nothing is held. Set by
   * release(), which every change of the buffer's head goes through.
   */
  private releaseAtUs = Infinity;
  // Rates over the last ACK period.
  private rateWindowStartUs = NaN;
  private rateWindowPackets = 0;
  private rateWindowBytes = 0;
  private packetsPerS = 0;
  private bytesPerS = 0;

  constructor(
    private readonly sink: SrtReceiverSink,
    o: SrtReceiverOptions,
  ) {
    this.window = o.windowPackets ?? 8192;
    this.maxPayload = o.maxPayloadBytes ?? 1456;
    if (!Number.isInteger(this.window) || this.window < 32 || this.window > 65536) throw new RangeError(`windowPackets: ${this.window} is not in 32..65536`);
    this.buf = new Array<Buffer | null>(this.window).fill(null);
    this.off = new Int32Array(this.window);
    this.len = new Int32Array(this.window).fill(-1);
    this.tsUs = new Float64Array(this.window);
    this.latencyUs = o.latencyUs;
    this.idleUs = o.peerIdleTimeoutUs ?? 5_000_000;
    this.tlpktdrop = o.tooLatePacketDrop ?? true;
    this.next = seqAdd31(o.initialSequenceNumber, 0);
    this.edge = this.next;
  }

  /** Packets held (received, not yet delivered). */
  get bufferedPackets(): number {
    let n = 0;
    for (let i = 0; i < this.window; i++) if (this.len[i] >= 0) n++;
    return n;
  }

  /** Received payload rate over the last half second or more, bit/s (0 before it is known). */
  get receiveRateBps(): number {
    return this.bytesPerS * 8;
  }

  /** The first sequence number not yet delivered. */
  get nextSequenceNumber(): number {
    return this.next;
  }

  /** Sequence numbers currently in the loss list. */
  get lossCount(): number {
    let n = 0;
    for (const [a, b] of this.loss) n += seqDiff31(b, a) + 1;
    return n;
  }

  isIdle(nowUs: number): boolean {
    return !Number.isNaN(this.lastPacketAtUs) && nowUs - this.lastPacketAtUs > this.idleUs;
  }

  /** Any control packet from the peer (keepalive too) shows it is alive. */
  touch(nowUs: number): void {
    this.lastPacketAtUs = nowUs;
  }

  /**
   * One data packet, `payload[off, off + len)`. Ownership of `payload` is
   * transferred: when the packet must wait (nearly always: until its TSBPD
   * time) the receiver keeps a reference to `payload` itself, not a copy,
   * until it is delivered or given up on, so the caller must not write to or
   * reuse it afterwards. Each datagram node:dgram hands to a 'message'
   * listener is a Buffer of its own (its own ArrayBuffer, exactly the
   * datagram's size), so the endpoint passes it as it came, decrypted in
   * place. Keeping it instead of copying into a pool saves a 1316-byte copy
   * per packet and the pool's window × maxPayloadBytes (12 MB) up front.
   */
  data(seq: number, timestamp: number, retransmitted: boolean, payload: Buffer, off: number, len: number, nowUs: number): void {
    const c = this.counters;
    this.lastPacketAtUs = nowUs;
    if (len > this.maxPayload || len < 0) {
      c.packetsOversize++;
      return;
    }
    c.packetsReceived++;
    c.bytesReceived += len;
    this.rateWindowPackets++;
    this.rateWindowBytes += len;
    if (Number.isNaN(this.rateWindowStartUs)) this.rateWindowStartUs = nowUs;
    const d = seqDiff31(seq, this.next);
    if (d < 0) {
      c.packetsDuplicate++;
      return;
    }
    if (d >= this.window) {
      c.packetsBeyondWindow++;
      return;
    }
    const ts = this.unwrapTs(timestamp);
    if (Number.isNaN(this.tsbpdBaseUs)) this.tsbpdBaseUs = nowUs - ts; // §4.5: the first packet fixes the clock mapping
    const slot = seq % this.window;
    if (this.len[slot] >= 0) {
      c.packetsDuplicate++;
      return;
    }
    const e = seqDiff31(seq, this.edge);
    if (e > 0) {
      // A gap before this packet: lost, ask at once (§4.8.2 immediate NAK).
      const from = this.edge;
      const to = seqAdd31(seq, -1);
      this.loss.push([from, to]);
      c.packetsLost += e;
      this.sink.nak([[from, to]]);
      c.naksSent++;
    }
    if (e >= 0) this.edge = seqAdd31(seq, 1);
    else if (this.removeLoss(seq) || retransmitted) c.packetsRetransmitted++;
    this.buf[slot] = payload;
    this.off[slot] = off;
    this.len[slot] = len;
    this.tsUs[slot] = ts;
    if (++this.packetsSinceAck >= LIGHT_ACK_PACKETS) this.sendAck(nowUs, true);
    // Only a packet due before the current release point can move it (a
    // hole filled, the first into an empty buffer); one appended behind the
    // head, the usual case, cannot.
    if (nowUs >= this.releaseAtUs || this.tsbpdBaseUs + ts + this.latencyUs < this.releaseAtUs) this.release(nowUs);
  }

  /** The sender's ACKACK for our ACK `ackNumber`: an RTT sample (§4.10). */
  ackAck(ackNumber: number, nowUs: number): void {
    this.counters.ackAcks++;
    this.lastPacketAtUs = nowUs;
    const i = ackNumber % ACK_HISTORY;
    if (this.ackSentNumber[i] !== ackNumber) return;
    const rtt = nowUs - this.ackSentAt[i];
    this.ackSentNumber[i] = -1;
    if (!(rtt >= 0) || rtt > 10_000_000) return;
    // RFC 6298-style smoothing, as libsrt does (§4.10).
    this.rttVarUs = (3 * this.rttVarUs + Math.abs(this.rttUs - rtt)) / 4;
    this.rttUs = (7 * this.rttUs + rtt) / 8;
  }

  /** The sender gave up on [from, to] (DROPREQ, §3.2.9): stop asking, skip them. */
  dropRequest(from: number, to: number, nowUs: number): void {
    this.lastPacketAtUs = nowUs;
    for (let s = from, n = 0; seqDiff31(to, s) >= 0 && n < this.window; s = seqAdd31(s, 1), n++) this.removeLoss(s);
    if (seqDiff31(to, this.next) >= 0 && seqDiff31(from, this.next) <= 0) {
      // The next packet is among them: skip what is missing up to `to`.
      while (seqDiff31(to, this.next) >= 0 && this.len[this.next % this.window] < 0) {
        this.counters.packetsDropped++;
        this.next = seqAdd31(this.next, 1);
      }
      if (seqDiff31(this.edge, this.next) < 0) this.edge = this.next;
      this.release(nowUs);
    }
  }

  /**
   * Timers: deliver what is due, drop what is too late, full ACK, periodic
   * NAK — whatever is due at `nowUs`, nothing else. Call it at
   * {@link nextDeadlineUs} and after each packet (cheap when nothing is due).
   */
  tick(nowUs: number): void {
    if (nowUs >= this.releaseAtUs) this.release(nowUs);
    if (nowUs - this.lastAckAtUs >= ACK_PERIOD_US) this.sendAck(nowUs, false);
    if (this.loss.length > 0 && nowUs - this.lastNakAtUs >= this.nakPeriodUs()) {
      this.lastNakAtUs = nowUs;
      this.sink.nak(this.loss.slice(0, 64));
      this.counters.naksSent++;
    }
  }

  /**
   * The earliest time (µs, the caller's clock) at which {@link tick} has
   * something to do or {@link isIdle} turns true: the earlier of
   * {@link nextReleaseUs} and {@link nextControlUs}. Exact: a caller that
   * calls `tick` at this time (and after each packet) sends every ACK and
   * NAK and delivers every packet at the time the protocol says. It moves
   * only when a packet, an ACKACK, a DROPREQ or `tick` changes the state, so
   * a caller reads it after each of those.
   */
  nextDeadlineUs(): number {
    return Math.min(this.releaseAtUs, this.nextControlUs());
  }

  /**
   * TSBPD (§4.5, §4.6): the time the head packet is due, or, behind a hole
   * at the head, the time the first packet after it is due (the hole is then
   * too late); Infinity while nothing is held or, without TLPKTDROP, while
   * the head is missing.
   */
  nextReleaseUs(): number {
    return this.releaseAtUs;
  }

  /**
   * The protocol's timers: the next full ACK (10 ms after the last, §4.8.1;
   * always pending, so this is never more than 10 ms after the last ACK),
   * the next periodic NAK while anything is lost (§4.8.2), and the first
   * time {@link isIdle} is true.
   */
  nextControlUs(): number {
    let d = this.lastAckAtUs + ACK_PERIOD_US;
    if (this.loss.length > 0) {
      const nak = this.lastNakAtUs + this.nakPeriodUs();
      if (nak < d) d = nak;
    }
    const idle = this.lastPacketAtUs + this.idleUs + 1; // isIdle is strict (>)
    if (idle < d) d = idle; // NaN before the first packet: never less
    return d;
  }

  /** libsrt live mode (core.cpp checkNAKTimer): half of RTT + 4·RTTVar, at least 20 ms. */
  private nakPeriodUs(): number {
    return Math.max(MIN_NAK_PERIOD_US, (this.rttUs + 4 * this.rttVarUs) / 2);
  }

  private unwrapTs(ts: number): number {
    if (this.lastTs >= 0) {
      if (ts < this.lastTs && this.lastTs - ts > TS_WRAP / 2) this.tsWraps++;
      else if (ts > this.lastTs && ts - this.lastTs > TS_WRAP / 2) return this.tsWraps * TS_WRAP + ts - TS_WRAP; // a late packet from before a wrap
    }
    if (this.lastTs < 0 || ts > this.lastTs || this.lastTs - ts > TS_WRAP / 2) this.lastTs = ts;
    return this.tsWraps * TS_WRAP + ts;
  }

  private removeLoss(seq: number): boolean {
    const l = this.loss;
    for (let i = 0; i < l.length; i++) {
      const [a, b] = l[i];
      if (seqDiff31(seq, a) < 0 || seqDiff31(b, seq) < 0) continue;
      if (a === b) l.splice(i, 1);
      else if (seq === a) l[i] = [seqAdd31(a, 1), b];
      else if (seq === b) l[i] = [a, seqAdd31(b, -1)];
      else l.splice(i, 1, [a, seqAdd31(seq, -1)], [seqAdd31(seq, 1), b]);
      return true;
    }
    return false;
  }

  /**
   * Deliver in order what is due; skip holes whose successor is due (too
   * late). Leaves {@link releaseAtUs} at the time it next has work. At most
   * `window` steps a call (each delivers a packet or skips a hole): if that
   * is not enough, the rest is due at once, on the next tick.
   */
  private release(nowUs: number): void {
    this.releaseAtUs = Infinity;
    if (Number.isNaN(this.tsbpdBaseUs)) return;
    for (let guard = 0; guard < this.window; guard++) {
      const slot = this.next % this.window;
      const len = this.len[slot];
      if (len >= 0) {
        const dueUs = this.tsbpdBaseUs + this.tsUs[slot] + this.latencyUs;
        if (dueUs > nowUs) {
          this.releaseAtUs = dueUs;
          return;
        }
        const payload = this.buf[slot]!;
        this.buf[slot] = null;
        this.len[slot] = -1;
        this.next = seqAdd31(this.next, 1);
        this.counters.packetsDelivered++;
        this.sink.deliver(payload, this.off[slot], len);
        continue;
      }
      if (seqDiff31(this.edge, this.next) <= 0 || !this.tlpktdrop) return;
      // A hole. Is a later packet due already? Then the hole is too late (§4.6).
      let k = this.next;
      let found = -1;
      for (let n = 0; n < this.window && seqDiff31(this.edge, k) > 0; n++, k = seqAdd31(k, 1)) {
        if (this.len[k % this.window] >= 0) {
          found = k;
          break;
        }
      }
      if (found < 0) return;
      const fs = found % this.window;
      const dueUs = this.tsbpdBaseUs + this.tsUs[fs] + this.latencyUs;
      if (dueUs > nowUs) {
        this.releaseAtUs = dueUs;
        return;
      }
      while (this.next !== found) {
        this.removeLoss(this.next);
        this.counters.packetsDropped++;
        this.next = seqAdd31(this.next, 1);
      }
    }
    this.releaseAtUs = nowUs;
  }

  private sendAck(nowUs: number, light: boolean): void {
    const ackSeq = this.firstMissing();
    this.packetsSinceAck = 0;
    if (light) {
      this.counters.lightAcksSent++;
      this.sink.ack({ light: true, ackNumber: 0, lastAckedSeq: ackSeq, rttUs: 0, rttVarUs: 0, availableBufferPackets: 0, packetsPerS: 0, linkCapacityPacketsPerS: 0, bytesPerS: 0 });
      return;
    }
    this.lastAckAtUs = nowUs;
    if (!Number.isNaN(this.rateWindowStartUs) && nowUs > this.rateWindowStartUs) {
      const dt = (nowUs - this.rateWindowStartUs) / 1e6;
      if (dt >= 0.5) {
        this.packetsPerS = Math.round(this.rateWindowPackets / dt);
        this.bytesPerS = Math.round(this.rateWindowBytes / dt);
        this.rateWindowStartUs = nowUs;
        this.rateWindowPackets = 0;
        this.rateWindowBytes = 0;
      }
    }
    // libsrt sends a full ACK only when there is something new to acknowledge
    // (or to keep the RTT fresh): here every period, which also keeps the
    // sender's view of our buffer current.
    this.ackNumber = (this.ackNumber + 1) & 0x7fffffff;
    const i = this.ackNumber % ACK_HISTORY;
    this.ackSentAt[i] = nowUs;
    this.ackSentNumber[i] = this.ackNumber;
    this.lastAckedSeq = ackSeq;
    this.counters.acksSent++;
    this.sink.ack({
      light: false,
      ackNumber: this.ackNumber,
      lastAckedSeq: ackSeq,
      rttUs: Math.round(this.rttUs),
      rttVarUs: Math.round(this.rttVarUs),
      availableBufferPackets: Math.max(2, this.window - seqDiff31(this.edge, this.next)),
      packetsPerS: this.packetsPerS,
      linkCapacityPacketsPerS: this.packetsPerS,
      bytesPerS: this.bytesPerS,
    });
  }

  /** The first sequence number not received: everything before it is in (or given up on). */
  private firstMissing(): number {
    if (this.loss.length > 0) return this.loss[0][0];
    return this.edge;
  }
}
