/**
 * Program Specific Information: section assembly across TS packets, and the
 * tables a headend needs — PAT and PMT (ISO/IEC 13818-1 §2.4.4) and the SDT
 * service names (ETSI EN 300 468 §5.2.3). Writers for PAT and PMT, packed
 * into TS packets, for PID remapping and the slate.
 *
 * Section header, §2.4.4.10 (long form, section_syntax_indicator = 1):
 *   byte 0     table_id
 *   byte 1..2  section_syntax_indicator(1) '0'(1) reserved(2) section_length(12)
 *   byte 3..4  table_id_extension (transport_stream_id / program_number / ...)
 *   byte 5     reserved(2) version_number(5) current_next_indicator(1)
 *   byte 6     section_number
 *   byte 7     last_section_number
 *   ...        table body
 *   last 4     CRC_32 (Annex A)
 *
 * Tables are parsed into objects only when a section's version changes (a
 * rare event); the per-packet path copies nothing unless a section spans
 * packets.
 */
import { crc32Mpeg2 } from './crc32.js';
import { TS_PACKET_SIZE, TS_SYNC_BYTE, tsPayloadOffset } from './packet.js';

export const TableId = {
  PAT: 0x00,
  CAT: 0x01,
  PMT: 0x02,
  /** SDT actual transport stream, EN 300 468 Table 2. */
  SDT_ACTUAL: 0x42,
  SDT_OTHER: 0x46,
} as const;

/** Largest section: 4096 bytes for private sections (§2.4.4.11); PAT/PMT/SDT stay ≤ 1024. */
export const PSI_SECTION_MAX = 4096;

export function psiTableId(buf: Uint8Array, off: number): number {
  return buf[off];
}
export function psiSectionSyntaxIndicator(buf: Uint8Array, off: number): boolean {
  return (buf[off + 1] & 0x80) !== 0;
}
/** section_length: bytes after this field, CRC included. */
export function psiSectionLength(buf: Uint8Array, off: number): number {
  return ((buf[off + 1] & 0x0f) << 8) | buf[off + 2];
}
export function psiTableIdExtension(buf: Uint8Array, off: number): number {
  return (buf[off + 3] << 8) | buf[off + 4];
}
export function psiVersionNumber(buf: Uint8Array, off: number): number {
  return (buf[off + 5] >> 1) & 0x1f;
}
export function psiCurrentNextIndicator(buf: Uint8Array, off: number): boolean {
  return (buf[off + 5] & 0x01) !== 0;
}
export function psiSectionNumber(buf: Uint8Array, off: number): number {
  return buf[off + 6];
}
export function psiLastSectionNumber(buf: Uint8Array, off: number): number {
  return buf[off + 7];
}

/** Receives whole sections from a {@link PsiSectionAssembler}. */
export interface PsiSectionSink {
  /**
   * One whole section at `buf[off .. off + len)`, CRC already checked when
   * section_syntax_indicator is 1. Ownership: borrowed.
   */
  psiSection(pid: number, buf: Buffer, off: number, len: number): void;
}

/** Counters of {@link PsiSectionAssembler}. */
export interface PsiCounters {
  /** Whole sections delivered. */
  psiSections: number;
  /** TR 101 290 2.2 CRC_error. */
  crcErrors: number;
  /** section_length too large, pointer_field out of range, or a section cut off by a lost packet. */
  psiMalformed: number;
}

/**
 * Reassembles PSI sections of one PID from its TS packets (§2.4.4.1-2):
 * pointer_field on payload_unit_start, sections spanning packets, several
 * sections in one packet, 0xFF stuffing after the last section. Sections that
 * lie inside one packet are handed over in place; only spanning sections are
 * copied into a preallocated buffer.
 */
export class PsiSectionAssembler {
  readonly pid: number;
  private sink: PsiSectionSink;
  /** Holds a section that spans packets; bounded by PSI_SECTION_MAX. */
  private section = Buffer.alloc(PSI_SECTION_MAX);
  /** Bytes of the spanning section held so far; 0 when none in progress. */
  private have = 0;
  /** Total length of the section in progress, -1 until its 3-byte header is in. */
  private need = -1;
  private lastCc = -1;

