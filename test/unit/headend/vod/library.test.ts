/**
 * The VOD library's names: asset ids (the only thing a client's string is
 * matched against before a path is built), slugs, titles and upload names.
 */
import t from 'tap';
import { isValidAssetId, safeUploadName, slugOf, titleOf } from '../../../../headend/vod/library.js';

/** One table: each id is either what slugOf can make (valid) or refused. */
const ID_CASES: [string, boolean, string][] = [
  ['film', true, 'plain'],
  ['the-grand-hotel-2014', true, 'dashes inside'],
  ['a'.repeat(48), true, '48 characters'],
  ['a'.repeat(49), false, '49 characters'],
  ['a'.repeat(300), false, 'over-long'],
  ['', false, 'empty'],
  ['..', false, 'parent directory'],
  ['.', false, 'this directory'],
  ['../etc', false, 'traversal'],
  ['..%2f..%2fetc', false, 'encoded slash left encoded'],
  ['%2e%2e', false, 'encoded dots'],
  ['a/b', false, 'slash'],
  ['a\\b', false, 'backslash'],
  ['film\u0000', false, 'NUL'],
  ['Film', false, 'uppercase'],
  ['-film', false, 'leading dash'],
  ['film-', false, 'trailing dash'],
  ['.work-film', false, 'a work directory'],
  ['film.m3u8', false, 'a dot'],
  ['fïlm', false, 'non-ASCII'],
];

t.test('asset ids: only what slugOf makes is valid', async (t) => {
  for (const [id, ok, why] of ID_CASES) t.equal(isValidAssetId(id), ok, `${why}: ${JSON.stringify(id.slice(0, 60))}`);
});

t.test('slugOf: lowercase a-z 0-9 and dashes, accents dropped, extension dropped, at most 48', async (t) => {
  t.equal(slugOf('The_Grand.Budapest Hotel (2014).mkv'), 'the-grand-budapest-hotel-2014');
  t.equal(slugOf('Mon Film é.mp4'), 'mon-film-e');
  t.equal(slugOf('Ünïcödé Çafé.mov'), 'unicode-cafe');
  t.equal(slugOf('日本語.mp4'), 'video', 'nothing left: a generic id');
  t.equal(slugOf('../../etc/passwd'), 'etc-passwd');
  t.equal(slugOf(`${'x'.repeat(47)}-yy.mp4`), 'x'.repeat(47), 'cut at 48, no trailing dash');
  for (const name of ['a.mp4', 'Mon Film é.mp4', '..\\..\\x.ts', '---.mp4', `${'Ab '.repeat(40)}.mkv`]) {
    t.ok(isValidAssetId(slugOf(name)), `the slug of ${JSON.stringify(name)} is a valid id`);
  }
});

t.test('titleOf: the file name without extension, separators as spaces', async (t) => {
  t.equal(titleOf('The_Grand.Budapest.Hotel.2014.mkv'), 'The Grand Budapest Hotel 2014');
  t.equal(titleOf('old_sport.mpg'), 'old sport');
  t.equal(titleOf('Noextension'), 'Noextension');
});

t.test('safeUploadName: the last path component, no hidden or temporary name, no control characters', async (t) => {
  t.equal(safeUploadName('C:\\Users\\it\\Desktop\\Film.mp4'), 'Film.mp4');
  t.equal(safeUploadName('../../etc/passwd'), 'passwd');
  t.equal(safeUploadName('.hidden.mp4'), 'hidden.mp4', 'no leading dot (the scanner ignores hidden files)');
  t.equal(safeUploadName('a\u0000b\nc.mp4'), 'abc.mp4');
  t.equal(safeUploadName('what?.mp4'), 'what_.mp4', 'characters SMB refuses');
  t.equal(safeUploadName('film.mp4.part'), 'film.mp4.part.upload', 'a temporary-looking name would never be scanned');
  t.equal(safeUploadName('..'), 'upload');
  t.equal(safeUploadName('/'), 'upload');
  t.ok(Buffer.byteLength(safeUploadName('é'.repeat(300))) <= 200, 'at most 200 bytes');
});
