/**
 * The headend's fast-channel-change server and API as a real process on
 * loopback: a RAMS-R gets RAMS-I and a burst of the multicast's own RTP
 * datagrams starting PAT, PMT, I-frame; the server refuses what it must
 * (outside the STB subnets, floods, garbage). The RAMS messages are written
 * by core/fcc (its vectors are checked against RFC 6285 in the unit tests);
 * the multicast side is read by a plain socket, and ffmpeg decodes the burst.
 */
import t from 'tap';
import dgram from 'node:dgram';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { adminSession, FIXTURES, startHeadend, tempDir, type RunningHeadend } from '../helpers/headend.js';
import { isRamsParseError, parseRams, RamsResponseCode, RamsSfmt, writeRamsRequest, writeRamsTermination, type RamsInformation } from '../../core/fcc/rams.js';
import { TsInspector } from '../../core/mpegts/inspector.js';
import { TS_PACKET_SIZE, tsPid, tsPayloadUnitStartIndicator } from '../../core/mpegts/packet.js';
import type { LineupDocument } from '../../core/lineup/api.js';
import { RandomAccessGate } from '../../stb-agent/tuner/gate.js';

const FIXTURE = join(FIXTURES, 'h264-aac-1s-gop.ts');
const BASE = 24000 + (process.pid % 1500) * 8;
const HTTP = BASE;
const FCC = BASE + 2;
const GROUP = `239.255.202.${(process.pid % 250) + 1}`;

function lineupYaml(fcc: string, extra = ''): string {
  return `
headend:
  interface: 127.0.0.1
  httpPort: ${HTTP}${extra}
  pacingDelayMs: 100
  fcc: { port: ${FCC}${fcc} }
channels:
  - number: 7
    name: Seven
    multicast: { group: ${GROUP}, port: ${BASE + 4} }
    source: { type: file, path: ${JSON.stringify(FIXTURE)} }
`;
}

async function lineup(): Promise<LineupDocument> {
  const res = await fetch(`http://127.0.0.1:${HTTP}/api/lineup`, { signal: AbortSignal.timeout(3000) });
  return (await res.json()) as LineupDocument;
}

interface FccStatus {
  counters: Record<string, number>;
}
async function fccCounters(he: RunningHeadend): Promise<Record<string, number>> {
  const { readFile } = await import('node:fs/promises');
  try {
    const j = JSON.parse(await readFile(join(he.dataDir, 'status.json'), 'utf8')) as { fcc: FccStatus[] };
    return j.fcc[0]?.counters ?? {};
  } catch {
    return {};
  }
}

/** A client socket that collects RAMS-I messages and burst datagrams. */
async function client(address = '127.0.0.1'): Promise<{ sock: dgram.Socket; infos: RamsInformation[]; burst: Buffer[]; burstAt: number[]; close(): void }> {
  const sock = dgram.createSocket('udp4');
  const infos: RamsInformation[] = [];
  const burst: Buffer[] = [];
  const burstAt: number[] = [];
  sock.on('message', (m) => {
    if (m[1] >= 192 && m[1] <= 223) {
      const r = parseRams(m, m.length);
      if (!isRamsParseError(r) && r.sfmt === RamsSfmt.information) infos.push(r);
    } else {
      burst.push(m);
      burstAt.push(performance.now());
    }
  });
  await new Promise<void>((r) => sock.bind(0, address, () => r()));
  return { sock, infos, burst, burstAt, close: () => sock.close() };
}

async function until(pred: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (pred()) return true;
    await sleep(20);
  }
  return pred();
}