  /** May be shared by several assemblers (the inspector passes its own counters). */
  readonly counters: PsiCounters;

  constructor(pid: number, sink: PsiSectionSink, counters: PsiCounters = { psiSections: 0, crcErrors: 0, psiMalformed: 0 }) {
    this.pid = pid;
    this.sink = sink;
    this.counters = counters;
  }

  reset(): void {
    this.have = 0;
    this.need = -1;
    this.lastCc = -1;
  }

  /** Feed one TS packet of this PID at `buf[off .. off + 188)`. */
  push(buf: Buffer, off: number): void {
    const b3 = buf[off + 3];
    if ((buf[off + 1] & 0x80) !== 0 || (b3 & 0x10) === 0) return; // TEI, or no payload
    // A gap in the CC (§2.4.3.3) cuts the section in progress; duplicates are skipped.
    const cc = b3 & 0x0f;
    if (cc === this.lastCc) return;
    const gap = this.lastCc >= 0 && cc !== ((this.lastCc + 1) & 0x0f);
    this.lastCc = cc;
    if (gap && this.have > 0) {
      this.counters.psiMalformed++;
      this.have = 0;
      this.need = -1;
    }
    let p = tsPayloadOffset(buf, off);
    const end = off + TS_PACKET_SIZE;
    if (p >= end) return;
    if ((buf[off + 1] & 0x40) !== 0) {
      const pointer = buf[p++];
      const tail = p + pointer;
      if (tail > end) {
        this.counters.psiMalformed++;
        this.have = 0;
        this.need = -1;
        return;
      }
      if (this.have > 0) this.append(buf, p, tail);
      if (this.have > 0) {
        // The previous section did not end where pointer_field says the next begins.
        this.counters.psiMalformed++;
        this.have = 0;
        this.need = -1;
      }
      p = tail;
    } else if (this.have === 0) {
      return; // middle of a section whose start we missed
    } else {
      p = this.append(buf, p, end);
    }
    // New sections starting in this packet.
    while (p < end && buf[p] !== 0xff) {
      if (end - p >= 3) {
        const len = 3 + (((buf[p + 1] & 0x0f) << 8) | buf[p + 2]);
        if (len > PSI_SECTION_MAX) {
          this.counters.psiMalformed++;
          return;
        }
        if (p + len <= end) {
          this.deliver(buf, p, len);
          p += len;
          continue;
        }
      }
      this.have = 0;
      this.need = -1;
      this.append(buf, p, end);
      return;
    }
  }

  /** Append `buf[p .. end)` to the spanning section; returns where its bytes stopped. */
  private append(buf: Buffer, p: number, end: number): number {
    const sec = this.section;
    if (this.need < 0) {
      while (this.have < 3 && p < end) sec[this.have++] = buf[p++];
      if (this.have < 3) return p;
      this.need = 3 + (((sec[1] & 0x0f) << 8) | sec[2]);
      if (this.need > PSI_SECTION_MAX) {
        this.counters.psiMalformed++;
        this.have = 0;
        this.need = -1;
        return end;
      }
    }
    const take = Math.min(this.need - this.have, end - p);
    buf.copy(sec, this.have, p, p + take);
    this.have += take;
    p += take;
    if (this.have === this.need) {
      const len = this.need;
      this.have = 0;
      this.need = -1;
      this.deliver(sec, 0, len);
    }
    return p;
  }

  private deliver(buf: Buffer, off: number, len: number): void {
    if ((buf[off + 1] & 0x80) !== 0) {
      if (len < 12) {
        this.counters.psiMalformed++;
        return;
      }
      if (crc32Mpeg2(buf, off, off + len) !== 0) {
        this.counters.crcErrors++;
        return;
      }
    }
    this.counters.psiSections++;
    this.sink.psiSection(this.pid, buf, off, len);
  }
}

