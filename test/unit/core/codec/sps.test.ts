import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import fc from 'fast-check';
import {
  BitReader,
  newAudioFormat,
  nalToRbsp,
  parseAc3Header,
  parseAdtsHeader,
  parseH264Sps,
  parseH265Sps,
  parseMpegAudioHeader,
  type VideoFormat,
} from '../../../../core/codec/sps.js';
import { NalScanResult, NalScanner, VideoStreamType } from '../../../../core/codec/nal.js';
import { FIXTURES, fixturePath } from '../../../fixtures/ts-fixtures.js';
import { ffprobeStreams } from './media-clips.js';
import { BitWriter, H264_CASES, H265_CASES, writeH264Sps, writeH265Sps, writeH265Vps, type H264Fields } from './sps-cases.js';

/** Annotated hex to bytes: `#` starts a comment, whitespace is ignored. */
function hex(s: string): Buffer {
  return Buffer.from(s.replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex');
}

/** NAL units of an Annex-B byte stream, start codes and trailing zeros removed. */
function annexBUnits(es: Buffer): Buffer[] {
  const starts: number[] = [];
  for (let i = 2; i < es.length; i++) if (es[i] === 1 && es[i - 1] === 0 && es[i - 2] === 0) starts.push(i + 1);
  return starts.map((s, k) => {
    let e = k + 1 < starts.length ? starts[k + 1] - 3 : es.length;
    while (e > s && es[e - 1] === 0) e--;
    return es.subarray(s, e);
  });
}

let tmp: string | null = null;
function tempFile(name: string, data: Buffer): string {
  if (tmp === null) {
    const d = mkdtempSync(join(tmpdir(), 'roomcast-sps-'));
    tmp = d;
    process.on('exit', () => rmSync(d, { recursive: true, force: true }));
  }
  const f = join(tmp, name);
  writeFileSync(f, data);
  return f;
}

/**
 * ffmpeg's own SPS reader (libavcodec cbs, the trace_headers filter) on an
 * Annex-B file of `units`: the fields of the SPS as it read them. ffmpeg
 * exits non-zero (a parameter-set-only stream has no picture to mux), but
 * traces the parameter sets first.
 */
function ffmpegSpsFields(format: 'h264' | 'hevc', units: Buffer[]): Map<string, number> {
  const file = tempFile(`sps.${format}`, Buffer.concat(units.flatMap((u) => [Buffer.from([0, 0, 0, 1]), u])));
  const r = spawnSync('ffmpeg', ['-nostdin', '-hide_banner', '-v', 'trace', '-f', format, '-i', file, '-c', 'copy', '-bsf:v', 'trace_headers', '-f', 'null', '-'], { encoding: 'utf8' });
  const fields = new Map<string, number>();
  let inSps = false;
  for (const line of r.stderr.split('\n')) {
    if (!line.startsWith('[trace_headers')) continue;
    if (line.endsWith('Sequence Parameter Set')) {
      if (fields.size > 0) break; // the first SPS only
      inSps = true;
      continue;
    }
    const m = /\] +\d+ +(\S+) +[01]+ = (-?\d+)$/.exec(line);
    if (m === null) {
      if (inSps && fields.size > 0) break;
      continue;
    }
    if (inSps) fields.set(m[1], Number(m[2]));
  }
  return fields;
}

// ------------------------------------------------------------------ bit reader

t.test('BitReader reads ue(v) and se(v) per H.264 Table 9-2 / 9-3', async (t) => {
  // 1 | 010 | 011 | 00100 | 00111 | 0001000 → ue 0 1 2 3 6 7; the same codes as se: 0 1 −1 2 −3 4
  const bytes = hex('a6 43 88');
  const r = new BitReader(bytes);
  t.same([r.ue(), r.ue(), r.ue(), r.ue(), r.ue(), r.ue()], [0, 1, 2, 3, 6, 7]);
  t.equal(r.error, false);
  const s = new BitReader(bytes);
  t.same([s.se(), s.se(), s.se(), s.se(), s.se(), s.se()], [0, 1, -1, 2, -3, 4]);
  const big = new BitWriter().ue(2 ** 32 - 2).u(32, 0xffffffff);
  const nal = big.nal([]);
  const b = new BitReader(nalToRbsp(nal, 0, nal.length)); // 31 zero bits then 0x01: emulation-prevented
  t.equal(b.ue(), 2 ** 32 - 2, 'ue with 31 leading zeros');
  t.equal(b.u(32), 0xffffffff, 'u(32) without sign trouble');
});

