/**
 * One input of a channel: its source under a supervisor, resync, and an
 * inspector that judges its health from what it delivers (not from whether
 * it is "connected"): TS packets arriving, bitrate, CC errors, PCR jumps.
 * The channel (channel.ts) decides which input is on the air.
 */
import type { ChannelSource, FailoverConfig } from '../../core/lineup/config.js';
import { TsResync } from '../../core/mpegts/resync.js';
import { TsInspector } from '../../core/mpegts/inspector.js';
import type { TsPacketSink } from '../../core/mpegts/sink.js';
import { createSource, type Source, type SourceSink } from './sources.js';
import { Supervisor } from './supervisor.js';

export interface InputRunnerHooks {
  /** Whole TS packets of this input (borrowed). */
  packets(input: InputRunner, buf: Buffer, off: number, count: number): void;
  /** The input restarted or lost data it cannot account for. */
  discontinuity(input: InputRunner): void;
  /** A file source reads on only while this is true (the pacer's demand, for the input on the air). */
  wantsMore(input: InputRunner): boolean;
  event(input: InputRunner, level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
  /** After each input chunk: the worker's scheduler runs if a tick is due. */
  afterInput(): void;
  /** The input's PAT or PMT changed (or became known). */
  psiChanged(input: InputRunner): void;
}

export interface InputStatus {
  index: number;
  type: string;
  label: string;
  running: boolean;
  healthy: boolean;
  bitrateBps: number;
  ccErrorsLastS: number;
  bytes: number;
  packets: number;
  syncLosses: number;
  bytesSkipped: number;
  restarts: number;
  lastError: string | null;
  lastErrorAgoS: number | null;
  source: Record<string, number | string | null>;
}

export class InputRunner {
  readonly resync: TsResync;
  readonly inspector: TsInspector;
  readonly source: Source;
  readonly supervisor: Supervisor;
  bytesIn = 0;
  lastByteAtMs: number;
  /** Last time TS packets came out of resync: what health is judged on. */
  lastPacketAtMs = -Infinity;
  private packetsAtLastCheck = 0;
  private lastStallRefMs: number;
  private lastWaitAtMs = -Infinity;
  /** Since when the input has been healthy without a break (-1: not now). */
  healthySinceMs = -1;
  // One-second windows for the rate and the CC error rate.
  private windowStartMs: number;
  private windowBytes = 0;
  private windowCcBase = 0;
  bitrateBps = 0;
  ccErrorsLastS = 0;
  private started = false;

  constructor(
    readonly index: number,
    readonly cfg: ChannelSource,
    /** "primary", "backup 1", "slate". */
    readonly label: string,
    channelName: string,
    private readonly now: () => number,
    private readonly hooks: InputRunnerHooks,
  ) {
    const t0 = now();
    this.lastByteAtMs = t0;
    this.lastStallRefMs = t0;
    this.windowStartMs = t0;
    const self = this;
    this.inspector = new TsInspector({ listener: { psiChanged: () => this.hooks.psiChanged(this) } });
    const stage: TsPacketSink = {
      writePackets(buf: Buffer, off: number, count: number): void {
        self.lastPacketAtMs = self.now();
        self.inspector.writePackets(buf, off, count);
        self.hooks.packets(self, buf, off, count);
      },
      discontinuity(): void {
        self.inspector.discontinuity();
        self.hooks.discontinuity(self);
      },
    };
    this.resync = new TsResync(stage);
    this.source = createSource(cfg, channelName);
    const sourceSink: SourceSink = {
      data(chunk: Buffer): void {
        self.bytesIn += chunk.length;
        self.windowBytes += chunk.length;
        self.lastByteAtMs = self.now();
        self.resync.push(chunk);
        self.hooks.afterInput();
      },
      discontinuity(): void {
        // Lost input datagrams: counted by the source (rtpLost); only the inspector's continuity goes.
        self.inspector.discontinuity();
      },
      wantsMore(): boolean {
        return self.hooks.wantsMore(self);
      },
      event(level, message): void {
        self.hooks.event(self, level, message);
      },
    };
    this.supervisor = new Supervisor(
      async (signal) => {
        // A new attempt is a new input: resync and timing start over.
        this.resync.reset();
        this.inspector.discontinuity();
        this.hooks.discontinuity(this);
        this.lastByteAtMs = this.now();
        this.lastStallRefMs = this.now();
        await this.source.run(sourceSink, signal);
      },
      {
        minBackoffMs: 250,
        maxBackoffMs: 10_000,
        healthyAfterMs: 10_000,
        now,
        onEvent: (level, message) => this.hooks.event(this, level, message),
      },
    );
  }

