/**
 * A stable output program over changing inputs (input redundancy, the slate).
 * Whatever input is active, the receivers see one program that does not
 * move: the same PMT PID and elementary-stream PIDs, PAT/PMT of our own
 * (whose version changes only when the streams really do), continuity
 * counters that run on across a switch, and discontinuity_indicator on the
 * first PCR after it (ISO/IEC 13818-1 §2.4.3.5: a new time base). Set-top
 * boxes then ride through a switch like a splice, instead of losing the
 * program (PIDs gone) or reporting CC errors.
 *
 * Output PID plan: each elementary stream is keyed by its role (video,
 * audio, other), its rank among the input's streams of that role, and its
 * stream_type; the first input's streams take `firstEsPid` (0x100), 0x101…
 * in PMT order, and a later input with the same key gets the same PID — a
 * backup encoder in the same format changes nothing a receiver can see. A
 * stream of another kind (H.265 where H.264 was) gets a PID of its own: a
 * decoder then starts afresh on a new PID rather than being fed another codec
 * on the old one (ffmpeg's demuxer keeps the first codec of a PID). PMT on
 * `pmtPid` (0x1000), program `programNumber` (1). The input's
 * PAT and PMT packets are replaced in place by ours (same cadence, no packet
 * added); at a switch ours go first. Packets of PIDs outside the plan are
 * dropped and counted. Null packets pass (they carry a constant rate).
 *
 * Pure and synchronous; one copy per run (the PID and CC rewrite needs our
 * own bytes), handed on borrowed.
 */
import { ContinuityRestamper } from './continuity.js';
import { TS_PACKET_SIZE, TsPid, tsPayloadUnitStartIndicator, tsPid } from './packet.js';
import { dvbStringBytes, psiPacketCount, psiPacketize, psiWritePat, psiWritePmt, psiWriteSdt, type Pmt } from './psi.js';
import type { TsPacketSink } from './sink.js';

/** ISO/IEC 13818-1 Table 2-34 and ETSI EN 300 468 practice. */
const AUDIO_STREAM_TYPES = new Set([0x03, 0x04, 0x0f, 0x11, 0x81, 0x87]);
const VIDEO_STREAM_TYPES = new Set([0x01, 0x02, 0x10, 0x1b, 0x24]);
const PID_COUNT = 8192;
const PCR_ONLY_PID_OFFSET = 0x1f;

export interface RemuxOptions {
  programNumber?: number;
  pmtPid?: number;
  transportStreamId?: number;
  firstEsPid?: number;
  /**
   * The service as the guide should show it: our own SDT (EN 300 468) with
   * this name, for `programNumber`, in place of the input's — whose
   * service_id is the encoder's, not ours, and whose name is whatever the
   * encoder was set to. Without it the input's SDT passes as it is.
   */
  service?: { name: string; provider?: string };
}

/** ETSI TS 101 162: original_network_id 0xFF01 is for private temporary use (a network of our own). */
const PRIVATE_ONID = 0xff01;
/** service_type 0x01: digital television (EN 300 468 Table 87), what every receiver lists. */
const SERVICE_TYPE_TV = 0x01;
const SERVICE_NAME_MAX = 64;

export class OutputRemux implements TsPacketSink {
  readonly counters = {
    switches: 0,
    /** Our PMT changed (another input with other streams): its version moved on. */
    pmtVersions: 0,
    /** Packets of PIDs outside the plan (or before the input's PMT is known). */
    packetsDropped: 0,
    psiReplaced: 0,
  };
  private readonly restamper: ContinuityRestamper;
  private readonly map = new Int16Array(PID_COUNT).fill(-1);
  private readonly programNumber: number;
  private readonly pmtPid: number;
  private readonly tsid: number;
  private readonly firstEsPid: number;
  /** role:rank:stream_type → output PID, for good. */
  private readonly pidOf = new Map<string, number>();
  private nextPid: number;
  private inPmtPid = -1;
  private pmtVersion = 0;
  private pmtKey = '';
  private pmtSection: Pmt | null = null;
  /** Our PAT (one packet) and PMT (as many packets as it takes). */
  private readonly patPacket = Buffer.alloc(TS_PACKET_SIZE);
  private pmtPackets = Buffer.alloc(TS_PACKET_SIZE);
  private scratch = Buffer.alloc(64 * TS_PACKET_SIZE);
  private started = false;
  /** Our PAT/PMT packets are copies of one template: they get running counters here (the restamper then offsets them like any PID). */
  private patCc = 0;
  private pmtCc = 0;
  /** Our SDT (one packet), or null to pass the input's. */
  private readonly sdtPacket: Buffer | null = null;
  private sdtCc = 0;

