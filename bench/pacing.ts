/**
 * Benchmark: paced multicast output at 10 / 50 / 100 channels of 8 Mbit/s,
 * Roomcast vs. ffmpeg's own paced RTP output (STYLE.md §6: ratios against a
 * peer measured in the same run, never timed assertions).
 *
 * Input: one 8 Mbit/s CBR H.264 + AAC transport stream of ~10 s (1280x720
 * 25 fps testsrc2, libx264 ultrafast, GOP 50, -muxrate 8000000, PCR every
 * 20 ms), made once by ffmpeg into os.tmpdir().
 *
 * Network: two namespaces joined by a veth pair (bench/netns.ts). The sender
 * runs in `tx` (10.98.0.1), the receiver in `rx` (10.98.0.2).
 *
 * For each channel count N: a channels.yaml with N `file` channels of that
 * stream on 10.98.0.1 (239.255.N.k:5000, one worker), the built headend
 * started inside `tx`, ~3 s of warm-up after every channel reports `ok`, then
 * over the measurement window:
 *   - CPU of the headend process: utime + stime from /proc/PID/stat, delta ÷
 *     wall time (so 100 % = one core), per channel, and channels per fully
 *     used core = 100 / (CPU % per channel). Per-thread split too.
 *   - pacing lateness from status.json (the pacer's own histogram, one 1-s
 *     window per channel): median of the per-window p50, max of the
 *     per-window p99, the worst max.
 *   - RFC 4445 delay factor measured by a receiver process in `rx` (this very
 *     file run with `--receiver`) that joins a sample of at most 10 channels
 *     and timestamps each datagram on arrival; DF per 1-s interval per
 *     channel with core/rtp/delay-factor.ts at the channel's rate measured
 *     over the window (ffmpeg's rtp_mpegts remux drops the null packets, so
 *     its rate is not the file's 8 Mbit/s).
 * Before the runs, the schedule's own DF: the headend's FileLoopSource →
 * TsResync → PcrPacer on a simulated clock ticked exactly every 1 ms (no
 * runtime, no network), plain and with cbrBitrateKbps. It is the floor the
 * measured DF can reach; what the receiver sees above it is runtime.
 * Then the peer, for the same window: `ffmpeg -re -stream_loop -1 -i file
 * -c copy -f rtp_mpegts rtp://239.255.251.1:5000?localaddr=10.98.0.1&ttl=1`
 * received by the same receiver: its DF and its CPU per channel.
 *
 * Caveats, stated so the numbers are read right:
 *   - The kernel here has no IRQ time accounting (CONFIG_IRQ_TIME_ACCOUNTING
 *     off): softirq work, including the veth receive path that runs inline on
 *     the sender's send(), is charged to whichever task is on the CPU. The
 *     sender's CPU is an upper bound, for us and for ffmpeg alike.
 *   - The receiver timestamps in JavaScript ('message' events), not in the
 *     kernel: its own event-loop delays would show up as DF. It receives at
 *     most 10 × ~760 datagrams/s and reports its own CPU and its largest
 *     inter-arrival gap, so a starved receiver is visible. Cross-checked
 *     against kernel timestamps (tcpdump --time-stamp-precision=nano on rx's
 *     eth0, same channel, same seconds): the same DF within ~0.5 ms.
 *   - The machine is shared: the run reports machine-wide busy % and CPU
 *     pressure (PSI) for the window, and involuntary context switches per
 *     thread, so that contention from other processes is visible.
 *
 * Run: npm run build && node dist/bench/pacing.js [--channels 10,50,100]
 *      [--seconds 15] [--warmup 3] [--sample 10] [--no-peer] [--cbr] [--pin none|receiver|both]
 *      [--workers N] [--trace-gc] [--cpu-prof DIR] [--node-arg=--some-v8-flag …] [--json]
 * Needs root (network namespaces) and ffmpeg.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DelayFactorMeter } from '../core/rtp/delay-factor.js';
import { createRtpHeader, parseRtpHeader } from '../core/rtp/header.js';
import { TsResync } from '../core/mpegts/resync.js';
import type { ChannelSnapshot } from '../headend/dataplane/messages.js';
import { PcrPacer } from '../headend/dataplane/pacer.js';
import { FileLoopSource } from '../headend/dataplane/sources.js';
import { findFfmpeg } from '../headend/dataplane/ffmpeg.js';
import { cell } from './report.js';
import { lineWaiter, stopChild, tail } from './proc.js';
import { createBenchNet, type BenchNet } from './netns.js';

const SOURCE_SECONDS = 10;
export const MUXRATE_BPS = 8_000_000;
const PORT = 5000;
/** The peer's group: outside every 239.255.N.0/24 block a run of N ≤ 250 channels uses. */
const PEER_GROUP = '239.255.251.1';
const MAX_CHANNELS = 250;
/** NETLAB.md gotcha 6; the kernel caps it at net.core.rmem_max. */
const RECV_BUFFER_BYTES = 8 * 1024 * 1024;
/** Receiver storage per channel and second: ~760 datagrams/s at 8 Mbit/s, 5× headroom. */
const RECORD_PER_S = 4000;
const STATUS_POLL_MS = 250;
export const STOP_TIMEOUT_MS = 8000;
const TARGET = { channelsPerCore: 100, latenessP99Ms: 2, delayFactorMs: 8 } as const;

export const CPUS = (() => {
  try {
    return Number(execFileSync('nproc', { timeout: 5000 }).toString().trim()) || 1;
  } catch {
    return 1;
  }
})();
export type PinMode = 'none' | 'receiver' | 'both';
/** taskset prefixes: the receiver on the last CPU, the sender on the rest. */
function pinArgv(role: 'sender' | 'receiver', pin: PinMode): string[] {
  if (pin === 'none' || CPUS < 2 || (role === 'sender' && pin !== 'both')) return [];
  return ['taskset', '-c', role === 'receiver' ? String(CPUS - 1) : CPUS === 2 ? '0' : `0-${CPUS - 2}`];
}

const HEADEND_MAIN = fileURLToPath(new URL('../headend/main.js', import.meta.url));
const THIS_FILE = fileURLToPath(import.meta.url);

export interface PacingBenchOptions {
  /** Channel counts to run, each ≤ 250. Default 10, 50, 100. */
  channels?: number[];
  /** Measurement window per run, s. Default 15. */
  seconds?: number;
  /** After every channel reports `ok`, s. Default 3. */
  warmupS?: number;
  /** Channels the receiver joins per run (spread over the lineup). Default 10. */
  sample?: number;
  /** Measure ffmpeg too. Default true. */
  peer?: boolean;
  /** Run the headend with `node --cpu-prof` into this directory and summarise the profiles. */
  cpuProfDir?: string | null;
  /** Run the headend with `node --trace-gc` and report the GC pauses inside the window. */
  traceGc?: boolean;
  /**
   * CPU pinning with taskset. `receiver`: the receiver on the last CPU, the
   * sender free. `both`: also the sender (headend or ffmpeg) on the other
   * CPUs. `none`. Measured here (2 CPUs), pinning the whole headend to one
   * core made its lateness worse (its libuv pool and V8's GC helper threads
   * then preempt the data-plane thread: ~1150 involuntary switches/s at 100
   * channels against ~330 unpinned). Default `none`.
   */
  pin?: PinMode;
  /**
   * Give every channel `cbrBitrateKbps: 8000` (the pacer pads with null
   * packets up to the constant rate). Default false: the channels as the
   * issue describes them, plain looped files.
   */
  cbr?: boolean;
  /** headend.workers (data-plane threads). Default 1, as the issue asks. */
  workers?: number;
  /** Extra node flags for the headend process (e.g. `--max-semi-space-size=64`). */
  headendNodeArgs?: string[];
  /** Progress lines. Default: stderr. */
  log?: (line: string) => void;
}