  get running(): boolean {
    return this.started;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.lastStallRefMs = this.now();
    this.supervisor.start();
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    this.healthySinceMs = -1;
    await this.supervisor.stop();
  }

  /**
   * Working now: packets within `switchAfterMs`, the rate above its floor,
   * CC errors under their ceiling.
   */
  healthy(nowMs: number, f: FailoverConfig): boolean {
    if (!this.started) return false;
    if (this.cfg.type === 'file') {
      // A file is read on demand (the pacer's queue), in chunks that can be
      // seconds of stream: silence is no sign there. Healthy = its attempt
      // runs and has delivered packets.
      return this.supervisor.state === 'running' && this.lastPacketAtMs >= this.supervisor.attemptStartedAtMs && this.ccErrorsLastS <= f.maxCcErrorsPerS;
    }
    if (nowMs - this.lastPacketAtMs > f.switchAfterMs) return false;
    if (f.minBitrateKbps !== null && nowMs - this.windowStartMs < 3000 && this.bitrateBps > 0 && this.bitrateBps < f.minBitrateKbps * 1000) return false;
    return this.ccErrorsLastS <= f.maxCcErrorsPerS;
  }

  /** Per-second bookkeeping, stall and garbage detection (a few times a second). */
  watchdog(nowMs: number, stallMs: number, pacerSatisfied: boolean): void {
    if (nowMs - this.windowStartMs >= 1000) {
      const dt = (nowMs - this.windowStartMs) / 1000;
      this.bitrateBps = Math.round((this.windowBytes * 8) / dt);
      this.ccErrorsLastS = this.inspector.counters.ccErrors - this.windowCcBase;
      this.windowCcBase = this.inspector.counters.ccErrors;
      this.windowBytes = 0;
      this.windowStartMs = nowMs;
    }
    if (this.supervisor.state !== 'running') return;
    const packets = this.resync.counters.packets;
    // A file source waits while the pacer's queue is full: not reading then is not a stall.
    if (packets !== this.packetsAtLastCheck || pacerSatisfied) {
      this.packetsAtLastCheck = packets;
      this.lastStallRefMs = nowMs;
      return;
    }
    // A listener waiting for its caller is not stalled; a caller that just connected gets stallMs too.
    if (this.source.waiting?.() === true) {
      this.lastWaitAtMs = nowMs;
      return;
    }
    const idle = nowMs - Math.max(this.lastStallRefMs, this.lastWaitAtMs);
    if (idle < stallMs) return;
    if (nowMs - this.lastByteAtMs < stallMs) {
      this.supervisor.fail(`garbage: data arrives but no TS packet for ${Math.round(idle)} ms (${this.resync.counters.bytesSkipped} bytes skipped)`);
    } else {
      this.supervisor.fail(`stalled: no data for ${Math.round(idle)} ms`);
    }
  }

  status(nowMs: number, f: FailoverConfig): InputStatus {
    const sup = this.supervisor;
    return {
      index: this.index,
      type: this.cfg.type,
      label: this.label,
      running: this.started,
      healthy: this.healthy(nowMs, f),
      bitrateBps: this.bitrateBps,
      ccErrorsLastS: this.ccErrorsLastS,
      bytes: this.bytesIn,
      packets: this.resync.counters.packets,
      syncLosses: this.resync.counters.syncLosses,
      bytesSkipped: this.resync.counters.bytesSkipped,
      restarts: sup.restarts,
      lastError: sup.lastError,
      lastErrorAgoS: sup.lastError ? Math.round((nowMs - sup.lastErrorAtMs) / 1000) : null,
      source: this.source.status(),
    };
  }
}
