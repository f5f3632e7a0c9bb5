/**
 * TS inspector: the analysing stage of the packet path (DESIGN.md). Learns
 * PAT → PMT → video PID and PCR PID, keeps ETSI TR 101 290 §5.2.1 priority-1
 * counters (plus CRC, PCR and transport-error counters of §5.2.2), measures
 * PCR interval and jitter, and finds random access points (adaptation-field
 * random_access_indicator, confirmed by an IDR/IRAP scan of the PES that
 * starts there — and IDRs without the indicator, which many encoders omit).
 *
 * Bytes stay bytes (STYLE.md §1): per-PID state lives in typed arrays indexed
 * by PID; per packet there is no allocation, closure, or emit. Results are a
 * fixed-shape `counters` object and an optional listener called per event
 * (random access, PES, PCR, PSI change), never per packet.
 *
 * Format (core/codec/sps.ts): the video SPS is copied by the same NAL scan
 * that finds random access points and parsed only when its bytes differ from
 * the last one; the audio frame header is read from the start of each audio
 * PES (a few byte compares per PES). Both feed the slate that must match the
 * channel's format.
 *
 * Time comes from the stream — the PCR of the PCR PID, interpolated by byte
 * position at the measured rate — or from a caller clock read once per
 * writePackets() call; never from Date.now() in the packet loop. Timed checks
 * (PAT/PMT interval, PID_error) run when time advances, i.e. per PCR.
 */
import { NalScanner, NalScanResult, SPS_CAPTURE_MAX_BYTES, VideoStreamType } from '../codec/nal.js';
import {
  FpsSource,
  audioFormatEquals,
  newAudioFormat,
  parseAc3Header,
  parseAdtsHeader,
  parseH264Sps,
  parseH265Sps,
  parseMpegAudioHeader,
  ratio,
  type AudioFormat,
  type Ratio,
  type VideoFormat,
} from '../codec/sps.js';
import { PCR_WRAP_27M, TS_PACKET_SIZE, TS_SYNC_BYTE, TsPid, tsPcr27M } from './packet.js';
import { PesError, newPesHeader, pesParseHeader } from './pes.js';
import {
  PsiSectionAssembler,
  TableId,
  parsePat,
  parsePmt,
  parseSdt,
  psiCurrentNextIndicator,
  psiLastSectionNumber,
  psiSectionNumber,
  psiVersionNumber,
  type Pat,
  type Pmt,
  type PmtStream,
  type PsiSectionSink,
} from './psi.js';
import type { TsPacketSink } from './sink.js';

/** Events, each at most once per event (never per packet). All buffers borrowed. */
export interface TsInspectorListener {
  /**
   * A random access point of the video PID: an access unit whose first VCL
   * NAL unit is IDR (H.264) or IRAP (H.265). `buf, off` is the TS packet in
   * which that NAL unit was found; the access unit began at stream byte
   * `auStartByteIndex` (the packet with payload_unit_start_indicator), which
   * is the packet to start a GOP cache or HLS segment at.
   */
  randomAccess?(buf: Buffer, off: number, pts90k: number, auStartByteIndex: number): void;
  /** A video PES header: one access unit in practice; pts/dts -1 when absent. */
  accessUnit?(pts90k: number, dts90k: number, byteIndex: number): void;
  /** A PCR on the PCR PID. */
  pcr?(pcr27M: number, byteIndex: number): void;
  /** PAT, selected PMT, or the service name changed. */
  psiChanged?(): void;
  /** `videoFormat` or `audioFormat` changed (a new SPS, an fps found from DTS, a new audio header). */
  formatChanged?(): void;
}

export interface TsInspectorOptions {
  /** Program to follow; default: the first program listed in the PAT. */
  programNumber?: number;
  /** TR 101 290 1.6 PID_error period ("user specified"); default 5000 ms. */
  pidTimeoutMs?: number;
  /** Caller clock, read once per writePackets(); default: stream time from PCR. */
  clock?: { nowMs(): number };
  listener?: TsInspectorListener;
}

/** TR 101 290 1.3 / 1.5: PAT and each PMT at least every 0.5 s. */
const PSI_INTERVAL_MAX_MS = 500;
/** TR 101 290 2.3a PCR_repetition_error: consecutive PCRs more than 40 ms apart. */
const PCR_REPETITION_MAX_MS = 40;
/** TR 101 290 2.3b: PCR gap above 100 ms without discontinuity_indicator. */
const PCR_DISCONTINUITY_MS = 100;
/** TR 101 290 2.4 PCR_accuracy_error: ±500 ns. */
const PCR_ACCURACY_NS = 500;
/** Rate estimates need this much PCR span before jitter is measured (27 MHz ticks = 0.5 s). */
const RATE_MIN_SPAN_27M = 13_500_000;
const TICKS_PER_MS = 27_000;

const PID_COUNT = 8192;
/** What a PID carries, in `kind[]`. */
const PidKind = { NONE: 0, PAT: 1, PMT: 2, SDT: 3, VIDEO: 4, ES: 5, AUDIO: 6 } as const;
/** Which audio header parser the selected audio PID needs. */
const AudioParser = { NONE: 0, ADTS: 1, MPEG: 2, AC3: 3 } as const;
/** DVB descriptor tags that mark stream_type 0x06 as AC-3 / E-AC-3 (ETSI EN 300 468 Annex D). */
const DESCRIPTOR_AC3 = 0x6a;
const DESCRIPTOR_ENHANCED_AC3 = 0x7a;
/** registration_descriptor (ISO/IEC 13818-1 §2.6.8) and the format_identifiers of ATSC A/52 Annex A / G. */
const DESCRIPTOR_REGISTRATION = 0x05;
const FORMAT_ID_AC3 = 0x41432d33; // 'AC-3'
const FORMAT_ID_EAC3 = 0x45414333; // 'EAC3'

