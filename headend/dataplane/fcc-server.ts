/**
 * The fast-channel-change server of one data-plane worker (DESIGN.md "Fast
 * channel change", RFC 6285 semantics): a UDP port on headend.interface that
 * answers RAMS-R with RAMS-I and bursts the channel's GOP cache — the very
 * RTP datagrams the multicast sent since the last random access point, same
 * SSRC and sequence numbers — faster than real time, then follows the live
 * edge until the receiver says it has the multicast (RAMS-T) or a short tail
 * has passed.
 *
 * It must never become a traffic amplifier (RFC 6285 §11 warns of exactly
 * this: a RAMS-R is ~40 bytes, a burst megabytes):
 *   - requests from outside the configured STB subnets get nothing at all;
 *   - every client address draws from a token bucket (average
 *     clientMaxMbps, depth maxBytesPerRequest) and all bursts from one more
 *     (totalMaxMbps): a request that finds its bucket short is refused with
 *     a small RAMS-I, a burst whose bucket runs dry stops;
 *   - one request never makes the server send more than maxBytesPerRequest;
 *   - answers to refused requests are themselves rate-limited per client;
 *   - malformed messages are counted and dropped.
 *
 * The bursts read the pacer's ring without copying: each holds the slots it
 * has not sent (or whose send is not complete) through
 * {@link SentReader.heldFrom}, and the pacer cuts it when the multicast needs
 * the room.
 */
import dgram from 'node:dgram';
import { ipv4InNetworks } from '../../core/lineup/config.js';
import {
  RamsResponseCode,
  RamsSfmt,
  isRamsParseError,
  parseRams,
  writeRamsInformation,
  type RamsRequest,
} from '../../core/fcc/rams.js';
import type { PcrPacer, SentReader } from './pacer.js';

export interface FccChannel {
  readonly ssrc: number;
  readonly pacer: PcrPacer;
  /** Output rate over the last second, bit/s; 0 before it is known. */
  readonly outputRateBps: number;
  readonly cfg: { readonly number: number };
}

export interface FccServerOptions {
  address: string;
  port: number;
  /** Parsed STB networks (core/lineup/config.ts parseCidr). */
  stbNetworks: readonly { network: number; mask: number }[];
  burstMultiple: number;
  burstMaxBps: number;
  maxBytesPerRequest: number;
  /** This worker's share of the per-client and total limits, bit/s. */
  clientMaxBps: number;
  totalMaxBps: number;
  lookup(ssrc: number): FccChannel | undefined;
  now(): number;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
}

/** After the burst reaches the live edge it follows it this long, unless RAMS-T comes first. */
const LIVE_TAIL_MS = 300;
/** A tick after a long pause must not turn into a burst of its own. */
const MAX_TICK_GAP_MS = 5;
/** Answers to refused requests, per client and second. */
const REFUSALS_PER_S = 5;
/** Client buckets kept; beyond this the least recently used goes (they are refilled anyway). */
const MAX_CLIENTS = 4096;
/** Fallback channel rate before the first per-second measurement. */
const DEFAULT_RATE_BPS = 8_000_000;

class TokenBucket {
  tokens: number;
  lastMs: number;
  refusalWindowMs = 0;
  refusals = 0;
  constructor(
    readonly rateBytesPerMs: number,
    readonly depth: number,
    nowMs: number,
  ) {
    this.tokens = depth;
    this.lastMs = nowMs;
  }
  refill(nowMs: number): number {
    const dt = nowMs - this.lastMs;
    if (dt > 0) {
      this.tokens = Math.min(this.depth, this.tokens + dt * this.rateBytesPerMs);
      this.lastMs = nowMs;
    }
    return this.tokens;
  }
}

class Burst implements SentReader {
  heldFrom: number;
  pos: number;
  inflight = 0;
  bytes = 0;
  datagrams = 0;
  credit = 0;
  caughtUpAtMs = -1;
  ended = false;
  /** Why it ended, for the counters. */
  endReason = '';
  msn = 0;
  constructor(
    readonly server: FccServer,
    readonly channel: FccChannel,
    readonly address: string,
    readonly port: number,
    readonly senderSsrc: number,
    readonly rateBytesPerMs: number,
    start: number,
    readonly startedAtMs: number,
  ) {
    this.pos = start;
    this.heldFrom = start;
  }
  cut(): void {
    this.server.endBurst(this, 'cut');
  }
  get key(): string {
    return `${this.address}:${this.port}`;
  }
}

