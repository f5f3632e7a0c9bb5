/**
 * Benchmark: SRT reception under loss, our receiver against libsrt's
 * (`srt-live-transmit`), side by side in one run: the same stream, the same
 * loss, the same latency and round trip (STYLE.md §6: figures and ratios
 * against a peer measured in the same run, never timed assertions). Three
 * receivers:
 *   A  the headend (its SRT listener input → TS inspection → output remux →
 *      PCR pacer → RTP multicast): the product, for loss, recovery and delay;
 *   C  "ours-bare" (bench/srt-bare-rx.ts): the same SRT listener code
 *      (headend/dataplane/srt.ts srtEndpoint(), the headend's stream id,
 *      latency and 8 MiB receive buffer) alone, each delivered payload sent
 *      as one UDP datagram to rx's loopback — srt-live-transmit's job, job
 *      for job: the fair CPU comparison;
 *   B  libsrt: `srt-live-transmit srt://:port?mode=listener udp://127.0.0.1:port`.
 *
 * Stream: one 8 Mbit/s CBR transport stream — a cached 20-s H.264 720p25
 * (GOP 50, ~5 Mbit/s) + AAC file made once by ffmpeg, looped live by
 * `ffmpeg -re -stream_loop -1 -c copy -f mpegts -muxrate 8000000` — whose
 * null packets the stamper (bench/srt-stamp.ts) replaces with time-stamped
 * packets on a private PID, which it declares in the PMT (stream_type 0x06):
 * the headend's output remux (core/mpegts/remux.ts) drops PIDs its input's
 * PMT does not list, and carries this one as an "other" stream on a PID of
 * its plan (0x102), payload untouched. The stamper also re-paces the stream
 * by its PCR (a CBR encoder's output, not ffmpeg's per-frame bursts) and
 * hands the very same bytes, 7 TS packets at a time, to three libsrt senders
 * (`srt-live-transmit -chunk 1316 file://con srt://…caller`: one SRT packet
 * per 7 TS packets), one per receiver.
 *
 * Network (bench/netns.ts: `tx` 10.98.0.1 ↔ `rx` 10.98.0.2, one veth pair):
 *
 *   tx: ffmpeg → stamper ─┬→ sender A → relay A (127.0.0.1:9100) ─┐ nftables on tx eth0:
 *                         ├→ sender B → relay B (127.0.0.1:9101) ─┤ random drop both ways,
 *                         └→ sender C → relay C (127.0.0.1:9102) ─┤ per path
 *   rx: 10.98.0.2:9000 headend (SRT listener) → RTP 239.255.42.1:5000 on lo
 *       10.98.0.2:9001 srt-live-transmit listener → UDP 127.0.0.1:6000
 *       10.98.0.2:9002 srt-bare-rx (ours-bare)    → UDP 127.0.0.1:6001
 *       receiver role (this file, --receiver): reads all three outputs
 *
 * Each relay (bench/srt-relay.ts) delays every datagram by RTT/2 each way;
 * nftables drops each SRT datagram of either direction with the same
 * probability on every path (`numgen random mod 1000 < ‰`, NETLAB.md), and
 * counts what it passed and dropped per path and direction. All receivers
 * and senders use the same latency (default 3 × RTT: the issue's target
 * case). The paths run at the same time through the same kind of relay, so
 * the machine's load is the same for all.
 *
 * Per loss rate (default 2 %, then 5 %): the rules are set, a warm-up lets
 * the loss settle in, then over the window (default 30 s), for each receiver:
 *   - received / lost / retransmitted / dropped (too late) SRT packets, as
 *     each receiver counts them: the headend's status.json
 *     (channels[0].input.source.srtPackets*, written once a second, so its
 *     counts cover the window ± ~1 s; their span is in the JSON) and libsrt's
 *     own statistics (`-f -s 100 -pf json -statsout`: cumulative, one record
 *     per 100 packets, ~130 ms apart), and ours-bare's SrtConnection.stats()
 *     (asked for on its stdin at each end of the window: exact). Overhead =
 *     retransmitted ÷ received. The libsrt senders' own counts (packets
 *     sent, retransmitted) are given for every path too: the same program
 *     measuring every receiver.
 *   - unrecovered: the receiver's "dropped, too late" count (SRT packets),
 *     and at its output, measured by the receiver role with
 *     core/mpegts/inspector.ts: TS CC errors (one per discontinuity), and
 *     stamp packets missing (an exact count of stamp packets, ~1 in 3 of
 *     the stream, that never came out). Stamps are known by their content
 *     (srt-stamp.ts isStamp), on whatever PID the receiver puts them: the
 *     headend's is its plan's, the others' 0x1FF0; the PID and the
 *     stream_type the receiver's PMT gives it are printed.
 *   - end-to-end delay: for every stamp packet, its arrival at the receiver
 *     role (process.hrtime, CLOCK_MONOTONIC) − its stamp (the same clock in
 *     the stamper, when it handed the bytes to the senders): sender buffering,
 *     relay, network, the receiver's latency, and its output. For the headend
 *     that includes the PCR pacer's constant pacingDelayMs (default 250, the
 *     product default) and its re-timing of packets to their PCR; "e2e −
 *     pacing" subtracts the configured constant (≈ libsrt's e2e: the pacer
 *     anchors on the first PCR's arrival, so the source's start-up jitter,
 *     a few to ~30 ms, stays in it). The channel has no slate: one on the air before the
 *     caller connects would leave its queued read-ahead ahead of the primary
 *     as extra constant delay (headendYaml). All outputs are read by the
 *     same process on the same namespace's loopback.
 *   - CPU: utime + stime (/proc/PID/stat) over the window ÷ wall time (100 %
 *     = one core), ÷ the Mbit/s of SRT payload the receiver was given (the
 *     stream's 8 Mbit/s): for srt-live-transmit and ours-bare, the TS that
 *     came out (they pass on all they receive); for the headend, what its SRT
 *     input delivered (status.json input.bytes over the snapshots' span), as
 *     its output is the remuxed program, not the same bytes (its own
 *     PAT/PMT/SDT, PIDs outside the PMT dropped). srt-live-transmit: the
 *     whole process (its receive, TSBPD and main threads). ours-bare: the
 *     whole process too (its main thread and Node's own: GC, libuv), so the
 *     two do the same job — SRT in, UDP out — and ours-bare ÷ libsrt is
 *     what the issue's target (≤ 2×) is judged on. The headend: the whole
 *     process, and its data-plane worker thread alone — Node names every
 *     thread "node", so it is taken as the busiest thread other than the
 *     main one (the share of the next busiest is printed, so a doubtful
 *     attribution shows). The data-plane thread does more than receive SRT:
 *     it also inspects and remuxes the TS, paces it by PCR and packs RTP (FCC is off):
 *     its ratio is kept as the product's figure, not the target's.
 *
 * Caveats:
 *   - The kernel has no IRQ time accounting (pacing.ts): softirq work is
 *     charged to whichever task runs. Each receiver's output to loopback is
 *     charged to it (the same for all); the veth receive path runs on the
 *     relays' sends in tx.
 *   - The machine is shared and small: the run prints machine busy % and
 *     steal for each window. All processes (sender side included) run on the
 *     same cores, so CPU figures are for this load, ratios are what to read.
 *   - Stamp times are those of the stamper's writes, which follow ffmpeg's
 *     output in chunks: a stamp is the moment its chunk entered the senders.
 *
 * Run: npm run build && node dist/bench/srt.js [--seconds 30] [--loss 2,5]
 *      [--rtt 20] [--latency 3×RTT] [--warmup 5] [--pacing-delay 250] [--json]
 * Needs root (network namespaces, nftables), ffmpeg, srt-live-transmit
 * (Debian: srt-tools) and nft.
 */
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { TsInspector } from '../core/mpegts/inspector.js';
import { TS_PACKET_SIZE, TS_SYNC_BYTE, tsPid } from '../core/mpegts/packet.js';
import { createRtpHeader, parseRtpHeader } from '../core/rtp/header.js';
import type { ChannelSnapshot } from '../headend/dataplane/messages.js';
import { cell } from './report.js';
import { lineWaiter, stopChild, tail } from './proc.js';
import { createBenchNet, type BenchNet } from './netns.js';
import { SRT_BARE_RX_PATH, type BareRxStats } from './srt-bare-rx.js';
import { SRT_RELAY_PATH } from './srt-relay.js';
import { STAMPER_PATH, isStamp, monoNs, stampCounter, stampNs } from './srt-stamp.js';

