/**
 * The tuner: one channel at a time, from the zap to a clean TS for the
 * player (DESIGN.md "Fast channel change", "I-frame gate", "IGMP").
 *
 * A zap leaves the old group (closing its socket: the kernel sends the IGMP
 * leave) and, at the same moment:
 *   - joins the new group on the configured interface (ASM, or SSM with the
 *     channel's source), on a socket bound to the group address with an
 *     8 MiB receive buffer (NETLAB.md gotchas 3, 4, 6);
 *   - sends a RAMS-R (RFC 6285 §7.2) to the channel's FCC endpoint.
 * The burst (the headend's GOP cache: the multicast's own RTP datagrams from
 * the last random access point) is depacketized and played at once, the
 * multicast is held and spliced on by sequence number, and RAMS-T
 * (§7.4) tells the server to stop. No RAMS-I within `fccTimeoutMs` (or a
 * refusal) → the multicast alone. Either way the I-frame gate lets nothing
 * through before PAT, PMT and a random access point.
 *
 * One membership per tune, never more than MAX_JOINS sockets: far below the
 * kernel's per-socket igmp_max_memberships (20, NETLAB.md gotcha 5).
 */
import dgram from 'node:dgram';
import { randomInt } from 'node:crypto';
import type { LineupChannel } from '../../core/lineup/api.js';
import { RtpDepacketizer } from '../../core/rtp/depacketizer.js';
import { TsResync } from '../../core/mpegts/resync.js';
import type { TsPacketSink } from '../../core/mpegts/sink.js';
import { RamsResponseCode, RamsSfmt, isRamsParseError, parseRams, writeRamsRequest, writeRamsTermination } from '../../core/fcc/rams.js';
import { RandomAccessGate, type GateSink } from './gate.js';
import { FccSplicer } from './splice.js';

/** NETLAB.md gotcha 6: the default 208 KiB lost 19 % of a burst; 8 MiB lost none. */
const RECV_BUFFER_BYTES = 8 * 1024 * 1024;
const MAX_JOINS = 2;
/** PSI remembered per channel for the next tune (a few packets each). */
const PSI_CACHE_CHANNELS = 1000;

export interface ZapRecord {
  channel: number;
  /** Wall clock of the zap command, ms since the epoch. */
  requestedAt: number;
  /** Zap command → first byte handed to the player (the gate opened), ms; null while waiting. */
  firstByteMs: number | null;
  /** The start came from the FCC burst (not the multicast alone). */
  viaBurst: boolean;
  /** Why the burst was not used, when it was not. */
  fallback: string | null;
  /** RAMS-I answer time, ms; null without one. */
  ramsInfoMs: number | null;
  /** The multicast took over from the burst, ms after the zap; null before or without a burst. */
  splicedMs: number | null;
}

export interface TunerOptions {
  /** Local IPv4 address to join on and send RAMS-R from. */
  interface: string;
  fcc: boolean;
  fccTimeoutMs: number;
  /** false: pass everything from the join (the benchmark's naive mode). */
  gate: boolean;
  out: GateSink;
  now(): number;
  log(level: 'debug' | 'info' | 'warn', msg: string): void;
  onZapDone?(z: ZapRecord): void;
  /** The FCC server did not know the channel's SSRC (RAMS-I 509): the lineup is stale. */
  onStaleLineup?(): void;
}

interface Session {
  ch: LineupChannel;
  zap: ZapRecord;
  t0: number;
  mcSock: dgram.Socket;
  fccSock: dgram.Socket | null;
  fccTimer: NodeJS.Timeout | null;
  depack: RtpDepacketizer | null;
  resync: TsResync | null;
  splicer: FccSplicer | null;
  gate: RandomAccessGate | null;
  /** What the depacketizer feeds: the gate (replaced when it restarts), or the pass-through. */
  stage: TsPacketSink;
  /** Where the gate's output goes. */
  toPlayer: GateSink;
  burstActive: boolean;
  closed: boolean;
}

