/**
 * Benchmarks of issue 6 (the HLS path beside the multicast):
 *
 * 1. Segment availability delay, "first packet of the closing I-frame →
 *    playlist listing the segment", target p99 ≤ 20 ms.
 * 2. HTTP throughput serving segments to 100 concurrent clients while 20
 *    channels multicast: the multicast pacing p99 must stay within 0.5 ms of
 *    its idle value.
 * 3. XMLTV import of a 100 MB file: bench/xmltv.ts (its own benchmark).
 *
 * Set-up (bench/pacing.ts's machinery, as bench/admin-api.ts): the built
 * headend in `tx` with 20 `file` channels of the pacing bench's 8 Mbit/s CBR
 * source (239.255.20.k:5000, one data-plane worker, `slate: false`: no
 * ffmpeg slate encoder competing for the CPU), `headend.hls: { enabled:
 * true, segmentS: 2, windowS: 120 }`, API on 10.98.0.1:8080. The source has
 * a 2-s GOP, so every I-frame closes a segment. All 20 channels play the same
 * file, started together: their I-frames, and so their segment cuts, fall
 * within a few tens of ms of each other (printed) — 20 segments written and
 * indexed at once every 2 s, the worst case for the write queue and the
 * main thread.
 *
 * What is observed, and from where (1):
 *   - From outside, by an observer process in `rx` (this file, `--observer`):
 *     (a) inotify on each channel's segment directory: the moment the
 *     final name appears (rename: the file is whole; the worker's hidden
 *     temporary file appears when the segment starts, as it is written as it
 *     grows, and names nothing); (b) for `--poll` channels, from the final
 *     name's appearance on (the index lists a segment only after its
 *     rename), GET /hls/<n>/index.m3u8 back to back on one keep-alive
 *     connection until the playlist lists the segment: "listed" = arrival
 *     of the first answer that lists it. Polling only around the expected
 *     moment keeps the resolution at one request round trip (printed: the
 *     listing happened between the send of the last answer without it and
 *     the arrival of the first with it) without loading the API all the
 *     time; (c) for the same channels, the multicast: each I-frame's first
 *     packet (random_access_indicator on the video PID, or an IDR NAL unit
 *     in a payload_unit_start packet) and the PAT before it, with its PTS.
 *     A segment's closing I-frame is found by PTS (the next segment file's
 *     first video PTS, read from the file).
 *   - From inside, with no code change: bench/hls-probe.ts, preloaded into
 *     every headend thread (`node --import`), logs when the worker's
 *     segmenter closes the segment (the worker has the closing I-frame's
 *     first packets), when the file is written and the message posted, and
 *     when the main thread has indexed it. `--no-probe` leaves it out.
 *   The pacer sends a packet `pacingDelayMs` (250) or more after the worker
 *   saw it — more with the file source, which reads 1024 packets (~190 ms)
 *   at a time — so the segment is listed *before* its closing I-frame is on
 *   the multicast: relative to the multicast the delay is negative (printed
 *   as such), and the issue's figure is taken from the moment the worker has
 *   the I-frame (probe), or, externally, from the temporary file's
 *   appearance (which leaves out the time a write waits for a libuv pool
 *   thread before open(2): a lower bound).
 *
 * (2) A/B phases alternated (default A B A B A B, 15-s windows after a 2-s
 * settle) as bench/admin-api.ts does, this 2-vCPU VM being shared and
 * drifting: A = the headend alone (the observer still runs), B = + a load
 * client in `rx` (this file, `--load`) with 100 keep-alive connections
 * fetching whole segments picked at random among the newest 5 of each
 * channel's live playlist (a live audience; all in the page cache), as fast
 * as they are served (`--rate` caps the total requests/s; 50/s is 100
 * viewers each playing one 2-s segment every 2 s). The client is node:http
 * by default; `--client autocannon` runs autocannon instead, which keeps
 * every response body as a string (a UTF-8 decode of each byte): measured
 * here, ~85 % of a core for ~180 MB/s of 2-MB segments, on the same two
 * vCPUs as the headend, so it measured itself more than the headend. Pacing
 * lateness per channel from status.json (the pacer's own 1-s histograms),
 * criterion on the median of the per-channel 1-s p99s, mean over the phases
 * of a kind: |B − A| ≤ 0.5 ms. The load client shares the machine's two
 * vCPUs with the headend (its CPU is printed): a real audience would not.
 *
 * Figures are reported, never asserted (STYLE.md §6).
 *
 * Run: npm run build && node dist/bench/hls.js [--seconds 15] [--rounds 3]
 *      [--avail-seconds 40] [--channels 20] [--poll 5] [--connections 100]
 *      [--rate 0] [--newest 5] [--client node|autocannon] [--settle 2] [--warmup 6]
 *      [--nice -10] [--no-probe] [--json]
 * Needs root (network namespaces) and ffmpeg (the pacing bench's source, once).
 */
