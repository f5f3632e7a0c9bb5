/**
 * Stream format from the bitstream: H.264 / H.265 sequence parameter sets and
 * audio frame headers (AAC ADTS, MPEG-1/2 audio, AC-3 / E-AC-3). The headend
 * uses it to make a "channel temporarily unavailable" slate in the channel's
 * own format, so a set-top box switching to it does not re-initialise its
 * decoder (or, for some boxes, fail to).
 *
 * Bad input is data (STYLE.md §3): every parser is bounds-checked and returns
 * null (or false) for truncated or garbage bytes; nothing here throws. The
 * bit reader has a sticky error (after TSDuck's tsBuffer): fields are read in
 * spec order and the error is checked once per structure.
 *
 * SPS parsing is rare (TsInspector parses an SPS only when its bytes
 * change), so clarity wins over speed there; the audio header parsers run
 * once per audio PES and read a few bytes without allocating.
 */
import { H264_NAL_SPS, H265_NAL_SPS } from './nal.js';

/** Video codecs we parse, named as ffmpeg's -c:v / ffprobe codec_name would be (hevc spelled h265). */
export const VideoCodec = { H264: 'h264', H265: 'h265' } as const;
export type VideoCodec = (typeof VideoCodec)[keyof typeof VideoCodec];

/** How {@link VideoFormat.fps} was found. */
export const FpsSource = {
  /** VUI timing_info of the SPS (H.264 Annex E.2.1 / H.265 Annex E.3.1). */
  VUI: 'vui',
  /** Median step of consecutive video DTS (TsInspector: the SPS had no timing). */
  PTS: 'pts',
} as const;
export type FpsSource = (typeof FpsSource)[keyof typeof FpsSource];

export interface Ratio {
  num: number;
  den: number;
}

/** What a slate encoder must match. Plain data: safe to copy, log and send as JSON. */
export interface VideoFormat {
  codec: VideoCodec;
  /** Display size: the coded size minus the frame cropping (H.264) / conformance window (H.265). */
  width: number;
  height: number;
  /** Coded size in luma samples (H.264: macroblocks × 16, both fields for field coding). */
  codedWidth: number;
  codedHeight: number;
  /** Frames per second; null while unknown. */
  fps: number | null;
  /** fps as an exact ratio, reduced (30000/1001); null while unknown. */
  frameRate: Ratio | null;
  fpsSource: FpsSource | null;
  /** Profile name as libavcodec / ffprobe print it ('High', 'Main 10', 'Constrained Baseline'). */
  profile: string;
  /** Level as ffmpeg's -level takes it: '4.0', '3.1', '1b'. */
  level: string;
  profileIdc: number;
  levelIdc: number;
  /** H.265 general_tier_flag: 'Main' or 'High'; null for H.264. */
  tier: 'Main' | 'High' | null;
  /** 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4. */
  chromaFormatIdc: number;
  /** Luma bit depth. */
  bitDepth: number;
  /** ffmpeg pix_fmt for chroma format and bit depth (full-range 'yuvj' variants are not told apart). */
  pixFmt: string;
  /**
   * False when pictures may be fields: H.264 frame_mbs_only_flag 0 (PAFF /
   * MBAFF), H.265 VUI field_seq_flag 1 (then fps counts fields).
   */
  progressive: boolean;
  /** Sample aspect ratio from VUI aspect_ratio_info; null when absent or unspecified. */
  sar: Ratio | null;
}

/** Audio codecs, named as ffprobe's codec_name. */
export const AudioCodec = { AAC: 'aac', MP1: 'mp1', MP2: 'mp2', MP3: 'mp3', AC3: 'ac3', EAC3: 'eac3' } as const;
export type AudioCodec = (typeof AudioCodec)[keyof typeof AudioCodec];

/** Fixed-shape result of the audio header parsers; reuse one from {@link newAudioFormat}. */
export interface AudioFormat {
  codec: AudioCodec;
  sampleRate: number;
  /** Channel count including LFE; 0 when the header defers it (ADTS channel_configuration 0: a PCE in the payload). */
  channels: number;
  /** AAC audio object type as ffprobe names it ('LC'); null for the other codecs. */
  profile: string | null;
}

export function newAudioFormat(): AudioFormat {
  return { codec: AudioCodec.AAC, sampleRate: 0, channels: 0, profile: null };
}

export function audioFormatEquals(a: AudioFormat, b: AudioFormat): boolean {
  return a.codec === b.codec && a.sampleRate === b.sampleRate && a.channels === b.channels && a.profile === b.profile;
}

// ------------------------------------------------------------------ bit reader

/**
 * The RBSP of a NAL unit: `nal[start .. end)` without its emulation
 * prevention bytes (H.264 §7.4.1 / H.265 §7.4.2: every 0x03 that follows
 * 0x00 0x00 is removed). Allocates one array of at most end - start bytes.
 */
