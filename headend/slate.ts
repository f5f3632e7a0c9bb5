/**
 * The slate: what a channel sends while none of its inputs works, so that
 * set-top boxes never see the multicast stop (a stopped group makes many TVs
 * drop to "no signal" and some reboot their player). Made by ffmpeg into the
 * data directory — "Channel temporarily unavailable" on a dark background,
 * silence — and looped by the channel's file source when needed. Main
 * thread; asynchronous.
 *
 * In the channel's own format (issue 4): once a channel's input has shown
 * its video (codec, size, frame rate, chroma and bit depth, SAR, from its
 * SPS) and audio (codec, sample rate, channels), a slate is made for that
 * format and the channel switches to it. A decoder then sees no codec,
 * resolution or audio layout change when the slate comes on: many STB
 * players re-initialise, or stall, on a PMT or SPS change (the output remux
 * keeps the PIDs when the codec is the same). Until the format is known —
 * a channel whose input never came — the default slate (H.264 720p25,
 * stereo AAC) is used. Formats ffmpeg cannot make here fall back to it too.
 * One file per format, shared by the channels that have it, made one at a
 * time, and kept: a restart finds them made.
 */
import { execFile } from 'node:child_process';
import { setPriority } from 'node:os';
import { mkdir, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { findFfmpeg } from './dataplane/ffmpeg.js';

const SLATE_SECONDS = 10;
/** Bump when the recipe changes: new files are made. */
const SLATE_VERSION = 2;
/** Distinct formats made per run: a bound on disk and ffmpeg time whatever the inputs claim. */
const MAX_FORMATS = 16;

/** What a slate must match: the parts of core/codec/sps.ts's VideoFormat and AudioFormat an encoder takes. */
export interface SlateFormat {
  video: {
    codec: 'h264' | 'h265';
    width: number;
    height: number;
    frameRate: { num: number; den: number } | null;
    pixFmt: string;
    sar: { num: number; den: number } | null;
  };
  audio: { codec: string; sampleRate: number; channels: number } | null;
}

export type SlateLog = (level: 'info' | 'warn', msg: string) => void;

/**
 * ffmpeg at the lowest CPU priority, one encoding thread: slates are made
 * while channels are on the air, and x264's default of a thread per core at
 * normal priority took the CPU the data plane needs to pace (100 channels:
 * delay factor 14 → 360 ms while a 1080p slate was being made).
 */
function run(ffmpeg: string, args: string[]): Promise<string | null> {
  return new Promise((resolve) => {
    const child = execFile(ffmpeg, args, { timeout: 120_000 }, (err, _out, stderr) => resolve(err ? String(stderr).trim().split('\n').slice(-3).join(' | ') || err.message : null));
    try {
      if (child.pid !== undefined) setPriority(child.pid, 19);
    } catch {
      // not permitted: it runs at normal priority
    }
  });
}

/** Pixel formats the slate encoders take (8- and 10-bit 4:2:0); anything else is made 8-bit 4:2:0. */
const PIX_FMTS = new Set(['yuv420p', 'yuv420p10le']);
/** Audio encoders for the codecs an input may carry (ffprobe names); others get AAC. */
const AUDIO_ENCODERS: Record<string, string> = { aac: 'aac', mp2: 'mp2', ac3: 'ac3', eac3: 'eac3' };
/** Channel layouts anullsrc knows, by channel count. */
const LAYOUTS: Record<number, string> = { 1: 'mono', 2: 'stereo', 3: '2.1', 4: 'quad', 5: '5.0', 6: '5.1', 8: '7.1' };

interface Recipe {
  /** File name part: everything that makes two slates differ. */
  key: string;
  codec: 'h264' | 'h265';
  width: number;
  height: number;
  rate: string;
  gop: number;
  pixFmt: string;
  sar: string | null;
  audioEncoder: string;
  sampleRate: number;
  layout: string;
  videoKbps: number;
  audioKbps: number;
}

/** The default: H.264 720p25, stereo AAC 48 kHz. */
const DEFAULT_FORMAT: SlateFormat = {
  video: { codec: 'h264', width: 1280, height: 720, frameRate: { num: 25, den: 1 }, pixFmt: 'yuv420p', sar: null },
  audio: { codec: 'aac', sampleRate: 48000, channels: 2 },
};

function recipe(f: SlateFormat): Recipe | string {
  const v = f.video;
  if (v.codec !== 'h264' && v.codec !== 'h265') return `video codec ${String(v.codec)}`;
  if (!Number.isInteger(v.width) || !Number.isInteger(v.height) || v.width < 16 || v.height < 16 || v.width > 7680 || v.height > 4320) return `size ${v.width}x${v.height}`;
  const fr = v.frameRate && v.frameRate.num > 0 && v.frameRate.den > 0 && v.frameRate.num / v.frameRate.den >= 1 && v.frameRate.num / v.frameRate.den <= 120 ? v.frameRate : { num: 25, den: 1 };
  const fps = fr.num / fr.den;
  const pixFmt = PIX_FMTS.has(v.pixFmt) ? v.pixFmt : 'yuv420p';
  const sar = v.sar && v.sar.num > 0 && v.sar.den > 0 && v.sar.num !== v.sar.den ? `${v.sar.num}/${v.sar.den}` : null;
  const a = f.audio;
  const audioEncoder = a ? (AUDIO_ENCODERS[a.codec] ?? 'aac') : 'aac';
  // ac3/eac3 take 32, 44.1, 48 kHz; mp2 the MPEG-1/2 rates; AAC all the usual ones.
  const sampleRate = a && a.sampleRate >= 8000 && a.sampleRate <= 96000 ? a.sampleRate : 48000;
  const layout = (a && LAYOUTS[a.channels]) ?? 'stereo';
  // A still picture: a few hundred kbit/s at SD, more with more pixels.
  const videoKbps = Math.round(Math.min(2500, Math.max(300, (v.width * v.height) / 1500)));
  const audioKbps = layout === 'mono' ? 64 : layout === 'stereo' ? 128 : 384;
  const key = [v.codec, `${v.width}x${v.height}`, `${fr.num}-${fr.den}`, pixFmt, sar ? `sar${sar.replace('/', '-')}` : 'sar1', audioEncoder, String(sampleRate), layout.replace('.', '_')].join('_');
  return { key, codec: v.codec, width: v.width, height: v.height, rate: `${fr.num}/${fr.den}`, gop: Math.max(1, Math.round(fps)), pixFmt, sar, audioEncoder, sampleRate, layout, videoKbps, audioKbps };
}

function args(r: Recipe, video: string, out: string): string[] {
  const vb = `${r.videoKbps}k`;
  const encoder =
    r.codec === 'h264'
      ? ['-c:v', 'libx264', '-threads', '1', '-preset', 'veryfast', '-tune', 'stillimage', '-g', String(r.gop), '-keyint_min', String(r.gop), '-sc_threshold', '0']
      : ['-c:v', 'libx265', '-preset', 'veryfast', '-x265-params', `keyint=${r.gop}:min-keyint=${r.gop}:scenecut=0:pools=1:frame-threads=1:log-level=error`];
  return [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-filter_threads', '1',
    '-f', 'lavfi', '-i', video,
    '-f', 'lavfi', '-i', `anullsrc=r=${r.sampleRate}:cl=${r.layout}:d=${SLATE_SECONDS}`,
    ...encoder, '-pix_fmt', r.pixFmt, '-b:v', vb, '-maxrate', vb, '-bufsize', vb,
    '-c:a', r.audioEncoder, '-b:a', `${r.audioKbps}k`, '-shortest',
    // CBR with room for the audio and the PSI; PCR every 20 ms (the pacer's clock).
    '-f', 'mpegts', '-muxrate', String((r.videoKbps + r.audioKbps + 200) * 1000), '-pcr_period', '20', '-mpegts_service_id', '1', out,
  ];
}

async function made(file: string): Promise<boolean> {
  try {
    return (await stat(file)).size > 50_000;
  } catch {
    return false;
  }
}

/**
 * Slate files by format, each made once. `get()` resolves to the file's
 * path, or null (with the reason logged once) when ffmpeg cannot make it.
 */
export class SlateMaker {
  private readonly files = new Map<string, Promise<string | null>>();
  /** One ffmpeg at a time: slates are made while channels run. */
  private queue: Promise<unknown> = Promise.resolve();
  private warnedFull = false;

  constructor(
    private readonly dataDir: string,
    private readonly log: SlateLog,
  ) {}

  /** The key of the slate `get(format)` gives (null: the format cannot be made; the default is used). */
  keyOf(format: SlateFormat | null): string | null {
    const r = recipe(format ?? DEFAULT_FORMAT);
    return typeof r === 'string' ? null : r.key;
  }

  /** The default slate (no format known yet). */
  default(): Promise<string | null> {
    return this.get(null);
  }

  get(format: SlateFormat | null): Promise<string | null> {
    const r = recipe(format ?? DEFAULT_FORMAT);
    if (typeof r === 'string') {
      this.log('info', `no slate in the channel's format (${r}): the default slate is used`);
      return Promise.resolve(null);
    }
    const known = this.files.get(r.key);
    if (known) return known;
    if (this.files.size >= MAX_FORMATS) {
      if (!this.warnedFull) this.log('warn', `${MAX_FORMATS} slate formats made already: further channels get the default slate`);
      this.warnedFull = true;
      return Promise.resolve(null);
    }
    const p = this.queue.then(() => this.make(r));
    this.queue = p;
    this.files.set(r.key, p);
    return p;
  }

  private async make(r: Recipe): Promise<string | null> {
    const dir = join(this.dataDir, 'slate');
    const file = join(dir, `slate-v${SLATE_VERSION}-${r.key}.ts`);
    if (await made(file)) return file;
    const ffmpeg = findFfmpeg();
    if (!ffmpeg) {
      this.log('warn', 'no ffmpeg to make the slate: a channel with no working input will go silent');
      return null;
    }
    await mkdir(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    const background = `color=c=0x1d2b4f:s=${r.width}x${r.height}:r=${r.rate}:d=${SLATE_SECONDS}${r.sar ? `,setsar=${r.sar}` : ''}`;
    const fontSize = Math.max(10, Math.round(r.height / 14));
    // With the words when drawtext has a font; without them otherwise (a fresh
    // machine may have no fonts, and a plain slate is still a slate).
    let err = await run(ffmpeg, args(r, `${background},drawtext=text='Channel temporarily unavailable':fontcolor=white:fontsize=${fontSize}:x=(w-text_w)/2:y=(h-text_h)/2`, tmp));
    if (err) {
      this.log('info', `slate without text (drawtext: ${err})`);
      err = await run(ffmpeg, args(r, background, tmp));
    }
    if (err) {
      this.log('warn', `cannot make the slate ${r.key} with ${ffmpeg}: ${err}`);
      return null;
    }
    await rename(tmp, file);
    this.log('info', `slate made: ${file}`);
    return file;
  }
}