t.test('RAMS-R → RAMS-I 200 and a burst of the multicast\'s own datagrams, starting PAT, PMT, I-frame, decodable by ffmpeg', { timeout: 60_000 }, async (t) => {
  const he = await startHeadend(lineupYaml(', burstMultiple: 4'), { args: ['--no-mdns'] });
  t.teardown(() => he.stop());
  await he.waitFor((c) => c[0].state === 'ok' && c[0].stream.keyframes >= 2, 20_000, 'the channel with two keyframes seen');
  const doc = await lineup();
  const ch = doc.channels[0];
  t.equal(ch.fcc?.port, FCC, 'the lineup names the FCC endpoint');
  t.ok(Number.isInteger(ch.ssrc), 'and the SSRC');

  // The multicast, to compare bytes with.
  const mc = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  const mcBySeq = new Map<number, Buffer>();
  mc.on('message', (m) => mcBySeq.set(m.readUInt16BE(2), m));
  await new Promise<void>((r) => mc.bind({ address: GROUP, port: BASE + 4 }, () => r()));
  mc.addMembership(GROUP, '127.0.0.1');
  t.teardown(() => mc.close());

  const c = await client();
  t.teardown(() => c.close());
  const t0 = performance.now();
  c.sock.send(writeRamsRequest({ senderSsrc: 99, mediaSsrc: ch.ssrc!, requestedMediaSenderSsrcs: [ch.ssrc!] }), FCC, '127.0.0.1');
  t.ok(await until(() => c.infos.some((i) => i.responseCode === RamsResponseCode.burstCompleted), 8000), 'the burst completes (RAMS-I 201)');
  const first = c.infos[0];
  t.equal(first.responseCode, RamsResponseCode.accepted, 'first answer: RAMS-I 200');
  t.equal(first.mediaSenderSsrc, ch.ssrc);
  t.ok(c.burst.length > 10, `${c.burst.length} burst datagrams`);
  t.ok(c.burstAt[0] - t0 < 200, `first burst datagram after ${(c.burstAt[0] - t0).toFixed(1)} ms`);
  t.equal(c.burst[0].readUInt16BE(2), first.firstPacketSequenceNumber, 'RAMS-I names the first sequence number');
  // Same SSRC, consecutive sequence numbers, bytes equal to the multicast's datagram of that number.
  let gaps = 0;
  let same = 0;
  let differ = 0;
  for (let i = 0; i < c.burst.length; i++) {
    const d = c.burst[i];
    if (d.readUInt32BE(8) !== ch.ssrc) t.fail('burst SSRC differs');
    if (i > 0 && ((d.readUInt16BE(2) - c.burst[i - 1].readUInt16BE(2)) & 0xffff) !== 1) gaps++;
    const m = mcBySeq.get(d.readUInt16BE(2));
    if (m) (m.equals(d) ? same++ : differ++);
  }
  t.equal(gaps, 0, 'consecutive sequence numbers');
  t.ok(same > 0, `${same} burst datagrams also seen on the multicast, identical`);
  t.equal(differ, 0, 'none differs from the multicast datagram of the same number');

  // The burst's TS: PAT first, then PMT, and the first video access unit is a random access point.
  const ts = Buffer.concat(c.burst.map((d) => d.subarray(12)));
  // The cache starts at the datagram holding the PAT before the I-frame (whole RTP
  // datagrams, as multicast): the PAT is among its 7 packets.
  const patAt = (() => {
    for (let o = 0; o < 7 * TS_PACKET_SIZE; o += TS_PACKET_SIZE) if (tsPid(ts, o) === 0 && tsPayloadUnitStartIndicator(ts, o)) return o;
    return -1;
  })();
  t.ok(patAt >= 0, `the PAT is in the first datagram (packet ${patAt / TS_PACKET_SIZE})`);
  let firstAuStart = -1;
  let firstRap = -1;
  const ins = new TsInspector({
    listener: {
      accessUnit: (_p, _d, b) => {
        if (firstAuStart < 0) firstAuStart = b;
      },
      randomAccess: (_b, _o, _p, au) => {
        if (firstRap < 0) firstRap = au;
      },
    },
  });
  ins.writePackets(ts, 0, ts.length / TS_PACKET_SIZE);
  t.ok(ins.pmtPid > 0, 'PMT found');
  const pmtAt = (() => {
    for (let o = 0; o < ts.length; o += TS_PACKET_SIZE) if (tsPid(ts, o) === ins.pmtPid && tsPayloadUnitStartIndicator(ts, o)) return o;
    return -1;
  })();
  t.ok(pmtAt > patAt && pmtAt < firstRap, `PAT (byte ${patAt}), then PMT (byte ${pmtAt}), then the I-frame (byte ${firstRap})`);
  t.ok(firstRap >= 0 && firstRap <= firstAuStart + 0, `the first video access unit (byte ${firstAuStart}) is the random access point (${firstRap})`);
  t.equal(ins.counters.ccErrors, 0, 'no CC error in the burst');
  // What the agent makes of it: its I-frame gate drops the few packets before the PAT.
  const out: Buffer[] = [];
  const gate = new RandomAccessGate({ start: (psi) => out.push(Buffer.from(psi)), writePackets: (b, o, n) => out.push(Buffer.from(b.subarray(o, o + n * TS_PACKET_SIZE))) });
  gate.writePackets(ts, 0, ts.length / TS_PACKET_SIZE);
  t.ok(gate.open, 'the gate opens on the burst');
  t.equal(gate.counters.packetsBeforeStart, firstRap / TS_PACKET_SIZE, 'it drops just what precedes the I-frame (PAT and PMT go first as copies)');
  const dir = await tempDir();
  const f = join(dir, 'burst.ts');
  // The burst stops where the multicast takes over, mid-frame: decode up to the last whole access unit.
  let gated = Buffer.concat(out);
  for (let o = gated.length - TS_PACKET_SIZE; o >= 0; o -= TS_PACKET_SIZE) {
    if (tsPid(gated, o) === ins.videoPid && tsPayloadUnitStartIndicator(gated, o)) {
      gated = gated.subarray(0, o);
      break;
    }
  }
  await writeFile(f, gated);
  const errs = await new Promise<string>((r) => execFile('ffmpeg', ['-hide_banner', '-v', 'error', '-i', f, '-f', 'null', '-'], { timeout: 20_000 }, (_e, _o, se) => r(String(se))));
  t.equal(errs.trim(), '', `ffmpeg decodes the burst with no error (${f})`);
  // status.json is rewritten every second.
  let counters: Record<string, number> = {};
  for (let i = 0; i < 30 && !(counters.burstsCompleted >= 1); i++) {
    await sleep(100);
    counters = await fccCounters(he);
  }
  t.ok((counters.bursts ?? 0) >= 1 && (counters.burstsCompleted ?? 0) >= 1, `FCC counters: ${JSON.stringify(counters)}`);
});