/**
 * fps from DTS: the last FPS_DTS_STEPS steps between consecutive video DTS
 * are kept (a ring, 128 bytes), and the median is taken once at least
 * FPS_DTS_STEPS_MIN are in. Steps of 0 or above 1 s (a discontinuity, a
 * wrap, a restart) are not frame periods and are left out.
 */
const FPS_DTS_STEPS = 32;
const FPS_DTS_STEPS_MIN = 16;
const FPS_DTS_STEP_MAX_90K = 90_000;
const PTS_WRAP_90K = 8_589_934_592; // 2^33, ISO/IEC 13818-1 §2.4.3.7
/**
 * Broadcast rates a DTS-derived fps snaps to when within 0.04 % (half the
 * 0.1 % between 30000/1001 and 30), so a slate gets 30000/1001, not 29.97.
 */
const COMMON_FRAME_RATES: readonly Ratio[] = [
  { num: 24000, den: 1001 },
  { num: 24, den: 1 },
  { num: 25, den: 1 },
  { num: 30000, den: 1001 },
  { num: 30, den: 1 },
  { num: 48, den: 1 },
  { num: 50, den: 1 },
  { num: 60000, den: 1001 },
  { num: 60, den: 1 },
  { num: 100, den: 1 },
  { num: 120000, den: 1001 },
  { num: 120, den: 1 },
];
const FRAME_RATE_SNAP = 0.0004;
/** Video PES reassembly state. */
const AuState = { IDLE: 0, HEADER: 1, BODY: 2 } as const;

interface PmtState {
  pid: number;
  programNumber: number;
  assembler: PsiSectionAssembler;
  version: number;
  lastMs: number;
  late: boolean;
}

export class TsInspector implements TsPacketSink, PsiSectionSink {
  /** Fixed-shape counters (read them, snapshot them once a second). */
  readonly counters = {
    packets: 0,
    bytes: 0,
    /** TR 101 290 1.2 Sync_byte_error. */
    syncByteErrors: 0,
    /** TR 101 290 1.3 PAT_error: interval > 0.5 s, table_id ≠ 0 on PID 0, or scrambled. */
    patErrors: 0,
    /** TR 101 290 1.4 Continuity_count_error. */
    ccErrors: 0,
    /** Duplicate packets (§2.4.3.3: allowed once, not an error). */
    ccDuplicates: 0,
    /** Packets with discontinuity_indicator set. */
    discontinuityIndicators: 0,
    /** TR 101 290 1.5 PMT_error: interval > 0.5 s or scrambled. */
    pmtErrors: 0,
    /** TR 101 290 1.6 PID_error: a PID of the PMT absent for pidTimeoutMs. */
    pidErrors: 0,
    /** TR 101 290 2.1 Transport_error (transport_error_indicator set). */
    transportErrors: 0,
    /** TR 101 290 2.2 CRC_error. */
    crcErrors: 0,
    psiSections: 0,
    psiMalformed: 0,
    scrambledPackets: 0,
    pcrCount: 0,
    pcrIntervalMaxMs: 0,
    /** TR 101 290 2.3a PCR_repetition_error (> 40 ms). */
    pcrRepetitionErrors: 0,
    /** TR 101 290 2.3b PCR_discontinuity_indicator_error (> 100 ms or backwards, no indicator). */
    pcrDiscontinuityErrors: 0,
    /** Largest |PCR − PCR predicted from byte position at the measured rate|; an estimate, exact for CBR. */
    pcrJitterMaxNs: 0,
    /** PCRs off the byte-position prediction by more than 500 ns (TR 101 290 2.4, same estimate). */
    pcrAccuracyErrors: 0,
    /** Transport rate measured between PCRs, 0 until known. */
    bitrateBps: 0,
    videoPes: 0,
    pesErrors: 0,
    lastVideoPts90k: -1,
    /** Access units whose first VCL NAL unit is IDR / IRAP. */
    keyframes: 0,
    /** random_access_indicator on the video PID. */
    randomAccessIndicators: 0,
    /** RAI set and the access unit is IDR/IRAP. */
    randomAccessConfirmed: 0,
    /** RAI set but the access unit is not IDR/IRAP. */
    randomAccessUnconfirmed: 0,
    /** IDR/IRAP without RAI. */
    keyframesWithoutRai: 0,
    /** SPSs that did not parse (truncated, garbage, out of range); the last good format stays. */
    spsErrors: 0,
    /** Stream time (PCR, or the caller clock), ms; -1 before the first PCR. */
    streamTimeMs: -1,
  };

  private readonly listener: TsInspectorListener | undefined;
  private readonly clock: { nowMs(): number } | undefined;
  private readonly wantedProgram: number;
  private readonly pidTimeoutMs: number;

  // Per-PID state, indexed by PID.
  private readonly kind = new Uint8Array(PID_COUNT);
  private readonly ccLast = new Int8Array(PID_COUNT).fill(-1);
  private readonly ccDupSeen = new Uint8Array(PID_COUNT);
  private readonly ccFingerprint = new Int32Array(PID_COUNT);
  private readonly ccBatch = new Float64Array(PID_COUNT).fill(-1);
  private readonly ccOff = new Int32Array(PID_COUNT);
  private readonly lastSeenMs = new Float64Array(PID_COUNT).fill(Number.NaN);
  private readonly pidLate = new Uint8Array(PID_COUNT);

  private batch = 0;
  private nowMs = Number.NaN;
  /** Stream byte index of the packet being handled (for PSI timing). */
  private currentByte = 0;

