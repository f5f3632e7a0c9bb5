import t from 'tap';
import { validateLineup } from '../../../../core/lineup/config.js';
import { channelByKey, channelSdp, channelSlug, lineupM3u } from '../../../../core/lineup/playlist.js';

const cfg = validateLineup({
  headend: { interface: '10.20.0.1', ttl: 4 },
  channels: [
    { number: 12, name: 'Sports "Live"', group: 'Sports', tvgId: 'sports.hotel', multicast: { group: '239.255.1.12', port: 5000 }, source: { type: 'udp', address: '239.1.1.1', port: 1234 } },
    { number: 3, name: 'News', group: 'News', multicast: { group: '232.1.1.3', port: 5002, source: '10.20.0.1' }, source: { type: 'udp', address: '239.1.1.2', port: 1234 } },
    { number: 7, name: 'Lobby', multicast: { group: '239.255.1.7', port: 5001 }, transport: 'udp', source: { type: 'udp', address: '239.1.1.3', port: 1234 } },
    { number: 9, name: 'Off', enabled: false, multicast: { group: '239.255.1.9', port: 5000 }, source: { type: 'udp', address: '239.1.1.4', port: 1234 } },
  ],
});

t.test('SDP: RTP/AVP 33 MP2T/90000 on the group with its TTL (RFC 4566, RFC 3551)', async (t) => {
  const sdp = channelSdp(cfg.channels[0], cfg.headend);
  t.equal(
    sdp,
    [
      'v=0',
      'o=- 12 1 IN IP4 10.20.0.1',
      's=Sports "Live"',
      'i=Roomcast channel 12 (Sports)',
      'c=IN IP4 239.255.1.12/4',
      't=0 0',
      'a=tool:roomcast',
      'a=recvonly',
      'm=video 5000 RTP/AVP 33',
      'a=rtpmap:33 MP2T/90000',
      '',
    ].join('\r\n'),
  );
});

t.test('SDP for SSM carries an RFC 4570 source-filter', async (t) => {
  t.match(channelSdp(cfg.channels[1], cfg.headend), /\r\na=source-filter: incl IN IP4 232\.1\.1\.3 10\.20\.0\.1\r\n/);
});

t.test('M3U: sorted by number, tvg attributes, rtp:// and udp:// URLs, disabled channels left out', async (t) => {
  t.equal(
    lineupM3u(cfg.channels),
    [
      '#EXTM3U',
      '#EXTINF:-1 tvg-chno="3" tvg-name="News" group-title="News",News',
      'rtp://10.20.0.1@232.1.1.3:5002',
      '#EXTINF:-1 tvg-chno="7" tvg-name="Lobby" group-title="General",Lobby',
      'udp://@239.255.1.7:5001',
      `#EXTINF:-1 tvg-id="sports.hotel" tvg-chno="12" tvg-name="Sports 'Live'" group-title="Sports",Sports "Live"`,
      'rtp://@239.255.1.12:5000',
      '',
    ].join('\n'),
  );
});

t.test('M3U: tvg-logo for the channels that have a logo, quotes escaped', async (t) => {
  const m3u = lineupM3u(cfg.channels, (n) => (n === 7 ? 'http://10.20.0.1:8080/logos/7?v=1"x' : null));
  t.match(m3u, /#EXTINF:-1 tvg-chno="7" tvg-name="Lobby" tvg-logo="http:\/\/10\.20\.0\.1:8080\/logos\/7\?v=1[^"]*x" group-title="General",Lobby/);
  t.equal(m3u.match(/tvg-logo/g)?.length, 1, 'only channel 7 has one');
});

t.test('M3U: catch-up attributes (Kodi IPTV Simple / TiviMate) for channels with an archive, none for the others', async (t) => {
  const m3u = lineupM3u(cfg.channels, () => null, (n) => (n === 12 ? { days: 2, source: 'http://10.20.0.1:8080/hls/12/index-{utc}-{duration}.m3u8' } : null));
  t.match(m3u, /tvg-chno="12" [^\n]*catchup="default" catchup-days="2" catchup-source="http:\/\/10\.20\.0\.1:8080\/hls\/12\/index-\{utc\}-\{duration\}\.m3u8"/);
  t.equal(m3u.match(/catchup=/g)?.length, 1, 'only channel 12 offers catch-up');
});

t.test('channel slugs: accents folded, punctuation to single dashes; a URL key is a number or a slug', async (t) => {
  t.equal(channelSlug('Télé Zürich 1'), 'tele-zurich-1');
  t.equal(channelSlug('  BBC One (HD) / London '), 'bbc-one-hd-london');
  t.equal(channelSlug('日本'), '', 'no ASCII letters: no slug');
  const chs = validateLineup({
    channels: [
      { number: 3, name: 'News 24', multicast: { group: '239.255.1.3', port: 5000 }, source: { type: 'file', path: '/a.ts' } },
      { number: 2, name: 'news-24', multicast: { group: '239.255.1.2', port: 5000 }, source: { type: 'file', path: '/a.ts' } },
    ],
  }).channels;
  t.equal(channelByKey(chs, '3')?.number, 3);
  t.equal(channelByKey(chs, 'news-24')?.number, 2, 'two names with one slug: the lower number');
  t.equal(channelByKey(chs, 'NEWS-24')?.number, 2, 'case does not matter');
  t.equal(channelByKey(chs, '7'), null);
  t.equal(channelByKey(chs, '../etc'), null);
  t.equal(channelByKey(chs, ''), null);
});
