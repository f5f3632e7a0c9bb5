/**
 * Annex-B NAL unit scanning for random access detection, H.264 and H.265.
 *
 * Byte stream format: ITU-T H.264 Annex B / H.265 Annex B — every NAL unit
 * is preceded by a start code 0x000001 (optionally with leading zero bytes).
 * Emulation prevention (H.264 §7.4.1, H.265 §7.4.2) guarantees 0x000001 never
 * occurs inside a NAL unit, so a zero-run counter is enough.
 *
 * NAL unit header:
 *   H.264 §7.3.1: forbidden_zero_bit(1) nal_ref_idc(2) nal_unit_type(5)
 *   H.265 §7.3.1.2: forbidden_zero_bit(1) nal_unit_type(6) nuh_layer_id(6) nuh_temporal_id_plus1(3)
 *
 * Random access: H.264 IDR picture = nal_unit_type 5 (§7.4.1.2.4: all slices
 * of an IDR picture are type 5); H.265 IRAP = nal_unit_type 16..23 (BLA, IDR,
 * CRA; §7.4.2.2: all VCL NAL units of a picture share one type). Hence the
 * first VCL NAL unit of an access unit decides, and the scanner stops there:
 * it reads the AUD/SPS/PPS/SEI prefix of an access unit, never its slice data.
 *
 * On request the scanner also copies the first SPS NAL unit of that prefix
 * (core/codec/sps.ts parses it): the copy is made at NAL boundaries and piece
 * ends only, so the per-byte loop is unchanged.
 */

/** stream_type values, ISO/IEC 13818-1 Table 2-34. */
export const VideoStreamType = {
  H264: 0x1b,
  H265: 0x24,
} as const;
export type VideoStreamType = (typeof VideoStreamType)[keyof typeof VideoStreamType];

/** Result of {@link NalScanner.scan}. */
export const NalScanResult = {
  /** No VCL NAL unit yet: feed more bytes of the same access unit. */
  MORE: 0,
  /** First VCL NAL unit found and it is an IDR (H.264) or IRAP (H.265) picture. */
  RANDOM_ACCESS: 1,
  /** First VCL NAL unit found and it is not a random access picture. */
  NOT_RANDOM_ACCESS: 2,
} as const;
export type NalScanResult = (typeof NalScanResult)[keyof typeof NalScanResult];

/** H.264 nal_unit_type of a coded slice of an IDR picture (Table 7-1). */
export const H264_NAL_IDR = 5;
/** H.265 IRAP range, BLA_W_LP (16) .. RSV_IRAP_VCL23 (23) (Table 7-1). */
export const H265_NAL_IRAP_FIRST = 16;
export const H265_NAL_IRAP_LAST = 23;
/** Sequence parameter set: H.264 nal_unit_type 7, H.265 33 (Table 7-1 of each). */
export const H264_NAL_SPS = 7;
export const H265_NAL_SPS = 33;
/**
 * Bound of the SPS copy. Real SPSs are 10..200 bytes; 4 KiB holds an H.264
 * SPS with all twelve scaling lists at their longest codes and an H.265 SPS
 * with 64 reference picture sets. A longer one is copied up to the bound and
 * flagged `spsTruncated` (its parse then fails or lacks the VUI).
 */
export const SPS_CAPTURE_MAX_BYTES = 4096;

/**
 * Classify one NAL header byte: MORE for non-VCL units, else whether it is a
 * random access picture. `isH265` selects the header layout.
 */
export function nalClassify(headerByte: number, isH265: boolean): NalScanResult {
  if (isH265) {
    const type = (headerByte >> 1) & 0x3f;
    if (type > 31) return NalScanResult.MORE; // non-VCL (VPS, SPS, PPS, AUD, SEI, ...)
    return type >= H265_NAL_IRAP_FIRST && type <= H265_NAL_IRAP_LAST
      ? NalScanResult.RANDOM_ACCESS
      : NalScanResult.NOT_RANDOM_ACCESS;
  }
  const type = headerByte & 0x1f;
  if (type === H264_NAL_IDR) return NalScanResult.RANDOM_ACCESS;
  // 1..4: non-IDR slice / data partitions A..C; 20 and 21 are SVC/MVC/3D extensions
  // of a base view that already decided.
  return type >= 1 && type <= 4 ? NalScanResult.NOT_RANDOM_ACCESS : NalScanResult.MORE;
}

/**
 * Incremental start-code scanner over the bytes of one access unit fed in
 * pieces (e.g. the payload of successive TS packets). State carried between
 * calls: the trailing zero run and a start code whose header byte is in the
 * next piece, so start codes split across TS packets are found.
 */