// ---------------------------------------------------------------- PAT

export interface PatProgram {
  programNumber: number;
  programMapPid: number;
}
export interface Pat {
  transportStreamId: number;
  versionNumber: number;
  currentNextIndicator: boolean;
  /** network_PID from program_number 0, or -1. */
  networkPid: number;
  programs: PatProgram[];
}

/**
 * Parse one PAT section (§2.4.4.3, Table 2-30) at `buf[off .. off + len)`;
 * null when it is not a well-formed PAT section. Loop:
 *   program_number(16) reserved(3) network_PID / program_map_PID(13)
 */
export function parsePat(buf: Uint8Array, off: number, len: number): Pat | null {
  if (len < 12 || buf[off] !== TableId.PAT || psiSectionLength(buf, off) + 3 !== len) return null;
  const pat: Pat = {
    transportStreamId: psiTableIdExtension(buf, off),
    versionNumber: psiVersionNumber(buf, off),
    currentNextIndicator: psiCurrentNextIndicator(buf, off),
    networkPid: -1,
    programs: [],
  };
  const end = off + len - 4;
  for (let p = off + 8; p + 4 <= end; p += 4) {
    const programNumber = (buf[p] << 8) | buf[p + 1];
    const pid = ((buf[p + 2] & 0x1f) << 8) | buf[p + 3];
    if (programNumber === 0) pat.networkPid = pid;
    else pat.programs.push({ programNumber, programMapPid: pid });
  }
  return pat;
}

// ---------------------------------------------------------------- PMT

export interface PmtStream {
  streamType: number;
  elementaryPid: number;
  /** ES_info descriptors, raw (a copy: the section buffer is borrowed). */
  esInfo: Uint8Array;
}
export interface Pmt {
  programNumber: number;
  versionNumber: number;
  currentNextIndicator: boolean;
  pcrPid: number;
  /** program_info descriptors, raw (a copy). */
  programInfo: Uint8Array;
  streams: PmtStream[];
}

/**
 * Parse one PMT section (§2.4.4.8, Table 2-33); null when malformed:
 *   reserved(3) PCR_PID(13) reserved(4) program_info_length(12) descriptors
 *   loop: stream_type(8) reserved(3) elementary_PID(13) reserved(4) ES_info_length(12) descriptors
 */
export function parsePmt(buf: Uint8Array, off: number, len: number): Pmt | null {
  if (len < 16 || buf[off] !== TableId.PMT || psiSectionLength(buf, off) + 3 !== len) return null;
  const end = off + len - 4;
  const programInfoLength = ((buf[off + 10] & 0x0f) << 8) | buf[off + 11];
  let p = off + 12 + programInfoLength;
  if (p > end) return null;
  const pmt: Pmt = {
    programNumber: psiTableIdExtension(buf, off),
    versionNumber: psiVersionNumber(buf, off),
    currentNextIndicator: psiCurrentNextIndicator(buf, off),
    pcrPid: ((buf[off + 8] & 0x1f) << 8) | buf[off + 9],
    programInfo: new Uint8Array(buf.subarray(off + 12, off + 12 + programInfoLength)),
    streams: [],
  };
  while (p + 5 <= end) {
    const esInfoLength = ((buf[p + 3] & 0x0f) << 8) | buf[p + 4];
    if (p + 5 + esInfoLength > end) return null;
    pmt.streams.push({
      streamType: buf[p],
      elementaryPid: ((buf[p + 1] & 0x1f) << 8) | buf[p + 2],
      esInfo: new Uint8Array(buf.subarray(p + 5, p + 5 + esInfoLength)),
    });
    p += 5 + esInfoLength;
  }
  return pmt;
}

// ---------------------------------------------------------------- SDT

export interface SdtService {
  serviceId: number;
  /** service_type from service_descriptor 0x48, -1 without one. */
  serviceType: number;
  providerName: string;
  serviceName: string;
}
export interface Sdt {
  transportStreamId: number;
  originalNetworkId: number;
  versionNumber: number;
  currentNextIndicator: boolean;
  sectionNumber: number;
  lastSectionNumber: number;
  services: SdtService[];
}

