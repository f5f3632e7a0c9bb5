/**
 * The I-frame gate (DESIGN.md "I-frame gate"): whatever path a channel comes
 * in by (FCC burst, multicast, both spliced), the player gets nothing until
 * the stream can be decoded from its first byte — PAT, PMT, then a random
 * access point (an access unit whose first VCL NAL unit is H.264 IDR or
 * H.265 IRAP, as the inspector confirms). Then everything passes through.
 *
 * Without it a player that joins mid-GOP shows (or logs) half a GOP of
 * undecodable pictures, or waits for the next I-frame itself after having
 * probed garbage — what a plain multicast join gives.
 *
 * While closed, the gate holds the packets of the current video access unit
 * (and whatever is interleaved with it) in a bounded buffer, because an IDR
 * is only recognised a packet or two after its access unit began. When the
 * inspector confirms one, the gate emits, in order:
 *   1. the latest PAT and PMT packets (copies, kept as they went by — or
 *      cached from an earlier tune of this channel, so that an I-frame that
 *      arrives before this tune's first PMT is not missed);
 *   2. the held packets from the access unit's first packet on, leaving out
 *      packets of other elementary streams until each one's next PES start
 *      (payload_unit_start_indicator), so that every PES the player sees is
 *      whole (ISO/IEC 13818-1 §2.4.3.6);
 * and passes everything after that through.
 *
 * Pure: no I/O, no timers. Bytes stay bytes (per packet: a PID read and a
 * copy into the hold buffer while closed, nothing while open).
 */
import { TS_PACKET_SIZE, TsPid, tsPayloadUnitStartIndicator, tsPid, tsHasPayload } from '../../core/mpegts/packet.js';
import { TsInspector } from '../../core/mpegts/inspector.js';
import type { TsPacketSink } from '../../core/mpegts/sink.js';
import type { StartSink } from '../../core/mpegts/continuity.js';

/** Where the gate's output goes: `start(psi)` before a decodable start (PAT and PMT copies to put first), then packets. */
export type GateSink = StartSink;

export interface GateOptions {
  /** Bound of the hold buffer (one access unit and what is interleaved with it), bytes. Default 4 MiB. */
  holdMaxBytes?: number;
  /**
   * PAT and PMT packets of this channel from an earlier tune (see
   * {@link RandomAccessGate.psiPackets}): fed to the inspector first, so the
   * video PID is known before this tune's first PMT.
   */
  cachedPsi?: Buffer | null;
}

/** Packets kept per PSI PID since its last section start (PAT/PMT sections of more packets are rare). */
const PSI_MAX_PACKETS = 4;
const PID_COUNT = 8192;

export class RandomAccessGate implements TsPacketSink {
  readonly counters = {
    packetsIn: 0,
    /** Packets dropped before the gate opened (the half GOP a player must not see). */
    packetsBeforeStart: 0,
    /** Packets of other elementary streams dropped after the start, up to their first PES start. */
    packetsTrimmed: 0,
    /** The hold buffer filled up (an access unit larger than holdMaxBytes): its start was dropped. */
    holdOverflows: 0,
    /** Random access points seen while closed whose PAT/PMT packets were not known: waited for the next. */
    startsWithoutPsi: 0,
  };
  readonly inspector: TsInspector;
  private isOpen = false;
  /** Stream byte index of the first packet passed on, -1 before the start. */
  openedAtByte = -1;
  private readonly hold: Buffer;
  private holdLen = 0;
  /** Inspector byte index of hold[0]. */
  private holdStartByte = 0;
  private rapAt = -1;
  private trimTo = -1;
  private readonly patPackets: Buffer;
  private patCount = 0;
  private readonly pmtPackets: Buffer;
  private pmtCount = 0;
  private pmtPid = -1;
  /** After the start: 1 while an elementary stream PID still waits for its first PES start. */
  private readonly waitPusi = new Uint8Array(PID_COUNT);
  private waiting = 0;