const SOURCE_SECONDS = 20;
const MUXRATE_BPS = 8_000_000;
/** 7 TS packets: the SRT payload libsrt and ffmpeg use for TS (and the most that fit one Ethernet MTU with the headers). */
const SRT_CHUNK_BYTES = 7 * TS_PACKET_SIZE;
const STREAM_ID = 'bench';
/** SRT listeners in rx. */
const HE_SRT_PORT = 9000;
const LS_SRT_PORT = 9001;
const BARE_SRT_PORT = 9002;
/** Relays in tx, on 127.0.0.1. */
const HE_RELAY_PORT = 9100;
const LS_RELAY_PORT = 9101;
const BARE_RELAY_PORT = 9102;
/** The headend's output (RTP multicast on rx's loopback), libsrt's and ours-bare's (UDP to rx's loopback). */
const GROUP = '239.255.42.1';
const GROUP_PORT = 5000;
const LS_OUT_PORT = 6000;
const BARE_OUT_PORT = 6001;
const HTTP_PORT = 8080;
const NFT_TABLE = 'rcbsrt';
/** NETLAB.md gotcha 6. */
const RECV_BUFFER_BYTES = 8 * 1024 * 1024;
/** Stamp delays kept per path and second: at 8 Mbit/s at most ~5300 TS packets/s, all stamps if the stream were all stuffing. */
const STAMPS_PER_S = 5400;
const STOP_TIMEOUT_MS = 8000;
const UP_TIMEOUT_MS = 30_000;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const TARGET = { unrecovered: 'equal to libsrt (0 at 2 % loss, latency 3 × RTT)', cpuPerMbpsVsLibsrt: 2 } as const;
/** The receivers, in the order the receiver role reports them. */
const RECEIVERS = ['roomcast', 'libsrt', 'ours-bare'] as const;

const HEADEND_MAIN = fileURLToPath(new URL('../headend/main.js', import.meta.url));
const THIS_FILE = fileURLToPath(import.meta.url);

export interface SrtBenchOptions {
  /** Measurement window per loss rate, s. Default 30. */
  seconds?: number;
  /** Loss rates, % (each way, on every path), 0.1 % steps. Default 2, 5. */
  lossPct?: number[];
  /** Round trip the relays add (half each way), ms. Default 20. */
  rttMs?: number;
  /** SRT latency of all six ends, ms. Default 3 × rttMs. */
  latencyMs?: number;
  /** After setting a loss rate, before the window, s. Default 5. */
  warmupS?: number;
  /** headend.pacingDelayMs. Default 250 (the product default). */
  pacingDelayMs?: number;
  log?: (line: string) => void;
}

function round(x: number, digits = 2): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Nearest-rank percentile of an ascending array. */
function pct(sorted: Float64Array | number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/* ======================================================================== */
/* Receiver role (this file run with --receiver, inside the rx namespace)    */
/* ======================================================================== */

interface PathState {
  name: string;
  inspector: TsInspector;
  datagrams: number;
  tsBytes: number;
  /** Datagrams that are not whole TS packets, or bad RTP. */
  malformed: number;
  /** RTP sequence gaps (headend → receiver role, on loopback: should be 0). */
  rtpLost: number;
  lastSeq: number;
  stamps: number;
  stampsMissing: number;
  stampsBackwards: number;
  /** The PID the stamps come out on (a remux moves them), from the first one; -1 before. */
  stampPid: number;
  /** Packets that look like stamps on another PID than stampPid: not counted as stamps. */
  stampsOtherPid: number;
  lastCounter: number;
  delays: Float64Array;
  nDelays: number;
  lastArrivalNs: number;
  maxGapMs: number;
  cc0: number;
}

export interface ReceiverPathResult {
  name: string;
  datagrams: number;
  tsBytes: number;
  outputMbps: number;
  malformed: number;
  rtpLost: number;
  ccErrors: number;
  stamps: number;
  stampsMissing: number;
  stampsBackwards: number;
  stampPid: number;
  /** stream_type the receiver's output PMT gives the stamp PID; -1 when it does not list it. */
  stampStreamType: number;
  stampsOtherPid: number;
  delayMs: { n: number; min: number; p50: number; p99: number; max: number; mean: number };
  maxGapMs: number;
}

export interface ReceiverResult {
  windowMs: number;
  cpuPct: number;
  recvBufferBytes: number;
  paths: ReceiverPathResult[];
}

async function receiverMain(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      receiver: { type: 'boolean' },
      group: { type: 'string' },
      'group-port': { type: 'string' },
      'udp-port': { type: 'string' },
      'bare-port': { type: 'string' },
      'max-seconds': { type: 'string' },
    },
    strict: true,
  });
  const group = values.group ?? '';
  const groupPort = Number(values['group-port']);
  const udpPort = Number(values['udp-port']);
  const barePort = Number(values['bare-port']);
  const maxSeconds = Number(values['max-seconds'] ?? 600);
  if (!group || !(groupPort > 0) || !(udpPort > 0) || !(barePort > 0) || !(maxSeconds > 0 && maxSeconds <= 3600)) {
    process.stderr.write('receiver: --group, --group-port, --udp-port, --bare-port and --max-seconds are required\n');
    process.exit(2);
  }
  // A hard bound on the whole run, whatever the parent does.
  const deadline = setTimeout(() => {
    process.stderr.write(`receiver: no stop after ${maxSeconds} s, exiting\n`);
    process.exit(3);
  }, maxSeconds * 1000);

  const capacity = Math.ceil(Math.min(maxSeconds, 600) * STAMPS_PER_S);
  const mk = (name: string): PathState => ({
    name,
    inspector: new TsInspector(),
    datagrams: 0,
    tsBytes: 0,
    malformed: 0,
    rtpLost: 0,
    lastSeq: -1,
    stamps: 0,
    stampsMissing: 0,
    stampsBackwards: 0,
    stampPid: -1,
    stampsOtherPid: 0,
    lastCounter: -1,
    delays: new Float64Array(capacity),
    nDelays: 0,
    lastArrivalNs: 0,
    maxGapMs: 0,
    cc0: 0,
  });
  const [ours, peer, bare] = RECEIVERS.map(mk);
  const paths = [ours, peer, bare];
  let recording = false;

  /** TS packets buf[off, off + len) of one datagram, arrived at `nowNs`. */
  const onTs = (st: PathState, buf: Buffer, off: number, len: number, nowNs: number): void => {
    if (len <= 0 || len % TS_PACKET_SIZE !== 0) {
      if (recording) st.malformed++;
      return;
    }
    // Continuity and stamps are followed all the time, counted only in the window.
    st.inspector.writePackets(buf, off, len / TS_PACKET_SIZE);
    if (recording) {
      st.datagrams++;
      st.tsBytes += len;
      if (st.lastArrivalNs > 0) {
        const gap = (nowNs - st.lastArrivalNs) / 1e6;
        if (gap > st.maxGapMs) st.maxGapMs = gap;
      }
    }
    st.lastArrivalNs = nowNs;
    for (let o = off; o < off + len; o += TS_PACKET_SIZE) {
      // By content (the headend's remux puts them on a PID of its plan), then kept to the PID of the first.
      if (buf[o] !== TS_SYNC_BYTE || !isStamp(buf, o)) continue;
      const pid = tsPid(buf, o);
      if (st.stampPid < 0) st.stampPid = pid;
      else if (pid !== st.stampPid) {
        if (recording) st.stampsOtherPid++;
        continue;
      }
      const counter = stampCounter(buf, o);
      if (recording) {
        st.stamps++;
        if (st.lastCounter >= 0) {
          const d = (counter - st.lastCounter) >>> 0;
          if (d === 0 || d >= 0x80000000) st.stampsBackwards++;
          else st.stampsMissing += d - 1;
        }
        if (st.nDelays < st.delays.length) st.delays[st.nDelays++] = (nowNs - stampNs(buf, o)) / 1e6;
      }
      st.lastCounter = counter;
    }
  };

  const rtp = createRtpHeader();
  const sockOurs = dgram.createSocket({ type: 'udp4', reuseAddr: true, recvBufferSize: RECV_BUFFER_BYTES });
  sockOurs.on('message', (msg) => {
    const now = monoNs();
    if (parseRtpHeader(msg, msg.length, rtp) !== 0) {
      if (recording) ours.malformed++;
      return;
    }
    if (recording && ours.lastSeq >= 0) {
      const gap = (rtp.sequenceNumber - ((ours.lastSeq + 1) & 0xffff)) & 0xffff;
      if (gap < 0x8000) ours.rtpLost += gap;
    }
    ours.lastSeq = rtp.sequenceNumber;
    onTs(ours, msg, rtp.payloadOffset, rtp.payloadLength, now);
  });
  const sockPeer = dgram.createSocket({ type: 'udp4', recvBufferSize: RECV_BUFFER_BYTES });
  sockPeer.on('message', (msg) => onTs(peer, msg, 0, msg.length, monoNs()));
  const sockBare = dgram.createSocket({ type: 'udp4', recvBufferSize: RECV_BUFFER_BYTES });
  sockBare.on('message', (msg) => onTs(bare, msg, 0, msg.length, monoNs()));
  await Promise.all([
    new Promise<void>((resolve, reject) => {
      sockOurs.once('error', reject);
      // NETLAB.md gotchas 3/4 and "loopback multicast": bind to the group, then join naming 127.0.0.1.
      sockOurs.bind({ address: group, port: groupPort, exclusive: false }, () => {
        try {
          sockOurs.addMembership(group, '127.0.0.1');
          resolve();
        } catch (e) {
          reject(e as Error);
        }
      });
    }),
    new Promise<void>((resolve, reject) => {
      sockPeer.once('error', reject);
      sockPeer.bind({ address: '127.0.0.1', port: udpPort, exclusive: true }, () => resolve());
    }),
    new Promise<void>((resolve, reject) => {
      sockBare.once('error', reject);
      sockBare.bind({ address: '127.0.0.1', port: barePort, exclusive: true }, () => resolve());
    }),
  ]);
  const recvBufferBytes = Math.min(sockOurs.getRecvBufferSize(), sockPeer.getRecvBufferSize(), sockBare.getRecvBufferSize());
  process.stdout.write('ready\n');

  let t0Ns = 0;
  let cpu0 = process.cpuUsage();
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (line === 'count') {
      process.stdout.write(JSON.stringify({ type: 'count', packets: paths.map((p) => p.inspector.counters.packets) }) + '\n');
    } else if (line === 'start') {
      for (const st of paths) {
        st.datagrams = st.tsBytes = st.malformed = st.rtpLost = 0;
        st.stamps = st.stampsMissing = st.stampsBackwards = st.stampsOtherPid = st.nDelays = 0;
        st.maxGapMs = 0;
        st.cc0 = st.inspector.counters.ccErrors;
      }
      t0Ns = monoNs();
      cpu0 = process.cpuUsage();
      recording = true;
    } else if (line === 'stop') {
      recording = false;
      const windowMs = (monoNs() - t0Ns) / 1e6;
      const cpu = process.cpuUsage(cpu0);
      const result: ReceiverResult = {
        windowMs: Math.round(windowMs),
        cpuPct: round(((cpu.user + cpu.system) / 1000 / windowMs) * 100, 2),
        recvBufferBytes,
        paths: paths.map((st) => {
          const d = st.delays.subarray(0, st.nDelays).sort();
          let sum = 0;
          for (let i = 0; i < d.length; i++) sum += d[i];
          return {
            name: st.name,
            datagrams: st.datagrams,
            tsBytes: st.tsBytes,
            outputMbps: round((st.tsBytes * 8) / (windowMs / 1000) / 1e6, 3),
            malformed: st.malformed,
            rtpLost: st.rtpLost,
            ccErrors: st.inspector.counters.ccErrors - st.cc0,
            stamps: st.stamps,
            stampsMissing: st.stampsMissing,
            stampsBackwards: st.stampsBackwards,
            stampPid: st.stampPid,
            stampStreamType: st.inspector.pmt?.streams.find((x) => x.elementaryPid === st.stampPid)?.streamType ?? -1,
            stampsOtherPid: st.stampsOtherPid,
            delayMs: { n: d.length, min: round(d[0] ?? NaN), p50: round(pct(d, 50)), p99: round(pct(d, 99)), max: round(d[d.length - 1] ?? NaN), mean: round(sum / d.length) },
            maxGapMs: round(st.maxGapMs),
          };
        }),
      };
      process.stdout.write(JSON.stringify({ type: 'result', ...result }) + '\n');
    } else if (line === 'exit') {
      clearTimeout(deadline);
      sockOurs.close();
      sockPeer.close();
      sockBare.close();
      rl.close();
      process.exit(0);
    }
  });
  rl.on('close', () => process.exit(0)); // the parent went away
}

