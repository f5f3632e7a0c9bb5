/**
 * The slate: what a channel sends while none of its inputs works, so that
 * set-top boxes never see the multicast stop (a stopped group makes many TVs
 * drop to "no signal" and some reboot their player). Made once by ffmpeg into
 * the data directory — "Channel temporarily unavailable" on a dark
 * background, silent stereo AAC, H.264 720p25 with a 1 s GOP — and looped by
 * each channel's file source when needed. Main thread; asynchronous.
 *
 * One format for every channel: a channel in H.265 gets an H.264 slate, which
 * the output remux puts on a PID of its own (receivers see a PMT change).
 */
import { execFile } from 'node:child_process';
import { mkdir, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { findFfmpeg } from './dataplane/ffmpeg.js';

const SLATE_SECONDS = 10;
/** Bump when the recipe changes: a new file is made. */
const SLATE_VERSION = 1;

function run(ffmpeg: string, args: string[]): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(ffmpeg, args, { timeout: 60_000 }, (err, _out, stderr) => resolve(err ? String(stderr).trim().split('\n').slice(-3).join(' | ') || err.message : null));
  });
}

/**
 * The slate file's path, made now if it is not there yet. Null (with the
 * reason logged) when ffmpeg cannot make it: channels then have no slate.
 */
export async function ensureSlate(dataDir: string, log: (level: 'info' | 'warn', msg: string) => void): Promise<string | null> {
  const dir = join(dataDir, 'slate');
  const file = join(dir, `slate-v${SLATE_VERSION}-720p.ts`);
  try {
    if ((await stat(file)).size > 100_000) return file;
  } catch {
    /* not made yet */
  }
  const ffmpeg = findFfmpeg();
  if (!ffmpeg) {
    log('warn', 'no ffmpeg to make the slate: a channel with no working input will go silent');
    return null;
  }
  await mkdir(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const common = (video: string): string[] => [
    '-hide_banner', '-loglevel', 'error', '-nostdin', '-y',
    '-f', 'lavfi', '-i', video,
    '-f', 'lavfi', '-i', `anullsrc=r=48000:cl=stereo:d=${SLATE_SECONDS}`,
    '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'stillimage', '-pix_fmt', 'yuv420p',
    '-g', '25', '-keyint_min', '25', '-sc_threshold', '0', '-b:v', '600k', '-maxrate', '600k', '-bufsize', '600k',
    '-c:a', 'aac', '-b:a', '64k', '-shortest',
    '-f', 'mpegts', '-muxrate', '1000000', '-pcr_period', '20', '-mpegts_service_id', '1', tmp,
  ];
  const background = `color=c=0x1d2b4f:s=1280x720:r=25:d=${SLATE_SECONDS}`;
  // With the words when drawtext has a font; without them otherwise (a fresh
  // machine may have no fonts, and a plain slate is still a slate).
  let err = await run(ffmpeg, common(`${background},drawtext=text='Channel temporarily unavailable':fontcolor=white:fontsize=52:x=(w-text_w)/2:y=(h-text_h)/2`));
  if (err) {
    log('info', `slate without text (drawtext: ${err})`);
    err = await run(ffmpeg, common(background));
  }
  if (err) {
    log('warn', `cannot make the slate with ${ffmpeg}: ${err}; a channel with no working input will go silent`);
    return null;
  }
  await rename(tmp, file);
  log('info', `slate made: ${file}`);
  return file;
}