t.test('BitReader: a read past the end sets a sticky error and yields 0; a 32-zero prefix is an error', async (t) => {
  const r = new BitReader(hex('ff'));
  t.equal(r.u(8), 255);
  t.equal(r.bit(), 0);
  t.equal(r.error, true);
  t.equal(new BitReader(hex('00 00 00 00 80')).ue(), 0);
  const z = new BitReader(hex('00 00 00 00 80'));
  z.ue();
  t.equal(z.error, true, '32 leading zeros exceed ue(v) in 32 bits');
  const e = new BitReader(hex('00'));
  t.equal(e.ue(), 0);
  t.equal(e.error, true, 'ue(v) running off the end');
});

t.test('nalToRbsp removes exactly the emulation_prevention_three_bytes', async (t) => {
  t.same([...nalToRbsp(hex('00 00 03 01 00 00 03 00 00 03 03 00 03'), 0, 13)], [0, 0, 1, 0, 0, 0, 0, 3, 0, 3]);
  t.same([...nalToRbsp(hex('67 00 00 03'), 1, 4)], [0, 0], 'a final 03 after two zeros too');
  t.same([...nalToRbsp(hex('00 03 00 00 04'), 0, 5)], [0, 3, 0, 0, 4], '03 after one zero, or 04 after two, stays');
});

// ------------------------------------------------------------------ written vectors

for (const c of H264_CASES) {
  t.test(`H.264 ${c.name}`, async (t) => {
    const sps = writeH264Sps(c.fields);
    t.match(parseH264Sps(sps), c.want);
    const f = c.fields;
    const ff = ffmpegSpsFields('h264', [sps]);
    t.equal(ff.get('rbsp_stop_one_bit'), 1, 'ffmpeg reads the written SPS to its stop bit');
    t.equal(ff.get('pic_width_in_mbs_minus1'), f.pic_width_in_mbs_minus1, 'ffmpeg: pic_width_in_mbs_minus1');
    t.equal(ff.get('pic_height_in_map_units_minus1'), f.pic_height_in_map_units_minus1, 'ffmpeg: pic_height_in_map_units_minus1');
    t.equal(ff.get('frame_crop_bottom_offset'), f.frame_crop?.[3], 'ffmpeg: frame_crop_bottom_offset');
    t.equal(ff.get('time_scale'), f.vui?.timing?.[1], 'ffmpeg: time_scale');
    t.equal(ff.get('sar_height'), f.vui?.sar?.[1], 'ffmpeg: sar_height');
  });
}

for (const c of H265_CASES) {
  t.test(`H.265 ${c.name}`, async (t) => {
    const sps = writeH265Sps(c.fields);
    t.match(parseH265Sps(sps), c.want);
    const f = c.fields;
    const ff = ffmpegSpsFields('hevc', [writeH265Vps(f.sps_max_sub_layers_minus1), sps]);
    t.equal(ff.get('rbsp_stop_one_bit'), 1, 'ffmpeg reads the written SPS to its stop bit');
    t.equal(ff.get('pic_width_in_luma_samples'), f.pic_width_in_luma_samples, 'ffmpeg: pic_width_in_luma_samples');
    t.equal(ff.get('conf_win_bottom_offset'), f.conformance_window?.[3], 'ffmpeg: conf_win_bottom_offset');
    t.equal(ff.get('num_short_term_ref_pic_sets'), f.st_ref_pic_sets.length, 'ffmpeg: num_short_term_ref_pic_sets');
    t.equal(ff.get('vui_time_scale'), f.vui?.timing?.[1], 'ffmpeg: vui_time_scale');
  });
}

