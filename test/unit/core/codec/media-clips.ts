/**
 * Short clips made by ffmpeg for the format tests, and ffprobe as their
 * oracle (STYLE.md §7, "Real peers"): the parsed format must equal what
 * ffprobe reports for the same file.
 *
 * Clips are cached like the ts-inspect bench caches its input (a file in
 * os.tmpdir() reused when present), keyed by a hash of the ffmpeg version
 * and arguments so a changed recipe never reuses a stale file; each is
 * written to a temporary name and renamed, so an interrupted run leaves no
 * half file behind. All clips together take about 10 s to make on first use
 * (2 cores) and under 1 MB of disk.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Clip {
  name: string;
  /** ffmpeg arguments between the inputs and the output file. */
  args: string[];
  inputs: string[];
  /** What the clip is there to cover. */
  covers: string;
}

const x265 = (extra: string) => ['-c:v', 'libx265', '-preset', 'ultrafast', '-crf', '40', '-x265-params', `log-level=error:pools=none:frame-threads=1:keyint=25${extra}`];
const lavfi = (video: string, audio?: string) => ['-f', 'lavfi', '-i', video, ...(audio !== undefined ? ['-f', 'lavfi', '-i', audio] : [])];
const mpegts = ['-f', 'mpegts', '-fflags', '+bitexact', '-flags', '+bitexact'];

export const CLIPS: Clip[] = [
  {
    name: 'h264-1080p2997-aac-mono-44k1',
    covers: 'H.264 frame cropping (1088 → 1080), 30000/1001 VUI timing; AAC LC mono 44.1 kHz',
    inputs: lavfi('testsrc2=size=1920x1080:rate=30000/1001:duration=1', 'sine=frequency=1000:sample_rate=44100:duration=1'),
    args: ['-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '40', '-g', '15', '-threads', '1', '-c:a', 'aac', '-ac', '1', ...mpegts],
  },
  {
    name: 'h265-720p50-mp2',
    covers: 'H.265 1280x720 50 fps; MPEG-1 Layer II stereo 48 kHz',
    inputs: lavfi('testsrc2=size=1280x720:rate=50:duration=1', 'sine=frequency=1000:sample_rate=48000:duration=1'),
    args: [...x265(''), '-c:a', 'mp2', '-ac', '2', ...mpegts],
  },
  {
    name: 'h265-1270x714-no-vui-timing-ac3-5.1',
    covers: 'H.265 conformance window (1280x720 coded), 2 sub-layers, no VUI timing (fps from DTS); AC-3 5.1',
    inputs: lavfi('testsrc2=size=1270x714:rate=25:duration=1', 'sine=frequency=1000:sample_rate=48000:duration=1'),
    args: [...x265(':vui-timing-info=0:temporal-layers=1'), '-c:a', 'ac3', '-ac', '6', ...mpegts],
  },
  {
    name: 'h264-576p-high422-10bit-sar-eac3',
    covers: 'H.264 High 4:2:2 10-bit, SAR 64:45, pic_order_cnt_type 2 (no B-frames); E-AC-3 stereo 32 kHz, DVB style (stream_type 0x06 + enhanced_AC-3_descriptor)',
    inputs: lavfi('testsrc2=size=720x576:rate=25:duration=1', 'sine=frequency=1000:sample_rate=32000:duration=1'),
    args: ['-vf', 'setsar=64/45', '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '40', '-profile:v', 'high422', '-pix_fmt', 'yuv422p10le', '-bf', '0', '-threads', '1', '-c:a', 'eac3', '-ac', '2', ...mpegts, '-mpegts_flags', 'system_b'],
  },
  {
    name: 'h264-1080i25-mp3',
    covers: 'H.264 field coding (frame_mbs_only_flag 0, crop unit 4 rows); MP3 mono 22.05 kHz (MPEG-2 LSF)',
    inputs: lavfi('testsrc2=size=1920x1080:rate=25:duration=0.6', 'sine=frequency=1000:sample_rate=22050:duration=0.6'),
    args: ['-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '40', '-flags', '+ildct+ilme', '-x264-params', 'interlaced=1:tff=1', '-threads', '1', '-c:a', 'libmp3lame', '-ac', '1', ...mpegts],
  },
];

let ffmpegVersion: string | null = null;

/** Path of the clip, made by ffmpeg on first use and cached in os.tmpdir(). */
export function clipPath(clip: Clip): string {
  ffmpegVersion ??= execFileSync('ffmpeg', ['-version'], { encoding: 'utf8' }).split('\n')[0];
  const key = createHash('sha256')
    .update(JSON.stringify([ffmpegVersion, clip.inputs, clip.args]))
    .digest('hex')
    .slice(0, 12);
  const dir = join(tmpdir(), 'roomcast-test-media');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${clip.name}-${key}.ts`);
  if (existsSync(file)) return file;
  const part = `${file}.${process.pid}.part`;
  try {
    execFileSync('ffmpeg', ['-nostdin', '-v', 'error', '-y', ...clip.inputs, ...clip.args, part], { stdio: ['ignore', 'ignore', 'pipe'] });
    renameSync(part, file);
  } finally {
    rmSync(part, { force: true });
  }
  return file;
}

export function readClip(clip: Clip): Buffer {
  return readFileSync(clipPath(clip));
}

/** The ffprobe fields a slate must match, per stream, as ffprobe prints them. */
export interface ProbedStream {
  codec_type: 'video' | 'audio';
  codec_name: string;
  profile?: string;
  level?: number;
  width?: number;
  height?: number;
  pix_fmt?: string;
  sample_aspect_ratio?: string;
  field_order?: string;
  r_frame_rate: string;
  sample_rate?: string;
  channels?: number;
}

export function ffprobeStreams(file: string): { video: ProbedStream | undefined; audio: ProbedStream | undefined } {
  const out = execFileSync(
    'ffprobe',
    [
      '-v', 'error',
      '-show_entries', 'stream=codec_type,codec_name,profile,level,width,height,pix_fmt,sample_aspect_ratio,field_order,r_frame_rate,sample_rate,channels',
      '-of', 'json',
      file,
    ],
    { encoding: 'utf8' },
  );
  const streams = (JSON.parse(out) as { streams: ProbedStream[] }).streams;
  return { video: streams.find((s) => s.codec_type === 'video'), audio: streams.find((s) => s.codec_type === 'audio') };
}