  // PSI
  private readonly patAssembler: PsiSectionAssembler;
  private readonly sdtAssembler: PsiSectionAssembler;
  private pmtStates: PmtState[] = [];
  private patVersion = -1;
  private patLastMs = Number.NaN;
  private patLate = false;
  private sdtVersion = -1;
  private readonly sdtSectionsSeen = new Uint8Array(256);
  /** The current PAT, or null before one. */
  pat: Pat | null = null;
  /** The selected program's current PMT, or null before one. */
  pmt: Pmt | null = null;
  /** service_name / provider name of the selected program from the SDT (EN 300 468 §6.2.33). */
  serviceName = '';
  providerName = '';
  programNumber = -1;
  pmtPid = -1;
  pcrPid = -1;
  videoPid = -1;
  videoStreamType = -1;
  /**
   * Stream byte index of the packet that completed the latest valid PAT
   * section, and the latest section of the selected program's PMT; -1 before
   * one. A GOP cache starts at a PAT before its random access point so that
   * a receiver gets PAT + PMT first (ISO/IEC 13818-1 §2.4.4).
   */
  lastPatByte = -1;
  lastPmtByte = -1;
  /**
   * The channel's video format from its latest SPS (fps from the VUI, else
   * from DTS steps once enough are seen), and its audio format from the
   * latest audio frame header of the first audio stream of the PMT; null
   * while unknown. Replaced, never mutated: a reference handed out stays
   * valid. Kept across discontinuity() (the last known format is what a
   * slate needs while the input is down); cleared when the PMT changes the
   * video or audio PID or its stream_type.
   */
  videoFormat: Readonly<VideoFormat> | null = null;
  audioFormat: Readonly<AudioFormat> | null = null;
  audioPid = -1;

  // PCR
  private lastPcr27M = -1;
  private lastPcrByte = 0;
  private pcrUnwrapped27M = 0;
  private rateBasePcr27M = 0;
  private rateBaseByte = 0;
  private rateBps = 0;

  // Video PES / access unit
  private auState: number = AuState.IDLE;
  private auStartByte = 0;
  private auRai = false;
  private auPts90k = -1;
  private auSkip = 0;
  private readonly pesHeader = newPesHeader();
  /** Holds a PES header that spans TS packets: 19 bytes reach the DTS (§2.4.3.7). */
  private readonly pesHeaderBuf = Buffer.alloc(32);
  private pesHeaderHave = 0;
  private readonly nal = new NalScanner(VideoStreamType.H264, true);

  // Format
  /** The SPS last parsed (good or not): an SPS with the same bytes is not parsed again. */
  private readonly spsLast = new Uint8Array(SPS_CAPTURE_MAX_BYTES);
  private spsLastLength = 0;
  private readonly dtsSteps = new Int32Array(FPS_DTS_STEPS);
  private dtsStepCount = 0;
  private lastDts90k = -1;
  private audioParser: number = AudioParser.NONE;
  private readonly audioPesHeader = newPesHeader();
  private readonly audioScratch = newAudioFormat();

  constructor(options: TsInspectorOptions = {}) {
    this.listener = options.listener;
    this.clock = options.clock;
    this.wantedProgram = options.programNumber ?? -1;
    this.pidTimeoutMs = options.pidTimeoutMs ?? 5000;
    this.patAssembler = new PsiSectionAssembler(TsPid.PAT, this, this.counters);
    this.sdtAssembler = new PsiSectionAssembler(TsPid.SDT, this, this.counters);
    this.kind[TsPid.PAT] = PidKind.PAT;
    this.kind[TsPid.SDT] = PidKind.SDT;
  }

  /**
   * A summary for logs and the per-second channel snapshot (allocates: call
   * it per snapshot, not per packet).
   */
  describe(): {
    serviceName: string | null;
    videoPid: number;
    pcrPid: number;
    keyframes: number;
    streams: string;
    video: Readonly<VideoFormat> | null;
    audio: Readonly<AudioFormat> | null;
  } {
    let streams = '';
    for (const s of this.streams) {
      if (streams !== '') streams += ', ';
      streams += `0x${s.elementaryPid.toString(16).padStart(4, '0')} ${streamTypeName(s.streamType)}`;
    }
    return {
      serviceName: this.serviceName !== '' ? this.serviceName : null,
      videoPid: this.videoPid,
      pcrPid: this.pcrPid,
      keyframes: this.counters.keyframes,
      streams,
      video: this.videoFormat,
      audio: this.audioFormat,
    };
  }

  /** The selected program's elementary streams (stream_type, PID, raw ES info). */
  get streams(): readonly PmtStream[] {
    return this.pmt !== null ? this.pmt.streams : [];
  }