import type { ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, readdirSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import { mkdtemp, open, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createRtpHeader, parseRtpHeader } from '../core/rtp/header.js';
import { parseSegmentFileName } from '../headend/dataplane/hls.js';
import { abCompare, cell, pct } from './report.js';
import { createBenchNet } from './netns.js';
import {
  CPUS,
  groupOf,
  headendLogTail,
  lineupYaml,
  makeSource,
  max,
  measureWindow,
  median,
  MUXRATE_BPS,
  round,
  sampleChannels,
  startBenchHeadend,
  STOP_TIMEOUT_MS,
  type BenchHeadend,
  type WindowMeasure,
} from './pacing.js';
import { childProcesses, lineWaiter, stopChild, tail } from './proc.js';

const THIS_FILE = fileURLToPath(import.meta.url);
const PROBE_FILE = fileURLToPath(new URL('./hls-probe.js', import.meta.url));
/** bench/pacing.ts lineupYaml()'s multicast port. */
const MC_PORT = 5000;
const API_PORT = 8080;
/** The brief's configuration (headend.hls). */
const SEGMENT_S = 2;
const WINDOW_S = 120;
const PACING_DELAY_MS = 250; // headend.pacingDelayMs default (core/lineup/config.ts)
const TARGET_AVAIL_P99_MS = 20;
const TOLERANCE_MS = 0.5;
/** Polls of one playlist for one segment before giving up (≈ 1–5 s back to back). */
const MAX_POLLS = 5000;
const POLL_GIVE_UP_MS = 5000;
const RECV_BUFFER_BYTES = 4 * 1024 * 1024;
/** Per channel, I-frames kept by the observer: one per 2 s, for a run of at most ~15 min. */
const MAX_RAPS = 500;
const MAX_SEGMENT_RECORDS = 20_000;
const TS = 188;

export interface HlsBenchOptions {
  /** Channels on the air. Default 20. */
  channels?: number;
  /** Part 1: availability window without HTTP load, s. Default 40. */
  availSeconds?: number;
  /** Part 2: each phase's window, s. Default 15. */
  seconds?: number;
  /** Part 2: A B pairs. Default 3. */
  rounds?: number;
  /** Before each part-2 window, not measured, s. Default 2. */
  settleS?: number;
  /** After every channel is up, before part 1 (segments must exist), s. Default 6. */
  warmupS?: number;
  /** Channels whose playlist is polled and whose multicast is received. Default 5. */
  poll?: number;
  /** Load: concurrent connections. Default 100. */
  connections?: number;
  /** Load: total requests/s cap; 0 = as fast as served. Default 0. */
  rate?: number;
  /** Load: the newest segments of each channel's playlist to pick from. Default 5. */
  newest?: number;
  /** Load: `node` (node:http, bodies counted, default) or `autocannon`. */
  client?: 'node' | 'autocannon';
  /** Preload bench/hls-probe.ts into the headend. Default true. */
  probe?: boolean;
  /** headend.dataPlaneNice (the data-plane thread's nice value). Default: the headend's (-10). */
  nice?: number;
  log?: (line: string) => void;
}

const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

/* ======================================================================== */
/* MPEG-TS helpers (observer)                                               */
/* ======================================================================== */

/** ISO/IEC 13818-1 §2.4.3.2: where a packet's payload starts, or -1. */
function payloadAt(b: Buffer, o: number): number {
  const afc = (b[o + 3] >> 4) & 0x03;
  if ((afc & 0x01) === 0) return -1;
  const p = afc === 1 ? o + 4 : o + 5 + b[o + 4];
  return p < o + TS ? p : -1;
}

/** A section's start in a payload_unit_start packet (pointer_field, §2.4.4.2), or -1. */
function sectionAt(b: Buffer, o: number): number {
  const p = payloadAt(b, o);
  if (p < 0) return -1;
  const s = p + 1 + b[p];
  return s + 3 <= o + TS ? s : -1;
}

/** §2.4.4.3: the first program's program_map_PID, or -1. */
function patPmtPid(b: Buffer, o: number): number {
  const s = sectionAt(b, o);
  if (s < 0 || b[s] !== 0x00) return -1;
  const end = Math.min(o + TS, s + 3 + (((b[s + 1] & 0x0f) << 8) | b[s + 2]) - 4);
  for (let i = s + 8; i + 4 <= end; i += 4) {
    if (((b[i] << 8) | b[i + 1]) !== 0) return ((b[i + 2] & 0x1f) << 8) | b[i + 3];
  }
  return -1;
}

/** §2.4.4.8: the first video elementary PID (H.264, HEVC, MPEG-2), or -1. */
function pmtVideoPid(b: Buffer, o: number): number {
  const s = sectionAt(b, o);
  if (s < 0 || b[s] !== 0x02) return -1;
  const end = Math.min(o + TS, s + 3 + (((b[s + 1] & 0x0f) << 8) | b[s + 2]) - 4);
  let i = s + 12 + (((b[s + 10] & 0x0f) << 8) | b[s + 11]);
  while (i + 5 <= end) {
    const type = b[i];
    if (type === 0x1b || type === 0x24 || type === 0x02) return ((b[i + 1] & 0x1f) << 8) | b[i + 2];
    i += 5 + (((b[i + 3] & 0x0f) << 8) | b[i + 4]);
  }
  return -1;
}

/** PTS of a PES header starting at `p` (§2.4.3.7), or -1. 33-bit: multiplications, never shifts. */
function pesPts(b: Buffer, p: number, end: number): number {
  if (p + 14 > end || b[p] !== 0 || b[p + 1] !== 0 || b[p + 2] !== 1 || (b[p + 7] & 0x80) === 0) return -1;
  const q = p + 9;
  return (b[q] & 0x0e) * 536870912 + b[q + 1] * 4194304 + (b[q + 2] & 0xfe) * 16384 + b[q + 3] * 128 + (b[q + 4] >> 1);
}

/** An H.264 IDR slice (nal_unit_type 5, ITU-T H.264 §7.4.1) or SPS (7) start code in b[from, to). */
function hasIdrNal(b: Buffer, from: number, to: number): boolean {
  for (let i = from; i + 3 < to; i++) {
    if (b[i] === 0 && b[i + 1] === 0 && b[i + 2] === 1) {
      const t = b[i + 3] & 0x1f;
      if (t === 5 || t === 7) return true;
    }
  }
  return false;
}

interface TsTrack {
  pmtPid: number;
  videoPid: number;
  lastPatUs: number;
}

/**
 * One TS packet of a channel: learns PAT → PMT → video PID; returns the PTS
 * of an I-frame whose first packet this is, else -1.
 */
function trackPacket(t: TsTrack, b: Buffer, o: number, atUs: number): number {
  if (b[o] !== 0x47) return -1;
  const pusi = (b[o + 1] & 0x40) !== 0;
  if (!pusi) return -1;
  const pid = ((b[o + 1] & 0x1f) << 8) | b[o + 2];
  if (pid === 0) {
    t.lastPatUs = atUs;
    const pmt = patPmtPid(b, o);
    if (pmt >= 0) t.pmtPid = pmt;
    return -1;
  }
  if (pid === t.pmtPid) {
    const v = pmtVideoPid(b, o);
    if (v >= 0) t.videoPid = v;
    return -1;
  }
  if (pid !== t.videoPid) return -1;
  const afc = (b[o + 3] >> 4) & 0x03;
  const rai = (afc & 0x02) !== 0 && b[o + 4] > 0 && (b[o + 5] & 0x40) !== 0;
  const p = payloadAt(b, o);
  if (p < 0) return -1;
  if (!rai && !hasIdrNal(b, p, o + TS)) return -1;
  return pesPts(b, p, o + TS);
}

/** The first video PTS in the head of a segment file (it starts with PAT, PMT, I-frame). */
async function fileFirstPts(path: string): Promise<number> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fh.read(b, 0, b.length, 0);
    const t: TsTrack = { pmtPid: -1, videoPid: -1, lastPatUs: 0 };
    for (let o = 0; o + TS <= bytesRead; o += TS) {
      if (b[o] !== 0x47) return -1;
      const pid = ((b[o + 1] & 0x1f) << 8) | b[o + 2];
      if ((b[o + 1] & 0x40) !== 0 && pid === t.videoPid && t.videoPid >= 0) {
        const p = payloadAt(b, o);
        if (p >= 0) return pesPts(b, p, o + TS);
      }
      trackPacket(t, b, o, 0);
    }
    return -1;
  } finally {
    await fh.close();
  }
}

/* ======================================================================== */
/* Observer (this file with --observer, in rx)                              */
/* ======================================================================== */

interface SegObs {
  n: number;
  name: string;
  /** inotify: the final name appeared (rename). */
  visibleUs: number;
  /** The first playlist answer that lists it arrived. */
  listedUs: number;
  /** The last answer without it was requested at (0: listed at the first poll). */
  prevSendUs: number;
  polls: number;
  pollError: string | null;
  /** File times (stat after listing), on the monotonic clock. */
  mtimeUs: number;
  firstPts: number;
}

interface RapObs {
  us: number;
  patUs: number;
  pts: number;
}

export interface ObserverReport {
  offsetUs: number;
  phases: { label: string; fromUs: number; toUs: number }[];
  segments: SegObs[];
  raps: Record<string, RapObs[]>;
  polled: number[];
  datagrams: number;
  cpuPct: number;
  errors: string[];
}