export function nalToRbsp(nal: Uint8Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array(Math.max(0, end - start));
  let n = 0;
  let zeros = 0;
  for (let i = start; i < end; i++) {
    const b = nal[i];
    if (b === 3 && zeros >= 2) {
      zeros = 0;
      continue;
    }
    zeros = b === 0 ? zeros + 1 : 0;
    out[n++] = b;
  }
  return out.subarray(0, n);
}

/**
 * MSB-first bit reader with Exp-Golomb codes (H.264 §9.1, H.265 §9.2). Reads
 * past the end return 0 and set the sticky `error`; values stay exact up to
 * 32 bits (multiplication, not `<<`).
 */
export class BitReader {
  private pos: number;
  private readonly endBit: number;
  /** A read went past the end, or an Exp-Golomb code was longer than 32 bits. */
  error = false;

  constructor(
    private readonly data: Uint8Array,
    start = 0,
    end = data.length,
  ) {
    this.pos = start * 8;
    this.endBit = Math.min(end, data.length) * 8;
  }

  get bitsLeft(): number {
    return this.endBit - this.pos;
  }

  bit(): number {
    const p = this.pos;
    if (p >= this.endBit) {
      this.error = true;
      return 0;
    }
    this.pos = p + 1;
    return (this.data[p >>> 3] >> (7 - (p & 7))) & 1;
  }

  flag(): boolean {
    return this.bit() === 1;
  }

  /** u(n), n ≤ 32. */
  u(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 2 + this.bit();
    return v;
  }

  skip(n: number): void {
    if (n > this.endBit - this.pos) {
      this.pos = this.endBit;
      this.error = true;
      return;
    }
    this.pos += n;
  }

  /** ue(v): codes of up to 31 leading zeros, so values < 2^32 - 1. */
  ue(): number {
    let zeros = 0;
    while (this.bit() === 0) {
      if (this.error || ++zeros > 31) {
        this.error = true;
        return 0;
      }
    }
    return 2 ** zeros - 1 + this.u(zeros);
  }

  /** se(v), H.264 Table 9-3: k ↦ (−1)^(k+1) · Ceil(k ÷ 2). */
  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -(k / 2);
  }
}

// ------------------------------------------------------------------ shared

/**
 * Largest picture side either codec allows at level 6.2: √(8 · MaxLumaPs)
 * with MaxLumaPs 35 651 584 (H.265 Table A.8) = 16 888; H.264's 139 264
 * macroblocks give the same. Bigger is garbage.
 */
const MAX_PICTURE_SIDE = 16888;

/** H.264 Table E-1 = H.265 Table E-1, aspect_ratio_idc 1..16 as [sar_width, sar_height]. */
const SAR_TABLE: readonly (readonly [number, number])[] = [
  [0, 0],
  [1, 1],
  [12, 11],
  [10, 11],
  [16, 11],
  [40, 33],
  [24, 11],
  [20, 11],
  [32, 11],
  [80, 33],
  [18, 11],
  [15, 11],
  [64, 33],
  [160, 99],
  [4, 3],
  [3, 2],
  [2, 1],
];
/** aspect_ratio_idc Extended_SAR: sar_width and sar_height follow. */
const EXTENDED_SAR = 255;

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/** num/den reduced; null when either is 0. */
export function ratio(num: number, den: number): Ratio | null {
  if (num <= 0 || den <= 0 || !Number.isFinite(num) || !Number.isFinite(den)) return null;
  const g = gcd(num, den);
  return { num: num / g, den: den / g };
}

/** aspect_ratio_info() of either VUI; null for unspecified (0), reserved idc, or a zero extended SAR. */
function readSar(r: BitReader): Ratio | null {
  const idc = r.u(8);
  if (idc === EXTENDED_SAR) {
    const w = r.u(16);
    const h = r.u(16);
    return ratio(w, h);
  }
  if (idc >= 1 && idc < SAR_TABLE.length) return { num: SAR_TABLE[idc][0], den: SAR_TABLE[idc][1] };
  return null;
}

/** video_signal_type and chroma_loc_info of either VUI (the fields are the same up to there). */
function skipVuiSignalAndChromaLoc(r: BitReader): void {
  if (r.flag()) r.skip(1); // overscan_info_present_flag → overscan_appropriate_flag
  if (r.flag()) {
    r.skip(4); // video_format(3) video_full_range_flag(1)
    if (r.flag()) r.skip(24); // colour_primaries, transfer_characteristics, matrix_coefficients
  }
  if (r.flag()) {
    r.ue(); // chroma_sample_loc_type_top_field
    r.ue(); // chroma_sample_loc_type_bottom_field
  }
}

function pixFmt(chromaFormatIdc: number, bitDepth: number): string {
  const base = chromaFormatIdc === 0 ? 'gray' : chromaFormatIdc === 1 ? 'yuv420p' : chromaFormatIdc === 2 ? 'yuv422p' : 'yuv444p';
  return bitDepth > 8 ? `${base}${bitDepth}le` : base;
}

