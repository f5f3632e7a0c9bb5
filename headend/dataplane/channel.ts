/**
 * One channel's data plane: source → resync → inspector → PCR pacer →
 * connected multicast socket (DESIGN.md "The packet path"). Runs on a worker
 * thread; everything here is asynchronous and bounded.
 */
import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import type { ChannelConfig, HeadendConfig } from '../../core/lineup/config.js';
import { TsResync } from '../../core/mpegts/resync.js';
import { TsInspector } from '../../core/mpegts/inspector.js';
import type { TsPacketSink } from '../../core/mpegts/sink.js';
import { PcrPacer, type DatagramSink } from './pacer.js';
import { createSource, type Source, type SourceSink } from './sources.js';
import { Supervisor } from './supervisor.js';
import type { ChannelSnapshot } from './messages.js';

export type EventFn = (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;

/**
 * Lines from a misbehaving input are summarised at most once a second
 * ("12 more, last was …"), never one log line per packet or per ffmpeg line
 * (after MediaMTX's errordumper).
 */
class EventLimiter {
  private lastAt = -Infinity;
  private suppressed = 0;
  private lastMsg = '';
  constructor(private readonly emit: EventFn) {}
  event(level: 'info' | 'warn' | 'error', msg: string, nowMs: number): void {
    if (nowMs - this.lastAt >= 1000) {
      this.lastAt = nowMs;
      this.emit(level, this.suppressed > 0 ? `${msg} (and ${this.suppressed} more since, last was: ${this.lastMsg})` : msg);
      this.suppressed = 0;
    } else {
      this.suppressed++;
      this.lastMsg = msg;
    }
  }
}

/** How far before its random access point a PAT may be for the GOP cache to start there, at the stream's rate. */
const PAT_LOOKBACK_MS = 600;
/** Input runs remembered to map inspector byte positions to pacer byte positions. */
const BYTE_MAP_RUNS = 64;

export class ChannelPipeline {
  private readonly sock: dgram.Socket;
  /** The pacer also holds the GOP cache the FCC server bursts from. */
  readonly pacer: PcrPacer;
  private readonly inspector: TsInspector;
  private readonly resync: TsResync;
  private readonly source: Source;
  private readonly supervisor: Supervisor;
  private readonly events: EventLimiter;
  private readonly startedAtMs: number;
  private bytesIn = 0;
  private lastBytesIn = 0;
  private lastBytesOut = 0;
  private lastSnapshotAtMs: number;
  private lastByteAtMs: number;
  private lastPacketAtMs: number;
  private packetsAtLastCheck = 0;
  /** Last watchdog pass that saw new packets: what "ok" means (an attempt that only started is not). */
  private lastFlowAtMs = -Infinity;
  /** Last watchdog pass that found the source waiting for a peer. */
  private lastWaitAtMs = -Infinity;
  private connected = false;
  private socketErrors = 0;
  /** Output rate over the last snapshot interval, bit/s (0 before the first). */
  outputRateBps = 0;
  // Inspector byte index → pacer byte index, per input run (null stuffing and
  // overflow make them differ): the start of each of the last runs.
  private readonly runInspectorByte = new Float64Array(BYTE_MAP_RUNS).fill(-1);
  private readonly runPacerByte = new Float64Array(BYTE_MAP_RUNS);
  private runs = 0;
  /** Random access points found in the current input run (pacer byte positions), marked after the run is copied. */
  private pendingCacheBytes: number[] = [];

  constructor(
    readonly cfg: ChannelConfig,
    private readonly headend: HeadendConfig,
    private readonly now: () => number,
    private readonly emit: EventFn,
    /** The worker's scheduler: run it now if a tick is due (called after each input chunk). */
    private readonly afterInput: () => void = () => {},
    /** RTP SSRC of the channel, chosen by the main thread (random, RFC 3550 §8) and published in the lineup. */
    readonly ssrc: number = randomInt(0, 2 ** 32 - 1) >>> 0,
  ) {
    this.startedAtMs = now();
    this.lastSnapshotAtMs = this.startedAtMs;
    this.lastByteAtMs = this.startedAtMs;
    this.lastPacketAtMs = this.startedAtMs;
    this.events = new EventLimiter(emit);
    this.sock = dgram.createSocket({ type: 'udp4' });
    this.sock.on('error', (err) => {
      this.socketErrors++;
      this.events.event('error', `output socket: ${err.message}`, this.now());
    });
    const sock = this.sock;
    const self = this;
    const sink: DatagramSink = {
      send(buf: Buffer, done: ((err?: Error | null) => void) | null): void {
        // Without a callback, Node reports a failed send as an 'error' event (counted below).
        if (!self.connected) done?.();
        else if (done) sock.send(buf, done);
        else sock.send(buf);
      },
    };
    this.pacer = new PcrPacer({
      transport: cfg.transport,
      sink,
      delayMs: headend.pacingDelayMs,
      cbrBitrateBps: cfg.cbrBitrateKbps !== null ? cfg.cbrBitrateKbps * 1000 : null,
      live: cfg.source.type === 'udp' || cfg.source.type === 'rtp',
      // RFC 3550 §5.1: random initial sequence number and SSRC.
      ssrc: this.ssrc,
      initialSequenceNumber: randomInt(0, 65536),
      cacheMaxBytes: headend.fcc.enabled ? headend.fcc.cacheMaxBytes : 0,
    });
    const pacer = this.pacer;
    this.inspector = new TsInspector({
      listener: {
        randomAccess(_buf: Buffer, _off: number, _pts90k: number, auStartByteIndex: number): void {
          self.onRandomAccess(auStartByteIndex);
        },
      },
    });
    const inspector = this.inspector;
    const stage: TsPacketSink = {
      writePackets(buf: Buffer, off: number, count: number): void {
        const r = self.runs++ % BYTE_MAP_RUNS;
        self.runInspectorByte[r] = inspector.counters.bytes;
        self.runPacerByte[r] = pacer.bytesWritten;
        inspector.writePackets(buf, off, count);
        pacer.writePackets(buf, off, count, self.now());
        if (self.pendingCacheBytes.length > 0) {
          for (const b of self.pendingCacheBytes) pacer.markRandomAccess(b);
          self.pendingCacheBytes.length = 0;
        }
      },
      discontinuity(): void {
        inspector.discontinuity?.();
        pacer.discontinuity();
      },
    };
    this.resync = new TsResync(stage);
    this.source = createSource(cfg);
    const sourceSink: SourceSink = {
      data(chunk: Buffer): void {
        self.bytesIn += chunk.length;
        self.lastByteAtMs = self.now();
        self.resync.push(chunk);
        self.afterInput();
      },
      discontinuity(): void {
        // Lost input datagrams: continuity counters jump there, which is the
        // input's fault, counted by the source (rtpLost), not a CC error of
        // ours. PCR timing carries on: the pacer needs no reset for a gap.
        inspector.discontinuity?.();
      },
      wantsMore(): boolean {
        return pacer.wantsMore(self.now());
      },
      event(level, message): void {
        self.events.event(level, message, self.now());
      },
    };
    this.supervisor = new Supervisor(
      async (signal) => {
        // A new attempt is a new input: resync and timing start over.
        this.resync.reset();
        stage.discontinuity?.();
        this.lastByteAtMs = this.now();
        this.lastPacketAtMs = this.now();
        await this.source.run(sourceSink, signal);
      },
      {
        minBackoffMs: 250,
        maxBackoffMs: 10_000,
        healthyAfterMs: 10_000,
        now,
        onEvent: (level, message) => emit(level, message),
      },
    );
  }

  /** Bind, set TTL and interface explicitly, connect (NETLAB.md gotcha 3), then start the input. */
  async start(): Promise<void> {
    const { interface: iface, ttl } = this.headend;
    await new Promise<void>((resolve, reject) => {
      this.sock.once('error', reject);
      this.sock.bind({ address: iface, port: 0 }, () => {
        this.sock.off('error', reject);
        resolve();
      });
    });
    this.sock.setMulticastTTL(ttl);
    this.sock.setMulticastInterface(iface);
    this.sock.setMulticastLoopback(true);
    await new Promise<void>((resolve, reject) => {
      this.sock.connect(this.cfg.multicast.port, this.cfg.multicast.group, (err?: Error) => (err ? reject(err) : resolve()));
    });
    this.connected = true;
    this.supervisor.start();
  }

  /**
   * A random access point whose access unit starts at inspector byte
   * `auStart`: the GOP cache restarts at the PAT just before it (so a burst
   * begins PAT, PMT, I-frame) or, without a recent PAT + PMT, at the access
   * unit itself.
   */
  private onRandomAccess(auStart: number): void {
    const ins = this.inspector;
    const rateBps = ins.counters.bitrateBps > 0 ? ins.counters.bitrateBps : 8_000_000;
    const lookback = (rateBps / 8) * (PAT_LOOKBACK_MS / 1000);
    const pat = ins.lastPatByte;
    const pmt = ins.lastPmtByte;
    const start = pat >= 0 && pat <= auStart && pmt > pat && pmt < auStart && auStart - pat <= lookback ? pat : auStart;
    // The run that held `start`: its pacer position minus the bytes before it
    // in the run (null stuffing inside a run only moves this earlier — safe:
    // the cache then starts a datagram early, never after the I-frame).
    for (let i = 1; i <= Math.min(this.runs, BYTE_MAP_RUNS); i++) {
      const r = (this.runs - i) % BYTE_MAP_RUNS;
      const ib = this.runInspectorByte[r];
      if (ib >= 0 && ib <= start) {
        if (this.pendingCacheBytes.length < 64) this.pendingCacheBytes.push(this.runPacerByte[r] + (start - ib));
        return;
      }
    }
    this.pacer.counters.cacheDrops++; // older than every run remembered
  }

  /** Called by the worker's scheduler about every millisecond. */
  tick(nowMs: number): void {
    this.pacer.tick(nowMs);
  }

  /** Stall and garbage detection, a few times a second. */
  watchdog(nowMs: number): void {
    if (this.supervisor.state !== 'running') return;
    const packets = this.resync.counters.packets;
    // A file source waits while the queue is full (a 192 KiB chunk is 2 s
    // of a 700 kbit/s stream): not reading then is not a stall.
    if (packets !== this.packetsAtLastCheck || !this.pacer.wantsMore(nowMs)) {
      if (packets !== this.packetsAtLastCheck) this.lastFlowAtMs = nowMs;
      this.packetsAtLastCheck = packets;
      this.lastPacketAtMs = nowMs;
      return;
    }
    // A listener waiting for its caller is not stalled (and not flowing either:
    // its state says no-input); a caller that just connected gets stallMs too.
    if (this.source.waiting?.() === true) {
      this.lastWaitAtMs = nowMs;
      return;
    }
    const idle = nowMs - Math.max(this.lastPacketAtMs, this.lastWaitAtMs);
    if (idle < this.cfg.source.stallMs) return;
    if (nowMs - this.lastByteAtMs < this.cfg.source.stallMs) {
      this.supervisor.fail(`garbage: data arrives but no TS packet for ${Math.round(idle)} ms (${this.resync.counters.bytesSkipped} bytes skipped)`);
    } else {
      this.supervisor.fail(`stalled: no data for ${Math.round(idle)} ms`);
    }
  }

  snapshot(nowMs: number): ChannelSnapshot {
    const dt = Math.max(1, nowMs - this.lastSnapshotAtMs) / 1000;
    this.lastSnapshotAtMs = nowMs;
    const pc = this.pacer.counters;
    const inBps = ((this.bytesIn - this.lastBytesIn) * 8) / dt;
    const outBps = ((pc.bytesSent - this.lastBytesOut) * 8) / dt;
    this.lastBytesIn = this.bytesIn;
    this.lastBytesOut = pc.bytesSent;
    this.outputRateBps = outBps;
    const lat = this.pacer.takeLateness();
    const sup = this.supervisor;
    const flowing = nowMs - Math.max(this.lastFlowAtMs, this.pacer.wantsMore(nowMs) ? -Infinity : this.lastPacketAtMs) < 1500 && sup.state === 'running';
    const state: ChannelSnapshot['state'] =
      sup.state === 'stopped' ? 'stopped' : sup.state === 'backoff' ? 'restarting' : flowing ? 'ok' : sup.attempts <= 1 && this.resync.counters.packets === 0 ? 'starting' : 'no-input';
    const ins = this.inspector;
    return {
      number: this.cfg.number,
      name: this.cfg.name,
      state,
      atMs: nowMs,
      uptimeS: Math.round((nowMs - this.startedAtMs) / 1000),
      inputBitrateBps: Math.round(inBps),
      outputBitrateBps: Math.round(outBps),
      input: {
        bytes: this.bytesIn,
        packets: this.resync.counters.packets,
        syncLosses: this.resync.counters.syncLosses,
        bytesSkipped: this.resync.counters.bytesSkipped,
        restarts: sup.restarts,
        lastError: sup.lastError,
        lastErrorAgoS: sup.lastError ? Math.round((nowMs - sup.lastErrorAtMs) / 1000) : null,
        source: this.source.status(),
      },
      tr101290: { ...ins.counters },
      stream: ins.describe(),
      output: {
        datagrams: pc.datagramsSent,
        bytes: pc.bytesSent,
        overflowPackets: pc.overflowPackets,
        nullPackets: pc.nullPacketsInserted,
        reanchors: pc.reanchors,
        lateDatagrams: pc.lateDatagrams,
        sendErrors: pc.sendErrors + this.socketErrors,
        latenessP50Ms: lat.p50Ms,
        latenessP99Ms: lat.p99Ms,
        latenessMaxMs: lat.maxMs,
        queuedDatagrams: this.pacer.queuedDatagrams,
      },
      cache: {
        datagrams: pc.cacheStarts > 0 && this.pacer.cacheFrom >= 0 ? this.pacer.liveEdge - this.pacer.cacheFrom : 0,
        starts: pc.cacheStarts,
        drops: pc.cacheDrops,
        readersCut: pc.readersCut,
      },
    };
  }

  async stop(): Promise<void> {
    await this.supervisor.stop();
    this.connected = false;
    await new Promise<void>((resolve) => this.sock.close(() => resolve()));
  }
}
