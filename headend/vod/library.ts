/**
 * The VOD library (issue 6 §5): films dropped in the inbox folder (hotel IT
 * copies them there over SFTP/SMB) or uploaded in the admin UI are probed
 * with ffprobe and packaged by ffmpeg as HLS — remuxed when they already are
 * H.264/AAC, transcoded otherwise — with a poster frame, and served at
 * `/vod/<asset>/index.m3u8` (headend/control/vod.ts).
 *
 * Layout under `dir`:
 *   inbox/                      the drop folder; `.upload-*` are uploads in progress
 *   assets/<id>/                a published package: index.m3u8, seg00000.ts …, poster.jpg, meta.json
 *   assets/.work-<id>/          a package being made; renamed to <id> only when whole
 *
 * A published asset is therefore always complete. At start the leftovers of
 * a crash (`.work-*`, `.upload-*`) are removed; the job is simply run again,
 * since its source is still in the inbox (it is deleted only after the
 * rename). The index in memory is rebuilt from the meta.json files: there is
 * no second index to disagree with the disk.
 *
 * One packaging job at a time (transcoding is CPU-bound and the data plane
 * paces multicast on the same cores): ffmpeg runs at the lowest CPU priority,
 * the others wait as `queued`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, watch, type FSWatcher } from 'node:fs';
import { link, mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { setPriority } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { findFfmpeg } from '../dataplane/ffmpeg.js';

export const VodState = {
  /** Found in the inbox (or uploaded), waiting for the packager. */
  queued: 'queued',
  /** Being probed and packaged; `progress` says how far. */
  packaging: 'packaging',
  ready: 'ready',
  /** Could not be packaged; `error` says why. The source stays in the inbox until it changes or is removed. */
  failed: 'failed',
} as const;
export type VodState = (typeof VodState)[keyof typeof VodState];

export const VodMode = {
  /** Streams copied into MPEG-TS segments: no re-encoding, no quality loss, seconds per film. */
  remux: 'remux',
  /** At least one stream re-encoded (H.264 / AAC). */
  transcode: 'transcode',
} as const;
export type VodMode = (typeof VodMode)[keyof typeof VodMode];

export const VodErrorCode = {
  /** No asset with that id. */
  notFound: 'ROOMCAST_ERR_VOD_NOT_FOUND',
  /** An asset id or file name that is not one the library could have made (traversal, bad characters, too long). */
  invalidName: 'ROOMCAST_ERR_VOD_INVALID_NAME',
  /** An upload over the size cap; the partial file is removed. */
  tooLarge: 'ROOMCAST_ERR_VOD_TOO_LARGE',
  /** An upload that did not arrive whole (the client went away, the disk is full …). */
  uploadFailed: 'ROOMCAST_ERR_VOD_UPLOAD_FAILED',
  /** The library is closed. */
  closed: 'ROOMCAST_ERR_VOD_CLOSED',
} as const;
export type VodErrorCode = (typeof VodErrorCode)[keyof typeof VodErrorCode];

export class VodError extends Error {
  override readonly name = 'VodError';
  constructor(readonly code: VodErrorCode, message: string) {
    super(message);
  }
}

/** What the API shows of an asset, whatever its state. */
export interface VodAsset {
  id: string;
  title: string;
  state: VodState;
  /** 0–100 while packaging (null when the source's duration is unknown); 100 when ready; else null. */
  progress: number | null;
  /** Why it failed, else null. */
  error: string | null;
  /** The file's name in the inbox (or as uploaded). */
  sourceName: string;
  durationS: number | null;
  mode: VodMode | null;
  /** `h264 1280x720` (what the package holds). */
  video: string | null;
  /** `aac 48000 Hz stereo`, or null when the film has no sound. */
  audio: string | null;
  /** Bytes of the whole package on disk. */
  bytes: number | null;
  /** When it was published (ISO 8601). */
  createdAt: string | null;
  /**
   * Token of this package, in its segment and poster URLs (`?v=`). Ids come
   * from file names, so a deleted film's id can come back with another film:
   * without the token an HTTP cache would serve the old film's immutable segments.
   */
  version: string | null;
}

/** meta.json: written once into the work directory, before it is published. */
interface VodMeta {
  id: string;
  title: string;
  durationS: number | null;
  mode: VodMode;
  video: string;
  audio: string | null;
  bytes: number;
  sourceName: string;
  /** The source's size and mtime: an inbox file equal to a published asset's source is the leftover of a crash between publish and delete. */
  sourceBytes: number;
  sourceMtimeMs: number;
  createdAt: string;
  version: string;
  /** Every file of the package and its size: what `file()` serves, and nothing else. */
  files: Record<string, number>;
}

interface Entry {
  id: string;
  title: string;
  state: VodState;
  progress: number | null;
  error: string | null;
  sourceName: string;
  /** Size and mtime of the source when it was taken (a failed source is tried again when they change). */
  sourceBytes: number;
  sourceMtimeMs: number;
  meta: VodMeta | null;
  cancelled: boolean;
}