t.test('H.264 timing_info with num_units_in_tick 0 (forbidden, §E.2.1) gives no fps rather than Infinity', async (t) => {
  const fields: H264Fields = { ...H264_CASES[0].fields, vui: { timing: [0, 30, 0] } };
  const f = parseH264Sps(writeH264Sps(fields));
  t.equal(f?.fps, null);
  t.equal(f?.width, 352);
});

// ------------------------------------------------------------------ real encoders

/** The first SPS NAL unit of a fixture's video, as ffmpeg's demuxer hands the elementary stream over. */
function fixtureSps(name: string, h265: boolean): Buffer {
  const es = execFileSync('ffmpeg', ['-nostdin', '-v', 'error', '-i', fixturePath(`${name}.ts`), '-map', '0:v:0', '-c', 'copy', '-frames:v', '1', '-f', h265 ? 'hevc' : 'h264', '-'], {
    maxBuffer: 16 << 20,
  });
  const sps = annexBUnits(es).find((u) => (h265 ? (u[0] >> 1) & 0x3f : u[0] & 0x1f) === (h265 ? 33 : 7));
  if (sps === undefined) throw new Error(`${name}: no SPS`);
  return sps;
}

for (const name of FIXTURES) {
  t.test(`${name}: the SPS gives what ffprobe reports (codec, size, fps, profile, level, pix_fmt, SAR)`, async (t) => {
    const h265 = name.startsWith('h265');
    const sps = fixtureSps(name, h265);
    const f = h265 ? parseH265Sps(sps) : parseH264Sps(sps);
    const p = ffprobeStreams(fixturePath(`${name}.ts`)).video!;
    t.ok(f !== null);
    t.equal(f!.codec, p.codec_name === 'hevc' ? 'h265' : p.codec_name);
    t.equal(f!.width, p.width);
    t.equal(f!.height, p.height);
    t.equal(`${f!.frameRate!.num}/${f!.frameRate!.den}`, p.r_frame_rate);
    t.equal(f!.fpsSource, 'vui');
    t.equal(f!.profile, p.profile);
    t.equal(f!.levelIdc, p.level);
    t.equal(f!.pixFmt, p.pix_fmt);
    t.equal(`${f!.sar!.num}:${f!.sar!.den}`, p.sample_aspect_ratio);
  });
}

// ------------------------------------------------------------------ bad input

/** What any non-null parse must satisfy, whatever the bytes. */
function plausible(f: VideoFormat): boolean {
  return (
    Number.isInteger(f.width) &&
    Number.isInteger(f.height) &&
    f.width > 0 &&
    f.height > 0 &&
    f.width <= f.codedWidth &&
    f.height <= f.codedHeight &&
    f.codedWidth <= 16896 &&
    f.codedHeight <= 16896 &&
    f.bitDepth >= 8 &&
    f.bitDepth <= 16 &&
    f.chromaFormatIdc >= 0 &&
    f.chromaFormatIdc <= 3 &&
    (f.fps === null || (Number.isFinite(f.fps) && f.fps > 0)) &&
    (f.sar === null || (f.sar.num > 0 && f.sar.den > 0))
  );
}

const ALL_SPS = [
  ...H264_CASES.map((c) => ({ name: c.name, h265: false, bytes: writeH264Sps(c.fields) })),
  ...H265_CASES.map((c) => ({ name: c.name, h265: true, bytes: writeH265Sps(c.fields) })),
  ...FIXTURES.map((n) => ({ name: n, h265: n.startsWith('h265'), bytes: fixtureSps(n, n.startsWith('h265')) })),
];
const parse = (h265: boolean, b: Uint8Array): VideoFormat | null => (h265 ? parseH265Sps(b) : parseH264Sps(b));

