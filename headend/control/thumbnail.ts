/**
 * Thumbnails of what each channel sends, for the admin UI (issue 5: "a
 * thumbnail of the current picture refreshed every few seconds").
 *
 * The picture comes from the channel's GOP cache (the FCC cache: TS from the
 * last I-frame, copied by the channel's worker), so ffmpeg decodes one
 * I-frame at once, with no multicast join and no wait for the next GOP. Cost
 * is bounded whatever the browsers ask: one picture per channel per
 * `maxAgeMs` (asks in between get the last one), at most `concurrency`
 * ffmpeg at a time, each at the lowest CPU priority with one thread and a
 * time limit — the data plane paces on the same CPUs (see headend/slate.ts).
 */
import { spawn } from 'node:child_process';
import { setPriority } from 'node:os';

export interface Thumbnail {
  jpeg: Buffer;
  atMs: number;
}

export interface ThumbnailOptions {
  /** The channel's GOP cache as TS, or null (no such channel, nothing cached yet). */
  gop(number: number): Promise<Buffer | null>;
  /** ffmpeg's path, or null: no thumbnails (the reason is given by `get`). */
  ffmpeg: string | null;
  /** A picture is made again only when older than this. Default 5000. */
  maxAgeMs?: number;
  /** Width in pixels (height keeps the aspect ratio). Default 320. */
  width?: number;
  /** ffmpeg processes at once. Default 2. */
  concurrency?: number;
  /** One ffmpeg run's time limit. Default 5000. */
  timeoutMs?: number;
  now?: () => number;
}

export class ThumbnailError extends Error {
  constructor(
    readonly code: 'ROOMCAST_ERR_NO_PICTURE' | 'ROOMCAST_ERR_NO_FFMPEG' | 'ROOMCAST_ERR_THUMBNAIL',
    message: string,
  ) {
    super(message);
  }
}

export class Thumbnails {
  private readonly cache = new Map<number, Thumbnail>();
  private readonly pending = new Map<number, Promise<Thumbnail>>();
  private running = 0;
  private readonly queue: (() => void)[] = [];
  readonly counters = { made: 0, failed: 0, served: 0 };

  constructor(private readonly o: ThumbnailOptions) {}

  /** The channel's latest picture (made now if the last is older than maxAgeMs). */
  async get(number: number): Promise<Thumbnail> {
    const now = (this.o.now ?? Date.now)();
    const have = this.cache.get(number);
    this.counters.served++;
    if (have && now - have.atMs < (this.o.maxAgeMs ?? 5000)) return have;
    let p = this.pending.get(number);
    if (!p) {
      p = this.make(number).finally(() => this.pending.delete(number));
      this.pending.set(number, p);
    }
    return p;
  }

  /** A channel stopped or removed: its picture goes too. */
  forget(number: number): void {
    this.cache.delete(number);
  }

  private async make(number: number): Promise<Thumbnail> {
    if (!this.o.ffmpeg) throw new ThumbnailError('ROOMCAST_ERR_NO_FFMPEG', 'no ffmpeg on this headend: thumbnails need it (Debian package ffmpeg)');
    const ts = await this.o.gop(number);
    if (!ts) throw new ThumbnailError('ROOMCAST_ERR_NO_PICTURE', `channel ${number} has no picture yet (not on the air, or no I-frame since it started)`);
    await this.slot();
    try {
      const jpeg = await this.decode(this.o.ffmpeg, ts);
      const t = { jpeg, atMs: (this.o.now ?? Date.now)() };
      this.cache.set(number, t);
      this.counters.made++;
      return t;
    } catch (err) {
      this.counters.failed++;
      throw err;
    } finally {
      this.running--;
      this.queue.shift()?.();
    }
  }

  private slot(): Promise<void> {
    if (this.running < (this.o.concurrency ?? 2)) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) =>
      this.queue.push(() => {
        this.running++;
        resolve();
      }),
    );
  }

  private decode(ffmpeg: string, ts: Buffer): Promise<Buffer> {
    const width = this.o.width ?? 320;
    const args = [
      '-nostdin', '-hide_banner', '-loglevel', 'error',
      '-threads', '1', '-f', 'mpegts', '-i', 'pipe:0',
      '-map', '0:v:0', '-frames:v', '1', '-filter_threads', '1',
      // Square pixels at `width`, even height (what the JPEG encoder takes).
      '-vf', `scale=${width}:-2`,
      '-f', 'image2pipe', '-c:v', 'mjpeg', '-q:v', '5', 'pipe:1',
    ];
    return new Promise((resolve, reject) => {
      const child = spawn(ffmpeg, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      try {
        if (child.pid !== undefined) setPriority(child.pid, 19);
      } catch {
        // not permitted: it runs at normal priority (one short decode)
      }
      const out: Buffer[] = [];
      let err = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), this.o.timeoutMs ?? 5000);
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => {
        if (err.length < 2000) err += b.toString();
      });
      // ffmpeg stops reading after its one frame: EPIPE on stdin is expected.
      child.stdin.on('error', () => {});
      child.stdin.end(ts);
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(new ThumbnailError('ROOMCAST_ERR_THUMBNAIL', `ffmpeg: ${e.message}`));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        const jpeg = Buffer.concat(out);
        // A JPEG starts with SOI (FF D8).
        if (code === 0 && jpeg.length > 2 && jpeg[0] === 0xff && jpeg[1] === 0xd8) resolve(jpeg);
        else {
          const why = signal ? `killed after ${this.o.timeoutMs ?? 5000} ms` : err.trim().split('\n').slice(-2).join(' | ') || `exit code ${code}, no picture`;
          reject(new ThumbnailError('ROOMCAST_ERR_THUMBNAIL', `cannot decode a picture: ${why}`));
        }
      });
    });
  }
}
