/**
 * "ours-bare", for bench/srt.ts: our SRT receiver and nothing else, so its
 * CPU can be set against libsrt's `srt-live-transmit srt://:port?mode=listener
 * udp://127.0.0.1:port` job for job. The headend's data-plane thread also
 * inspects the TS, paces it by PCR and packs RTP; this process only runs
 * the SRT listener the headend's `type: srt` sources run
 * (headend/dataplane/sources.ts SrtListenerSource: srtEndpoint(), one
 * acceptor with the stream id and latency, one caller at a time) and sends
 * each delivered payload, as it is, as one UDP datagram to 127.0.0.1:OUT —
 * what srt-live-transmit does with each payload it reads.
 *
 *   node srt-bare-rx.js --port 9002 --latency 60 --out-port 6001
 *                       [--stream-id bench] [--address 0.0.0.0] [--max-seconds 3600]
 *
 * The same code as the headend's input, with its settings: the endpoint's
 * 8 MiB receive buffer (set in SrtEndpoint), TSBPD latency max(ours,
 * the caller's), a caller with another stream id refused (no --stream-id:
 * any, as srt-live-transmit takes any). The clock is the headend's
 * (performance.now() in µs).
 *
 * Lines on stdout: `ready` once the SRT port is bound; one JSON line
 * `{"type":"stats",…}` per `stats` line on stdin (the bench's snapshots);
 * `{"type":"final",…}` on SIGTERM, then exit. The counters are those of
 * SrtConnection.stats() (core/srt/receiver.ts), summed over the connections
 * so far, plus the datagrams sent out. A hard bound: --max-seconds, and, when
 * stdin is a pipe, its end (the parent went away). Run by hand (a profile),
 * stop it with SIGTERM or SIGINT: it exits normally, so --cpu-prof is written.
 *
 * The payload passed to onData is borrowed from the receiver's buffer
 * (its slot is reused 8192 packets later); the output socket is connected,
 * so send() needs no address lookup and Node tries the send synchronously
 * (uv_udp_try_send): no copy, as the headend's input makes none.
 */
