/**
 * Thumbnails (headend/control/thumbnail.ts) with the real ffmpeg: a GOP of
 * the H.264 and H.265 fixtures decodes to a JPEG of the requested width;
 * garbage is an error naming ffmpeg's reason; asks within maxAge share one
 * picture; concurrent asks for one channel share one ffmpeg.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findFfmpeg } from '../../../../headend/dataplane/ffmpeg.js';
import { ThumbnailError, Thumbnails } from '../../../../headend/control/thumbnail.js';
import { FIXTURES } from '../../../helpers/headend.js';

const ffmpeg = findFfmpeg();
/** The first ~1.2 s of a fixture: its first GOP (1 s), from the first I-frame. */
const gopOf = (file: string): Buffer => {
  const all = readFileSync(join(FIXTURES, file));
  return all.subarray(0, Math.min(all.length, 188 * 1200));
};

/** JPEG SOF0 (baseline, what ffmpeg's mjpeg writes): its height and width. */
function jpegSize(b: Buffer): { width: number; height: number } | null {
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1];
    const len = b.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xc2) return { height: b.readUInt16BE(i + 5), width: b.readUInt16BE(i + 7) };
    i += 2 + len;
  }
  return null;
}

t.test('a GOP decodes to a JPEG of the asked width (H.264 and H.265)', { skip: ffmpeg ? false : 'no ffmpeg' }, async (t) => {
  for (const file of ['h264-aac-1s-gop.ts', 'h265-aac-1s-gop.ts']) {
    const th = new Thumbnails({ ffmpeg, gop: async () => gopOf(file), width: 320 });
    const pic = await th.get(1);
    t.same([...pic.jpeg.subarray(0, 2)], [0xff, 0xd8], `${file}: a JPEG`);
    const size = jpegSize(pic.jpeg);
    t.equal(size?.width, 320, `${file}: 320 pixels wide`);
    t.ok(size && size.height > 0 && size.height % 2 === 0, `${file}: even height ${size?.height}`);
    t.equal(th.counters.made, 1);
  }
});

t.test('asks within maxAge get the same picture; concurrent asks share one ffmpeg; later asks make a new one', { skip: ffmpeg ? false : 'no ffmpeg' }, async (t) => {
  let now = 1000;
  let gops = 0;
  const th = new Thumbnails({ ffmpeg, gop: async () => (gops++, gopOf('h264-aac-1s-gop.ts')), maxAgeMs: 5000, now: () => now });
  const [a, b] = await Promise.all([th.get(1), th.get(1)]);
  t.equal(a, b, 'two concurrent asks, one picture');
  t.equal(gops, 1, 'one GOP copied');
  now += 4000;
  t.equal(await th.get(1), a, 'within maxAge: the same picture');
  now += 2000;
  const c = await th.get(1);
  t.not(c, a, 'past maxAge: a new one');
  t.equal(th.counters.made, 2);
  th.forget(1);
  await th.get(1);
  t.equal(th.counters.made, 3, 'forget() drops the picture (a restarted channel)');
});

t.test('no picture, no ffmpeg, and garbage are errors that say why', async (t) => {
  const none = new Thumbnails({ ffmpeg, gop: async () => null });
  await t.rejects(none.get(4), { code: 'ROOMCAST_ERR_NO_PICTURE', message: /channel 4 has no picture yet/ });
  const noBin = new Thumbnails({ ffmpeg: null, gop: async () => Buffer.alloc(188) });
  await t.rejects(noBin.get(1), { code: 'ROOMCAST_ERR_NO_FFMPEG' });
  if (!ffmpeg) return;
  const junk = new Thumbnails({ ffmpeg, gop: async () => Buffer.alloc(188 * 50, 0x47) });
  const err = await junk.get(1).then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(err instanceof ThumbnailError, 'garbage TS: a ThumbnailError');
  t.equal((err as ThumbnailError).code, 'ROOMCAST_ERR_THUMBNAIL');
  t.match((err as Error).message, /cannot decode a picture/);
  t.equal(junk.counters.failed, 1);
});

t.test('at most `concurrency` ffmpeg at once', { skip: ffmpeg ? false : 'no ffmpeg' }, async (t) => {
  let running = 0;
  let peak = 0;
  const th = new Thumbnails({
    ffmpeg,
    concurrency: 2,
    gop: async () => gopOf('h264-aac-1s-gop.ts'),
  });
  // Count ffmpeg processes by wrapping decode's slot: the queue holds the rest.
  const slot = (th as unknown as { slot: () => Promise<void> }).slot.bind(th);
  (th as unknown as { slot: () => Promise<void> }).slot = async () => {
    await slot();
    running++;
    peak = Math.max(peak, running);
    setImmediate(() => running--);
  };
  await Promise.all([1, 2, 3, 4, 5].map((n) => th.get(n)));
  t.equal(th.counters.made, 5, 'five channels, five pictures');
  t.ok(peak <= 2, `never more than 2 at once (peak ${peak})`);
  t.equal((th as unknown as { running: number }).running, 0, 'every slot given back');
});