/** SubWidthC, SubHeightC: H.264 Table 6-1 = H.265 Table 6-1; 1 for monochrome / separate colour planes. */
function subWidthC(chromaArrayType: number): number {
  return chromaArrayType === 1 || chromaArrayType === 2 ? 2 : 1;
}
function subHeightC(chromaArrayType: number): number {
  return chromaArrayType === 1 ? 2 : 1;
}

// ------------------------------------------------------------------ H.264

/** profile_idc values whose SPS carries chroma_format_idc .. scaling lists (§7.3.2.1.1). */
const H264_HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** libavcodec's names (libavcodec/profiles.c ff_h264_profiles), so they read like ffprobe's. */
function h264ProfileName(profileIdc: number, constraintFlags: number): string {
  const set1 = (constraintFlags & 0x40) !== 0;
  const set3 = (constraintFlags & 0x10) !== 0;
  switch (profileIdc) {
    case 66:
      return set1 ? 'Constrained Baseline' : 'Baseline';
    case 77:
      return 'Main';
    case 88:
      return 'Extended';
    case 100:
      return 'High';
    case 110:
      return set3 ? 'High 10 Intra' : 'High 10';
    case 122:
      return set3 ? 'High 4:2:2 Intra' : 'High 4:2:2';
    case 244:
      return set3 ? 'High 4:4:4 Intra' : 'High 4:4:4 Predictive';
    case 44:
      return 'CAVLC 4:4:4';
    case 118:
      return 'Multiview High';
    case 128:
      return 'Stereo High';
    default:
      return `profile_idc ${profileIdc}`;
  }
}

/** §A.3.1: level_idc 9, or 11 with constraint_set3_flag in Baseline/Main/Extended, is level 1b. */
function h264LevelName(profileIdc: number, constraintFlags: number, levelIdc: number): string {
  if (levelIdc === 9) return '1b';
  if (levelIdc === 11 && (constraintFlags & 0x10) !== 0 && (profileIdc === 66 || profileIdc === 77 || profileIdc === 88)) return '1b';
  return (levelIdc / 10).toFixed(1);
}

/** scaling_list(), §7.3.2.1.1.1: only skipped, but delta_scale decides how far. */
function skipH264ScalingList(r: BitReader, size: number): void {
  let lastScale = 8;
  let nextScale = 8;
  for (let j = 0; j < size && !r.error; j++) {
    if (nextScale !== 0) {
      const deltaScale = r.se();
      if (deltaScale < -128 || deltaScale > 127) {
        r.error = true;
        return;
      }
      nextScale = (lastScale + deltaScale + 256) % 256;
    }
    if (nextScale !== 0) lastScale = nextScale;
  }
}

/**
 * Parse an H.264 seq_parameter_set_rbsp(), ITU-T H.264 §7.3.2.1.1, from the
 * NAL unit `nal[start .. end)` (header byte first, start code excluded,
 * emulation prevention still in). Null when it is not an SPS, is truncated
 * before vui_parameters_present_flag, or holds a value out of its range.
 * A truncated VUI leaves fps and sar null (as libavcodec does: "Truncated VUI").
 */