t.test('RAMS-T stops the burst; garbage, truncated and wrong-kind messages are counted and ignored; unknown SSRC gets 509', { timeout: 60_000 }, async (t) => {
  const he = await startHeadend(lineupYaml(', burstMultiple: 1.5'), { args: ['--no-mdns'] });
  t.teardown(() => he.stop());
  await he.waitFor((c) => c[0].state === 'ok' && c[0].stream.keyframes >= 2, 20_000, 'the channel');
  const ch = (await lineup()).channels[0];
  const c = await client();
  t.teardown(() => c.close());
  // Garbage first: random bytes, a truncated RAMS-R, a RAMS-I (ours to send, not to receive).
  const req = writeRamsRequest({ senderSsrc: 5, mediaSsrc: ch.ssrc! });
  c.sock.send(Buffer.from('not an RTCP packet at all'), FCC, '127.0.0.1');
  c.sock.send(req.subarray(0, 10), FCC, '127.0.0.1');
  c.sock.send(Buffer.alloc(0), FCC, '127.0.0.1');
  await sleep(200);
  t.equal(c.infos.length + c.burst.length, 0, 'garbage gets no answer');
  c.sock.send(writeRamsRequest({ senderSsrc: 5, mediaSsrc: 0xdeadbeef }), FCC, '127.0.0.1');
  t.ok(await until(() => c.infos.length === 1, 2000), 'unknown SSRC answered');
  t.equal(c.infos[0]?.responseCode, RamsResponseCode.noMatchingSsrc, 'with 509');
  c.infos.length = 0;
  // The channel named only in the Requested Media Sender SSRC(s) TLV (RFC 6285 §7.2).
  c.sock.send(writeRamsRequest({ senderSsrc: 6, mediaSsrc: 0, requestedMediaSenderSsrcs: [ch.ssrc!] }), FCC, '127.0.0.1');
  t.ok(await until(() => c.infos.length === 1, 2000), 'answered');
  t.equal(c.infos[0]?.responseCode, RamsResponseCode.accepted, 'the TLV names the channel too');
  c.sock.send(writeRamsTermination({ senderSsrc: 6, mediaSsrc: ch.ssrc! }), FCC, '127.0.0.1');
  await sleep(300);
  c.infos.length = 0;
  c.burst.length = 0;
  // A slow burst (1.5×), terminated early.
  c.sock.send(req, FCC, '127.0.0.1');
  t.ok(await until(() => c.burst.length > 5, 3000), 'burst started');
  c.sock.send(writeRamsTermination({ senderSsrc: 5, mediaSsrc: ch.ssrc!, firstMulticastExtendedSequenceNumber: 0 }), FCC, '127.0.0.1');
  await sleep(300);
  const n = c.burst.length;
  await sleep(500);
  t.equal(c.burst.length, n, 'nothing more after RAMS-T');
  await sleep(1100); // status.json is written every second
  const k = await fccCounters(he);
  t.ok(k.malformed >= 2, `malformed counted: ${k.malformed}`);
  t.equal(k.burstsTerminated, 2, 'both bursts terminated by RAMS-T');
  t.equal(k.unknownSsrc, 1);
  t.equal(he.proc.exitCode, null, 'the headend keeps running');
});

