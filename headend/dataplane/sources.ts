/**
 * Channel sources. Each makes one attempt per `run()`: it resolves when the
 * input ends and rejects with the reason it failed; the supervisor decides
 * when to try again (after MediaMTX's staticsources: a source returns its
 * error, the handler retries after a pause).
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { open } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import type { FfmpegSource, FileSource, UdpSource, SrtSource as SrtSourceConfig, ChannelSource } from '../../core/lineup/config.js';
import { TS_PACKET_SIZE, tsWriteNullPacket } from '../../core/mpegts/packet.js';
import { LoopRestamper } from '../../core/mpegts/restamp.js';
import { RtpDepacketizer } from '../../core/rtp/depacketizer.js';
import { ffmpegArgs, findFfmpeg, parseFfmpegLogLine, parseFfmpegStats, type FfmpegProgress } from './ffmpeg.js';
import { SrtCaller, srtEndpoint, type SrtAcceptor, type SrtConnection, type SrtEndpoint } from './srt.js';

/** What a source feeds. Chunks are borrowed: valid until the call returns. */
export interface SourceSink {
  data(chunk: Buffer): void;
  /** The input restarted or skipped: timing and continuity are broken here. */
  discontinuity(): void;
  /** A source that can wait (file) reads on only while this is true. */
  wantsMore(): boolean;
  /** A line worth telling hotel IT (ffmpeg's errors, warnings). */
  event(level: 'warn' | 'error' | 'info', message: string): void;
}

export interface Source {
  /** One attempt. Resolves when the input ends, rejects with the reason it failed. */
  run(sink: SourceSink, signal: AbortSignal): Promise<void>;
  /** Source-specific status for the counters snapshot. */
  status(): Record<string, number | string | null>;
  /**
   * True while no data is expected (a listener waiting for its caller): the
   * stall watchdog leaves the attempt alone then.
   */
  waiting?(): boolean;
}

/** An input's own failure (exit, refused, unreadable), with a stable ROOMCAST_ERR_* code. */
export class SourceError extends Error {
  override readonly name = 'SourceError';
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/** The source for one input of a channel; `channelName` names an ffmpeg process in logs. */
export function createSource(src: ChannelSource, channelName: string): Source {
  switch (src.type) {
    case 'ffmpeg':
      return new FfmpegProcessSource(src, channelName);
    case 'udp':
    case 'rtp':
      return new DatagramSource(src);
    case 'file':
      return new FileLoopSource(src);
    case 'srt':
      return src.mode === 'caller' ? new SrtCallerSource(src) : new SrtListenerSource(src);
  }
}

// ---------------------------------------------------------------------------

/** Runs ffmpeg; stdout is the TS, stderr its progress and errors. */
export class FfmpegProcessSource implements Source {
  private progress: FfmpegProgress | null = null;
  private lastError: string | null = null;
  private pid: number | null = null;

  constructor(private readonly src: FfmpegSource, private readonly serviceName: string) {}

  status(): Record<string, number | string | null> {
    return {
      ffmpegPid: this.pid,
      ffmpegFps: this.progress?.fps ?? null,
      ffmpegSpeed: this.progress?.speed ?? null,
      ffmpegBitrateKbps: this.progress?.bitrateKbps ?? null,
      ffmpegTimeS: this.progress?.timeS ?? null,
      ffmpegLastError: this.lastError,
    };
  }