  /** Packets are borrowed: nothing of `buf` is kept after return. */
  writePackets(buf: Buffer, off: number, count: number): void {
    const c = this.counters;
    const byteBase = c.bytes - off;
    c.packets += count;
    c.bytes += count * TS_PACKET_SIZE;
    const batch = ++this.batch;
    if (this.clock !== undefined) this.advanceTime(this.clock.nowMs());
    const kind = this.kind;
    const ccLast = this.ccLast;
    const ccDupSeen = this.ccDupSeen;
    const ccFingerprint = this.ccFingerprint;
    const ccBatch = this.ccBatch;
    const ccOff = this.ccOff;
    const lastSeenMs = this.lastSeenMs;
    const end = off + count * TS_PACKET_SIZE;
    for (let o = off; o < end; o += TS_PACKET_SIZE) {
      if (buf[o] !== TS_SYNC_BYTE) c.syncByteErrors++;
      const b1 = buf[o + 1];
      if ((b1 & 0x80) !== 0) {
        c.transportErrors++; // header not trustworthy: nothing more from it
        continue;
      }
      const pid = ((b1 & 0x1f) << 8) | buf[o + 2];
      if (pid === TsPid.NULL) continue; // §2.4.3.3: CC of null packets is undefined
      const b3 = buf[o + 3];
      const cc = b3 & 0x0f;
      const hasAdaptation = (b3 & 0x20) !== 0;
      const flags = hasAdaptation && buf[o + 4] !== 0 ? buf[o + 5] : 0;

      // Continuity, ISO/IEC 13818-1 §2.4.3.3 and §2.4.3.5.
      if ((flags & 0x80) !== 0) {
        c.discontinuityIndicators++; // discontinuity_indicator: any CC is fine
        ccLast[pid] = cc;
        ccDupSeen[pid] = 0;
      } else if ((b3 & 0x10) !== 0) {
        const last = ccLast[pid];
        if (last < 0 || cc === ((last + 1) & 0x0f)) {
          ccLast[pid] = cc;
          ccDupSeen[pid] = 0;
        } else if (cc === last && ccDupSeen[pid] === 0 && this.isDuplicate(buf, o, pid, batch)) {
          ccDupSeen[pid] = 1; // a duplicate, once: not an error, nothing new in it
          c.ccDuplicates++;
          continue;
        } else {
          c.ccErrors++;
          ccLast[pid] = cc;
          ccDupSeen[pid] = 0;
        }
        ccFingerprint[pid] = fingerprint(buf, o);
        ccBatch[pid] = batch;
        ccOff[pid] = o;
      } else if (cc !== ccLast[pid]) {
        // adaptation field only: "shall not be incremented"
        if (ccLast[pid] >= 0) c.ccErrors++;
        ccLast[pid] = cc;
      }

      if ((b3 & 0xc0) !== 0) c.scrambledPackets++;
      lastSeenMs[pid] = this.nowMs;
      if ((flags & 0x10) !== 0 && pid === this.pcrPid) this.pcrPacket(buf, o, byteBase + o, flags);
      const k = kind[pid];
      if (k === PidKind.NONE || k === PidKind.ES) continue;
      if (k === PidKind.VIDEO) {
        if ((b3 & 0xc0) === 0) this.videoPacket(buf, o, byteBase + o, flags);
        continue;
      }
      if (k === PidKind.AUDIO) {
        if ((b1 & 0x40) !== 0 && (b3 & 0xc0) === 0) this.audioPacket(buf, o);
        continue;
      }
      this.currentByte = byteBase + o;
      this.psiPacket(buf, o, pid, k, b3);
    }
  }

  /** Upstream restarted (new input attempt): forget continuity, PCR and PES state; re-learn PSI. */
  discontinuity(): void {
    this.ccLast.fill(-1);
    this.ccDupSeen.fill(0);
    this.ccBatch.fill(-1);
    this.lastPcr27M = -1;
    this.rateBps = 0;
    this.auState = AuState.IDLE;
    this.lastDts90k = -1; // a new time base: no step across it
    this.patAssembler.reset();
    this.sdtAssembler.reset();
    for (const s of this.pmtStates) {
      s.assembler.reset();
      s.version = -1;
      s.lastMs = Number.NaN;
      s.late = false;
    }
    this.patVersion = -1;
    this.sdtVersion = -1;
    this.lastPatByte = -1;
    this.lastPmtByte = -1;
    this.patLastMs = Number.NaN;
    this.patLate = false;
    this.lastSeenMs.fill(Number.NaN);
  }

  end(): void {
    this.finishAccessUnit();
    this.auState = AuState.IDLE;
  }

  // ------------------------------------------------------------ continuity

  /** §2.4.3.3: a duplicate repeats every byte except a PCR. */
  private isDuplicate(buf: Buffer, o: number, pid: number, batch: number): boolean {
    if (this.ccBatch[pid] !== batch) return this.ccFingerprint[pid] === fingerprint(buf, o);
    const prev = this.ccOff[pid];
    if (buf[prev + 3] !== buf[o + 3]) return false;
    let from = 4;
    if ((buf[o + 3] & 0x20) !== 0) {
      if (buf[prev + 4] !== buf[o + 4] || buf[prev + 5] !== buf[o + 5]) return false;
      from = (buf[o + 5] & 0x10) !== 0 ? 12 : 6; // skip program_clock_reference
    }
    for (let i = from; i < TS_PACKET_SIZE; i++) if (buf[prev + i] !== buf[o + i]) return false;
    return true;
  }

  // ------------------------------------------------------------ time and PCR

  private advanceTime(nowMs: number): void {
    this.nowMs = nowMs;
    this.counters.streamTimeMs = nowMs;
    this.checkTimers(nowMs);
  }

  /** Stream time of the current packet: last PCR plus bytes since, at the measured rate. */
  private eventTimeMs(byteIndex: number): number {
    if (this.clock !== undefined || this.rateBps === 0) return this.nowMs;
    return this.nowMs + ((byteIndex - this.lastPcrByte) * 8000) / this.rateBps;
  }

  private pcrPacket(buf: Buffer, o: number, byteIndex: number, flags: number): void {
    const pcr = tsPcr27M(buf, o);
    if (pcr < 0) return;
    const c = this.counters;
    c.pcrCount++;
    const last = this.lastPcr27M;
    let rebase = last < 0 || (flags & 0x80) !== 0; // discontinuity_indicator: new time base (§2.4.3.5)
    if (!rebase) {
      let d = pcr - last;
      if (d < 0) d += PCR_WRAP_27M;
      const intervalMs = d / TICKS_PER_MS;
      if (intervalMs > PCR_DISCONTINUITY_MS) {
        c.pcrDiscontinuityErrors++;
        rebase = true;
        // Keep stream time moving by the byte-position estimate across the jump.
        if (this.rateBps > 0) this.pcrUnwrapped27M += ((byteIndex - this.lastPcrByte) * 8 * 27_000_000) / this.rateBps;
      } else {
        if (intervalMs > c.pcrIntervalMaxMs) c.pcrIntervalMaxMs = intervalMs;
        if (intervalMs > PCR_REPETITION_MAX_MS) c.pcrRepetitionErrors++;
        this.pcrUnwrapped27M += d;
        const span = this.pcrUnwrapped27M - this.rateBasePcr27M;
        if (span >= RATE_MIN_SPAN_27M) {
          if (this.rateBps > 0) {
            const predicted = ((byteIndex - this.lastPcrByte) * 8 * 27_000_000) / this.rateBps;
            const jitterNs = (Math.abs(d - predicted) * 1000) / 27;
            if (jitterNs > c.pcrJitterMaxNs) c.pcrJitterMaxNs = jitterNs;
            if (jitterNs > PCR_ACCURACY_NS) c.pcrAccuracyErrors++;
          }
          this.rateBps = ((byteIndex - this.rateBaseByte) * 8 * 27_000_000) / span;
          c.bitrateBps = Math.round(this.rateBps);
        }
      }
    }
    if (rebase) {
      this.rateBasePcr27M = this.pcrUnwrapped27M;
      this.rateBaseByte = byteIndex;
    }
    this.lastPcr27M = pcr;
    this.lastPcrByte = byteIndex;
    if (this.clock === undefined) this.advanceTime(this.pcrUnwrapped27M / TICKS_PER_MS);
    if (this.listener?.pcr !== undefined) this.listener.pcr(pcr, byteIndex);
  }