export function parseH264Sps(nal: Uint8Array, start = 0, end = nal.length): VideoFormat | null {
  if (end - start < 4 || (nal[start] & 0x9f) !== H264_NAL_SPS) return null; // forbidden_zero_bit 0, type 7
  const r = new BitReader(nalToRbsp(nal, start + 1, end));
  const profileIdc = r.u(8);
  const constraintFlags = r.u(8);
  const levelIdc = r.u(8);
  if (r.ue() > 31) return null; // seq_parameter_set_id
  let chromaFormatIdc = 1; // inferred 4:2:0 outside the high profiles
  let separateColourPlane = false;
  let bitDepth = 8;
  if (H264_HIGH_PROFILES.has(profileIdc)) {
    chromaFormatIdc = r.ue();
    if (chromaFormatIdc > 3) return null;
    if (chromaFormatIdc === 3) separateColourPlane = r.flag();
    const bitDepthLumaMinus8 = r.ue();
    const bitDepthChromaMinus8 = r.ue();
    if (bitDepthLumaMinus8 > 6 || bitDepthChromaMinus8 > 6) return null;
    bitDepth = 8 + bitDepthLumaMinus8;
    r.skip(1); // qpprime_y_zero_transform_bypass_flag
    if (r.flag()) {
      // seq_scaling_matrix_present_flag: 6 4×4 lists, then 2 (or 6 for 4:4:4) 8×8 lists.
      const lists = chromaFormatIdc !== 3 ? 8 : 12;
      for (let i = 0; i < lists && !r.error; i++) if (r.flag()) skipH264ScalingList(r, i < 6 ? 16 : 64);
    }
  }
  if (r.ue() > 12) return null; // log2_max_frame_num_minus4
  const picOrderCntType = r.ue();
  if (picOrderCntType === 0) {
    if (r.ue() > 12) return null; // log2_max_pic_order_cnt_lsb_minus4
  } else if (picOrderCntType === 1) {
    r.skip(1); // delta_pic_order_always_zero_flag
    r.se(); // offset_for_non_ref_pic
    r.se(); // offset_for_top_to_bottom_field
    const cycle = r.ue(); // num_ref_frames_in_pic_order_cnt_cycle, 0..255
    if (cycle > 255) return null;
    for (let i = 0; i < cycle && !r.error; i++) r.se(); // offset_for_ref_frame[i]
  } else if (picOrderCntType !== 2) {
    return null;
  }
  r.ue(); // max_num_ref_frames
  r.skip(1); // gaps_in_frame_num_value_allowed_flag
  const widthMbs = r.ue() + 1; // pic_width_in_mbs_minus1
  const heightMapUnits = r.ue() + 1; // pic_height_in_map_units_minus1
  const frameMbsOnly = r.flag();
  if (!frameMbsOnly) r.skip(1); // mb_adaptive_frame_field_flag
  r.skip(1); // direct_8x8_inference_flag
  let cropLeft = 0;
  let cropRight = 0;
  let cropTop = 0;
  let cropBottom = 0;
  if (r.flag()) {
    cropLeft = r.ue();
    cropRight = r.ue();
    cropTop = r.ue();
    cropBottom = r.ue();
  }
  const vuiPresent = r.flag();
  if (r.error) return null;

  // §7.4.2.1.1, equations 7-13 .. 7-20.
  const codedWidth = widthMbs * 16;
  const codedHeight = (frameMbsOnly ? 1 : 2) * heightMapUnits * 16;
  // Whole macroblocks: 1056 × 16 = 16 896 is the least that holds MAX_PICTURE_SIDE.
  if (codedWidth > MAX_PICTURE_SIDE + 8 || codedHeight > MAX_PICTURE_SIDE + 8) return null;
  const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
  const cropUnitX = chromaArrayType === 0 ? 1 : subWidthC(chromaArrayType);
  const cropUnitY = (chromaArrayType === 0 ? 1 : subHeightC(chromaArrayType)) * (frameMbsOnly ? 1 : 2);
  const width = codedWidth - cropUnitX * (cropLeft + cropRight);
  const height = codedHeight - cropUnitY * (cropTop + cropBottom);
  if (width <= 0 || height <= 0) return null;

  const f: VideoFormat = {
    codec: VideoCodec.H264,
    width,
    height,
    codedWidth,
    codedHeight,
    fps: null,
    frameRate: null,
    fpsSource: null,
    profile: h264ProfileName(profileIdc, constraintFlags),
    level: h264LevelName(profileIdc, constraintFlags, levelIdc),
    profileIdc,
    levelIdc,
    tier: null,
    chromaFormatIdc,
    bitDepth,
    pixFmt: pixFmt(chromaFormatIdc, bitDepth),
    progressive: frameMbsOnly,
    sar: null,
  };
  if (vuiPresent) readH264Vui(r, f);
  return f;
}

/** vui_parameters(), H.264 §E.1.1, as far as timing_info. */
function readH264Vui(r: BitReader, f: VideoFormat): void {
  const sar = r.flag() ? readSar(r) : null; // aspect_ratio_info_present_flag
  skipVuiSignalAndChromaLoc(r);
  let frameRate: Ratio | null = null;
  if (r.flag()) {
    // timing_info_present_flag. §E.2.1: one frame is two ticks (a tick is a field period), so
    // fps = time_scale ÷ (2 · num_units_in_tick).
    const numUnitsInTick = r.u(32);
    const timeScale = r.u(32);
    frameRate = ratio(timeScale, 2 * numUnitsInTick);
  }
  if (r.error) return; // truncated VUI: keep what came before it
  f.sar = sar;
  setFrameRate(f, frameRate, FpsSource.VUI);
}

/** Set fps, frameRate and fpsSource together; a null rate leaves them null. */
function setFrameRate(f: VideoFormat, rate: Ratio | null, source: FpsSource): void {
  if (rate === null) return;
  f.frameRate = rate;
  f.fps = rate.num / rate.den;
  f.fpsSource = source;
}

// ------------------------------------------------------------------ H.265

/** libavcodec/profiles.c ff_hevc_profiles. */
function h265ProfileName(profileIdc: number): string {
  switch (profileIdc) {
    case 1:
      return 'Main';
    case 2:
      return 'Main 10';
    case 3:
      return 'Main Still Picture';
    case 4:
      return 'Rext';
    case 9:
      return 'SCC';
    default:
      return `general_profile_idc ${profileIdc}`;
  }
}

/**
 * profile_tier_level(1, maxNumSubLayersMinus1), H.265 §7.3.3. Returns the
 * general profile / tier / level; the sub-layer entries are skipped.
 */
