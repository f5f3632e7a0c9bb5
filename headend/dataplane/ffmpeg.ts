/**
 * ffmpeg as a channel source: where the binary is, the argv for a source and
 * its transcode profile, and what its stderr says.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import type { FfmpegSource } from '../../core/lineup/config.js';

let cached: string | null | undefined;

/** ffmpeg from PATH, else the optional npm package `@ffmpeg-installer/ffmpeg`, else null. */
export function findFfmpeg(): string | null {
  if (cached !== undefined) return cached;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'ffmpeg'))) return (cached = join(dir, 'ffmpeg'));
  }
  try {
    const req = createRequire(import.meta.url);
    const pkg = req('@ffmpeg-installer/ffmpeg') as { path?: string };
    if (pkg.path && existsSync(pkg.path)) return (cached = pkg.path);
  } catch {
    // optional dependency not installed
  }
  return (cached = null);
}

interface ProfileSpec {
  width: number;
  height: number;
  fps: number;
  videoKbps: number;
  audioKbps: number;
  muxKbps: number;
}

/** Built-in transcode profiles (names in core/lineup TranscodeProfile). */
export const PROFILES: Record<'sd' | 'hd', ProfileSpec> = {
  sd: { width: 640, height: 360, fps: 25, videoKbps: 1200, audioKbps: 96, muxKbps: 1620 },
  hd: { width: 1280, height: 720, fps: 25, videoKbps: 4000, audioKbps: 128, muxKbps: 5160 },
};

/**
 * The CBR mux rate of a transcoding source, kbit/s: the profile's, or enough
 * for an overridden video bitrate plus audio and 25 % TS/PES overhead.
 */
function muxKbps(src: FfmpegSource, p: ProfileSpec): number {
  if (src.muxrateKbps !== null) return src.muxrateKbps;
  const vk = src.videoBitrateKbps ?? p.videoKbps;
  return Math.max(p.muxKbps, Math.ceil((vk + p.audioKbps) * 1.25));
}

/** The mux rate a source produces, bits/s, or null when it is not known in advance (copy). */
export function ffmpegMuxrateBps(src: FfmpegSource): number | null {
  if (src.profile === 'copy') return src.muxrateKbps !== null ? src.muxrateKbps * 1000 : null;
  return muxKbps(src, PROFILES[src.profile]) * 1000;
}

/** argv (without the binary) that writes the channel as MPEG-TS to stdout. */
export function ffmpegArgs(src: FfmpegSource, serviceName: string): string[] {
  // No -stats_period: the npm fallback build (ffmpeg 4.0) predates it; the default 0.5 s is fine.
  const a = ['-hide_banner', '-nostdin', '-loglevel', 'level+warning', '-stats'];
  if (src.realtime) a.push('-re');
  a.push(...src.inputOptions);
  if (src.format) a.push('-f', src.format);
  a.push('-i', src.url);
  if (src.profile === 'copy') {
    a.push('-map', '0:v:0?', '-map', '0:a:0?', '-c', 'copy');
    if (src.muxrateKbps !== null) a.push('-muxrate', `${src.muxrateKbps * 1000}`);
  } else {
    const p = PROFILES[src.profile];
    const vk = src.videoBitrateKbps ?? p.videoKbps;
    const mux = muxKbps(src, p);
    const gop = Math.max(1, Math.round(src.gopS * p.fps));
    a.push(
      '-map', '0:v:0', '-map', '0:a:0?',
      '-vf', `scale=${p.width}:${p.height}:flags=bilinear,fps=${p.fps},format=yuv420p`,
      '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-profile:v', 'main',
      // Fixed GOP, no scene-cut keyframes: receivers and the FCC cache rely on
      // a keyframe every gopS (x264 keyint == min-keyint, scenecut=0).
      '-g', `${gop}`, '-keyint_min', `${gop}`, '-sc_threshold', '0', '-bf', '0',
      '-b:v', `${vk}k`, '-maxrate', `${vk}k`, '-bufsize', `${vk}k`,
      '-x264-params', 'nal-hrd=cbr:force-cfr=1:repeat-headers=1',
      '-c:a', 'aac', '-b:a', `${p.audioKbps}k`, '-ar', '48000', '-ac', '2',
      '-muxrate', `${mux * 1000}`,
    );
  }
  a.push(
    // ISO/IEC 13818-1 / TR 101 290 1.3: PAT at least every 0.5 s; we send PAT/PMT every 100 ms.
    '-pat_period', '0.1', '-sdt_period', '0.5', '-pcr_period', '20',
    '-mpegts_service_id', '1', '-metadata', `service_name=${serviceName}`, '-metadata', 'service_provider=Roomcast',
    '-flush_packets', '1',
    '-f', 'mpegts', 'pipe:1',
  );
  return a;
}

export interface FfmpegProgress {
  frame: number;
  fps: number;
  /** Output bitrate ffmpeg reports, kbit/s. */
  bitrateKbps: number;
  speed: number;
  /** Output time position, seconds. */
  timeS: number;
}

/** Parse one `-stats` line (`frame=  250 fps= 25 q=… size=… time=00:00:10.00 bitrate=1600.3kbits/s speed=1.00x`). */
export function parseFfmpegStats(line: string): FfmpegProgress | null {
  if (!line.includes('time=') || !line.includes('speed=')) return null;
  const num = (re: RegExp): number => {
    const m = re.exec(line);
    return m ? Number(m[1]) : NaN;
  };
  const t = /time=\s*(-?)(\d+):(\d+):(\d+(?:\.\d+)?)/.exec(line);
  const timeS = t ? (t[1] ? -1 : 1) * (Number(t[2]) * 3600 + Number(t[3]) * 60 + Number(t[4])) : NaN;
  return {
    frame: num(/frame=\s*(\d+)/),
    fps: num(/fps=\s*([\d.]+)/),
    bitrateKbps: num(/bitrate=\s*([\d.]+)kbits\/s/),
    speed: num(/speed=\s*([\d.]+)x/),
    timeS,
  };
}

/** ffmpeg's `-loglevel level+…` prefixes lines with `[error]`, `[warning]`, `[fatal]`. */
export function parseFfmpegLogLine(line: string): { level: 'error' | 'warning'; message: string } | null {
  const m = /^(?:\[[^\]]*\] )*\[(fatal|error|warning)\] ?(.*)$/.exec(line) ?? /\[(fatal|error|warning)\] (.*)$/.exec(line);
  if (!m) return null;
  return { level: m[1] === 'warning' ? 'warning' : 'error', message: m[2].trim() };
}