  /** TR 101 290 1.3, 1.5, 1.6: intervals checked as stream time advances. */
  private checkTimers(now: number): void {
    const c = this.counters;
    if (Number.isNaN(this.patLastMs)) this.patLastMs = now;
    else if (!this.patLate && now - this.patLastMs > PSI_INTERVAL_MAX_MS) {
      c.patErrors++;
      this.patLate = true;
    }
    for (const s of this.pmtStates) {
      if (Number.isNaN(s.lastMs)) s.lastMs = now;
      else if (!s.late && now - s.lastMs > PSI_INTERVAL_MAX_MS) {
        c.pmtErrors++;
        s.late = true;
      }
    }
    const pmt = this.pmt;
    if (pmt === null) return;
    const lastSeenMs = this.lastSeenMs;
    for (const s of pmt.streams) {
      const pid = s.elementaryPid;
      const seen = lastSeenMs[pid];
      if (Number.isNaN(seen)) lastSeenMs[pid] = now; // observation starts now
      else if (now - seen <= this.pidTimeoutMs) this.pidLate[pid] = 0;
      else if (this.pidLate[pid] === 0) {
        c.pidErrors++;
        this.pidLate[pid] = 1;
      }
    }
  }

  // ------------------------------------------------------------ video

  private videoPacket(buf: Buffer, o: number, byteIndex: number, flags: number): void {
    const end = o + TS_PACKET_SIZE;
    let p: number;
    const afc = (buf[o + 3] >> 4) & 0x03;
    if ((afc & 0x01) === 0) return; // no payload
    p = afc === 1 ? o + 4 : o + 5 + buf[o + 4];
    if (p >= end) return;
    if ((buf[o + 1] & 0x40) !== 0) {
      this.finishAccessUnit();
      this.auState = AuState.HEADER;
      this.auStartByte = byteIndex;
      this.auRai = (flags & 0x40) !== 0;
      if (this.auRai) this.counters.randomAccessIndicators++;
      this.auPts90k = -1;
      this.auSkip = 0;
      this.pesHeaderHave = 0;
      this.nal.reset();
    }
    if (this.auState === AuState.IDLE) return;
    if (this.auState === AuState.HEADER) {
      const h = this.pesHeader;
      let payloadAt: number;
      if (this.pesHeaderHave === 0) {
        const r = pesParseHeader(buf, p, end, h);
        if (r === PesError.TRUNCATED) {
          buf.copy(this.pesHeaderBuf, 0, p, end);
          this.pesHeaderHave = end - p;
          return;
        }
        if (r < 0) return this.pesError();
        payloadAt = p + r;
      } else {
        const before = this.pesHeaderHave;
        const take = Math.min(this.pesHeaderBuf.length - before, end - p);
        buf.copy(this.pesHeaderBuf, before, p, p + take);
        this.pesHeaderHave += take;
        const r = pesParseHeader(this.pesHeaderBuf, 0, this.pesHeaderHave, h);
        if (r === PesError.TRUNCATED && this.pesHeaderHave < this.pesHeaderBuf.length) return;
        if (r < 0) return this.pesError();
        payloadAt = p + (r - before);
      }
      this.auState = AuState.BODY;
      this.onPesHeader();
      if (payloadAt > end) {
        this.auSkip = payloadAt - end; // PES header stuffing continues in the next packet
        return;
      }
      p = payloadAt;
    } else if (this.auSkip > 0) {
      const n = Math.min(this.auSkip, end - p);
      this.auSkip -= n;
      p += n;
    }
    if (p < end && this.nal.result === NalScanResult.MORE) {
      const r = this.nal.scan(buf, p, end);
      if (r !== NalScanResult.MORE) this.onAccessUnitDecided(buf, o, r);
    }
  }

  /**
   * The earliest stream byte a later randomAccess callback can give as its
   * `auStartByteIndex`: the start of the video access unit still being
   * scanned (it may yet prove to be a random access point), else the next
   * byte. What came before it will never start an access unit that is
   * reported later (the HLS segmenter's `settle`).
   */
  get undecidedFrom(): number {
    return this.auState !== AuState.IDLE && this.nal.result === NalScanResult.MORE ? this.auStartByte : this.counters.bytes;
  }

  private pesError(): void {
    this.counters.pesErrors++;
    this.auState = AuState.IDLE;
  }

  private onPesHeader(): void {
    const c = this.counters;
    const h = this.pesHeader;
    c.videoPes++;
    this.auPts90k = h.pts90k;
    if (h.pts90k >= 0) c.lastVideoPts90k = h.pts90k;
    if (h.dts90k >= 0) this.dtsStep(h.dts90k);
    if (this.listener?.accessUnit !== undefined) this.listener.accessUnit(h.pts90k, h.dts90k, this.auStartByte);
  }