async function observerMain(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      observer: { type: 'boolean' },
      api: { type: 'string' },
      'hls-dir': { type: 'string' },
      channels: { type: 'string' },
      poll: { type: 'string' },
      iface: { type: 'string' },
      'max-seconds': { type: 'string' },
    },
    strict: true,
  });
  const api = new URL(values.api ?? '');
  const hlsDir = values['hls-dir'] ?? '';
  const n = Number(values.channels);
  const polled = (values.poll ?? '').split(',').filter(Boolean).map(Number);
  const iface = values.iface ?? '';
  const maxSeconds = Number(values['max-seconds'] ?? 600);
  if (!hlsDir || !(n >= 1) || !iface || !(maxSeconds > 0)) {
    process.stderr.write('observer: --api, --hls-dir, --channels, --poll, --iface are required\n');
    process.exit(2);
  }
  const deadline = setTimeout(() => {
    process.stderr.write(`observer: no stop after ${maxSeconds} s, exiting\n`);
    process.exit(3);
  }, maxSeconds * 1000);
  const t0Cpu = process.cpuUsage();
  const t0 = nowUs();
  // CLOCK_REALTIME − CLOCK_MONOTONIC, µs, for file times and program date times.
  const offsetUs = Math.round((performance.timeOrigin + performance.now()) * 1000) - nowUs();
  const errors: string[] = [];
  /** Set by the first `phase` command: nothing is recorded before (warm-up). */
  let recording = false;
  const segs = new Map<string, SegObs>();
  const rec = (ch: number, name: string): SegObs | null => {
    const k = `${ch}/${name}`;
    let r = segs.get(k);
    if (!r) {
      if (segs.size >= MAX_SEGMENT_RECORDS) return null;
      r = { n: ch, name, visibleUs: 0, listedUs: 0, prevSendUs: 0, polls: 0, pollError: null, mtimeUs: 0, firstPts: -1 };
      segs.set(k, r);
    }
    return r;
  };

  // ---- playlist polling, from the temporary file on
  const agents = new Map<number, http.Agent>(polled.map((c) => [c, new http.Agent({ keepAlive: true, maxSockets: 1 })]));
  const polling = new Set<number>();
  const afterListed = async (r: SegObs): Promise<void> => {
    const path = join(hlsDir, String(r.n), r.name);
    try {
      const st = await stat(path, { bigint: true });
      r.mtimeUs = Number(st.mtimeNs / 1000n) - offsetUs;
      r.firstPts = await fileFirstPts(path);
    } catch {
      /* left the window already */
    }
  };
  const startPoll = (r: SegObs): void => {
    const agent = agents.get(r.n);
    if (!agent || polling.has(r.n) || r.listedUs > 0 || r.pollError !== null) return;
    polling.add(r.n);
    const giveUpAt = nowUs() + POLL_GIVE_UP_MS * 1000;
    let prevSend = 0;
    let polls = 0;
    const once = (): void => {
      const sent = nowUs();
      const req = http.get({ host: api.hostname, port: api.port, path: `/hls/${r.n}/index.m3u8`, agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (s: string) => (body += s));
        res.on('end', () => {
          const got = nowUs();
          polls++;
          if (res.statusCode === 200 && body.includes(r.name)) {
            r.listedUs = got;
            r.prevSendUs = prevSend;
            r.polls = polls;
            polling.delete(r.n);
            void afterListed(r);
          } else if (polls >= MAX_POLLS || got > giveUpAt) {
            r.pollError = `not listed after ${polls} polls (HTTP ${res.statusCode})`;
            r.polls = polls;
            polling.delete(r.n);
          } else {
            prevSend = sent;
            setImmediate(once);
          }
        });
      });
      req.on('error', (e) => {
        r.pollError = e.message;
        polling.delete(r.n);
      });
    };
    once();
  };

  // ---- inotify on each channel's directory
  const watchers: FSWatcher[] = [];
  for (let ch = 1; ch <= n; ch++) {
    const dir = join(hlsDir, String(ch));
    for (let i = 0; i < 200 && !existsSync(dir); i++) await sleep(100);
    if (!existsSync(dir)) {
      errors.push(`${dir} never appeared`);
      continue;
    }
    // What is there already is not observed (and its removal by retention is no appearance).
    const before = new Set(readdirSync(dir));
    const c = ch;
    watchers.push(
      watch(dir, (_event, filename) => {
        if (!recording || typeof filename !== 'string' || before.has(filename)) return;
        const at = nowUs();
        // The worker's temporary file appears when a segment starts (it is written as it grows) and
        // carries no name of the segment: only the rename says which segment is whole, and the index
        // lists a segment after its rename, so polling starts there.
        if (parseSegmentFileName(filename)) {
          const r = rec(c, filename);
          if (r && r.visibleUs === 0) {
            r.visibleUs = at;
            startPoll(r);
          }
        }
      }),
    );
  }

  // ---- multicast of the polled channels: each I-frame's first packet
  const raps = new Map<number, RapObs[]>(polled.map((c) => [c, []]));
  const hdr = createRtpHeader();
  let datagrams = 0;
  const sockets: dgram.Socket[] = [];
  await Promise.all(
    polled.map(
      (ch) =>
        new Promise<void>((resolve, reject) => {
          const group = groupOf(n, ch);
          const t: TsTrack = { pmtPid: -1, videoPid: -1, lastPatUs: 0 };
          const list = raps.get(ch)!;
          const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true, recvBufferSize: RECV_BUFFER_BYTES });
          sockets.push(sock);
          sock.once('error', reject);
          sock.on('message', (msg) => {
            const at = nowUs();
            datagrams++;
            if (parseRtpHeader(msg, msg.length, hdr) !== 0) return;
            for (let o = hdr.payloadOffset; o + TS <= hdr.payloadOffset + hdr.payloadLength; o += TS) {
              const pts = trackPacket(t, msg, o, at);
              if (pts >= 0 && recording && list.length < MAX_RAPS) list.push({ us: at, patUs: t.lastPatUs, pts });
            }
          });
          // NETLAB.md gotcha 3/4: bind to the group, join naming the interface.
          sock.bind({ address: group, port: MC_PORT, exclusive: false }, () => {
            try {
              sock.addMembership(group, iface);
              resolve();
            } catch (e) {
              reject(e as Error);
            }
          });
        }),
    ),
  );

  const phases: ObserverReport['phases'] = [];
  let current: { label: string; fromUs: number } | null = null;
  process.stdout.write('ready\n');
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (line.startsWith('phase ')) {
      const at = nowUs();
      if (current) phases.push({ ...current, toUs: at });
      const label = line.slice(6).trim();
      current = label === '-' ? null : { label, fromUs: at };
      recording = true;
    } else if (line === 'report') {
      const cpu = process.cpuUsage(t0Cpu);
      const report: ObserverReport = {
        offsetUs,
        phases,
        segments: [...segs.values()],
        raps: Object.fromEntries([...raps.entries()].map(([k, v]) => [String(k), v])),
        polled,
        datagrams,
        cpuPct: round(((cpu.user + cpu.system) / (nowUs() - t0)) * 100, 2),
        errors,
      };
      process.stdout.write(JSON.stringify(report) + '\n');
    }
  });
  rl.on('close', () => {
    clearTimeout(deadline);
    for (const w of watchers) w.close();
    for (const s of sockets) s.close();
    for (const a of agents.values()) a.destroy();
    process.stdout.write('', () => process.exit(0));
  });
}

/* ======================================================================== */
/* Load client (this file with --load, in rx): autocannon                   */
/* ======================================================================== */

interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
  requests: { average: number; total: number };
  throughput: { average: number; total: number };
  latency: { mean: number; p50: number; p90: number; p99: number; max: number };
}
type Autocannon = (o: Record<string, unknown>, cb: (err: Error | null, r: AutocannonResult) => void) => unknown;

export interface LoadResult {
  client: 'node' | 'autocannon';
  paths: number;
  segmentBytesMean: number;
  durationS: number;
  requests: number;
  requestsPerS: number;
  mbPerS: number;
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  cpuPct: number;
  /** Of which in the kernel (system time): with a veth, much of both ends' TCP work is charged to whoever runs. */
  sysCpuPct: number;
}

function getText(api: URL, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: api.hostname, port: api.port, path, agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (s: string) => (body += s));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer in 10 s`)));
    req.on('error', reject);
  });
}

type LoadFigures = Omit<LoadResult, 'client' | 'paths' | 'segmentBytesMean' | 'cpuPct' | 'sysCpuPct'>;

/**
 * autocannon (the issue's suggestion). Measured here: it keeps each response
 * body as a string (`req.body += chunk`, lib/pipelinedRequestsQueue.js), a
 * UTF-8 decode of every byte: ~85 % of a core at ~180 MB/s of 2-MB segments,
 * on the same two vCPUs as the headend. Hence the default client below.
 */
async function runAutocannon(api: URL, paths: string[], connections: number, seconds: number, rate: number): Promise<LoadFigures> {
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
  const r = await new Promise<AutocannonResult>((resolve, reject) => {
    autocannon(
      {
        url: `http://${api.hostname}:${api.port}`,
        connections,
        duration: seconds,
        timeout: 30,
        ...(rate > 0 ? { overallRate: rate } : {}),
        requests: [
          {
            method: 'GET',
            path: paths[0],
            setupRequest: (req: { path: string }) => {
              req.path = paths[Math.floor(Math.random() * paths.length)];
              return req;
            },
          },
        ],
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
  });
  return {
    durationS: r.duration,
    requests: r.requests.total,
    requestsPerS: round(r.requests.average, 1),
    mbPerS: round(r.throughput.average / 1e6, 1),
    latencyMs: { mean: round(r.latency.mean, 1), p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max },
    ok: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
  };
}