t.test('a truncated SPS gives null, or the same picture without what the cut removed, never wrong dimensions', async (t) => {
  for (const s of ALL_SPS) {
    const full = parse(s.h265, s.bytes)!;
    let nulls = 0;
    for (let n = 0; n < s.bytes.length; n++) {
      const f = parse(s.h265, s.bytes.subarray(0, n));
      if (f === null) {
        nulls++;
        continue;
      }
      const same = f.width === full.width && f.height === full.height && f.profile === full.profile && f.level === full.level && f.pixFmt === full.pixFmt;
      const lost = (f.fps === full.fps || f.fps === null) && (f.sar === null || (f.sar.num === full.sar?.num && f.sar.den === full.sar?.den));
      if (!same || !lost) t.fail(`${s.name}: cut at ${n}/${s.bytes.length} gives ${JSON.stringify(f)}`);
    }
    t.ok(nulls >= 4, `${s.name}: the first bytes alone give null (${nulls} cuts did)`);
  }
});

t.test('garbage after an SPS header never throws and never gives an implausible format', async (t) => {
  fc.assert(
    fc.property(fc.boolean(), fc.uint8Array({ minLength: 0, maxLength: 120 }), (h265, body) => {
      const bytes = Buffer.concat([Buffer.from(h265 ? [0x42, 0x01] : [0x67]), body]);
      const f = parse(h265, bytes);
      return f === null || plausible(f);
    }),
    { numRuns: 20_000 },
  );
});

t.test('bit flips and byte cuts of every vector never throw and never give an implausible format', async (t) => {
  fc.assert(
    fc.property(fc.constantFrom(...ALL_SPS), fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), fc.nat(), (s, flips, cut) => {
      const b = Buffer.from(s.bytes);
      for (const x of flips) {
        const bit = x % (b.length * 8);
        b[bit >> 3] ^= 0x80 >> (bit & 7);
      }
      const f = parse(s.h265, b.subarray(0, b.length - (cut % 3)));
      return f === null || plausible(f);
    }),
    { numRuns: 20_000 },
  );
});

t.test('a NAL unit that is not an SPS, or too short, is null', async (t) => {
  const h264 = writeH264Sps(H264_CASES[0].fields);
  t.equal(parseH264Sps(Buffer.from([0x68, ...h264.subarray(1)])), null, 'PPS header');
  t.equal(parseH264Sps(Buffer.from([0xe7, ...h264.subarray(1)])), null, 'forbidden_zero_bit set');
  t.equal(parseH265Sps(h264), null, 'an H.264 SPS read as H.265');
  t.equal(parseH264Sps(Buffer.alloc(0)), null);
  t.equal(parseH265Sps(Buffer.from([0x42])), null);
  t.equal(parseH264Sps(h264, 0, 3), null);
});

// ------------------------------------------------------------------ SPS capture in the NAL scan

t.test('NalScanner copies the SPS of the prefix exactly, wherever the access unit is split', async (t) => {
  const sps = writeH264Sps(H264_CASES[1].fields);
  const au = Buffer.concat([
    hex('00 00 00 01 09 f0'), // AUD
    hex('00 00 00 01'),
    sps,
    hex('00 00'), // trailing_zero_8bits
    hex('00 00 00 01 68 ee 3c 80'), // PPS
    hex('00 00 01 65 88 84'), // IDR slice: decides
  ]);
  const s = new NalScanner(VideoStreamType.H264, true);
  for (let cut = 0; cut <= au.length; cut++) {
    for (let cut2 = cut; cut2 <= au.length; cut2 += 7) {
      s.reset();
      s.scan(au, 0, cut);
      s.scan(au, cut, cut2);
      const r = s.scan(au, cut2, au.length);
      if (r !== NalScanResult.RANDOM_ACCESS || !sps.equals(Buffer.from(s.spsBytes.subarray(0, s.spsLength)))) {
        t.fail(`cuts at ${cut}, ${cut2}: ${Buffer.from(s.spsBytes.subarray(0, s.spsLength)).toString('hex')}`);
        return;
      }
    }
  }
  t.pass('same SPS bytes at every split');
  const plain = new NalScanner(VideoStreamType.H264);
  plain.scan(au, 0, au.length);
  t.equal(plain.spsLength, 0, 'no copy unless asked for');
});