t.test('outside the STB subnets: not one byte back, counted', { timeout: 60_000 }, async (t) => {
  const he = await startHeadend(lineupYaml(', stbSubnets: [10.123.0.0/16]'), { args: ['--no-mdns'] });
  t.teardown(() => he.stop());
  await he.waitFor((c) => c[0].state === 'ok' && c[0].stream.keyframes >= 2, 20_000, 'the channel');
  const ch = (await lineup()).channels[0];
  const c = await client();
  t.teardown(() => c.close());
  for (let i = 0; i < 20; i++) c.sock.send(writeRamsRequest({ senderSsrc: 1, mediaSsrc: ch.ssrc! }), FCC, '127.0.0.1');
  await sleep(1500);
  t.equal(c.infos.length, 0, 'no RAMS-I');
  t.equal(c.burst.length, 0, 'no burst');
  // The FCC counters reach status.json once a second: wait for them (bounded).
  let k = await fccCounters(he);
  for (let i = 0; i < 50 && (k.refusedOutsideSubnet ?? 0) < 20; i++) {
    await sleep(100);
    k = await fccCounters(he);
  }
  t.equal(k.refusedOutsideSubnet, 20, 'all 20 counted');
  t.equal(k.bursts ?? 0, 0);
});

t.test('a flood of RAMS-R from one client is held to the client budget (bytes per second), not an amplifier', { timeout: 60_000 }, async (t) => {
  const clientMbps = 2;
  const depth = 256 * 1024;
  const he = await startHeadend(lineupYaml(`, clientMaxMbps: ${clientMbps}, maxBytesPerRequest: ${depth}`), { args: ['--no-mdns'] });
  t.teardown(() => he.stop());
  await he.waitFor((c) => c[0].state === 'ok' && c[0].stream.keyframes >= 2, 20_000, 'the channel');
  const ch = (await lineup()).channels[0];
  const c = await client();
  t.teardown(() => c.close());
  const req = writeRamsRequest({ senderSsrc: 1, mediaSsrc: ch.ssrc! });
  const seconds = 4;
  const start = performance.now();
  let sentBytes = 0;
  for (let i = 0; i < seconds * 50; i++) {
    c.sock.send(req, FCC, '127.0.0.1');
    sentBytes += req.length;
    await sleep(20);
  }
  await sleep(500);
  const elapsed = (performance.now() - start) / 1000;
  const got = c.burst.reduce((a, d) => a + d.length, 0);
  const bound = depth + ((clientMbps * 1e6) / 8) * elapsed;
  t.ok(got <= bound, `received ${got} bytes of burst in ${elapsed.toFixed(1)} s ≤ bucket depth + ${clientMbps} Mbit/s × time = ${Math.round(bound)}`);
  t.ok(got > 0, 'the first request was served');
  const infoBytes = c.infos.length * 28;
  t.ok(c.infos.length < seconds * 50, `refusals are answered sparingly: ${c.infos.length} RAMS-I for ${seconds * 50} requests (${infoBytes} bytes vs ${sentBytes} sent)`);
  const k = await fccCounters(he);
  t.ok(k.rateLimited > 0 || k.burstsReplaced > 0, `limited: ${JSON.stringify(k)}`);
});