  run(sink: SourceSink, signal: AbortSignal): Promise<void> {
    const bin = findFfmpeg();
    if (!bin) {
      return Promise.reject(new SourceError('ROOMCAST_ERR_NO_FFMPEG', 'ffmpeg not found on PATH (install Debian ffmpeg, or npm install @ffmpeg-installer/ffmpeg)'));
    }
    return new Promise((resolve, reject) => {
      const child = spawn(bin, ffmpegArgs(this.src, this.serviceName), { stdio: ['ignore', 'pipe', 'pipe'] });
      this.pid = child.pid ?? null;
      let stderrTail = '';
      let settled = false;
      const onAbort = (): void => {
        child.kill('SIGKILL');
      };
      signal.addEventListener('abort', onAbort, { once: true });
      child.stdout.on('data', (chunk: Buffer) => sink.data(chunk));
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (text: string) => {
        stderrTail = (stderrTail + text).slice(-4096);
        const lines = stderrTail.split(/[\r\n]/);
        stderrTail = lines.pop() ?? '';
        for (const line of lines) this.onStderrLine(line, sink);
      });
      child.on('error', (err) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        reject(new SourceError('ROOMCAST_ERR_SPAWN', `cannot start ffmpeg: ${err.message}`));
      });
      child.on('close', (code, sig) => {
        this.pid = null;
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted || code === 0) return resolve();
        const why = sig ? `killed by ${sig}` : `exited with code ${code}`;
        reject(new SourceError('ROOMCAST_ERR_FFMPEG_EXIT', `ffmpeg ${why}${this.lastError ? `: ${this.lastError}` : ''}`));
      });
    });
  }

  private onStderrLine(line: string, sink: SourceSink): void {
    if (!line.trim()) return;
    const stats = parseFfmpegStats(line);
    if (stats) {
      this.progress = stats;
      return;
    }
    const log = parseFfmpegLogLine(line);
    if (log) {
      if (log.level === 'error') this.lastError = log.message;
      sink.event(log.level === 'error' ? 'error' : 'warn', `ffmpeg: ${log.message}`);
    }
  }
}

// ---------------------------------------------------------------------------

/** Receive buffer for multicast/unicast inputs: NETLAB.md gotcha 6 (208 KiB lost 19 % of a burst). */
const RECV_BUFFER_BYTES = 8 * 1024 * 1024;

/**
 * UDP or RTP input from an encoder or IRD that already sends the channel's TS:
 * unicast, or multicast (ASM, or SSM with a source address).
 */
export class DatagramSource implements Source {
  private depay: RtpDepacketizer | null = null;
  private datagrams = 0;

  constructor(private readonly src: UdpSource) {}

  status(): Record<string, number | string | null> {
    const c = this.depay?.counters;
    return {
      datagrams: this.datagrams,
      rtpLost: c ? c.lost : null,
      rtpReordered: c ? c.reordered : null,
      rtpDuplicates: c ? c.duplicates : null,
      rtpMalformed: c ? c.malformed + c.truncated : null,
    };
  }

  run(sink: SourceSink, signal: AbortSignal): Promise<void> {
    const { address, port, sourceAddress } = this.src;
    const iface = this.src.interface ?? '0.0.0.0';
    const multicast = isMulticast(address);
    return new Promise((resolve, reject) => {
      const sock = dgram.createSocket({ type: 'udp4', reuseAddr: true, recvBufferSize: RECV_BUFFER_BYTES });
      if (this.src.type === 'rtp') {
        // Whole TS packets after reordering go to resync like any chunk
        // (aligned: the fast path, no copy).
        this.depay = new RtpDepacketizer(
          {
            writePackets: (buf: Buffer, off: number, count: number): void => sink.data(buf.subarray(off, off + count * TS_PACKET_SIZE)),
            discontinuity: (): void => sink.discontinuity(),
          },
          { reorderWindow: this.src.reorderWindow },
        );
      }
      const depay = this.depay;
      const finish = (err?: Error): void => {
        signal.removeEventListener('abort', onAbort);
        try {
          sock.close();
        } catch {
          // already closed
        }
        if (err) reject(err);
        else resolve();
      };
      const onAbort = (): void => finish();
      signal.addEventListener('abort', onAbort, { once: true });
      sock.on('error', (err) => finish(new SourceError('ROOMCAST_ERR_SOCKET', `${address}:${port}: ${err.message}`)));
      sock.on('message', (msg) => {
        this.datagrams++;
        if (depay) depay.push(msg);
        else sink.data(msg);
      });
      // NETLAB.md gotcha 3/4: bind first — to the group, so other groups on
      // the same port stay out, or to the unicast address the encoder sends
      // to, never 0.0.0.0 — then membership on the named interface.
      sock.bind({ port, address, exclusive: false }, () => {
        try {
          if (multicast) {
            if (sourceAddress) sock.addSourceSpecificMembership(sourceAddress, address, iface);
            else sock.addMembership(address, iface);
          }
        } catch (err) {
          finish(new SourceError('ROOMCAST_ERR_JOIN', `cannot join ${sourceAddress ? sourceAddress + '@' : ''}${address} on ${iface}: ${(err as Error).message}`));
        }
      });
    });
  }
}