export class Tuner {
  readonly counters = {
    zaps: 0,
    viaBurst: 0,
    viaGate: 0,
    fccTimeouts: 0,
    fccRefused: 0,
    spliceGaps: 0,
    rtpLost: 0,
    rtpDuplicates: 0,
    ccErrors: 0,
    joinErrors: 0,
    malformedFcc: 0,
  };
  private session: Session | null = null;
  private readonly psiCache = new Map<number, Buffer>();
  private readonly agentSsrc = randomInt(1, 2 ** 32 - 1) >>> 0;
  private joins = 0;

  constructor(private readonly o: TunerOptions) {}

  get channel(): LineupChannel | null {
    return this.session?.ch ?? null;
  }

  get lastZap(): ZapRecord | null {
    return this.session?.zap ?? null;
  }

  /** The latest PAT/PMT packets of the tuned channel (for a player connecting mid-stream). */
  currentPsi(): Buffer | null {
    const s = this.session;
    return s?.gate?.psiPackets() ?? (s ? this.psiCache.get(s.ch.number) ?? null : null);
  }

  status(): Record<string, unknown> {
    const s = this.session;
    return {
      channel: s?.ch.number ?? null,
      group: s ? `${s.ch.multicast.group}:${s.ch.multicast.port}` : null,
      started: s ? s.zap.firstByteMs !== null : false,
      onMulticast: s?.splicer ? s.splicer.onMulticast : s !== null,
      depacketizer: s?.depack ? { ...s.depack.counters } : null,
      splice: s?.splicer ? { ...s.splicer.counters } : null,
      gate: s?.gate ? { ...s.gate.counters } : null,
      joins: this.joins,
    };
  }

  /** Tune to `ch` now (leaving the current channel). `requestedAt` is the zap command's time (performance clock). */
  async tune(ch: LineupChannel, requestedAt = this.o.now()): Promise<void> {
    this.stop();
    this.counters.zaps++;
    const zap: ZapRecord = { channel: ch.number, requestedAt: Date.now() - (this.o.now() - requestedAt), firstByteMs: null, viaBurst: false, fallback: null, ramsInfoMs: null, splicedMs: null };
    const mcSock = dgram.createSocket({ type: 'udp4', reuseAddr: true, recvBufferSize: RECV_BUFFER_BYTES });
    const s: Session = {
      ch,
      zap,
      t0: requestedAt,
      mcSock,
      fccSock: null,
      fccTimer: null,
      depack: null,
      resync: null,
      splicer: null,
      gate: null,
      stage: { writePackets: () => undefined },
      toPlayer: { start: () => undefined, writePackets: () => undefined },
      burstActive: false,
      closed: false,
    };
    this.session = s;
    this.joins++;
    if (this.joins > MAX_JOINS) this.o.log('warn', `${this.joins} groups joined at once (bug: the previous tune was not closed)`);

    // The output chain: [splicer →] depacketizer → gate → player.
    const started = (psi: Buffer): void => {
      if (s.closed) return;
      if (zap.firstByteMs === null) {
        zap.firstByteMs = Math.round((this.o.now() - s.t0) * 10) / 10;
        if (zap.viaBurst) this.counters.viaBurst++;
        else this.counters.viaGate++;
        this.o.onZapDone?.(zap);
      }
      this.o.out.start(psi);
    };
    const toPlayer: GateSink = {
      start: started,
      writePackets: (buf, off, count) => {
        if (!s.closed) this.o.out.writePackets(buf, off, count);
      },
      discontinuity: () => {
        if (!s.closed) this.o.out.discontinuity?.();
      },
    };
    s.toPlayer = toPlayer;
    if (this.o.gate) {
      s.gate = new RandomAccessGate(toPlayer, { cachedPsi: this.psiCache.get(ch.number) ?? null });
      s.stage = s.gate;
    } else {
      let first = true;
      s.stage = {
        writePackets: (buf, off, count) => {
          if (first) {
            first = false;
            started(Buffer.alloc(0));
          }
          toPlayer.writePackets(buf, off, count);
        },
        discontinuity: () => toPlayer.discontinuity?.(),
      };
    }
    const stage: TsPacketSink = {
      writePackets: (buf, off, count) => s.stage.writePackets(buf, off, count),
      discontinuity: () => s.stage.discontinuity?.(),
    };
    const useFcc = this.o.fcc && this.o.gate && ch.transport === 'rtp' && ch.fcc !== null && ch.ssrc !== null;
    if (ch.transport === 'rtp') {
      s.depack = new RtpDepacketizer(stage, { reorderWindow: 64 });
      if (useFcc) {
        s.splicer = new FccSplicer(s.depack, {
          spliced: (seq) => this.onSpliced(s, seq),
          gap: (missing) => this.onSpliceGap(s, missing),
        });
      }
    } else {
      s.resync = new TsResync(stage);
    }

    mcSock.on('message', (msg) => {
      if (s.closed) return;
      if (s.splicer) s.splicer.multicast(msg);
      else if (s.depack) s.depack.push(msg);
      else s.resync?.push(msg);
    });
    mcSock.on('error', (err) => {
      this.counters.joinErrors++;
      this.o.log('warn', `channel ${ch.number}: multicast socket: ${err.message}`);
    });

    if (useFcc) this.startFcc(s);
    await this.join(s);
  }