  private onAccessUnitDecided(buf: Buffer, o: number, r: NalScanResult): void {
    const c = this.counters;
    if (this.nal.spsLength > 0) this.onSps();
    if (r === NalScanResult.RANDOM_ACCESS) {
      c.keyframes++;
      if (this.auRai) c.randomAccessConfirmed++;
      else c.keyframesWithoutRai++;
      if (this.listener?.randomAccess !== undefined) this.listener.randomAccess(buf, o, this.auPts90k, this.auStartByte);
    } else if (this.auRai) {
      c.randomAccessUnconfirmed++;
    }
  }

  /** An access unit ends without a VCL NAL unit seen: an RAI there was not confirmed. */
  private finishAccessUnit(): void {
    if (this.auState !== AuState.IDLE && this.nal.result === NalScanResult.MORE && this.auRai) {
      this.counters.randomAccessUnconfirmed++;
    }
  }

  // ------------------------------------------------------------ format

  /**
   * The access unit just decided carried an SPS (an IDR's, in practice; an
   * SPS before a non-IDR I picture counts too). Parse it only when its bytes
   * differ from the last SPS: one byte compare per SPS otherwise.
   */
  private onSps(): void {
    const nal = this.nal;
    const n = nal.spsLength;
    const bytes = nal.spsBytes;
    const last = this.spsLast;
    if (n === this.spsLastLength) {
      let i = 0;
      while (i < n && bytes[i] === last[i]) i++;
      if (i === n) return;
    }
    for (let i = 0; i < n; i++) last[i] = bytes[i];
    this.spsLastLength = n;
    const f = this.videoStreamType === VideoStreamType.H265 ? parseH265Sps(bytes, 0, n) : parseH264Sps(bytes, 0, n);
    if (f === null) {
      this.counters.spsErrors++;
      return;
    }
    if (f.fps === null) this.setFpsFromDts(f);
    this.videoFormat = f;
    if (this.listener?.formatChanged !== undefined) this.listener.formatChanged();
  }

  /** One video DTS (= PTS when only a PTS is sent): keep the step from the previous one. */
  private dtsStep(dts90k: number): void {
    const prev = this.lastDts90k;
    this.lastDts90k = dts90k;
    if (prev < 0) return;
    let d = dts90k - prev;
    if (d < 0) d += PTS_WRAP_90K;
    if (d === 0 || d > FPS_DTS_STEP_MAX_90K) return;
    this.dtsSteps[this.dtsStepCount % FPS_DTS_STEPS] = d;
    this.dtsStepCount++;
    const f = this.videoFormat;
    if (f !== null && f.fps === null && this.dtsStepCount >= FPS_DTS_STEPS_MIN) {
      const g = { ...f };
      if (this.setFpsFromDts(g)) {
        this.videoFormat = g;
        if (this.listener?.formatChanged !== undefined) this.listener.formatChanged();
      }
    }
  }

  /**
   * fps of a format whose SPS has no VUI timing: the median DTS step rejects
   * outliers (a dropped frame, a splice); the steps within a tick of it are
   * averaged, because 90 kHz cannot hold every period (59.94 Hz is 1501.5
   * ticks: steps alternate 1501, 1502). DTS, not PTS: with B-frames PTS
   * steps in decode order are not frame periods. False with too few steps.
   */
  private setFpsFromDts(f: VideoFormat): boolean {
    const n = Math.min(this.dtsStepCount, FPS_DTS_STEPS);
    if (n < FPS_DTS_STEPS_MIN) return false;
    const steps = Array.from(this.dtsSteps.subarray(0, n)).sort((a, b) => a - b);
    const median = steps[n >> 1];
    let sum = 0;
    let count = 0;
    for (const d of steps) {
      if (Math.abs(d - median) <= 1) {
        sum += d;
        count++;
      }
    }
    const fps = (90_000 * count) / sum;
    let rate: Ratio | null = null;
    for (const c of COMMON_FRAME_RATES) {
      if (Math.abs(fps * c.den - c.num) <= c.num * FRAME_RATE_SNAP) {
        rate = c;
        break;
      }
    }
    rate ??= ratio(Math.round(fps * 1000), 1000);
    if (rate === null) return false;
    f.frameRate = { num: rate.num, den: rate.den };
    f.fps = rate.num / rate.den;
    f.fpsSource = FpsSource.PTS;
    return true;
  }

  /**
   * A PES start on the audio PID: read the frame header after the PES
   * header, in this packet. A PES that does not start with a frame (no
   * data_alignment) is searched for a sync word only while the format is
   * unknown; a header split across packets is left to the next PES.
   */
  private audioPacket(buf: Buffer, o: number): void {
    const end = o + TS_PACKET_SIZE;
    const afc = (buf[o + 3] >> 4) & 0x03;
    if ((afc & 0x01) === 0) return;
    const p = afc === 1 ? o + 4 : o + 5 + buf[o + 4];
    if (p >= end) return;
    const r = pesParseHeader(buf, p, end, this.audioPesHeader);
    if (r < 0) return;
    const out = this.audioScratch;
    let at = p + r;
    if (!this.parseAudioHeader(buf, at, end, out)) {
      if (this.audioFormat !== null) return;
      for (at++; at < end; at++) if (this.parseAudioHeader(buf, at, end, out)) break;
      if (at >= end) return;
    }
    if (this.audioFormat !== null && audioFormatEquals(this.audioFormat, out)) return;
    this.audioFormat = { codec: out.codec, sampleRate: out.sampleRate, channels: out.channels, profile: out.profile };
    if (this.listener?.formatChanged !== undefined) this.listener.formatChanged();
  }

  private parseAudioHeader(buf: Buffer, at: number, end: number, out: AudioFormat): boolean {
    switch (this.audioParser) {
      case AudioParser.ADTS:
        return parseAdtsHeader(buf, at, end, out);
      case AudioParser.MPEG:
        return parseMpegAudioHeader(buf, at, end, out);
      case AudioParser.AC3:
        return parseAc3Header(buf, at, end, out);
      default:
        return false;
    }
  }

