/**
 * One channel's data plane (DESIGN.md "The packet path"): inputs (a primary,
 * its backups, the slate) → input selector → stable output program (remux)
 * → inspector → PCR pacer (+ GOP cache) → connected multicast socket. Runs on
 * a worker thread; everything here is asynchronous and bounded.
 *
 * Input redundancy: each input is judged by what it delivers (inputs.ts).
 * When the one on the air goes silent (switchAfterMs), degrades (bitrate
 * floor, CC errors) or its supervisor restarts it, the next healthy input
 * takes over — at its next I-frame if that comes within rapWaitMs, else at
 * once — through OutputRemux, so receivers keep the same program: PIDs,
 * PAT/PMT, continuity counters, a PCR discontinuity flagged. With no input
 * healthy for slateAfterMs the slate goes on the air; the primary returns
 * after returnAfterS of working without a break.
 */
import dgram from 'node:dgram';
import { basename } from 'node:path';
import { randomInt } from 'node:crypto';
import type { ChannelConfig, HeadendConfig } from '../../core/lineup/config.js';
import type { ChannelSource } from '../../core/lineup/config.js';
import { TsInspector } from '../../core/mpegts/inspector.js';
import { OutputRemux } from '../../core/mpegts/remux.js';
import type { TsPacketSink } from '../../core/mpegts/sink.js';
import { RandomAccessGate } from '../../stb-agent/tuner/gate.js';
import { PcrPacer, type DatagramSink } from './pacer.js';
import type { ChannelHls } from './hls.js';
import { GopBuffer, InputRunner } from './inputs.js';
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
/**
 * The slate reads little ahead: what of it is queued in the pacer goes on the
 * air before the input that replaces it (a 192 KiB chunk is ~3 s of a
 * 0.5 Mbit/s slate). 64 packets is ~100 ms of a 1 Mbit/s slate.
 */
const SLATE_READ_PACKETS = 64;
const SLATE_READ_AHEAD_MS = 60;
const PAT_LOOKBACK_MS = 600;
/** A planned switch (the input on the air still works) waits this long at most for an I-frame. */
const PLANNED_RAP_WAIT_MS = 5000;
/** After start, how long the primary may take to deliver its first packet before a backup takes over. */
const STARTUP_GRACE_MS = 3000;
/** Output runs remembered to map inspector byte positions to pacer byte positions. */
const BYTE_MAP_RUNS = 64;

interface PendingSwitch {
  to: InputRunner;
  reason: string;
  decidedAtMs: number;
  deadlineMs: number;
  gate: RandomAccessGate;
}

export interface SwitchRecord {
  atMs: number;
  from: string;
  to: string;
  reason: string;
  /** From the decision to the new input on the air, ms. */
  tookMs: number;
  atRandomAccess: boolean;
  /** What of the old input was still queued in the pacer at the switch, ms: the new one reaches the wire after it (about the pacing delay). */
  queuedMs: number;
}