function readProfileTierLevel(r: BitReader, maxNumSubLayersMinus1: number): { profileIdc: number; tierFlag: boolean; levelIdc: number } {
  r.skip(2); // general_profile_space
  const tierFlag = r.flag();
  let profileIdc = r.u(5);
  const compatibility = r.u(32); // general_profile_compatibility_flag[0..31], flag j at bit 31 - j
  // Like libavcodec: a stream that signals profile 0 takes the first compatible profile.
  if (profileIdc === 0) {
    for (let j = 1; j < 32; j++) {
      if (Math.floor(compatibility / 2 ** (31 - j)) % 2 === 1) {
        profileIdc = j;
        break;
      }
    }
  }
  r.skip(4 + 43 + 1); // progressive/interlaced/non_packed/frame_only, 43 constraint bits, inbld/reserved
  const levelIdc = r.u(8);
  const profilePresent: boolean[] = [];
  const levelPresent: boolean[] = [];
  for (let i = 0; i < maxNumSubLayersMinus1; i++) {
    profilePresent.push(r.flag());
    levelPresent.push(r.flag());
  }
  if (maxNumSubLayersMinus1 > 0) r.skip(2 * (8 - maxNumSubLayersMinus1)); // reserved_zero_2bits
  for (let i = 0; i < maxNumSubLayersMinus1; i++) {
    if (profilePresent[i]) r.skip(2 + 1 + 5 + 32 + 4 + 43 + 1); // sub_layer profile: 88 bits
    if (levelPresent[i]) r.skip(8); // sub_layer_level_idc
  }
  return { profileIdc, tierFlag, levelIdc };
}

/** scaling_list_data(), H.265 §7.3.4: skipped. */
function skipH265ScalingListData(r: BitReader): void {
  for (let sizeId = 0; sizeId < 4; sizeId++) {
    for (let matrixId = 0; matrixId < 6; matrixId += sizeId === 3 ? 3 : 1) {
      if (r.error) return;
      if (!r.flag()) {
        r.ue(); // scaling_list_pred_matrix_id_delta
      } else {
        const coefNum = Math.min(64, 1 << (4 + (sizeId << 1)));
        if (sizeId > 1) r.se(); // scaling_list_dc_coef_minus8
        for (let i = 0; i < coefNum && !r.error; i++) r.se(); // scaling_list_delta_coef
      }
    }
  }
}

/** Reference sets hold at most 16 pictures each way (sps_max_dec_pic_buffering ≤ 16). */
const H265_MAX_DELTA_POCS = 32;

/**
 * st_ref_pic_set(stRpsIdx) inside an SPS, H.265 §7.3.7; `numDeltaPocs` holds
 * NumDeltaPocs of the sets read so far (equation 7-71). False on a value out
 * of range.
 */
function skipStRefPicSet(r: BitReader, stRpsIdx: number, numDeltaPocs: Int32Array): boolean {
  const interRefPicSetPrediction = stRpsIdx !== 0 && r.flag();
  if (interRefPicSetPrediction) {
    // In an SPS delta_idx_minus1 is absent (it is only sent when stRpsIdx = num_short_term_ref_pic_sets,
    // i.e. in a slice header), so RefRpsIdx = stRpsIdx − 1.
    r.skip(1); // delta_rps_sign
    r.ue(); // abs_delta_rps_minus1
    const ref = numDeltaPocs[stRpsIdx - 1];
    let n = 0;
    for (let j = 0; j <= ref && !r.error; j++) {
      const usedByCurrPic = r.flag();
      const useDelta = usedByCurrPic || r.flag(); // use_delta_flag is inferred 1 when used_by_curr_pic_flag is 1
      if (useDelta) n++;
    }
    numDeltaPocs[stRpsIdx] = n;
    return n <= H265_MAX_DELTA_POCS;
  }
  const numNegative = r.ue();
  const numPositive = r.ue();
  if (numNegative > 16 || numPositive > 16) return false;
  for (let i = 0; i < numNegative + numPositive && !r.error; i++) {
    r.ue(); // delta_poc_s0/s1_minus1
    r.skip(1); // used_by_curr_pic_s0/s1_flag
  }
  numDeltaPocs[stRpsIdx] = numNegative + numPositive;
  return true;
}

/**
 * Parse an H.265 seq_parameter_set_rbsp(), ITU-T H.265 §7.3.2.2.1, from the
 * NAL unit `nal[start .. end)` (2-byte header first). Null when it is not an
 * SPS, or is truncated or out of range before the size and bit depth are
 * known. Past that point a failure (truncation, a value out of range in the
 * reference picture sets, scaling lists or long-term pictures) only leaves
 * fps and sar null: what is known is returned.
 */