t.test('RAMS-R from many addresses (spoofed sources inside the subnets) is held to the total budget, not only per client', { timeout: 60_000 }, async (t) => {
  const totalMbps = 2;
  const depth = 256 * 1024;
  // Each client alone could take 50 Mbit/s: only fcc.totalMaxMbps can hold the sum.
  const he = await startHeadend(lineupYaml(`, stbSubnets: [127.0.0.0/8], clientMaxMbps: 50, totalMaxMbps: ${totalMbps}, maxBytesPerRequest: ${depth}`), { args: ['--no-mdns'] });
  t.teardown(() => he.stop());
  await he.waitFor((c) => c[0].state === 'ok' && c[0].stream.keyframes >= 2, 20_000, 'the channel');
  const ch = (await lineup()).channels[0];
  // Six "STBs" on loopback addresses of their own (127.0.0.0/8 is all local).
  const clients = await Promise.all([2, 3, 4, 5, 6, 7].map((k) => client(`127.0.0.${k}`)));
  t.teardown(() => clients.forEach((c) => c.close()));
  const req = writeRamsRequest({ senderSsrc: 1, mediaSsrc: ch.ssrc! });
  const seconds = 4;
  const start = performance.now();
  for (let i = 0; i < seconds * 25; i++) {
    for (const c of clients) c.sock.send(req, FCC, '127.0.0.1');
    await sleep(40);
  }
  await sleep(500);
  const elapsed = (performance.now() - start) / 1000;
  const got = clients.reduce((a, c) => a + c.burst.reduce((x, d) => x + d.length, 0), 0);
  // The total bucket's depth is max(maxBytesPerRequest, one second at totalMaxMbps).
  const bound = Math.max(depth, (totalMbps * 1e6) / 8) + ((totalMbps * 1e6) / 8) * elapsed;
  t.ok(got <= bound, `all clients together received ${got} bytes of burst in ${elapsed.toFixed(1)} s ≤ depth + ${totalMbps} Mbit/s × time = ${Math.round(bound)}`);
  t.ok(clients.filter((c) => c.burst.length > 0).length >= 1, 'bursts were served');
  const k = await fccCounters(he);
  t.ok((k.rateLimited ?? 0) + (k.burstsReplaced ?? 0) > 0, `limited: ${JSON.stringify(k)}`);
});

t.test('the API: lineup, playlist, STB reports with schema-checked bodies', { timeout: 60_000 }, async (t) => {
  const fleetKey = 'fleet-key-of-the-hotel-0123';
  const he = await startHeadend(lineupYaml('', `\n  fleetKey: ${fleetKey}`), { args: ['--no-mdns'] });
  t.teardown(() => he.stop());
  await he.waitFor((c) => c[0].state === 'ok', 20_000, 'the channel');
  const base = `http://127.0.0.1:${HTTP}`;
  const session = await adminSession(`${base}/`, he.output());
  const m3u = await (await fetch(`${base}/playlist.m3u`)).text();
  t.match(m3u, /#EXTM3U/);
  t.match(m3u, new RegExp(`rtp://@${GROUP.replace(/\./g, '\\.')}:${BASE + 4}`));
  const report = { agentId: 'room-101', label: 'Room 101', channel: 7, zaps: { count: 3, viaBurst: 2, viaGate: 1, recentMs: [40, 55, 900] }, counters: { rtpLost: 0, rtpDuplicates: 1, ccErrors: 0, spliceGaps: 0 } };
  const post = (body: unknown, key: string | null = fleetKey): Promise<Response> =>
    fetch(`${base}/api/stb/report`, { method: 'POST', headers: { 'content-type': 'application/json', ...(key ? { 'x-roomcast-fleet-key': key } : {}) }, body: JSON.stringify(body) });
  t.equal((await post(report, null)).status, 401, 'a report without the fleet key is refused');
  t.equal((await post(report, 'fleet-key-of-another-hotel')).status, 401, 'and with a wrong one');
  t.equal((await post(report)).status, 204, 'a good report with the key is taken');
  const bad = await post({ ...report, agentId: 'x y', zaps: { ...report.zaps, count: -1 } });
  t.equal(bad.status, 400, 'a bad one is refused');
  const body = (await bad.json()) as { code: string; message: string };
  t.equal(body.code, 'ROOMCAST_ERR_BAD_REQUEST');
  t.match(body.message, /agentId|count/, `and says what is wrong: ${body.message}`);
  const big = await fetch(`${base}/api/stb/report`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-roomcast-fleet-key': fleetKey }, body: JSON.stringify({ ...report, label: 'x'.repeat(100_000) }) });
  t.equal(big.status, 413, 'an oversized body is refused before parsing');
  t.equal((await fetch(`${base}/api/stbs`)).status, 401, 'the fleet list needs a login');
  const stbs = (await (await fetch(`${base}/api/stbs`, { headers: session.headers })).json()) as { stbs: { agentId: string; address: string; reports: number }[] };
  t.equal(stbs.stbs.length, 1);
  t.equal(stbs.stbs[0].agentId, 'room-101');
  t.equal(stbs.stbs[0].address, '127.0.0.1');
});