/* ======================================================================== */
/* Receiver (this file run with --receiver, inside the rx namespace)         */
/* ======================================================================== */

interface ReceiverChannel {
  group: string;
  datagrams: number;
  payloadBytes: number;
  /** RTP sequence gaps (datagrams). */
  lost: number;
  /** Datagrams behind the expected sequence number (reordered or duplicate). */
  late: number;
  malformed: number;
  /** Arrivals beyond the receiver's fixed storage, not in the DF. */
  unrecorded: number;
  /** Media rate measured over the window, bit/s (RTP payload). */
  rateBps: number;
  /** DF of every full 1-s interval, ms. */
  dfMs: number[];
  maxGapMs: number;
}

export interface ReceiverResult {
  recvBufferBytes: number;
  windowMs: number;
  cpuPct: number;
  channels: ReceiverChannel[];
}

async function receiverMain(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      receiver: { type: 'boolean' },
      iface: { type: 'string' },
      port: { type: 'string' },
      groups: { type: 'string' },
      'max-seconds': { type: 'string' },
      'record-seconds': { type: 'string' },
    },
    strict: true,
  });
  const iface = values.iface ?? '';
  const port = Number(values.port);
  const groups = (values.groups ?? '').split(',').filter(Boolean);
  const maxSeconds = Number(values['max-seconds'] ?? 120);
  // Storage is per start…stop window; a window is at most the whole life.
  const recordSeconds = Math.min(maxSeconds, Number(values['record-seconds'] ?? maxSeconds));
  if (!iface || !Number.isInteger(port) || groups.length === 0 || !(maxSeconds > 0) || !(recordSeconds > 0)) {
    process.stderr.write('receiver: --iface, --port, --groups and --max-seconds are required\n');
    process.exit(2);
  }
  // Hard bound on the whole run, whatever the parent does.
  const deadline = setTimeout(() => {
    process.stderr.write(`receiver: no stop after ${maxSeconds} s, exiting\n`);
    process.exit(3);
  }, maxSeconds * 1000);

  const capacity = Math.ceil(recordSeconds * RECORD_PER_S);
  const hdr = createRtpHeader();
  let recording = false;
  const state = groups.map((group) => ({
    group,
    t: new Float64Array(capacity),
    size: new Uint16Array(capacity),
    n: 0,
    datagrams: 0,
    lost: 0,
    late: 0,
    malformed: 0,
    unrecorded: 0,
    lastSeq: -1,
  }));
  const sockets: dgram.Socket[] = [];
  await Promise.all(
    state.map(
      (st) =>
        new Promise<void>((resolve, reject) => {
          const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true, recvBufferSize: RECV_BUFFER_BYTES });
          sockets.push(sock);
          sock.once('error', reject);
          sock.on('message', (msg) => {
            if (!recording) return;
            const now = performance.now();
            st.datagrams++;
            if (parseRtpHeader(msg, msg.length, hdr) !== 0) {
              st.malformed++;
              return;
            }
            if (st.lastSeq >= 0) {
              const gap = (hdr.sequenceNumber - ((st.lastSeq + 1) & 0xffff)) & 0xffff;
              if (gap >= 0x8000) {
                st.late++;
                return;
              }
              st.lost += gap;
            }
            st.lastSeq = hdr.sequenceNumber;
            if (st.n >= capacity) {
              st.unrecorded++;
              return;
            }
            st.t[st.n] = now;
            st.size[st.n] = hdr.payloadLength;
            st.n++;
          });
          // NETLAB.md gotcha 3/4: bind to the group first, then join naming the interface.
          sock.bind({ address: st.group, port, exclusive: false }, () => {
            try {
              sock.addMembership(st.group, iface);
              resolve();
            } catch (e) {
              reject(e as Error);
            }
          });
        }),
    ),
  );
  const recvBufferBytes = sockets[0].getRecvBufferSize();
  process.stdout.write('ready\n');

  let t0 = 0;
  let cpu0 = process.cpuUsage();
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (line === 'start') {
      for (const st of state) {
        st.n = 0;
        st.datagrams = st.lost = st.late = st.malformed = st.unrecorded = 0;
        st.lastSeq = -1;
      }
      t0 = performance.now();
      cpu0 = process.cpuUsage();
      recording = true;
    } else if (line === 'stop') {
      // One window's result; the next `start` begins a new window (bench/admin-api.ts alternates phases).
      recording = false;
      const windowMs = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const result: ReceiverResult = {
        recvBufferBytes,
        windowMs: Math.round(windowMs),
        cpuPct: round(((cpu.user + cpu.system) / 1000 / windowMs) * 100, 2),
        channels: state.map((st) => analyse(st.group, st.t, st.size, st.n, st)),
      };
      process.stdout.write(JSON.stringify(result) + '\n');
    }
  });
  rl.on('close', () => {
    clearTimeout(deadline);
    for (const s of sockets) s.close();
    // Mid-window: the parent went away.
    process.stdout.write('', () => process.exit(recording ? 4 : 0));
  });
}

/** DF per full 1-s interval at the rate measured over the whole window (RFC 4445 §3.1). */
function analyse(
  group: string,
  t: Float64Array,
  size: Uint16Array,
  n: number,
  c: { datagrams: number; lost: number; late: number; malformed: number; unrecorded: number },
): ReceiverChannel {
  let bytes = 0;
  let maxGapMs = 0;
  for (let i = 0; i < n; i++) {
    bytes += size[i];
    if (i > 0 && t[i] - t[i - 1] > maxGapMs) maxGapMs = t[i] - t[i - 1];
  }
  const out: ReceiverChannel = {
    group,
    datagrams: c.datagrams,
    payloadBytes: bytes,
    lost: c.lost,
    late: c.late,
    malformed: c.malformed,
    unrecorded: c.unrecorded,
    rateBps: 0,
    dfMs: [],
    maxGapMs: round(maxGapMs, 2),
  };
  if (n < 2 || t[n - 1] <= t[0]) return out;
  // Bytes delivered between the first and the last arrival: all but the last datagram.
  const rateBps = ((bytes - size[n - 1]) * 8) / ((t[n - 1] - t[0]) / 1000);
  out.rateBps = Math.round(rateBps);
  const meter = new DelayFactorMeter({ mediaRateBps: rateBps });
  for (let i = 0; i < n; i++) {
    const df = meter.sample(t[i] * 1e6, size[i]);
    if (df >= 0) out.dfMs.push(round(df, 3));
  }
  // The interval still open at the end is partial: not reported (its DF would be smaller).
  return out;
}

/* ======================================================================== */
/* Orchestration                                                            */
/* ======================================================================== */

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export function max(xs: number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => (b > a ? b : a), -Infinity);
}