  constructor(
    out: TsPacketSink,
    o: RemuxOptions = {},
  ) {
    this.restamper = new ContinuityRestamper((chunk) => out.writePackets(chunk, 0, chunk.length / TS_PACKET_SIZE));
    this.programNumber = o.programNumber ?? 1;
    this.pmtPid = o.pmtPid ?? 0x1000;
    this.tsid = o.transportStreamId ?? 1;
    this.firstEsPid = o.firstEsPid ?? 0x100;
    this.nextPid = this.firstEsPid;
    this.map[TsPid.NULL] = TsPid.NULL;
    this.buildPat();
    if (o.service) {
      const sec = Buffer.alloc(256);
      const len = psiWriteSdt(sec, 0, {
        transportStreamId: this.tsid,
        originalNetworkId: PRIVATE_ONID,
        versionNumber: 0,
        serviceId: this.programNumber,
        serviceType: SERVICE_TYPE_TV,
        provider: dvbStringBytes(o.service.provider ?? 'Roomcast', 32),
        name: dvbStringBytes(o.service.name, SERVICE_NAME_MAX),
      });
      this.sdtPacket = Buffer.alloc(TS_PACKET_SIZE);
      psiPacketize(sec, 0, len, TsPid.SDT, 0, this.sdtPacket, 0);
    }
  }

  /** The PMT we send now (null before the first input's PMT). */
  get outputPmt(): Pmt | null {
    return this.pmtSection;
  }

  /**
   * From now on the packets come from another input, whose PMT (on
   * `pmtPid`) is `pmt` — or null until it is known ({@link updateInput}).
   * Our PAT and PMT go out first; continuity runs on; the next PCR says
   * discontinuity.
   */
  switchInput(pmt: Pmt | null, pmtPid: number): void {
    this.counters.switches++;
    this.applyPmt(pmt, pmtPid);
    this.started = true;
    this.restamper.start(this.psi());
  }

  /** The active input's PMT changed (or became known): remap, and tell the receivers if our PMT changed. */
  updateInput(pmt: Pmt, pmtPid: number): void {
    const changed = this.applyPmt(pmt, pmtPid);
    if (changed && this.started) {
      const psi = this.psi();
      psi.copy(this.ensureScratch(psi.length / TS_PACKET_SIZE));
      this.restamper.writeInPlace(this.scratch, 0, psi.length / TS_PACKET_SIZE);
    }
  }

