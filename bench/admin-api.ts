/**
 * Benchmark of issue 5: the admin API under load must not disturb the data
 * plane. "API latency for GET /api/channels with 500 channels and a status
 * stream to 20 browsers, while the data plane sends 50 channels: the data
 * plane's pacing lateness p99 must not change by more than 0.5 ms."
 *
 * Set-up (bench/pacing.ts's machinery: namespaces, source file, headend
 * start, window measurement, receiver): the built headend in `tx` with 50
 * enabled `file` channels of the 8 Mbit/s CBR source (239.255.50.k:5000, one
 * worker) and 450 more with `enabled: false` (numbers 1001…, in the store and
 * the API, not on the air): the store holds 500 channels. Its API listens on
 * 10.98.0.1:8080. The receiver (pacing.ts `--receiver`) in `rx` joins 10 of
 * the 50 groups. The load client (this file with `--load`) runs in `rx` too,
 * so API traffic crosses the same veth as the multicast, as a browser's would:
 *   - it logs in as admin (ROOMCAST_ADMIN_PASSWORD, then the forced password
 *     change, with the Origin header the CSRF check wants), checks that
 *     GET /api/channels lists 500 channels;
 *   - it creates a viewer user per browser and logs each in from its own
 *     address (10.98.0.10 …, added to rx's eth0): one session cookie per
 *     browser; the login rate limit (10 a minute per address) is not hit, nor
 *     the store's 20 sessions per user (a 21st login ends the oldest);
 *   - during a B phase: 20 server-sent-event streams on /api/status/stream
 *     (one TCP connection each; the API allows 50 at once, maxStatusStreams'
 *     default) and GET /api/channels at a fixed rate (default 10/s, open
 *     loop: a request is sent every 100 ms whether or not the previous one
 *     has answered, at most 8 outstanding; `--rate 0` is a closed loop, the
 *     next request as soon as the previous one ends). Latency = request sent
 *     → last byte of the response, at the client.
 *
 * Phases of equal length: A = data plane alone (no stream open, no request),
 * B = data plane + the API load, in the order A B A B A B (`--rounds 3`):
 * the machine is a shared 2-vCPU VM whose other tenants (test suites with
 * Chromium and ffmpeg) come and go within a minute; the A phases among
 * themselves show how much that moves the figures, and a B − A difference
 * that the drift could move across the tolerance is not resolved (the run
 * says so). Each phase
 * starts with a settle (default 2 s, not measured: the streams connect or
 * close, and status.json's 1-s windows that straddle the switch go by),
 * then its window: pacing lateness from status.json (each channel's own 1-s
 * histogram, 0.1-ms buckets: p50 and p99 per window), CPU of the headend
 * process and of each thread (main = the API; the busiest other thread = the
 * data-plane worker), the machine's busy / steal / CPU pressure and what the
 * rest of the machine used (busy − headend − receiver − load client), and
 * the receiver's RFC 4445 delay factor.
 *
 * The criterion is judged on the median of the per-channel 1-s p99s of each
 * phase, averaged over the phases of a kind: |B − A| ≤ 0.5 ms. (Not the
 * median of the pooled windows: when the background changes between two A
 * phases those are bimodal.) The max of those p99s (one bad second of one
 * channel) and the DF are printed too, but are too noisy here to judge.
 * The figures are reported, never asserted (STYLE.md §6).
 *
 * Before phase A the headend must be quiet: its slates (ffmpeg at nice 19,
 * headend/slate.ts) are awaited (bounded), then a warm-up.
 *
 * Run: npm run build && node dist/bench/admin-api.js [--seconds 15] [--rounds 3]
 *      [--rate 10] [--streams 20] [--settle 2] [--warmup 3] [--cpu-prof DIR] [--json]
 * Needs root (network namespaces) and ffmpeg (for the source file, once).
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { abCompare, cell, pct } from './report.js';
import { createBenchNet, type BenchNet } from './netns.js';
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
  startReceiver,
  STOP_TIMEOUT_MS,
  summariseCpuProfiles,
  summariseDf,
  type BenchHeadend,
  type LatenessWindow,
  type Receiver,
  type ReceiverResult,
  type WindowMeasure,
} from './pacing.js';
import { childProcesses, lineWaiter, stopChild, tail } from './proc.js';

const THIS_FILE = fileURLToPath(import.meta.url);
/** The issue's figures. */
const ENABLED_CHANNELS = 50;
const STORED_CHANNELS = 500;
const TOLERANCE_MS = 0.5;
const API_PORT = 8080;
/** The first browser's address in rx; browser i is .(10 + i), the channel-list client the next one. */
const FIRST_CLIENT_HOST = 10;
/** headend/control/admin-api.ts maxStatusStreams default: a 51st stream gets 503. */
const API_MAX_STREAMS = 50;
const ADMIN_INITIAL_PASSWORD = 'bench-initial-admin-1';
const ADMIN_PASSWORD = 'bench-changed-admin-2';
const VIEWER = 'bench-viewer';
const VIEWER_PASSWORD = 'bench-viewer-pass-3';
/** Open loop: requests outstanding at once before a tick is skipped (and counted). */
const MAX_OUTSTANDING = 8;
const REQUEST_TIMEOUT_MS = 10_000;

