/**
 * InputRunner health (issue 4 scope 3: health per input from payload
 * arrival, bitrate floor, CC error rate and PCR jumps), on a real UDP source
 * on loopback fed with a fixture, judged with a controlled clock.
 */
import dgram from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { parse } from 'yaml';
import { validateLineup } from '../../../../core/lineup/config.js';
import { TS_PACKET_SIZE, tsHasPcr, tsPcr27M, tsWritePcr27M } from '../../../../core/mpegts/packet.js';
import { InputRunner } from '../../../../headend/dataplane/inputs.js';
import { readFixture } from '../../../fixtures/ts-fixtures.js';

const PORT = 41000 + (process.pid % 1000) * 4;
const PCR_WRAP = 2 ** 33 * 300;

function channel(failover: string) {
  return validateLineup(
    parse(
      [
        'channels:',
        '  - number: 1',
        '    name: T',
        '    multicast: { group: 239.255.0.1, port: 5000 }',
        `    inputs: [{ type: udp, address: 127.0.0.1, port: ${PORT} }]`,
        `    failover: ${failover}`,
      ].join('\n'),
    ),
  ).channels[0];
}

/** PCRs of `ts` from packet index `from` on, moved by `by27M` (from 0: the whole fixture, to continue the clock of the previous copy; from later: an encoder whose clock restarted). */
function shiftPcr(ts: Buffer, from: number, by27M: number): Buffer {
  const out = Buffer.from(ts);
  for (let o = from * TS_PACKET_SIZE; o + TS_PACKET_SIZE <= out.length; o += TS_PACKET_SIZE) {
    if (tsHasPcr(out, o)) tsWritePcr27M(out, o, (((tsPcr27M(out, o) + by27M) % PCR_WRAP) + PCR_WRAP) % PCR_WRAP);
  }
  return out;
}

/** The fixture's PCR span plus one mean interval: a copy shifted by k × this continues the previous one's clock. */
function pcrPeriod(ts: Buffer): number {
  const pcrs: number[] = [];
  for (let o = 0; o + TS_PACKET_SIZE <= ts.length; o += TS_PACKET_SIZE) if (tsHasPcr(ts, o)) pcrs.push(tsPcr27M(ts, o));
  const span = pcrs[pcrs.length - 1] - pcrs[0];
  return span + Math.round(span / (pcrs.length - 1));
}

/** Sends `ts`, waits until the runner has it all (the clock stands still meanwhile: the packets arrive "just before" the next check). */
async function feed(runner: InputRunner, ts: Buffer): Promise<void> {
  const sock = dgram.createSocket('udp4');
  const chunk = 7 * TS_PACKET_SIZE;
  const want = runner.inspector.counters.packets + Math.floor(ts.length / TS_PACKET_SIZE);
  for (let o = 0; o < ts.length; o += chunk) {
    await new Promise<void>((resolve) => sock.send(ts.subarray(o, Math.min(ts.length, o + chunk)), PORT, '127.0.0.1', () => resolve()));
    if ((o / chunk) % 32 === 31) await sleep(1); // do not overrun the receive buffer
  }
  sock.close();
  const until = Date.now() + 5000;
  while (runner.inspector.counters.packets < want && Date.now() < until) await sleep(10);
}

t.test('PCR jumps without discontinuity_indicator make an input unhealthy for the second they happen in, past failover.maxPcrJumpsPerS', async (t) => {
  const strict = channel('{ maxPcrJumpsPerS: 1 }');
  const lenient = channel('{ maxPcrJumpsPerS: 10 }');
  t.equal(channel('{}').failover.maxPcrJumpsPerS, 1, 'default: 1 a second');

  let now = 0;
  const runner = new InputRunner(0, strict.inputs[0], 'primary', 'T', () => now, {
    packets: () => {},
    discontinuity: () => {},
    wantsMore: () => true,
    event: () => {},
    afterInput: () => {},
    psiChanged: () => {},
  });
  runner.start();
  t.teardown(() => runner.stop());
  await sleep(200); // the source binds its socket

  const fixture = readFixture('h264-aac-1s-gop');
  const n = Math.floor(fixture.length / TS_PACKET_SIZE);
  const period = pcrPeriod(fixture);
  let copies = 0;
  /** The next copy of the fixture, its clock continuing the last one's. */
  const next = (): Buffer => shiftPcr(fixture, 0, period * copies++);
  // A clean second: healthy.
  now = 990;
  await feed(runner, next());
  now = 1000;
  runner.watchdog(now, 3000, false);
  t.equal(runner.inspector.counters.packets, n, 'every packet arrived');
  t.equal(runner.pcrJumpsLastS, 0, 'the fixture has no PCR jump');
  t.ok(runner.healthy(now, strict.failover), 'healthy on a clean stream');

  // One encoder restart (one jump) is tolerated at the default.
  now = 1990;
  await feed(runner, shiftPcr(next(), Math.floor(n / 2), 27_000_000 * 100));
  now = 2000;
  runner.watchdog(now, 3000, false);
  t.ok(runner.pcrJumpsLastS >= 1, `a jump counted (${runner.pcrJumpsLastS})`);
  const one = runner.pcrJumpsLastS;

  // Three jumps in one second: a broken clock.
  let ts = shiftPcr(next(), Math.floor(n / 4), 27_000_000 * 100);
  ts = shiftPcr(ts, Math.floor(n / 2), -27_000_000 * 50);
  ts = shiftPcr(ts, Math.floor((3 * n) / 4), 27_000_000 * 300);
  now = 2990;
  await feed(runner, ts);
  now = 3000;
  runner.watchdog(now, 3000, false);
  t.ok(runner.pcrJumpsLastS > one && runner.pcrJumpsLastS > 1, `${runner.pcrJumpsLastS} jumps in the second`);
  t.notOk(runner.healthy(now, strict.failover), 'unhealthy past maxPcrJumpsPerS');
  t.ok(runner.healthy(now, lenient.failover), 'healthy with a higher ceiling (the rule, not something else, made it unhealthy)');
  t.match(runner.status(now, strict.failover), { pcrJumpsLastS: runner.pcrJumpsLastS, healthy: false });

  // The next clean second: healthy again.
  now = 3990;
  await feed(runner, next());
  now = 4000;
  runner.watchdog(now, 3000, false);
  t.ok(runner.healthy(now, strict.failover), 'healthy again once the clock is steady');
});
