/**
 * SPS vectors written field by field from the syntax tables (H.264
 * §7.3.2.1.1 + Annex E.1.1, H.265 §7.3.2.2.1 + §7.3.3 + §7.3.7 + Annex
 * E.2.1), one table with three uses (STYLE.md §7): the parser test, the
 * truncation test, and the seeds of the fast-check properties. The writer
 * is checked against a real peer: ffmpeg's own SPS reader (the
 * trace_headers bitstream filter) must read back the same field values.
 *
 * Each case covers syntax the ffmpeg-made clips never produce: pic order
 * count type 1, SPS scaling lists (x264 sends its CQM in the PPS), 4:4:4
 * with separate colour planes, field coding, HRD parameters, H.265
 * sub-layers, inter-predicted reference picture sets, long-term pictures
 * and PCM.
 */
import type { VideoFormat } from '../../../../core/codec/sps.js';

/** MSB-first writer with Exp-Golomb codes; `nal()` adds rbsp_trailing_bits and emulation prevention. */
export class BitWriter {
  private readonly bits: number[] = [];

  u(n: number, v: number): this {
    for (let i = n - 1; i >= 0; i--) this.bits.push(Math.floor(v / 2 ** i) % 2);
    return this;
  }

  flag(b: boolean | number): this {
    return this.u(1, b ? 1 : 0);
  }

  ue(v: number): this {
    const x = v + 1;
    let len = 0;
    while (2 ** len <= x) len++;
    return this.u(len - 1, 0).u(len, x);
  }

  se(v: number): this {
    return this.ue(v > 0 ? 2 * v - 1 : -2 * v);
  }

  /** The RBSP (with rbsp_stop_one_bit and alignment) as a NAL unit after `header`, emulation-prevented. */
  nal(header: number[]): Buffer {
    const bits = [...this.bits, 1];
    while (bits.length % 8 !== 0) bits.push(0);
    const out = [...header];
    let zeros = 0;
    for (let i = 0; i < bits.length; i += 8) {
      let b = 0;
      for (let k = 0; k < 8; k++) b = b * 2 + bits[i + k];
      if (zeros >= 2 && b <= 3) {
        out.push(3); // emulation_prevention_three_byte
        zeros = 0;
      }
      out.push(b);
      zeros = b === 0 ? zeros + 1 : 0;
    }
    return Buffer.from(out);
  }
}

// ------------------------------------------------------------------ H.264

export interface H264Fields {
  profile_idc: number;
  constraint_flags: number;
  level_idc: number;
  seq_parameter_set_id: number;
  chroma_format_idc?: number;
  separate_colour_plane_flag?: number;
  bit_depth_luma_minus8?: number;
  bit_depth_chroma_minus8?: number;
  /** Per list i, the delta_scale values (stop once nextScale hits 0), or null: not present. Absent: no matrix. */
  scaling_lists?: (number[] | null)[];
  log2_max_frame_num_minus4: number;
  pic_order_cnt_type: number;
  log2_max_pic_order_cnt_lsb_minus4?: number;
  offset_for_non_ref_pic?: number;
  offset_for_top_to_bottom_field?: number;
  offset_for_ref_frame?: number[];
  max_num_ref_frames: number;
  pic_width_in_mbs_minus1: number;
  pic_height_in_map_units_minus1: number;
  frame_mbs_only_flag: number;
  frame_crop?: [number, number, number, number];
  vui?: {
    aspect_ratio_idc?: number;
    sar?: [number, number];
    video_signal?: [number, number, number, number, number] | [number, number];
    chroma_loc?: [number, number];
    timing?: [number, number, number];
    /** nal_hrd_parameters(): one CPB. */
    nal_hrd?: boolean;
  };
}

const H264_HIGH = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