import dgram from 'node:dgram';
import { fstatSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { srtEndpoint, type SrtAcceptor, type SrtConnection } from '../headend/dataplane/srt.js';

export const SRT_BARE_RX_PATH = fileURLToPath(import.meta.url);

/** The cumulative counters a `stats` or `final` line carries. */
export interface BareRxStats {
  type: 'stats' | 'final';
  /** Date.now() when taken. */
  atMs: number;
  connected: boolean;
  connections: number;
  peer: string | null;
  latencyMs: number | null;
  rttMs: number | null;
  packetsReceived: number;
  packetsLost: number;
  packetsRetransmitted: number;
  packetsDropped: number;
  /** Payloads delivered by the receiver = UDP datagrams handed to the output socket. */
  datagramsOut: number;
  bytesOut: number;
  sendErrors: number;
  /** The endpoint's refusals and malformed/foreign datagrams. */
  refused: number;
  malformed: number;
  foreignPackets: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      latency: { type: 'string' },
      'out-port': { type: 'string' },
      'stream-id': { type: 'string' },
      address: { type: 'string', default: '0.0.0.0' },
      'max-seconds': { type: 'string', default: '3600' },
    },
    strict: true,
  });
  const port = Number(values.port);
  const latencyMs = Number(values.latency);
  const outPort = Number(values['out-port']);
  const maxSeconds = Number(values['max-seconds']);
  const streamId = values['stream-id'] ?? null;
  const address = values.address!;
  const bad: string[] = [];
  if (!(Number.isInteger(port) && port > 0 && port < 65536)) bad.push(`--port: ${String(values.port)} is not a port`);
  if (!(Number.isInteger(outPort) && outPort > 0 && outPort < 65536)) bad.push(`--out-port: ${String(values['out-port'])} is not a port`);
  if (!(Number.isInteger(latencyMs) && latencyMs >= 20 && latencyMs <= 8000)) bad.push(`--latency: ${String(values.latency)} is not in 20..8000 ms (the headend's range)`);
  if (!(maxSeconds > 0 && maxSeconds <= 3600)) bad.push(`--max-seconds: ${String(values['max-seconds'])} is not in (0, 3600]`);
  if (bad.length) {
    process.stderr.write(`srt-bare-rx: ${bad.join('; ')}\n`);
    process.exit(2);
  }

  const out = dgram.createSocket('udp4');
  let sendErrors = 0;
  // A connected UDP socket reports ICMP port unreachable as an error: counted, as srt-live-transmit ignores it.
  out.on('error', () => sendErrors++);
  await new Promise<void>((resolve, reject) => {
    out.once('error', reject);
    out.connect(outPort, '127.0.0.1', () => {
      out.off('error', reject);
      resolve();
    });
  });

  let conn: SrtConnection | null = null;
  let connections = 0;
  let datagramsOut = 0;
  let bytesOut = 0;
  /** Counters of the connections that ended. */
  const past = { packetsReceived: 0, packetsLost: 0, packetsRetransmitted: 0, packetsDropped: 0 };
  const log = (level: string, msg: string): void => {
    process.stderr.write(`srt-bare-rx ${level}: ${msg}\n`);
  };

  const endpoint = srtEndpoint(address, port, () => performance.now() * 1000, log);
  const acceptor: SrtAcceptor = {
    streamId,
    latencyMs,
    passphrase: null,
    connected: (c) => {
      if (conn) return false; // one caller, as a channel takes one
      conn = c;
      connections++;
      log('info', `SRT caller ${c.peer}${c.streamId ? ` (stream id ${JSON.stringify(c.streamId)})` : ''} connected, latency ${c.latencyMs} ms`);
      c.onData = (buf, off, len) => {
        datagramsOut++;
        bytesOut += len;
        out.send(buf, off, len);
      };
      c.onClose = (why) => {
        const s = c.stats();
        past.packetsReceived += s.packetsReceived;
        past.packetsLost += s.packetsLost;
        past.packetsRetransmitted += s.packetsRetransmitted;
        past.packetsDropped += s.packetsDropped;
        if (conn === c) conn = null;
        log('warn', `SRT caller ${c.peer}: ${why}`);
      };
      return true;
    },
  };
  endpoint.register(acceptor);
  try {
    await endpoint.ready();
  } catch (e) {
    process.stderr.write(`srt-bare-rx: cannot listen for SRT on ${address}:${port}: ${(e as Error).message}\n`);
    process.exit(1);
  }

  const stats = (type: BareRxStats['type']): BareRxStats => {
    const c = conn as SrtConnection | null;
    const s = c?.stats();
    const e = endpoint.counters;
    return {
      type,
      atMs: Date.now(),
      connected: c !== null,
      connections,
      peer: s?.peer ?? null,
      latencyMs: s?.latencyMs ?? null,
      rttMs: s?.rttMs ?? null,
      packetsReceived: past.packetsReceived + (s?.packetsReceived ?? 0),
      packetsLost: past.packetsLost + (s?.packetsLost ?? 0),
      packetsRetransmitted: past.packetsRetransmitted + (s?.packetsRetransmitted ?? 0),
      packetsDropped: past.packetsDropped + (s?.packetsDropped ?? 0),
      datagramsOut,
      bytesOut,
      sendErrors,
      refused: e.rejectedUnknownStreamId + e.rejectedBusy + e.rejectedVersion + e.rejectedEncryption + e.rejectedBadSecret + e.rejectedCookie + e.rejectedFull,
      malformed: e.malformed,
      foreignPackets: e.foreignPackets,
    };
  };

  let done = false;
  const finish = (code: number): void => {
    if (done) return;
    done = true;
    const line = JSON.stringify(stats('final')) + '\n';
    const c = conn as SrtConnection | null;
    if (c) {
      c.onClose = () => undefined;
      c.close('the receiver stopped');
    }
    endpoint.unregister(acceptor);
    out.close();
    process.stdout.write(line, () => process.exit(code));
  };
  const deadline = setTimeout(() => {
    log('warn', `no stop after ${maxSeconds} s, exiting`);
    finish(3);
  }, maxSeconds * 1000);
  deadline.unref();
  process.once('SIGTERM', () => finish(0));
  process.once('SIGINT', () => finish(0));

  // stdin, when a pipe, is the parent's: `stats` lines, and its end means the parent is gone.
  // Anything else (a terminal, /dev/null when run by hand for a profile) is not read.
  let stdinIsPipe = false;
  try {
    stdinIsPipe = fstatSync(0).isFIFO() || fstatSync(0).isSocket();
  } catch {
    /* no stdin */
  }
  if (stdinIsPipe) {
    const rl = createInterface({ input: process.stdin });
    rl.on('line', (l) => {
      if (l === 'stats' && !done) process.stdout.write(JSON.stringify(stats('stats')) + '\n');
    });
    rl.on('close', () => finish(0));
  }

  process.stdout.write('ready\n');
}

if (process.argv[1] === SRT_BARE_RX_PATH) await main();