function isMulticast(addr: string): boolean {
  const first = Number(addr.split('.')[0]);
  return first >= 224 && first <= 239;
}

// ---------------------------------------------------------------------------

/** Read size for files: 1024 TS packets (192 KiB). */
const FILE_CHUNK_PACKETS = 1024;

/** Loops a .ts file forever; the pacer's demand paces reading, the restamper keeps timestamps continuous. */
export class FileLoopSource implements Source {
  private readonly restamper = new LoopRestamper();
  private readonly buf: Buffer;

  private nulls = Buffer.alloc(0);

  constructor(private readonly src: FileSource) {
    this.buf = Buffer.alloc(Math.max(7, src.readChunkPackets ?? FILE_CHUNK_PACKETS) * TS_PACKET_SIZE);
  }

  status(): Record<string, number | string | null> {
    return { fileLoops: this.restamper.counters.loops };
  }

  /** `count` null packets (ISO/IEC 13818-1 §2.4.3.3), from a buffer kept between loops. */
  private nullPackets(count: number): Buffer {
    if (this.nulls.length < count * TS_PACKET_SIZE) {
      this.nulls = Buffer.alloc(count * TS_PACKET_SIZE);
      for (let i = 0; i < count; i++) tsWriteNullPacket(this.nulls, i * TS_PACKET_SIZE);
    }
    return this.nulls.subarray(0, count * TS_PACKET_SIZE);
  }

  async run(sink: SourceSink, signal: AbortSignal): Promise<void> {
    let fh;
    try {
      fh = await open(this.src.path, 'r');
    } catch (err) {
      throw new SourceError('ROOMCAST_ERR_FILE', `cannot open ${this.src.path}: ${(err as Error).message}`);
    }
    try {
      let pos = 0;
      let carry = 0; // bytes of a partial packet kept at the start of buf
      let passBytes = 0;
      while (!signal.aborted) {
        if (!sink.wantsMore()) {
          // Poll: the queue holds ≥ 1 s, so 20 ms is plenty, and a plain
          // timer allocates less than an abortable wait (checked on return).
          await delay(20);
          continue;
        }
        const { bytesRead } = await fh.read(this.buf, carry, this.buf.length - carry, pos);
        if (bytesRead === 0) {
          if (passBytes < TS_PACKET_SIZE) throw new SourceError('ROOMCAST_ERR_FILE', `${this.src.path} holds no whole TS packet`);
          pos = 0;
          carry = 0;
          passBytes = 0;
          const nulls = this.restamper.loop();
          if (nulls > 0) sink.data(this.nullPackets(nulls));
          continue;
        }
        pos += bytesRead;
        const avail = carry + bytesRead;
        const whole = Math.floor(avail / TS_PACKET_SIZE);
        // Restamp whole packets only when aligned; a file with garbage is
        // passed on as it is (resync downstream counts it).
        if (whole > 0 && this.buf[0] === 0x47) this.restamper.process(this.buf, 0, whole);
        sink.data(this.buf.subarray(0, whole * TS_PACKET_SIZE));
        passBytes += whole * TS_PACKET_SIZE;
        carry = avail - whole * TS_PACKET_SIZE;
        if (carry > 0) this.buf.copy(this.buf, 0, whole * TS_PACKET_SIZE, avail);
      }
    } finally {
      await fh.close();
    }
  }
}