  /**
   * Packets of the active input (borrowed). The run is copied with one call
   * (a copy per packet costs a view each in Node), then rewritten in place:
   * PIDs onto the plan, our PAT/PMT over theirs; packets outside the plan
   * are squeezed out.
   */
  writePackets(buf: Buffer, off: number, count: number): void {
    if (!this.started) {
      this.counters.packetsDropped += count;
      return;
    }
    const pmtCount = this.pmtPackets.length / TS_PACKET_SIZE;
    // Room for a PMT of several packets in place of each of theirs (rare).
    const out = this.ensureScratch(count + (pmtCount > 1 ? count * (pmtCount - 1) : 0));
    buf.copy(out, 0, off, off + count * TS_PACKET_SIZE);
    const map = this.map;
    let n = 0; // packets kept (out[0 .. n) final)
    for (let i = 0; i < count; i++) {
      const s = i * TS_PACKET_SIZE;
      const pid = ((out[s + 1] & 0x1f) << 8) | out[s + 2];
      let d = n * TS_PACKET_SIZE;
      if (pid === TsPid.PAT || pid === this.inPmtPid) {
        // Ours instead (a continuation of theirs is dropped: ours is whole).
        if ((out[s + 1] & 0x40) === 0 || (pid !== TsPid.PAT && this.pmtSection === null)) continue;
        this.counters.psiReplaced++;
        if (pid === TsPid.PAT) {
          this.patPacket.copy(out, d);
          out[d + 3] = (out[d + 3] & 0xf0) | this.patCc;
          this.patCc = (this.patCc + 1) & 0x0f;
          n++;
        } else {
          if (pmtCount > 1 && i + 1 < count) {
            // Make room: move the rest of the run up (only for a PMT of several packets).
            out.copyWithin(d + pmtCount * TS_PACKET_SIZE, s + TS_PACKET_SIZE, count * TS_PACKET_SIZE);
            // The rest now starts (pmtCount − 1) packets later than before.
            this.shifted(out, i, count, pmtCount - 1, n);
            return;
          }
          this.pmtPackets.copy(out, d);
          for (let k = 0; k < pmtCount; k++, d += TS_PACKET_SIZE) {
            out[d + 3] = (out[d + 3] & 0xf0) | this.pmtCc;
            this.pmtCc = (this.pmtCc + 1) & 0x0f;
          }
          n += pmtCount;
        }
        continue;
      }
      if (pid === TsPid.SDT && this.sdtPacket) {
        // Ours in place of the first packet of each of their SDT sections (at their cadence); the rest of theirs is dropped.
        if ((out[s + 1] & 0x40) === 0) continue;
        this.counters.psiReplaced++;
        this.sdtPacket.copy(out, d);
        out[d + 3] = (out[d + 3] & 0xf0) | this.sdtCc;
        this.sdtCc = (this.sdtCc + 1) & 0x0f;
        n++;
        continue;
      }
      const outPid = map[pid];
      if (outPid < 0) {
        this.counters.packetsDropped++;
        continue;
      }
      if (d !== s) out.copyWithin(d, s, s + TS_PACKET_SIZE);
      out[d + 1] = (out[d + 1] & 0xe0) | ((outPid >> 8) & 0x1f);
      out[d + 2] = outPid & 0xff;
      n++;
    }
    if (n > 0) this.restamper.writeInPlace(out, 0, n);
  }

  /**
   * The rare path: a multi-packet PMT of ours replaces theirs at packet `i`
   * of the run; hand on what is done so far, then the rest of the run again.
   */
  private shifted(out: Buffer, i: number, count: number, _extra: number, n: number): void {
    const rest = Buffer.from(out.subarray(n * TS_PACKET_SIZE + this.pmtPackets.length, n * TS_PACKET_SIZE + this.pmtPackets.length + (count - i - 1) * TS_PACKET_SIZE));
    let d = n * TS_PACKET_SIZE;
    this.pmtPackets.copy(out, d);
    const pmtCount = this.pmtPackets.length / TS_PACKET_SIZE;
    for (let k = 0; k < pmtCount; k++, d += TS_PACKET_SIZE) {
      out[d + 3] = (out[d + 3] & 0xf0) | this.pmtCc;
      this.pmtCc = (this.pmtCc + 1) & 0x0f;
    }
    this.counters.psiReplaced++;
    this.restamper.writeInPlace(out, 0, n + pmtCount);
    if (rest.length > 0) this.writePackets(rest, 0, rest.length / TS_PACKET_SIZE);
  }

  private ensureScratch(count: number): Buffer {
    if (this.scratch.length < count * TS_PACKET_SIZE) this.scratch = Buffer.alloc(count * TS_PACKET_SIZE);
    return this.scratch;
  }