/* ======================================================================== */
/* Orchestration                                                            */
/* ======================================================================== */

/** Throws one clear error naming everything missing. */
function checkPrerequisites(): void {
  if (process.platform !== 'linux') throw new Error(`the srt bench needs Linux (network namespaces, nftables), this is ${process.platform}`);
  const missing: string[] = [];
  if (typeof process.getuid === 'function' && process.getuid() !== 0) missing.push('root (ip netns, nft)');
  const tools: [string, string][] = [
    ['ffmpeg', 'ffmpeg'],
    ['srt-live-transmit', 'srt-live-transmit (Debian/Ubuntu: apt-get install srt-tools)'],
    ['nft', 'nft (apt-get install nftables)'],
    ['ip', 'ip (iproute2)'],
  ];
  for (const [bin, what] of tools) {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore', timeout: 5000 });
    } catch {
      missing.push(what);
    }
  }
  if (!existsSync(HEADEND_MAIN)) missing.push(`the built headend (${HEADEND_MAIN}: npm run build)`);
  if (missing.length) throw new Error(`the srt bench needs ${missing.join(', ')}: missing`);
}

function version(cmd: string, args: string[], re: RegExp): string {
  // srt-live-transmit prints its version on stderr.
  const r = spawnSync(cmd, args, { timeout: 5000, encoding: 'utf8' });
  return re.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`)?.[1]?.replace(/,$/, '') ?? '?';
}

/** The cached source: ~5 Mbit/s H.264 + AAC, no stuffing (the live remux adds it), made once, atomically. */
function makeSource(log: (l: string) => void): string {
  const file = join(tmpdir(), `roomcast-bench-srt-h264-${SOURCE_SECONDS}s.ts`);
  if (existsSync(file) && statSync(file).size > 5e6 / 8 * SOURCE_SECONDS * 0.8) return file;
  const tmp = `${file}.${process.pid}.tmp`;
  log(`srt: making ${file} with ffmpeg`);
  execFileSync(
    'ffmpeg',
    [
      '-v', 'error', '-y',
      '-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=25:duration=${SOURCE_SECONDS}`,
      '-f', 'lavfi', '-i', `sine=frequency=1000:sample_rate=48000:duration=${SOURCE_SECONDS}`,
      '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-keyint_min', '50', '-sc_threshold', '0',
      '-b:v', '5M', '-maxrate', '5M', '-bufsize', '2500k', '-x264-params', 'nal-hrd=cbr',
      '-c:a', 'aac', '-b:a', '128k',
      '-f', 'mpegts', tmp,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], timeout: 180_000 },
  );
  renameSync(tmp, file);
  return file;
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { timeout: 5000 }).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** utime + stime of a process or thread, s (proc(5) fields 14, 15). */
function cpuS(statPath: string): number {
  try {
    const s = readFileSync(statPath, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return NaN; // gone
  }
}

function threadsCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    const v = cpuS(`/proc/${pid}/task/${tid}/stat`);
    if (Number.isFinite(v)) out.set(tid, v);
  }
  return out;
}

function hostCpu(): { busy: number; total: number; steal: number } {
  const v = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - v[3] - v[4], total, steal: v[7] };
}

/** The last complete JSON record of a libsrt stats file (`-pf json`, one object per line), or null. */
async function lastSrtStats(file: string): Promise<SrtStats | null> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch {
    return null;
  }
  try {
    const size = (await fh.stat()).size;
    const len = Math.min(size, 32 * 1024);
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, size - len);
    const lines = buf.toString('utf8').split('\n');
    for (let i = lines.length - 1; i >= 0; i--) {
      const l = lines[i].trim();
      if (!l.startsWith('{') || !l.endsWith('}')) continue;
      try {
        return JSON.parse(l) as SrtStats;
      } catch {
        /* a line cut by the 32 KiB window or being written */
      }
    }
    return null;
  } finally {
    await fh.close();
  }
}

/** The fields of srt-live-transmit's JSON statistics used here (libsrt SRT_TRACEBSTATS, totals with -f). */
interface SrtStats {
  sid: number;
  time: number;
  link: { rtt: number };
  send: { packets: number; packetsLost: number; packetsDropped: number; packetsRetransmitted: number };
  recv: { packets: number; packetsUnique: number; packetsLost: number; packetsDropped: number; packetsRetransmitted: number; packetsBelated: number; bytes: number; msTsbPdDelay: number };
}

async function readStatus(file: string): Promise<ChannelSnapshot | null> {
  try {
    const j = JSON.parse(await readFile(file, 'utf8')) as { channels?: ChannelSnapshot[] };
    return j.channels?.[0] ?? null;
  } catch {
    return null; // not written yet
  }
}

function srcNum(s: ChannelSnapshot, k: string): number {
  const v = s.input.source[k];
  return typeof v === 'number' ? v : 0;
}

/* ---- nftables: loss on tx's eth0, per path and direction ------------------ */

const NFT_COUNTERS = [
  'he_out_all', 'he_out_drop', 'he_in_all', 'he_in_drop',
  'ls_out_all', 'ls_out_drop', 'ls_in_all', 'ls_in_drop',
  'bb_out_all', 'bb_out_drop', 'bb_in_all', 'bb_in_drop',
] as const;
type NftCounts = Record<(typeof NFT_COUNTERS)[number], number>;