// ---------------------------------------------------------------------------

/**
 * SRT listener input (headend/dataplane/srt.ts): one attempt waits for a
 * caller (an encoder, srt-live-transmit, ffmpeg -f mpegts srt://…) with the
 * configured stream id, then feeds its TS until it disconnects or goes idle.
 * The endpoint (the UDP port) is shared with other channels listening on it.
 */
export class SrtListenerSource implements Source {
  private conn: SrtConnection | null = null;
  private endpoint: SrtEndpoint | null = null;
  private connections = 0;
  private lastPeer: string | null = null;
  private lastClose: string | null = null;

  constructor(private readonly src: SrtSourceConfig) {}

  waiting(): boolean {
    return this.conn === null;
  }

  status(): Record<string, number | string | null> {
    const s = this.conn?.stats();
    return {
      srtPeer: s?.peer ?? this.lastPeer,
      srtSocketId: this.conn?.socketId ?? null,
      srtEncrypted: this.conn ? (this.conn.decryptor ? 'yes' : 'no') : null,
      srtUndecryptable: this.conn?.undecryptable ?? null,
      srtKeyRefreshes: this.conn?.keyRefreshes ?? null,
      srtConnections: this.connections,
      srtLatencyMs: s?.latencyMs ?? null,
      srtRttMs: s?.rttMs ?? null,
      srtPacketsReceived: s?.packetsReceived ?? null,
      srtPacketsLost: s?.packetsLost ?? null,
      srtPacketsRetransmitted: s?.packetsRetransmitted ?? null,
      srtPacketsDropped: s?.packetsDropped ?? null,
      srtBufferPackets: s?.bufferPackets ?? null,
      srtReceiveRateBps: s?.receiveRateBps ?? null,
      srtLastClose: this.lastClose,
      // The port's counters (shared by the channels listening on it).
      ...(this.endpoint ? srtEndpointStatus(this.endpoint) : {}),
    };
  }

  run(sink: SourceSink, signal: AbortSignal): Promise<void> {
    const { address, port, streamId, latencyMs } = this.src;
    const endpoint = srtEndpoint(address, port, () => performance.now() * 1000, (level, msg) => sink.event(level, msg));
    this.endpoint = endpoint;
    return new Promise((resolve, reject) => {
      let done = false;
      const acceptor: SrtAcceptor = {
        streamId,
        latencyMs,
        passphrase: this.src.passphrase,
        connected: (c) => {
          if (this.conn) return false; // one caller per channel
          this.conn = c;
          this.connections++;
          this.lastPeer = c.peer;
          sink.event('info', `SRT caller ${c.peer}${c.streamId ? ` (stream id ${JSON.stringify(c.streamId)})` : ''} connected, latency ${c.latencyMs} ms`);
          c.onData = (buf, off, len) => sink.data(buf.subarray(off, off + len));
          c.onClose = (why) => {
            this.lastClose = why;
            if (this.conn === c) this.conn = null;
            finish(new SourceError('ROOMCAST_ERR_SRT_CLOSED', `SRT caller ${c.peer}: ${why}`));
          };
          return true;
        },
      };
      const finish = (err?: Error): void => {
        if (done) return;
        done = true;
        signal.removeEventListener('abort', onAbort);
        const c = this.conn;
        this.conn = null;
        if (c) {
          c.onClose = () => undefined;
          c.close('the channel stopped');
        }
        endpoint.unregister(acceptor);
        if (err) reject(err);
        else resolve();
      };
      const onAbort = (): void => finish();
      signal.addEventListener('abort', onAbort, { once: true });
      endpoint.register(acceptor);
      endpoint.ready().catch((err: Error) => finish(new SourceError('ROOMCAST_ERR_SOCKET', `cannot listen for SRT on ${address}:${port}: ${err.message}`)));
    });
  }
}