  constructor(
    private readonly out: GateSink,
    opts: GateOptions = {},
  ) {
    const self = this;
    this.hold = Buffer.alloc(Math.max(TS_PACKET_SIZE * 64, opts.holdMaxBytes ?? 4 * 1024 * 1024));
    this.patPackets = Buffer.alloc(PSI_MAX_PACKETS * TS_PACKET_SIZE);
    this.pmtPackets = Buffer.alloc(PSI_MAX_PACKETS * TS_PACKET_SIZE);
    this.inspector = new TsInspector({
      listener: {
        accessUnit(_pts: number, _dts: number, byteIndex: number): void {
          if (!self.isOpen) self.trimTo = byteIndex;
        },
        randomAccess(_buf: Buffer, _off: number, _pts: number, auStartByteIndex: number): void {
          if (!self.isOpen) self.rapAt = auStartByteIndex;
        },
      },
    });
    const psi = opts.cachedPsi;
    if (psi && psi.length >= TS_PACKET_SIZE && psi.length % TS_PACKET_SIZE === 0) {
      // One packet at a time: the PAT teaches the inspector the PMT PID
      // before the PMT packet is captured. Its byte count then includes
      // these packets, which the hold bookkeeping accounts for.
      for (let o = 0; o < psi.length; o += TS_PACKET_SIZE) {
        this.capturePsi(psi, o);
        this.inspector.writePackets(psi, o, 1);
      }
      // The live PAT/PMT do not continue the cached packets' counters: start
      // continuity afresh (the PIDs learnt stay), or every re-tune would
      // count CC errors that are not there.
      this.inspector.discontinuity();
      this.holdStartByte = this.inspector.counters.bytes;
    }
  }

  get open(): boolean {
    return this.isOpen;
  }

  /**
   * The latest PAT and PMT packets of this tune (copies), to cache for the
   * next tune of the channel; null until both are known.
   */
  psiPackets(): Buffer | null {
    if (this.patCount === 0 || this.pmtCount === 0) return null;
    return Buffer.concat([this.patPackets.subarray(0, this.patCount * TS_PACKET_SIZE), this.pmtPackets.subarray(0, this.pmtCount * TS_PACKET_SIZE)]);
  }

  writePackets(buf: Buffer, off: number, count: number): void {
    this.counters.packetsIn += count;
    if (this.isOpen) {
      this.watch(buf, off, count);
      this.pass(buf, off, count);
      return;
    }
    const end = off + count * TS_PACKET_SIZE;
    for (let o = off; o < end; o += TS_PACKET_SIZE) {
      this.capturePsi(buf, o);
      this.holdPacket(buf, o);
      this.inspector.writePackets(buf, o, 1);
      if (this.rapAt >= 0 && this.start()) {
        const next = o + TS_PACKET_SIZE;
        if (next < end) {
          this.watch(buf, next, (end - next) / TS_PACKET_SIZE);
          this.pass(buf, next, (end - next) / TS_PACKET_SIZE);
        }
        return;
      }
      if (this.trimTo >= 0) {
        this.trimHold(this.trimTo);
        this.trimTo = -1;
      }
    }
  }

  /** Lost input: the inspector's continuity state goes; an open gate stays open (the player copes with loss). */
  discontinuity(): void {
    this.inspector.discontinuity();
    if (!this.isOpen) {
      this.counters.packetsBeforeStart += this.holdLen / TS_PACKET_SIZE;
      this.holdLen = 0;
      this.holdStartByte = this.inspector.counters.bytes;
      this.rapAt = -1;
      this.trimTo = -1;
    }
    this.out.discontinuity?.();
  }

  end(): void {
    this.out.end?.();
  }

  private capturePsi(buf: Buffer, o: number): void {
    const pid = tsPid(buf, o);
    if (pid === TsPid.PAT) {
      if (tsPayloadUnitStartIndicator(buf, o)) this.patCount = 0;
      if (this.patCount < PSI_MAX_PACKETS) buf.copy(this.patPackets, this.patCount++ * TS_PACKET_SIZE, o, o + TS_PACKET_SIZE);
      return;
    }
    const pmtPid = this.inspector.pmtPid;
    if (pmtPid >= 0 && pid === pmtPid) {
      if (pmtPid !== this.pmtPid || tsPayloadUnitStartIndicator(buf, o)) {
        this.pmtPid = pmtPid;
        this.pmtCount = 0;
      }
      if (this.pmtCount < PSI_MAX_PACKETS) buf.copy(this.pmtPackets, this.pmtCount++ * TS_PACKET_SIZE, o, o + TS_PACKET_SIZE);
    }
  }