/** service_descriptor tag, EN 300 468 §6.2.33. */
export const DESCRIPTOR_SERVICE = 0x48;

/**
 * Decode a DVB string, EN 300 468 Annex A.2: a first byte below 0x20 selects
 * the character table. 0x15 is UTF-8; 0x01..0x0B (ISO/IEC 8859-5..15) and
 * 0x10 (8859-n, 3-byte form) are read as Latin-1, as is the default table
 * (ISO/IEC 6937), which agrees with it for printable ASCII — enough for
 * service names in logs and SDP. Control codes 0x80..0x9F are dropped.
 */
export function dvbString(buf: Buffer, start: number, end: number): string {
  if (start >= end) return '';
  const first = buf[start];
  if (first === 0x15) return buf.toString('utf8', start + 1, end);
  let s = start;
  if (first === 0x10) s += 3;
  else if (first < 0x20) s += 1;
  if (s > end) return '';
  let out = '';
  for (let i = s; i < end; i++) {
    const c = buf[i];
    if (c >= 0x80 && c <= 0x9f) continue; // EN 300 468 A.1 control codes (emphasis, CR/LF)
    out += String.fromCharCode(c);
  }
  return out;
}

/**
 * Parse one SDT section (EN 300 468 §5.2.3, Table 5); null when malformed:
 *   original_network_id(16) reserved_future_use(8)
 *   loop: service_id(16) reserved_future_use(6) EIT_schedule_flag(1)
 *         EIT_present_following_flag(1) running_status(3) free_CA_mode(1)
 *         descriptors_loop_length(12) descriptors
 * service_descriptor (§6.2.33): service_type(8)
 *   service_provider_name_length(8) chars, service_name_length(8) chars
 */
export function parseSdt(buf: Buffer, off: number, len: number): Sdt | null {
  const tableId = buf[off];
  if (len < 15 || (tableId !== TableId.SDT_ACTUAL && tableId !== TableId.SDT_OTHER)) return null;
  if (psiSectionLength(buf, off) + 3 !== len) return null;
  const end = off + len - 4;
  const sdt: Sdt = {
    transportStreamId: psiTableIdExtension(buf, off),
    versionNumber: psiVersionNumber(buf, off),
    currentNextIndicator: psiCurrentNextIndicator(buf, off),
    sectionNumber: psiSectionNumber(buf, off),
    lastSectionNumber: psiLastSectionNumber(buf, off),
    originalNetworkId: (buf[off + 8] << 8) | buf[off + 9],
    services: [],
  };
  let p = off + 11;
  while (p + 5 <= end) {
    const serviceId = (buf[p] << 8) | buf[p + 1];
    const loopLength = ((buf[p + 3] & 0x0f) << 8) | buf[p + 4];
    const dEnd = p + 5 + loopLength;
    if (dEnd > end) return null;
    const service: SdtService = { serviceId, serviceType: -1, providerName: '', serviceName: '' };
    for (let d = p + 5; d + 2 <= dEnd; ) {
      const tag = buf[d];
      const dLen = buf[d + 1];
      if (d + 2 + dLen > dEnd) return null;
      if (tag === DESCRIPTOR_SERVICE && dLen >= 3) {
        const providerLen = buf[d + 3];
        const nameAt = d + 4 + providerLen;
        if (nameAt + 1 <= d + 2 + dLen) {
          const nameLen = buf[nameAt];
          if (nameAt + 1 + nameLen <= d + 2 + dLen) {
            service.serviceType = buf[d + 2];
            service.providerName = dvbString(buf, d + 4, nameAt);
            service.serviceName = dvbString(buf, nameAt + 1, nameAt + 1 + nameLen);
          }
        }
      }
      d += 2 + dLen;
    }
    sdt.services.push(service);
    p = dEnd;
  }
  return sdt;
}

// ---------------------------------------------------------------- writers