/**
 * The default client: `connections` keep-alive connections (node:http, its
 * C parser; bodies counted, not kept), each requesting a random segment as
 * soon as the last one ended, or at `rate` ÷ `connections` per second each.
 * Latency = request → last byte. MB/s = body bytes.
 */
async function runNodeClient(api: URL, paths: string[], connections: number, seconds: number, rate: number): Promise<LoadFigures> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const t0 = performance.now();
  const endAt = t0 + seconds * 1000;
  const latency: number[] = [];
  let bytes = 0;
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  let timeouts = 0;
  const get = (path: string): Promise<void> =>
    new Promise((resolve) => {
      const sent = performance.now();
      const req = http.get({ host: api.hostname, port: api.port, path, agent, timeout: 30_000 }, (res) => {
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => {
          if (res.statusCode === 200) {
            ok++;
            if (latency.length < 1_000_000) latency.push(performance.now() - sent);
          } else non2xx++;
          resolve();
        });
        res.on('error', () => {
          errors++;
          resolve();
        });
      });
      req.on('timeout', () => {
        timeouts++;
        req.destroy(new Error('timeout'));
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
    });
  const intervalMs = rate > 0 ? (connections / rate) * 1000 : 0;
  const loop = async (k: number): Promise<void> => {
    // Paced connections start spread over one interval.
    let next = t0 + (intervalMs * k) / connections;
    for (let i = 0; i < 1_000_000 && performance.now() < endAt; i++) {
      if (intervalMs > 0) {
        // No slot left in the run: do not sleep past its end (that would lower the rate measured).
        if (next >= endAt) break;
        const wait = next - performance.now();
        if (wait > 0) await sleep(wait);
        next += intervalMs;
        if (performance.now() >= endAt) break;
      }
      await get(paths[Math.floor(Math.random() * paths.length)]);
    }
  };
  await Promise.all(Array.from({ length: connections }, (_, k) => loop(k)));
  const wallS = (performance.now() - t0) / 1000;
  agent.destroy();
  const mean = latency.reduce((a, b) => a + b, 0) / (latency.length || 1);
  return {
    durationS: round(wallS, 2),
    requests: ok + non2xx,
    requestsPerS: round(ok / wallS, 1),
    mbPerS: round(bytes / 1e6 / wallS, 1),
    latencyMs: { mean: round(mean, 1), p50: round(pct(latency, 50), 1), p90: round(pct(latency, 90), 1), p99: round(pct(latency, 99), 1), max: round(max(latency), 1) },
    ok,
    non2xx,
    errors,
    timeouts,
  };
}

async function loadMain(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      load: { type: 'boolean' },
      api: { type: 'string' },
      channels: { type: 'string' },
      connections: { type: 'string' },
      seconds: { type: 'string' },
      rate: { type: 'string' },
      newest: { type: 'string' },
      client: { type: 'string' },
    },
    strict: true,
  });
  const api = new URL(values.api ?? '');
  const client = values.client === 'autocannon' ? 'autocannon' : 'node';
  const n = Number(values.channels);
  const connections = Number(values.connections ?? 100);
  const seconds = Number(values.seconds);
  const rate = Number(values.rate ?? 0);
  const newest = Number(values.newest ?? 5);
  const deadline = setTimeout(() => {
    process.stderr.write('load: no exit after the run + 120 s, exiting\n');
    process.exit(3);
  }, (seconds + 120) * 1000);
  // The newest segments of every channel's live playlist (RFC 8216: URIs relative to the playlist).
  const paths: string[] = [];
  for (let ch = 1; ch <= n; ch++) {
    const r = await getText(api, `/hls/${ch}/index.m3u8`);
    if (r.status !== 200) throw new Error(`GET /hls/${ch}/index.m3u8: HTTP ${r.status}`);
    const uris = r.body.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    for (const u of uris.slice(-newest)) paths.push(`/hls/${ch}/${u}`);
  }
  const probe = await new Promise<number>((resolve, reject) => {
    http.get({ host: api.hostname, port: api.port, path: paths[0], agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => (bytes += c.length));
      res.on('end', () => (res.statusCode === 200 ? resolve(bytes) : reject(new Error(`GET ${paths[0]}: HTTP ${res.statusCode}`))));
    }).on('error', reject);
  });
  process.stdout.write(`ready ${paths.length}\n`);
  await new Promise<void>((resolve) => {
    const rl = createInterface({ input: process.stdin });
    rl.once('line', () => resolve());
  });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const r = client === 'autocannon' ? await runAutocannon(api, paths, connections, seconds, rate) : await runNodeClient(api, paths, connections, seconds, rate);
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const out: LoadResult = {
    ...r,
    client,
    paths: paths.length,
    segmentBytesMean: probe,
    cpuPct: round(((cpu.user + cpu.system) / 1000 / wallMs) * 100, 1),
    sysCpuPct: round((cpu.system / 1000 / wallMs) * 100, 1),
  };
  clearTimeout(deadline);
  process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(0));
}

/* ======================================================================== */
/* Orchestration                                                            */
/* ======================================================================== */