  private join(s: Session): Promise<void> {
    const { group, port, source } = s.ch.multicast;
    return new Promise((resolve) => {
      // NETLAB.md gotcha 3/4: bind to the group first, then join naming the interface.
      s.mcSock.bind({ address: group, port, exclusive: false }, () => {
        if (s.closed) return resolve();
        try {
          if (source) s.mcSock.addSourceSpecificMembership(source, group, this.o.interface);
          else s.mcSock.addMembership(group, this.o.interface);
        } catch (err) {
          this.counters.joinErrors++;
          this.o.log('warn', `channel ${s.ch.number}: cannot join ${source ? `(${source}, ${group})` : group} on ${this.o.interface}: ${(err as Error).message}`);
        }
        resolve();
      });
    });
  }

  private startFcc(s: Session): void {
    const fcc = s.ch.fcc!;
    const ssrc = s.ch.ssrc!;
    const sock = dgram.createSocket({ type: 'udp4', recvBufferSize: RECV_BUFFER_BYTES });
    s.fccSock = sock;
    s.burstActive = false;
    sock.on('error', (err) => this.o.log('debug', `channel ${s.ch.number}: FCC socket: ${err.message}`));
    sock.on('message', (msg) => this.onFccMessage(s, msg));
    // RFC 6285 §7.2: the channel's SSRC as media source, and listed in TLV 1 as well.
    const req = writeRamsRequest({ senderSsrc: this.agentSsrc, mediaSsrc: ssrc, requestedMediaSenderSsrcs: [ssrc] });
    sock.bind({ address: this.o.interface, port: 0 }, () => {
      if (s.closed) return;
      sock.send(req, fcc.port, fcc.address, (err) => {
        if (err) this.fallback(s, `RAMS-R not sent: ${err.message}`);
      });
    });
    s.fccTimer = setTimeout(() => {
      s.fccTimer = null;
      if (s.zap.ramsInfoMs === null) {
        this.counters.fccTimeouts++;
        this.fallback(s, `no RAMS-I within ${this.o.fccTimeoutMs} ms`);
      }
    }, this.o.fccTimeoutMs);
  }