  /** Our PAT (and PMT, once known), with the running counters of their PIDs. */
  private psi(): Buffer {
    const b = this.pmtSection ? Buffer.concat([this.patPacket, this.pmtPackets]) : Buffer.from(this.patPacket);
    b[3] = (b[3] & 0xf0) | this.patCc;
    this.patCc = (this.patCc + 1) & 0x0f;
    for (let o = TS_PACKET_SIZE; o < b.length; o += TS_PACKET_SIZE) {
      b[o + 3] = (b[o + 3] & 0xf0) | this.pmtCc;
      this.pmtCc = (this.pmtCc + 1) & 0x0f;
    }
    if (!this.sdtPacket) return b;
    // The service's name goes with the PAT and PMT at a switch: a receiver that starts there has it at once.
    const sdt = Buffer.from(this.sdtPacket);
    sdt[3] = (sdt[3] & 0xf0) | this.sdtCc;
    this.sdtCc = (this.sdtCc + 1) & 0x0f;
    return Buffer.concat([b, sdt]);
  }

  private buildPat(): void {
    const sec = Buffer.alloc(64);
    const len = psiWritePat(sec, 0, this.tsid, 0, [{ programNumber: this.programNumber, programMapPid: this.pmtPid }]);
    psiPacketize(sec, 0, len, TsPid.PAT, 0, this.patPacket, 0);
  }

  /** Map the input's PIDs onto the plan; rebuild our PMT. True when our PMT changed. */
  private applyPmt(pmt: Pmt | null, pmtPid: number): boolean {
    const map = this.map;
    map.fill(-1);
    map[TsPid.NULL] = TsPid.NULL;
    map[TsPid.SDT] = TsPid.SDT; // service names pass (EN 300 468); their CC is ours too
    this.inPmtPid = pmt ? pmtPid : -1;
    if (!pmt) return false;
    const streams: Pmt['streams'] = [];
    const rank = { video: 0, audio: 0, other: 0 };
    for (const s of pmt.streams) {
      if (map[s.elementaryPid] >= 0 || s.elementaryPid === TsPid.NULL) continue; // a PID listed twice
      const role = VIDEO_STREAM_TYPES.has(s.streamType) ? 'video' : AUDIO_STREAM_TYPES.has(s.streamType) ? 'audio' : 'other';
      const key = `${role}:${rank[role]++}:${s.streamType}`;
      let out = this.pidOf.get(key);
      if (out === undefined) {
        if (this.nextPid >= this.pmtPid || this.nextPid >= 0x1ffe) continue; // out of PIDs: dropped (counted per packet)
        out = this.nextPid++;
        this.pidOf.set(key, out);
      }
      map[s.elementaryPid] = out;
      streams.push({ streamType: s.streamType, elementaryPid: out, esInfo: s.esInfo });
    }
    let pcrPid = map[pmt.pcrPid];
    if (pcrPid < 0 && pmt.pcrPid !== TsPid.NULL) {
      // A PCR on a PID of its own (no ES): it gets one of ours, always the same.
      pcrPid = this.pidOf.get('pcr') ?? this.firstEsPid + PCR_ONLY_PID_OFFSET;
      this.pidOf.set('pcr', pcrPid);
      map[pmt.pcrPid] = pcrPid;
    }
    if (pcrPid < 0) pcrPid = TsPid.NULL;
    const key = `${pcrPid}|${Buffer.from(pmt.programInfo).toString('hex')}|${streams.map((s) => `${s.streamType}:${s.elementaryPid}:${Buffer.from(s.esInfo).toString('hex')}`).join(',')}`;
    if (key === this.pmtKey) return false;
    if (this.pmtKey !== '') {
      this.pmtVersion = (this.pmtVersion + 1) % 32;
      this.counters.pmtVersions++;
    }
    this.pmtKey = key;
    this.pmtSection = { programNumber: this.programNumber, versionNumber: this.pmtVersion, currentNextIndicator: true, pcrPid, programInfo: pmt.programInfo, streams };
    const sec = Buffer.alloc(1024);
    const len = psiWritePmt(sec, 0, this.pmtSection);
    const packets = Buffer.alloc(psiPacketCount(len) * TS_PACKET_SIZE);
    psiPacketize(sec, 0, len, this.pmtPid, 0, packets, 0);
    this.pmtPackets = packets;
    return true;
  }
}