  // ------------------------------------------------------------ PSI

  private psiPacket(buf: Buffer, o: number, pid: number, k: number, b3: number): void {
    if ((b3 & 0xc0) !== 0) {
      // PSI must not be scrambled: TR 101 290 1.3 / 1.5.
      if (k === PidKind.PAT) this.counters.patErrors++;
      else if (k === PidKind.PMT) this.counters.pmtErrors++;
      return;
    }
    if (k === PidKind.PAT) this.patAssembler.push(buf, o);
    else if (k === PidKind.SDT) this.sdtAssembler.push(buf, o);
    else {
      const s = this.pmtState(pid);
      if (s !== undefined) s.assembler.push(buf, o);
    }
  }

  private pmtState(pid: number): PmtState | undefined {
    const states = this.pmtStates;
    for (let i = 0; i < states.length; i++) if (states[i].pid === pid) return states[i];
    return undefined;
  }

  /** Called by the assemblers with each whole, CRC-checked section. */
  psiSection(pid: number, buf: Buffer, off: number, len: number): void {
    const tableId = buf[off];
    if (pid === TsPid.PAT) {
      if (tableId !== TableId.PAT) {
        this.counters.patErrors++; // TR 101 290 1.3: table_id other than 0x00 on PID 0
        return;
      }
      const now = this.eventTimeMs(this.currentByte);
      if (!this.patLate && now - this.patLastMs > PSI_INTERVAL_MAX_MS) this.counters.patErrors++;
      this.patLastMs = now;
      this.patLate = false;
      this.lastPatByte = this.currentByte;
      if (!psiCurrentNextIndicator(buf, off) || psiVersionNumber(buf, off) === this.patVersion) return;
      const pat = parsePat(buf, off, len);
      if (pat === null) return;
      if (this.pat !== null && psiSectionNumber(buf, off) > 0 && this.pat.versionNumber === pat.versionNumber) {
        pat.programs = this.pat.programs.concat(pat.programs); // later section of a multi-section PAT
      }
      if (psiSectionNumber(buf, off) === psiLastSectionNumber(buf, off)) this.patVersion = pat.versionNumber;
      this.applyPat(pat, now);
      return;
    }
    if (pid === TsPid.SDT) {
      if (tableId === TableId.SDT_ACTUAL) this.onSdtSection(buf, off, len);
      return;
    }
    const s = this.pmtState(pid);
    if (s === undefined || tableId !== TableId.PMT) return;
    const now = this.eventTimeMs(this.currentByte);
    if (!s.late && now - s.lastMs > PSI_INTERVAL_MAX_MS) this.counters.pmtErrors++;
    s.lastMs = now;
    s.late = false;
    if (s.programNumber === this.programNumber) this.lastPmtByte = this.currentByte;
    if (!psiCurrentNextIndicator(buf, off) || psiVersionNumber(buf, off) === s.version) return;
    const pmt = parsePmt(buf, off, len);
    if (pmt === null || pmt.programNumber !== s.programNumber) return;
    s.version = pmt.versionNumber;
    if (s.programNumber === this.programNumber) this.applyPmt(pmt, now);
  }

  private applyPat(pat: Pat, now: number): void {
    this.pat = pat;
    const kind = this.kind;
    for (const s of this.pmtStates) if (kind[s.pid] === PidKind.PMT) kind[s.pid] = PidKind.NONE;
    const old = this.pmtStates;
    this.pmtStates = [];
    let selected: { programNumber: number; programMapPid: number } | undefined;
    for (const prog of pat.programs) {
      const prev = old.find((s) => s.pid === prog.programMapPid && s.programNumber === prog.programNumber);
      this.pmtStates.push(
        prev ?? {
          pid: prog.programMapPid,
          programNumber: prog.programNumber,
          assembler: new PsiSectionAssembler(prog.programMapPid, this, this.counters),
          version: -1,
          lastMs: now,
          late: false,
        },
      );
      kind[prog.programMapPid] = PidKind.PMT;
      if (selected === undefined && (this.wantedProgram < 0 || prog.programNumber === this.wantedProgram)) selected = prog;
    }
    const programNumber = selected !== undefined ? selected.programNumber : -1;
    const pmtPid = selected !== undefined ? selected.programMapPid : -1;
    if (programNumber !== this.programNumber || pmtPid !== this.pmtPid) {
      this.programNumber = programNumber;
      this.pmtPid = pmtPid;
      this.clearStreams();
      this.pmt = null;
    }
    if (this.listener?.psiChanged !== undefined) this.listener.psiChanged();
  }

  private clearStreams(): void {
    const kind = this.kind;
    if (this.pmt !== null) {
      for (const s of this.pmt.streams) {
        const k = kind[s.elementaryPid];
        if (k === PidKind.VIDEO || k === PidKind.ES) kind[s.elementaryPid] = PidKind.NONE;
      }
    }
    this.videoPid = -1;
    this.videoStreamType = -1;
    this.audioPid = -1;
    this.audioParser = AudioParser.NONE;
    this.pcrPid = -1;
    this.auState = AuState.IDLE;
  }

