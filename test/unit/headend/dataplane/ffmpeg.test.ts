import t from 'tap';
import { ffmpegArgs, parseFfmpegLogLine, parseFfmpegStats } from '../../../../headend/dataplane/ffmpeg.js';
import { validateLineup, type FfmpegSource } from '../../../../core/lineup/config.js';

function source(extra: Record<string, unknown>): FfmpegSource {
  const cfg = validateLineup({ channels: [{ number: 1, name: 'x', multicast: { group: '239.255.0.1', port: 5000 }, source: { type: 'ffmpeg', url: 'testsrc', format: 'lavfi', ...extra } }] });
  return cfg.channels[0].source as FfmpegSource;
}

t.test('a transcode profile gives a fixed GOP without scene-cut keyframes, CBR mux and PAT/PMT every 100 ms', async (t) => {
  const a = ffmpegArgs(source({ gopS: 2 }), 'Chan');
  const at = (k: string): string => a[a.indexOf(k) + 1];
  t.equal(at('-g'), '50');
  t.equal(at('-keyint_min'), '50');
  t.equal(at('-sc_threshold'), '0');
  t.equal(at('-muxrate'), '1620000');
  t.equal(at('-pat_period'), '0.1');
  t.equal(at('-f'), 'lavfi', 'input format before -i');
  t.ok(a.includes('-re'), 'lavfi is read in real time');
  t.equal(a[a.length - 1], 'pipe:1');
});

t.test('copy profile remuxes without an encoder', async (t) => {
  const a = ffmpegArgs(source({ profile: 'copy', url: 'udp://239.1.1.1:1234', format: null }), 'Chan');
  t.notOk(a.includes('libx264'));
  t.ok(a.includes('copy'));
  t.notOk(a.includes('-re'), 'a network URL is live already');
});

t.test('parses ffmpeg -stats lines and level-prefixed log lines', async (t) => {
  t.same(parseFfmpegStats('frame=  250 fps= 25 q=18.0 size=    1966kB time=00:00:10.00 bitrate=1610.5kbits/s speed=   1x    '), {
    frame: 250, fps: 25, bitrateKbps: 1610.5, speed: 1, timeS: 10,
  });
  t.equal(parseFfmpegStats('Input #0, lavfi, from'), null);
  t.same(parseFfmpegLogLine('[error] Connection refused'), { level: 'error', message: 'Connection refused' });
  t.same(parseFfmpegLogLine('[udp @ 0x55] [warning] Circular buffer overrun'), { level: 'warning', message: 'Circular buffer overrun' });
  t.equal(parseFfmpegLogLine('plain text'), null);
});

t.test('the npm fallback ffmpeg (an old static build) accepts our argv and writes TS', async (t) => {
  const { createRequire } = await import('node:module');
  const { spawn } = await import('node:child_process');
  let bin: string;
  try {
    bin = (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path;
  } catch {
    // The package is an optionalDependency: on a platform without a build it is absent.
    t.skip('@ffmpeg-installer/ffmpeg is not installed on this platform');
    return;
  }
  const args = ffmpegArgs(source({ url: 'testsrc2=size=320x180:rate=25[out0];sine=frequency=440:sample_rate=48000[out1]' }), 'Fallback');
  const out: Buffer[] = [];
  let err = '';
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise((r) => setTimeout(r, 2500));
  child.kill('SIGKILL');
  const ts = Buffer.concat(out);
  t.ok(ts.length > 100 * 188, `${ts.length} bytes of TS (stderr: ${err.split(/[\r\n]/).filter((l) => /error|fatal/.test(l)).join(' | ')})`);
  t.equal(ts[0], 0x47);
  t.equal(ts[188], 0x47);
});