export function parseH265Sps(nal: Uint8Array, start = 0, end = nal.length): VideoFormat | null {
  if (end - start < 4 || (nal[start] & 0x80) !== 0 || ((nal[start] >> 1) & 0x3f) !== H265_NAL_SPS) return null;
  const r = new BitReader(nalToRbsp(nal, start + 2, end));
  r.skip(4); // sps_video_parameter_set_id
  const maxSubLayersMinus1 = r.u(3);
  if (maxSubLayersMinus1 > 6) return null;
  r.skip(1); // sps_temporal_id_nesting_flag
  const ptl = readProfileTierLevel(r, maxSubLayersMinus1);
  if (r.ue() > 15) return null; // sps_seq_parameter_set_id
  const chromaFormatIdc = r.ue();
  if (chromaFormatIdc > 3) return null;
  const separateColourPlane = chromaFormatIdc === 3 && r.flag();
  const codedWidth = r.ue(); // pic_width_in_luma_samples
  const codedHeight = r.ue(); // pic_height_in_luma_samples
  let confLeft = 0;
  let confRight = 0;
  let confTop = 0;
  let confBottom = 0;
  if (r.flag()) {
    // conformance_window_flag
    confLeft = r.ue();
    confRight = r.ue();
    confTop = r.ue();
    confBottom = r.ue();
  }
  const bitDepthLumaMinus8 = r.ue();
  const bitDepthChromaMinus8 = r.ue();
  if (r.error || bitDepthLumaMinus8 > 8 || bitDepthChromaMinus8 > 8) return null;
  if (codedWidth === 0 || codedHeight === 0 || codedWidth > MAX_PICTURE_SIDE || codedHeight > MAX_PICTURE_SIDE) return null;
  // §7.4.3.2.1: conformance window offsets are in chroma sample units.
  const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
  const width = codedWidth - subWidthC(chromaArrayType) * (confLeft + confRight);
  const height = codedHeight - subHeightC(chromaArrayType) * (confTop + confBottom);
  if (width <= 0 || height <= 0) return null;
  const bitDepth = 8 + bitDepthLumaMinus8;
  const f: VideoFormat = {
    codec: VideoCodec.H265,
    width,
    height,
    codedWidth,
    codedHeight,
    fps: null,
    frameRate: null,
    fpsSource: null,
    profile: h265ProfileName(ptl.profileIdc),
    level: (ptl.levelIdc / 30).toFixed(1), // §A.4.1: general_level_idc = 30 × level number
    profileIdc: ptl.profileIdc,
    levelIdc: ptl.levelIdc,
    tier: ptl.tierFlag ? 'High' : 'Main',
    chromaFormatIdc,
    bitDepth,
    pixFmt: pixFmt(chromaFormatIdc, bitDepth),
    progressive: true,
    sar: null,
  };
  readH265SpsTail(r, f, maxSubLayersMinus1);
  return f;
}

/** From log2_max_pic_order_cnt_lsb_minus4 to the VUI timing; stops at the first inconsistency. */
function readH265SpsTail(r: BitReader, f: VideoFormat, maxSubLayersMinus1: number): void {
  const log2MaxPocLsb = r.ue() + 4;
  if (log2MaxPocLsb > 16) return;
  const subLayerOrderingInfoPresent = r.flag();
  for (let i = subLayerOrderingInfoPresent ? 0 : maxSubLayersMinus1; i <= maxSubLayersMinus1; i++) {
    r.ue(); // sps_max_dec_pic_buffering_minus1
    r.ue(); // sps_max_num_reorder_pics
    r.ue(); // sps_max_latency_increase_plus1
  }
  r.ue(); // log2_min_luma_coding_block_size_minus3
  r.ue(); // log2_diff_max_min_luma_coding_block_size
  r.ue(); // log2_min_luma_transform_block_size_minus2
  r.ue(); // log2_diff_max_min_luma_transform_block_size
  r.ue(); // max_transform_hierarchy_depth_inter
  r.ue(); // max_transform_hierarchy_depth_intra
  if (r.flag() && r.flag()) skipH265ScalingListData(r); // scaling_list_enabled_flag, sps_scaling_list_data_present_flag
  r.skip(2); // amp_enabled_flag, sample_adaptive_offset_enabled_flag
  if (r.flag()) {
    // pcm_enabled_flag
    r.skip(8); // pcm_sample_bit_depth_luma_minus1(4), pcm_sample_bit_depth_chroma_minus1(4)
    r.ue(); // log2_min_pcm_luma_coding_block_size_minus3
    r.ue(); // log2_diff_max_min_pcm_luma_coding_block_size
    r.skip(1); // pcm_loop_filter_disabled_flag
  }
  const numShortTermRefPicSets = r.ue();
  if (r.error || numShortTermRefPicSets > 64) return;
  const numDeltaPocs = new Int32Array(numShortTermRefPicSets + 1);
  for (let i = 0; i < numShortTermRefPicSets; i++) if (!skipStRefPicSet(r, i, numDeltaPocs) || r.error) return;
  if (r.flag()) {
    // long_term_ref_pics_present_flag
    const numLongTermRefPicsSps = r.ue();
    if (numLongTermRefPicsSps > 32) return;
    for (let i = 0; i < numLongTermRefPicsSps && !r.error; i++) r.skip(log2MaxPocLsb + 1); // lt_ref_pic_poc_lsb_sps, used_by_curr_pic_lt_sps_flag
  }
  r.skip(2); // sps_temporal_mvp_enabled_flag, strong_intra_smoothing_enabled_flag
  if (r.error || !r.flag()) return; // vui_parameters_present_flag
  readH265Vui(r, f);
}