export function writeH264Sps(f: H264Fields): Buffer {
  const w = new BitWriter();
  w.u(8, f.profile_idc).u(8, f.constraint_flags).u(8, f.level_idc).ue(f.seq_parameter_set_id);
  if (H264_HIGH.has(f.profile_idc)) {
    const cf = f.chroma_format_idc ?? 1;
    w.ue(cf);
    if (cf === 3) w.flag(f.separate_colour_plane_flag ?? 0);
    w.ue(f.bit_depth_luma_minus8 ?? 0).ue(f.bit_depth_chroma_minus8 ?? 0);
    w.flag(0); // qpprime_y_zero_transform_bypass_flag
    w.flag(f.scaling_lists !== undefined);
    if (f.scaling_lists !== undefined) {
      const n = cf !== 3 ? 8 : 12;
      for (let i = 0; i < n; i++) {
        const list = f.scaling_lists[i] ?? null;
        w.flag(list !== null);
        if (list === null) continue;
        const size = i < 6 ? 16 : 64;
        let last = 8;
        let next = 8;
        for (let j = 0; j < size; j++) {
          if (next !== 0) {
            const d = list[j] ?? 0;
            w.se(d);
            next = (last + d + 256) % 256;
          }
          last = next === 0 ? last : next;
        }
      }
    }
  }
  w.ue(f.log2_max_frame_num_minus4).ue(f.pic_order_cnt_type);
  if (f.pic_order_cnt_type === 0) w.ue(f.log2_max_pic_order_cnt_lsb_minus4 ?? 0);
  else if (f.pic_order_cnt_type === 1) {
    w.flag(0).se(f.offset_for_non_ref_pic ?? 0).se(f.offset_for_top_to_bottom_field ?? 0);
    const refs = f.offset_for_ref_frame ?? [];
    w.ue(refs.length);
    for (const o of refs) w.se(o);
  }
  w.ue(f.max_num_ref_frames).flag(0); // gaps_in_frame_num_value_allowed_flag
  w.ue(f.pic_width_in_mbs_minus1).ue(f.pic_height_in_map_units_minus1).flag(f.frame_mbs_only_flag);
  if (!f.frame_mbs_only_flag) w.flag(1); // mb_adaptive_frame_field_flag
  w.flag(1); // direct_8x8_inference_flag
  w.flag(f.frame_crop !== undefined);
  if (f.frame_crop !== undefined) for (const c of f.frame_crop) w.ue(c);
  w.flag(f.vui !== undefined);
  const v = f.vui;
  if (v !== undefined) {
    w.flag(v.aspect_ratio_idc !== undefined);
    if (v.aspect_ratio_idc !== undefined) {
      w.u(8, v.aspect_ratio_idc);
      if (v.aspect_ratio_idc === 255) w.u(16, v.sar![0]).u(16, v.sar![1]);
    }
    w.flag(0); // overscan_info_present_flag
    w.flag(v.video_signal !== undefined);
    if (v.video_signal !== undefined) {
      w.u(3, v.video_signal[0]).flag(v.video_signal[1]).flag(v.video_signal.length === 5);
      if (v.video_signal.length === 5) w.u(8, v.video_signal[2]).u(8, v.video_signal[3]).u(8, v.video_signal[4]);
    }
    w.flag(v.chroma_loc !== undefined);
    if (v.chroma_loc !== undefined) w.ue(v.chroma_loc[0]).ue(v.chroma_loc[1]);
    w.flag(v.timing !== undefined);
    if (v.timing !== undefined) w.u(32, v.timing[0]).u(32, v.timing[1]).flag(v.timing[2]);
    w.flag(v.nal_hrd === true);
    if (v.nal_hrd === true) {
      // hrd_parameters(), §E.1.2: one CPB, 5 Mbit/s (78124 + 1) · 2^6, 625 kbit.
      w.ue(0).u(4, 0).u(4, 0).ue(78124).ue(39061).flag(0).u(5, 23).u(5, 23).u(5, 23).u(5, 24);
    }
    w.flag(0); // vcl_hrd_parameters_present_flag
    if (v.nal_hrd === true) w.flag(0); // low_delay_hrd_flag
    w.flag(0); // pic_struct_present_flag
    w.flag(0); // bitstream_restriction_flag
  }
  return w.nal([0x67]); // nal_ref_idc 3, nal_unit_type 7
}

export interface H264Case {
  name: string;
  fields: H264Fields;
  /** What parseH264Sps must give (compared with t.match). */
  want: Partial<VideoFormat>;
}

