/**
 * A multicast receiver to run as its own node process inside a network
 * namespace (a socket belongs to the namespace of the process that made it):
 *
 *     net.spawn(ns, tsNodeArgv(MCAST_RECEIVER_PATH, mcastReceiverArgs({...})), { env: childEnv() })
 *
 * Written in TypeScript and started with the same TypeScript loader as the
 * test process (`tsNodeArgv` in netlab.ts copies tap's `--import` flag), so it
 * can use core/rtp/delay-factor.ts directly with no build step. The choice
 * over a plain .mjs importing dist/: `npx tap <file>` works without
 * `npm run build` first, and there is one source of the DF code.
 *
 * It does what NETLAB.md says a receiver must: bind to the group address (not
 * 0.0.0.0, gotcha 4), then join (ASM, or SSM with `--source`) naming the
 * interface address (never the default interface), with an 8 MiB receive
 * buffer (gotcha 6; the kernel caps it at net.core.rmem_max). It counts
 * datagrams and bytes until `--duration-ms` after the join, or `--idle-ms`
 * after the last datagram, or `--max-datagrams`, whichever comes first, and
 * with `--rate-bps` computes the RFC 4445 delay factor per 1 s interval (RTP
 * payload size when `--rtp`, else the whole datagram). Then it prints one
 * JSON line ({@link McastReceiverResult}) on stdout and exits 0; bad
 * arguments or a failed join exit 2 with the reason on stderr.
 */

import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { DelayFactorMeter } from '../../core/rtp/delay-factor.js';
import { RTP_HEADER_SIZE } from '../../core/rtp/header.js';

export const MCAST_RECEIVER_PATH = fileURLToPath(import.meta.url);

export interface McastReceiverOptions {
  group: string;
  port: number;
  /** Local interface address to join on (e.g. 10.99.0.11). */
  iface: string;
  /** SSM: join (source, group) with IGMPv3. */
  source?: string;
  /** Hard bound on the run after the join. */
  durationMs: number;
  /** Stop when nothing arrived for this long after the first datagram. */
  idleMs?: number;
  maxDatagrams?: number;
  /** Nominal media rate for RFC 4445 DF; omit to skip DF. */
  rateBps?: number;
  /** Datagrams are RTP: DF counts the payload after the 12-octet header. */
  rtp?: boolean;
}

export interface McastReceiverResult {
  group: string;
  port: number;
  source: string | null;
  datagrams: number;
  bytes: number;
  /** SO_RCVBUF as the kernel reports it (Linux doubles the request). */
  recvBufferBytes: number;
  /** From the join to the first / last datagram, ms (-1 when none). */
  firstArrivalMs: number;
  lastArrivalMs: number;
  /** Per-interval RFC 4445 DF in ms (the last, partial interval included). */
  dfMs: number[];
  maxDfMs: number;
  /** Longest silence between two datagrams, ms (-1 with fewer than two). */
  maxGapMs: number;
  /** With --rtp: sequence numbers that never arrived (forward jumps), and out-of-order arrivals. */
  rtpSeqMissing: number;
  rtpSeqBackwards: number;
  /** Why the run ended: duration | idle | max-datagrams. */
  end: string;
}

export function mcastReceiverArgs(o: McastReceiverOptions): string[] {
  const a = ['--group', o.group, '--port', String(o.port), '--iface', o.iface, '--duration-ms', String(o.durationMs)];
  if (o.source) a.push('--source', o.source);
  if (o.idleMs !== undefined) a.push('--idle-ms', String(o.idleMs));
  if (o.maxDatagrams !== undefined) a.push('--max-datagrams', String(o.maxDatagrams));
  if (o.rateBps !== undefined) a.push('--rate-bps', String(o.rateBps));
  if (o.rtp) a.push('--rtp');
  return a;
}

const RECV_BUFFER_BYTES = 8 * 1024 * 1024;
const MAX_DURATION_MS = 600_000;