export class ChannelPipeline {
  private readonly sock: dgram.Socket;
  /** The pacer also holds the GOP cache the FCC server bursts from. */
  readonly pacer: PcrPacer;
  /** What goes on the air, after the remux. */
  private readonly inspector: TsInspector;
  private readonly remux: OutputRemux;
  private readonly inputs: InputRunner[];
  private slate: InputRunner | null = null;
  private slatePath: string | null = null;
  /** A slate in the channel's format, made while the old one was on the air. */
  private nextSlatePath: string | null = null;
  private active: InputRunner;
  /** After a switch at an I-frame the new input's packets go through its gate (it trims the other streams to their next PES). */
  private activeGate: RandomAccessGate | null = null;
  private pending: PendingSwitch | null = null;
  /** A planned switch waiting for the end of the current access unit on the air. */
  private cutAt: { to: InputRunner; reason: string; untilMs: number } | null = null;
  /** Since when nothing has been healthy (for the slate), -1 while something is. */
  private downSinceMs = -1;
  private readonly events: EventLimiter;
  private readonly startedAtMs: number;
  private lastBytesIn = 0;
  private lastBytesOut = 0;
  private lastSnapshotAtMs: number;
  private lastFlowAtMs = -Infinity;
  private packetsAtLastSnapshot = 0;
  private connected = false;
  private socketErrors = 0;
  private switches = 0;
  private lastSwitch: SwitchRecord | null = null;
  /** Output rate over the last snapshot interval, bit/s (0 before the first). */
  outputRateBps = 0;
  // Inspector byte index → pacer byte index, per output run (null stuffing and
  // overflow make them differ): the start of each of the last runs.
  private readonly runInspectorByte = new Float64Array(BYTE_MAP_RUNS).fill(-1);
  private readonly runPacerByte = new Float64Array(BYTE_MAP_RUNS);
  private runs = 0;
  /** Random access points found in the current output run (pacer byte positions), marked after the run is copied. */
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
    /** The channel's HLS segmenter (headend.hls), fed what goes on the air. */
    private readonly hls: ChannelHls | null = null,
  ) {
    this.startedAtMs = now();
    this.lastSnapshotAtMs = this.startedAtMs;
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
    const live = cfg.inputs.some((i) => i.type === 'udp' || i.type === 'rtp' || i.type === 'srt');
    this.pacer = new PcrPacer({
      transport: cfg.transport,
      sink,
      delayMs: headend.pacingDelayMs,
      cbrBitrateBps: cfg.cbrBitrateKbps !== null ? cfg.cbrBitrateKbps * 1000 : null,
      live,
      // RFC 3550 §5.1: random initial sequence number and SSRC.
      ssrc: this.ssrc,
      initialSequenceNumber: randomInt(0, 65536),
      // Kept with FCC off too: the admin UI's thumbnail decodes from it.
      cacheMaxBytes: headend.fcc.cacheMaxBytes,
    });
    const pacer = this.pacer;
    this.inspector = new TsInspector({
      listener: {
        randomAccess(_buf: Buffer, _off: number, pts90k: number, auStartByteIndex: number): void {
          self.onRandomAccess(auStartByteIndex, pts90k);
        },
      },
    });
    const inspector = this.inspector;
    const onAir: TsPacketSink = {
      writePackets(buf: Buffer, off: number, count: number): void {
        const r = self.runs++ % BYTE_MAP_RUNS;
        self.runInspectorByte[r] = inspector.counters.bytes;
        self.runPacerByte[r] = pacer.bytesWritten;
        inspector.writePackets(buf, off, count);
        pacer.writePackets(buf, off, count, self.now());
        if (self.hls) {
          self.hls.writePackets(buf, off, count);
          // No later cut can come before the last PAT or the access unit the inspector has not decided on
          // (onRandomAccess starts a segment at one of them); the output remux repeats the PAT, so little is held back.
          const from = inspector.undecidedFrom;
          self.hls.settle(inspector.lastPatByte >= 0 ? Math.min(from, inspector.lastPatByte) : from);
        }
        if (self.pendingCacheBytes.length > 0) {
          for (const b of self.pendingCacheBytes) pacer.markRandomAccess(b);
          self.pendingCacheBytes.length = 0;
        }
      },
    };
    // program_number (= DVB service_id) is the channel number: unique in the
    // headend's network, as EN 300 468 wants service ids to be, so receivers
    // and monitoring tell the channels apart; PIDs are the same on every channel.
    this.remux = new OutputRemux(onAir, { programNumber: cfg.number, service: { name: cfg.name } });
    this.inputs = cfg.inputs.map((src, i) => this.runner(i, src, i === 0 ? 'primary' : `backup ${i}`));
    this.active = this.inputs[0];
  }

  private runner(index: number, src: ChannelSource, label: string): InputRunner {
    const self = this;
    const runner: InputRunner = new InputRunner(index, src, label, this.cfg.name, this.now, {
      packets(input, buf, off, count): void {
        if (self.pending && self.pending.to === input) self.pending.gate.writePackets(buf, off, count);
        else if (input === self.active) {
          let n = count;
          const cut = self.cutAt;
          if (cut) {
            // A planned switch waits for the end of the current video access
            // unit, so the last picture before it is whole.
            const vpid = input.inspector.videoPid;
            for (let i = 0; i < count; i++) {
              const o = off + i * 188;
              if (((buf[o + 1] & 0x1f) << 8 | buf[o + 2]) === vpid && (buf[o + 1] & 0x40) !== 0) {
                n = i;
                break;
              }
            }
          }
          if (n > 0) {
            if (self.activeGate) self.activeGate.writePackets(buf, off, n);
            else self.remux.writePackets(buf, off, n);
          }
          if (cut && n < count) self.switchFromGop(cut.to, cut.reason, self.now());
        }
        // Others: a hot backup's packets only feed its own health.
      },
      discontinuity(input): void {
        if (input !== self.active) return;
        // The input on the air restarted: a new time base, and its PMT is learnt afresh.
        self.activeGate = null;
        self.remux.switchInput(null, -1);
        self.pacer.discontinuity();
        self.hls?.discontinuity();
      },
      wantsMore(input): boolean {
        if (input !== self.active && (self.pending === null || self.pending.to !== input)) return false;
        return self.pacer.wantsMore(self.now(), input === self.slate ? SLATE_READ_AHEAD_MS : undefined);
      },
      event(input, level, message): void {
        const m = self.inputs.length > 1 || input === self.slate ? `${input.label}: ${message}` : message;
        if (level === 'debug') self.emit('debug', m);
        else self.events.event(level, m, self.now());
      },
      afterInput(): void {
        self.afterInput();
      },
      psiChanged(input): void {
        if (input === self.active && input.inspector.pmt) self.remux.updateInput(input.inspector.pmt, input.inspector.pmtPid);
      },
    });
    return runner;
  }

  /** Bind, set TTL and interface explicitly, connect (NETLAB.md gotcha 3), then start the inputs. */
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
    this.remux.switchInput(null, -1);
    this.inputs[0].start();
    // Hot backups run all the time (but a file plays only when on the air: it has no clock of its own).
    if (this.cfg.failover.backups === 'hot') {
      for (const r of this.inputs.slice(1)) {
        if (r.cfg.type === 'file') continue;
        r.gop = new GopBuffer();
        r.start();
      }
    }
  }

  /**
   * A slate file is ready (made by the main thread: the default one, then one
   * in this channel's format): it becomes the last resort. A slate on the
   * air is replaced when it leaves the air, not under the viewers' eyes.
   */
  setSlate(path: string): void {
    if (!this.cfg.slate) return;
    if (this.slate && this.slatePath === path) return;
    if (this.slate && this.active === this.slate) {
      this.nextSlatePath = path;
      return;
    }
    if (this.slate) void this.slate.stop();
    this.slatePath = path;
    this.nextSlatePath = null;
    this.slate = this.runner(-1, { type: 'file', path, stallMs: 3000, readChunkPackets: SLATE_READ_PACKETS }, 'slate');
  }

  /** The format of the channel's pictures: the real input on the air, else the first input that showed one. */
  sourceFormat(): ChannelSnapshot['sourceFormat'] {
    const on = this.active !== this.slate ? this.active : null;
    for (const r of on ? [on, ...this.inputs] : this.inputs) {
      const v = r.inspector.videoFormat;
      if (v && v.frameRate) return { video: v, audio: r.inspector.audioFormat };
    }
    return null;
  }

  /**
   * A random access point whose access unit starts at inspector byte
   * `auStart`: the GOP cache restarts at the PAT just before it (so a burst
   * begins PAT, PMT, I-frame) or, without a recent PAT + PMT, at the access
   * unit itself.
   */
  private onRandomAccess(auStart: number, pts90k: number): void {
    const ins = this.inspector;
    const rateBps = ins.counters.bitrateBps > 0 ? ins.counters.bitrateBps : 8_000_000;
    const lookback = (rateBps / 8) * (PAT_LOOKBACK_MS / 1000);
    const pat = ins.lastPatByte;
    const pmt = ins.lastPmtByte;
    const start = pat >= 0 && pat <= auStart && pmt > pat && pmt < auStart && auStart - pat <= lookback ? pat : auStart;
    // HLS segments start where the GOP cache does; on the air after the pacing delay.
    // (What was just written is sent when the pacer's queue has gone out: its wall clock, for a new time base.)
    if (this.hls) this.hls.cutAt(start, pts90k, Date.now() + Math.max(this.headend.pacingDelayMs, this.pacer.queuedMs(this.now())));
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

  /** Called by the worker's scheduler about every millisecond: send what is due, and keep the channel on the air. */
  tick(nowMs: number): void {
    this.pacer.tick(nowMs);
    this.failover(nowMs);
  }

  /** The input selector (cheap: a few comparisons per millisecond). */
  private failover(now: number): void {
    const f = this.cfg.failover;
    if (this.cutAt) {
      if (now < this.cutAt.untilMs && this.active.healthy(now, f)) return;
      this.switchFromGop(this.cutAt.to, this.cutAt.reason, now);
    }
    const p = this.pending;
    if (p) {
      if (!p.to.healthy(now, f)) this.pending = null; // it failed too: choose again below
      else if (now >= p.deadlineMs) this.commit(p.to, `${p.reason}; no I-frame within ${Math.round(p.deadlineMs - p.decidedAtMs)} ms`, now, null);
      else return;
    }
    const active = this.active;
    const activeOk = active.healthy(now, f);
    const candidates = this.inputs.filter((r) => r !== active && r.healthy(now, f));
    for (const r of this.inputs) {
      if (r.healthy(now, f)) {
        if (r.healthySinceMs < 0) r.healthySinceMs = now;
      } else r.healthySinceMs = -1;
    }
    if (activeOk && active !== this.slate) {
      this.downSinceMs = -1;
      // Back to the primary once it has worked for returnAfterS without a break.
      const primary = this.inputs[0];
      if (active !== primary && primary.healthySinceMs >= 0 && now - primary.healthySinceMs >= f.returnAfterS * 1000) {
        this.begin(primary, `the primary has worked for ${f.returnAfterS} s`, now);
      }
      return;
    }
    // At start the primary gets a moment to deliver before a backup takes over.
    if (active === this.inputs[0] && now - this.startedAtMs < STARTUP_GRACE_MS && active.lastPacketAtMs < 0) return;
    if (candidates.length > 0) {
      this.downSinceMs = -1;
      // The first healthy one in order of preference (the slate is not among them).
      const to = candidates[0];
      this.begin(to, active === this.slate ? `${to.label} is back` : this.whyUnhealthy(active, now), now);
      return;
    }
    // Nothing healthy: wake cold backups, and after slateAfterMs put the slate on.
    for (const r of this.inputs) if (!r.running && r.cfg.type !== 'file') r.start();
    for (const r of this.inputs) if (!r.running && r.cfg.type === 'file' && r === this.inputs[0]) r.start();
    if (this.downSinceMs < 0) this.downSinceMs = Math.max(active.lastPacketAtMs, this.startedAtMs);
    if (this.slate && active !== this.slate && now - this.downSinceMs >= f.slateAfterMs) {
      this.slate.start();
      // The slate file begins with PAT, PMT and an I-frame: no wait.
      this.commit(this.slate, `no input has worked for ${Math.round(now - this.downSinceMs)} ms`, now, null);
    }
  }

  private whyUnhealthy(r: InputRunner, now: number): string {
    const f = this.cfg.failover;
    if (!r.running) return `${r.label} is not running`;
    if (now - r.lastPacketAtMs > r.silenceLimitMs(f)) return `${r.label} silent for ${Math.round(Math.min(now - r.lastPacketAtMs, 86_400_000))} ms`;
    if (r.ccErrorsLastS > f.maxCcErrorsPerS) return `${r.label}: ${r.ccErrorsLastS} CC errors in the last second`;
    if (r.pcrJumpsLastS > f.maxPcrJumpsPerS) return `${r.label}: ${r.pcrJumpsLastS} PCR jumps in the last second`;
    if (f.minBitrateKbps !== null && r.bitrateBps < f.minBitrateKbps * 1000) return `${r.label} below ${f.minBitrateKbps} kbit/s (${Math.round(r.bitrateBps / 1000)})`;
    return `${r.label} unhealthy`;
  }

  /**
   * Switch to `to`: at once from its last I-frame when it is a hot backup
   * that kept its GOP, else at its next I-frame (within rapWaitMs).
   */
  private begin(to: InputRunner, reason: string, now: number): void {
    if (!to.running) to.start();
    if (to.gop?.take()) {
      // The input on the air still works (a planned switch): finish its
      // current picture first; a dead one has nothing more to send.
      if (this.active.healthy(now, this.cfg.failover) && this.active !== this.slate) {
        this.cutAt = { to, reason, untilMs: now + this.cfg.failover.rapWaitMs };
        return;
      }
      this.switchFromGop(to, reason, now);
      return;
    }
    const f = this.cfg.failover;
    const self = this;
    const gate: RandomAccessGate = new RandomAccessGate({
      start(): void {
        // The PAT/PMT copies the gate offers are the input's: the remux puts ours first.
        self.commit(to, reason, self.now(), gate);
      },
      writePackets(buf: Buffer, off: number, count: number): void {
        if (self.active === to) self.remux.writePackets(buf, off, count);
      },
    }, { cachedPsi: null });
    // Urgent (the input on the air is dead): the next I-frame within rapWaitMs,
    // else at once. Planned (back to the primary, off the slate): what is on
    // the air still plays, so wait for an I-frame — up to a long GOP.
    const urgent = this.active !== this.slate && !this.active.healthy(now, f);
    this.pending = { to, reason, decidedAtMs: now, deadlineMs: now + (urgent ? f.rapWaitMs : PLANNED_RAP_WAIT_MS), gate };
    if (urgent && f.rapWaitMs === 0) this.commit(to, reason, now, null);
  }

  /** On the air now, from the I-frame the hot backup kept. */
  private switchFromGop(to: InputRunner, reason: string, now: number): void {
    this.cutAt = null;
    const gop = to.gop?.take() ?? null;
    if (!gop) {
      this.begin(to, reason, now);
      return;
    }
    const copy = Buffer.from(gop); // the buffer is the backup's until commit lets it go
    this.commit(to, reason, now, null, true);
    this.remux.writePackets(copy, 0, copy.length / 188);
  }

  /** `to` goes on the air now (`fromGop`: starting with the GOP it kept). */
  private commit(to: InputRunner, reason: string, now: number, gate: RandomAccessGate | null, fromGop = false): void {
    const from = this.active;
    const decidedAt = this.pending?.to === to ? this.pending.decidedAtMs : now;
    this.pending = null;
    this.active = to;
    this.activeGate = gate;
    this.downSinceMs = -1;
    this.remux.switchInput(to.inspector.pmt, to.inspector.pmtPid);
    this.pacer.discontinuity();
    this.hls?.discontinuity();
    this.switches++;
    this.lastSwitch = { atMs: now, from: from.label, to: to.label, reason, tookMs: Math.round(now - decidedAt), atRandomAccess: gate !== null || fromGop, queuedMs: Math.round(this.pacer.queuedMs(now)) };
    this.emit('warn', `on the air: ${to.label} (was ${from.label}): ${reason}${fromGop ? ', from its last I-frame' : gate ? ', at an I-frame' : ''}`);
    // On the air it needs no GOP of its own; the input it replaces, if it is a running hot backup, keeps one.
    to.gop = null;
    if (from !== this.slate && from.running && from.cfg.type !== 'file' && (from === this.inputs[0] || this.cfg.failover.backups === 'hot')) from.gop = new GopBuffer();
    // A cold backup, or the slate, that is no longer on the air stops.
    if (from === this.slate || (from !== this.inputs[0] && this.cfg.failover.backups === 'cold') || (from.cfg.type === 'file' && from !== this.inputs[0])) void from.stop();
    if (from === this.slate && this.nextSlatePath) this.setSlate(this.nextSlatePath);
  }

  /** Stall and garbage detection, per-second health figures, a few times a second. */
  watchdog(nowMs: number): void {
    const satisfied = !this.pacer.wantsMore(nowMs);
    for (const r of this.inputs) r.watchdog(nowMs, r.cfg.stallMs, r === this.active && satisfied);
    this.slate?.watchdog(nowMs, 3000, this.slate === this.active && satisfied);
  }

  snapshot(nowMs: number): ChannelSnapshot {
    const dt = Math.max(1, nowMs - this.lastSnapshotAtMs) / 1000;
    this.lastSnapshotAtMs = nowMs;
    const pc = this.pacer.counters;
    const active = this.active;
    const bytesIn = this.inputs.reduce((a, r) => a + (r === active ? r.bytesIn : 0), 0);
    const inBps = active === this.slate ? 0 : active.bitrateBps;
    const outBps = ((pc.bytesSent - this.lastBytesOut) * 8) / dt;
    this.lastBytesIn = bytesIn;
    this.lastBytesOut = pc.bytesSent;
    this.outputRateBps = outBps;
    const lat = this.pacer.takeLateness();
    const outPackets = this.inspector.counters.packets;
    if (outPackets !== this.packetsAtLastSnapshot) this.lastFlowAtMs = nowMs;
    this.packetsAtLastSnapshot = outPackets;
    const f = this.cfg.failover;
    // The channel's input: the one on the air, or the primary while the slate is.
    const shown = active === this.slate ? this.inputs[0] : active;
    const sup = shown.supervisor;
    // A file is read on demand in chunks that can be seconds of a small
    // stream: its silence between reads is no sign (InputRunner.healthy).
    const delivering = active.cfg.type === 'file' ? active.healthy(nowMs, f) : nowMs - active.lastPacketAtMs < 1500;
    const onAir = delivering && nowMs - this.lastFlowAtMs < 2500;
    const state: ChannelSnapshot['state'] =
      active === this.slate
        ? 'slate'
        : sup.state === 'stopped'
          ? 'stopped'
          : sup.state === 'backoff' && !onAir
            ? 'restarting'
            : onAir
              ? 'ok'
              : sup.attempts <= 1 && shown.resync.counters.packets === 0
                ? 'starting'
                : 'no-input';
    const ins = this.inspector;
    // Each input's status once; the channel's summary is the shown one's.
    const statuses = this.inputs.map((r) => r.status(nowMs, f));
    const st = statuses[this.inputs.indexOf(shown)];
    return {
      number: this.cfg.number,
      name: this.cfg.name,
      state,
      atMs: nowMs,
      uptimeS: Math.round((nowMs - this.startedAtMs) / 1000),
      inputBitrateBps: Math.round(inBps),
      outputBitrateBps: Math.round(outBps),
      input: { bytes: st.bytes, packets: st.packets, syncLosses: st.syncLosses, bytesSkipped: st.bytesSkipped, restarts: st.restarts, lastError: st.lastError, lastErrorAgoS: st.lastErrorAgoS, source: st.source },
      inputs: statuses.map((x, i) => ({ ...x, onAir: this.inputs[i] === active })),
      activeInput: active === this.slate ? 'slate' : active.label,
      sourceFormat: this.sourceFormat(),
      slateFile: this.slatePath ? basename(this.slatePath) : null,
      switches: this.switches,
      lastSwitch: this.lastSwitch ? { ...this.lastSwitch, agoS: Math.round((nowMs - this.lastSwitch.atMs) / 1000) } : null,
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
    this.hls?.close();
    await Promise.all([...this.inputs, ...(this.slate ? [this.slate] : [])].map((r) => r.stop()));
    this.connected = false;
    await new Promise<void>((resolve) => this.sock.close(() => resolve()));
  }
}