export class FccServer {
  readonly counters = {
    requests: 0,
    /** RAMS-R from outside the STB subnets: no answer. */
    refusedOutsideSubnet: 0,
    /** Datagrams that are not a RAMS message we take (truncated, garbage, wrong kind). */
    malformed: 0,
    unknownSsrc: 0,
    /** No GOP cache for the channel yet (no random access point seen, or the GOP is over the bound). */
    noCache: 0,
    /** Refused because the client's or the total budget was short. */
    rateLimited: 0,
    /** Refusals not even answered (more than REFUSALS_PER_S from one client). */
    refusalsUnanswered: 0,
    bursts: 0,
    burstsCompleted: 0,
    burstsTerminated: 0,
    burstsCut: 0,
    burstsOverBudget: 0,
    burstsReplaced: 0,
    burstBytes: 0,
    burstDatagrams: 0,
    terminations: 0,
    sendErrors: 0,
  };
  private readonly sock: dgram.Socket;
  private readonly bursts = new Map<string, Burst>();
  private readonly clients = new Map<string, TokenBucket>();
  private readonly total: TokenBucket;
  private lastTickMs: number;
  private closed = false;

  constructor(private readonly o: FccServerOptions) {
    this.sock = dgram.createSocket({ type: 'udp4' });
    this.sock.on('error', (err) => {
      this.counters.sendErrors++;
      this.o.log('warn', `FCC socket: ${err.message}`);
    });
    this.sock.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
    this.total = new TokenBucket(o.totalMaxBps / 8000, Math.max(o.maxBytesPerRequest, o.totalMaxBps / 8), o.now());
    this.lastTickMs = o.now();
  }