  private holdPacket(buf: Buffer, o: number): void {
    if (this.holdLen + TS_PACKET_SIZE > this.hold.length) {
      // An access unit bigger than the bound: keep the newer half.
      this.counters.holdOverflows++;
      this.trimHold(this.holdStartByte + Math.floor(this.holdLen / 2 / TS_PACKET_SIZE) * TS_PACKET_SIZE);
    }
    buf.copy(this.hold, this.holdLen, o, o + TS_PACKET_SIZE);
    this.holdLen += TS_PACKET_SIZE;
  }

  /** Drop held bytes before stream byte `byteIndex` (they cannot belong to the coming start). */
  private trimHold(byteIndex: number): void {
    const drop = Math.min(this.holdLen, Math.max(0, byteIndex - this.holdStartByte));
    if (drop === 0) return;
    this.counters.packetsBeforeStart += drop / TS_PACKET_SIZE;
    this.hold.copyWithin(0, drop, this.holdLen);
    this.holdLen -= drop;
    this.holdStartByte += drop;
  }

  /**
   * While open the inspector keeps reading (CC errors, PSI changes) and the
   * PAT/PMT copies stay current, so that {@link psiPackets} is what the next
   * tune and a newly connected player need.
   */
  private watch(buf: Buffer, off: number, count: number): void {
    this.inspector.writePackets(buf, off, count);
    const end = off + count * TS_PACKET_SIZE;
    for (let o = off; o < end; o += TS_PACKET_SIZE) this.capturePsi(buf, o);
  }

  /** Open at the random access point found; false (and keep waiting) when that cannot be done cleanly. */
  private start(): boolean {
    const rap = this.rapAt;
    this.rapAt = -1;
    if (this.patCount === 0 || this.pmtCount === 0 || rap < this.holdStartByte) {
      // Only possible with an unusual stream (PMT learnt without its packets
      // passing here, or an access unit bigger than the hold): wait for the next.
      this.counters.startsWithoutPsi++;
      this.trimTo = -1;
      return false;
    }
    this.trimHold(rap);
    this.isOpen = true;
    this.openedAtByte = rap;
    // Every elementary stream but the video (which starts at its access unit) waits for its PES start.
    const ins = this.inspector;
    for (const s of ins.streams) {
      if (s.elementaryPid !== ins.videoPid && this.waitPusi[s.elementaryPid] === 0) {
        this.waitPusi[s.elementaryPid] = 1;
        this.waiting++;
      }
    }
    const psi = Buffer.concat([this.patPackets.subarray(0, this.patCount * TS_PACKET_SIZE), this.pmtPackets.subarray(0, this.pmtCount * TS_PACKET_SIZE)]);
    this.out.start(psi);
    const held = this.hold.subarray(0, this.holdLen);
    this.holdLen = 0;
    this.pass(held, 0, held.length / TS_PACKET_SIZE);
    return true;
  }

  /** Open: pass runs through, leaving out elementary-stream packets until their first PES start. */
  private pass(buf: Buffer, off: number, count: number): void {
    if (this.waiting === 0) {
      this.out.writePackets(buf, off, count);
      return;
    }
    const end = off + count * TS_PACKET_SIZE;
    let runStart = off;
    for (let o = off; o < end; o += TS_PACKET_SIZE) {
      const pid = tsPid(buf, o);
      if (this.waitPusi[pid] === 0) continue;
      if (tsHasPayload(buf, o) && tsPayloadUnitStartIndicator(buf, o)) {
        this.waitPusi[pid] = 0;
        this.waiting--;
        continue;
      }
      if (o > runStart) this.out.writePackets(buf, runStart, (o - runStart) / TS_PACKET_SIZE);
      runStart = o + TS_PACKET_SIZE;
      this.counters.packetsTrimmed++;
    }
    if (end > runStart) this.out.writePackets(buf, runStart, (end - runStart) / TS_PACKET_SIZE);
  }
}