export const H264_CASES: H264Case[] = [
  {
    name: 'Baseline CIF, pic_order_cnt_type 1 with a 3-entry cycle, no VUI',
    fields: {
      profile_idc: 66,
      constraint_flags: 0xc0, // constraint_set0 + set1: Constrained Baseline
      level_idc: 30,
      seq_parameter_set_id: 0,
      log2_max_frame_num_minus4: 0,
      pic_order_cnt_type: 1,
      offset_for_non_ref_pic: -2,
      offset_for_top_to_bottom_field: 1,
      offset_for_ref_frame: [2, -4, 6],
      max_num_ref_frames: 3,
      pic_width_in_mbs_minus1: 21, // 352
      pic_height_in_map_units_minus1: 17, // 288
      frame_mbs_only_flag: 1,
    },
    want: { codec: 'h264', width: 352, height: 288, fps: null, sar: null, profile: 'Constrained Baseline', level: '3.0', pixFmt: 'yuv420p', progressive: true },
  },
  {
    name: 'High 1080p29.97: crop 8 rows, SPS scaling lists (default, explicit, use-default), Extended_SAR, HRD after the timing',
    fields: {
      profile_idc: 100,
      constraint_flags: 0,
      level_idc: 40,
      seq_parameter_set_id: 1,
      chroma_format_idc: 1,
      scaling_lists: [
        [1, 2, 3, -1, 0, 5, -6, 7, 8, -9, 10, 11, -12, 13, 14, 15],
        null,
        [-8], // nextScale 0 at j = 0: useDefaultScalingMatrixFlag
        null,
        [127, -128, 1],
        null,
        Array.from({ length: 64 }, (_, j) => (j % 2 === 0 ? 100 : -99)),
        [0, 0, -8],
      ],
      log2_max_frame_num_minus4: 5,
      pic_order_cnt_type: 0,
      log2_max_pic_order_cnt_lsb_minus4: 6,
      max_num_ref_frames: 4,
      pic_width_in_mbs_minus1: 119, // 1920
      pic_height_in_map_units_minus1: 67, // 1088
      frame_mbs_only_flag: 1,
      frame_crop: [0, 0, 0, 4], // 4 × CropUnitY 2 = 8 rows
      vui: {
        aspect_ratio_idc: 255,
        sar: [4, 3],
        video_signal: [5, 0, 1, 1, 1],
        chroma_loc: [0, 0],
        timing: [1001, 60000, 1],
        nal_hrd: true,
      },
    },
    want: { width: 1920, height: 1080, codedHeight: 1088, fps: 30000 / 1001, frameRate: { num: 30000, den: 1001 }, fpsSource: 'vui', sar: { num: 4, den: 3 }, profile: 'High', level: '4.0' },
  },
  {
    name: 'High 4:4:4 Predictive 10-bit, separate colour planes (crop units of 1), twelve scaling-list flags',
    fields: {
      profile_idc: 244,
      constraint_flags: 0,
      level_idc: 51,
      seq_parameter_set_id: 2,
      chroma_format_idc: 3,
      separate_colour_plane_flag: 1,
      bit_depth_luma_minus8: 2,
      bit_depth_chroma_minus8: 2,
      scaling_lists: [null, null, null, null, null, null, null, null, [3, -3], null, null, [-8]],
      log2_max_frame_num_minus4: 0,
      pic_order_cnt_type: 2,
      max_num_ref_frames: 1,
      pic_width_in_mbs_minus1: 79, // 1280
      pic_height_in_map_units_minus1: 44, // 720
      frame_mbs_only_flag: 1,
      frame_crop: [1, 3, 2, 5], // ChromaArrayType 0: 1 sample per unit
      vui: { aspect_ratio_idc: 1, timing: [1, 100, 1] },
    },
    want: { width: 1276, height: 713, chromaFormatIdc: 3, bitDepth: 10, pixFmt: 'yuv444p10le', fps: 50, sar: { num: 1, den: 1 }, profile: 'High 4:4:4 Predictive', level: '5.1' },
  },
  {
    name: 'Main 1080i25: field coding doubles the map units and the crop unit',
    fields: {
      profile_idc: 77,
      constraint_flags: 0,
      level_idc: 40,
      seq_parameter_set_id: 0,
      log2_max_frame_num_minus4: 4,
      pic_order_cnt_type: 0,
      log2_max_pic_order_cnt_lsb_minus4: 4,
      max_num_ref_frames: 4,
      pic_width_in_mbs_minus1: 119,
      pic_height_in_map_units_minus1: 33, // 34 map units of 2 × 16 rows = 1088
      frame_mbs_only_flag: 0,
      frame_crop: [0, 0, 0, 2], // 2 × CropUnitY 4 = 8 rows
      vui: { aspect_ratio_idc: 1, video_signal: [5, 0], timing: [1, 50, 1] },
    },
    want: { width: 1920, height: 1080, progressive: false, fps: 25, profile: 'Main', level: '4.0' },
  },
  {
    name: 'Baseline level 1b (level_idc 11 + constraint_set3), reserved aspect_ratio_idc, no timing',
    fields: {
      profile_idc: 66,
      constraint_flags: 0x10,
      level_idc: 11,
      seq_parameter_set_id: 31,
      log2_max_frame_num_minus4: 12,
      pic_order_cnt_type: 2,
      max_num_ref_frames: 1,
      pic_width_in_mbs_minus1: 10, // 176
      pic_height_in_map_units_minus1: 8, // 144
      frame_mbs_only_flag: 1,
      vui: { aspect_ratio_idc: 200 },
    },
    want: { width: 176, height: 144, level: '1b', profile: 'Baseline', sar: null, fps: null, fpsSource: null },
  },
];

