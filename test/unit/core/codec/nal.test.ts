import t from 'tap';
import { NalScanResult, NalScanner, VideoStreamType, nalHasRandomAccess } from '../../../../core/codec/nal.js';

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex');
}

// H.264 access unit prefix, Annex B.
const H264_IDR_AU = hex(`
  00 00 00 01 09 f0          # 4-byte start code | AUD (type 9)
  00 00 00 01 67 64 00 1f ac # SPS (type 7)
  00 00 01 68 eb e3 cb       # PPS (type 8)
  00 00 01 06 05 ff ff       # SEI (type 6)
  00 00 01 65 88 84 00 33    # IDR slice (type 5, nal_ref_idc 3)
`);
const H264_P_AU = hex(`
  00 00 00 01 09 30          # AUD
  00 00 01 41 9a 02 04       # non-IDR slice (type 1)
  00 00 01 65 88             # (never reached: the first VCL NAL unit decides)
`);
// H.265: header byte 0 = forbidden(1) nal_unit_type(6) layer_id high bit(1).
const H265_IDR_AU = hex(`
  00 00 00 01 46 01 50       # AUD (type 35)
  00 00 01 40 01 0c          # VPS (type 32)
  00 00 01 42 01 01          # SPS (type 33)
  00 00 01 44 01 c1          # PPS (type 34)
  00 00 01 26 01 af 0c       # IDR_W_RADL (type 19): IRAP
`);
const H265_CRA_AU = hex('00 00 01 2a 01 af'); // CRA_NUT (type 21): IRAP
const H265_TRAIL_AU = hex('00 00 01 46 01 50 00 00 01 02 01 d0'); // AUD, TRAIL_R (type 1)

t.test('finds an H.264 IDR and an H.265 IRAP, and not a P / TRAIL picture', async (t) => {
  t.equal(nalHasRandomAccess(H264_IDR_AU, 0, H264_IDR_AU.length, VideoStreamType.H264), true);
  t.equal(nalHasRandomAccess(H264_P_AU, 0, H264_P_AU.length, VideoStreamType.H264), false);
  t.equal(nalHasRandomAccess(H265_IDR_AU, 0, H265_IDR_AU.length, VideoStreamType.H265), true);
  t.equal(nalHasRandomAccess(H265_CRA_AU, 0, H265_CRA_AU.length, VideoStreamType.H265), true);
  t.equal(nalHasRandomAccess(H265_TRAIL_AU, 0, H265_TRAIL_AU.length, VideoStreamType.H265), false);
  const s = new NalScanner(VideoStreamType.H265);
  s.scan(H265_IDR_AU, 0, H265_IDR_AU.length);
  t.equal(s.vclNalUnitType, 19);
});

const CASES = [
  { name: 'H.264 IDR', au: H264_IDR_AU, type: VideoStreamType.H264, want: NalScanResult.RANDOM_ACCESS },
  { name: 'H.264 P', au: H264_P_AU, type: VideoStreamType.H264, want: NalScanResult.NOT_RANDOM_ACCESS },
  { name: 'H.265 IDR', au: H265_IDR_AU, type: VideoStreamType.H265, want: NalScanResult.RANDOM_ACCESS },
  { name: 'H.265 TRAIL', au: H265_TRAIL_AU, type: VideoStreamType.H265, want: NalScanResult.NOT_RANDOM_ACCESS },
];

for (const c of CASES) {
  t.test(`${c.name}: same answer with the bytes split in two calls at every position (start code split across packets)`, async (t) => {
    const s = new NalScanner(c.type);
    for (let cut = 0; cut <= c.au.length; cut++) {
      s.reset();
      const first = s.scan(c.au, 0, cut);
      const second = s.scan(c.au, cut, c.au.length);
      t.equal(second, c.want, `cut at ${cut}`);
      if (first !== NalScanResult.MORE) t.equal(first, c.want, `decided early at ${cut}`);
    }
  });

  t.test(`${c.name}: same answer fed one byte per call from separate buffers`, async (t) => {
    const s = new NalScanner(c.type);
    let r: number = NalScanResult.MORE;
    for (let i = 0; i < c.au.length; i++) r = s.scan(Buffer.from([c.au[i]]), 0, 1);
    t.equal(r, c.want);
  });
}

t.test('the IDR start code split 00 00 | 01 65 over two buffers is found', async (t) => {
  const s = new NalScanner(VideoStreamType.H264);
  t.equal(s.scan(hex('09 f0 00 00'), 0, 4), NalScanResult.MORE);
  t.equal(s.scan(hex('01 65 88'), 0, 3), NalScanResult.RANDOM_ACCESS);
  s.reset();
  t.equal(s.scan(hex('09 f0 00 00 01'), 0, 5), NalScanResult.MORE, 'header byte in the next piece');
  t.equal(s.scan(hex('65 88'), 0, 2), NalScanResult.RANDOM_ACCESS);
});

t.test('emulation-prevented zeros (00 00 03) are not a start code', async (t) => {
  const au = hex('00 00 01 06 00 00 03 01 65 ff 00 00 01 41 9a');
  t.equal(nalHasRandomAccess(au, 0, au.length, VideoStreamType.H264), false);
});