function srtEndpointStatus(e: SrtEndpoint): Record<string, number> {
  const c = e.counters;
  return {
    srtHandshakes: c.handshakes,
    srtRefused: c.rejectedUnknownStreamId + c.rejectedBusy + c.rejectedVersion + c.rejectedEncryption + c.rejectedBadSecret + c.rejectedCookie + c.rejectedFull,
    srtRefusedBadSecret: c.rejectedBadSecret,
    srtRefusedEncryption: c.rejectedEncryption,
    srtRefusedCookie: c.rejectedCookie,
    srtRefusedStreamId: c.rejectedUnknownStreamId,
    srtForeignPackets: c.foreignPackets,
    srtMalformed: c.malformed,
  };
}

/** SRT caller input: one attempt calls the listener, then feeds its TS until the connection ends. */
export class SrtCallerSource implements Source {
  private conn: SrtConnection | null = null;
  private connections = 0;
  private lastClose: string | null = null;

  constructor(private readonly src: SrtSourceConfig) {}

  /**
   * Calling, not yet answered: not a stall. The call has a timeout of its
   * own (3 s, with the reason "no answer"), which the stall watchdog of the
   * same length would otherwise race and hide.
   */
  waiting(): boolean {
    return this.conn === null;
  }

  status(): Record<string, number | string | null> {
    const s = this.conn?.stats();
    return {
      srtPeer: `${this.src.address}:${this.src.port}`,
      srtConnections: this.connections,
      srtLatencyMs: s?.latencyMs ?? null,
      srtRttMs: s?.rttMs ?? null,
      srtPacketsReceived: s?.packetsReceived ?? null,
      srtPacketsLost: s?.packetsLost ?? null,
      srtPacketsRetransmitted: s?.packetsRetransmitted ?? null,
      srtPacketsDropped: s?.packetsDropped ?? null,
      srtBufferPackets: s?.bufferPackets ?? null,
      srtReceiveRateBps: s?.receiveRateBps ?? null,
      srtLastClose: this.lastClose,
    };
  }

  run(sink: SourceSink, signal: AbortSignal): Promise<void> {
    const { address, port, localAddress, latencyMs, streamId } = this.src;
    return new Promise((resolve, reject) => {
      let finished = false;
      const finish = (err?: Error): void => {
        if (finished) return;
        finished = true;
        signal.removeEventListener('abort', onAbort);
        const c = this.conn;
        this.conn = null;
        if (c) {
          c.onClose = () => undefined;
          c.close('the channel stopped');
        }
        caller.close();
        if (err) reject(err);
        else resolve();
      };
      const onAbort = (): void => finish();
      signal.addEventListener('abort', onAbort, { once: true });
      const caller = new SrtCaller({ localAddress, address, port, latencyMs, streamId, passphrase: this.src.passphrase, keyLength: this.src.keyLength }, () => performance.now() * 1000, (r) => {
        if (r instanceof Error) {
          finish(new SourceError('ROOMCAST_ERR_SRT_CONNECT', `SRT call to ${address}:${port}: ${r.message}`));
          return;
        }
        this.conn = r;
        this.connections++;
        sink.event('info', `SRT connected to ${address}:${port}${streamId ? ` (stream id ${JSON.stringify(streamId)})` : ''}, latency ${r.latencyMs} ms`);
        r.onData = (buf, off, len) => sink.data(buf.subarray(off, off + len));
        r.onClose = (why) => {
          this.lastClose = why;
          finish(new SourceError('ROOMCAST_ERR_SRT_CLOSED', `SRT ${address}:${port}: ${why}`));
        };
      });
    });
  }
}