  /** Bind to headend.interface:port (never 0.0.0.0: nothing listens wider than it needs). */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.sock.once('error', reject);
      this.sock.bind({ address: this.o.address, port: this.o.port, exclusive: true }, () => {
        this.sock.off('error', reject);
        resolve();
      });
    });
  }

  get activeBursts(): number {
    return this.bursts.size;
  }

  close(): Promise<void> {
    this.closed = true;
    for (const b of [...this.bursts.values()]) this.endBurst(b, 'closed');
    return new Promise((resolve) => {
      try {
        this.sock.close(() => resolve());
      } catch {
        resolve();
      }
    });
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    if (this.closed) return;
    // Not one byte back to anyone outside the STB networks.
    if (!ipv4InNetworks(rinfo.address, this.o.stbNetworks)) {
      this.counters.refusedOutsideSubnet++;
      return;
    }
    const m = parseRams(msg, msg.length);
    if (isRamsParseError(m)) {
      this.counters.malformed++;
      return;
    }
    if (m.sfmt === RamsSfmt.request) this.onRequest(m, rinfo);
    else if (m.sfmt === RamsSfmt.termination) {
      this.counters.terminations++;
      const b = this.bursts.get(`${rinfo.address}:${rinfo.port}`);
      if (b && b.channel.ssrc === m.mediaSsrc) this.endBurst(b, 'terminated');
    } else {
      this.counters.malformed++; // a RAMS-I is ours to send, not to receive
    }
  }

  private clientBucket(address: string, nowMs: number): TokenBucket {
    let b = this.clients.get(address);
    if (b) {
      // Map order is insertion order: move to the back (most recently used).
      this.clients.delete(address);
    } else {
      b = new TokenBucket(this.o.clientMaxBps / 8000, this.o.maxBytesPerRequest, nowMs);
      if (this.clients.size >= MAX_CLIENTS) this.clients.delete(this.clients.keys().next().value as string);
    }
    this.clients.set(address, b);
    return b;
  }

  private onRequest(req: RamsRequest, rinfo: dgram.RemoteInfo): void {
    this.counters.requests++;
    const now = this.o.now();
    const bucket = this.clientBucket(rinfo.address, now);
    const key = `${rinfo.address}:${rinfo.port}`;
    const prev = this.bursts.get(key);
    if (prev) {
      this.counters.burstsReplaced++;
      this.endBurst(prev, 'replaced');
    }
    // The channel: "SSRC of media source" (RFC 4585 §6.1), or the first SSRC
    // of the Requested Media Sender SSRC(s) TLV (RFC 6285 §7.2) when a
    // receiver names it there instead. Roomcast's agent sends both.
    const ch = this.o.lookup(req.mediaSsrc) ?? (req.requestedMediaSenderSsrcs?.length ? this.o.lookup(req.requestedMediaSenderSsrcs[0]) : undefined);
    if (!ch) {
      this.counters.unknownSsrc++;
      this.refuse(req, rinfo, bucket, now, RamsResponseCode.noMatchingSsrc);
      return;
    }
    const start = ch.pacer.cacheFrom;
    if (start < 0 || start >= ch.pacer.liveEdge) {
      this.counters.noCache++;
      this.refuse(req, rinfo, bucket, now, RamsResponseCode.noValidStartingPoint);
      return;
    }
    const channelRateBps = ch.outputRateBps > 0 ? ch.outputRateBps : DEFAULT_RATE_BPS;
    let rateBps = Math.min(channelRateBps * this.o.burstMultiple, this.o.burstMaxBps);
    if (req.maxReceiveBitrateBps !== undefined && req.maxReceiveBitrateBps > 0) rateBps = Math.min(rateBps, req.maxReceiveBitrateBps);
    // The burst must outrun the live edge to ever catch up.
    if (rateBps <= channelRateBps * 1.05) {
      this.counters.rateLimited++;
      this.refuse(req, rinfo, bucket, now, RamsResponseCode.insufficientMaxBitrate);
      return;
    }
    const cachedBytes = (ch.pacer.liveEdge - start) * ch.pacer.sentDatagram(start).length;
    // What the burst will send: the cache, plus the live edge's progress while catching up.
    const catchUpMs = (cachedBytes * 8) / (rateBps - channelRateBps);
    const expectedBytes = Math.min(this.o.maxBytesPerRequest, cachedBytes + ((channelRateBps / 8) * (catchUpMs + LIVE_TAIL_MS)) / 1000);
    if (bucket.refill(now) < expectedBytes || this.total.refill(now) < expectedBytes) {
      this.counters.rateLimited++;
      this.refuse(req, rinfo, bucket, now, RamsResponseCode.insufficientBandwidth);
      return;
    }
    const b = new Burst(this, ch, rinfo.address, rinfo.port, req.senderSsrc, rateBps / 8000, start, now);
    ch.pacer.addReader(b);
    this.bursts.set(key, b);
    this.counters.bursts++;
    // RFC 6285 §7.3: accepted, the first sequence number of the burst, join at once, the rate.
    this.sendInfo(b, RamsResponseCode.accepted, {
      firstPacketSequenceNumber: ch.pacer.sentSequenceNumber(start),
      earliestMulticastJoinTimeMs: 0,
      burstDurationMs: Math.round(catchUpMs),
      maxTransmitRateBps: Math.round(rateBps),
    });
    this.o.log('debug', `FCC burst to ${key} for channel ${ch.cfg.number}: ${ch.pacer.liveEdge - start} datagrams cached at ${(rateBps / 1e6).toFixed(1)} Mbit/s`);
  }

  private refuse(req: RamsRequest, rinfo: dgram.RemoteInfo, bucket: TokenBucket, now: number, code: number): void {
    if (now - bucket.refusalWindowMs >= 1000) {
      bucket.refusalWindowMs = now;
      bucket.refusals = 0;
    }
    if (bucket.refusals >= REFUSALS_PER_S) {
      this.counters.refusalsUnanswered++;
      return;
    }
    bucket.refusals++;
    const info = writeRamsInformation({ senderSsrc: req.mediaSsrc, mediaSsrc: req.mediaSsrc, msn: 0, responseCode: code });
    this.sock.send(info, rinfo.port, rinfo.address);
  }

  private sendInfo(b: Burst, code: number, extra: Record<string, number> = {}): void {
    const info = writeRamsInformation({ senderSsrc: b.channel.ssrc, mediaSsrc: b.channel.ssrc, msn: b.msn & 0xff, responseCode: code, mediaSenderSsrc: b.channel.ssrc, ...extra });
    b.msn++;
    this.sock.send(info, b.port, b.address);
  }

  /** End a burst: it stops sending now and releases its slots once its sends are complete. */
  endBurst(b: Burst, why: 'completed' | 'terminated' | 'cut' | 'budget' | 'replaced' | 'closed' | 'bytes'): void {
    if (b.ended) return;
    b.ended = true;
    b.endReason = why;
    if (this.bursts.get(b.key) === b) this.bursts.delete(b.key);
    if (why === 'completed' || why === 'bytes') this.counters.burstsCompleted++;
    else if (why === 'terminated') this.counters.burstsTerminated++;
    else if (why === 'cut') this.counters.burstsCut++;
    else if (why === 'budget') this.counters.burstsOverBudget++;
    // Tell the receiver the burst is over and why (RFC 6285 §7.3.1): 201 after
    // the live tail or the per-request bound, 501 when the budget ran dry,
    // 500 when the multicast needed the cache. Nothing after RAMS-T.
    const code = why === 'completed' || why === 'bytes' ? RamsResponseCode.burstCompleted : why === 'budget' ? RamsResponseCode.insufficientBandwidth : why === 'cut' ? RamsResponseCode.internalError : 0;
    if (code !== 0 && !this.closed) this.sendInfo(b, code, { burstDurationMs: Math.round(this.o.now() - b.startedAtMs) });
    if (why === 'cut') return; // the pacer already let go of it
    b.heldFrom = b.pos;
    if (b.inflight === 0) b.channel.pacer.removeReader(b);
  }

  /** Called by the worker's scheduler: send what each burst's rate allows since the last tick. */
  tick(nowMs: number): void {
    const dt = Math.min(MAX_TICK_GAP_MS, Math.max(0, nowMs - this.lastTickMs));
    this.lastTickMs = nowMs;
    if (this.bursts.size === 0) return;
    this.total.refill(nowMs);
    for (const b of this.bursts.values()) {
      const pacer = b.channel.pacer;
      const edge = pacer.liveEdge;
      if (b.pos >= edge) {
        if (b.caughtUpAtMs < 0) b.caughtUpAtMs = nowMs;
        else if (nowMs - b.caughtUpAtMs >= LIVE_TAIL_MS) {
          this.endBurst(b, 'completed');
          continue;
        }
      }
      b.credit = Math.min(b.credit + dt * b.rateBytesPerMs, 4 * 1400 + dt * b.rateBytesPerMs);
      const bucket = this.clients.get(b.address);
      if (bucket) bucket.refill(nowMs);
      while (b.pos < edge && b.credit > 0) {
        const dgramBuf = pacer.sentDatagram(b.pos);
        const n = dgramBuf.length;
        if (b.bytes + n > this.o.maxBytesPerRequest) {
          this.endBurst(b, 'bytes');
          break;
        }
        if ((bucket && bucket.tokens < n) || this.total.tokens < n) {
          this.endBurst(b, 'budget');
          break;
        }
        if (bucket) bucket.tokens -= n;
        this.total.tokens -= n;
        b.credit -= n;
        b.pos++;
        b.inflight++;
        b.bytes += n;
        b.datagrams++;
        this.counters.burstBytes += n;
        this.counters.burstDatagrams++;
        // dgram.send does not copy (NETLAB.md gotcha 2): the slot stays held until this callback.
        this.sock.send(dgramBuf, b.port, b.address, (err) => this.sent(b, err));
      }
    }
  }

  private sent(b: Burst, err: Error | null): void {
    if (err) this.counters.sendErrors++;
    b.inflight--;
    // Sends on one socket complete in order: everything before pos - inflight is out.
    b.heldFrom = b.ended ? b.pos : b.pos - b.inflight;
    if (b.ended && b.inflight === 0 && b.endReason !== 'cut') b.channel.pacer.removeReader(b);
  }
}