// ------------------------------------------------------------------ H.265

export interface H265SubLayer {
  profile?: number;
  level?: number;
}

export type H265Rps =
  | { negative: [number, number][]; positive: [number, number][] }
  | { inter: { sign: number; absDeltaRpsMinus1: number; flags: [number, number][] } };

export interface H265Fields {
  sps_max_sub_layers_minus1: number;
  general_tier_flag: number;
  general_profile_idc: number;
  /** general_profile_compatibility_flag[0..31] as a u32, flag j at bit 31 − j. */
  general_profile_compatibility: number;
  general_level_idc: number;
  sub_layers?: H265SubLayer[];
  sps_seq_parameter_set_id: number;
  chroma_format_idc: number;
  separate_colour_plane_flag?: number;
  pic_width_in_luma_samples: number;
  pic_height_in_luma_samples: number;
  conformance_window?: [number, number, number, number];
  bit_depth_luma_minus8: number;
  bit_depth_chroma_minus8: number;
  log2_max_pic_order_cnt_lsb_minus4: number;
  sps_sub_layer_ordering_info_present_flag: number;
  scaling_list_data?: boolean;
  pcm?: boolean;
  st_ref_pic_sets: H265Rps[];
  long_term_ref_pics?: [number, number][];
  vui?: {
    aspect_ratio_idc?: number;
    sar?: [number, number];
    video_signal?: boolean;
    chroma_loc?: boolean;
    field_seq_flag?: number;
    default_display_window?: [number, number, number, number];
    timing?: [number, number];
  };
}

/** profile_tier_level(1, maxNumSubLayersMinus1), §7.3.3. */
function writePtl(w: BitWriter, f: Pick<H265Fields, 'general_tier_flag' | 'general_profile_idc' | 'general_profile_compatibility' | 'general_level_idc' | 'sub_layers'>, maxSubLayersMinus1: number): void {
  w.u(2, 0).flag(f.general_tier_flag).u(5, f.general_profile_idc).u(32, f.general_profile_compatibility);
  w.flag(1).flag(0).flag(0).flag(1); // progressive_source, interlaced_source, non_packed_constraint, frame_only_constraint
  w.u(43, 0).flag(0); // general_reserved_zero_43bits, general_inbld_flag
  w.u(8, f.general_level_idc);
  const subs = f.sub_layers ?? [];
  for (let i = 0; i < maxSubLayersMinus1; i++) w.flag(subs[i]?.profile !== undefined).flag(subs[i]?.level !== undefined);
  if (maxSubLayersMinus1 > 0) for (let i = maxSubLayersMinus1; i < 8; i++) w.u(2, 0);
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    const s = subs[i] ?? {};
    if (s.profile !== undefined) {
      w.u(2, 0).flag(0).u(5, s.profile).u(32, 2 ** (31 - s.profile));
      w.flag(1).flag(0).flag(0).flag(1).u(43, 0).flag(0);
    }
    if (s.level !== undefined) w.u(8, s.level);
  }
}