t.test('NalScanner copies an H.265 SPS; an over-long one is cut at the bound and flagged', async (t) => {
  const sps = writeH265Sps(H265_CASES[0].fields);
  const au = Buffer.concat([hex('00 00 01 40 01 0c'), hex('00 00 01'), sps, hex('00 00 01 26 01 af')]);
  const s = new NalScanner(VideoStreamType.H265, true);
  t.equal(s.scan(au, 0, au.length), NalScanResult.RANDOM_ACCESS);
  t.same(Buffer.from(s.spsBytes.subarray(0, s.spsLength)), sps);
  const long = Buffer.concat([hex('00 00 01 42 01'), Buffer.alloc(5000, 0xaa), hex('00 00 01 26 01')]);
  s.reset();
  s.scan(long, 0, long.length);
  t.equal(s.spsLength, s.spsBytes.length);
  t.equal(s.spsTruncated, true);
});

// ------------------------------------------------------------------ audio headers

t.test('ADTS header: AAC LC, sampling_frequency_index, channel_configuration', async (t) => {
  const out = newAudioFormat();
  const lcStereo48k = hex(`
    ff f1     # syncword 0xfff | ID 0 (MPEG-4) layer 00 protection_absent 1
    4c        # profile_ObjectType 01 (LC) | sampling_frequency_index 0011 (48 kHz) | private 0 | channel_configuration[2] 0
    80        # channel_configuration[1..0] 10 (2) | original_copy 0 home 0 | copyright bits 00 | frame_length[12..11] 00
    2e 7f fc  # aac_frame_length 0x173 (371) | adts_buffer_fullness 0x7ff | number_of_raw_data_blocks 0
  `);
  t.equal(parseAdtsHeader(lcStereo48k, 0, 7, out), true);
  t.same(out, { codec: 'aac', sampleRate: 48000, channels: 2, profile: 'LC' });
  const mono44k1 = hex(`
    ff f1 50  # ... | LC | sampling_frequency_index 0100 (44.1 kHz) | 0 | 0
    40        # channel_configuration[1..0] 01 (1) | ...
    2e 7f fc
  `);
  t.equal(parseAdtsHeader(mono44k1, 0, 7, out), true);
  t.same(out, { codec: 'aac', sampleRate: 44100, channels: 1, profile: 'LC' });
  const sevenOne = Buffer.from(lcStereo48k);
  sevenOne[2] |= 0x01; // channel_configuration 111: 7.1, 8 channels
  sevenOne[3] |= 0xc0;
  t.equal(parseAdtsHeader(sevenOne, 0, 7, out), true);
  t.equal(out.channels, 8);
  t.equal(parseAdtsHeader(lcStereo48k, 0, 6, out), false, 'short');
  const badSfi = Buffer.from(lcStereo48k);
  badSfi[2] = (badSfi[2] & 0xc3) | (13 << 2);
  t.equal(parseAdtsHeader(badSfi, 0, 7, out), false, 'sampling_frequency_index 13 is reserved');
  const layer = Buffer.from(lcStereo48k);
  layer[1] = 0xf3;
  t.equal(parseAdtsHeader(layer, 0, 7, out), false, 'layer must be 00');
});

t.test('MPEG audio header: Layer I/II/III, MPEG-1/2/2.5 rates, single_channel mode', async (t) => {
  const out = newAudioFormat();
  const mp2 = hex(`
    ff fd     # syncword 0xfff | ID 1 (MPEG-1) layer 10 (II) protection_bit 1
    a4        # bitrate_index 1010 (256 kbit/s) | sampling_frequency 01 (48 kHz) | padding 0 private 0
    04        # mode 00 (stereo) | mode_extension 00 | copyright 0 original 1 emphasis 00
  `);
  t.equal(parseMpegAudioHeader(mp2, 0, 4, out), true);
  t.same(out, { codec: 'mp2', sampleRate: 48000, channels: 2, profile: null });
  t.equal(parseMpegAudioHeader(hex('ff f3 80 c4'), 0, 4, out), true, 'MPEG-2 Layer III, 22.05 kHz, single_channel');
  t.same(out, { codec: 'mp3', sampleRate: 22050, channels: 1, profile: null });
  t.equal(parseMpegAudioHeader(hex('ff e7 84 00'), 0, 4, out), true, 'MPEG-2.5 Layer I, 12 kHz');
  t.same(out, { codec: 'mp1', sampleRate: 12000, channels: 2, profile: null });
  t.equal(parseMpegAudioHeader(hex('ff fd ac 04'), 0, 4, out), false, 'sampling_frequency 11 is reserved');
  t.equal(parseMpegAudioHeader(hex('ff fd f4 04'), 0, 4, out), false, 'bitrate_index 1111 is forbidden');
  t.equal(parseMpegAudioHeader(hex('ff f9 a4 04'), 0, 4, out), false, 'layer 00 is reserved (that is ADTS)');
  t.equal(parseMpegAudioHeader(hex('ff ed a4 04'), 0, 4, out), false, 'version 01 is reserved');
});