export interface AdminApiBenchOptions {
  /** Length of each phase's measurement window, s. Default 15. */
  seconds?: number;
  /** A B pairs. Default 3 (A B A B A B). */
  rounds?: number;
  /** Before each window, not measured, s. Default 2. */
  settleS?: number;
  /** After every channel is up and the slates are made, s. Default 3. */
  warmupS?: number;
  /** Status streams (browsers) during B. Default 20. */
  streams?: number;
  /** GET /api/channels per second during B; 0 = closed loop. Default 10. */
  rate?: number;
  /** Channels the receiver joins. Default 10. */
  sample?: number;
  /** Run the headend with `node --cpu-prof` into this directory and summarise the profiles. */
  cpuProfDir?: string | null;
  /** Progress lines. Default: stderr. */
  log?: (line: string) => void;
}

/* ======================================================================== */
/* Load client (this file run with --load, inside the rx namespace)          */
/* ======================================================================== */

interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  bytes: number;
  ttfbMs: number;
  totalMs: number;
}

function httpRequest(
  base: URL,
  method: string,
  path: string,
  o: { localAddress: string; headers?: Record<string, string>; body?: unknown; agent?: http.Agent; keepBody?: boolean },
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const body = o.body === undefined ? null : Buffer.from(JSON.stringify(o.body));
    const t0 = performance.now();
    const req = http.request(
      {
        host: base.hostname,
        port: base.port,
        method,
        path,
        localAddress: o.localAddress,
        agent: o.agent ?? false,
        timeout: REQUEST_TIMEOUT_MS,
        headers: {
          ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}),
          // auth.ts checkSameOrigin: state-changing requests name this server.
          ...(method !== 'GET' ? { origin: base.origin } : {}),
          ...o.headers,
        },
      },
      (res) => {
        const ttfbMs = performance.now() - t0;
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
          if (o.keepBody !== false) chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), bytes, ttfbMs, totalMs: performance.now() - t0 }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(body ?? undefined);
  });
}

function cookieOf(r: HttpResult): string {
  const sc = r.headers['set-cookie'];
  const c = (Array.isArray(sc) ? sc[0] : sc ?? '').split(';')[0];
  if (!c) throw new Error('no session cookie in the answer');
  return c;
}

async function expectOk(what: string, p: Promise<HttpResult>): Promise<HttpResult> {
  const r = await p;
  if (r.status < 200 || r.status >= 300) throw new Error(`${what}: HTTP ${r.status} ${r.body.toString('utf8').slice(0, 300)}`);
  return r;
}

/** One browser's status stream: events counted by their blank-line terminator (the WHATWG SSE format). */
class StatusStream {
  status = 0;
  events = 0;
  bytes = 0;
  maxGapMs = 0;
  lastEventAt = 0;
  firstEventChannels = -1;
  error: string | null = null;
  private pending = '';
  private req: http.ClientRequest | null = null;
  private gotFirst: (() => void) | null = null;
  readonly first: Promise<void>;

  constructor(base: URL, localAddress: string, cookie: string) {
    this.first = new Promise<void>((r) => (this.gotFirst = r));
    this.req = http.get(
      { host: base.hostname, port: base.port, path: '/api/status/stream', localAddress, agent: false, headers: { cookie, accept: 'text/event-stream' } },
      (res) => {
        this.status = res.statusCode ?? 0;
        res.setEncoding('utf8');
        res.on('data', (s: string) => this.onData(s));
        res.on('error', (e) => (this.error ??= e.message));
        res.on('end', () => this.gotFirst?.());
      },
    );
    this.req.on('error', (e) => {
      this.error ??= e.message;
      this.gotFirst?.();
    });
  }

  private onData(s: string): void {
    this.bytes += s.length;
    this.pending += s;
    let i: number;
    while ((i = this.pending.indexOf('\n\n')) >= 0) {
      const block = this.pending.slice(0, i);
      this.pending = this.pending.slice(i + 2);
      const at = block.startsWith('data: ') ? 0 : block.indexOf('\ndata: ');
      if (at < 0) continue; // `retry:` alone
      const now = performance.now();
      if (this.events > 0 && now - this.lastEventAt > this.maxGapMs) this.maxGapMs = now - this.lastEventAt;
      this.lastEventAt = now;
      if (this.firstEventChannels < 0) {
        try {
          this.firstEventChannels = (JSON.parse(block.slice(at === 0 ? 6 : at + 7)) as { channels: unknown[] }).channels.length;
        } catch {
          this.firstEventChannels = 0;
        }
      }
      this.events++;
      this.gotFirst?.();
      this.gotFirst = null;
    }
  }

  /** Counting from now (the window's start); the inter-event gap too. */
  reset(): void {
    this.events = 0;
    this.bytes = 0;
    this.maxGapMs = 0;
  }

  close(): void {
    this.req?.destroy();
    this.req = null;
  }
}

interface LoadPhaseResult {
  windowMs: number;
  cpuPct: number;
  channels: {
    mode: string;
    sent: number;
    ok: number;
    failed: number;
    errors: string[];
    skipped: number;
    bytesPerResponse: number;
    /** Request sent → last byte, ms, every request of the window (pooled by the orchestrator). */
    latencyMs: number[];
    ttfbMs: number[];
  };
  sse: { streams: number; open: number; statusCodes: number[]; events: number; eventsPerSPerStream: number; bytesPerEvent: number; maxGapMs: number; channelsPerEvent: number; errors: string[] };
}