function parseArgs(argv: string[]): McastReceiverOptions {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const num = (name: string): number | undefined => {
    const v = get(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${name}: ${v} is not a non-negative number`);
    return n;
  };
  const group = get('--group');
  const iface = get('--iface');
  const port = num('--port');
  const durationMs = num('--duration-ms');
  const errors: string[] = [];
  if (!group || !/^2(2[4-9]|3\d)\.\d+\.\d+\.\d+$/.test(group)) errors.push(`--group: ${group} is not an IPv4 multicast address`);
  if (!iface || !/^\d+\.\d+\.\d+\.\d+$/.test(iface)) errors.push(`--iface: ${iface} is not an IPv4 address`);
  if (port === undefined || !Number.isInteger(port) || port < 1 || port > 65535) errors.push(`--port: ${port} is not a UDP port`);
  if (durationMs === undefined || durationMs > MAX_DURATION_MS) errors.push(`--duration-ms: required, at most ${MAX_DURATION_MS}`);
  if (errors.length) throw new Error(errors.join('; '));
  return {
    group: group!,
    port: port!,
    iface: iface!,
    source: get('--source'),
    durationMs: durationMs!,
    idleMs: num('--idle-ms'),
    maxDatagrams: num('--max-datagrams'),
    rateBps: num('--rate-bps'),
    rtp: argv.includes('--rtp'),
  };
}

export function runMcastReceiver(o: McastReceiverOptions): Promise<McastReceiverResult> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true, recvBufferSize: RECV_BUFFER_BYTES });
    const meter = o.rateBps ? new DelayFactorMeter({ mediaRateBps: o.rateBps }) : undefined;
    const dfMs: number[] = [];
    let datagrams = 0;
    let bytes = 0;
    let joinedNs = 0;
    let firstNs = -1;
    let lastNs = -1;
    let maxGapNs = -1;
    let lastSeq = -1;
    let rtpSeqMissing = 0;
    let rtpSeqBackwards = 0;
    let done = false;
    let hardTimer: NodeJS.Timeout | undefined;
    let idleTimer: NodeJS.Timeout | undefined;

    const finish = (end: string): void => {
      if (done) return;
      done = true;
      clearTimeout(hardTimer);
      clearTimeout(idleTimer);
      if (meter) {
        const df = meter.finish();
        if (df >= 0) dfMs.push(df);
      }
      let recvBufferBytes = -1;
      try {
        recvBufferBytes = sock.getRecvBufferSize();
      } catch {
        /* socket not bound */
      }
      sock.close();
      const rel = (ns: number): number => (ns < 0 ? -1 : (ns - joinedNs) / 1e6);
      resolve({
        group: o.group,
        port: o.port,
        source: o.source ?? null,
        datagrams,
        bytes,
        recvBufferBytes,
        firstArrivalMs: rel(firstNs),
        lastArrivalMs: rel(lastNs),
        dfMs,
        maxDfMs: dfMs.length ? Math.max(...dfMs) : -1,
        maxGapMs: maxGapNs < 0 ? -1 : maxGapNs / 1e6,
        rtpSeqMissing,
        rtpSeqBackwards,
        end,
      });
    };

    sock.on('error', (e) => {
      if (!done) {
        done = true;
        clearTimeout(hardTimer);
        clearTimeout(idleTimer);
        sock.close();
        reject(e);
      }
    });
    sock.on('message', (msg) => {
      if (done) return;
      const now = Number(process.hrtime.bigint());
      datagrams++;
      bytes += msg.length;
      if (firstNs < 0) firstNs = now;
      else if (now - lastNs > maxGapNs) maxGapNs = now - lastNs;
      lastNs = now;
      if (o.rtp && msg.length >= RTP_HEADER_SIZE) {
        const seq = msg.readUInt16BE(2);
        if (lastSeq >= 0) {
          const d = (seq - lastSeq) & 0xffff;
          if (d === 0 || d > 0x8000) rtpSeqBackwards++;
          else rtpSeqMissing += d - 1;
        }
        lastSeq = seq;
      }
      if (meter) {
        const payload = o.rtp ? Math.max(0, msg.length - RTP_HEADER_SIZE) : msg.length;
        const df = meter.sample(now, payload);
        if (df >= 0) dfMs.push(df);
      }
      if (o.maxDatagrams !== undefined && datagrams >= o.maxDatagrams) return finish('max-datagrams');
      if (o.idleMs !== undefined) {
        clearTimeout(idleTimer);
        idleTimer = setTimeout(() => finish('idle'), o.idleMs);
      }
    });
    // NETLAB.md gotcha 3: bind first, then membership.
    sock.bind({ port: o.port, address: o.group, exclusive: false }, () => {
      try {
        if (o.source) sock.addSourceSpecificMembership(o.source, o.group, o.iface);
        else sock.addMembership(o.group, o.iface);
      } catch (e) {
        sock.emit('error', e as Error);
        return;
      }
      joinedNs = Number(process.hrtime.bigint());
      hardTimer = setTimeout(() => finish('duration'), o.durationMs);
    });
  });
}

async function main(): Promise<void> {
  let opts: McastReceiverOptions;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`mcast-receiver: ${(e as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  try {
    const r = await runMcastReceiver(opts);
    process.stdout.write(`${JSON.stringify(r)}\n`);
  } catch (e) {
    process.stderr.write(`mcast-receiver: ${(e as Error).message}\n`);
    process.exitCode = 2;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  void main();
}