t.test('AC-3 syncinfo + bsi and the E-AC-3 form', async (t) => {
  const out = newAudioFormat();
  const ac3 = hex(`
    0b 77     # syncword
    12 34     # crc1
    0e        # fscod 00 (48 kHz) | frmsizecod 001110 (192 kbit/s)
    40        # bsid 01000 (8) | bsmod 000
    e1        # acmod 111 (3/2) | cmixlev 00 | surmixlev 00 | lfeon 1
    00
  `);
  t.equal(parseAc3Header(ac3, 0, 8, out), true);
  t.same(out, { codec: 'ac3', sampleRate: 48000, channels: 6, profile: null });
  const stereo = hex('0b 77 12 34 4e 40 48 00'); // fscod 01 (44.1 kHz), acmod 010 (2/0) | dsurmod 01 | lfeon 0
  t.equal(parseAc3Header(stereo, 0, 8, out), true);
  t.same(out, { codec: 'ac3', sampleRate: 44100, channels: 2, profile: null });
  const eac3 = hex(`
    0b 77     # syncword
    01 ff     # strmtyp 00 (independent) | substreamid 000 | frmsiz 0x1ff
    3f        # fscod 00 (48 kHz) | numblkscod 11 | acmod 111 | lfeon 1
    80        # bsid 10000 (16) | dialnorm ...
    00 00
  `);
  t.equal(parseAc3Header(eac3, 0, 8, out), true);
  t.same(out, { codec: 'eac3', sampleRate: 48000, channels: 6, profile: null });
  const half = hex('0b 77 01 ff c4 80 00 00'); // fscod 11, fscod2 00: 24 kHz | acmod 010
  t.equal(parseAc3Header(half, 0, 8, out), true);
  t.same(out, { codec: 'eac3', sampleRate: 24000, channels: 2, profile: null });
  t.equal(parseAc3Header(hex('0b 77 41 ff 3f 80 00 00'), 0, 8, out), false, 'a dependent substream alone says nothing of the channel count');
  t.equal(parseAc3Header(hex('0b 77 12 34 ce 40 e1 00'), 0, 8, out), false, 'fscod 11 is reserved in AC-3');
  t.equal(parseAc3Header(hex('0b 77 12 34 26 40 e1 00'), 0, 8, out), false, 'frmsizecod 38 is out of range');
  t.equal(parseAc3Header(hex('0b 77 12 34 0e 88 e1 00'), 0, 8, out), false, 'bsid 17 is no AC-3 we know');
  t.equal(parseAc3Header(ac3, 0, 7, out), false, 'short');
});

t.test('audio header parsers never throw on garbage and fill only valid values', async (t) => {
  const rates = new Set([96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350]);
  const out = newAudioFormat();
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 12 }), fc.nat(3), (b, which) => {
      if (which === 0 && b.length >= 2) b[0] = 0xff;
      if (which === 1 && b.length >= 2) [b[0], b[1]] = [0x0b, 0x77];
      const ok = [parseAdtsHeader, parseMpegAudioHeader, parseAc3Header].map((p) => {
        const r = p(b, 0, b.length, out);
        return !r || (rates.has(out.sampleRate) && out.channels >= 0 && out.channels <= 8);
      });
      return ok.every(Boolean);
    }),
    { numRuns: 20_000 },
  );
});