export interface VodLibraryOptions {
  /** The library's folder (inbox/ and assets/ are made in it). */
  dir: string;
  /** Default: findFfmpeg() (PATH, then the optional npm package). */
  ffmpegPath?: string | null;
  /** Default: ffprobe on PATH, else next to ffmpeg. */
  ffprobePath?: string | null;
  log(level: 'info' | 'warn', message: string): void;
  /** The clock for createdAt, ms since the epoch. Default Date.now. */
  now?: () => number;
  /** Period of the inbox scan (fs.watch only makes it quicker; on SMB/NFS mounts it may see nothing). Default 5000. */
  scanIntervalMs?: number;
  /** A file is taken once its size and mtime have not changed for this long (a copy in progress is left alone). Default scanIntervalMs. */
  settleMs?: number;
  /** Uploads larger than this are refused (and the partial file removed). Default 8 GiB. */
  maxUploadBytes?: number;
  /** HLS segment duration, s. Default 4. */
  segmentS?: number;
  /** ffmpeg is killed when it reports no progress for this long (a hung input, a stuck NFS read). Default 120 000. */
  stallTimeoutMs?: number;
  /** Called when an asset is added or changes state or progress (for a status stream); must not throw. */
  onChange?(asset: VodAsset): void;
}

/** Asset ids: what slug() makes, nothing else — no `.`, `/`, `\`, `%`, NUL; at most 48 characters. */
const ID_RE = /^[a-z0-9](?:[a-z0-9-]{0,46}[a-z0-9])?$/;
const ID_MAX = 48;
/** The files a package has; nothing else in an asset directory is ever served. */
const PACKAGE_FILE_RE = /^(?:index\.m3u8|poster\.jpg|seg\d{5,6}\.ts)$/;
/** Partial files of common copy tools (WinSCP .filepart, rsync/curl .part, browsers .crdownload, Office ~$). */
const TEMP_NAME_RE = /(?:\.(?:part|partial|filepart|crdownload|tmp|temp|download|!sync)$)|^~\$/i;
/** Bytes of ffmpeg's stderr kept for the error message (the end is what says why). */
const STDERR_KEEP = 4096;
/** ffprobe's JSON of one file is a few KiB; a hostile file with thousands of streams is cut here. */
const PROBE_STDOUT_MAX = 4 * 1024 * 1024;
const POSTER_WIDTH = 320;
const UPLOAD_NAME_MAX_BYTES = 200;

export function isValidAssetId(id: string): boolean {
  return ID_RE.test(id);
}

/** An asset id from a file name: lowercase a–z, 0–9 and '-', accents dropped, at most `max` characters. */
export function slugOf(fileName: string, max = ID_MAX): string {
  const base = fileName.replace(/\.[^.]{1,8}$/, '');
  const s = base
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, max)
    .replace(/^-+|-+$/g, '');
  return s === '' ? 'video' : s;
}

/** A title from a file name: extension dropped, `_` and `.` as spaces (`The_Grand.Hotel.2014.mkv` → `The Grand Hotel 2014`). */
export function titleOf(fileName: string): string {
  const t = fileName.replace(/\.[^.]{1,8}$/, '').replace(/[_.]+/g, ' ').replace(/\s+/g, ' ').trim();
  return t === '' ? fileName : t;
}

/**
 * The name an upload gets in the inbox: the last path component only, no
 * control characters, no leading dots (hidden files are ignored), none of
 * the characters SMB clients refuse, at most 200 UTF-8 bytes.
 */