/** The cached 8 Mbit/s CBR source, made once by ffmpeg (atomically: a killed run leaves no half file). */
export function makeSource(log: (l: string) => void): string {
  const file = join(tmpdir(), `roomcast-bench-pacing-h264-8M-${SOURCE_SECONDS}s.ts`);
  if (existsSync(file) && statSync(file).size > (MUXRATE_BPS / 8) * SOURCE_SECONDS * 0.9) return file;
  const tmp = `${file}.${process.pid}.tmp`;
  // The headend's own lookup: PATH, else the optional @ffmpeg-installer/ffmpeg package.
  const ffmpeg = findFfmpeg() ?? 'ffmpeg';
  log(`pacing: making ${file} with ${ffmpeg}`);
  execFileSync(
    ffmpeg,
    [
      '-v', 'error', '-y',
      '-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=25:duration=${SOURCE_SECONDS}`,
      '-f', 'lavfi', '-i', `sine=frequency=1000:sample_rate=48000:duration=${SOURCE_SECONDS}`,
      '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '50', '-keyint_min', '50', '-sc_threshold', '0',
      '-b:v', '6M', '-maxrate', '6M', '-bufsize', '3M', '-x264-params', 'nal-hrd=cbr',
      '-c:a', 'aac', '-b:a', '128k',
      '-f', 'mpegts', '-muxrate', String(MUXRATE_BPS), '-pcr_period', '20', tmp,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 },
  );
  renameSync(tmp, file);
  return file;
}

/** utime + stime of a process (or one thread), seconds. */
function procCpuS(statPath: string): number {
  const s = readFileSync(statPath, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of proc(5); f[0] is field 3 (state).
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { timeout: 5000 }).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

function threadsCpu(pid: number): Map<string, { comm: string; cpuS: number; preempted: number }> {
  const out = new Map<string, { comm: string; cpuS: number; preempted: number }>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const s = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = s.slice(s.indexOf('(') + 1, s.lastIndexOf(')'));
      const st = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      const preempted = Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(st)?.[1] ?? 0);
      out.set(tid, { comm, cpuS: procCpuS(`/proc/${pid}/task/${tid}/stat`), preempted });
    } catch {
      /* the thread ended */
    }
  }
  return out;
}

/** Busy and total jiffies of the whole machine (/proc/stat). */
function hostCpu(): { busy: number; total: number; steal: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  // proc(5): user nice system idle iowait irq softirq steal. Steal is time
  // the hypervisor ran someone else while this VM wanted the CPU: on a shared
  // host it is the noise no setting of ours can remove.
  return { busy: total - v[3] - v[4], total, steal: v[7] };
}