/**
 * A VPS for ffmpeg (its HEVC parser wants one before it reads an SPS), with
 * the SPS's sps_max_sub_layers_minus1: §7.4.3.2.1 allows less in the SPS,
 * but ffmpeg 5.1's reader (cbs_h265) wrongly rejects an SPS below its VPS.
 */
export function writeH265Vps(maxSubLayersMinus1: number): Buffer {
  const w = new BitWriter();
  // id, base layer internal/available, layers, sub-layers, nesting, reserved
  w.u(4, 0).flag(1).flag(1).u(6, 0).u(3, maxSubLayersMinus1).flag(maxSubLayersMinus1 === 0 ? 1 : 0).u(16, 0xffff);
  writePtl(w, { general_tier_flag: 0, general_profile_idc: 1, general_profile_compatibility: 0x60000000, general_level_idc: 186 }, maxSubLayersMinus1);
  w.flag(0); // vps_sub_layer_ordering_info_present_flag: one entry, for the highest sub-layer
  w.ue(5).ue(2).ue(0);
  w.u(6, 0).ue(0).flag(0).flag(0); // vps_max_layer_id, num_layer_sets_minus1, timing_info, extension
  return w.nal([0x40, 0x01]);
}

export function writeH265Sps(f: H265Fields): Buffer {
  const w = new BitWriter();
  const maxSub = f.sps_max_sub_layers_minus1;
  w.u(4, 0).u(3, maxSub).flag(maxSub === 0 ? 1 : 0); // sps_video_parameter_set_id, max sub-layers, temporal_id_nesting
  writePtl(w, f, maxSub);
  w.ue(f.sps_seq_parameter_set_id).ue(f.chroma_format_idc);
  if (f.chroma_format_idc === 3) w.flag(f.separate_colour_plane_flag ?? 0);
  w.ue(f.pic_width_in_luma_samples).ue(f.pic_height_in_luma_samples);
  w.flag(f.conformance_window !== undefined);
  if (f.conformance_window !== undefined) for (const c of f.conformance_window) w.ue(c);
  w.ue(f.bit_depth_luma_minus8).ue(f.bit_depth_chroma_minus8).ue(f.log2_max_pic_order_cnt_lsb_minus4);
  w.flag(f.sps_sub_layer_ordering_info_present_flag);
  for (let i = f.sps_sub_layer_ordering_info_present_flag ? 0 : maxSub; i <= maxSub; i++) w.ue(4).ue(2).ue(0);
  // 8×8 minimum CB, 64×64 CTB, 4×4 .. 32×32 TB, hierarchy depths 1.
  w.ue(0).ue(3).ue(0).ue(3).ue(1).ue(1);
  w.flag(f.scaling_list_data === true);
  if (f.scaling_list_data === true) {
    w.flag(1); // sps_scaling_list_data_present_flag
    for (let sizeId = 0; sizeId < 4; sizeId++) {
      for (let matrixId = 0; matrixId < 6; matrixId += sizeId === 3 ? 3 : 1) {
        const explicit = (sizeId + matrixId) % 2 === 0;
        w.flag(explicit); // scaling_list_pred_mode_flag
        if (!explicit) {
          w.ue(matrixId === 0 ? 0 : 1); // scaling_list_pred_matrix_id_delta
          continue;
        }
        const coefNum = Math.min(64, 1 << (4 + (sizeId << 1)));
        if (sizeId > 1) w.se(8); // scaling_list_dc_coef_minus8: 16
        for (let i = 0; i < coefNum; i++) w.se(i === 0 ? 8 : i % 3 === 0 ? 1 : 0); // nextCoef stays in 1..255
      }
    }
  }
  w.flag(1).flag(1); // amp_enabled_flag, sample_adaptive_offset_enabled_flag
  w.flag(f.pcm === true);
  if (f.pcm === true) w.u(4, 7).u(4, 7).ue(0).ue(1).flag(1); // 8-bit PCM, 8×8 .. 16×16, loop filter disabled
  w.ue(f.st_ref_pic_sets.length);
  f.st_ref_pic_sets.forEach((rps, idx) => {
    if (idx !== 0) w.flag('inter' in rps);
    if ('inter' in rps) {
      w.flag(rps.inter.sign).ue(rps.inter.absDeltaRpsMinus1);
      for (const [used, useDelta] of rps.inter.flags) {
        w.flag(used);
        if (!used) w.flag(useDelta);
      }
    } else {
      w.ue(rps.negative.length).ue(rps.positive.length);
      for (const [d, used] of [...rps.negative, ...rps.positive]) w.ue(d).flag(used);
    }
  });
  w.flag(f.long_term_ref_pics !== undefined);
  if (f.long_term_ref_pics !== undefined) {
    w.ue(f.long_term_ref_pics.length);
    for (const [lsb, used] of f.long_term_ref_pics) w.u(f.log2_max_pic_order_cnt_lsb_minus4 + 4, lsb).flag(used);
  }
  w.flag(1).flag(1); // sps_temporal_mvp_enabled_flag, strong_intra_smoothing_enabled_flag
  w.flag(f.vui !== undefined);
  const v = f.vui;
  if (v !== undefined) {
    w.flag(v.aspect_ratio_idc !== undefined);
    if (v.aspect_ratio_idc !== undefined) {
      w.u(8, v.aspect_ratio_idc);
      if (v.aspect_ratio_idc === 255) w.u(16, v.sar![0]).u(16, v.sar![1]);
    }
    w.flag(1).flag(0); // overscan_info_present_flag, overscan_appropriate_flag
    w.flag(v.video_signal === true);
    if (v.video_signal === true) w.u(3, 5).flag(0).flag(1).u(8, 9).u(8, 16).u(8, 9); // BT.2020 PQ
    w.flag(v.chroma_loc === true);
    if (v.chroma_loc === true) w.ue(2).ue(2);
    w.flag(0).flag(v.field_seq_flag ?? 0).flag(0); // neutral_chroma_indication, field_seq, frame_field_info_present
    w.flag(v.default_display_window !== undefined);
    if (v.default_display_window !== undefined) for (const o of v.default_display_window) w.ue(o);
    w.flag(v.timing !== undefined);
    if (v.timing !== undefined) {
      w.u(32, v.timing[0]).u(32, v.timing[1]);
      w.flag(1).ue(0); // vui_poc_proportional_to_timing_flag, vui_num_ticks_poc_diff_one_minus1
      w.flag(0); // vui_hrd_parameters_present_flag
    }
    w.flag(0); // bitstream_restriction_flag
  }
  w.flag(0); // sps_extension_present_flag
  return w.nal([0x42, 0x01]); // nal_unit_type 33, layer 0, temporal_id_plus1 1
}