/** Fill in section_length and CRC_32 of a section whose body ends at `bodyEnd`; returns its length. */
function finishSection(buf: Uint8Array, off: number, bodyEnd: number): number {
  const len = bodyEnd + 4 - off;
  const sectionLength = len - 3;
  buf[off + 1] = (buf[off + 1] & 0xf0) | ((sectionLength >> 8) & 0x0f);
  buf[off + 2] = sectionLength & 0xff;
  const crc = crc32Mpeg2(buf, off, bodyEnd);
  buf[bodyEnd] = crc >>> 24;
  buf[bodyEnd + 1] = (crc >>> 16) & 0xff;
  buf[bodyEnd + 2] = (crc >>> 8) & 0xff;
  buf[bodyEnd + 3] = crc & 0xff;
  return len;
}

function writeLongHeader(buf: Uint8Array, off: number, tableId: number, ext: number, version: number): void {
  buf[off] = tableId;
  buf[off + 1] = 0xb0; // section_syntax_indicator 1, '0', reserved '11'
  buf[off + 2] = 0;
  buf[off + 3] = ext >> 8;
  buf[off + 4] = ext & 0xff;
  buf[off + 5] = 0xc0 | ((version & 0x1f) << 1) | 0x01; // current_next_indicator 1
  buf[off + 6] = 0; // section_number
  buf[off + 7] = 0; // last_section_number
}

/**
 * Write a one-section PAT (§2.4.4.3) at `buf[off ..]`; returns its length.
 * `buf` needs 12 + 4 * programs.length bytes.
 */
export function psiWritePat(
  buf: Uint8Array,
  off: number,
  transportStreamId: number,
  versionNumber: number,
  programs: readonly PatProgram[],
): number {
  writeLongHeader(buf, off, TableId.PAT, transportStreamId, versionNumber);
  let p = off + 8;
  for (const prog of programs) {
    buf[p] = prog.programNumber >> 8;
    buf[p + 1] = prog.programNumber & 0xff;
    buf[p + 2] = 0xe0 | ((prog.programMapPid >> 8) & 0x1f);
    buf[p + 3] = prog.programMapPid & 0xff;
    p += 4;
  }
  return finishSection(buf, off, p);
}

/** Write a one-section PMT (§2.4.4.8) at `buf[off ..]`; returns its length. */
export function psiWritePmt(buf: Uint8Array, off: number, pmt: Omit<Pmt, 'currentNextIndicator'>): number {
  writeLongHeader(buf, off, TableId.PMT, pmt.programNumber, pmt.versionNumber);
  buf[off + 8] = 0xe0 | ((pmt.pcrPid >> 8) & 0x1f);
  buf[off + 9] = pmt.pcrPid & 0xff;
  buf[off + 10] = 0xf0 | ((pmt.programInfo.length >> 8) & 0x0f);
  buf[off + 11] = pmt.programInfo.length & 0xff;
  buf.set(pmt.programInfo, off + 12);
  let p = off + 12 + pmt.programInfo.length;
  for (const s of pmt.streams) {
    buf[p] = s.streamType;
    buf[p + 1] = 0xe0 | ((s.elementaryPid >> 8) & 0x1f);
    buf[p + 2] = s.elementaryPid & 0xff;
    buf[p + 3] = 0xf0 | ((s.esInfo.length >> 8) & 0x0f);
    buf[p + 4] = s.esInfo.length & 0xff;
    buf.set(s.esInfo, p + 5);
    p += 5 + s.esInfo.length;
  }
  return finishSection(buf, off, p);
}

/**
 * A DVB string for a descriptor (EN 300 468 Annex A.2): printable ASCII as
 * is (the default table agrees with it there), anything else UTF-8 behind
 * the 0x15 selector; cut to `max` bytes on a character boundary.
 */