/** /proc/pressure/cpu `some` total, µs; null without PSI. */
function cpuPressureUs(): number | null {
  try {
    const m = /^some .*total=(\d+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * GC pauses from `node --trace-gc` lines on the headend's stdout, e.g.
 * `[pid:0x55d0]  1234 ms: Scavenge 10.2 (12.3) -> 9.8 (12.3) MB, 1.23 / 0.00 ms  (…)`,
 * counted per isolate (main thread and worker are separate isolates) while `recording`.
 */
function gcWatcher(child: ChildProcess): { recording: boolean; summary(wallS: number): Record<string, unknown> } {
  const perIsolate = new Map<string, { count: number; totalMs: number; maxMs: number; over1Ms: number; kinds: Map<string, number> }>();
  const w = {
    recording: false,
    summary(wallS: number): Record<string, unknown> {
      return Object.fromEntries(
        [...perIsolate.entries()].map(([iso, v]) => [
          iso,
          { perS: round(v.count / wallS, 1), pauseMsPerS: round(v.totalMs / wallS, 2), maxPauseMs: round(v.maxMs, 2), pausesOver1Ms: v.over1Ms, kinds: Object.fromEntries(v.kinds) },
        ]),
      );
    },
  };
  if (!child.stdout) return w;
  const rl = createInterface({ input: child.stdout });
  rl.on('line', (line) => {
    if (!w.recording) return;
    const m = /^\[\d+:(0x[0-9a-f]+)\]\s+[\d.]+ ms: ([A-Za-z -]+?) [\d.]+ \([\d.]+\) -> [\d.]+ \([\d.]+\) MB, (?:pooled: [\d.]+ MB, )?([\d.]+) \/ [\d.]+ ms/.exec(line);
    if (!m) return;
    const [, iso, kind, ms] = m;
    const v = perIsolate.get(iso) ?? { count: 0, totalMs: 0, maxMs: 0, over1Ms: 0, kinds: new Map<string, number>() };
    perIsolate.set(iso, v);
    const p = Number(ms);
    v.count++;
    v.totalMs += p;
    if (p > v.maxMs) v.maxMs = p;
    if (p > 1) v.over1Ms++;
    v.kinds.set(kind, (v.kinds.get(kind) ?? 0) + 1);
  });
  return w;
}

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? round(Number(m[1]) / 1024, 1) : NaN;
  } catch {
    return NaN;
  }
}




export interface Receiver {
  child: ChildProcess;
  start(): void;
  stop(): Promise<ReceiverResult>;
}

/**
 * The receiver in `rx`, joined to `groups`, alive at most `maxSeconds`. Each
 * start() … stop() is one window (storage for at most `recordSeconds` of it).
 */
export async function startReceiver(net: BenchNet, groups: string[], maxSeconds: number, pin: PinMode, recordSeconds = maxSeconds): Promise<Receiver> {
  const child = net.spawn(
    net.rx,
    [
      ...pinArgv('receiver', pin), process.execPath, THIS_FILE, '--receiver', '--iface', net.rxAddress, '--port', String(PORT), '--groups', groups.join(','),
      '--max-seconds', String(Math.ceil(maxSeconds)), '--record-seconds', String(Math.ceil(recordSeconds)),
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const err = tail(child.stderr);
  const next = lineWaiter(child);
  try {
    await next((l) => l === 'ready', 10_000, 'receiver join');
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`${(e as Error).message}: ${err().trim()}`);
  }
  return {
    child,
    start: () => child.stdin!.write('start\n'),
    stop: async () => {
      child.stdin!.write('stop\n');
      try {
        return JSON.parse(await next((l) => l.startsWith('{'), 10_000, 'receiver result')) as ReceiverResult;
      } catch (e) {
        child.kill('SIGKILL');
        throw new Error(`${(e as Error).message}: ${err().trim()}`);
      }
    },
  };
}

export function summariseDf(r: ReceiverResult) {
  const all = r.channels.flatMap((c) => c.dfMs);
  return {
    dfWorstMs: round(max(all), 2),
    dfMedianMs: round(median(all), 2),
    dfIntervals: all.length,
    sampledChannels: r.channels.length,
    rxDatagrams: r.channels.reduce((a, c) => a + c.datagrams, 0),
    rxLost: r.channels.reduce((a, c) => a + c.lost, 0),
    rxLate: r.channels.reduce((a, c) => a + c.late, 0),
    rxMalformed: r.channels.reduce((a, c) => a + c.malformed, 0),
    rxRateMbpsMin: round(Math.min(...r.channels.map((c) => c.rateBps)) / 1e6, 3),
    rxRateMbpsMax: round(Math.max(...r.channels.map((c) => c.rateBps)) / 1e6, 3),
    rxMaxGapMs: round(max(r.channels.map((c) => c.maxGapMs)), 2),
    receiverCpuPct: r.cpuPct,
    receiverBufferBytes: r.recvBufferBytes,
    /** Worst DF per sampled channel, ms. */
    dfWorstPerChannelMs: r.channels.map((c) => round(max(c.dfMs), 2)),
  };
}

async function readStatus(file: string): Promise<ChannelSnapshot[] | null> {
  try {
    const j = JSON.parse(await readFile(file, 'utf8')) as { channels?: ChannelSnapshot[] };
    return Array.isArray(j.channels) ? j.channels : null;
  } catch {
    return null; // not written yet
  }
}

export function groupOf(n: number, k: number): string {
  return `239.255.${n}.${k}`;
}

/**
 * N enabled `file` channels on 239.255.N.k:5000, then `extra.disabled`
 * channels with `enabled: false` (in the store and the API, not on the air;
 * numbered from 1001 on 239.254.x.y so that no group:port is shared).
 */
export function lineupYaml(n: number, iface: string, file: string, cbr: boolean, workers: number, extra: { disabled?: number; httpPort?: number; by?: string } = {}): string {
  const lines = [
    `# Written by ${extra.by ?? 'bench/pacing.ts'}`,
    'headend:',
    `  interface: ${iface}`,
    '  ttl: 1',
    `  workers: ${workers}`,
    '  healthIntervalS: 3600',
    ...(extra.httpPort !== undefined ? [`  httpPort: ${extra.httpPort}`] : []),
    'channels:',
  ];
  for (let k = 1; k <= n; k++) {
    lines.push(
      `  - number: ${k}`,
      `    name: Bench ${k}`,
      `    multicast: { group: ${groupOf(n, k)}, port: ${PORT} }`,
      `    source: { type: file, path: ${JSON.stringify(file)} }`,
    );
    if (cbr) lines.push(`    cbrBitrateKbps: ${MUXRATE_BPS / 1000}`);
  }
  for (let j = 0; j < (extra.disabled ?? 0); j++) {
    lines.push(
      `  - number: ${1001 + j}`,
      `    name: Off ${1001 + j}`,
      `    group: ${['News', 'Sports', 'Movies', 'Kids', 'Music'][j % 5]}`,
      '    enabled: false',
      `    multicast: { group: 239.254.${1 + Math.floor(j / 200)}.${1 + (j % 200)}, port: ${PORT} }`,
      `    source: { type: file, path: ${JSON.stringify(file)} }`,
    );
    if (cbr) lines.push(`    cbrBitrateKbps: ${MUXRATE_BPS / 1000}`);
  }
  return lines.join('\n') + '\n';
}

/** Up to `sample` channel numbers spread evenly over 1..n. */
export function sampleChannels(n: number, sample: number): number[] {
  const m = Math.min(n, sample);
  const out = new Set<number>();
  for (let i = 0; i < m; i++) out.add(1 + Math.floor((i * n) / m));
  return [...out];
}

interface CounterTotals {
  datagrams: number;
  bytes: number;
  overflowPackets: number;
  reanchors: number;
  lateDatagrams: number;
  sendErrors: number;
  restarts: number;
  ccErrors: number;
}

function totals(s: ChannelSnapshot[]): CounterTotals {
  const t: CounterTotals = { datagrams: 0, bytes: 0, overflowPackets: 0, reanchors: 0, lateDatagrams: 0, sendErrors: 0, restarts: 0, ccErrors: 0 };
  for (const c of s) {
    t.datagrams += c.output.datagrams;
    t.bytes += c.output.bytes;
    t.overflowPackets += c.output.overflowPackets;
    t.reanchors += c.output.reanchors;
    t.lateDatagrams += c.output.lateDatagrams;
    t.sendErrors += c.output.sendErrors;
    t.restarts += c.input.restarts;
    t.ccErrors += c.tr101290.ccErrors ?? 0;
  }
  return t;
}

/** Per-channel rates between two snapshots, summed (each worker has its own clock). */
function rates(s0: ChannelSnapshot[], s1: ChannelSnapshot[]): { datagramsPerS: number; bps: number } {
  const before = new Map(s0.map((c) => [c.number, c]));
  let dps = 0;
  let bps = 0;
  for (const c of s1) {
    const b = before.get(c.number);
    if (!b || c.atMs <= b.atMs) continue;
    const dt = (c.atMs - b.atMs) / 1000;
    dps += (c.output.datagrams - b.output.datagrams) / dt;
    bps += ((c.output.bytes - b.output.bytes) * 8) / dt;
  }
  return { datagramsPerS: Math.round(dps), bps };
}

export interface HeadendRun extends Record<string, unknown> {
  channels: number;
}

/** The built headend running in `tx`, up (every channel `ok` and sending, or the bound passed). */
export interface BenchHeadend {
  child: ChildProcess;
  pid: number;
  /** From spawn until every channel was up (or the bound passed), ms. */
  upAfterMs: number;
  /** null while it runs; else how it ended, with the end of its output. */
  died(): string | null;
  /** The end of what it printed on stdout and stderr. */
  output(): string;
  gc: ReturnType<typeof gcWatcher>;
}

/**
 * Start the built headend in `tx` on `configFile` and wait until each of its
 * `channels` enabled channels reports `ok` and has sent (bounded: 20 s +
 * 200 ms per channel, then it measures anyway and says so). Stops it if it
 * fails on the way.
 */
export async function startBenchHeadend(
  net: BenchNet,
  o: {
    channels: number;
    configFile: string;
    dataDir: string;
    nodeFlags: string[];
    pin: PinMode;
    env?: NodeJS.ProcessEnv;
    args?: string[];
    log: (l: string) => void;
    label: string;
  },
): Promise<BenchHeadend> {
  const child = net.spawn(
    net.tx,
    [...pinArgv('sender', o.pin), process.execPath, ...o.nodeFlags, HEADEND_MAIN, '--config', o.configFile, '--data', o.dataDir, '--log-level', 'warn', ...(o.args ?? [])],
    { stdio: ['ignore', 'pipe', 'pipe'], ...(o.env ? { env: o.env } : {}) },
  );
  const out = tail(child.stdout);
  const err = tail(child.stderr);
  const gc = gcWatcher(child);
  const died = (): string | null =>
    child.exitCode !== null || child.signalCode !== null ? `headend exited (${child.exitCode ?? child.signalCode}): ${err().trim() || out().trim()}` : null;
  const statusFile = join(o.dataDir, 'status.json');
  const n = o.channels;
  try {
    const spawnedAt = Date.now();
    const upBy = spawnedAt + 20_000 + n * 200;
    let snap: ChannelSnapshot[] | null = null;
    for (;;) {
      const d = died();
      if (d) throw new Error(d);
      snap = await readStatus(statusFile);
      if (snap && snap.length === n && snap.every((c) => c.state === 'ok' && c.output.datagrams > 0)) break;
      if (Date.now() > upBy) {
        const notOk = snap ? snap.filter((c) => c.state !== 'ok').map((c) => `${c.number}:${c.state}`) : ['no status.json'];
        o.log(`${o.label}: ${n} channels: not all ok after ${Math.round((Date.now() - spawnedAt) / 1000)} s (${notOk.slice(0, 10).join(' ')}); measuring anyway`);
        break;
      }
      await sleep(200);
    }
    return { child, pid: child.pid!, upAfterMs: Date.now() - spawnedAt, died, output: () => out() + err(), gc };
  } catch (e) {
    await stopChild(child, STOP_TIMEOUT_MS);
    throw e;
  }
}

/** One channel's 1-s lateness window from status.json (the pacer's own histogram). */
export interface LatenessWindow {
  number: number;
  p50: number;
  p99: number;
  max: number;
}

export interface ThreadCpu {
  tid: string;
  comm: string;
  main: boolean;
  cpuPct: number;
  preemptPerS: number;
}

/** What {@link measureWindow} sees of the headend over one window. */
export interface WindowMeasure {
  wallS: number;
  /** The whole process, 100 % = one core. */
  cpuPct: number;
  /** Every thread that ran, busiest first. */
  threads: ThreadCpu[];
  hostBusyPct: number;
  hostStealPct: number;
  cpuPressureSomePct: number | null;
  rssMb: number;
  datagramsPerS: number;
  outputMbps: number;
  /** The per-channel 1-s windows first seen in status.json during the window. */
  windows: LatenessWindow[];
  latenessP50MedianMs: number;
  latenessP99MedianMs: number;
  latenessP99MaxMs: number;
  latenessMaxMs: number;
  windowsP99Over2Ms: number;
  counters: Record<string, number>;
}

/**
 * Measure the running headend for `seconds`: CPU of the process and of each
 * thread, the machine's busy / steal / CPU pressure, output rates, and the
 * lateness windows that appear in status.json meanwhile (polled every
 * 250 ms; a window is counted once, by channel and worker timestamp).
 * `hooks.start` runs right after the counters are read at the start (the
 * receiver's start), `hooks.stop` right before they are read at the end.
 */
export async function measureWindow(
  h: { pid: number; died(): string | null },
  statusFile: string,
  seconds: number,
  hooks: { start?: () => void; stop?: () => void } = {},
): Promise<WindowMeasure> {
  const pid = h.pid;
  const seen = new Set<string>();
  const s0 = (await readStatus(statusFile)) ?? [];
  for (const c of s0) seen.add(`${c.number}@${c.atMs}`);
  const th0 = threadsCpu(pid);
  const host0 = hostCpu();
  const psi0 = cpuPressureUs();
  const cpu0 = procCpuS(`/proc/${pid}/stat`);
  const t0 = performance.now();
  hooks.start?.();
  const windows: LatenessWindow[] = [];
  const notOkSeen = new Set<number>();
  let last = s0;
  const endAt = t0 + seconds * 1000;
  while (performance.now() < endAt) {
    await sleep(Math.min(STATUS_POLL_MS, Math.max(1, endAt - performance.now())));
    const d = h.died();
    if (d) throw new Error(d);
    const s = await readStatus(statusFile);
    if (!s) continue;
    last = s;
    for (const c of s) {
      const key = `${c.number}@${c.atMs}`;
      if (seen.has(key)) continue;
      seen.add(key);
      windows.push({ number: c.number, p50: c.output.latenessP50Ms, p99: c.output.latenessP99Ms, max: c.output.latenessMaxMs });
      if (c.state !== 'ok') notOkSeen.add(c.number);
    }
  }
  hooks.stop?.();
  const wallS = (performance.now() - t0) / 1000;
  const cpuS = procCpuS(`/proc/${pid}/stat`) - cpu0;
  const psi1 = cpuPressureUs();
  const host1 = hostCpu();
  const th1 = threadsCpu(pid);
  const rss = rssMb(pid);

  const threads = [...th1.entries()]
    .map(([tid, v]) => ({
      tid,
      comm: v.comm,
      main: tid === String(pid),
      cpuPct: round(((v.cpuS - (th0.get(tid)?.cpuS ?? 0)) / wallS) * 100, 1),
      /** Involuntary context switches per second: the thread was runnable and preempted. */
      preemptPerS: round((v.preempted - (th0.get(tid)?.preempted ?? 0)) / wallS, 1),
    }))
    .filter((x) => x.cpuPct > 0)
    .sort((a, b) => b.cpuPct - a.cpuPct);
  const c0 = totals(s0);
  const c1 = totals(last);
  const r = rates(s0, last);
  const p99s = windows.map((w) => w.p99);
  return {
    wallS,
    cpuPct: (cpuS / wallS) * 100,
    threads,
    /** Whole machine, 100 % = every core busy. */
    hostBusyPct: round(((host1.busy - host0.busy) / (host1.total - host0.total)) * 100, 1),
    /** Hypervisor steal, % of all cores' time in the window. */
    hostStealPct: round(((host1.steal - host0.steal) / (host1.total - host0.total)) * 100, 1),
    /** PSI: share of the window in which some runnable task waited for a CPU (machine-wide). */
    cpuPressureSomePct: psi0 !== null && psi1 !== null ? round(((psi1 - psi0) / 1e6 / wallS) * 100, 1) : null,
    rssMb: rss,
    datagramsPerS: r.datagramsPerS,
    outputMbps: round(r.bps / 1e6, 1),
    windows,
    latenessP50MedianMs: round(median(windows.map((w) => w.p50)), 2),
    latenessP99MedianMs: round(median(p99s), 2),
    latenessP99MaxMs: round(max(p99s), 2),
    latenessMaxMs: round(max(windows.map((w) => w.max)), 2),
    windowsP99Over2Ms: p99s.filter((x) => x > TARGET.latenessP99Ms).length,
    counters: {
      overflowPackets: c1.overflowPackets - c0.overflowPackets,
      reanchors: c1.reanchors - c0.reanchors,
      lateDatagrams: c1.lateDatagrams - c0.lateDatagrams,
      sendErrors: c1.sendErrors - c0.sendErrors,
      restarts: c1.restarts - c0.restarts,
      ccErrors: c1.ccErrors - c0.ccErrors,
      channelsNotOk: notOkSeen.size,
    },
  };
}

/** The headend's own log lines (warn and up), not --trace-gc's. */
export function headendLogTail(output: string, lines = 5): string[] {
  return output
    .split('\n')
    .filter((l) => l.trim() !== '' && !/^\[\d+:0x/.test(l))
    .slice(-lines);
}

async function runHeadend(
  net: BenchNet,
  file: string,
  n: number,
  o: Required<Omit<PacingBenchOptions, 'log' | 'cpuProfDir'>> & { cpuProfDir: string | null; log: (l: string) => void },
): Promise<HeadendRun> {
  const dataDir = await mkdtemp(join(tmpdir(), `roomcast-bench-pacing-${n}-`));
  const configFile = join(dataDir, 'channels.yaml');
  const statusFile = join(dataDir, 'status.json');
  await writeFile(configFile, lineupYaml(n, net.txAddress, file, o.cbr, o.workers));
  const sampled = sampleChannels(n, o.sample);
  let headend: ChildProcess | null = null;
  let receiver: Receiver | null = null;
  try {
    receiver = await startReceiver(net, sampled.map((k) => groupOf(n, k)), o.seconds + o.warmupS + 120, o.pin);
    const rcv = receiver;
    const nodeFlags = o.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', join(o.cpuProfDir, `ch${n}`)] : [];
    if (o.traceGc) nodeFlags.push('--trace-gc');
    nodeFlags.push(...o.headendNodeArgs);
    const h = await startBenchHeadend(net, { channels: n, configFile, dataDir, nodeFlags, pin: o.pin, log: o.log, label: 'pacing' });
    headend = h.child;
    await sleep(o.warmupS * 1000);

    // The window.
    const rx: { result?: Promise<ReceiverResult> } = {};
    const m = await measureWindow(h, statusFile, o.seconds, {
      start: () => {
        rcv.start();
        h.gc.recording = true;
      },
      stop: () => {
        rx.result = rcv.stop();
        h.gc.recording = false;
      },
    });
    const rxResult = await rx.result!;
    const perCh = m.cpuPct / n;
    const result: HeadendRun = {
      channels: n,
      upAfterMs: h.upAfterMs,
      windowS: round(m.wallS, 2),
      cpuPct: round(m.cpuPct, 1),
      cpuPctPerChannel: round(perCh, 3),
      channelsPerCore: Math.round(100 / perCh),
      threads: m.threads.slice(0, 6),
      hostBusyPct: m.hostBusyPct,
      hostStealPct: m.hostStealPct,
      cpuPressureSomePct: m.cpuPressureSomePct,
      ...(o.traceGc ? { gc: h.gc.summary(m.wallS) } : {}),
      rssMb: m.rssMb,
      datagramsPerS: m.datagramsPerS,
      outputMbps: m.outputMbps,
      latenessWindows: m.windows.length,
      latenessP50MedianMs: m.latenessP50MedianMs,
      latenessP99MedianMs: m.latenessP99MedianMs,
      latenessP99MaxMs: m.latenessP99MaxMs,
      latenessMaxMs: m.latenessMaxMs,
      windowsP99Over2Ms: m.windowsP99Over2Ms,
      ...summariseDf(rxResult),
      counters: m.counters,
      headendLogTail: headendLogTail(h.output()),
    };
    const stopped = await stopChild(headend, STOP_TIMEOUT_MS);
    result.headendStop = stopped;
    headend = null;
    o.log(
      `pacing: ${n} ch: cpu ${result.cpuPct}% (${result.cpuPctPerChannel}%/ch), ${result.datagramsPerS} dgram/s, ` +
        `late p50 ${result.latenessP50MedianMs} p99 ${result.latenessP99MaxMs} max ${result.latenessMaxMs} ms, DF worst ${result.dfWorstMs} median ${result.dfMedianMs} ms`,
    );
    return result;
  } finally {
    if (headend) await stopChild(headend, STOP_TIMEOUT_MS);
    if (receiver) receiver.child.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function runPeer(net: BenchNet, file: string, o: { seconds: number; warmupS: number; pin: PinMode; log: (l: string) => void }): Promise<Record<string, unknown>> {
  let ff: ChildProcess | null = null;
  let receiver: Receiver | null = null;
  try {
    receiver = await startReceiver(net, [PEER_GROUP], o.seconds + o.warmupS + 120, o.pin);
    const url = `rtp://${PEER_GROUP}:${PORT}?localaddr=${net.txAddress}&ttl=1`;
    const argv = ['ffmpeg', '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error', '-re', '-stream_loop', '-1', '-i', file, '-c', 'copy', '-f', 'rtp_mpegts', url];
    ff = net.spawn(net.tx, [...pinArgv('sender', o.pin), ...argv], { stdio: ['ignore', 'ignore', 'pipe'] });
    const err = tail(ff.stderr);
    const pid = ff.pid!;
    const fp = ff;
    const died = (): string | null => (fp.exitCode !== null || fp.signalCode !== null ? `ffmpeg exited (${fp.exitCode ?? fp.signalCode}): ${err().trim()}` : null);
    await sleep(o.warmupS * 1000);
    if (died()) throw new Error(died()!);
    const cpu0 = procCpuS(`/proc/${pid}/stat`);
    const t0 = performance.now();
    receiver.start();
    await sleep(o.seconds * 1000);
    const rx = receiver.stop();
    const wallS = (performance.now() - t0) / 1000;
    const cpuS = procCpuS(`/proc/${pid}/stat`) - cpu0;
    const rxResult = await rx;
    const cpuPct = (cpuS / wallS) * 100;
    const df = summariseDf(rxResult);
    const result: Record<string, unknown> = {
      peer: `ffmpeg ${ffmpegVersion()} ${argv.slice(1).join(' ')}`,
      channels: 1,
      windowS: round(wallS, 2),
      cpuPct: round(cpuPct, 2),
      cpuPctPerChannel: round(cpuPct, 3),
      channelsPerCore: Math.round(100 / cpuPct),
      rssMb: rssMb(pid),
      datagramsPerS: Math.round(df.rxDatagrams / wallS),
      outputMbps: round(df.rxRateMbpsMax, 2),
      ...df,
    };
    result.ffmpegStop = await stopChild(ff, STOP_TIMEOUT_MS);
    ff = null;
    o.log(`pacing: ffmpeg peer: cpu ${result.cpuPct}%, DF worst ${df.dfWorstMs} median ${df.dfMedianMs} ms`);
    return result;
  } finally {
    if (ff) await stopChild(ff, STOP_TIMEOUT_MS);
    if (receiver) receiver.child.kill('SIGKILL');
  }
}

function ffmpegVersion(): string {
  try {
    return /ffmpeg version (\S+)/.exec(execFileSync('ffmpeg', ['-version'], { timeout: 5000 }).toString())?.[1] ?? '?';
  } catch {
    return '?';
  }
}

/* ---- CPU profile summary (--cpu-prof) ----------------------------------- */

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Self time by function across every .cpuprofile in `dir` (one per thread), top `top`. */
export function summariseCpuProfiles(dir: string, top = 20): { file: string; totalMs: number; top: { fn: string; selfPct: number }[] }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => {
      const p = JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile;
      const byId = new Map(p.nodes.map((n) => [n.id, n]));
      const self = new Map<string, number>();
      let total = 0;
      for (let i = 0; i < p.samples.length; i++) {
        const n = byId.get(p.samples[i]);
        const dt = p.timeDeltas[i] ?? 0;
        if (!n) continue;
        total += dt;
        const cf = n.callFrame;
        const where = cf.url ? `${cf.url.replace(/^.*\/dist\//, '')}:${cf.lineNumber + 1}` : '';
        const key = `${cf.functionName || '(anonymous)'} ${where}`.trim();
        self.set(key, (self.get(key) ?? 0) + dt);
      }
      const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
      return { file: f, totalMs: Math.round(total / 1000), top: rows.map(([fn, us]) => ({ fn, selfPct: round((us / total) * 100, 1) })) };
    })
    .sort((a, b) => b.totalMs - a.totalMs);
}

/* ---- the schedule's own DF (no runtime, no network) ------------------------ */

/**
 * RFC 4445 DF of the send schedule the headend's own code computes for the
 * file, on a simulated clock: the real FileLoopSource (loop + restamp) →
 * TsResync → PcrPacer, ticked exactly every 1 ms as the design's scheduler
 * would be on an idle machine. This is the floor the measured DF can reach;
 * the difference to the measured DF is runtime (timer, GC, CPU contention).
 */
export async function scheduleDelayFactor(file: string, opts: { seconds?: number; cbrBitrateBps?: number | null } = {}) {
  const seconds = opts.seconds ?? 32;
  const tickMs = 1;
  let now = 1000;
  const sendAt: number[] = [];
  const pacer = new PcrPacer({
    transport: 'rtp',
    sink: {
      send(_buf, done) {
        sendAt.push(now);
        done?.();
      },
    },
    delayMs: 250,
    cbrBitrateBps: opts.cbrBitrateBps ?? null,
    ssrc: 1,
    initialSequenceNumber: 0,
    live: false,
  });
  const resync = new TsResync({
    writePackets: (buf: Buffer, off: number, count: number) => pacer.writePackets(buf, off, count, now),
    discontinuity: () => pacer.discontinuity(),
  });
  const end = now + seconds * 1000;
  const ac = new AbortController();
  const source = new FileLoopSource({ type: 'file', path: file, stallMs: 3000 });
  await source
    .run(
      {
        data: (chunk) => resync.push(chunk),
        discontinuity: () => pacer.discontinuity(),
        // The simulated clock runs while the pacer has enough queued: the
        // source reads exactly when the real one would.
        wantsMore: () => {
          while (!pacer.wantsMore(now) && now < end) {
            now += tickMs;
            pacer.tick(now);
          }
          if (now >= end) ac.abort();
          return now < end;
        },
        event: () => undefined,
      },
      ac.signal,
    )
    .catch((e: Error) => {
      throw new Error(`schedule simulation: ${e.message}`);
    });
  // Skip the first second (start-up) and the last, partial one.
  const t = sendAt.filter((x) => x >= 2250);
  const payload = 7 * 188;
  if (t.length < 2) return { dfWorstMs: NaN, dfMedianMs: NaN, dfMs: [] as number[] };
  const rate = ((t.length - 1) * payload * 8) / ((t[t.length - 1] - t[0]) / 1000);
  const meter = new DelayFactorMeter({ mediaRateBps: rate });
  const dfMs: number[] = [];
  for (const x of t) {
    const df = meter.sample(x * 1e6, payload);
    if (df >= 0) dfMs.push(round(df, 2));
  }
  return { dfWorstMs: round(max(dfMs), 2), dfMedianMs: round(median(dfMs), 2), dfMs, tickMs, reanchors: pacer.counters.reanchors, nullPackets: pacer.counters.nullPacketsInserted };
}

/* ---- the benchmark -------------------------------------------------------- */

export async function benchPacing(opts: PacingBenchOptions = {}): Promise<Record<string, unknown>> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const o = {
    channels: opts.channels ?? [10, 50, 100],
    seconds: opts.seconds ?? 15,
    warmupS: opts.warmupS ?? 3,
    sample: opts.sample ?? 10,
    peer: opts.peer ?? true,
    cpuProfDir: opts.cpuProfDir ?? null,
    traceGc: opts.traceGc ?? false,
    pin: opts.pin ?? 'none',
    cbr: opts.cbr ?? false,
    workers: opts.workers ?? 1,
    headendNodeArgs: opts.headendNodeArgs ?? [],
    log,
  };
  for (const n of o.channels) {
    if (!Number.isInteger(n) || n < 1 || n > MAX_CHANNELS) throw new RangeError(`channels: ${n} is not an integer in 1..${MAX_CHANNELS}`);
  }
  if (!(o.seconds >= 2 && o.seconds <= 300)) throw new RangeError(`seconds: ${o.seconds} is not in 2..300`);
  if (!(o.warmupS >= 0 && o.warmupS <= 60)) throw new RangeError(`warmup: ${o.warmupS} is not in 0..60`);
  if (!Number.isInteger(o.sample) || o.sample < 1 || o.sample > 20) throw new RangeError(`sample: ${o.sample} is not in 1..20`);
  if (!Number.isInteger(o.workers) || o.workers < 1 || o.workers > CPUS) throw new RangeError(`workers: ${o.workers} is not in 1..${CPUS}`);
  if (!['none', 'receiver', 'both'].includes(o.pin)) throw new RangeError(`pin: ${o.pin} is not none, receiver or both`);

  const file = makeSource(log);
  // The schedule's own DF, plain and with CBR stuffing: what a perfect 1 ms timer would send.
  const schedule = {
    plain: await scheduleDelayFactor(file),
    cbr: await scheduleDelayFactor(file, { cbrBitrateBps: MUXRATE_BPS }),
  };
  log(`pacing: schedule DF (simulated 1 ms ticks): plain worst ${schedule.plain.dfWorstMs} median ${schedule.plain.dfMedianMs} ms; cbr worst ${schedule.cbr.dfWorstMs} median ${schedule.cbr.dfMedianMs} ms`);
  const net = await createBenchNet();
  const runs: Record<string, unknown>[] = [];
  let peer: Record<string, unknown> | null = null;
  try {
    for (const n of o.channels) {
      log(`pacing: ${n} channels, ${o.warmupS} s warm-up + ${o.seconds} s window`);
      try {
        runs.push(await runHeadend(net, file, n, o));
      } catch (e) {
        log(`pacing: ${n} channels failed: ${(e as Error).message}`);
        runs.push({ channels: n, error: (e as Error).message });
      }
    }
    if (o.peer) {
      log(`pacing: ffmpeg peer, ${o.warmupS} s warm-up + ${o.seconds} s window`);
      try {
        peer = await runPeer(net, file, o);
      } catch (e) {
        log(`pacing: ffmpeg peer failed: ${(e as Error).message}`);
        peer = { error: (e as Error).message };
      }
    }
  } finally {
    await net.destroy();
  }

  const peerDf = typeof peer?.dfWorstMs === 'number' ? peer.dfWorstMs : NaN;
  const peerCpu = typeof peer?.cpuPctPerChannel === 'number' ? peer.cpuPctPerChannel : NaN;
  for (const r of runs) {
    if (r.error) continue;
    const df = r.dfWorstMs as number;
    const cpu = r.cpuPctPerChannel as number;
    r.ratios = {
      dfWorstVsFfmpeg: Number.isFinite(peerDf) ? round(df / peerDf, 3) : null,
      cpuPerChannelVsFfmpeg: Number.isFinite(peerCpu) ? round(cpu / peerCpu, 2) : null,
    };
    r.targets = {
      channelsPerCore: { target: `>= ${TARGET.channelsPerCore}`, value: r.channelsPerCore, met: (r.channelsPerCore as number) >= TARGET.channelsPerCore },
      latenessP99Ms: { target: `<= ${TARGET.latenessP99Ms}`, value: r.latenessP99MaxMs, met: (r.latenessP99MaxMs as number) <= TARGET.latenessP99Ms },
      delayFactorMs: { target: `<= ${TARGET.delayFactorMs}`, value: df, met: df <= TARGET.delayFactorMs },
    };
  }
  const result: Record<string, unknown> = {
    name: 'pacing',
    input: `${file} (${SOURCE_SECONDS} s, H.264 720p25 GOP 50 + AAC, muxrate ${MUXRATE_BPS / 1e6} Mbit/s, PCR 20 ms), looped`,
    network: 'two namespaces, one veth pair, 10.98.0.1 → 10.98.0.2, no bridge',
    method: {
      cpu: '(utime+stime) delta of the process ÷ wall time, /proc/PID/stat; 100 % = one core; channels/core = 100 ÷ CPU% per channel',
      lateness: 'status.json per-channel 1-s windows in the window: median of p50, max of p99, max of max',
      delayFactor: 'RFC 4445 DF per full 1-s interval, receiver in rx, JS arrival timestamps, rate measured per channel over the window',
      windowS: o.seconds,
      warmupS: o.warmupS,
      sample: o.sample,
      cores: CPUS,
      pinned: `sender: CPU ${pinArgv('sender', o.pin).slice(2).join('') || 'any'}, receiver: CPU ${pinArgv('receiver', o.pin).slice(2).join('') || 'any'} (taskset)`,
    },
    targets: TARGET,
    channelConfig: `${o.cbr ? `file source + cbrBitrateKbps ${MUXRATE_BPS / 1000}` : 'file source, no cbrBitrateKbps'}, workers ${o.workers}`,
    headendNodeArgs: o.headendNodeArgs,
    scheduleDf: schedule,
    runs,
    peer,
  };
  if (o.cpuProfDir) result.cpuProfiles = o.channels.map((n) => ({ channels: n, threads: summariseCpuProfiles(join(o.cpuProfDir!, `ch${n}`), 15) }));
  return result;
}

/* ---- report ---------------------------------------------------------------- */


/** Human-readable table of a {@link benchPacing} result. */
export function formatPacing(r: Record<string, unknown>): string {
  const runs = (r.runs as Record<string, unknown>[]) ?? [];
  const peer = r.peer as Record<string, unknown> | null;
  const lines: string[] = [];
  lines.push(`pacing: ${String(r.input)}`);
  lines.push(`  network: ${String(r.network)}; channels: ${String(r.channelConfig)}; pinned: ${String((r.method as { pinned: string }).pinned)}`);
  const sd = r.scheduleDf as Record<string, { dfWorstMs: number; dfMedianMs: number; dfMs: number[] }> | undefined;
  if (sd) {
    lines.push(
      `  schedule DF (headend code on a simulated clock, 1 ms ticks, no runtime): plain file worst ${sd.plain.dfWorstMs} / median ${sd.plain.dfMedianMs} ms ` +
        `[${sd.plain.dfMs.join(' ')}]; with cbrBitrateKbps worst ${sd.cbr.dfWorstMs} / median ${sd.cbr.dfMedianMs} ms`,
    );
  }
  const cols: [string, string, number][] = [
    ['sender', '', 8],
    ['ch', 'channels', 4],
    ['CPU %', 'cpuPct', 7],
    ['%/ch', 'cpuPctPerChannel', 7],
    ['ch/core', 'channelsPerCore', 8],
    ['dgram/s', 'datagramsPerS', 8],
    ['Mbps', 'outputMbps', 7],
    ['late p50', 'latenessP50MedianMs', 9],
    ['p99 med', 'latenessP99MedianMs', 8],
    ['p99 max', 'latenessP99MaxMs', 8],
    ['late max', 'latenessMaxMs', 9],
    ['DF worst', 'dfWorstMs', 9],
    ['DF med', 'dfMedianMs', 7],
    ['rx lost', 'rxLost', 8],
    ['rx gap', 'rxMaxGapMs', 7],
  ];
  lines.push('  ' + cols.map(([h, , w]) => (h === 'sender' ? h.padEnd(w) : h.padStart(w))).join(' '));
  const row = (name: string, x: Record<string, unknown>): string =>
    '  ' + cols.map(([, k, w]) => (k === '' ? name.padEnd(w) : cell(x[k], w))).join(' ');
  for (const x of runs) {
    if (x.error) lines.push(`  roomcast ${cell(x.channels, 4)}  FAILED: ${String(x.error)}`);
    else lines.push(row('roomcast', x));
  }
  if (peer && !peer.error) lines.push(row('ffmpeg', peer));
  else if (peer) lines.push(`  ffmpeg  FAILED: ${String(peer.error)}`);
  lines.push(
    '  (CPU: 100 % = one core. Lateness from the pacer, ms: late p50 = median of the per-channel 1-s p50s, p99 med / p99 max = median / max of the per-channel 1-s p99s, late max = worst datagram.',
  );
  lines.push('   DF = RFC 4445 delay factor at the receiver per 1-s interval, ms, worst and median over the sampled channels; rx gap = largest inter-arrival gap, ms)');
  for (const x of runs) {
    if (x.error) continue;
    const ra = x.ratios as { dfWorstVsFfmpeg: number | null; cpuPerChannelVsFfmpeg: number | null };
    const t = x.targets as Record<string, { target: string; value: unknown; met: boolean }>;
    const c = x.counters as Record<string, number>;
    const th = (x.threads as { comm: string; main: boolean; cpuPct: number; preemptPerS: number }[])
      .map((y) => `${y.main ? 'main' : y.comm} ${y.cpuPct}% (${y.preemptPerS} preempt/s)`)
      .join(', ');
    lines.push(
      `  ${String(x.channels)} ch: DF worst vs ffmpeg ${ra.dfWorstVsFfmpeg ?? '—'}×, CPU/ch vs ffmpeg ${ra.cpuPerChannelVsFfmpeg ?? '—'}× | ` +
        Object.entries(t)
          .map(([k, v]) => `${k} ${String(v.value)} (${v.target}) ${v.met ? 'met' : 'MISSED'}`)
          .join(', '),
    );
    lines.push(
      `      threads: ${th}; machine busy ${String(x.hostBusyPct)}% of ${String((r.method as { cores: number }).cores)} cores, steal ${String(x.hostStealPct)}%, ` +
        `CPU pressure ${String(x.cpuPressureSomePct)}%; ` +
        `rss ${String(x.rssMb)} MB; windows ${String(x.latenessWindows)} (p99 > 2 ms: ${String(x.windowsP99Over2Ms)}); ` +
        `counters: ${Object.entries(c).map(([k, v]) => `${k} ${v}`).join(', ')}; receiver cpu ${String(x.receiverCpuPct)}%`,
    );
    if (x.gc) lines.push(`      gc: ${JSON.stringify(x.gc)}`);
  }
  return lines.join('\n');
}

/* ---- command line ------------------------------------------------------------ */

async function cli(): Promise<void> {
  const { values } = parseArgs({
    options: {
      channels: { type: 'string' },
      seconds: { type: 'string' },
      warmup: { type: 'string' },
      sample: { type: 'string' },
      'no-peer': { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      'trace-gc': { type: 'boolean', default: false },
      pin: { type: 'string' },
      cbr: { type: 'boolean', default: false },
      workers: { type: 'string' },
      'node-arg': { type: 'string', multiple: true },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const r = await benchPacing({
    channels: values.channels ? values.channels.split(',').map(Number) : undefined,
    seconds: values.seconds ? Number(values.seconds) : undefined,
    warmupS: values.warmup ? Number(values.warmup) : undefined,
    sample: values.sample ? Number(values.sample) : undefined,
    peer: !values['no-peer'],
    cpuProfDir: values['cpu-prof'] ?? null,
    traceGc: values['trace-gc'],
    pin: values.pin === undefined ? undefined : (values.pin as PinMode),
    cbr: values.cbr,
    workers: values.workers ? Number(values.workers) : undefined,
    headendNodeArgs: values['node-arg'] ?? [],
  });
  console.log(formatPacing(r));
  if (r.cpuProfiles) {
    for (const p of r.cpuProfiles as { channels: number; threads: ReturnType<typeof summariseCpuProfiles> }[]) {
      for (const t of p.threads) {
        console.log(`cpu profile ${p.channels} ch, ${t.file} (${t.totalMs} ms sampled):`);
        for (const f of t.top) console.log(`  ${String(f.selfPct).padStart(5)}%  ${f.fn}`);
      }
    }
  }
  if (values.json) console.log(JSON.stringify(r));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.includes('--receiver')) {
    await receiverMain(process.argv.slice(2));
  } else {
    await cli();
  }
}