export function safeUploadName(name: string): string {
  let s = name.split(/[/\\]/).pop() ?? '';
  s = s.replace(/[\u0000-\u001f\u007f]/g, '').replace(/[<>:"|?*]/g, '_').trim().replace(/^\.+/, '');
  while (Buffer.byteLength(s) > UPLOAD_NAME_MAX_BYTES) s = s.slice(0, -1);
  if (s === '') s = 'upload';
  // A name the scanner ignores would never be packaged after a restart.
  if (TEMP_NAME_RE.test(s)) s += '.upload';
  return s;
}

function isIgnoredName(name: string): boolean {
  return name.startsWith('.') || TEMP_NAME_RE.test(name);
}

interface ProbeStream {
  index: number;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  field_order?: string;
  is_avc?: string;
  sample_rate?: string;
  channels?: number;
  channel_layout?: string;
  duration?: string;
  disposition?: { attached_pic?: number };
}
interface Probe {
  streams?: ProbeStream[];
  format?: { duration?: string; format_name?: string; tags?: Record<string, string> };
}

/** Thrown inside a job: the sentence the asset shows as its error. */
class JobError extends Error {}

interface Settling {
  size: number;
  mtimeMs: number;
  sinceMs: number;
}

export class VodLibrary {
  private readonly inbox: string;
  private readonly assets: string;
  private readonly entries = new Map<string, Entry>();
  /** Inbox file name → its entry while queued, packaging or failed. */
  private readonly bySource = new Map<string, Entry>();
  /** Asset directories that hold no readable meta.json: their ids are not given out again. */
  private readonly unreadable = new Set<string>();
  /** Inbox names an upload is being moved to (the scanner leaves them alone). */
  private readonly reserved = new Set<string>();
  private readonly settling = new Map<string, Settling>();
  private readonly queue: Entry[] = [];
  private running: { entry: Entry; done: Promise<void> } | null = null;
  private child: ChildProcess | null = null;
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private settleTimer: NodeJS.Timeout | null = null;
  private watchTimer: NodeJS.Timeout | null = null;
  private scanning: Promise<void> | null = null;
  private rescan = false;
  private closed = false;
  private readonly ffmpeg: string | null;
  private readonly ffprobe: string | null;
  readonly counters = { packaged: 0, failed: 0, uploads: 0, uploadsRefused: 0, crashLeftoversRemoved: 0 };

  constructor(private readonly o: VodLibraryOptions) {
    this.inbox = join(o.dir, 'inbox');
    this.assets = join(o.dir, 'assets');
    this.ffmpeg = o.ffmpegPath !== undefined ? o.ffmpegPath : findFfmpeg();
    this.ffprobe = o.ffprobePath !== undefined ? o.ffprobePath : findFfprobe(this.ffmpeg);
  }

  get inboxDir(): string {
    return this.inbox;
  }

  get maxUploadBytes(): number {
    return this.o.maxUploadBytes ?? 8 * 1024 * 1024 * 1024;
  }

  /**
   * Makes the folders, removes crash leftovers, indexes the published
   * assets, then watches the inbox. Throws when the folder cannot be used.
   */
  async start(): Promise<void> {
    await mkdir(this.inbox, { recursive: true });
    await mkdir(this.assets, { recursive: true });
    for (const name of await readdir(this.inbox)) {
      if (name.startsWith('.upload-')) {
        await rm(join(this.inbox, name), { force: true });
        this.counters.crashLeftoversRemoved++;
      }
    }
    for (const d of await readdir(this.assets, { withFileTypes: true })) {
      if (!d.isDirectory()) continue;
      if (d.name.startsWith('.work-')) {
        // A job the last run did not finish: its source is still in the inbox and is packaged again.
        await rm(join(this.assets, d.name), { recursive: true, force: true });
        this.counters.crashLeftoversRemoved++;
        this.o.log('info', `VOD: removed ${d.name}, an unfinished package of the last run (its source is packaged again)`);
        continue;
      }
      if (!ID_RE.test(d.name)) continue;
      const meta = await this.readMeta(d.name);
      if (!meta) {
        this.unreadable.add(d.name);
        continue;
      }
      this.entries.set(meta.id, {
        id: meta.id,
        title: meta.title,
        state: 'ready',
        progress: 100,
        error: null,
        sourceName: meta.sourceName,
        sourceBytes: meta.sourceBytes,
        sourceMtimeMs: meta.sourceMtimeMs,
        meta,
        cancelled: false,
      });
    }
    // The source of a published asset still in the inbox: the last run stopped between publishing and deleting it.
    for (const e of this.entries.values()) {
      const st = await stat(join(this.inbox, e.sourceName)).catch(() => null);
      if (st && st.isFile() && st.size === e.sourceBytes && st.mtimeMs === e.sourceMtimeMs) {
        await unlink(join(this.inbox, e.sourceName)).catch(() => {});
        this.counters.crashLeftoversRemoved++;
      }
    }
    if (this.entries.size > 0) this.o.log('info', `VOD: ${this.entries.size} asset${this.entries.size === 1 ? '' : 's'} in ${this.assets}`);
    if (!this.ffmpeg || !this.ffprobe) this.o.log('warn', `VOD: no ${this.ffmpeg ? 'ffprobe' : 'ffmpeg'} on this headend: files in ${this.inbox} cannot be packaged (Debian package ffmpeg)`);
    try {
      // A copy or an upload in progress fires an event per write: one scan per 100 ms is plenty.
      this.watcher = watch(this.inbox, () => {
        this.watchTimer ??= setTimeout(() => {
          this.watchTimer = null;
          this.kick();
        }, 100);
      });
      this.watcher.unref();
      this.watcher.on('error', (err) => {
        this.o.log('warn', `VOD: watching ${this.inbox} failed (${err.message}); the inbox is still scanned every ${this.scanIntervalMs} ms`);
        this.watcher?.close();
        this.watcher = null;
      });
    } catch (err) {
      this.o.log('warn', `VOD: cannot watch ${this.inbox} (${(err as Error).message}); it is scanned every ${this.scanIntervalMs} ms`);
    }
    this.timer = setInterval(() => this.kick(), this.scanIntervalMs);
    this.timer.unref();
    await this.scan();
  }

  /** Stops watching; a running job is killed (its source stays in the inbox, the next start packages it again). */
  async close(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    this.watcher = null;
    if (this.timer) clearInterval(this.timer);
    if (this.settleTimer) clearTimeout(this.settleTimer);
    if (this.watchTimer) clearTimeout(this.watchTimer);
    this.timer = this.settleTimer = this.watchTimer = null;
    this.queue.length = 0;
    const r = this.running;
    if (r) {
      r.entry.cancelled = true;
      this.child?.kill('SIGKILL');
      await r.done;
    }
    await this.scanning;
  }

  /** Every asset: ready ones by title, then those queued, packaging or failed in the order they came. */
  list(): VodAsset[] {
    const all = [...this.entries.values()];
    const ready = all.filter((e) => e.state === 'ready').sort((a, b) => a.title.localeCompare(b.title) || a.id.localeCompare(b.id));
    return [...ready, ...all.filter((e) => e.state !== 'ready')].map(view);
  }

  /** The asset, or null (also for an id that is not valid). */
  get(id: string): VodAsset | null {
    const e = ID_RE.test(id) ? this.entries.get(id) : undefined;
    return e ? view(e) : null;
  }

  /**
   * A file of a ready asset: only names its package has (index.m3u8,
   * segNNNNN.ts, poster.jpg); the path is built from the package's own
   * list, never from the client's string. Null otherwise.
   */
  file(id: string, name: string): { path: string; bytes: number } | null {
    if (!ID_RE.test(id) || !PACKAGE_FILE_RE.test(name)) return null;
    const e = this.entries.get(id);
    const files = e?.state === 'ready' ? e.meta?.files : undefined;
    if (!files || !Object.hasOwn(files, name)) return null;
    const bytes = files[name];
    return { path: join(this.assets, id, name), bytes };
  }

  /**
   * Removes an asset: a ready one's directory; a queued or failed one's
   * source in the inbox; a packaging one's job is killed first (then its
   * work directory and source go). Throws VodError notFound / invalidName.
   */
  async remove(id: string): Promise<void> {
    if (!ID_RE.test(id)) throw new VodError(VodErrorCode.invalidName, `${JSON.stringify(id.slice(0, 64))} is refused: not a valid asset name`);
    const e = this.entries.get(id);
    if (!e) throw new VodError(VodErrorCode.notFound, `there is no VOD asset ${JSON.stringify(id)}`);
    if (e.state === 'ready') {
      // Out of the index first: no new request is served a file that is about to go.
      this.entries.delete(id);
      await rm(join(this.assets, id), { recursive: true, force: true });
      this.o.log('info', `VOD: ${id} (${JSON.stringify(e.title)}) removed`);
      return;
    }
    e.cancelled = true;
    const qi = this.queue.indexOf(e);
    if (qi >= 0) this.queue.splice(qi, 1);
    if (this.running?.entry === e) {
      this.child?.kill('SIGKILL');
      await this.running?.done;
    }
    if (e.meta !== null) {
      // The job had published it when the kill came (meta is set on publishing): it goes like any ready asset.
      this.entries.delete(id);
      await rm(join(this.assets, id), { recursive: true, force: true });
      return;
    }
    this.forget(e);
    await unlink(join(this.inbox, e.sourceName)).catch(() => {});
    this.o.log('info', `VOD: ${id} (${e.state}) removed with its source ${JSON.stringify(e.sourceName)}`);
  }

  /**
   * An upload: the stream is written to `inbox/.upload-<random>` (ignored by
   * the scanner) and, once whole, moved to a free name derived from `name`
   * and queued at once. Over `maxBytes` the write stops, the partial file
   * is removed and VodError tooLarge is thrown. Returns the queued asset.
   */
  async ingest(name: string, readable: Readable, opts: { maxBytes?: number } = {}): Promise<VodAsset> {
    if (this.closed) throw new VodError(VodErrorCode.closed, 'the VOD library is closed');
    const maxBytes = opts.maxBytes ?? this.maxUploadBytes;
    const tmp = join(this.inbox, `.upload-${randomBytes(8).toString('hex')}`);
    let bytes = 0;
    const cap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        bytes += chunk.length;
        if (bytes > maxBytes) cb(new VodError(VodErrorCode.tooLarge, `the upload is larger than ${maxBytes} bytes (headend.vod.maxUploadMB); nothing was kept`));
        else cb(null, chunk);
      },
    });
    // The source is piped, not part of the pipeline: on an error the pipeline would destroy it,
    // and for an HTTP request that is the socket the 413 must still be answered on.
    const written = pipeline(cap, createWriteStream(tmp, { flags: 'wx' }));
    const onError = (err: Error): void => void cap.destroy(err);
    const onClose = (): void => {
      if (!readable.readableEnded) cap.destroy(new Error('the sender closed the connection'));
    };
    readable.on('error', onError).on('close', onClose).pipe(cap);
    try {
      await written;
    } catch (err) {
      await rm(tmp, { force: true });
      this.counters.uploadsRefused++;
      if (err instanceof VodError) throw err;
      throw new VodError(VodErrorCode.uploadFailed, `the upload of ${JSON.stringify(name)} did not arrive whole after ${bytes} bytes (${(err as Error).message}); nothing was kept`);
    } finally {
      readable.off('error', onError).off('close', onClose).unpipe(cap);
    }
    if (bytes === 0) {
      await rm(tmp, { force: true });
      this.counters.uploadsRefused++;
      throw new VodError(VodErrorCode.uploadFailed, `the upload of ${JSON.stringify(name)} is empty`);
    }
    const final = await this.placeUpload(tmp, safeUploadName(name));
    try {
      const st = await stat(join(this.inbox, final));
      this.counters.uploads++;
      this.o.log('info', `VOD: upload ${JSON.stringify(final)} (${bytes} bytes) queued`);
      return view(this.take(final, st.size, st.mtimeMs));
    } finally {
      this.reserved.delete(final);
    }
  }

  /** Moves a finished upload to `name`, or `name (2).ext` …: link() fails on an existing name, so nothing is overwritten. */
  private async placeUpload(tmp: string, name: string): Promise<string> {
    const dot = name.lastIndexOf('.');
    const stem = dot > 0 ? name.slice(0, dot) : name;
    const ext = dot > 0 ? name.slice(dot) : '';
    for (let n = 1; n <= 1000; n++) {
      const candidate = n === 1 ? name : `${stem} (${n})${ext}`;
      if (this.reserved.has(candidate) || this.bySource.has(candidate)) continue;
      this.reserved.add(candidate);
      try {
        await link(tmp, join(this.inbox, candidate));
        await unlink(tmp);
        return candidate;
      } catch (err) {
        this.reserved.delete(candidate);
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
          await rm(tmp, { force: true });
          throw new VodError(VodErrorCode.uploadFailed, `cannot move the upload into ${this.inbox}: ${(err as Error).message}`);
        }
      }
    }
    await rm(tmp, { force: true });
    throw new VodError(VodErrorCode.uploadFailed, `the inbox already has 1000 files named like ${JSON.stringify(name)}`);
  }

  private get scanIntervalMs(): number {
    return this.o.scanIntervalMs ?? 5000;
  }

  private get settleMs(): number {
    return this.o.settleMs ?? this.scanIntervalMs;
  }

  /** Something changed in the inbox (or the period is up): scan, once at a time. */
  private kick(): void {
    if (this.closed) return;
    void this.scan();
  }

  private scan(): Promise<void> {
    if (this.scanning) {
      this.rescan = true;
      return this.scanning;
    }
    this.scanning = (async () => {
      // Bounded: a scan that keeps being re-asked (a busy inbox) still yields after a few rounds; the timer comes back.
      for (let round = 0; round < 4 && !this.closed; round++) {
        this.rescan = false;
        try {
          await this.scanOnce();
        } catch (err) {
          this.o.log('warn', `VOD: cannot read ${this.inbox}: ${(err as Error).message}`);
        }
        if (!this.rescan) break;
      }
    })().finally(() => {
      this.scanning = null;
    });
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    const nowMs = performance.now();
    const present = new Set<string>();
    let nextDueMs = Infinity;
    for (const d of await readdir(this.inbox, { withFileTypes: true })) {
      const name = d.name;
      if (isIgnoredName(name) || this.reserved.has(name)) continue;
      if (!d.isFile() && !d.isSymbolicLink()) continue;
      const st = await stat(join(this.inbox, name)).catch(() => null);
      if (!st || !st.isFile()) continue;
      present.add(name);
      const known = this.bySource.get(name);
      if (known) {
        // A failed file is tried again once it changes (a fixed copy over the broken one).
        if (known.state !== 'failed' || (st.size === known.sourceBytes && st.mtimeMs === known.sourceMtimeMs)) continue;
        this.forget(known);
      }
      const s = this.settling.get(name);
      if (!s || s.size !== st.size || s.mtimeMs !== st.mtimeMs || st.size === 0) {
        // New or still growing: the clock starts again (an empty file is one being created).
        this.settling.set(name, { size: st.size, mtimeMs: st.mtimeMs, sinceMs: nowMs });
        nextDueMs = Math.min(nextDueMs, nowMs + this.settleMs);
      } else if (nowMs - s.sinceMs >= this.settleMs) {
        this.settling.delete(name);
        this.take(name, st.size, st.mtimeMs);
      } else {
        nextDueMs = Math.min(nextDueMs, s.sinceMs + this.settleMs);
      }
    }
    for (const name of this.settling.keys()) if (!present.has(name)) this.settling.delete(name);
    for (const [name, e] of this.bySource) {
      // A failed source deleted from the inbox (over SMB, say): nothing is left to show.
      if (e.state === 'failed' && !present.has(name)) this.forget(e);
    }
    // The next look exactly when the first waiting file has settled, not a whole period later.
    if (nextDueMs !== Infinity && !this.closed) {
      if (this.settleTimer) clearTimeout(this.settleTimer);
      this.settleTimer = setTimeout(() => this.kick(), Math.max(10, nextDueMs - performance.now() + 5));
      this.settleTimer.unref();
    }
  }

  /** A whole file in the inbox becomes a queued asset. */
  private take(sourceName: string, size: number, mtimeMs: number): Entry {
    const e: Entry = {
      id: this.newId(sourceName),
      title: titleOf(sourceName),
      state: 'queued',
      progress: null,
      error: null,
      sourceName,
      sourceBytes: size,
      sourceMtimeMs: mtimeMs,
      meta: null,
      cancelled: false,
    };
    this.entries.set(e.id, e);
    this.bySource.set(sourceName, e);
    this.queue.push(e);
    this.changed(e);
    this.pump();
    return e;
  }

  private changed(e: Entry): void {
    try {
      this.o.onChange?.(view(e));
    } catch (err) {
      this.o.log('warn', `VOD: the change listener threw: ${(err as Error).message}`);
    }
  }

  private forget(e: Entry): void {
    if (this.entries.get(e.id) === e) this.entries.delete(e.id);
    if (this.bySource.get(e.sourceName) === e) this.bySource.delete(e.sourceName);
  }

  private newId(sourceName: string): string {
    const base = slugOf(sourceName);
    const free = (id: string): boolean => !this.entries.has(id) && !this.unreadable.has(id) && !existsSync(join(this.assets, id));
    if (free(base)) return base;
    for (let n = 2; n < 10_000; n++) {
      const suffix = `-${n}`;
      const id = `${base.slice(0, ID_MAX - suffix.length).replace(/-+$/, '')}${suffix}`;
      if (free(id)) return id;
    }
    return `${base.slice(0, ID_MAX - 9)}-${randomBytes(4).toString('hex')}`;
  }

  private pump(): void {
    if (this.running || this.closed) return;
    const e = this.queue.shift();
    if (!e) return;
    const done = this.runJob(e).finally(() => {
      this.running = null;
      this.pump();
    });
    this.running = { entry: e, done };
  }

  private async runJob(e: Entry): Promise<void> {
    const work = join(this.assets, `.work-${e.id}`);
    e.state = 'packaging';
    e.progress = 0;
    this.changed(e);
    const started = performance.now();
    try {
      await rm(work, { recursive: true, force: true });
      await mkdir(work);
      const meta = await this.packageInto(e, work);
      if (e.cancelled) throw new JobError('cancelled');
      await writeFile(join(work, 'meta.json'), JSON.stringify(meta, null, 1));
      // Published in one step: a reader sees no package or a whole one.
      await rename(work, join(this.assets, e.id));
      // The package is the library's copy now: the inbox is a drop folder, not storage, and
      // keeping the source would hold every film twice. (Hotel IT keeps its masters elsewhere.)
      await unlink(join(this.inbox, e.sourceName)).catch((err: Error) => this.o.log('warn', `VOD: cannot remove the packaged source ${e.sourceName}: ${err.message}`));
      this.bySource.delete(e.sourceName);
      Object.assign(e, { state: 'ready', progress: 100, title: meta.title, meta });
      this.counters.packaged++;
      this.changed(e);
      this.o.log('info', `VOD: ${e.id} ready (${meta.mode}, ${meta.video}${meta.audio ? ', ' + meta.audio : ''}, ${meta.durationS ?? '?'} s) in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    } catch (err) {
      await rm(work, { recursive: true, force: true }).catch(() => {});
      if (e.cancelled) return;
      e.state = 'failed';
      e.progress = null;
      e.error = err instanceof JobError ? err.message : `packaging failed: ${(err as Error).message}`;
      this.counters.failed++;
      this.changed(e);
      this.o.log('warn', `VOD: ${JSON.stringify(e.sourceName)} cannot be packaged: ${e.error} (the file stays in ${this.inbox} until it changes)`);
    }
  }

  private async packageInto(e: Entry, work: string): Promise<VodMeta> {
    if (!this.ffmpeg || !this.ffprobe) throw new JobError(`no ${this.ffmpeg ? 'ffprobe' : 'ffmpeg'} on this headend (Debian package ffmpeg)`);
    const src = join(this.inbox, e.sourceName);
    // `file:` so that a name with a colon is not read as a protocol (ffmpeg-protocols(1), "file").
    const input = `file:${src}`;
    const probe = await this.probe(input, e.sourceName);
    const streams = probe.streams ?? [];
    // Cover art in MP4/MKV is a video stream too (disposition attached_pic): not the film.
    const video = streams.find((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1);
    const audio = streams.find((s) => s.codec_type === 'audio');
    if (!video) {
      const found = streams.map((s) => `${s.codec_type ?? '?'} ${s.codec_name ?? '?'}`).join(', ');
      throw new JobError(`no video stream (ffprobe found ${found || 'no streams'})`);
    }
    const tags = probe.format?.tags ?? {};
    const tagTitle = Object.entries(tags).find(([k]) => k.toLowerCase() === 'title')?.[1];
    const title = tagTitle && tagTitle.trim() !== '' ? tagTitle.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 200) : titleOf(e.sourceName);
    e.title = title;
    const d = Number(probe.format?.duration ?? video.duration);
    const durationS = Number.isFinite(d) && d > 0 ? Math.round(d * 1000) / 1000 : null;
    if (durationS === null) e.progress = null;

    // Copy a stream when the set-top boxes and browsers decode it as it is: H.264 in 8-bit 4:2:0
    // (10-bit or 4:2:2 H.264 has no hardware decoder in TVs), AAC. Anything else is re-encoded;
    // only the stream that needs it, so a film with H.264 and AC-3 keeps its picture untouched.
    const copyVideo = video.codec_name === 'h264' && (video.pix_fmt === 'yuv420p' || video.pix_fmt === 'yuvj420p');
    const copyAudio = !audio || audio.codec_name === 'aac';
    const mode: VodMode = copyVideo && copyAudio ? 'remux' : 'transcode';
    const segmentS = this.o.segmentS ?? 4;
    const args = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-nostats', '-progress', 'pipe:1', '-i', input, '-map', `0:${video.index}`];
    if (audio) args.push('-map', `0:${audio.index}`);
    if (copyVideo) {
      args.push('-c:v', 'copy');
      // MP4/MKV carry H.264 length-prefixed (avcC); MPEG-TS needs Annex B start codes (ISO/IEC 14496-15 §5.3.3 vs H.264 Annex B).
      if (video.is_avc === 'true' || video.is_avc === '1') args.push('-bsf:v', 'h264_mp4toannexb');
    } else {
      // At most 1080p, never upscaled, aspect ratio kept; even dimensions for 4:2:0.
      const filters: string[] = [];
      // Interlaced sources (DVB recordings, DVDs): browsers and hls.js show interlaced frames combed.
      if (video.field_order && !['progressive', 'unknown'].includes(video.field_order)) filters.push('yadif=deint=interlaced');
      filters.push("scale=w='min(iw,1920)':h='min(ih,1080)':force_original_aspect_ratio=decrease", 'scale=trunc(iw/2)*2:trunc(ih/2)*2', 'format=yuv420p');
      args.push(
        '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '21', '-profile:v', 'high', '-vf', filters.join(','),
        // A keyframe every segment duration: the hls muxer cuts only at keyframes (ffmpeg-formats(1), hls_time),
        // and x264's default GOP (250 frames) would make 10 s segments.
        '-force_key_frames', `expr:gte(t,n_forced*${segmentS})`,
      );
    }
    if (audio) {
      if (copyAudio) args.push('-c:a', 'copy');
      else args.push('-c:a', 'aac', '-b:a', '128k', '-ac', '2');
    }
    args.push(
      '-sn', '-dn',
      '-f', 'hls', '-hls_time', String(segmentS), '-hls_playlist_type', 'vod',
      '-hls_segment_type', 'mpegts', '-hls_segment_filename', 'seg%05d.ts', 'index.m3u8',
    );
    const run = await this.run(this.ffmpeg, args, {
      cwd: work,
      onLine: (line) => {
        // -progress writes key=value lines; out_time_us is the output position (ffmpeg(1), -progress).
        const m = /^out_time_us=(\d+)$/.exec(line);
        if (m && durationS !== null) {
          const p = Math.max(e.progress ?? 0, Math.min(99, Math.floor((Number(m[1]) / 1e6 / durationS) * 100)));
          if (p !== e.progress) {
            e.progress = p;
            this.changed(e);
          }
        }
      },
      stallMs: this.o.stallTimeoutMs ?? 120_000,
    });
    if (e.cancelled) throw new JobError('cancelled');
    if (run.code !== 0) throw new JobError(`ffmpeg could not package it: ${run.why}`);

    // The poster: one frame at 10 % of the film (past the studio logos), 320 px wide in square pixels.
    const posterArgs = (atS: number): string[] => [
      '-nostdin', '-hide_banner', '-loglevel', 'error', '-ss', atS.toFixed(3), '-i', input, '-map', `0:${video.index}`, '-frames:v', '1',
      '-vf', `scale=${POSTER_WIDTH}:trunc(ow/dar/2)*2,setsar=1`, '-q:v', '4', '-f', 'image2', '-c:v', 'mjpeg', '-y', 'poster.jpg',
    ];
    let poster = await this.run(this.ffmpeg, posterArgs(durationS !== null ? durationS * 0.1 : 0), { cwd: work, stallMs: 60_000, timeoutMs: 60_000 });
    if (poster.code !== 0 || !existsSync(join(work, 'poster.jpg'))) {
      // A seek past what the index knows (a file with a wrong duration): the first frame then.
      poster = await this.run(this.ffmpeg, posterArgs(0), { cwd: work, stallMs: 60_000, timeoutMs: 60_000 });
    }
    if (e.cancelled) throw new JobError('cancelled');
    if (poster.code !== 0 || !existsSync(join(work, 'poster.jpg'))) throw new JobError(`ffmpeg could not make a poster frame: ${poster.why}`);

    // What the package holds, from the package itself (after a transcode the source's figures are not it).
    const out = await this.probe(`file:${join(work, 'seg00000.ts')}`, 'seg00000.ts').catch(() => null);
    const ov = out?.streams?.find((s) => s.codec_type === 'video');
    const oa = out?.streams?.find((s) => s.codec_type === 'audio');
    const version = (this.o.now ?? Date.now)().toString(36);
    const files: Record<string, number> = {};
    let bytes = 0;
    for (const name of await readdir(work)) {
      if (!PACKAGE_FILE_RE.test(name)) continue;
      if (name === 'index.m3u8') {
        // Segment URIs carry the package's version: see VodAsset.version.
        const text = await readFile(join(work, name), 'utf8');
        await writeFile(join(work, name), text.replace(/^(seg\d{5,6}\.ts)$/gm, `$1?v=${version}`));
      }
      const size = (await stat(join(work, name))).size;
      files[name] = size;
      bytes += size;
    }
    if (!files['index.m3u8'] || !files['seg00000.ts']) throw new JobError('ffmpeg finished without writing a playlist and segments');
    return {
      id: e.id,
      title,
      durationS,
      mode,
      video: `${ov?.codec_name ?? video.codec_name ?? '?'} ${ov?.width ?? video.width ?? '?'}x${ov?.height ?? video.height ?? '?'}`,
      audio: audio ? describeAudio(oa ?? audio) : null,
      bytes,
      sourceName: e.sourceName,
      sourceBytes: e.sourceBytes,
      sourceMtimeMs: e.sourceMtimeMs,
      createdAt: new Date((this.o.now ?? Date.now)()).toISOString(),
      version,
      files,
    };
  }

  private async probe(input: string, shownName: string): Promise<Probe> {
    const r = await this.run(this.ffprobe!, ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', input], {
      cwd: this.o.dir,
      timeoutMs: 60_000,
      stallMs: 60_000,
      keepStdout: true,
    });
    // ffprobe names the input in its errors: show the file's name, not the server's paths.
    const why = r.why.split(input).join(shownName);
    if (r.code !== 0) throw new JobError(`ffprobe cannot read it: ${why}`);
    try {
      return JSON.parse(r.stdout) as Probe;
    } catch {
      throw new JobError(`ffprobe's answer is not JSON (${r.stdout.length} bytes)`);
    }
  }

  /**
   * Runs one ffmpeg/ffprobe at the lowest CPU priority. Killed when it is
   * silent on stdout for `stallMs` or runs longer than `timeoutMs`.
   */
  private run(
    bin: string,
    args: string[],
    o: { cwd: string; onLine?: (line: string) => void; stallMs: number; timeoutMs?: number; keepStdout?: boolean },
  ): Promise<{ code: number | null; why: string; stdout: string }> {
    return new Promise((resolve) => {
      const child = spawn(bin, args, { cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
      this.child = child;
      try {
        if (child.pid !== undefined) setPriority(child.pid, 19);
      } catch {
        // not permitted: it runs at normal priority
      }
      let stderr = '';
      let stdout = '';
      let partial = '';
      let killedFor: string | null = null;
      const kill = (why: string): void => {
        killedFor = why;
        child.kill('SIGKILL');
      };
      let stall = setTimeout(() => kill(`no progress for ${o.stallMs} ms`), o.stallMs);
      const limit = o.timeoutMs ? setTimeout(() => kill(`still running after ${o.timeoutMs} ms`), o.timeoutMs) : null;
      child.stdout.on('data', (b: Buffer) => {
        clearTimeout(stall);
        stall = setTimeout(() => kill(`no progress for ${o.stallMs} ms`), o.stallMs);
        if (o.keepStdout) {
          if (stdout.length + b.length > PROBE_STDOUT_MAX) kill(`more than ${PROBE_STDOUT_MAX} bytes of output`);
          else stdout += b.toString('utf8');
        }
        if (o.onLine) {
          const lines = (partial + b.toString('utf8')).split('\n');
          partial = lines.pop() ?? '';
          if (partial.length > 4096) partial = '';
          for (const l of lines) o.onLine(l.trim());
        }
      });
      child.stderr.on('data', (b: Buffer) => {
        stderr = (stderr + b.toString('utf8')).slice(-STDERR_KEEP);
      });
      const finish = (code: number | null, spawnError?: Error): void => {
        clearTimeout(stall);
        if (limit) clearTimeout(limit);
        if (this.child === child) this.child = null;
        // The last lines say why; `[mov,mp4,… @ 0x55…] ` prefixes are noise to a reader.
        const last = stderr.trim().split('\n').filter(Boolean).slice(-2).map((l) => l.replace(/^\[[^\]]* @ 0x[0-9a-f]+\] /, '')).join(' | ');
        const why = spawnError ? `cannot run ${bin}: ${spawnError.message}` : killedFor ? `killed: ${killedFor}` : last || `exit code ${code}`;
        resolve({ code: spawnError || killedFor ? null : code, why, stdout });
      };
      child.on('error', (err) => finish(null, err));
      child.on('close', (code) => finish(code));
    });
  }

  private async readMeta(id: string): Promise<VodMeta | null> {
    const p = join(this.assets, id, 'meta.json');
    try {
      const m = JSON.parse(await readFile(p, 'utf8')) as VodMeta;
      const ok =
        m && m.id === id && typeof m.title === 'string' && (m.mode === 'remux' || m.mode === 'transcode') &&
        // The source's name is joined to the inbox at start (crash leftovers): one plain name, no path.
        typeof m.sourceName === 'string' && !/[/\\\u0000]/.test(m.sourceName) && m.sourceName !== '.' && m.sourceName !== '..' &&
        typeof m.version === 'string' && m.files !== null && typeof m.files === 'object' &&
        Object.entries(m.files).every(([k, v]) => PACKAGE_FILE_RE.test(k) && Number.isInteger(v) && v >= 0) && Object.hasOwn(m.files, 'index.m3u8');
      if (ok) return m;
      this.o.log('warn', `VOD: ${p} is not a meta.json this library wrote (id, title, mode, files …): ${id} is not served`);
    } catch (err) {
      this.o.log('warn', `VOD: cannot read ${p}: ${(err as Error).message}; ${id} is not served`);
    }
    return null;
  }
}

function describeAudio(s: ProbeStream): string {
  const layout = s.channel_layout ?? (s.channels ? `${s.channels} ch` : '');
  return [s.codec_name ?? '?', s.sample_rate ? `${s.sample_rate} Hz` : '', layout].filter(Boolean).join(' ');
}

function view(e: Entry): VodAsset {
  const m = e.meta;
  return {
    id: e.id,
    title: e.title,
    state: e.state,
    progress: e.progress,
    error: e.error,
    sourceName: e.sourceName,
    durationS: m?.durationS ?? null,
    mode: m?.mode ?? null,
    video: m?.video ?? null,
    audio: m?.audio ?? null,
    bytes: m?.bytes ?? null,
    createdAt: m?.createdAt ?? null,
    version: m?.version ?? null,
  };
}

/** ffprobe on PATH, else next to ffmpeg (a static build ships both), else null. */
export function findFfprobe(ffmpeg: string | null): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, 'ffprobe'))) return join(dir, 'ffprobe');
  }
  if (ffmpeg) {
    const sibling = join(dirname(ffmpeg), 'ffprobe');
    if (existsSync(sibling)) return sibling;
  }
  return null;
}