/** vui_parameters(), H.265 §E.2.1, as far as vui_timing_info. */
function readH265Vui(r: BitReader, f: VideoFormat): void {
  const sar = r.flag() ? readSar(r) : null; // aspect_ratio_info_present_flag
  skipVuiSignalAndChromaLoc(r);
  r.skip(1); // neutral_chroma_indication_flag
  const fieldSeq = r.flag(); // field_seq_flag: each picture is a field
  r.skip(1); // frame_field_info_present_flag
  if (r.flag()) {
    // default_display_window_flag: a display hint; libavcodec ignores it by default, so do we.
    r.ue();
    r.ue();
    r.ue();
    r.ue();
  }
  let frameRate: Ratio | null = null;
  if (r.flag()) {
    // vui_timing_info_present_flag. §E.3.1: a tick is a picture period here, fps = time_scale ÷ num_units_in_tick.
    const numUnitsInTick = r.u(32);
    const timeScale = r.u(32);
    frameRate = ratio(timeScale, numUnitsInTick);
  }
  if (r.error) return;
  f.sar = sar;
  f.progressive = !fieldSeq;
  setFrameRate(f, frameRate, FpsSource.VUI);
}

// ------------------------------------------------------------------ audio

/** sampling_frequency_index, ISO/IEC 14496-3 Table 1.18 (13..15 reserved / escape). */
const AAC_SAMPLE_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];
/** ADTS profile_ObjectType + 1 = audio object type (14496-3 Table 1.17), by ffprobe's names. */
const AAC_PROFILES = ['Main', 'LC', 'SSR', 'LTP'];
/** Length of an ADTS header without CRC, ISO/IEC 13818-7 §6.2.1. */
export const ADTS_HEADER_BYTES = 7;

/**
 * adts_fixed_header(), ISO/IEC 13818-7 §6.2.1 / 14496-3 §1.A.2.2.1, at `buf[off]`:
 *
 *   syncword(12) 0xFFF | ID(1) layer(2) = 00 | protection_absent(1)
 *   profile_ObjectType(2) sampling_frequency_index(4) private_bit(1) channel_configuration(3)
 *   original_copy(1) home(1) | variable header: ... aac_frame_length(13) ...
 *
 * Fills `out`; false when the bytes are not a valid header. HE-AAC (SBR) is
 * implicit in ADTS: the header, and so `out`, says LC at the core (half) rate.
 */
export function parseAdtsHeader(buf: Uint8Array, off: number, end: number, out: AudioFormat): boolean {
  if (end - off < ADTS_HEADER_BYTES) return false;
  const b1 = buf[off + 1];
  if (buf[off] !== 0xff || (b1 & 0xf6) !== 0xf0) return false; // sync, layer 00
  const b2 = buf[off + 2];
  const sfi = (b2 >> 2) & 0x0f;
  if (sfi >= AAC_SAMPLE_RATES.length) return false;
  const frameLength = ((buf[off + 3] & 0x03) << 11) | (buf[off + 4] << 3) | (buf[off + 5] >> 5);
  if (frameLength < ADTS_HEADER_BYTES) return false;
  const channelConfiguration = ((b2 & 0x01) << 2) | (buf[off + 3] >> 6);
  out.codec = AudioCodec.AAC;
  out.sampleRate = AAC_SAMPLE_RATES[sfi];
  out.channels = channelConfiguration === 7 ? 8 : channelConfiguration; // 14496-3 Table 1.19: 7 is 7.1
  out.profile = AAC_PROFILES[b2 >> 6];
  return true;
}

/** ISO/IEC 11172-3 §2.4.2.3 / 13818-3 §2.4.2.3 sampling_frequency, by version (MPEG-1, MPEG-2 LSF, MPEG-2.5). */
const MPA_SAMPLE_RATES_V1 = [44100, 48000, 32000];
const MPA_SAMPLE_RATES_V2 = [22050, 24000, 16000];
const MPA_SAMPLE_RATES_V25 = [11025, 12000, 8000];

/**
 * MPEG audio frame header, ISO/IEC 11172-3 §2.4.1.3 (and the 13818-3 LSF /
 * unofficial MPEG-2.5 extensions):
 *
 *   syncword(11) | version(2) 11 MPEG-1, 10 MPEG-2, 00 MPEG-2.5 | layer(2) 11 I, 10 II, 01 III | protection_bit(1)
 *   bitrate_index(4) sampling_frequency(2) padding_bit(1) private_bit(1)
 *   mode(2) 11 single_channel | mode_extension(2) copyright original emphasis(2)
 */