async function setLoss(net: BenchNet, perMille: number, dir: string): Promise<void> {
  const rules = (dir: 'out' | 'in'): string[] => {
    const lines: string[] = [];
    for (const [tag, port] of [['he', HE_SRT_PORT], ['ls', LS_SRT_PORT], ['bb', BARE_SRT_PORT]] as const) {
      const match = dir === 'out' ? `oifname "eth0" udp dport ${port}` : `iifname "eth0" udp sport ${port}`;
      lines.push(`    ${match} counter name "${tag}_${dir}_all"`);
      // NETLAB.md: no netem here; random drop with numgen.
      if (perMille > 0) lines.push(`    ${match} numgen random mod 1000 < ${perMille} counter name "${tag}_${dir}_drop" drop`);
    }
    return lines;
  };
  const text = [
    `table inet ${NFT_TABLE} {`,
    ...NFT_COUNTERS.map((c) => `  counter ${c} { }`),
    '  chain out {',
    '    type filter hook output priority 0; policy accept;',
    ...rules('out'),
    '  }',
    '  chain in {',
    '    type filter hook input priority 0; policy accept;',
    ...rules('in'),
    '  }',
    '}',
    '',
  ].join('\n');
  const file = join(dir, 'loss.nft');
  await writeFile(file, text);
  try {
    await net.exec(net.tx, ['nft', 'delete', 'table', 'inet', NFT_TABLE]).catch(() => undefined);
    await net.exec(net.tx, ['nft', '-f', file]);
  } finally {
    await rm(file, { force: true });
  }
}

async function nftCounts(net: BenchNet): Promise<NftCounts> {
  const out = JSON.parse(await net.exec(net.tx, ['nft', '-j', 'list', 'counters', 'table', 'inet', NFT_TABLE])) as { nftables: { counter?: { name: string; packets: number } }[] };
  const c = Object.fromEntries(NFT_COUNTERS.map((k) => [k, 0])) as NftCounts;
  for (const e of out.nftables) if (e.counter && e.counter.name in c) c[e.counter.name as keyof NftCounts] = e.counter.packets;
  return c;
}

/* ---- processes ------------------------------------------------------------ */

interface Proc {
  name: string;
  child: ChildProcess;
  err: () => string;
}

function died(p: Proc): string | null {
  const c = p.child;
  return c.exitCode !== null || c.signalCode !== null ? `${p.name} exited (${c.exitCode ?? c.signalCode}): ${p.err().trim().split('\n').slice(-3).join(' | ')}` : null;
}

function headendYaml(o: { latencyMs: number; pacingDelayMs: number; rxAddress: string }): string {
  return [
    '# Written by bench/srt.ts',
    'headend:',
    // Output on rx's loopback, next to libsrt's: the SRT input listens on the link address.
    '  interface: 127.0.0.1',
    '  ttl: 1',
    '  workers: 1',
    `  pacingDelayMs: ${o.pacingDelayMs}`,
    '  healthIntervalS: 3600',
    `  httpPort: ${HTTP_PORT}`,
    // The GOP cache is for zapping STBs, not for SRT reception: off, so the CPU is the SRT path's.
    '  fcc: { enabled: false }',
    'channels:',
    '  - number: 1',
    '    name: SRT bench',
    `    multicast: { group: ${GROUP}, port: ${GROUP_PORT} }`,
    `    source: { type: srt, address: ${o.rxAddress}, port: ${HE_SRT_PORT}, streamId: ${STREAM_ID}, latencyMs: ${o.latencyMs} }`,
    // No slate: the headend is up seconds before its caller, and a slate on the air by then leaves its
    // read-ahead (up to pacingDelayMs + 300 ms + a file chunk, queued in the pacer) ahead of the
    // primary when it returns — the new run is timed after it (pacer.ts startRun) — as a constant
    // extra delay of 0 … ~0.8 s for the whole run, which is the start-up's, not SRT reception's.
    '    slate: false',
    '',
  ].join('\n');
}

interface Snapshot {
  he: ChannelSnapshot | null;
  ls: SrtStats | null;
  bare: BareRxStats | null;
  sndHe: SrtStats | null;
  sndLs: SrtStats | null;
  sndBare: SrtStats | null;
  nft: NftCounts;
  heCpuS: number;
  heThreads: Map<string, number>;
  lsCpuS: number;
  bareCpuS: number;
  host: { busy: number; total: number; steal: number };
  atMs: number;
  /** utime + stime of every process the bench started, by name. */
  procs: Record<string, number>;
}

interface SnapshotSources {
  files: { status: string; ls: string; sndHe: string; sndLs: string; sndBare: string };
  hePid: number;
  lsPid: number;
  barePid: number;
  /** ours-bare's counters, asked for on its stdin. */
  bareStats: () => Promise<BareRxStats | null>;
}

async function snapshot(net: BenchNet, src: SnapshotSources, procs: Proc[]): Promise<Snapshot> {
  const { files } = src;
  const [he, ls, bare, sndHe, sndLs, sndBare, nft] = await Promise.all([
    readStatus(files.status),
    lastSrtStats(files.ls),
    src.bareStats(),
    lastSrtStats(files.sndHe),
    lastSrtStats(files.sndLs),
    lastSrtStats(files.sndBare),
    nftCounts(net),
  ]);
  return {
    he,
    ls,
    bare,
    sndHe,
    sndLs,
    sndBare,
    nft,
    heCpuS: cpuS(`/proc/${src.hePid}/stat`),
    heThreads: threadsCpu(src.hePid),
    lsCpuS: cpuS(`/proc/${src.lsPid}/stat`),
    bareCpuS: cpuS(`/proc/${src.barePid}/stat`),
    host: hostCpu(),
    atMs: performance.now(),
    procs: Object.fromEntries(procs.map((p) => [p.name, cpuS(`/proc/${p.child.pid}/stat`)])),
  };
}

function lossPct(dropped: number, all: number): number {
  return all > 0 ? round((100 * dropped) / all, 2) : NaN;
}

