import t from 'tap';
import { ConfigError, validateLineup, isIpv4Multicast } from '../../../../core/lineup/config.js';
import { parseLineupYaml } from '../../../../headend/config/load.js';
import { readFileSync } from 'node:fs';

const good = {
  channels: [
    { number: 1, name: 'One', multicast: { group: '239.255.1.1', port: 5000 }, source: { type: 'udp', address: '239.255.9.1', port: 6000 } },
  ],
};

function problems(doc: unknown): string[] {
  try {
    validateLineup(doc);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

t.test('the bundled channels.yaml is valid and has at least 4 channels on loopback', async (t) => {
  const cfg = parseLineupYaml(readFileSync(new URL('../../../../channels.yaml', import.meta.url), 'utf8'));
  t.ok(cfg.channels.length >= 4);
  t.equal(cfg.headend.interface, '127.0.0.1');
  t.ok(Object.isFrozen(cfg.channels[0].multicast), 'config is frozen');
});

t.test('defaults are filled in', async (t) => {
  const cfg = validateLineup(good);
  t.equal(cfg.headend.interface, '127.0.0.1');
  t.equal(cfg.headend.ttl, 1);
  t.equal(cfg.headend.workers, 1);
  t.equal(cfg.channels[0].transport, 'rtp');
  t.equal(cfg.channels[0].group, 'General');
  t.equal(cfg.channels[0].source.stallMs, 3000);
});

t.test('lists every problem with its path, not just the first', async (t) => {
  const p = problems({
    headend: { interface: '10.0.0.300', colour: 'blue' },
    channels: [
      { number: 1, name: 'A', multicast: { group: '239.1.1.300', port: 5000 }, source: { type: 'udp', address: '239.1.1.1', port: 1 } },
      { number: 1, name: 'B', multicast: { group: '239.1.1.2', port: 70000 }, source: { type: 'ffmpeg' } },
      { number: 3, name: 'C', multicast: { group: '239.1.1.2', port: 5000 }, source: { type: 'hdmi' } },
      { number: 4, name: 'D', multicast: { group: '239.1.1.2', port: 5000 }, source: { type: 'file', path: 'x.ts' } },
    ],
  });
  t.same(p.sort(), [
    'channels[0].multicast.group: 239.1.1.300 is not an IPv4 multicast address',
    'channels[1].multicast.port: 70000 is not an integer from 1024 to 65535',
    'channels[1].number: 1 is already used by channels[0]',
    'channels[1].source.url: is required',
    'channels[2].source.type: "hdmi" is not one of ffmpeg, udp, rtp, file, srt',
    'channels[3].multicast: 239.1.1.2:5000 is already used by channels[2]',
    'headend.colour: unknown key (allowed here: interface, ttl, workers, pacingDelayMs, dataPlaneNice, healthIntervalS, httpPort, fleetKey, metricsNetworks, tls, fcc, hls, vod)',
    'headend.interface: 10.0.0.300 is not an IPv4 address',
  ].sort());
});

t.test('refuses link-local control groups, odd RTP ports and SSM on unicast', async (t) => {
  const p = problems({
    channels: [
      { number: 1, name: 'A', multicast: { group: '224.0.0.22', port: 5001 }, source: { type: 'rtp', address: '10.1.1.1', port: 6000, source: '10.1.1.2' } },
    ],
  });
  t.same(p.sort(), [
    'channels[0].multicast.group: 224.0.0.22 is in 224.0.0.0/24, reserved for link-local control traffic (RFC 5771)',
    'channels[0].multicast.port: 5001 is odd; RTP wants an even port (RFC 3550 §11), or set transport: udp',
    'channels[0].source.source: an SSM source needs a multicast address, and 10.1.1.1 is not one',
  ].sort());
});

t.test('YAML syntax errors are reported with line and column', async (t) => {
  t.throws(() => parseLineupYaml('channels:\n  - number: 1\n   name: x\n'), /line \d+, column \d+/);
  let err: unknown;
  try {
    parseLineupYaml('channels: [1, 2\n');
  } catch (e) {
    err = e;
  }
  t.ok(err instanceof ConfigError, 'a ConfigError, not a crash');
});

t.test('multicast address checks', async (t) => {
  t.ok(isIpv4Multicast('239.255.0.1'));
  t.ok(isIpv4Multicast('224.0.0.1'));
  t.notOk(isIpv4Multicast('240.0.0.1'));
  t.notOk(isIpv4Multicast('239.255.0.01'));
  t.notOk(isIpv4Multicast('192.168.1.1'));
});

t.test('headend.interface must be an address of this machine', async (t) => {
  const yaml = 'headend: { interface: 10.255.255.1 }\nchannels:\n  - { number: 1, name: A, multicast: { group: 239.255.0.1, port: 5000 }, source: { type: udp, address: 127.0.0.1, port: 6000 } }\n';
  t.throws(() => parseLineupYaml(yaml), /headend\.interface: 10\.255\.255\.1 is not an address of this machine \(it has 127\.0\.0\.1/);
  t.doesNotThrow(() => parseLineupYaml(yaml.replace('10.255.255.1', '127.0.0.1')));
});

t.test('srt source: defaults, and what is not implemented is refused with a reason', async (t) => {
  const ok = validateLineup({ channels: [{ number: 1, name: 'A', multicast: { group: '239.1.1.1', port: 5000 }, source: { type: 'srt', port: 9000, streamId: 'cam/1' } }] });
  t.same(ok.channels[0].source, { type: 'srt', stallMs: 3000, mode: 'listener', address: '127.0.0.1', localAddress: '127.0.0.1', port: 9000, latencyMs: 120, streamId: 'cam/1', passphrase: null, keyLength: 16 });
  const p = problems({ channels: [{ number: 1, name: 'A', multicast: { group: '239.1.1.1', port: 5000 }, source: { type: 'srt', mode: 'caller', port: 9000, passphrase: 'short', pbkeylen: 20, latencyMs: 5 } }] });
  t.same(p, [
    'channels[0].source.address: is required in caller mode (the address of the SRT listener to call)',
    'channels[0].source.passphrase: is 5 bytes long; SRT passphrases are 10 to 80',
    'channels[0].source.pbkeylen: 20 is not 16, 24 or 32 (AES-128/192/256)',
    'channels[0].source.latencyMs: 5 is not an integer from 20 to 8000',
  ]);
});

t.test('headend.fleetKey, metricsNetworks and tls: defaults and refusals', async (t) => {
  const ok = validateLineup({ headend: { fleetKey: 'a-fleet-key-0123456789', metricsNetworks: ['10.0.0.0/8'], tls: { cert: '/etc/roomcast/cert.pem', key: '/etc/roomcast/key.pem' } }, channels: [] });
  t.equal(ok.headend.fleetKey, 'a-fleet-key-0123456789');
  t.same(ok.headend.metricsNetworks, ['10.0.0.0/8']);
  t.same(ok.headend.tls, { cert: '/etc/roomcast/cert.pem', key: '/etc/roomcast/key.pem' });
  const d = validateLineup({ channels: [] });
  t.equal(d.headend.fleetKey, null, 'no fleet key by default');
  t.same(d.headend.metricsNetworks, ['127.0.0.0/8'], 'metrics from this machine only by default');
  t.equal(d.headend.tls, null);
  try {
    validateLineup({ headend: { fleetKey: 'short', metricsNetworks: ['10.0.0.0/33'], tls: { cert: '/x.pem' } }, channels: [] });
    t.fail('refused');
  } catch (err) {
    const m = (err as Error).message;
    t.match(m, /headend\.fleetKey: must be at least 16 characters/);
    t.match(m, /headend\.metricsNetworks\[0\]: "10\.0\.0\.0\/33" is not an IPv4 network/);
    t.match(m, /headend\.tls\.key: is required/);
  }
});

t.test('headend.hls: defaults, ranges, and a window of at least three segments', async (t) => {
  t.same(validateLineup({ channels: [] }).headend.hls, { enabled: false, segmentS: 2, windowS: 120, dir: null, maxDiskMB: 0 });
  t.same(validateLineup({ headend: { hls: { enabled: true, segmentS: 4, windowS: 3600, dir: '/srv/hls' } }, channels: [] }).headend.hls, { enabled: true, segmentS: 4, windowS: 3600, dir: '/srv/hls', maxDiskMB: 0 });
  const problems = (doc: unknown): string[] => {
    try {
      validateLineup(doc);
      return [];
    } catch (err) {
      return (err as { problems: string[] }).problems;
    }
  };
  t.match(problems({ headend: { hls: { segmentS: 6, windowS: 12 } }, channels: [] }), [/headend\.hls\.windowS: 12 s is less than three segments of 6 s/]);
  t.match(problems({ headend: { hls: { segmentS: 0.1 } }, channels: [] }), [/headend\.hls\.segmentS/]);
  t.match(problems({ headend: { hls: { size: 1 } }, channels: [] }), [/headend\.hls\.size: unknown key/]);
});

t.test('headend.vod: off by default, dir "vod" (under the data directory), uploads up to 8 GiB; every wrong value named', async (t) => {
  t.same(validateLineup({ channels: [] }).headend.vod, { enabled: false, dir: 'vod', maxUploadMB: 8192 });
  t.same(validateLineup({ headend: { vod: { enabled: true, dir: '/srv/films', maxUploadMB: 20_000 } }, channels: [] }).headend.vod, { enabled: true, dir: '/srv/films', maxUploadMB: 20_000 });
  t.same(validateLineup({ headend: { vod: null }, channels: [] }).headend.vod, { enabled: false, dir: 'vod', maxUploadMB: 8192 }, 'an empty `vod:` is the defaults');
  t.ok(Object.isFrozen(validateLineup({ channels: [] }).headend.vod));
  t.match(problems({ headend: { vod: { enabled: 'yes', dir: '', maxUploadMB: 0, quota: 1 } }, channels: [] }).sort(), [
    /^headend\.vod\.dir: must be a non-empty string, got ""$/,
    /^headend\.vod\.enabled: must be true or false, got "yes"$/,
    /^headend\.vod\.maxUploadMB: 0 is not an integer from 1 to 1048576$/,
    /^headend\.vod\.quota: unknown key \(allowed here: enabled, dir, maxUploadMB\)$/,
  ]);
  t.match(problems({ headend: { vod: { maxUploadMB: 1.5 } }, channels: [] }), [/^headend\.vod\.maxUploadMB: 1\.5 is not an integer/]);
  t.match(problems({ headend: { vod: true }, channels: [] }), [/^headend\.vod: must be a mapping, got true$/]);
});

t.test('channels[].catchupDays: 0 by default, 0 to 30; headend.hls.maxDiskMB', async (t) => {
  const ch = (extra: Record<string, unknown>) => ({ number: 1, name: 'A', multicast: { group: '239.1.1.1', port: 5000 }, source: { type: 'udp', address: '239.2.2.2', port: 6000 }, ...extra });
  t.equal(validateLineup({ channels: [ch({})] }).channels[0].catchupDays, 0);
  t.equal(validateLineup({ channels: [ch({ catchupDays: 7 })] }).channels[0].catchupDays, 7);
  t.throws(() => validateLineup({ channels: [ch({ catchupDays: 31 })] }), { problems: [/channels\[0\]\.catchupDays/] });
  t.throws(() => validateLineup({ channels: [ch({ catchupDays: 1.5 })] }), { problems: [/channels\[0\]\.catchupDays/] });
  t.equal(validateLineup({ headend: { hls: { maxDiskMB: 2048 } }, channels: [] }).headend.hls.maxDiskMB, 2048);
  t.equal(validateLineup({ channels: [] }).headend.hls.maxDiskMB, 0, 'no limit by default');
});