async function loadMain(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      load: { type: 'boolean' },
      api: { type: 'string' },
      'admin-from': { type: 'string' },
      from: { type: 'string' },
      rate: { type: 'string' },
      'max-seconds': { type: 'string' },
    },
    strict: true,
  });
  const base = new URL(values.api ?? '');
  const adminFrom = values['admin-from'] ?? '';
  const from = (values.from ?? '').split(',').filter(Boolean);
  const rate = Number(values.rate ?? 10);
  const maxSeconds = Number(values['max-seconds'] ?? 600);
  if (!adminFrom || from.length < 2 || !(rate >= 0) || !(maxSeconds > 0)) {
    process.stderr.write('load: --api, --admin-from, --from (browsers…, channel client) and --rate are required\n');
    process.exit(2);
  }
  const deadline = setTimeout(() => {
    process.stderr.write(`load: no exit after ${maxSeconds} s, exiting\n`);
    process.exit(3);
  }, maxSeconds * 1000);
  const browsers = from.slice(0, -1);
  const listFrom = from[from.length - 1];

  // ---- set-up: test/helpers/headend.ts adminSession(), then a viewer per browser.
  const t0 = performance.now();
  const login = (username: string, password: string, localAddress: string) =>
    expectOk(`login ${username} from ${localAddress}`, httpRequest(base, 'POST', '/api/login', { localAddress, body: { username, password } }));
  const first = await login('admin', ADMIN_INITIAL_PASSWORD, adminFrom);
  const changed = await expectOk(
    'admin password change',
    httpRequest(base, 'POST', '/api/me/password', { localAddress: adminFrom, headers: { cookie: cookieOf(first) }, body: { current: ADMIN_INITIAL_PASSWORD, new: ADMIN_PASSWORD } }),
  );
  const admin = cookieOf(changed);
  const list = await expectOk('GET /api/channels', httpRequest(base, 'GET', '/api/channels', { localAddress: adminFrom, headers: { cookie: admin } }));
  const listed = (JSON.parse(list.body.toString('utf8')) as { channels: { enabled?: boolean }[] }).channels;
  // One user per browser: the store keeps 20 sessions per user (headend/store/sessions.ts
  // DEFAULT_SESSIONS_PER_USER), and a 21st login of the same user would end the oldest.
  const cookies: string[] = [];
  for (let i = 0; i < from.length; i++) {
    const username = `${VIEWER}-${i + 1}`;
    await expectOk(
      `create ${username}`,
      httpRequest(base, 'POST', '/api/users', { localAddress: adminFrom, headers: { cookie: admin }, body: { username, role: 'viewer', password: VIEWER_PASSWORD, mustChangePassword: false } }),
    );
    cookies.push(cookieOf(await login(username, VIEWER_PASSWORD, from[i])));
  }
  process.stdout.write(
    'ready ' +
      JSON.stringify({
        setupMs: Math.round(performance.now() - t0),
        channelsListed: listed.length,
        channelsEnabled: listed.filter((c) => c.enabled !== false).length,
        listBytes: list.bytes,
        listColdMs: round(list.totalMs, 1),
        sessions: cookies.length,
      }) +
      '\n',
  );

  // ---- phases
  const agent = new http.Agent({ keepAlive: true, maxSockets: MAX_OUTSTANDING });
  const listCookie = cookies[cookies.length - 1];
  let streams: StatusStream[] = [];
  let running = false;
  let ticker: NodeJS.Timeout | null = null;
  let outstanding = 0;
  let stats = { sent: 0, ok: 0, failed: 0, skipped: 0, bytes: 0, errors: new Map<string, number>(), latencyMs: [] as number[], ttfbMs: [] as number[] };
  let w0 = 0;
  let cpu0 = process.cpuUsage();
  const freshStats = () => ({ sent: 0, ok: 0, failed: 0, skipped: 0, bytes: 0, errors: new Map<string, number>(), latencyMs: [] as number[], ttfbMs: [] as number[] });

  const getChannels = (): Promise<void> => {
    const s = stats;
    s.sent++;
    outstanding++;
    return httpRequest(base, 'GET', '/api/channels', { localAddress: listFrom, headers: { cookie: listCookie }, agent, keepBody: false }).then(
      (r) => {
        outstanding--;
        if (r.status === 200) {
          s.ok++;
          s.bytes += r.bytes;
          s.latencyMs.push(round(r.totalMs, 3));
          s.ttfbMs.push(round(r.ttfbMs, 3));
        } else {
          s.failed++;
          s.errors.set(`HTTP ${r.status}`, (s.errors.get(`HTTP ${r.status}`) ?? 0) + 1);
        }
      },
      (e: Error) => {
        outstanding--;
        s.failed++;
        s.errors.set(e.message, (s.errors.get(e.message) ?? 0) + 1);
      },
    );
  };
  const closedLoop = async (): Promise<void> => {
    while (running) await getChannels();
  };

  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (line === 'on') {
      // The browsers connect, each with its own session, from its own address.
      streams = browsers.map((a, i) => new StatusStream(base, a, cookies[i]));
      void Promise.race([Promise.all(streams.map((s) => s.first)), sleep(10_000)]).then(() => {
        stats = freshStats();
        running = true;
        if (rate > 0) {
          ticker = setInterval(() => {
            if (outstanding >= MAX_OUTSTANDING) stats.skipped++;
            else void getChannels();
          }, 1000 / rate);
        } else {
          void closedLoop();
        }
        process.stdout.write(`on ${streams.filter((s) => s.events > 0).length}\n`);
      });
    } else if (line === 'measure') {
      stats = freshStats();
      for (const s of streams) s.reset();
      w0 = performance.now();
      cpu0 = process.cpuUsage();
    } else if (line === 'off') {
      // The window's end: figures first, then the load stops.
      const windowMs = performance.now() - w0;
      const cpu = process.cpuUsage(cpu0);
      const s = stats;
      const sse = streams.map((x) => ({ status: x.status, events: x.events, bytes: x.bytes, maxGapMs: x.maxGapMs, channels: x.firstEventChannels, error: x.error, open: x.error === null && x.status === 200 }));
      running = false;
      if (ticker) clearInterval(ticker);
      ticker = null;
      for (const x of streams) x.close();
      streams = [];
      const events = sse.reduce((a, x) => a + x.events, 0);
      const result: LoadPhaseResult = {
        windowMs: Math.round(windowMs),
        cpuPct: round(((cpu.user + cpu.system) / 1000 / windowMs) * 100, 2),
        channels: {
          mode: rate > 0 ? `open loop ${rate}/s` : 'closed loop',
          sent: s.sent,
          ok: s.ok,
          failed: s.failed,
          errors: [...s.errors.entries()].map(([k, v]) => `${v}× ${k}`),
          skipped: s.skipped,
          bytesPerResponse: s.ok > 0 ? Math.round(s.bytes / s.ok) : 0,
          latencyMs: s.latencyMs,
          ttfbMs: s.ttfbMs,
        },
        sse: {
          streams: sse.length,
          open: sse.filter((x) => x.open).length,
          statusCodes: [...new Set(sse.map((x) => x.status))],
          events,
          eventsPerSPerStream: sse.length > 0 ? round(events / sse.length / (windowMs / 1000), 2) : 0,
          bytesPerEvent: events > 0 ? Math.round(sse.reduce((a, x) => a + x.bytes, 0) / events) : 0,
          maxGapMs: round(max(sse.map((x) => x.maxGapMs)), 1),
          channelsPerEvent: sse.find((x) => x.open)?.channels ?? -1,
          errors: [...new Set(sse.map((x) => x.error).filter((e): e is string => e !== null))],
        },
      };
      process.stdout.write(JSON.stringify(result) + '\n');
    }
  });
  rl.on('close', () => {
    clearTimeout(deadline);
    for (const x of streams) x.close();
    agent.destroy();
    process.stdout.write('', () => process.exit(0));
  });
}