  private onFccMessage(s: Session, msg: Buffer): void {
    if (s.closed || !s.splicer) return;
    // RFC 5761 §4: RTCP packet types 192–223 in the second octet; RTP otherwise.
    const pt = msg.length > 1 ? msg[1] : 0;
    if (pt >= 192 && pt <= 223) {
      const m = parseRams(msg, msg.length);
      if (isRamsParseError(m) || m.sfmt !== RamsSfmt.information) {
        this.counters.malformedFcc++;
        return;
      }
      if (s.zap.ramsInfoMs === null) s.zap.ramsInfoMs = Math.round((this.o.now() - s.t0) * 10) / 10;
      if (m.responseCode === RamsResponseCode.accepted) {
        if (!s.splicer.onMulticast) {
          s.burstActive = true;
          s.zap.viaBurst = true;
        }
      } else if (m.responseCode === RamsResponseCode.burstCompleted) {
        s.burstActive = false;
        s.splicer.burstEnded();
      } else {
        if (m.responseCode === RamsResponseCode.noMatchingSsrc) this.o.onStaleLineup?.();
        if (s.burstActive) {
          s.burstActive = false;
          s.splicer.burstEnded();
        } else {
          this.counters.fccRefused++;
          this.fallback(s, `RAMS-I ${m.responseCode}`);
        }
      }
      return;
    }
    if (s.zap.ramsInfoMs === null || s.zap.fallback !== null) return; // a burst we gave up on
    s.splicer.burst(msg);
  }

  private fallback(s: Session, why: string): void {
    if (s.closed || s.zap.fallback !== null || !s.splicer) return;
    s.zap.fallback = why;
    s.zap.viaBurst = false;
    s.splicer.abandonBurst();
    this.o.log('debug', `channel ${s.ch.number}: no burst (${why}): starting at the next I-frame of the multicast`);
  }

  private onSpliced(s: Session, seq: number): void {
    s.zap.splicedMs = Math.round((this.o.now() - s.t0) * 10) / 10;
    if (!s.fccSock || s.closed) return;
    const fcc = s.ch.fcc!;
    // RFC 6285 §7.4: the first multicast packet we use; the server stops the burst.
    const t = writeRamsTermination({ senderSsrc: this.agentSsrc, mediaSsrc: s.ch.ssrc!, firstMulticastExtendedSequenceNumber: seq });
    s.fccSock.send(t, fcc.port, fcc.address);
    s.burstActive = false;
  }

  private onSpliceGap(s: Session, missing: number): void {
    this.counters.spliceGaps++;
    this.o.log('warn', `channel ${s.ch.number}: the burst ended ${missing} datagrams short of the multicast: restarting at the next I-frame`);
    // Restart the gate: the player gets a new clean start rather than a hole.
    if (s.gate) {
      this.counters.ccErrors += s.gate.inspector.counters.ccErrors;
      s.gate = new RandomAccessGate(s.toPlayer, { cachedPsi: s.gate.psiPackets() });
      s.stage = s.gate;
    }
  }

  /** Leave the channel: close the sockets (the kernel sends the IGMP leave), stop the burst. */
  stop(): void {
    const s = this.session;
    if (!s) return;
    this.session = null;
    s.closed = true;
    if (s.fccTimer) clearTimeout(s.fccTimer);
    const psi = s.gate?.psiPackets();
    if (psi) {
      this.psiCache.delete(s.ch.number);
      if (this.psiCache.size >= PSI_CACHE_CHANNELS) this.psiCache.delete(this.psiCache.keys().next().value as number);
      this.psiCache.set(s.ch.number, psi);
    }
    if (s.depack) {
      this.counters.rtpLost += s.depack.counters.lost;
      this.counters.rtpDuplicates += s.depack.counters.duplicates;
    }
    if (s.gate) this.counters.ccErrors += s.gate.inspector.counters.ccErrors;
    if (s.fccSock) {
      const sock = s.fccSock;
      if (s.burstActive && s.ch.fcc && s.ch.ssrc !== null) {
        // RAMS-T without a sequence number: stop whatever is still coming.
        try {
          sock.send(writeRamsTermination({ senderSsrc: this.agentSsrc, mediaSsrc: s.ch.ssrc }), s.ch.fcc.port, s.ch.fcc.address, () => sock.close());
        } catch {
          sock.close();
        }
      } else {
        try {
          sock.close();
        } catch {
          /* already closed */
        }
      }
    }
    try {
      s.mcSock.close();
    } catch {
      /* not bound yet */
    }
    this.joins--;
  }
}