export function parseMpegAudioHeader(buf: Uint8Array, off: number, end: number, out: AudioFormat): boolean {
  if (end - off < 4) return false;
  const b1 = buf[off + 1];
  if (buf[off] !== 0xff || (b1 & 0xe0) !== 0xe0) return false;
  const version = (b1 >> 3) & 0x03;
  const layer = (b1 >> 1) & 0x03;
  const b2 = buf[off + 2];
  const bitrateIndex = b2 >> 4;
  const sfi = (b2 >> 2) & 0x03;
  if (version === 1 || layer === 0 || bitrateIndex === 15 || sfi === 3) return false; // reserved values
  out.codec = layer === 3 ? AudioCodec.MP1 : layer === 2 ? AudioCodec.MP2 : AudioCodec.MP3;
  out.sampleRate = (version === 3 ? MPA_SAMPLE_RATES_V1 : version === 2 ? MPA_SAMPLE_RATES_V2 : MPA_SAMPLE_RATES_V25)[sfi];
  out.channels = buf[off + 3] >> 6 === 3 ? 1 : 2;
  out.profile = null;
  return true;
}

/** ATSC A/52 §5.4.1.3 fscod; for E-AC-3 fscod 3, Annex E §E.2.3.1.3 fscod2 gives the half rates. */
const AC3_SAMPLE_RATES = [48000, 44100, 32000];
const EAC3_REDUCED_SAMPLE_RATES = [24000, 22050, 16000];
/** A/52 Table 5.8 acmod → full-bandwidth channels. */
const AC3_CHANNELS = [2, 1, 2, 3, 3, 4, 4, 5];
/** The fields up to lfeon fit in the first 8 bytes of either syncinfo + bsi. */
export const AC3_HEADER_BYTES = 8;

/**
 * AC-3 syncinfo() + the start of bsi(), ATSC A/52 §5.3.1-5.3.2, or the E-AC-3
 * form of Annex E §E.2.2 (told apart by bsid, which sits at the same place):
 *
 *   AC-3:   syncword 0x0B77 | crc1(16) | fscod(2) frmsizecod(6) | bsid(5) bsmod(3) | acmod(3) [cmixlev(2)] [surmixlev(2)] [dsurmod(2)] lfeon(1)
 *   E-AC-3: syncword 0x0B77 | strmtyp(2) substreamid(3) frmsiz(11) | fscod(2) fscod2|numblkscod(2) acmod(3) lfeon(1) | bsid(5) ...
 *
 * E-AC-3 channels are those of independent substream 0 (a 7.1 dependent
 * substream is not looked at).
 */
export function parseAc3Header(buf: Uint8Array, off: number, end: number, out: AudioFormat): boolean {
  if (end - off < AC3_HEADER_BYTES) return false;
  if (buf[off] !== 0x0b || buf[off + 1] !== 0x77) return false;
  const bsid = buf[off + 5] >> 3;
  if (bsid <= 10) {
    // A/52 §5.4.2.1: decoders accept bsid up to 8 (and 9, 10 for the half/quarter-rate variants of Annex C).
    const fscod = buf[off + 4] >> 6;
    if (fscod === 3 || (buf[off + 4] & 0x3f) >= 38) return false; // frmsizecod 0..37
    const bits = (buf[off + 6] << 8) | buf[off + 7]; // acmod and what follows it, MSB first
    const acmod = bits >> 13;
    let at = 3;
    if ((acmod & 1) !== 0 && acmod !== 1) at += 2; // cmixlev: three front channels
    if ((acmod & 4) !== 0) at += 2; // surmixlev: a surround channel
    if (acmod === 2) at += 2; // dsurmod: 2/0 mode
    const lfeon = (bits >> (15 - at)) & 1;
    out.codec = AudioCodec.AC3;
    out.sampleRate = AC3_SAMPLE_RATES[fscod] >> Math.max(0, bsid - 8); // bsid 9, 10: half, quarter rate
    out.channels = AC3_CHANNELS[acmod] + lfeon;
    out.profile = null;
    return true;
  }
  if (bsid > 16) return false;
  const strmtyp = buf[off + 2] >> 6;
  if (strmtyp === 1 || strmtyp === 3) return false; // a dependent substream (its channels add to another), or reserved
  const b4 = buf[off + 4];
  const fscod = b4 >> 6;
  let sampleRate: number;
  if (fscod === 3) {
    const fscod2 = (b4 >> 4) & 0x03;
    if (fscod2 === 3) return false;
    sampleRate = EAC3_REDUCED_SAMPLE_RATES[fscod2];
  } else {
    sampleRate = AC3_SAMPLE_RATES[fscod];
  }
  out.codec = AudioCodec.EAC3;
  out.sampleRate = sampleRate;
  out.channels = AC3_CHANNELS[(b4 >> 1) & 0x07] + (b4 & 0x01);
  out.profile = null;
  return true;
}