interface Dist {
  n: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

function dist(xs: number[], digits = 2): Dist {
  return {
    n: xs.length,
    min: round(xs.length ? Math.min(...xs) : NaN, digits),
    p50: round(pct(xs, 50), digits),
    p90: round(pct(xs, 90), digits),
    p99: round(pct(xs, 99), digits),
    max: round(max(xs), digits),
  };
}


interface ProbeEvents {
  closedUs: number;
  postedUs: number;
  indexedUs: number;
  bytes: number;
}

function readProbe(file: string): Map<string, ProbeEvents> {
  const out = new Map<string, ProbeEvents>();
  if (!existsSync(file)) return out;
  for (const l of readFileSync(file, 'utf8').split('\n')) {
    const [kind, us, n, name, bytes] = l.split(' ');
    if (!name) continue;
    const k = `${n}/${name}`;
    const e = out.get(k) ?? { closedUs: 0, postedUs: 0, indexedUs: 0, bytes: 0 };
    out.set(k, e);
    if (kind === 'closed') {
      e.closedUs = Number(us);
      e.bytes = Number(bytes);
    } else if (kind === 'posted') e.postedUs = Number(us);
    else if (kind === 'indexed') e.indexedUs = Number(us);
  }
  return out;
}

interface SegmentRow extends SegObs, ProbeEvents {
  startMs: number;
  durationMs: number;
  phase: string | null;
  /** The closing I-frame on the multicast (observer, polled channels). */
  airUs: number;
  airPatUs: number;
}

/** Availability figures (ms) of a set of segments. */
function availability(rows: SegmentRow[], offsetUs: number): Record<string, unknown> {
  const ms = (a: number, b: number) => (a - b) / 1000;
  const both = (f: (r: SegmentRow) => [number, number]) =>
    rows
      .map(f)
      .filter(([a, b]) => a > 0 && b > 0)
      .map(([a, b]) => ms(a, b));
  const listed = rows.filter((r) => r.listedUs > 0);
  const withPrev = listed.filter((r) => r.prevSendUs > 0);
  // Cut clusters: the segments of all channels closed within 1 s of each other (same GOP round).
  const closes = rows.map((r) => r.closedUs || r.visibleUs).filter((x) => x > 0).sort((a, b) => a - b);
  const spans: number[] = [];
  let from = 0;
  for (let i = 1; i <= closes.length; i++) {
    if (i === closes.length || closes[i] - closes[i - 1] > 1_000_000) {
      if (i - from > 1) spans.push((closes[i - 1] - closes[from]) / 1000);
      from = i;
    }
  }
  return {
    segments: rows.length,
    /** Worker closes the segment (has the closing I-frame) → the main thread has indexed it (probe). */
    closedToIndexed: dist(both((r) => [r.indexedUs, r.closedUs])),
    /** → file written and renamed, message posted (probe). */
    closedToPosted: dist(both((r) => [r.postedUs, r.closedUs])),
    /** posted → indexed: the message and the main thread (probe). */
    postedToIndexed: dist(both((r) => [r.indexedUs, r.postedUs])),
    /** Worker closes → a client's playlist answer lists it (probe + HTTP; upper bound by the resolution). */
    closedToListed: dist(both((r) => [r.listedUs, r.closedUs])),
    /** External only: the temporary file appears (inotify) → listed (HTTP). */
    /** External only: the final name appears (inotify) → listed. */
    visibleToListed: dist(both((r) => [r.listedUs, r.visibleUs])),
    /** Worker closes → the temporary file appears: the wait for a libuv pool thread (probe + inotify). */
    /** File mtime (the last write, before the rename) → listed. */
    mtimeToListed: dist(both((r) => [r.listedUs, r.mtimeUs])),
    /** listed − the closing I-frame's first packet on the multicast (negative: listed before it is sent). */
    listedMinusAir: dist(both((r) => [r.listedUs, r.airUs])),
    /** The closing I-frame: from the worker (segment closed) to the multicast (the pacer's delay). */
    closedToAir: dist(both((r) => [r.airUs, r.closedUs])),
    /** Program date time of the segment's end − wall clock of the closing PAT on the multicast. */
    pdtEndMinusAir: dist(
      rows.filter((r) => r.airPatUs > 0).map((r) => r.startMs + r.durationMs - (r.airPatUs + offsetUs) / 1000),
      1,
    ),
    resolution: {
      /** The listing happened between the send of the last answer without it and the arrival of the first with it. */
      intervalMs: dist(withPrev.map((r) => ms(r.listedUs, r.prevSendUs)), 3),
      listedAtFirstPoll: listed.length - withPrev.length,
      pollsPerSegment: round(median(listed.map((r) => r.polls)), 1),
      /** Probe: listed − indexed (what the HTTP round trip adds). */
      indexedToListed: dist(both((r) => [r.listedUs, r.indexedUs]), 3),
      pollErrors: rows.filter((r) => r.pollError !== null).length,
    },
    cutSpreadMs: dist(spans, 1),
  };
}

type PhaseKind = 'A' | 'B';

interface PhaseRecord {
  label: string;
  kind: PhaseKind | 'avail';
  m: WindowMeasure;
  load: LoadResult | null;
}

/**
 * `workerTid`: the data-plane worker, the busiest thread but main in the first
 * phase (no HTTP load). Under load the libuv pool threads that read the
 * segments served are as busy: "the busiest thread but main" would be one of them.
 */
function summarisePhase(p: PhaseRecord, observerCpu: number, workerTid: string | null): Record<string, unknown> {
  const p99s = p.m.windows.map((w) => w.p99);
  const main = p.m.threads.find((t) => t.main);
  const worker = p.m.threads.find((t) => (workerTid !== null ? t.tid === workerTid : !t.main));
  return {
    phase: p.label,
    windowS: round(p.m.wallS, 1),
    cpuPct: round(p.m.cpuPct, 1),
    mainCpuPct: main?.cpuPct ?? 0,
    workerCpuPct: worker?.cpuPct ?? 0,
    workerPreemptPerS: worker?.preemptPerS ?? 0,
    latenessWindows: p.m.windows.length,
    latenessP50MedianMs: round(median(p.m.windows.map((w) => w.p50)), 3),
    latenessP99MedianMs: round(median(p99s), 3),
    latenessP99P90Ms: round(pct(p99s, 90), 3),
    latenessP99MaxMs: round(max(p99s), 2),
    latenessMaxMs: round(max(p.m.windows.map((w) => w.max)), 2),
    hostBusyPct: p.m.hostBusyPct,
    otherCpuPct: round(Math.max(0, p.m.hostBusyPct * CPUS - p.m.cpuPct - observerCpu - (p.load?.cpuPct ?? 0)), 1),
    hostStealPct: p.m.hostStealPct,
    cpuPressureSomePct: p.m.cpuPressureSomePct,
    outputMbps: p.m.outputMbps,
    counters: p.m.counters,
    /** The busiest threads (libuv pool threads read the segments served; the kernel's TCP work is charged to whoever runs). */
    threads: p.m.threads.slice(0, 6).map((t) => `${t.main ? 'main' : t.tid === workerTid ? `data-plane#${t.tid}` : `${t.comm}#${t.tid}`} ${t.cpuPct}%`),
    load: p.load,
  };
}

export async function benchHls(opts: HlsBenchOptions = {}): Promise<Record<string, unknown>> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const o = {
    channels: opts.channels ?? 20,
    availSeconds: opts.availSeconds ?? 40,
    seconds: opts.seconds ?? 15,
    rounds: opts.rounds ?? 3,
    settleS: opts.settleS ?? 2,
    warmupS: opts.warmupS ?? 6,
    poll: opts.poll ?? 5,
    connections: opts.connections ?? 100,
    rate: opts.rate ?? 0,
    newest: opts.newest ?? 5,
    client: opts.client ?? 'node',
    probe: opts.probe ?? true,
    nice: opts.nice ?? null,
  };
  if (!Number.isInteger(o.channels) || o.channels < 1 || o.channels > 100) throw new RangeError(`channels: ${o.channels} is not in 1..100`);
  if (!(o.availSeconds >= 0 && o.availSeconds <= 300)) throw new RangeError(`avail-seconds: ${o.availSeconds} is not in 0..300`);
  if (!(o.seconds >= 3 && o.seconds <= 300)) throw new RangeError(`seconds: ${o.seconds} is not in 3..300`);
  if (!Number.isInteger(o.rounds) || o.rounds < 0 || o.rounds > 10) throw new RangeError(`rounds: ${o.rounds} is not in 0..10`);
  if (!(o.settleS >= 0 && o.settleS <= 30)) throw new RangeError(`settle: ${o.settleS} is not in 0..30`);
  if (!(o.warmupS >= SEGMENT_S * 2 && o.warmupS <= 60)) throw new RangeError(`warmup: ${o.warmupS} is not in ${SEGMENT_S * 2}..60 (segments must exist)`);
  if (!Number.isInteger(o.poll) || o.poll < 1 || o.poll > Math.min(20, o.channels)) throw new RangeError(`poll: ${o.poll} is not in 1..${Math.min(20, o.channels)}`);
  if (!Number.isInteger(o.connections) || o.connections < 1 || o.connections > 1000) throw new RangeError(`connections: ${o.connections} is not in 1..1000`);
  if (!(o.rate >= 0 && o.rate <= 100_000)) throw new RangeError(`rate: ${o.rate} is not in 0..100000`);
  if (o.nice !== null && !(Number.isInteger(o.nice) && o.nice >= -20 && o.nice <= 0)) throw new RangeError(`nice: ${o.nice} is not an integer in -20..0`);
  if (o.client !== 'node' && o.client !== 'autocannon') throw new RangeError(`client: ${String(o.client)} is not node or autocannon`);
  if (!Number.isInteger(o.newest) || o.newest < 1 || o.newest > WINDOW_S / SEGMENT_S) throw new RangeError(`newest: ${o.newest} is not in 1..${WINDOW_S / SEGMENT_S}`);

  const n = o.channels;
  const file = makeSource(log);
  const net = await createBenchNet();
  const dataDir = await mkdtemp(join(tmpdir(), 'roomcast-bench-hls-'));
  const configFile = join(dataDir, 'channels.yaml');
  const statusFile = join(dataDir, 'status.json');
  const probeFile = join(dataDir, 'probe.log');
  const hlsDir = join(dataDir, 'hls');
  const polled = sampleChannels(n, o.poll);
  const api = `http://${net.txAddress}:${API_PORT}`;
  const lifetimeS = 180 + o.warmupS + o.availSeconds + 2 * o.rounds * (o.settleS + o.seconds + 20);
  let headend: BenchHeadend | null = null;
  let observer: ChildProcess | null = null;
  let load: ChildProcess | null = null;
  const phases: PhaseRecord[] = [];
  let report: ObserverReport | null = null;
  let probe = new Map<string, ProbeEvents>();
  const t0 = Date.now();
  let setup: Record<string, unknown> = {};
  let logTail: string[] = [];
  let headendStop = '';
  let hlsCounters: Record<string, unknown> = {};
  let workerTid: string | null = null;
  try {
    const yaml = lineupYaml(n, net.txAddress, file, false, 1, { httpPort: API_PORT, by: 'bench/hls.ts' })
      .replace('\nchannels:\n', `\n  hls: { enabled: true, segmentS: ${SEGMENT_S}, windowS: ${WINDOW_S} }\n${o.nice !== null ? `  dataPlaneNice: ${o.nice}\n` : ''}channels:\n`)
      // No slate: its ffmpeg encoder would take a CPU for seconds (headend/slate.ts), and file channels do not need one here.
      .replace(/^( {4}source: .*)$/gm, '$1\n    slate: false');
    await writeFile(configFile, yaml);
    log(`hls: headend with ${n} channels, HLS ${SEGMENT_S} s segments / ${WINDOW_S} s window${o.probe ? ', timing probe preloaded' : ''}`);
    headend = await startBenchHeadend(net, {
      channels: n,
      configFile,
      dataDir,
      nodeFlags: o.probe ? ['--import', pathToFileURL(PROBE_FILE).href] : [],
      pin: 'none',
      // A known first password: else the headend logs a generated one (the store is thrown away with dataDir).
      env: { ...process.env, ROOMCAST_BENCH_HLS_PROBE: o.probe ? probeFile : '', ROOMCAST_ADMIN_PASSWORD: 'bench-hls-admin-1' },
      log,
      label: 'hls',
    });
    const h = headend;
    const quietBy = Date.now() + 60_000;
    while (childProcesses(h.pid).length > 0 && Date.now() < quietBy) await sleep(500);
    await sleep(o.warmupS * 1000);

    // ---- the observer, in rx
    observer = net.spawn(
      net.rx,
      [process.execPath, THIS_FILE, '--observer', '--api', api, '--hls-dir', hlsDir, '--channels', String(n), '--poll', polled.join(','), '--iface', net.rxAddress, '--max-seconds', String(lifetimeS)],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const obs = observer;
    const obsErr = tail(obs.stderr);
    const obsNext = lineWaiter(obs);
    await obsNext((l) => l === 'ready', 30_000, 'observer').catch((e: Error) => {
      throw new Error(`${e.message}: ${obsErr().trim()}`);
    });
    const phase = (label: string) => obs.stdin!.write(`phase ${label}\n`);
    setup = { upAfterMs: h.upAfterMs, polled };

    // ---- part 1: availability, no HTTP load
    if (o.availSeconds > 0) {
      log(`hls: part 1, segment availability, ${o.availSeconds} s (playlists of channels ${polled.join(', ')} polled around each cut)`);
      const m = await measureWindow(h, statusFile, o.availSeconds, { start: () => phase('avail'), stop: () => phase('-') });
      phases.push({ label: 'avail', kind: 'avail', m, load: null });
    }

    // ---- part 2: A B A B A B
    const order: PhaseKind[] = Array.from({ length: o.rounds }, () => ['A', 'B'] as PhaseKind[]).flat();
    const roundOf = { A: 0, B: 0 };
    for (const kind of order) {
      const label = `${kind}${++roundOf[kind]}`;
      let next: ReturnType<typeof lineWaiter> | null = null;
      let loadErr: () => string = () => '';
      if (kind === 'B') {
        load = net.spawn(
          net.rx,
          [
            process.execPath, THIS_FILE, '--load', '--api', api, '--channels', String(n), '--connections', String(o.connections),
            '--seconds', String(o.settleS + o.seconds + 1), '--rate', String(o.rate), '--newest', String(o.newest), '--client', o.client,
          ],
          { stdio: ['pipe', 'pipe', 'pipe'] },
        );
        loadErr = tail(load.stderr);
        next = lineWaiter(load);
        const l = load;
        await next((x) => x.startsWith('ready '), 30_000, 'load client').catch((e: Error) => {
          l.kill('SIGKILL');
          throw new Error(`${e.message}: ${loadErr().trim()}`);
        });
        l.stdin!.write('go\n');
      }
      await sleep(o.settleS * 1000);
      const m = await measureWindow(h, statusFile, o.seconds, { start: () => phase(label), stop: () => phase('-') });
      let lr: LoadResult | null = null;
      if (next && load) {
        const l = load;
        lr = JSON.parse(
          await next((x) => x.startsWith('{'), 60_000, 'load result').catch((e: Error) => {
            l.kill('SIGKILL');
            throw new Error(`${e.message}: ${loadErr().trim()}`);
          }),
        ) as LoadResult;
        load = null;
      }
      phases.push({ label, kind, m, load: lr });
      workerTid ??= phases[0].m.threads.find((t) => !t.main)?.tid ?? null;
      const s = summarisePhase(phases[phases.length - 1], 0, workerTid);
      log(
        `hls: ${label}: late p50 ${String(s.latenessP50MedianMs)} p99 med ${String(s.latenessP99MedianMs)} max ${String(s.latenessP99MaxMs)} ms, main ${String(s.mainCpuPct)}% worker ${String(s.workerCpuPct)}%` +
          (lr ? `; load ${lr.requestsPerS} req/s ${lr.mbPerS} MB/s p50 ${lr.latencyMs.p50} p99 ${lr.latencyMs.p99} ms` : ''),
      );
    }

    obs.stdin!.write('report\n');
    report = JSON.parse(await obsNext((l) => l.startsWith('{'), 30_000, 'observer report')) as ObserverReport;
    obs.stdin!.end();
    logTail = headendLogTail(h.output());
    // The headend's own HLS counters (status.json), if it reports them.
    try {
      const st = JSON.parse(readFileSync(statusFile, 'utf8')) as Record<string, unknown>;
      hlsCounters = (st.hls as Record<string, unknown>) ?? {};
    } catch {
      /* not there */
    }
    headendStop = await stopChild(h.child, STOP_TIMEOUT_MS);
    headend = null;
    probe = readProbe(probeFile);
  } finally {
    if (headend) await stopChild(headend.child, STOP_TIMEOUT_MS);
    if (load) load.kill('SIGKILL');
    if (observer) observer.kill('SIGKILL');
    await net.destroy();
    await rm(dataDir, { recursive: true, force: true });
  }

  // ---- analysis
  const rep = report!;
  const rows = new Map<string, SegmentRow>();
  const empty: SegObs = { n: 0, name: '', visibleUs: 0, listedUs: 0, prevSendUs: 0, polls: 0, pollError: null, mtimeUs: 0, firstPts: -1 };
  const addRow = (k: string, obs: SegObs | null, p: ProbeEvents | null) => {
    const [nStr, name] = k.split('/');
    const f = parseSegmentFileName(name);
    if (!f) return;
    rows.set(k, {
      ...empty,
      ...(obs ?? {}),
      n: Number(nStr),
      name,
      closedUs: p?.closedUs ?? 0,
      postedUs: p?.postedUs ?? 0,
      indexedUs: p?.indexedUs ?? 0,
      bytes: p?.bytes ?? 0,
      startMs: f.startMs,
      durationMs: f.durationMs,
      phase: null,
      airUs: 0,
      airPatUs: 0,
    });
  };
  for (const s of rep.segments) addRow(`${s.n}/${s.name}`, s, probe.get(`${s.n}/${s.name}`) ?? null);
  for (const [k, p] of probe) if (!rows.has(k)) addRow(k, null, p);
  // Phase of each segment: when the worker closed it (probe), else when its temporary file appeared.
  for (const r of rows.values()) {
    const at = r.closedUs || r.visibleUs;
    r.phase = rep.phases.find((p) => at >= p.fromUs && at < p.toUs)?.label ?? null;
  }
  // The closing I-frame on the multicast: its PTS is the next segment's first PTS.
  const PTS_WRAP = 2 ** 33;
  for (const ch of rep.polled) {
    const list = [...rows.values()].filter((r) => r.n === ch).sort((a, b) => a.startMs - b.startMs);
    const raps = rep.raps[String(ch)] ?? [];
    for (let i = 0; i < list.length; i++) {
      const r = list[i];
      const nextPts = list[i + 1]?.firstPts ?? -1;
      const target = nextPts >= 0 ? nextPts : r.firstPts >= 0 ? (r.firstPts + Math.round(r.durationMs * 90)) % PTS_WRAP : -1;
      if (target < 0) continue;
      // Within a quarter frame at 25 fps (durations in names are rounded to the ms: ±45 ticks).
      const rap = raps.find((x) => Math.abs(((x.pts - target + PTS_WRAP + PTS_WRAP / 2) % PTS_WRAP) - PTS_WRAP / 2) <= 900);
      if (rap) {
        r.airUs = rap.us;
        r.airPatUs = rap.patUs;
      }
    }
  }
  const all = [...rows.values()];
  const inPhase = (pred: (label: string) => boolean) => all.filter((r) => r.phase !== null && pred(r.phase));
  const avail = availability(inPhase((l) => l === 'avail'), rep.offsetUs);
  const availA = availability(inPhase((l) => l.startsWith('A')), rep.offsetUs);
  const availB = availability(inPhase((l) => l.startsWith('B')), rep.offsetUs);

  const summaries = phases.map((p) => summarisePhase(p, rep.cpuPct, workerTid));
  const ab = abCompare(summaries, 'latenessP99MedianMs', TOLERANCE_MS);
  const { byKind, meanOf, spread, aDrift } = ab;
  const loads = byKind('B').map((x) => x.load as LoadResult | null).filter((x): x is LoadResult => x !== null);
  const meanLoad = (f: (l: LoadResult) => number, digits = 1) => (loads.length ? round(loads.reduce((s, l) => s + f(l), 0) / loads.length, digits) : NaN);
  const primary = o.probe ? 'closedToIndexed' : 'visibleToListed';
  const availP99 = (avail[primary] as Dist).p99;
  return {
    name: 'hls',
    input: `${file} (H.264 720p25 GOP 50 = 2 s + AAC, muxrate ${MUXRATE_BPS / 1e6} Mbit/s), looped`,
    lineup: `${n} file channels, one data-plane worker, slate off; headend.hls { enabled: true, segmentS: ${SEGMENT_S}, windowS: ${WINDOW_S} }; pacingDelayMs ${PACING_DELAY_MS} (default); dataPlaneNice ${o.nice ?? '-10 (default)'}`,
    probe: o.probe,
    polled,
    observer: { cpuPct: rep.cpuPct, datagrams: rep.datagrams, errors: rep.errors },
    availability: {
      target: `p99 ≤ ${TARGET_AVAIL_P99_MS} ms`,
      judgedOn: primary,
      p99Ms: availP99,
      met: Number.isFinite(availP99) ? availP99 <= TARGET_AVAIL_P99_MS : null,
      idle: avail,
      underLoadA: availA,
      underLoadB: availB,
    },
    phases: summaries,
    criterion: {
      metric: 'median of the per-channel 1-s pacing lateness p99, ms; per phase, then the mean of the phases of a kind',
      ...ab.criterion,
      aP99SpreadMs: aDrift,
      bP99SpreadMs: spread('B', 'latenessP99MedianMs'),
      p99MaxDiffMs: round(meanOf('B', 'latenessP99MaxMs') - meanOf('A', 'latenessP99MaxMs'), 2),
    },
    throughput: {
      load: `${o.client === 'autocannon' ? 'autocannon' : 'node:http client (bench/hls.ts --load)'}, ${o.connections} connections from rx over the veth, whole segments at random among the newest ${o.newest} of each channel's live playlist, ${o.rate > 0 ? `${o.rate} requests/s in all` : 'as fast as served'}; figures over each B phase's settle + window`,
      requestsPerS: meanLoad((l) => l.requestsPerS),
      mbPerS: meanLoad((l) => l.mbPerS),
      latencyP50Ms: meanLoad((l) => l.latencyMs.p50),
      latencyP99Ms: meanLoad((l) => l.latencyMs.p99),
      segmentBytes: loads[0]?.segmentBytesMean ?? null,
      clientCpuPct: meanLoad((l) => l.cpuPct),
      clientSysCpuPct: meanLoad((l) => l.sysCpuPct),
      failures: loads.reduce((s, l) => s + l.non2xx + l.errors + l.timeouts, 0),
    },
    setup,
    hlsCounters,
    headendLogTail: logTail,
    headendStop,
    durationS: Math.round((Date.now() - t0) / 1000),
  };
}

/* ---- report ---------------------------------------------------------------- */


/** Human-readable tables of a {@link benchHls} result. */
export function formatHls(r: Record<string, unknown>): string {
  const lines: string[] = [];
  const av = r.availability as Record<string, unknown>;
  const idle = av.idle as Record<string, unknown>;
  const la = av.underLoadA as Record<string, unknown>;
  const lb = av.underLoadB as Record<string, unknown>;
  lines.push(`hls: ${String(r.lineup)}; ${String(r.input)}`);
  lines.push(`  1. segment availability (issue 6 target ${String(av.target)}); playlists polled and multicast received for channels ${(r.polled as number[]).join(', ')}; probe ${r.probe ? 'on' : 'off (--no-probe)'}`);
  const rowsDef: [string, string, string][] = [
    ['closedToIndexed', 'worker has the closing I-frame → indexed (probe)', 'in'],
    ['closedToPosted', '  of which: written + renamed + posted (probe)', 'in'],
    ['postedToIndexed', '  of which: message → main thread indexed (probe)', 'in'],
    ['closedToListed', 'worker has the I-frame → playlist answer lists it', 'mix'],
    ['visibleToListed', 'final name appears (inotify) → listed', 'out'],
    ['mtimeToListed', 'file mtime → listed', 'out'],
    ['listedMinusAir', 'listed − closing I-frame on the multicast', 'out'],
    ['closedToAir', 'worker has the I-frame → it is on the multicast', 'mix'],
    ['pdtEndMinusAir', 'PDT of the segment end − closing PAT on air', 'out'],
  ];
  const head = ['n', 'min', 'p50', 'p90', 'p99', 'max'];
  lines.push(`  ${'ms'.padEnd(52)} ${'phase'.padEnd(6)} ${head.map((x) => x.padStart(8)).join(' ')}`);
  for (const [key, label] of rowsDef) {
    for (const [ph, set] of [['idle', idle], ['A', la], ['B', lb]] as const) {
      const d = set?.[key] as Dist | undefined;
      if (!d || d.n === 0) continue;
      lines.push(`  ${(ph === 'idle' ? label : '').padEnd(52)} ${ph.padEnd(6)} ${head.map((x) => cell(d[x as keyof Dist], 8)).join(' ')}`);
    }
  }
  const res = idle.resolution as Record<string, unknown>;
  const resI = res.intervalMs as Dist;
  const i2l = res.indexedToListed as Dist;
  lines.push(
    `  HTTP resolution (idle): the listing lies within an interval of p50 ${String(resI.p50)} / max ${String(resI.max)} ms (send of the last answer without it → arrival of the first with it), ` +
      `${String(res.pollsPerSegment)} polls per segment, listed at the first poll ${String(res.listedAtFirstPoll)}×, poll errors ${String(res.pollErrors)}; probe indexed → listed p50 ${String(i2l.p50)} / p99 ${String(i2l.p99)} ms`,
  );
  const cut = idle.cutSpreadMs as Dist;
  if (cut.n > 0) lines.push(`  the ${String((r.lineup as string).split(' ')[0])} channels' cuts of one GOP round fall within p50 ${String(cut.p50)} / max ${String(cut.max)} ms of each other (same file, started together)`);
  lines.push(
    `  judged on ${String(av.judgedOn)} (idle): p99 ${String(av.p99Ms)} ms, target ${String(av.target)}: ${av.met === null ? '—' : av.met ? 'met' : 'MISSED'}. ` +
      'Relative to the multicast the segment is listed before its closing I-frame is sent (the pacer sends pacingDelayMs and more after the worker has it).',
  );
  lines.push('');
  const c = r.criterion as Record<string, unknown>;
  const t = r.throughput as Record<string, unknown>;
  lines.push(`  2. HTTP segments while ${String((r.lineup as string).split(' ')[0])} channels multicast: ${String(t.load)}`);
  const cols: [string, string, number][] = [
    ['phase', '', 6],
    ['CPU %', 'cpuPct', 6],
    ['main %', 'mainCpuPct', 7],
    ['dp %', 'workerCpuPct', 6],
    ['dp pre/s', 'workerPreemptPerS', 9],
    ['late p50', 'latenessP50MedianMs', 9],
    ['p99 med', 'latenessP99MedianMs', 8],
    ['p99 p90', 'latenessP99P90Ms', 8],
    ['p99 max', 'latenessP99MaxMs', 8],
    ['late max', 'latenessMaxMs', 9],
    ['busy %', 'hostBusyPct', 7],
    ['other %', 'otherCpuPct', 8],
    ['steal %', 'hostStealPct', 8],
    ['PSI %', 'cpuPressureSomePct', 6],
  ];
  const lc: [string, (l: LoadResult) => unknown, number][] = [
    ['req/s', (l) => l.requestsPerS, 7],
    ['MB/s', (l) => l.mbPerS, 7],
    ['p50 ms', (l) => l.latencyMs.p50, 7],
    ['p99 ms', (l) => l.latencyMs.p99, 7],
    ['fail', (l) => l.non2xx + l.errors + l.timeouts, 5],
    ['cli %', (l) => l.cpuPct, 6],
  ];
  lines.push('  ' + cols.map(([hd, , w]) => (hd === 'phase' ? hd.padEnd(w) : hd.padStart(w))).join(' ') + ' |' + lc.map(([hd, , w]) => hd.padStart(w)).join(' '));
  for (const x of r.phases as Record<string, unknown>[]) {
    const l = x.load as LoadResult | null;
    lines.push(
      '  ' + cols.map(([, k, w]) => (k === '' ? String(x.phase).padEnd(w) : cell(x[k], w))).join(' ') + ' |' + lc.map(([, f, w]) => cell(l ? f(l) : null, w)).join(' '),
    );
  }
  lines.push('  (avail = part 1, no HTTP load other than the observer\'s polls. CPU: 100 % = one core; main = headend main thread (API, HLS index), dp = data-plane worker, dp pre/s its involuntary context switches per s; other % ≈ the rest of the machine in one-core %,');
  lines.push('   busy − headend − observer − load client. Lateness: the pacer\'s per-channel 1-s histograms from status.json, ms. Load: the client\'s, over the B phase\'s settle + window; cli % = its CPU)');
  const signed = (x: unknown) => `${(x as number) >= 0 ? '+' : ''}${String(x)}`;
  if (!(r.phases as Record<string, unknown>[]).some((x) => String(x.phase).startsWith('B'))) {
    lines.push('  part 2 not run (--rounds 0)');
    return lines.join('\n');
  }
  lines.push(
    `  throughput (mean of the B phases): ${String(t.requestsPerS)} req/s, ${String(t.mbPerS)} MB/s, latency p50 ${String(t.latencyP50Ms)} / p99 ${String(t.latencyP99Ms)} ms per ${Math.round(Number(t.segmentBytes) / 1024)} KiB segment, failures ${String(t.failures)}, client CPU ${String(t.clientCpuPct)} % (of which kernel ${String(t.clientSysCpuPct)} %)`,
  );
  lines.push(
    `  criterion: pacing lateness p99 (median of the per-channel 1-s p99s, mean over the phases) A ${String(c.aMs)} ms, B ${String(c.bMs)} ms: B − A = ${signed(c.diffMs)} ms ` +
      `(pairs ${(c.pairDiffsMs as number[]).map(signed).join(', ')}), |B − A| ≤ ${String(c.toleranceMs)} ms ${c.holds ? 'holds' : 'does NOT hold'}` +
      (c.resolved ? ` (resolved: the A phases differ by ${String(c.aP99SpreadMs ?? 0)} ms among themselves)` : `, NOT RESOLVED: the A phases alone differ by ${String(c.aP99SpreadMs)} ms`),
  );
  lines.push(`  not judged: B − A of p99 max ${signed(c.p99MaxDiffMs)} ms`);
  const ph = r.phases as Record<string, unknown>[];
  for (const x of [ph.find((y) => String(y.phase).startsWith('A')), ph.filter((y) => String(y.phase).startsWith('B')).pop()]) {
    if (x) lines.push(`  headend threads in ${String(x.phase)}: ${(x.threads as string[]).join(', ')}`);
  }
  const obs = r.observer as Record<string, unknown>;
  lines.push(
    `  observer CPU ${String(obs.cpuPct)} %${(obs.errors as string[]).length ? `, errors: ${(obs.errors as string[]).join('; ')}` : ''}; headend: ${String(r.headendStop)}; run ${String(r.durationS)} s` +
      ((r.headendLogTail as string[]).length ? `; log tail: ${(r.headendLogTail as string[]).join(' | ')}` : ''),
  );
  return lines.join('\n');
}

/* ---- command line ------------------------------------------------------------ */

async function cli(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string' },
      'avail-seconds': { type: 'string' },
      rounds: { type: 'string' },
      settle: { type: 'string' },
      warmup: { type: 'string' },
      channels: { type: 'string' },
      poll: { type: 'string' },
      connections: { type: 'string' },
      rate: { type: 'string' },
      newest: { type: 'string' },
      client: { type: 'string' },
      nice: { type: 'string' },
      'no-probe': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const r = await benchHls({
    seconds: num(values.seconds),
    availSeconds: num(values['avail-seconds']),
    rounds: num(values.rounds),
    settleS: num(values.settle),
    warmupS: num(values.warmup),
    channels: num(values.channels),
    poll: num(values.poll),
    connections: num(values.connections),
    rate: num(values.rate),
    newest: num(values.newest),
    client: values.client === undefined ? undefined : (values.client as 'node' | 'autocannon'),
    probe: !values['no-probe'],
    nice: num(values.nice),
  });
  console.log(formatHls(r));
  if (values.json) console.log(JSON.stringify(r));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.includes('--observer')) await observerMain(process.argv.slice(2));
  else if (process.argv.includes('--load')) await loadMain(process.argv.slice(2));
  else await cli();
}
