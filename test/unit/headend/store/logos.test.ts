/** Channel logos in the store (headend/store/logos.ts, migration 002). */
import t from 'tap';
import { validateLineup } from '../../../../core/lineup/config.js';
import { LOGO_MAX_BYTES, logoMediaType } from '../../../../headend/store/logos.js';
import { tempStore } from './fixtures.js';

const PNG_1X1 = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
const JPEG_HEAD = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46]);
const WEBP_HEAD = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(4), Buffer.from('WEBPVP8 ')]);

const lineup = (...numbers: number[]) =>
  validateLineup({ channels: numbers.map((n) => ({ number: n, name: `C${n}`, multicast: { group: `239.255.9.${n}`, port: 5000 }, source: { type: 'udp', address: '239.1.1.1', port: 6000 + n } })) }).channels;

t.test('the type is what the bytes are: PNG, JPEG, WebP; nothing else', async (t) => {
  t.equal(logoMediaType(PNG_1X1), 'image/png');
  t.equal(logoMediaType(JPEG_HEAD), 'image/jpeg');
  t.equal(logoMediaType(WEBP_HEAD), 'image/webp');
  for (const b of [Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'), Buffer.from('GIF89a'), Buffer.alloc(0), Buffer.from([0x89, 0x50])]) t.equal(logoMediaType(b), null, JSON.stringify(b.toString('latin1').slice(0, 12)));
});

t.test('a logo follows its channel through a renumbering, goes with it on delete, and survives an import at the same number', async (t) => {
  const { store } = tempStore(t);
  store.channels.replaceAll(lineup(1, 2, 3));
  const s0 = store.logos.stamp();
  const l = store.logos.set(2, PNG_1X1);
  t.equal(l.mediaType, 'image/png');
  t.not(store.logos.stamp(), s0, 'the stamp changes with a logo');
  t.ok(store.logos.get(2)?.data.equals(PNG_1X1));
  t.same([...store.logos.list().keys()], [2]);
  store.channels.reorder([
    [2, 1],
    [1, 2],
  ]);
  t.ok(store.logos.get(1)?.data.equals(PNG_1X1), 'renumbered 2 → 1: the logo went with it');
  t.equal(store.logos.get(2), null);
  store.logos.set(3, JPEG_HEAD);
  store.channels.replaceAll(lineup(1, 3, 4));
  t.ok(store.logos.get(1)?.data.equals(PNG_1X1), 'an import keeps the logo of channel 1 (same number)');
  t.equal(store.logos.get(3)?.mediaType, 'image/jpeg');
  store.channels.delete(3);
  t.equal(store.logos.get(3), null, 'deleted with its channel');
  t.same([...store.logos.list().keys()], [1]);
  t.equal(store.logos.delete(1), true);
  t.equal(store.logos.delete(1), false, 'nothing left to delete');
});

t.test('refused: unknown channel, not an image, too large', async (t) => {
  const { store } = tempStore(t);
  store.channels.replaceAll(lineup(1));
  t.throws(() => store.logos.set(9, PNG_1X1), { code: 'ROOMCAST_ERR_CHANNEL_NOT_FOUND' });
  t.throws(() => store.logos.set(1, Buffer.from('<svg/>')), { message: /not a PNG, JPEG or WebP/ });
  t.throws(() => store.logos.set(1, Buffer.concat([PNG_1X1, Buffer.alloc(LOGO_MAX_BYTES)])), { message: /more than 262144/ });
  t.equal(store.logos.get(1), null);
});