export class NalScanner {
  private isH265: boolean;
  /** Zero bytes immediately before the next byte to scan (capped at 3). */
  private zeros = 0;
  /** A start code ended the previous piece: its NAL header is the next byte. */
  private headerPending = false;
  /** The decision once made; MORE until then. */
  result: NalScanResult = NalScanResult.MORE;
  /** nal_unit_type of the deciding VCL NAL unit, -1 before. */
  vclNalUnitType = -1;
  /**
   * Copy of the first SPS NAL unit before the deciding VCL NAL unit: header
   * byte(s) first, no start code, trailing zero bytes removed, emulation
   * prevention still in. Valid in `spsBytes[0 .. spsLength)` until the next
   * reset(); empty unless the scanner was made with `captureSps`.
   */
  readonly spsBytes: Uint8Array;
  /** 0 when the scanned prefix had no SPS. */
  spsLength = 0;
  /** The SPS was longer than SPS_CAPTURE_MAX_BYTES: spsBytes holds its beginning. */
  spsTruncated = false;
  /** Inside the SPS NAL unit being copied; it ends at the next start code. */
  private spsOpen = false;
  /** Where the open SPS continues in the current piece. */
  private spsFrom = 0;

  /** `captureSps`: keep a copy of the SPS of each scanned prefix (allocates SPS_CAPTURE_MAX_BYTES once). */
  constructor(streamType: number, captureSps = false) {
    this.isH265 = streamType === VideoStreamType.H265;
    this.spsBytes = new Uint8Array(captureSps ? SPS_CAPTURE_MAX_BYTES : 0);
  }

  /** Start a new access unit; `streamType` may change with a new PMT. */
  reset(streamType?: number): void {
    if (streamType !== undefined) this.isH265 = streamType === VideoStreamType.H265;
    this.zeros = 0;
    this.headerPending = false;
    this.result = NalScanResult.MORE;
    this.vclNalUnitType = -1;
    this.spsLength = 0;
    this.spsTruncated = false;
    this.spsOpen = false;
  }

  /**
   * Scan `buf[start .. end)`. Returns the decision (sticky once not MORE;
   * later calls return it without scanning).
   */
  scan(buf: Uint8Array, start: number, end: number): NalScanResult {
    if (this.result !== NalScanResult.MORE) return this.result;
    let i = start;
    this.spsFrom = start;
    if (this.headerPending) {
      if (i >= end) return NalScanResult.MORE;
      this.headerPending = false;
      if (this.decide(buf, i)) return this.result;
      i++;
      this.zeros = 0;
    }
    let zeros = this.zeros;
    for (; i < end; i++) {
      const b = buf[i];
      if (b === 0) {
        zeros++;
        continue;
      }
      if (b === 1 && zeros >= 2) {
        if (this.spsOpen) this.spsClose(buf, i);
        if (i + 1 >= end) {
          this.headerPending = true;
          this.zeros = 0;
          return NalScanResult.MORE;
        }
        i++;
        if (this.decide(buf, i)) return this.result;
      }
      zeros = 0;
    }
    if (this.spsOpen) this.spsAppend(buf, this.spsFrom, end);
    this.zeros = zeros > 3 ? 3 : zeros;
    return NalScanResult.MORE;
  }

  /** The NAL header at `buf[i]`: decide on a VCL NAL unit, or start copying an SPS. */
  private decide(buf: Uint8Array, i: number): boolean {
    const headerByte = buf[i];
    const r = nalClassify(headerByte, this.isH265);
    if (r === NalScanResult.MORE) {
      if (this.spsLength === 0 && this.spsBytes.length > 0) {
        const type = this.isH265 ? (headerByte >> 1) & 0x3f : headerByte & 0x1f;
        if (type === (this.isH265 ? H265_NAL_SPS : H264_NAL_SPS)) {
          this.spsOpen = true;
          this.spsFrom = i;
        }
      }
      return false;
    }
    this.result = r;
    this.vclNalUnitType = this.isH265 ? (headerByte >> 1) & 0x3f : headerByte & 0x1f;
    return true;
  }

  /** Copy `buf[from .. to)` to the SPS, up to the bound (a byte loop: SPSs are short and rare). */
  private spsAppend(buf: Uint8Array, from: number, to: number): void {
    const dst = this.spsBytes;
    let n = this.spsLength;
    for (let j = from; j < to; j++) {
      if (n === dst.length) {
        this.spsTruncated = true;
        break;
      }
      dst[n++] = buf[j];
    }
    this.spsLength = n;
  }

  /**
   * A start code's 0x01 at `buf[oneAt]` ends the SPS. Its zero bytes (and any
   * trailing_zero_8bits) may already be copied, in this piece or the last:
   * strip them. An SPS itself never ends in 0x00 (rbsp_stop_one_bit).
   */
  private spsClose(buf: Uint8Array, oneAt: number): void {
    this.spsAppend(buf, this.spsFrom, oneAt);
    let n = this.spsLength;
    while (n > 0 && this.spsBytes[n - 1] === 0) n--;
    this.spsLength = n;
    this.spsOpen = false;
  }
}

/**
 * One-shot form: does `buf[start .. end)` (one whole access unit, or its
 * beginning) start with a random access picture?
 */
export function nalHasRandomAccess(buf: Uint8Array, start: number, end: number, streamType: number): boolean {
  const s = new NalScanner(streamType);
  return s.scan(buf, start, end) === NalScanResult.RANDOM_ACCESS;
}