export interface H265Case {
  name: string;
  fields: H265Fields;
  want: Partial<VideoFormat>;
}

const MAIN_COMPAT = 0x60000000; // general_profile_compatibility_flag[1] and [2]

export const H265_CASES: H265Case[] = [
  {
    name: 'Main 1080p50 with conformance window, 3 sub-layers, inter-predicted RPS, long-term pictures, scaling lists, PCM',
    fields: {
      sps_max_sub_layers_minus1: 2,
      general_tier_flag: 0,
      general_profile_idc: 1,
      general_profile_compatibility: MAIN_COMPAT,
      general_level_idc: 123,
      sub_layers: [{ profile: 1, level: 120 }, { level: 93 }],
      sps_seq_parameter_set_id: 0,
      chroma_format_idc: 1,
      pic_width_in_luma_samples: 1920,
      pic_height_in_luma_samples: 1088,
      conformance_window: [0, 0, 0, 4], // 4 × SubHeightC 2 = 8 rows
      bit_depth_luma_minus8: 0,
      bit_depth_chroma_minus8: 0,
      log2_max_pic_order_cnt_lsb_minus4: 4,
      sps_sub_layer_ordering_info_present_flag: 1,
      scaling_list_data: true,
      pcm: true,
      st_ref_pic_sets: [
        { negative: [[0, 1], [1, 1], [3, 0]], positive: [[0, 1]] },
        // §7.4.8 (7-61), flag j over set 0's {S0 −1 −3 −7, S1 +1, itself} moved by deltaRps −1:
        // keeps −2, −4 and −1; drops −8 and 0 (a picture cannot reference itself).
        { inter: { sign: 1, absDeltaRpsMinus1: 0, flags: [[1, 1], [0, 1], [0, 0], [0, 0], [1, 1]] } },
        // Over set 1's {−1 −2 −4, itself} moved by +2: keeps +1, −2, +2; drops 0.
        { inter: { sign: 0, absDeltaRpsMinus1: 1, flags: [[1, 1], [0, 0], [0, 1], [1, 1]] } },
        { negative: [[0, 1]], positive: [] },
      ],
      long_term_ref_pics: [
        [5, 1],
        [200, 0],
      ],
      vui: { aspect_ratio_idc: 1, video_signal: true, chroma_loc: true, default_display_window: [0, 0, 2, 2], timing: [1, 50] },
    },
    want: { codec: 'h265', width: 1920, height: 1080, codedHeight: 1088, fps: 50, fpsSource: 'vui', sar: { num: 1, den: 1 }, profile: 'Main', tier: 'Main', level: '4.1', pixFmt: 'yuv420p' },
  },
  {
    name: 'Rext 4:2:2 10-bit High tier, field_seq_flag, 29.97 fields as 59.94 pictures, Extended_SAR',
    fields: {
      sps_max_sub_layers_minus1: 0,
      general_tier_flag: 1,
      general_profile_idc: 4,
      general_profile_compatibility: 0x08000000,
      general_level_idc: 150,
      sps_seq_parameter_set_id: 3,
      chroma_format_idc: 2,
      pic_width_in_luma_samples: 1920,
      pic_height_in_luma_samples: 544,
      conformance_window: [0, 0, 0, 4], // SubHeightC 1 for 4:2:2: 4 rows
      bit_depth_luma_minus8: 2,
      bit_depth_chroma_minus8: 2,
      log2_max_pic_order_cnt_lsb_minus4: 8,
      sps_sub_layer_ordering_info_present_flag: 0,
      st_ref_pic_sets: [],
      vui: { aspect_ratio_idc: 255, sar: [16, 15], field_seq_flag: 1, timing: [1001, 60000] },
    },
    want: { width: 1920, height: 540, chromaFormatIdc: 2, bitDepth: 10, pixFmt: 'yuv422p10le', progressive: false, tier: 'High', profile: 'Rext', level: '5.0', fps: 60000 / 1001, sar: { num: 16, den: 15 } },
  },
  {
    name: 'profile_idc 0 takes the first compatible profile (Main 10); no VUI leaves fps to the DTS',
    fields: {
      sps_max_sub_layers_minus1: 1,
      general_tier_flag: 0,
      general_profile_idc: 0,
      general_profile_compatibility: 0x20000000, // flag 2 only
      general_level_idc: 93,
      sub_layers: [{}],
      sps_seq_parameter_set_id: 0,
      chroma_format_idc: 1,
      pic_width_in_luma_samples: 1280,
      pic_height_in_luma_samples: 720,
      bit_depth_luma_minus8: 2,
      bit_depth_chroma_minus8: 2,
      log2_max_pic_order_cnt_lsb_minus4: 0,
      sps_sub_layer_ordering_info_present_flag: 1,
      st_ref_pic_sets: [{ negative: [[0, 1]], positive: [] }],
    },
    want: { width: 1280, height: 720, profile: 'Main 10', profileIdc: 2, pixFmt: 'yuv420p10le', level: '3.1', fps: null, sar: null, fpsSource: null },
  },
];