  private applyPmt(pmt: Pmt, now: number): void {
    const oldVideoPid = this.videoPid;
    const oldVideoType = this.videoStreamType;
    const oldAudioPid = this.audioPid;
    const oldAudioParser = this.audioParser;
    this.clearStreams();
    this.pmt = pmt;
    const kind = this.kind;
    for (const s of pmt.streams) {
      const pid = s.elementaryPid;
      if (kind[pid] !== PidKind.NONE) continue; // never let an ES entry shadow PAT/PMT/SDT
      const isVideo = s.streamType === VideoStreamType.H264 || s.streamType === VideoStreamType.H265;
      const audioParser = isVideo ? AudioParser.NONE : audioParserFor(s);
      if (isVideo && this.videoPid < 0) {
        this.videoPid = pid;
        this.videoStreamType = s.streamType;
        kind[pid] = PidKind.VIDEO;
      } else if (audioParser !== AudioParser.NONE && this.audioPid < 0) {
        this.audioPid = pid;
        this.audioParser = audioParser;
        kind[pid] = PidKind.AUDIO;
      } else {
        kind[pid] = PidKind.ES;
      }
      this.lastSeenMs[pid] = now;
      this.pidLate[pid] = 0;
    }
    if (this.pcrPid !== pmt.pcrPid) {
      this.lastPcr27M = -1;
    }
    this.pcrPid = pmt.pcrPid;
    this.nal.reset(this.videoStreamType);
    if (this.videoPid !== oldVideoPid || this.videoStreamType !== oldVideoType) {
      this.auState = AuState.IDLE;
      this.videoFormat = null;
      this.spsLastLength = 0;
      this.dtsStepCount = 0;
      this.lastDts90k = -1;
    }
    if (this.audioPid !== oldAudioPid || this.audioParser !== oldAudioParser) this.audioFormat = null;
    this.updateServiceName();
    if (this.listener?.psiChanged !== undefined) this.listener.psiChanged();
  }

  private sdtServices = new Map<number, { serviceName: string; providerName: string }>();

  private onSdtSection(buf: Buffer, off: number, len: number): void {
    if (!psiCurrentNextIndicator(buf, off)) return;
    const version = psiVersionNumber(buf, off);
    const section = psiSectionNumber(buf, off);
    if (version !== this.sdtVersion) {
      this.sdtVersion = version;
      this.sdtSectionsSeen.fill(0);
      this.sdtServices.clear();
    } else if (this.sdtSectionsSeen[section] !== 0) return;
    const sdt = parseSdt(buf, off, len);
    if (sdt === null) return;
    this.sdtSectionsSeen[section] = 1;
    for (const s of sdt.services) this.sdtServices.set(s.serviceId, { serviceName: s.serviceName, providerName: s.providerName });
    if (this.updateServiceName() && this.listener?.psiChanged !== undefined) this.listener.psiChanged();
  }

  /** SDT service_id equals the PAT/PMT program_number (EN 300 468 §5.2.3). */
  private updateServiceName(): boolean {
    const s = this.sdtServices.get(this.programNumber);
    if (s === undefined || (s.serviceName === this.serviceName && s.providerName === this.providerName)) return false;
    this.serviceName = s.serviceName;
    this.providerName = s.providerName;
    return true;
  }
}

/** stream_type names for logs, ISO/IEC 13818-1 Table 2-34 (the common ones). */
export function streamTypeName(streamType: number): string {
  switch (streamType) {
    case 0x01:
      return 'MPEG-1 video';
    case 0x02:
      return 'MPEG-2 video';
    case 0x03:
      return 'MPEG-1 audio';
    case 0x04:
      return 'MPEG-2 audio';
    case 0x06:
      return 'PES private data';
    case 0x0f:
      return 'AAC ADTS';
    case 0x11:
      return 'AAC LATM';
    case 0x15:
      return 'ID3 metadata';
    case 0x1b:
      return 'H.264';
    case 0x24:
      return 'H.265';
    case 0x81:
      return 'AC-3';
    case 0x87:
      return 'E-AC-3';
    default:
      return `stream_type 0x${streamType.toString(16).padStart(2, '0')}`;
  }
}

/** The audio header parser for a PMT entry; AudioParser.NONE for what is not audio we read. */
function audioParserFor(s: PmtStream): number {
  switch (s.streamType) {
    case 0x03: // ISO/IEC 11172-3 audio
    case 0x04: // ISO/IEC 13818-3 audio
      return AudioParser.MPEG;
    case 0x0f: // ISO/IEC 13818-7 audio with ADTS transport syntax
      return AudioParser.ADTS;
    case 0x81: // ATSC A/52 AC-3
    case 0x87: // ATSC A/52 E-AC-3
      return AudioParser.AC3;
    case 0x06: // PES private data: DVB carries (E-)AC-3 here, told by a descriptor
      return hasAc3Descriptor(s.esInfo) ? AudioParser.AC3 : AudioParser.NONE;
    default:
      return AudioParser.NONE; // LATM (0x11) and others: no parser
  }
}

/** An AC-3 / enhanced AC-3 descriptor, or a registration_descriptor for 'AC-3' / 'EAC3', in ES_info. */
function hasAc3Descriptor(esInfo: Uint8Array): boolean {
  for (let p = 0; p + 2 <= esInfo.length; p += 2 + esInfo[p + 1]) {
    const tag = esInfo[p];
    if (tag === DESCRIPTOR_AC3 || tag === DESCRIPTOR_ENHANCED_AC3) return true;
    if (tag === DESCRIPTOR_REGISTRATION && esInfo[p + 1] >= 4 && p + 6 <= esInfo.length) {
      const id = ((esInfo[p + 2] << 24) | (esInfo[p + 3] << 16) | (esInfo[p + 4] << 8) | esInfo[p + 5]) >>> 0;
      if (id === FORMAT_ID_AC3 || id === FORMAT_ID_EAC3) return true;
    }
  }
  return false;
}

/**
 * A sampled fingerprint of a packet's bytes outside the PCR field, to
 * recognise a duplicate whose original arrived in an earlier writePackets()
 * call (and so can no longer be compared byte by byte).
 */
function fingerprint(buf: Buffer, o: number): number {
  return (
    ((buf[o + 3] << 24) | (buf[o + 4] << 16) | (buf[o + 40] << 8) | buf[o + 187]) ^
    ((buf[o + 70] << 24) | (buf[o + 100] << 16) | (buf[o + 130] << 8) | buf[o + 160]) ^
    ((buf[o + 20] << 24) | (buf[o + 186] << 16) | (buf[o + 185] << 8) | buf[o + 184])
  );
}