/* ======================================================================== */
/* Orchestration                                                            */
/* ======================================================================== */

interface LoadClient {
  child: ChildProcess;
  setup: Record<string, unknown>;
  on(): Promise<number>;
  measure(): void;
  off(): Promise<LoadPhaseResult>;
}

async function startLoadClient(net: BenchNet, apiUrl: string, from: string[], rate: number, maxSeconds: number): Promise<LoadClient> {
  const child = net.spawn(
    net.rx,
    [process.execPath, THIS_FILE, '--load', '--api', apiUrl, '--admin-from', net.rxAddress, '--from', from.join(','), '--rate', String(rate), '--max-seconds', String(Math.ceil(maxSeconds))],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const err = tail(child.stderr);
  const next = lineWaiter(child);
  const fail = (e: unknown): never => {
    child.kill('SIGKILL');
    throw new Error(`load client: ${(e as Error).message}: ${err().trim()}`);
  };
  let setup: Record<string, unknown> = {};
  try {
    setup = JSON.parse((await next((l) => l.startsWith('ready '), 60_000, 'logins')).slice(6)) as Record<string, unknown>;
  } catch (e) {
    fail(e);
  }
  return {
    child,
    setup,
    on: async () => {
      child.stdin!.write('on\n');
      try {
        return Number((await next((l) => l.startsWith('on '), 20_000, 'streams open')).slice(3));
      } catch (e) {
        return fail(e);
      }
    },
    measure: () => child.stdin!.write('measure\n'),
    off: async () => {
      child.stdin!.write('off\n');
      try {
        return JSON.parse(await next((l) => l.startsWith('{'), 10_000, 'load result')) as LoadPhaseResult;
      } catch (e) {
        return fail(e);
      }
    },
  };
}



function latencySummary(latencyMs: number[], ttfbMs: number[]) {
  return {
    n: latencyMs.length,
    p50Ms: round(pct(latencyMs, 50), 2),
    p95Ms: round(pct(latencyMs, 95), 2),
    p99Ms: round(pct(latencyMs, 99), 2),
    maxMs: round(max(latencyMs), 2),
    ttfbP50Ms: round(pct(ttfbMs, 50), 2),
  };
}

type PhaseKind = 'A' | 'B';

interface PhaseRecord {
  kind: PhaseKind;
  round: number;
  m: WindowMeasure;
  rx: ReceiverResult;
  load: LoadPhaseResult | null;
}

/** Lateness, CPU and DF of one phase or of all the phases of a kind, pooled. */
function summarisePhases(label: string, ps: PhaseRecord[]): Record<string, unknown> {
  const windows: LatenessWindow[] = ps.flatMap((p) => p.m.windows);
  const p99s = windows.map((w) => w.p99);
  const wall = ps.reduce((a, p) => a + p.m.wallS, 0);
  // Thread CPU weighted by each phase's length. The data-plane worker: the busiest thread that is not main.
  const threadPct = (pick: (p: PhaseRecord) => number) => round(ps.reduce((a, p) => a + pick(p) * p.m.wallS, 0) / wall, 1);
  const mainPct = (p: PhaseRecord) => p.m.threads.find((t) => t.main)?.cpuPct ?? 0;
  const workerPct = (p: PhaseRecord) => p.m.threads.find((t) => !t.main)?.cpuPct ?? 0;
  const dfs = ps.flatMap((p) => p.rx.channels.flatMap((c) => c.dfMs));
  const out: Record<string, unknown> = {
    phase: label,
    windowS: round(wall, 1),
    cpuPct: threadPct((p) => p.m.cpuPct),
    mainCpuPct: threadPct(mainPct),
    workerCpuPct: threadPct(workerPct),
    mainPreemptPerS: threadPct((p) => p.m.threads.find((t) => t.main)?.preemptPerS ?? 0),
    workerPreemptPerS: threadPct((p) => p.m.threads.find((t) => !t.main)?.preemptPerS ?? 0),
    hostBusyPct: threadPct((p) => p.m.hostBusyPct),
    // Everything else on the machine, in one-core %: the other tenants of this shared VM
    // (approximate: the kernel's own work is charged to whoever is on the CPU).
    otherCpuPct: threadPct((p) => Math.max(0, (p.m.hostBusyPct * CPUS) - p.m.cpuPct - p.rx.cpuPct - (p.load?.cpuPct ?? 0))),
    hostStealPct: threadPct((p) => p.m.hostStealPct),
    cpuPressureSomePct: ps.every((p) => p.m.cpuPressureSomePct !== null) ? threadPct((p) => p.m.cpuPressureSomePct!) : null,
    datagramsPerS: Math.round(ps.reduce((a, p) => a + p.m.datagramsPerS * p.m.wallS, 0) / wall),
    latenessWindows: windows.length,
    latenessP50MedianMs: round(median(windows.map((w) => w.p50)), 3),
    latenessP99MedianMs: round(median(p99s), 3),
    latenessP99P90Ms: round(pct(p99s, 90), 3),
    latenessP99MaxMs: round(max(p99s), 2),
    latenessMaxMs: round(max(windows.map((w) => w.max)), 2),
    dfWorstMs: round(max(dfs), 2),
    dfMedianMs: round(median(dfs), 2),
    dfIntervals: dfs.length,
    rxLost: ps.reduce((a, p) => a + summariseDf(p.rx).rxLost, 0),
    receiverCpuPct: round(ps.reduce((a, p) => a + p.rx.cpuPct * p.m.wallS, 0) / wall, 2),
    counters: Object.fromEntries(
      Object.keys(ps[0]?.m.counters ?? {}).map((k) => [k, ps.reduce((a, p) => a + (p.m.counters[k] ?? 0), 0)]),
    ),
  };
  const loads = ps.map((p) => p.load).filter((l): l is LoadPhaseResult => l !== null);
  if (loads.length > 0) {
    const lw = loads.reduce((a, l) => a + l.windowMs, 0);
    out.api = {
      channels: {
        ...latencySummary(
          loads.flatMap((l) => l.channels.latencyMs),
          loads.flatMap((l) => l.channels.ttfbMs),
        ),
        perS: round(loads.reduce((a, l) => a + l.channels.ok, 0) / (lw / 1000), 1),
        failed: loads.reduce((a, l) => a + l.channels.failed, 0),
        skipped: loads.reduce((a, l) => a + l.channels.skipped, 0),
        errors: loads.flatMap((l) => l.channels.errors),
        bytesPerResponse: loads[0].channels.bytesPerResponse,
      },
      sse: {
        streams: loads[0].sse.streams,
        open: Math.min(...loads.map((l) => l.sse.open)),
        eventsPerSPerStream: round(loads.reduce((a, l) => a + l.sse.eventsPerSPerStream * l.windowMs, 0) / lw, 2),
        bytesPerEvent: loads[0].sse.bytesPerEvent,
        channelsPerEvent: loads[0].sse.channelsPerEvent,
        maxGapMs: round(max(loads.map((l) => l.sse.maxGapMs)), 1),
        statusCodes: [...new Set(loads.flatMap((l) => l.sse.statusCodes))],
        errors: [...new Set(loads.flatMap((l) => l.sse.errors))],
      },
      clientCpuPct: round(loads.reduce((a, l) => a + l.cpuPct * l.windowMs, 0) / lw, 1),
    };
  }
  return out;
}

export async function benchAdminApi(opts: AdminApiBenchOptions = {}): Promise<Record<string, unknown>> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const o = {
    seconds: opts.seconds ?? 15,
    rounds: opts.rounds ?? 3,
    settleS: opts.settleS ?? 2,
    warmupS: opts.warmupS ?? 3,
    streams: opts.streams ?? 20,
    rate: opts.rate ?? 10,
    sample: opts.sample ?? 10,
    cpuProfDir: opts.cpuProfDir ?? null,
  };
  if (!(o.seconds >= 3 && o.seconds <= 300)) throw new RangeError(`seconds: ${o.seconds} is not in 3..300`);
  if (!Number.isInteger(o.rounds) || o.rounds < 1 || o.rounds > 10) throw new RangeError(`rounds: ${o.rounds} is not in 1..10`);
  if (!(o.settleS >= 0 && o.settleS <= 30)) throw new RangeError(`settle: ${o.settleS} is not in 0..30`);
  if (!(o.warmupS >= 0 && o.warmupS <= 60)) throw new RangeError(`warmup: ${o.warmupS} is not in 0..60`);
  if (!Number.isInteger(o.streams) || o.streams < 1 || o.streams > API_MAX_STREAMS) throw new RangeError(`streams: ${o.streams} is not in 1..${API_MAX_STREAMS} (the API's maxStatusStreams)`);
  if (!(o.rate >= 0 && o.rate <= 1000)) throw new RangeError(`rate: ${o.rate} is not in 0..1000 (0 = closed loop)`);
  if (!Number.isInteger(o.sample) || o.sample < 1 || o.sample > 20) throw new RangeError(`sample: ${o.sample} is not in 1..20`);

  const n = ENABLED_CHANNELS;
  const file = makeSource(log);
  const phaseS = o.settleS + o.seconds;
  const lifetimeS = 120 + o.warmupS + 2 * o.rounds * (phaseS + 15);
  const net = await createBenchNet();
  const dataDir = await mkdtemp(join(tmpdir(), 'roomcast-bench-admin-api-'));
  const configFile = join(dataDir, 'channels.yaml');
  const statusFile = join(dataDir, 'status.json');
  let headend: BenchHeadend | null = null;
  let receiver: Receiver | null = null;
  let load: LoadClient | null = null;
  const phases: PhaseRecord[] = [];
  const t0 = Date.now();
  let setup: Record<string, unknown> = {};
  let logTail: string[] = [];
  let headendStop = '';
  try {
    // One address per browser, and one for the channel-list client, on rx's side of the veth.
    const from = Array.from({ length: o.streams + 1 }, (_, i) => `10.98.0.${FIRST_CLIENT_HOST + i}`);
    for (const a of from) await net.exec(net.rx, ['ip', 'addr', 'add', `${a}/24`, 'dev', 'eth0']);
    await writeFile(configFile, lineupYaml(n, net.txAddress, file, false, 1, { disabled: STORED_CHANNELS - n, httpPort: API_PORT, by: 'bench/admin-api.ts' }));
    receiver = await startReceiver(
      net,
      sampleChannels(n, o.sample).map((k) => groupOf(n, k)),
      lifetimeS,
      'none',
      o.seconds + 10,
    );
    const rcv = receiver;
    log(`admin-api: headend with ${n} channels on the air of ${STORED_CHANNELS} stored`);
    headend = await startBenchHeadend(net, {
      channels: n,
      configFile,
      dataDir,
      nodeFlags: o.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', o.cpuProfDir] : [],
      pin: 'none',
      env: { ...process.env, ROOMCAST_ADMIN_PASSWORD: ADMIN_INITIAL_PASSWORD },
      log,
      label: 'admin-api',
    });
    const h = headend;
    // The slates (ffmpeg at nice 19, made once per data directory) take a CPU for seconds: not in phase A.
    const quietBy = Date.now() + 90_000;
    let slateWaitMs = 0;
    const ts = Date.now();
    while (childProcesses(h.pid).length > 0 && Date.now() < quietBy) await sleep(500);
    slateWaitMs = Date.now() - ts;
    const busy = childProcesses(h.pid);
    if (busy.length > 0) log(`admin-api: the headend still runs ${busy.map((c) => c.comm).join(', ')} after 90 s; measuring anyway`);
    load = await startLoadClient(net, `http://${net.txAddress}:${API_PORT}`, from, o.rate, lifetimeS);
    const lc = load;
    setup = { upAfterMs: h.upAfterMs, slateWaitMs, ...lc.setup };
    log(`admin-api: up in ${h.upAfterMs} ms, slates ${slateWaitMs} ms, logins: ${JSON.stringify(lc.setup)}`);
    if (lc.setup.channelsListed !== STORED_CHANNELS) log(`admin-api: GET /api/channels lists ${String(lc.setup.channelsListed)} channels, not ${STORED_CHANNELS}`);
    await sleep(o.warmupS * 1000);

    const order: PhaseKind[] = Array.from({ length: o.rounds }, () => ['A', 'B'] as PhaseKind[]).flat();
    const roundOf = { A: 0, B: 0 };
    for (const kind of order) {
      const r = ++roundOf[kind];
      if (kind === 'B') {
        const open = await lc.on();
        if (open !== o.streams) log(`admin-api: ${open} of ${o.streams} status streams got an event`);
      }
      await sleep(o.settleS * 1000);
      const box: { rx?: Promise<ReceiverResult>; load?: Promise<LoadPhaseResult> } = {};
      const m = await measureWindow(h, statusFile, o.seconds, {
        start: () => {
          rcv.start();
          if (kind === 'B') lc.measure();
        },
        stop: () => {
          box.rx = rcv.stop();
          if (kind === 'B') box.load = lc.off();
        },
      });
      const rec: PhaseRecord = { kind, round: r, m, rx: await box.rx!, load: box.load ? await box.load : null };
      phases.push(rec);
      const s = summarisePhases(`${kind}${r}`, [rec]);
      const api = s.api as { channels: ReturnType<typeof latencySummary> } | undefined;
      log(
        `admin-api: ${kind}${r}: late p50 ${String(s.latenessP50MedianMs)} p99 med ${String(s.latenessP99MedianMs)} max ${String(s.latenessP99MaxMs)} ms, ` +
          `main ${String(s.mainCpuPct)}% worker ${String(s.workerCpuPct)}%, DF worst ${String(s.dfWorstMs)} ms` +
          (api ? `, GET /api/channels p50 ${api.channels.p50Ms} p99 ${api.channels.p99Ms} ms` : ''),
      );
    }
    logTail = headendLogTail(h.output());
    headendStop = await stopChild(h.child, STOP_TIMEOUT_MS);
    headend = null;
  } finally {
    if (headend) await stopChild(headend.child, STOP_TIMEOUT_MS);
    if (load) load.child.kill('SIGKILL');
    if (receiver) receiver.child.kill('SIGKILL');
    await net.destroy();
    await rm(dataDir, { recursive: true, force: true });
  }

  const rows = phases.map((p) => summarisePhases(`${p.kind}${p.round}`, [p]));
  const pooled = {
    A: summarisePhases('A all', phases.filter((p) => p.kind === 'A')),
    B: summarisePhases('B all', phases.filter((p) => p.kind === 'B')),
  };
  const ab = abCompare(rows, 'latenessP99MedianMs', TOLERANCE_MS);
  const { spread, aDrift } = ab;
  const result: Record<string, unknown> = {
    name: 'admin-api',
    input: `${file} (H.264 720p25 + AAC, muxrate ${MUXRATE_BPS / 1e6} Mbit/s), looped`,
    lineup: `${STORED_CHANNELS} channels in the store, ${n} enabled (file source, one data-plane worker), ${STORED_CHANNELS - n} enabled: false`,
    load: `${o.streams} status streams (GET /api/status/stream, one viewer session and one source address each) + GET /api/channels ${o.rate > 0 ? `open loop at ${o.rate}/s (≤ ${MAX_OUTSTANDING} outstanding)` : 'closed loop'}, from rx over the veth`,
    method: {
      order: phases.map((p) => `${p.kind}${p.round}`).join(' '),
      windowS: o.seconds,
      settleS: o.settleS,
      warmupS: o.warmupS,
      lateness: 'status.json per-channel 1-s windows: median of p50, median / p90 / max of p99, pooled over the phases of a kind',
      criterion: `|B − A| of the median per-channel 1-s p99 ≤ ${TOLERANCE_MS} ms`,
      latency: 'request sent → last byte at the client in rx (ttfb: → response headers)',
    },
    setup,
    phases: rows,
    pooled,
    criterion: {
      metric: 'median of the per-channel 1-s pacing lateness p99, ms; per phase, then the mean of the phases of a kind',
      ...ab.criterion,
      p99MaxDiffMs: round((pooled.B.latenessP99MaxMs as number) - (pooled.A.latenessP99MaxMs as number), 2),
      p50DiffMs: round((pooled.B.latenessP50MedianMs as number) - (pooled.A.latenessP50MedianMs as number), 3),
      dfWorstDiffMs: round((pooled.B.dfWorstMs as number) - (pooled.A.dfWorstMs as number), 2),
    },
    drift: {
      aP99SpreadMs: aDrift,
      bP99SpreadMs: spread('B', 'latenessP99MedianMs'),
      aOtherCpuSpreadPct: spread('A', 'otherCpuPct'),
    },
    headendLogTail: logTail,
    headendStop,
    durationS: Math.round((Date.now() - t0) / 1000),
  };
  if (o.cpuProfDir && existsSync(o.cpuProfDir)) result.cpuProfiles = summariseCpuProfiles(o.cpuProfDir, 20);
  return result;
}