export function dvbStringBytes(s: string, max: number): Buffer {
  if (/^[\x20-\x7e]*$/.test(s)) return Buffer.from(s.slice(0, max), 'latin1');
  let utf8 = Buffer.from(s, 'utf8');
  if (utf8.length > max - 1) {
    let end = max - 1;
    while (end > 0 && (utf8[end] & 0xc0) === 0x80) end--; // not inside a character
    utf8 = utf8.subarray(0, end);
  }
  return Buffer.concat([Buffer.from([0x15]), utf8]);
}

/**
 * Write a one-section SDT actual (EN 300 468 §5.2.3) with one service and
 * its service_descriptor (§6.2.33): running, not scrambled, no EIT.
 * Returns its length; `buf` needs 24 + the two names' bytes.
 */
export function psiWriteSdt(
  buf: Uint8Array,
  off: number,
  sdt: { transportStreamId: number; originalNetworkId: number; versionNumber: number; serviceId: number; serviceType: number; provider: Buffer; name: Buffer },
): number {
  writeLongHeader(buf, off, TableId.SDT_ACTUAL, sdt.transportStreamId, sdt.versionNumber);
  buf[off + 1] = 0xf0; // section_syntax_indicator 1, reserved_future_use 1, reserved 11
  buf[off + 8] = sdt.originalNetworkId >> 8;
  buf[off + 9] = sdt.originalNetworkId & 0xff;
  buf[off + 10] = 0xff; // reserved_future_use
  let p = off + 11;
  const dLen = 3 + sdt.provider.length + sdt.name.length;
  buf[p] = sdt.serviceId >> 8;
  buf[p + 1] = sdt.serviceId & 0xff;
  buf[p + 2] = 0xfc; // reserved_future_use, EIT_schedule_flag 0, EIT_present_following_flag 0
  const loop = 2 + dLen;
  buf[p + 3] = (4 << 5) | ((loop >> 8) & 0x0f); // running_status 4 (running), free_CA_mode 0
  buf[p + 4] = loop & 0xff;
  p += 5;
  buf[p] = DESCRIPTOR_SERVICE;
  buf[p + 1] = dLen;
  buf[p + 2] = sdt.serviceType;
  buf[p + 3] = sdt.provider.length;
  buf.set(sdt.provider, p + 4);
  buf[p + 4 + sdt.provider.length] = sdt.name.length;
  buf.set(sdt.name, p + 5 + sdt.provider.length);
  p += 2 + dLen;
  return finishSection(buf, off, p);
}

/** TS packets needed for a section of `sectionLen` bytes (1 pointer_field byte + 184-byte payloads). */
export function psiPacketCount(sectionLen: number): number {
  return Math.ceil((sectionLen + 1) / (TS_PACKET_SIZE - 4));
}

/**
 * Pack one section into TS packets of `pid` at `out[outOff ..]` (§2.4.4.1):
 * payload_unit_start_indicator and pointer_field 0 on the first, 0xFF
 * stuffing after the section, continuity_counter from `cc` upward. Returns
 * the number of packets written ({@link psiPacketCount}); the next CC is
 * (cc + returned) & 0x0f.
 */
export function psiPacketize(
  section: Uint8Array,
  sectionOff: number,
  sectionLen: number,
  pid: number,
  cc: number,
  out: Uint8Array,
  outOff: number,
): number {
  let s = sectionOff;
  const sEnd = sectionOff + sectionLen;
  let n = 0;
  let o = outOff;
  do {
    out[o] = TS_SYNC_BYTE;
    out[o + 1] = (n === 0 ? 0x40 : 0) | ((pid >> 8) & 0x1f);
    out[o + 2] = pid & 0xff;
    out[o + 3] = 0x10 | ((cc + n) & 0x0f); // payload only
    let p = o + 4;
    if (n === 0) out[p++] = 0; // pointer_field
    const take = Math.min(sEnd - s, o + TS_PACKET_SIZE - p);
    out.set(section.subarray(s, s + take), p);
    s += take;
    p += take;
    out.fill(0xff, p, o + TS_PACKET_SIZE);
    o += TS_PACKET_SIZE;
    n++;
  } while (s < sEnd);
  return n;
}