/** One window's figures, every path. */
function analyseWindow(a: Snapshot, b: Snapshot, rx: ReceiverResult, o: { pacingDelayMs: number; hePid: number }): Record<string, unknown> {
  const wallS = (b.atMs - a.atMs) / 1000;
  const [outOurs, outPeer, outBare] = rx.paths;
  const dn = (k: keyof NftCounts): number => b.nft[k] - a.nft[k];
  const network = {
    roomcast: { toReceiverPct: lossPct(dn('he_out_drop'), dn('he_out_all')), toSenderPct: lossPct(dn('he_in_drop'), dn('he_in_all')), dropped: dn('he_out_drop') + dn('he_in_drop') },
    libsrt: { toReceiverPct: lossPct(dn('ls_out_drop'), dn('ls_out_all')), toSenderPct: lossPct(dn('ls_in_drop'), dn('ls_in_all')), dropped: dn('ls_out_drop') + dn('ls_in_drop') },
    oursBare: { toReceiverPct: lossPct(dn('bb_out_drop'), dn('bb_out_all')), toSenderPct: lossPct(dn('bb_in_drop'), dn('bb_in_all')), dropped: dn('bb_out_drop') + dn('bb_in_drop') },
  };

  const sender = (x: SrtStats | null, y: SrtStats | null): Record<string, number> | null =>
    x && y
      ? {
          packets: y.send.packets - x.send.packets,
          retransmitted: y.send.packetsRetransmitted - x.send.packetsRetransmitted,
          lossReported: y.send.packetsLost - x.send.packetsLost,
          droppedTooLate: y.send.packetsDropped - x.send.packetsDropped,
          overheadPct: round((100 * (y.send.packetsRetransmitted - x.send.packetsRetransmitted)) / Math.max(1, y.send.packets - x.send.packets), 2),
          reconnected: x.sid !== y.sid ? 1 : 0,
        }
      : null;

  // Ours.
  const h0 = a.he;
  const h1 = b.he;
  let ours: Record<string, unknown> = { error: 'no status.json' };
  if (h0 && h1) {
    const d = (k: string): number => srcNum(h1, k) - srcNum(h0, k);
    const received = d('srtPacketsReceived');
    const retransmitted = d('srtPacketsRetransmitted');
    // Threads: the data-plane worker is the busiest thread other than main (every thread is named "node").
    const threads = [...b.heThreads.entries()]
      .map(([tid, s]) => ({ tid, main: tid === String(o.hePid), cpuPct: ((s - (a.heThreads.get(tid) ?? 0)) / wallS) * 100 }))
      .sort((x, y) => y.cpuPct - x.cpuPct);
    const others = threads.filter((t) => !t.main);
    const dataPlane = others[0];
    const cpuPct = ((b.heCpuS - a.heCpuS) / wallS) * 100;
    // Charged per Mbit/s of SRT payload received (what its SRT input handed the data plane, input.bytes over
    // the two snapshots' span), as libsrt and ours-bare are: they pass on all they receive, the headend does
    // not — its output is the remuxed program (its own PAT/PMT/SDT, PIDs outside the PMT dropped) — so its
    // output rate is not the work it was given.
    const spanS = (h1.atMs - h0.atMs) / 1000;
    const mbps = spanS > 0 ? ((h1.input.bytes - h0.input.bytes) * 8) / spanS / 1e6 : NaN;
    ours = {
      countersSpanS: round(spanS, 2),
      inputMbps: round(mbps, 3),
      received,
      lost: d('srtPacketsLost'),
      retransmitted,
      overheadPct: round((100 * retransmitted) / Math.max(1, received), 2),
      droppedTooLate: d('srtPacketsDropped'),
      ccErrorsAtInput: (h1.tr101290.ccErrors ?? 0) - (h0.tr101290.ccErrors ?? 0),
      rttMs: srcNum(h1, 'srtRttMs'),
      latencyMs: srcNum(h1, 'srtLatencyMs'),
      ...output(outOurs),
      pacingDelayMs: o.pacingDelayMs,
      e2eMinusPacingP50Ms: round(outOurs.delayMs.p50 - o.pacingDelayMs),
      e2eMinusPacingP99Ms: round(outOurs.delayMs.p99 - o.pacingDelayMs),
      cpuPct: round(cpuPct, 2),
      cpuPctPerMbps: round(cpuPct / mbps, 3),
      dataPlaneCpuPct: dataPlane ? round(dataPlane.cpuPct, 2) : NaN,
      dataPlaneCpuPctPerMbps: dataPlane ? round(dataPlane.cpuPct / mbps, 3) : NaN,
      mainThreadCpuPct: round(threads.find((t) => t.main)?.cpuPct ?? NaN, 2),
      nextBusiestThreadCpuPct: round(others[1]?.cpuPct ?? 0, 2),
      /** The headend's own health over the window. */
      product: {
        state: h1.state,
        restarts: h1.input.restarts - h0.input.restarts,
        connections: srcNum(h1, 'srtConnections') - srcNum(h0, 'srtConnections'),
        overflowPackets: h1.output.overflowPackets - h0.output.overflowPackets,
        lateDatagrams: h1.output.lateDatagrams - h0.output.lateDatagrams,
        reanchors: h1.output.reanchors - h0.output.reanchors,
        sendErrors: h1.output.sendErrors - h0.output.sendErrors,
        latenessP99Ms: round(h1.output.latenessP99Ms, 2),
        bufferPackets: srcNum(h1, 'srtBufferPackets'),
      },
      sender: sender(a.sndHe, b.sndHe),
      network: network.roomcast,
    };
  }

  // libsrt.
  const l0 = a.ls;
  const l1 = b.ls;
  let peer: Record<string, unknown> = { error: 'no libsrt statistics' };
  if (l0 && l1) {
    const received = l1.recv.packets - l0.recv.packets;
    const retransmitted = l1.recv.packetsRetransmitted - l0.recv.packetsRetransmitted;
    const cpuPct = ((b.lsCpuS - a.lsCpuS) / wallS) * 100;
    const mbps = outPeer.outputMbps;
    peer = {
      countersSpanS: round((l1.time - l0.time) / 1000, 2),
      received,
      lost: l1.recv.packetsLost - l0.recv.packetsLost,
      retransmitted,
      overheadPct: round((100 * retransmitted) / Math.max(1, received), 2),
      droppedTooLate: l1.recv.packetsDropped - l0.recv.packetsDropped,
      belated: l1.recv.packetsBelated - l0.recv.packetsBelated,
      rttMs: round(l1.link.rtt, 2),
      latencyMs: l1.recv.msTsbPdDelay,
      reconnected: l0.sid !== l1.sid ? 1 : 0,
      ...output(outPeer),
      cpuPct: round(cpuPct, 2),
      cpuPctPerMbps: round(cpuPct / mbps, 3),
      sender: sender(a.sndLs, b.sndLs),
      network: network.libsrt,
    };
  }

  // ours-bare: the same SRT receiver as the headend's, alone (bench/srt-bare-rx.ts).
  const x0 = a.bare;
  const x1 = b.bare;
  let bare: Record<string, unknown> = { error: 'no ours-bare statistics' };
  if (x0 && x1) {
    const received = x1.packetsReceived - x0.packetsReceived;
    const retransmitted = x1.packetsRetransmitted - x0.packetsRetransmitted;
    const cpuPct = ((b.bareCpuS - a.bareCpuS) / wallS) * 100;
    const mbps = outBare.outputMbps;
    bare = {
      countersSpanS: round((x1.atMs - x0.atMs) / 1000, 2),
      received,
      lost: x1.packetsLost - x0.packetsLost,
      retransmitted,
      overheadPct: round((100 * retransmitted) / Math.max(1, received), 2),
      droppedTooLate: x1.packetsDropped - x0.packetsDropped,
      rttMs: x1.rttMs,
      latencyMs: x1.latencyMs,
      reconnected: x1.connections - x0.connections,
      datagramsOut: x1.datagramsOut - x0.datagramsOut,
      sendErrors: x1.sendErrors - x0.sendErrors,
      ...output(outBare),
      cpuPct: round(cpuPct, 2),
      cpuPctPerMbps: round(cpuPct / mbps, 3),
      sender: sender(a.sndBare, b.sndBare),
      network: network.oursBare,
    };
  }

  const num = (x: unknown): number => (typeof x === 'number' ? x : NaN);
  const ratio = (x: unknown, y: unknown, digits = 2): number | null => {
    const r = num(x) / num(y);
    return Number.isFinite(r) ? round(r, digits) : null;
  };
  // Two views of the same loss, compared each on its own: SRT packets given up on, and the CC errors they left in the TS.
  const unrecoveredMet = num(ours.droppedTooLate) <= num(peer.droppedTooLate) && num(ours.ccErrors) <= num(peer.ccErrors);
  // CPU: judged on ours-bare, the same job as srt-live-transmit's (SRT in, UDP out), whole process for whole process.
  const cpuRatio = ratio(bare.cpuPctPerMbps, peer.cpuPctPerMbps);
  return {
    windowS: round(wallS, 2),
    hostBusyPct: round(((b.host.busy - a.host.busy) / (b.host.total - a.host.total)) * 100, 1),
    hostStealPct: round(((b.host.steal - a.host.steal) / (b.host.total - a.host.total)) * 100, 1),
    receiverRoleCpuPct: rx.cpuPct,
    /** CPU % of every process of the bench over the window: the load all receivers shared. */
    processCpuPct: Object.fromEntries(Object.keys(b.procs).map((k) => [k, round(((b.procs[k] - (a.procs[k] ?? NaN)) / wallS) * 100, 1)])),
    receiverRoleBufferBytes: rx.recvBufferBytes,
    roomcast: ours,
    libsrt: peer,
    oursBare: bare,
    ratios: {
      overhead: ratio(ours.overheadPct, peer.overheadPct),
      e2eP50: ratio(ours.e2eP50Ms, peer.e2eP50Ms),
      e2eMinusPacingP50: ratio(ours.e2eMinusPacingP50Ms, peer.e2eP50Ms),
      /** ours-bare ÷ libsrt, whole process ÷ whole process, per output Mbit/s: what the CPU target is judged on. */
      cpuPerMbpsBare: cpuRatio,
      /** The headend's data-plane thread: SRT + TS inspection + remux + PCR pacing + RTP packing, per Mbit/s received. */
      cpuPerMbpsDataPlane: ratio(ours.dataPlaneCpuPctPerMbps, peer.cpuPctPerMbps),
      cpuPerMbpsProcess: ratio(ours.cpuPctPerMbps, peer.cpuPctPerMbps),
      bareOverhead: ratio(bare.overheadPct, peer.overheadPct),
      bareE2eP50: ratio(bare.e2eP50Ms, peer.e2eP50Ms),
    },
    targets: {
      unrecovered: {
        target: TARGET.unrecovered,
        value:
          `headend dropped ${String(ours.droppedTooLate)} vs libsrt ${String(peer.droppedTooLate)}, CC errors ${String(ours.ccErrors)} vs ${String(peer.ccErrors)} ` +
          `(ours-bare dropped ${String(bare.droppedTooLate)}, CC errors ${String(bare.ccErrors)})`,
        met: unrecoveredMet,
      },
      cpuPerMbps: {
        target: `ours-bare process ≤ ${TARGET.cpuPerMbpsVsLibsrt}× srt-live-transmit process, per output Mbit/s`,
        value: cpuRatio,
        met: cpuRatio !== null && cpuRatio <= TARGET.cpuPerMbpsVsLibsrt,
      },
    },
  };
}

function output(p: ReceiverPathResult): Record<string, number> {
  return {
    outputMbps: p.outputMbps,
    ccErrors: p.ccErrors,
    stamps: p.stamps,
    stampsMissing: p.stampsMissing,
    stampsBackwards: p.stampsBackwards,
    stampPid: p.stampPid,
    stampStreamType: p.stampStreamType,
    stampsOtherPid: p.stampsOtherPid,
    e2eMinMs: p.delayMs.min,
    e2eP50Ms: p.delayMs.p50,
    e2eP99Ms: p.delayMs.p99,
    e2eMaxMs: p.delayMs.max,
    outputMaxGapMs: p.maxGapMs,
    outputMalformed: p.malformed,
    outputRtpLost: p.rtpLost,
  };
}