/* ---- report ---------------------------------------------------------------- */


/** Human-readable tables of a {@link benchAdminApi} result. */
export function formatAdminApi(r: Record<string, unknown>): string {
  const m = r.method as Record<string, unknown>;
  const rows = (r.phases as Record<string, unknown>[]) ?? [];
  const pooled = r.pooled as { A: Record<string, unknown>; B: Record<string, unknown> };
  const c = r.criterion as Record<string, number | boolean>;
  const d = r.drift as Record<string, number | null>;
  const setup = r.setup as Record<string, unknown>;
  const lines: string[] = [];
  lines.push(`admin-api: ${String(r.lineup)}; ${String(r.input)}`);
  lines.push(`  load in B: ${String(r.load)}`);
  lines.push(
    `  order ${String(m.order)} (A = data plane alone, B = + API load), ${String(m.windowS)} s per phase after ${String(m.settleS)} s settle: ` +
      'alternated because this shared VM drifts; compare B − A with A − A',
  );
  const cols: [string, string, number][] = [
    ['phase', '', 6],
    ['CPU %', 'cpuPct', 6],
    ['main %', 'mainCpuPct', 7],
    ['dp %', 'workerCpuPct', 6],
    ['late p50', 'latenessP50MedianMs', 9],
    ['p99 med', 'latenessP99MedianMs', 8],
    ['p99 p90', 'latenessP99P90Ms', 8],
    ['p99 max', 'latenessP99MaxMs', 8],
    ['late max', 'latenessMaxMs', 9],
    ['DF worst', 'dfWorstMs', 9],
    ['DF med', 'dfMedianMs', 7],
    ['busy %', 'hostBusyPct', 7],
    ['other %', 'otherCpuPct', 8],
    ['steal %', 'hostStealPct', 8],
    ['PSI %', 'cpuPressureSomePct', 6],
  ];
  const api: [string, (x: Record<string, unknown>) => unknown, number][] = [
    ['GET n', (x) => (x.api as { channels: { n: number } } | undefined)?.channels.n, 6],
    ['p50', (x) => (x.api as { channels: { p50Ms: number } } | undefined)?.channels.p50Ms, 6],
    ['p95', (x) => (x.api as { channels: { p95Ms: number } } | undefined)?.channels.p95Ms, 6],
    ['p99', (x) => (x.api as { channels: { p99Ms: number } } | undefined)?.channels.p99Ms, 6],
    ['max', (x) => (x.api as { channels: { maxMs: number } } | undefined)?.channels.maxMs, 6],
  ];
  lines.push('  ' + cols.map(([hd, , w]) => (hd === 'phase' ? hd.padEnd(w) : hd.padStart(w))).join(' ') + ' |' + api.map(([hd, , w]) => hd.padStart(w)).join(' '));
  const row = (x: Record<string, unknown>): string =>
    '  ' + cols.map(([, k, w]) => (k === '' ? String(x.phase).padEnd(w) : cell(x[k], w))).join(' ') + ' |' + api.map(([, f, w]) => cell(f(x), w)).join(' ');
  for (const x of rows) lines.push(row(x));
  lines.push(row({ ...pooled.A, phase: 'A all' }));
  lines.push(row({ ...pooled.B, phase: 'B all' }));
  lines.push(
    '  (CPU: 100 % = one core; main = the headend main thread (API, status), dp = the data-plane worker; busy % = the whole machine (100 % = all cores);',
  );
  lines.push(
    '   other % ≈ the rest of the machine (other tenants), one-core %. Lateness: the pacer\'s 1-s histograms per channel (0.1-ms buckets) from status.json, ms:',
  );
  lines.push('   late p50 = median of the p50s; p99 med / p90 / max over the per-channel 1-s p99s. DF = RFC 4445 delay factor at the receiver, 10 channels. API: GET /api/channels latency at the client, ms)');
  const signed = (x: unknown) => `${(x as number) >= 0 ? '+' : ''}${String(x)}`;
  lines.push(
    `  criterion (issue 5): pacing lateness p99 (median of the per-channel 1-s p99s, mean over the phases) A ${String(c.aMs)} ms, B ${String(c.bMs)} ms: ` +
      `B − A = ${signed(c.diffMs)} ms (pairs ${(c.pairDiffsMs as unknown as number[]).map(signed).join(', ')}), |B − A| ≤ ${String(c.toleranceMs)} ms ${c.holds ? 'holds' : 'does NOT hold'}` +
      (c.resolved
        ? ` (resolved: the A phases differ by ${String(d.aP99SpreadMs ?? 0)} ms among themselves)`
        : `, NOT RESOLVED: the A phases alone differ by ${String(d.aP99SpreadMs)} ms, more than |B − A| is from the tolerance`),
  );
  lines.push(
    `  drift between phases of the same kind (max − min of p99 med): A ${d.aP99SpreadMs ?? '—'} ms, B ${d.bP99SpreadMs ?? '—'} ms; other tenants' CPU over the A phases varies by ${d.aOtherCpuSpreadPct ?? '—'} % of a core. ` +
      `Not judged: B − A of p99 max ${String(c.p99MaxDiffMs)} ms, of late p50 ${String(c.p50DiffMs)} ms, of DF worst ${String(c.dfWorstDiffMs)} ms`,
  );
  const b = pooled.B;
  const ba = b.api as { channels: Record<string, unknown>; sse: Record<string, unknown>; clientCpuPct: number } | undefined;
  if (ba) {
    const ch = ba.channels;
    const sse = ba.sse;
    lines.push(
      `  GET /api/channels (${String(setup.channelsListed)} channels, ${Math.round(Number(ch.bytesPerResponse) / 1024)} KiB): ${String(ch.n)} answered at ${String(ch.perS)}/s, ` +
        `p50 ${String(ch.p50Ms)} / p95 ${String(ch.p95Ms)} / p99 ${String(ch.p99Ms)} / max ${String(ch.maxMs)} ms (to headers p50 ${String(ch.ttfbP50Ms)} ms); ` +
        `failed ${String(ch.failed)}${(ch.errors as string[]).length ? ` (${(ch.errors as string[]).join(', ')})` : ''}, ticks skipped (8 outstanding) ${String(ch.skipped)}; first request, before the phases: ${String(setup.listColdMs)} ms`,
    );
    lines.push(
      `  status streams: ${String(sse.open)}/${String(sse.streams)} open (HTTP ${(sse.statusCodes as number[]).join(',')}), ${String(sse.eventsPerSPerStream)} events/s each, ` +
        `${Math.round(Number(sse.bytesPerEvent) / 1024)} KiB/event (${String(sse.channelsPerEvent)} channels), largest gap between events ${String(sse.maxGapMs)} ms` +
        `${(sse.errors as string[]).length ? `; errors: ${(sse.errors as string[]).join(', ')}` : ''}`,
    );
    lines.push(
      `  headend main thread CPU during B ${String(b.mainCpuPct)} % (A ${String(pooled.A.mainCpuPct)} %), preempted ${String(b.mainPreemptPerS)}/s; ` +
        `data-plane worker B ${String(b.workerCpuPct)} % (A ${String(pooled.A.workerCpuPct)} %), preempted B ${String(b.workerPreemptPerS)}/s (A ${String(pooled.A.workerPreemptPerS)}/s); ` +
        `load client ${String(ba.clientCpuPct)} %, receiver ${String(b.receiverCpuPct)} % (same machine)`,
    );
  }
  const counters = (x: Record<string, unknown>) =>
    Object.entries(x.counters as Record<string, number>)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
  lines.push(`  counters A: ${counters(pooled.A)}; rx lost ${String(pooled.A.rxLost)} | B: ${counters(pooled.B)}; rx lost ${String(pooled.B.rxLost)}`);
  lines.push(`  setup: up in ${String(setup.upAfterMs)} ms, slates awaited ${String(setup.slateWaitMs)} ms, logins ${String(setup.setupMs)} ms; run ${String(r.durationS)} s`);
  return lines.join('\n');
}

/* ---- command line ------------------------------------------------------------ */

async function cli(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string' },
      rounds: { type: 'string' },
      settle: { type: 'string' },
      warmup: { type: 'string' },
      streams: { type: 'string' },
      rate: { type: 'string' },
      sample: { type: 'string' },
      'cpu-prof': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  const r = await benchAdminApi({
    seconds: num(values.seconds),
    rounds: num(values.rounds),
    settleS: num(values.settle),
    warmupS: num(values.warmup),
    streams: num(values.streams),
    rate: num(values.rate),
    sample: num(values.sample),
    cpuProfDir: values['cpu-prof'] ?? null,
  });
  console.log(formatAdminApi(r));
  if (r.cpuProfiles) {
    for (const t of r.cpuProfiles as ReturnType<typeof summariseCpuProfiles>) {
      console.log(`cpu profile ${t.file} (${t.totalMs} ms sampled):`);
      for (const f of t.top) console.log(`  ${String(f.selfPct).padStart(5)}%  ${f.fn}`);
    }
  }
  if (values.json) console.log(JSON.stringify(r));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.includes('--load')) {
    await loadMain(process.argv.slice(2));
  } else {
    await cli();
  }
}
