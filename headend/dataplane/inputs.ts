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
  pcrJumpsLastS: number;
  bytes: number;
  packets: number;
  syncLosses: number;
  bytesSkipped: number;
  restarts: number;
  lastError: string | null;
  lastErrorAgoS: number | null;
  source: Record<string, number | string | null>;
}

/**
 * The packets of an input since its last random access point, kept while it
 * is a hot backup: a switch to it then starts at once *and* at an I-frame
 * (the channel's delay grows by at most this GOP; the pacer plays it at its
 * own rate). Bounded: past `maxBytes` it is dropped until the next I-frame.
 */
export class GopBuffer {
  private buf: Buffer;
  private len = 0;
  /** Inspector byte index of buf[0]. */
  private startByte = 0;
  /** A random access point reported during the current write, applied at its end. */
  private pendingRap = -1;
  /** buf[0] is the first packet of a random access point's access unit. */
  private atRap = false;
  overflows = 0;

  constructor(private readonly maxBytes = 16 * 1024 * 1024) {
    this.buf = Buffer.alloc(256 * 1024);
  }

  /** Packets at inspector byte index `byteIndex` (borrowed), after the inspector saw them. */
  write(buf: Buffer, off: number, count: number, byteIndex: number): void {
    const n = count * 188;
    if (this.len === 0) this.startByte = byteIndex;
    if (this.len + n > this.maxBytes) {
      // A GOP longer than the bound: nothing usable until the next I-frame.
      this.overflows++;
      this.len = 0;
      this.atRap = false;
      this.startByte = byteIndex + n;
      if (this.pendingRap >= this.startByte) this.applyRap();
      this.pendingRap = -1;
      return;
    }
    if (this.len + n > this.buf.length) {
      const bigger = Buffer.alloc(Math.min(this.maxBytes, Math.max(this.buf.length * 2, this.len + n)));
      this.buf.copy(bigger, 0, 0, this.len);
      this.buf = bigger;
    }
    buf.copy(this.buf, this.len, off, off + n);
    this.len += n;
    if (this.pendingRap >= 0) this.applyRap();
  }

  /** The inspector found a random access point whose access unit began at `auStartByte`. */
  randomAccess(auStartByte: number): void {
    this.pendingRap = auStartByte;
  }

  private applyRap(): void {
    const drop = this.pendingRap - this.startByte;
    this.pendingRap = -1;
    if (drop < 0 || drop > this.len) return; // it began before what is kept: not usable
    this.buf.copyWithin(0, drop, this.len);
    this.len -= drop;
    this.startByte += drop;
    this.atRap = true;
  }

  /** From the last random access point to now, or null (none kept). Borrowed until the next write. */
  take(): Buffer | null {
    return this.atRap && this.len > 0 ? this.buf.subarray(0, this.len) : null;
  }
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
  /** PCR jumps without discontinuity_indicator (TR 101 290 2.3b) in the last second: an encoder resetting its clock. */
  pcrJumpsLastS = 0;
  private windowPcrBase = 0;
  private started = false;
  /** Set while this input is a hot backup: its packets since its last I-frame. */
  gop: GopBuffer | null = null;
  // How bursty the input is: the longest pause between two deliveries, per
  // 1-s window, over the last 10 windows. An input that normally pauses
  // 280 ms (ffmpeg's unpaced UDP output does) is not "silent" at 300.
  private readonly gapWindows = new Float64Array(10);
  private gapWindow = 0;
  private windowMaxGapMs = 0;

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
    this.inspector = new TsInspector({
      listener: {
        psiChanged: () => this.hooks.psiChanged(this),
        randomAccess: (_b, _o, _p, auStart) => this.gop?.randomAccess(auStart),
      },
    });
    const stage: TsPacketSink = {
      writePackets(buf: Buffer, off: number, count: number): void {
        const t = self.now();
        // A pause of a second or more is an outage, not burstiness: it does not count.
        const gap = t - self.lastPacketAtMs;
        if (gap > self.windowMaxGapMs && gap < 1000) self.windowMaxGapMs = gap;
        self.lastPacketAtMs = t;
        const at = self.inspector.counters.bytes;
        self.inspector.writePackets(buf, off, count);
        self.gop?.write(buf, off, count, at);
        self.hooks.packets(self, buf, off, count);
      },
      discontinuity(): void {
        self.inspector.discontinuity();
        if (self.gop) self.gop = new GopBuffer();
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
    if (nowMs - this.lastPacketAtMs > this.silenceLimitMs(f)) return false;
    if (f.minBitrateKbps !== null && nowMs - this.windowStartMs < 3000 && this.bitrateBps > 0 && this.bitrateBps < f.minBitrateKbps * 1000) return false;
    return this.ccErrorsLastS <= f.maxCcErrorsPerS && this.pcrJumpsLastS <= f.maxPcrJumpsPerS;
  }

  /** Silence that makes the input unhealthy: switchAfterMs, or 1.5 × its usual longest pause (at most 1.5 s). */
  silenceLimitMs(f: FailoverConfig): number {
    let usual = 0;
    for (let i = 0; i < this.gapWindows.length; i++) if (this.gapWindows[i] > usual) usual = this.gapWindows[i];
    return Math.max(f.switchAfterMs, Math.min(1500, usual * 1.5));
  }

  /** Per-second bookkeeping, stall and garbage detection (a few times a second). */
  watchdog(nowMs: number, stallMs: number, pacerSatisfied: boolean): void {
    if (nowMs - this.windowStartMs >= 1000) {
      const dt = (nowMs - this.windowStartMs) / 1000;
      this.bitrateBps = Math.round((this.windowBytes * 8) / dt);
      this.ccErrorsLastS = this.inspector.counters.ccErrors - this.windowCcBase;
      this.windowCcBase = this.inspector.counters.ccErrors;
      this.pcrJumpsLastS = this.inspector.counters.pcrDiscontinuityErrors - this.windowPcrBase;
      this.windowPcrBase = this.inspector.counters.pcrDiscontinuityErrors;
      this.windowBytes = 0;
      this.windowStartMs = nowMs;
      this.gapWindows[this.gapWindow++ % this.gapWindows.length] = this.windowMaxGapMs;
      this.windowMaxGapMs = 0;
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
      pcrJumpsLastS: this.pcrJumpsLastS,
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