/* ---- the benchmark -------------------------------------------------------- */

export async function benchSrt(opts: SrtBenchOptions = {}): Promise<Record<string, unknown>> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const rttMs = opts.rttMs ?? 20;
  const o = {
    seconds: opts.seconds ?? 30,
    lossPct: opts.lossPct ?? [2, 5],
    rttMs,
    latencyMs: opts.latencyMs ?? 3 * rttMs,
    warmupS: opts.warmupS ?? 5,
    pacingDelayMs: opts.pacingDelayMs ?? 250,
  };
  if (!(o.seconds >= 2 && o.seconds <= 600)) throw new RangeError(`seconds: ${o.seconds} is not in 2..600`);
  if (o.lossPct.length === 0 || o.lossPct.length > 10) throw new RangeError('loss: give 1 to 10 rates');
  for (const l of o.lossPct) {
    if (!(l >= 0 && l <= 50) || Math.abs(l * 10 - Math.round(l * 10)) > 1e-9) throw new RangeError(`loss: ${l} is not in 0..50 in steps of 0.1 %`);
  }
  if (!(Number.isInteger(o.rttMs) && o.rttMs >= 0 && o.rttMs <= 1000 && o.rttMs % 2 === 0)) throw new RangeError(`rtt: ${o.rttMs} is not an even number of ms in 0..1000`);
  if (!(Number.isInteger(o.latencyMs) && o.latencyMs >= 20 && o.latencyMs <= 8000)) throw new RangeError(`latency: ${o.latencyMs} is not in 20..8000 ms (the headend's range)`);
  if (!(o.warmupS >= 0 && o.warmupS <= 60)) throw new RangeError(`warmup: ${o.warmupS} is not in 0..60`);
  if (!(Number.isInteger(o.pacingDelayMs) && o.pacingDelayMs >= 20 && o.pacingDelayMs <= 5000)) throw new RangeError(`pacing delay: ${o.pacingDelayMs} is not in 20..5000 ms`);
  checkPrerequisites();

  const source = makeSource(log);
  const totalS = 60 + o.lossPct.length * (o.seconds + o.warmupS + 10);
  const work = await mkdtemp(join(tmpdir(), 'roomcast-bench-srt-'));
  // On SIGINT/SIGTERM bench/netns.ts kills everything in the namespaces and re-raises the
  // signal (no 'exit' event, no finally): remove the work directory first.
  const removeWork = (): void => rmSync(work, { recursive: true, force: true });
  for (const sig of SIGNALS) process.prependOnceListener(sig, removeWork);
  let net: BenchNet;
  try {
    net = await createBenchNet();
  } catch (e) {
    for (const sig of SIGNALS) process.off(sig, removeWork);
    removeWork();
    throw e;
  }
  const files = {
    status: join(work, 'status.json'),
    ls: join(work, 'libsrt-rx.json'),
    sndHe: join(work, 'sender-roomcast.json'),
    sndLs: join(work, 'sender-libsrt.json'),
    sndBare: join(work, 'sender-ours-bare.json'),
  };
  const procs: Proc[] = [];
  const start = (name: string, ns: string, argv: string[], stdio: Parameters<BenchNet['spawn']>[2] = { stdio: ['ignore', 'pipe', 'pipe'] }): Proc => {
    const child = net.spawn(ns, argv, stdio);
    const p: Proc = { name, child, err: tail(child.stderr) };
    procs.push(p);
    return p;
  };
  const anyDied = (): string | null => {
    for (const p of procs) {
      const d = died(p);
      if (d) return d;
    }
    return null;
  };
  const windows: Record<string, unknown>[] = [];
  try {
    const rxAddr = net.rxAddress;
    const srtOpts = `latency=${o.latencyMs}`;
    log(`srt: RTT ${o.rttMs} ms (relays), latency ${o.latencyMs} ms, loss ${o.lossPct.join(', ')} %, ${o.warmupS} s warm-up + ${o.seconds} s window each`);

    // rx: the receiver role, the headend, libsrt's receiver, ours-bare.
    const recv = start(
      'receiver role',
      net.rx,
      [process.execPath, THIS_FILE, '--receiver', '--group', GROUP, '--group-port', String(GROUP_PORT), '--udp-port', String(LS_OUT_PORT), '--bare-port', String(BARE_OUT_PORT), '--max-seconds', String(totalS + 60)],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const next = lineWaiter(recv.child);
    await next((l) => l === 'ready', 10_000, 'receiver role').catch((e: Error) => {
      throw new Error(`${e.message}: ${recv.err().trim()}`);
    });
    const ask = async (cmd: string, type: string): Promise<Record<string, unknown>> => {
      recv.child.stdin!.write(cmd + '\n');
      return JSON.parse(await next((l) => l.startsWith(`{"type":"${type}"`), 10_000, `receiver role ${cmd}`)) as Record<string, unknown>;
    };

    const configFile = join(work, 'channels.yaml');
    await writeFile(configFile, headendYaml({ latencyMs: o.latencyMs, pacingDelayMs: o.pacingDelayMs, rxAddress: rxAddr }));
    const he = start('headend', net.rx, [process.execPath, HEADEND_MAIN, '--config', configFile, '--data', work, '--log-level', 'warn', '--no-mdns']);
    const heOut = tail(he.child.stdout);
    const ls = start('srt-live-transmit (receiver)', net.rx, [
      'srt-live-transmit', '-f', '-s', '100', '-pf', 'json', '-statsout', files.ls, '-loglevel', 'error',
      `srt://:${LS_SRT_PORT}?mode=listener&${srtOpts}`, `udp://127.0.0.1:${LS_OUT_PORT}`,
    ]);
    // ours-bare: the headend's SRT listener code alone, with the headend's stream id, latency and address.
    const bare = start(
      'srt-bare-rx (ours-bare)',
      net.rx,
      [
        process.execPath, SRT_BARE_RX_PATH, '--address', rxAddr, '--port', String(BARE_SRT_PORT), '--latency', String(o.latencyMs),
        '--out-port', String(BARE_OUT_PORT), '--stream-id', STREAM_ID, '--max-seconds', String(totalS + 60),
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    bare.child.stdin!.on('error', () => undefined); // it died: anyDied() reports it
    const bareOut = lineWaiter(bare.child);
    await bareOut((l) => l === 'ready', 10_000, 'srt-bare-rx').catch((e: Error) => {
      throw new Error(`${e.message}: ${bare.err().trim()}`);
    });
    const bareStats = async (): Promise<BareRxStats | null> => {
      if (bare.child.exitCode !== null || bare.child.signalCode !== null) return null;
      bare.child.stdin!.write('stats\n');
      return JSON.parse(await bareOut((l) => l.startsWith('{"type":"stats"'), 5000, 'srt-bare-rx stats')) as BareRxStats;
    };
    // The headend is listening once its channel reports.
    for (const until = Date.now() + 15_000; ; await sleep(200)) {
      const d = anyDied();
      if (d) throw new Error(d);
      if (await readStatus(files.status)) break;
      if (Date.now() > until) throw new Error(`headend: no status.json after 15 s: ${he.err().trim() || heOut().trim()}`);
    }

    // tx: loss rules (none yet), relays, senders, ffmpeg, stamper.
    await setLoss(net, 0, work);
    const oneWay = String(o.rttMs / 2);
    const relays = [
      ['relay (roomcast)', HE_RELAY_PORT, HE_SRT_PORT],
      ['relay (libsrt)', LS_RELAY_PORT, LS_SRT_PORT],
      ['relay (ours-bare)', BARE_RELAY_PORT, BARE_SRT_PORT],
    ] as const;
    for (const [name, lport, port] of relays) {
      const r = start(name, net.tx, [process.execPath, SRT_RELAY_PATH, `127.0.0.1:${lport}`, net.txAddress, `${rxAddr}:${port}`, oneWay, String(totalS + 60)]);
      await lineWaiter(r.child)((l) => l === 'ready', 10_000, name);
    }
    const sender = (name: string, port: number, stats: string): Proc =>
      start(
        name,
        net.tx,
        ['srt-live-transmit', '-chunk', String(SRT_CHUNK_BYTES), '-f', '-s', '100', '-pf', 'json', '-statsout', stats, '-loglevel', 'error', 'file://con', `srt://127.0.0.1:${port}?mode=caller&${srtOpts}&streamid=${STREAM_ID}`],
        { stdio: ['pipe', 'ignore', 'pipe'] },
      );
    const sndHe = sender('srt-live-transmit (sender → roomcast)', HE_RELAY_PORT, files.sndHe);
    const sndLs = sender('srt-live-transmit (sender → libsrt)', LS_RELAY_PORT, files.sndLs);
    const sndBare = sender('srt-live-transmit (sender → ours-bare)', BARE_RELAY_PORT, files.sndBare);
    const ffmpegArgv = [
      'ffmpeg', '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', source,
      '-c', 'copy', '-f', 'mpegts', '-muxrate', String(MUXRATE_BPS), '-pcr_period', '20', '-flush_packets', '1', '-',
    ];
    const ff = start('ffmpeg', net.tx, ffmpegArgv, { stdio: ['ignore', 'pipe', 'pipe'] });
    // The stamper reads ffmpeg's stdout and writes to the three senders' stdin (fd 3, 4, 5); the parent keeps no copy.
    const senders = [sndHe, sndLs, sndBare];
    const stamper = start('stamper', net.tx, [process.execPath, STAMPER_PATH, String(senders.length)], {
      stdio: [ff.child.stdout!, 'pipe', 'pipe', ...senders.map((x) => x.child.stdin!)],
    });
    ff.child.stdout!.destroy();
    for (const x of senders) x.child.stdin!.destroy();
    const stamperOut = lineWaiter(stamper.child);
    await stamperOut((l) => l === 'ready', 10_000, 'stamper');

    // All paths up: the headend's channel ok, libsrt and ours-bare receiving, every output reaching the receiver role.
    const upSince = Date.now();
    for (;;) {
      const d = anyDied();
      if (d) throw new Error(d);
      const [s, l, x, c] = await Promise.all([readStatus(files.status), lastSrtStats(files.ls), bareStats(), ask('count', 'count')]);
      const packets = c.packets as number[];
      if (s?.state === 'ok' && s.inputBitrateBps > MUXRATE_BPS * 0.75 && l && l.recv.packets > 500 && x?.connected && x.packetsReceived > 500 && packets.every((n) => n > 20_000)) break;
      if (Date.now() - upSince > UP_TIMEOUT_MS) {
        throw new Error(
          `not all paths up after ${UP_TIMEOUT_MS / 1000} s: headend ${s ? `${s.state} ${Math.round(s.inputBitrateBps / 1e3)} kbit/s` : 'no status'}, libsrt ${l ? `${l.recv.packets} packets` : 'no stats'}, ` +
            `ours-bare ${x ? `${x.connected ? 'connected' : 'not connected'}, ${x.packetsReceived} packets` : 'no stats'}, ` +
            `TS packets out (${RECEIVERS.join(' / ')}) ${packets.join(' / ')}; headend: ${he.err().trim().slice(-300) || heOut().trim().slice(-300)}; ours-bare: ${bare.err().trim().slice(-300)}`,
        );
      }
      await sleep(500);
    }
    log(`srt: all three paths up after ${((Date.now() - upSince) / 1000).toFixed(1)} s`);
    const snapSources: SnapshotSources = { files, hePid: he.child.pid!, lsPid: ls.child.pid!, barePid: bare.child.pid!, bareStats };

    for (const loss of o.lossPct) {
      const perMille = Math.round(loss * 10);
      await setLoss(net, perMille, work);
      log(`srt: ${loss} % loss both ways: ${o.warmupS} s warm-up, ${o.seconds} s window`);
      await sleep(o.warmupS * 1000);
      const d0 = anyDied();
      if (d0) throw new Error(d0);
      const a = await snapshot(net, snapSources, procs);
      recv.child.stdin!.write('start\n');
      const endAt = performance.now() + o.seconds * 1000;
      while (performance.now() < endAt) {
        await sleep(Math.min(500, Math.max(1, endAt - performance.now())));
        const d = anyDied();
        if (d) throw new Error(`${loss} % window: ${d}`);
      }
      const rx = (await ask('stop', 'result')) as unknown as ReceiverResult;
      const b = await snapshot(net, snapSources, procs);
      const w: Record<string, unknown> = { lossPct: loss, ...analyseWindow(a, b, rx, { pacingDelayMs: o.pacingDelayMs, hePid: he.child.pid! }) };
      windows.push(w);
      const r = w.roomcast as Record<string, unknown>;
      const p = w.libsrt as Record<string, unknown>;
      const x = w.oursBare as Record<string, unknown>;
      log(
        `srt: ${loss} %: headend lost ${String(r.lost)} retx ${String(r.retransmitted)} dropped ${String(r.droppedTooLate)} CC ${String(r.ccErrors)} e2e p50 ${String(r.e2eP50Ms)} ms cpu ${String(r.dataPlaneCpuPct)}% (thread) | ` +
          `ours-bare lost ${String(x.lost)} retx ${String(x.retransmitted)} dropped ${String(x.droppedTooLate)} CC ${String(x.ccErrors)} e2e p50 ${String(x.e2eP50Ms)} ms cpu ${String(x.cpuPct)}% | ` +
          `libsrt lost ${String(p.lost)} retx ${String(p.retransmitted)} dropped ${String(p.droppedTooLate)} CC ${String(p.ccErrors)} e2e p50 ${String(p.e2eP50Ms)} ms cpu ${String(p.cpuPct)}%`,
      );
    }
    // The headend's log (warn and up) for the report.
    const heLog = (heOut() + he.err())
      .split('\n')
      .filter((l) => l.trim() !== '')
      .slice(-6);
    recv.child.stdin!.write('exit\n');
    let stamperStop = '{}';
    if (stamper.child.exitCode === null) {
      stamper.child.kill('SIGTERM');
      stamperStop = await stamperOut((l) => l.startsWith('{'), 5000, 'stamper counters').catch(() => '{}');
    }
    // ours-bare's own last word: its cumulative counters, on SIGTERM.
    let bareStop = '{}';
    if (bare.child.exitCode === null && bare.child.signalCode === null) {
      bare.child.kill('SIGTERM');
      bareStop = await bareOut((l) => l.startsWith('{"type":"final"'), 5000, 'srt-bare-rx final stats').catch(() => '{}');
    }
    const stops: Record<string, string> = {};
    for (const p of [...procs].reverse()) stops[p.name] = await stopChild(p.child, STOP_TIMEOUT_MS);
    return {
      name: 'srt',
      input: `${source} (${SOURCE_SECONDS} s H.264 720p25 GOP 50 ~5 Mbit/s + AAC), looped live by ffmpeg -re -c copy -muxrate ${MUXRATE_BPS / 1e6} Mbit/s; null packets → stamps (PID 0x1FF0, declared in the PMT as stream_type 0x06)`,
      network: `tx → rx over one veth pair; relay ${o.rttMs / 2} ms each way (RTT ${o.rttMs} ms); nftables random drop both ways on tx eth0, per path (3 paths)`,
      versions: {
        libsrt: version('srt-live-transmit', ['-version'], /SRT Library version: (\S+)/),
        ffmpeg: version('ffmpeg', ['-version'], /ffmpeg version (\S+)/),
        node: process.version,
      },
      config: { ...o, srtChunkBytes: SRT_CHUNK_BYTES, headendFcc: false, cores: Number(execFileSync('nproc', { timeout: 5000 }).toString().trim()) || 1 },
      method: {
        counters: 'each receiver\'s own: headend status.json channels[0].input.source.srtPackets* (1-s snapshots, window ± ~1 s), libsrt -f -pf json stats (cumulative, every 100 packets); overhead = retransmitted ÷ received',
        unrecovered: 'dropped too late (the receiver\'s counter, SRT packets) + TS CC errors at its output (core/mpegts/inspector.ts in the receiver role); stamp packets missing at the output as an exact cross-check',
        e2e: 'CLOCK_MONOTONIC at the receiver role − stamp written by the stamper before the libsrt senders (every replaced null packet, known by content on whatever PID it comes out); the headend\'s includes pacingDelayMs and the PCR re-timing',
        cpu:
          'utime+stime ÷ wall over the window (100 % = one core) ÷ Mbit/s of SRT payload received: srt-live-transmit and ours-bare, their TS out (all they received); ' +
          'the headend, its SRT input (status.json input.bytes; its output is the remuxed program). srt-live-transmit and ours-bare: whole process (the target: ours-bare ÷ libsrt); ' +
          'headend: whole process and its busiest non-main thread (the data-plane worker, which also inspects and remuxes the TS, paces by PCR and packs RTP)',
        oursBare: `bench/srt-bare-rx.ts: headend/dataplane/srt.ts srtEndpoint() listener (stream id ${JSON.stringify(STREAM_ID)}, latency, 8 MiB receive buffer as the headend's) → one UDP datagram per payload to 127.0.0.1:${BARE_OUT_PORT}, as srt-live-transmit → udp://`,
      },
      targets: TARGET,
      windows,
      stamper: JSON.parse(stamperStop) as Record<string, unknown>,
      oursBareFinal: JSON.parse(bareStop) as Record<string, unknown>,
      headendLog: heLog,
      stops,
    };
  } finally {
    for (const p of [...procs].reverse()) {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    }
    await net.destroy();
    for (const sig of SIGNALS) process.off(sig, removeWork);
    removeWork();
  }
}

/* ---- report ---------------------------------------------------------------- */


/** Human-readable table of a {@link benchSrt} result. */
export function formatSrt(r: Record<string, unknown>): string {
  const lines: string[] = [];
  const cfg = r.config as Record<string, unknown>;
  const v = r.versions as Record<string, string>;
  lines.push(`srt: ${String(r.input)}`);
  lines.push(`  ${String(r.network)}; latency ${String(cfg.latencyMs)} ms on all ends; headend pacingDelayMs ${String(cfg.pacingDelayMs)}; libsrt ${v.libsrt}, ffmpeg ${v.ffmpeg}, node ${v.node}, ${String(cfg.cores)} cores`);
  lines.push('  receivers: headend = the product (SRT → TS inspection → output remux → PCR pacer → RTP); ours-bare = the same SRT receiver alone → UDP; libsrt = srt-live-transmit → UDP');
  const cols: [string, string, number][] = [
    ['loss', '', 5],
    ['receiver', '', 9],
    ['net drop%', 'netLoss', 10],
    ['received', 'received', 9],
    ['lost', 'lost', 6],
    ['retx', 'retransmitted', 6],
    ['ovh %', 'overheadPct', 6],
    ['snd ovh%', 'sndOverhead', 9],
    ['dropped', 'droppedTooLate', 8],
    ['CC err', 'ccErrors', 7],
    ['stamp miss', 'stampsMissing', 11],
    ['e2e p50', 'e2eP50Ms', 8],
    ['p99', 'e2eP99Ms', 7],
    ['max', 'e2eMaxMs', 7],
    ['RTT', 'rttMs', 5],
    ['Mbps', 'outputMbps', 6],
    ['CPU %', 'cpuPct', 6],
    ['%/Mbps', 'cpuPctPerMbps', 7],
  ];
  lines.push('  ' + cols.map(([h, , w], i) => (i < 2 ? h.padEnd(w) : h.padStart(w))).join(' '));
  const rows = [
    ['roomcast', 'headend'],
    ['oursBare', 'ours-bare'],
    ['libsrt', 'libsrt'],
  ] as const;
  for (const w of (r.windows as Record<string, unknown>[]) ?? []) {
    for (const [key, name] of rows) {
      const x = { ...((w[key] as Record<string, unknown> | undefined) ?? { error: 'not measured' }) };
      const net = x.network as { toReceiverPct: number; toSenderPct: number } | undefined;
      x.netLoss = net ? `${net.toReceiverPct}/${net.toSenderPct}` : '—';
      x.sndOverhead = (x.sender as { overheadPct: number } | null)?.overheadPct;
      if (key === 'roomcast') {
        // Its data-plane thread: SRT and also TS inspection, PCR pacing, RTP packing.
        x.cpuPct = `${String(x.dataPlaneCpuPct)}`;
        x.cpuPctPerMbps = `${String(x.dataPlaneCpuPctPerMbps)}`;
      }
      const first = key === 'roomcast' ? `${String(w.lossPct)} %` : '';
      if (x.error) {
        lines.push(`  ${first.padEnd(5)} ${name.padEnd(9)} FAILED: ${String(x.error)}`);
        continue;
      }
      lines.push('  ' + cols.map(([, k, wd], i) => (i === 0 ? first.padEnd(wd) : i === 1 ? name.padEnd(wd) : cell(x[k], wd))).join(' '));
    }
    const ra = w.ratios as Record<string, number | null>;
    const t = w.targets as Record<string, { target: string; value: unknown; met: boolean }>;
    const ours = w.roomcast as Record<string, unknown>;
    const prod = ours.product as Record<string, unknown> | undefined;
    lines.push(
      `        CPU/Mbps vs libsrt: ours-bare ${ra.cpuPerMbpsBare ?? '—'}× (whole process each, SRT in → UDP out: the target's figure); ` +
        `headend data-plane thread ${ra.cpuPerMbpsDataPlane ?? '—'}× (includes TS inspection, remux, PCR pacing, RTP packing), whole headend ${String(ours.cpuPct)} % → ${ra.cpuPerMbpsProcess ?? '—'}×`,
    );
    lines.push(
      `        ours/libsrt: overhead headend ${ra.overhead ?? '—'}×, ours-bare ${ra.bareOverhead ?? '—'}×; e2e p50 headend ${ra.e2eP50 ?? '—'}× ` +
        `(e2e − the ${String(cfg.pacingDelayMs)} ms pacing delay: p50 ${cell(ours.e2eMinusPacingP50Ms, 0)} ms, p99 ${cell(ours.e2eMinusPacingP99Ms, 0)} ms, ${ra.e2eMinusPacingP50 ?? '—'}×), ours-bare ${ra.bareE2eP50 ?? '—'}×`,
    );
    const stampPath = (key: string): string => {
      const x = w[key] as Record<string, unknown> | undefined;
      const pid = typeof x?.stampPid === 'number' && x.stampPid >= 0 ? `0x${x.stampPid.toString(16).padStart(4, '0')}` : 'none';
      const type = typeof x?.stampStreamType === 'number' && x.stampStreamType >= 0 ? `stream_type 0x${x.stampStreamType.toString(16).padStart(2, '0')}` : 'not in its PMT';
      return `${pid} (${type}${x?.stampsOtherPid ? `, ${String(x.stampsOtherPid)} look-alikes elsewhere` : ''})`;
    };
    lines.push(`        stamps out on PID: headend ${stampPath('roomcast')}, ours-bare ${stampPath('oursBare')}, libsrt ${stampPath('libsrt')}`);
    lines.push(`        targets: ${Object.entries(t).map(([k, x]) => `${k} ${String(x.value)} (${x.target}) ${x.met ? 'met' : 'MISSED'}`).join('; ')}`);
    if (prod) {
      lines.push(
        `        headend: ${Object.entries(prod).map(([k, x]) => `${k} ${String(x)}`).join(', ')}; SRT in ${String(ours.inputMbps)} Mbit/s, out ${String(ours.outputMbps)}; ` +
          `main thread ${String(ours.mainThreadCpuPct)} %, next busiest ${String(ours.nextBusiestThreadCpuPct)} %; ` +
          `CC at its input ${String(ours.ccErrorsAtInput)}`,
      );
    }
    lines.push(
      `        load: machine busy ${String(w.hostBusyPct)} % of ${String(cfg.cores)} cores, steal ${String(w.hostStealPct)} %; CPU % ` +
        Object.entries(w.processCpuPct as Record<string, number>)
          .map(([k, x]) => `${k} ${x}`)
          .join(', '),
    );
  }
  lines.push(
    '  (received/lost/retx/dropped: SRT packets of 1316 bytes, each receiver\'s own counters; ovh = retx ÷ received; snd ovh = its libsrt sender\'s retransmitted ÷ sent; net drop % = nftables to receiver / to sender;',
  );
  lines.push(
    '   CC err / stamp miss: at the receiver\'s TS output; e2e: stamp → output, ms (the headend\'s includes its pacing delay); RTT as the receiver reports it;',
  );
  lines.push(
    '   CPU %: one core = 100; headend = its data-plane thread (SRT + TS inspection + remux + PCR pacing + RTP packing), ours-bare and libsrt = whole process, the same job;',
  );
  lines.push(
    '   %/Mbps: CPU % ÷ the Mbit/s of SRT payload received — the headend\'s SRT input rate (status.json input.bytes: "SRT in" above), libsrt\'s and ours-bare\'s TS out, which is all they received)',
  );
  const st = r.stamper as Record<string, unknown> | undefined;
  if (st && Object.keys(st).length) lines.push(`  stamper (PCR pacing of the source, whole run): ${Object.entries(st).map(([k, x]) => `${k} ${String(x)}`).join(', ')}`);
  const hl = r.headendLog as string[] | undefined;
  if (hl?.length) lines.push(`  headend log: ${hl.join(' | ')}`);
  return lines.join('\n');
}

/* ---- command line ------------------------------------------------------------ */

async function cli(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string' },
      loss: { type: 'string' },
      rtt: { type: 'string' },
      latency: { type: 'string' },
      warmup: { type: 'string' },
      'pacing-delay': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const r = await benchSrt({
    seconds: values.seconds ? Number(values.seconds) : undefined,
    lossPct: values.loss ? values.loss.split(',').map(Number) : undefined,
    rttMs: values.rtt ? Number(values.rtt) : undefined,
    latencyMs: values.latency ? Number(values.latency) : undefined,
    warmupS: values.warmup ? Number(values.warmup) : undefined,
    pacingDelayMs: values['pacing-delay'] ? Number(values['pacing-delay']) : undefined,
  });
  console.log(formatSrt(r));
  if (values.json) console.log(JSON.stringify(r));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.includes('--receiver')) {
    await receiverMain(process.argv.slice(2));
  } else {
    await cli();
  }
}
