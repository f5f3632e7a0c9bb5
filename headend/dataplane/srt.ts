/**
 * SRT over node:dgram, listener side (receive only: the headend ingests).
 * The wire formats are core/srt/packet.ts and core/srt/handshake.ts, the
 * reliability is core/srt/receiver.ts; this file owns the sockets, the
 * handshake and the timers.
 *
 * One {@link SrtEndpoint} per local address:port. Several channels may listen
 * on the same port, told apart by the caller's stream id (draft §3.2.1.3):
 * each registers with its stream id (or none = any). A handshake is the
 * caller-listener exchange of draft §4.3.1, as libsrt 1.5 does it (the
 * captured vectors in test/unit/core/srt/srt-cases.ts):
 *
 *   caller → INDUCTION (v4, ext 2, cookie 0)
 *   listener → INDUCTION (v5, ext 0x4A17, cookie = HMAC of the caller's address and the minute)
 *   caller → CONCLUSION (v5, cookie, HSREQ, SID[, KMREQ])
 *   listener → CONCLUSION (v5, HSRSP) — or a rejection (1000 + reason, 2000 + app code)
 *
 * The cookie makes the listener keep no state for a caller that has not
 * proved it can receive at its source address (a SYN-flood defence, draft
 * §4.3.1.1). What is refused (unknown stream id, wrong version, encryption
 * we cannot do, stale cookie, packets for sockets we do not have) is counted
 * and logged once per second per endpoint; nothing else is affected.
 *
 * Timers are event-driven, on libsrt's schedule (SrtConnection.service):
 *   - the protocol's timers (full ACK 10 ms after the last, periodic NAK,
 *     keepalive, peer idle) are checked after every packet, as libsrt
 *     checks them after every packet it processes (queue.cpp
 *     `CRcvQueue::worker_ProcessAddressedPacket` → `CUDT::checkTimers`), and
 *     when no packet has come for 10 ms, as libsrt's receive loop does (its
 *     recvfrom waits at most 10 ms in select(), channel.cpp; then
 *     `CRcvQueue::worker` checks every connection not checked for
 *     `COMM_SYN_INTERVAL_US`). So while packets flow a full ACK leaves with
 *     the first packet at or after its 10 ms, as libsrt's does (measured on
 *     the bench's stream: the same ACK rate and gaps as libsrt's), and with
 *     no packets, every 10 ms (plus the timer's lateness, < 1 ms);
 *   - TSBPD delivery happens at each packet's time (as libsrt's TSBPD
 *     thread does it): on a packet's arrival, whatever is due is delivered,
 *     and when the head packet falls due between arrivals, a timer delivers
 *     it then.
 * Each owner (endpoint or caller) keeps one one-shot timer for the earliest
 * of its connections' deadlines ({@link DeadlineTimer}), re-set as they
 * move; an endpoint with no connection has no timer at all. (It was a 5 ms
 * setInterval per endpoint: 200 wakeups/s, with or without a caller.)
 */
import dgram from 'node:dgram';
import { lookup as dnsLookup, type LookupOneOptions } from 'node:dns';
import { isIPv4 } from 'node:net';
import { createHmac, randomBytes, randomInt } from 'node:crypto';
import {
  ControlType,
  SRT_HEADER_SIZE,
  SrtAckKind,
  createLossList,
  createSrtHeader,
  parseDropReq,
  createSrtDropReq,
  parseSrtHeader,
  writeAck,
  writeKeepalive,
  writeNak,
  writeShutdown,
  type SrtAck,
} from '../../core/srt/packet.js';
import {
  EncryptionField,
  HandshakeExtensionFlags,
  HandshakeType,
  HandshakeVersion,
  SRT_MAGIC_CODE,
  SrtFlags,
  SrtRejectReason,
  SrtRejectReasonX,
  handshakeRejection,
  isSrtParseError,
  parseHandshake,
  peerIpFromIPv4,
  writeHandshake,
  type SrtHandshake,
} from '../../core/srt/handshake.js';
import { SrtReceiver, type SrtReceiverAck } from '../../core/srt/receiver.js';
import { SrtDecryptor, SrtKmError, buildKmMessage, isSrtKmError, parseKmMessage, unwrapKeys, wrapKeys, type SrtStreamKeys } from '../../core/srt/crypto.js';
import { writeControlHeader, EncryptionKeyFlags } from '../../core/srt/packet.js';

/** SRT_CMD_KMREQ / KMRSP: the subtypes of a USER_DEFINED control packet that refresh keys (draft §3.2.2, libsrt core.cpp). */
const SRT_CMD_KMREQ = 3;
const SRT_CMD_KMRSP = 4;

/** Encryption field value for a key length (draft §3.2.1: 2 = AES-128, 3 = AES-192, 4 = AES-256). */
function encryptionFieldOf(keyLength: number): number {
  return keyLength === 32 ? EncryptionField.AES_256 : keyLength === 24 ? EncryptionField.AES_192 : EncryptionField.AES_128;
}

/** Our SRT version in HSRSP: the 1.5 protocol (what libsrt 1.5 speaks). */
const SRT_VERSION = 0x00010500;
/** What this receiver does (draft §3.2.1.1): TSBPD both ways, too-late drop, periodic NAK, retransmit flag. */
const OUR_FLAGS = SrtFlags.TSBPDSND | SrtFlags.TSBPDRCV | SrtFlags.TLPKTDROP | SrtFlags.PERIODICNAK | SrtFlags.REXMITFLG;
/** libsrt live defaults. */
const MTU = 1500;
const FLOW_WINDOW = 8192;
/**
 * libsrt `CUDT::COMM_SYN_INTERVAL_US`: with no packet, a connection's
 * protocol timers are checked at most this long after the last check.
 */
const CHECK_INTERVAL_US = 10_000;
/** libsrt sends KEEPALIVE after 1 s without sending anything. */
const KEEPALIVE_US = 1_000_000;
/**
 * Control packets (ACK, NAK, keepalive, shutdown) of one connection are
 * written into one of these preallocated buffers and sent from it; a buffer
 * is written again only after its send callback, as dgram.send does not copy
 * (STYLE.md §5). Four cover the most one packet can cause (an immediate NAK,
 * a light ACK, a full ACK, a periodic NAK) before the callbacks run on the
 * next tick; if the socket is queueing and all are in flight, the packet
 * gets a buffer of its own (freed by the GC after its send).
 */
const CONTROL_BUFFERS = 4;
/** An ACK is 44 bytes, a NAK of 64 ranges at most 16 + 64 × 8: an MTU is plenty. */
const CONTROL_BUFFER_BYTES = MTU;
/** Cookies are valid in this minute and the previous one (libsrt: the minute of the clock). */
const COOKIE_PERIOD_MS = 60_000;
/** Connections per endpoint: a bound on state a flood of valid handshakes can create. */
const MAX_CONNECTIONS = 64;

export interface SrtConnectionStats {
  peer: string;
  streamId: string | null;
  latencyMs: number;
  rttMs: number;
  packetsReceived: number;
  packetsLost: number;
  packetsRetransmitted: number;
  packetsDropped: number;
  bufferPackets: number;
  receiveRateBps: number;
}

/** What a registered channel gets. */
export interface SrtAcceptor {
  /** The stream id it answers, or null for any (the only acceptor of a port). */
  streamId: string | null;
  latencyMs: number;
  /** AES passphrase (10–80 characters), or null: an encrypting caller is then refused, and vice versa. */
  passphrase: string | null;
  /** A connection for it; return false to refuse (already busy). */
  connected(conn: SrtConnection): boolean;
}

/** What a connection needs from whoever owns its socket (a listener endpoint or a caller). */
export interface SrtConnectionOwner {
  readonly counters: { malformed: number };
  nowUs(): number;
  /**
   * Send `buf[0, len)` to address:port. `buf` is borrowed until `sent` is
   * called (dgram.send does not copy); without `sent`, until the GC frees it.
   * A send error goes to `sent`, else to the socket's 'error' handler.
   */
  sendTo(buf: Buffer, len: number, port: number, address: string, sent?: (err: Error | null) => void): void;
  /** A send error reported to a `sent` callback: as the socket's 'error' handler would take it. */
  sendFailed(err: Error): void;
  forget(c: SrtConnection): void;
  repeatConclusion(c: SrtConnection, buf: Buffer, len: number): void;
}

/**
 * node:dgram's `lookup` for sockets that send only to IPv4 literals (the
 * addresses datagrams came from; a caller's configured listener, which the
 * config checks is IPv4): answered at once. Node's default, dns.lookup,
 * answers a literal too, but a tick later (process.nextTick and a closure per
 * datagram), and the datagram leaves only then. Anything else still goes to
 * dns.lookup.
 */
function ipv4Lookup(hostname: string, options: LookupOneOptions, callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  if (isIPv4(hostname)) callback(null, hostname, 4);
  else dnsLookup(hostname, options, callback);
}

/**
 * One one-shot timer for the earliest deadline of an owner's connections
 * (µs, on the owner's clock, performance.now() based: CLOCK_MONOTONIC, the
 * clock of libuv's timers). {@link arm} sets it for a deadline, or stops it
 * for Infinity; the owner re-arms it whenever the earliest deadline moves —
 * earlier, or later (else it would fire for nothing).
 *
 * Node timers count whole milliseconds of libuv's loop clock, from the start
 * of the millisecond they were set in: a timer set 0.9 ms into a millisecond
 * for 2 ms may fire 1.1 ms later. Early, the owner would find nothing due
 * and set it again: a wake-up for nothing (measured on the bench's stream:
 * 15 % of the timer's wake-ups, before this was counted in). So the delay
 * counts from the start of the current millisecond of CLOCK_MONOTONIC
 * (process.hrtime): never early, and late by less than a millisecond plus
 * the wake-up itself.
 */
export class DeadlineTimer {
  /** The deadline it is set for; Infinity when stopped. */
  deadlineUs = Infinity;
  /** Times it fired (tests, profiling). */
  fired = 0;
  private handle: NodeJS.Timeout | null = null;
  private readonly onFire = (): void => {
    this.handle = null;
    this.deadlineUs = Infinity;
    this.fired++;
    this.fire();
  };

  constructor(private readonly fire: () => void) {}

  arm(deadlineUs: number, nowUs: number): void {
    if (deadlineUs === this.deadlineUs && (this.handle !== null || deadlineUs === Infinity)) return;
    if (this.handle !== null) clearTimeout(this.handle);
    this.handle = null;
    this.deadlineUs = deadlineUs;
    if (!(deadlineUs < Infinity)) return;
    const intoMsUs = (process.hrtime()[1] % 1_000_000) / 1000;
    this.handle = setTimeout(this.onFire, Math.max(1, Math.ceil((deadlineUs - nowUs + intoMsUs) / 1000)));
  }

  stop(): void {
    this.arm(Infinity, 0);
  }
}

export class SrtConnection {
  readonly receiver: SrtReceiver;
  /**
   * When the owner's timer must call {@link service} (µs, the owner's
   * clock): the next TSBPD time, or the next protocol timer but no earlier
   * than CHECK_INTERVAL_US after the last check. The owner's timer is set
   * for the earliest of its connections'; Infinity once closed.
   */
  deadlineUs = 0;
  private readonly startUs: number;
  private lastSentUs: number;
  private closed = false;
  /** The control-packet buffers (CONTROL_BUFFERS), which are in flight, and each one's send callback. */
  private readonly ctl: Buffer[] = [];
  private readonly ctlBusy = new Uint8Array(CONTROL_BUFFERS);
  private readonly ctlSent: ((err: Error | null) => void)[] = [];
  /** The buffer take() gave for the control packet being written: ctl[outSlot], or a one-off when outSlot is -1. */
  private out: Buffer;
  private outSlot = -1;
  /** Where take() looks first: round-robin, so a buffer just sent is the last to be asked for again. */
  private ctlNext = 0;
  private readonly ack: SrtAck = { kind: SrtAckKind.FULL, ackNumber: 0, lastAckSeq: 0, rttUs: 0, rttVarianceUs: 0, availableBufferPackets: 0, packetsReceivingRatePps: 0, estimatedLinkCapacityPps: 0, receivingRateBps: 0, timestampUs: 0, destSocketId: 0 };
  onData: (payload: Buffer, off: number, len: number) => void = () => undefined;
  onClose: (why: string) => void = () => undefined;
  /** Set when the stream is encrypted: data payloads are decrypted in place before the receiver sees them. */
  decryptor: SrtDecryptor | null = null;
  /** The key material to answer a repeated CONCLUSION with (listener side). */
  kmRsp: Uint8Array | null = null;
  passphrase: string | null = null;
  /** Data packets without encryption on an encrypted connection, or with a key we do not have: dropped. */
  undecryptable = 0;
  keyRefreshes = 0;

  constructor(
    private readonly endpoint: SrtConnectionOwner,
    readonly socketId: number,
    readonly peerSocketId: number,
    readonly address: string,
    readonly port: number,
    readonly streamId: string | null,
    readonly latencyMs: number,
    initialSequenceNumber: number,
    nowUs: number,
  ) {
    this.startUs = nowUs;
    this.lastSentUs = nowUs;
    for (let i = 0; i < CONTROL_BUFFERS; i++) {
      this.ctl.push(Buffer.alloc(CONTROL_BUFFER_BYTES));
      this.ctlSent.push((err) => {
        this.ctlBusy[i] = 0;
        if (err) this.endpoint.sendFailed(err);
      });
    }
    this.out = this.ctl[0];
    const self = this;
    this.receiver = new SrtReceiver(
      {
        deliver(buf, off, len) {
          self.onData(buf, off, len);
        },
        ack(a: SrtReceiverAck) {
          self.sendAck(a);
        },
        nak(ranges) {
          const n = writeNak(self.take(), 0, { timestampUs: self.ts(), destSocketId: self.peerSocketId }, ranges);
          self.send(n);
        },
      },
      { initialSequenceNumber, latencyUs: latencyMs * 1000 },
    );
    this.setDeadlines(nowUs);
  }

  get peer(): string {
    return `${this.address}:${this.port}`;
  }

  private ts(): number {
    return Math.max(0, Math.round(this.endpoint.nowUs() - this.startUs)) % 4294967296;
  }

  /** A free buffer to write the next control packet into (then send() it): one of the four, or, if all are in flight, one of its own. */
  private take(): Buffer {
    for (let k = 0; k < CONTROL_BUFFERS; k++) {
      const i = (this.ctlNext + k) % CONTROL_BUFFERS;
      if (this.ctlBusy[i] === 0) {
        this.outSlot = i;
        return (this.out = this.ctl[i]);
      }
    }
    this.outSlot = -1;
    return (this.out = Buffer.allocUnsafe(CONTROL_BUFFER_BYTES));
  }

  /** Send the control packet take() gave the buffer for, `n` bytes. */
  private send(n: number): void {
    this.lastSentUs = this.endpoint.nowUs();
    const slot = this.outSlot;
    if (slot >= 0) {
      this.ctlBusy[slot] = 1;
      this.ctlNext = (slot + 1) % CONTROL_BUFFERS;
    }
    this.endpoint.sendTo(this.out, n, this.port, this.address, slot >= 0 ? this.ctlSent[slot] : undefined);
  }

  private sendAck(a: SrtReceiverAck): void {
    const k = this.ack;
    k.kind = a.light ? SrtAckKind.LIGHT : SrtAckKind.FULL;
    k.ackNumber = a.ackNumber;
    k.lastAckSeq = a.lastAckedSeq;
    k.rttUs = a.rttUs;
    k.rttVarianceUs = a.rttVarUs;
    k.availableBufferPackets = a.availableBufferPackets;
    k.packetsReceivingRatePps = a.packetsPerS;
    k.estimatedLinkCapacityPps = a.linkCapacityPacketsPerS;
    k.receivingRateBps = a.bytesPerS;
    k.timestampUs = this.ts();
    k.destSocketId = this.peerSocketId;
    this.send(writeAck(this.take(), 0, k));
  }

  /**
   * A packet from the peer for this connection (header already parsed into
   * `h`), then the timers that are due ({@link service}). A data packet's
   * `buf` is transferred to the receiver (SrtReceiver.data): it must be the
   * datagram's own Buffer, not written to afterwards. Encrypted payloads are
   * decrypted in place in it.
   */
  packet(buf: Buffer, len: number, h: ReturnType<typeof createSrtHeader>, nowUs: number): void {
    if (this.closed) return;
    if (!h.isControl) {
      if (this.decryptor && !this.decryptor.decrypt(h.sequenceNumber, h.keyFlags, buf, SRT_HEADER_SIZE, len - SRT_HEADER_SIZE)) {
        // Clear or unknown-key data on an encrypted connection is not ours to play.
        this.undecryptable++;
        this.receiver.touch(nowUs);
      } else this.receiver.data(h.sequenceNumber, h.timestampUs, h.retransmitted, buf, SRT_HEADER_SIZE, len - SRT_HEADER_SIZE, nowUs);
    } else this.control(buf, len, h, nowUs);
    this.service(nowUs);
  }

  private control(buf: Buffer, len: number, h: ReturnType<typeof createSrtHeader>, nowUs: number): void {
    switch (h.controlType) {
      case ControlType.ACKACK:
        this.receiver.ackAck(h.typeSpecific, nowUs);
        break;
      case ControlType.KEEPALIVE:
        this.receiver.touch(nowUs);
        break;
      case ControlType.SHUTDOWN:
        this.close('the peer shut the connection down', false);
        break;
      case ControlType.DROPREQ: {
        const d = createSrtDropReq();
        if (parseDropReq(buf, len, d) === 0) this.receiver.dropRequest(d.firstSeq, d.lastSeq, nowUs);
        else this.endpoint.counters.malformed++;
        break;
      }
      case ControlType.HANDSHAKE:
        // A repeated CONCLUSION (our answer was lost): answer again.
        this.endpoint.repeatConclusion(this, buf, len);
        break;
      case ControlType.USER_DEFINED:
        if (h.subtype === SRT_CMD_KMREQ) this.keyRefresh(buf, len);
        else this.receiver.touch(nowUs);
        break;
      default:
        this.receiver.touch(nowUs); // ACK, NAK, CGWARNING… from a receiver-only peer: nothing to do
    }
  }

  /**
   * The sender changed keys (KMREQ in a USER_DEFINED control packet, draft
   * §3.2.2 "Key Material Refresh"): unwrap with our passphrase, install,
   * and answer KMRSP with the same message, as libsrt does.
   */
  private keyRefresh(buf: Buffer, len: number): void {
    if (!this.decryptor || this.passphrase === null) return;
    const km = parseKmMessage(buf, SRT_HEADER_SIZE, len - SRT_HEADER_SIZE);
    if (isSrtKmError(km)) {
      this.endpoint.counters.malformed++;
      return;
    }
    const keys = unwrapKeys(km, this.passphrase);
    if (isSrtKmError(keys)) {
      this.endpoint.counters.malformed++;
      return;
    }
    this.decryptor.setKeys(keys);
    this.keyRefreshes++;
    const body = buf.subarray(SRT_HEADER_SIZE, len);
    const out = Buffer.alloc(SRT_HEADER_SIZE + body.length);
    writeControlHeader(out, 0, { controlType: ControlType.USER_DEFINED, subtype: SRT_CMD_KMRSP, typeSpecific: 0, timestampUs: this.ts(), destSocketId: this.peerSocketId });
    body.copy(out, SRT_HEADER_SIZE);
    this.lastSentUs = this.endpoint.nowUs();
    this.endpoint.sendTo(out, out.length, this.port, this.address);
  }

  /**
   * The timers: whatever is due at `nowUs` (nothing, cheaply, when nothing
   * is), then the deadlines again. packet() calls it after each packet; the
   * owner when its timer fires (at {@link deadlineUs}).
   */
  service(nowUs: number): void {
    if (this.closed) return;
    // Read afresh: the packet just processed may have made something due (a loss: the periodic NAK).
    if (nowUs >= Math.min(this.receiver.nextDeadlineUs(), this.lastSentUs + KEEPALIVE_US)) {
      this.receiver.tick(nowUs);
      if (this.receiver.isIdle(nowUs)) {
        this.close('no packet from the peer for 5 s (peer idle timeout)', true);
        return;
      }
      if (nowUs - this.lastSentUs >= KEEPALIVE_US) this.send(writeKeepalive(this.take(), 0, { timestampUs: this.ts(), destSocketId: this.peerSocketId }));
    }
    this.setDeadlines(nowUs);
  }

  /** After a check at `nowUs`: see {@link deadlineUs}. */
  private setDeadlines(nowUs: number): void {
    if (this.closed) {
      // The sink (onData, onClose) may have closed it meanwhile.
      this.deadlineUs = Infinity;
      return;
    }
    const releaseUs = this.receiver.nextReleaseUs();
    const controlUs = Math.min(this.receiver.nextControlUs(), this.lastSentUs + KEEPALIVE_US);
    this.deadlineUs = Math.min(releaseUs, Math.max(controlUs, nowUs + CHECK_INTERVAL_US));
  }

  stats(): SrtConnectionStats {
    const c = this.receiver.counters;
    return {
      peer: this.peer,
      streamId: this.streamId,
      latencyMs: this.latencyMs,
      rttMs: Math.round(this.receiver.rttUs / 100) / 10,
      packetsReceived: c.packetsReceived,
      packetsLost: c.packetsLost,
      packetsRetransmitted: c.packetsRetransmitted,
      packetsDropped: c.packetsDropped,
      bufferPackets: this.receiver.bufferedPackets,
      receiveRateBps: this.receiver.receiveRateBps,
    };
  }

  /** End it: tell the peer (unless it told us), free the socket id. */
  close(why: string, tellPeer = true): void {
    if (this.closed) return;
    this.closed = true;
    this.deadlineUs = Infinity;
    if (tellPeer) this.send(writeShutdown(this.take(), 0, { timestampUs: this.ts(), destSocketId: this.peerSocketId }));
    this.endpoint.forget(this);
    this.onClose(why);
  }
}

/** One UDP socket on address:port and the SRT connections on it. */
export class SrtEndpoint implements SrtConnectionOwner {
  readonly counters = {
    handshakes: 0,
    connections: 0,
    rejectedUnknownStreamId: 0,
    rejectedBusy: 0,
    rejectedVersion: 0,
    rejectedEncryption: 0,
    /** The caller's passphrase is not ours (BADSECRET). */
    rejectedBadSecret: 0,
    rejectedCookie: 0,
    rejectedFull: 0,
    /** Packets for a socket id we do not have, or from another address than its peer's. */
    foreignPackets: 0,
    /** Truncated or unparsable datagrams. */
    malformed: 0,
  };
  private readonly sock: dgram.Socket;
  private readonly acceptors = new Set<SrtAcceptor>();
  private readonly bySocketId = new Map<number, SrtConnection>();
  private readonly header = createSrtHeader();
  private readonly secret = randomBytes(32);
  /** Set for the earliest deadline of the connections; stopped while there are none. */
  readonly timer = new DeadlineTimer(() => this.onTimer());
  private bound: Promise<void>;
  private lastLogMs = 0;
  private suppressed = 0;

  constructor(
    readonly address: string,
    readonly port: number,
    readonly nowUs: () => number,
    private readonly log: (level: 'info' | 'warn', msg: string) => void,
    private readonly release: (e: SrtEndpoint) => void,
  ) {
    this.sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 * 1024 * 1024, lookup: ipv4Lookup });
    this.sock.on('message', (m, r) => this.onMessage(m, r));
    this.sock.on('error', (err) => this.sendFailed(err));
    this.bound = new Promise((resolve, reject) => {
      this.sock.once('error', reject);
      this.sock.bind({ address, port, exclusive: true }, () => {
        this.sock.off('error', reject);
        resolve();
      });
    });
  }

  ready(): Promise<void> {
    return this.bound;
  }

  register(a: SrtAcceptor): void {
    this.acceptors.add(a);
  }

  /** Stop taking connections for `a`; the endpoint closes when nobody is left. */
  unregister(a: SrtAcceptor): void {
    this.acceptors.delete(a);
    if (this.acceptors.size === 0) {
      // close() deletes c from the map: safe while iterating a Map.
      for (const c of this.bySocketId.values()) c.close('listener closed');
      this.timer.stop();
      try {
        this.sock.close();
      } catch {
        /* not bound */
      }
      this.release(this);
    }
  }

  sendTo(buf: Buffer, len: number, port: number, address: string, sent?: (err: Error | null) => void): void {
    if (sent) this.sock.send(buf, 0, len, port, address, sent);
    else this.sock.send(buf, 0, len, port, address);
  }

  sendFailed(err: Error): void {
    this.note('warn', `SRT socket ${this.address}:${this.port}: ${err.message}`);
  }

  forget(c: SrtConnection): void {
    if (this.bySocketId.get(c.socketId) === c) this.bySocketId.delete(c.socketId);
    // Its deadline may have been the timer's: the others' earliest, or none.
    if (this.timer.deadlineUs < Infinity) this.rearm();
  }

  /** The timer: each connection whose deadline has come does what is due; then the next earliest. At most MAX_CONNECTIONS. */
  private onTimer(): void {
    const now = this.nowUs();
    // A connection closed by service() is deleted from the map: safe while iterating a Map.
    for (const c of this.bySocketId.values()) if (c.deadlineUs <= now) c.service(now);
    this.rearm();
  }

  /** Set the timer for the earliest deadline of all connections (at most MAX_CONNECTIONS). */
  private rearm(): void {
    let next = Infinity;
    for (const c of this.bySocketId.values()) if (c.deadlineUs < next) next = c.deadlineUs;
    this.timer.arm(next, this.nowUs());
  }

  /**
   * After c's deadline moved from `before`: earlier than the timer → set it
   * earlier; later, and c's was the timer's → the new earliest of all. The
   * usual case, one connection per endpoint, is the second one after most
   * packets: the timer follows the deadline, and fires only if no packet
   * comes first.
   */
  private moved(c: SrtConnection, before: number, nowUs: number): void {
    const d = c.deadlineUs;
    if (d === before) return;
    if (d < this.timer.deadlineUs) this.timer.arm(d, nowUs);
    else if (before <= this.timer.deadlineUs) {
      if (this.bySocketId.size === 1) this.timer.arm(d, nowUs);
      else this.rearm();
    }
  }

  /** One summary line per second at most (STYLE.md §3: bad input is data). */
  private note(level: 'info' | 'warn', msg: string): void {
    const now = Date.now();
    if (now - this.lastLogMs >= 1000) {
      this.log(level, this.suppressed > 0 ? `${msg} (and ${this.suppressed} more refusals since)` : msg);
      this.lastLogMs = now;
      this.suppressed = 0;
    } else this.suppressed++;
  }

  private cookie(address: string, port: number, minute: number): number {
    return createHmac('sha256', this.secret).update(`${address}:${port}/${minute}`).digest().readUInt32BE(0);
  }

  private onMessage(msg: Buffer, r: dgram.RemoteInfo): void {
    const h = this.header;
    if (parseSrtHeader(msg, msg.length, h) !== 0) {
      this.counters.malformed++;
      return;
    }
    const now = this.nowUs();
    if (h.destSocketId !== 0) {
      const c = this.bySocketId.get(h.destSocketId);
      if (!c || c.address !== r.address || c.port !== r.port) {
        this.counters.foreignPackets++;
        return;
      }
      const before = c.deadlineUs;
      c.packet(msg, msg.length, h, now);
      this.moved(c, before, now);
      return;
    }
    if (h.isControl && h.controlType === ControlType.HANDSHAKE) this.handshake(msg, r, now);
    else this.counters.foreignPackets++;
  }

  private handshake(msg: Buffer, r: dgram.RemoteInfo, nowUs: number): void {
    const hs = parseHandshake(msg, msg.length);
    if (isSrtParseError(hs)) {
      this.counters.malformed++;
      return;
    }
    this.counters.handshakes++;
    const minute = Math.floor(Date.now() / COOKIE_PERIOD_MS);
    if (hs.handshakeType === HandshakeType.INDUCTION) {
      // draft §4.3.1.1: answer with v5, the magic, and a cookie; keep nothing.
      this.sock.send(
        writeHandshake({
          timestampUs: 0,
          destSocketId: hs.socketId,
          version: HandshakeVersion.SRT5,
          encryptionField: EncryptionField.NONE,
          extensionField: SRT_MAGIC_CODE,
          initialSequenceNumber: hs.initialSequenceNumber,
          mtuBytes: MTU,
          flowWindowPackets: FLOW_WINDOW,
          handshakeType: HandshakeType.INDUCTION,
          socketId: hs.socketId, // libsrt echoes the caller's socket id here
          synCookie: this.cookie(r.address, r.port, minute),
          peerIp: peerIpFromIPv4(r.address),
        }),
        r.port,
        r.address,
      );
      return;
    }
    if (hs.handshakeType !== HandshakeType.CONCLUSION) return;
    // A caller whose CONCLUSION we already answered (our answer was lost) sends it again.
    for (const c of this.bySocketId.values()) {
      if (c.address === r.address && c.port === r.port && c.peerSocketId === hs.socketId) {
        this.answerConclusion(c, hs, r);
        return;
      }
    }
    if (hs.synCookie !== this.cookie(r.address, r.port, minute) && hs.synCookie !== this.cookie(r.address, r.port, minute - 1)) {
      this.counters.rejectedCookie++;
      this.note('warn', `SRT ${this.address}:${this.port}: handshake from ${r.address}:${r.port} with a stale or forged cookie: ignored`);
      return;
    }
    const reject = (reason: number, counter: keyof SrtEndpoint['counters'], why: string): void => {
      this.counters[counter]++;
      this.note('warn', `SRT ${this.address}:${this.port}: refused ${r.address}:${r.port}${hs.streamId ? ` (stream id ${JSON.stringify(hs.streamId)})` : ''}: ${why}`);
      this.sock.send(writeHandshake({ ...hs, destSocketId: hs.socketId, handshakeType: handshakeRejection(reason), socketId: 0, peerIp: peerIpFromIPv4(r.address) }), r.port, r.address);
    };
    if (hs.version !== HandshakeVersion.SRT5 || !hs.hsReq) return reject(SrtRejectReason.VERSION, 'rejectedVersion', `handshake version ${hs.version} without HSREQ (SRT 1.3 or later is needed)`);
    const sid = hs.streamId ?? null;
    let acceptor: SrtAcceptor | undefined;
    for (const a of this.acceptors) if (a.streamId === sid) acceptor = a;
    if (!acceptor) for (const a of this.acceptors) if (a.streamId === null) acceptor = a;
    if (!acceptor) return reject(SrtRejectReasonX.NOTFOUND, 'rejectedUnknownStreamId', `no channel listens for stream id ${JSON.stringify(sid)}`);
    // Encryption must match both ways (libsrt's enforced encryption): a clear
    // caller for an encrypted input, or the reverse, is refused.
    let keys: SrtStreamKeys | null = null;
    if (hs.kmReq) {
      if (acceptor.passphrase === null) return reject(SrtRejectReason.UNSECURE, 'rejectedEncryption', 'the caller encrypts (passphrase) and this input has none');
      const km = parseKmMessage(hs.kmReq, 0, hs.kmReq.length);
      if (isSrtKmError(km)) return reject(SrtRejectReason.BADSECRET, 'rejectedBadSecret', `unusable key material (code ${km})`);
      const k = unwrapKeys(km, acceptor.passphrase);
      if (isSrtKmError(k)) {
        return reject(SrtRejectReason.BADSECRET, 'rejectedBadSecret', k === SrtKmError.BAD_SECRET ? 'wrong passphrase' : `key material refused (code ${k})`);
      }
      keys = k;
    } else if (acceptor.passphrase !== null) {
      return reject(SrtRejectReason.UNSECURE, 'rejectedEncryption', 'this input needs a passphrase and the caller sends in the clear');
    }
    if (this.bySocketId.size >= MAX_CONNECTIONS) return reject(SrtRejectReason.RESOURCE, 'rejectedFull', `${MAX_CONNECTIONS} connections already`);
    // TSBPD latency: the larger of ours and what the caller asks us to receive with (libsrt: max(RCVLATENCY, peer's PEERLATENCY)).
    const latencyMs = Math.max(acceptor.latencyMs, hs.hsReq.senderTsbpdDelayMs);
    let id = 0;
    for (let i = 0; i < 16 && (id === 0 || this.bySocketId.has(id)); i++) id = randomInt(1, 0x3fffffff);
    const c = new SrtConnection(this, id, hs.socketId, r.address, r.port, sid, latencyMs, hs.initialSequenceNumber, nowUs);
    if (keys) {
      c.decryptor = new SrtDecryptor(keys);
      c.passphrase = acceptor.passphrase;
      c.kmRsp = hs.kmReq ?? null;
    }
    if (!acceptor.connected(c)) return reject(SrtRejectReason.BACKLOG, 'rejectedBusy', `the channel for stream id ${JSON.stringify(sid)} already has a connection`);
    this.bySocketId.set(id, c);
    this.counters.connections++;
    this.answerConclusion(c, hs, r);
    this.moved(c, Infinity, nowUs);
  }

  private answerConclusion(c: SrtConnection, hs: SrtHandshake, r: dgram.RemoteInfo): void {
    // KMRSP: the caller's key material echoed means "accepted" (libsrt).
    const km = c.kmRsp;
    this.sock.send(
      writeHandshake({
        timestampUs: 0,
        destSocketId: hs.socketId,
        version: HandshakeVersion.SRT5,
        encryptionField: km ? hs.encryptionField : EncryptionField.NONE,
        extensionField: HandshakeExtensionFlags.HSREQ | (km ? HandshakeExtensionFlags.KMREQ : 0),
        ...(km ? { kmRsp: km } : {}),
        initialSequenceNumber: hs.initialSequenceNumber,
        mtuBytes: Math.min(MTU, hs.mtuBytes || MTU),
        flowWindowPackets: Math.min(FLOW_WINDOW, hs.flowWindowPackets || FLOW_WINDOW),
        handshakeType: HandshakeType.CONCLUSION,
        socketId: c.socketId,
        synCookie: hs.synCookie,
        peerIp: peerIpFromIPv4(r.address),
        hsRsp: { srtVersion: SRT_VERSION, srtFlags: OUR_FLAGS, receiverTsbpdDelayMs: c.latencyMs, senderTsbpdDelayMs: c.latencyMs },
      }),
      r.port,
      r.address,
    );
  }

  repeatConclusion(c: SrtConnection, buf: Buffer, len: number): void {
    const hs = parseHandshake(buf, len);
    if (isSrtParseError(hs) || hs.handshakeType !== HandshakeType.CONCLUSION) return;
    this.answerConclusion(c, hs, { address: c.address, port: c.port, family: 'IPv4', size: len });
  }

  connections(): SrtConnection[] {
    return [...this.bySocketId.values()];
  }
}

/** The endpoints of this thread, by address:port: channels on one port share one. */
const endpoints = new Map<string, SrtEndpoint>();

export function srtEndpoint(address: string, port: number, nowUs: () => number, log: (level: 'info' | 'warn', msg: string) => void): SrtEndpoint {
  const key = `${address}:${port}`;
  let e = endpoints.get(key);
  if (!e) {
    e = new SrtEndpoint(address, port, nowUs, log, (x) => {
      if (endpoints.get(key) === x) endpoints.delete(key);
    });
    endpoints.set(key, e);
  }
  return e;
}

/**
 * Caller mode (draft §4.3.1, the caller side): the headend calls an encoder
 * or a gateway that listens (`srt-live-transmit … srt://:port?mode=listener`).
 * One socket per attempt, bound to the local interface; the handshake is
 * sent every 250 ms until answered, at most `connectTimeoutMs`.
 */
export class SrtCaller implements SrtConnectionOwner {
  readonly counters = { malformed: 0, foreignPackets: 0, handshakes: 0 };
  private readonly sock: dgram.Socket;
  private readonly header = createSrtHeader();
  private conn: SrtConnection | null = null;
  private readonly socketId = randomInt(1, 0x3fffffff);
  private readonly isn = randomInt(0, 0x7fffffff);
  /** The connection's timers (DeadlineTimer), once connected. */
  readonly timer = new DeadlineTimer(() => this.onTimer());
  private resend: NodeJS.Timeout | null = null;
  private cookie = 0;
  private closed = false;
  /** With a passphrase we choose the stream keys and send them wrapped (KMREQ, draft §3.2.2); the listener encrypts with them. */
  private readonly keys: SrtStreamKeys | null;
  private readonly kmReq: Buffer | null;

  constructor(
    private readonly o: { localAddress: string; address: string; port: number; latencyMs: number; streamId: string | null; passphrase?: string | null; keyLength?: 16 | 24 | 32; connectTimeoutMs?: number },
    readonly nowUs: () => number,
    private readonly done: (result: SrtConnection | Error) => void,
  ) {
    if (o.passphrase) {
      const len = o.keyLength ?? 16;
      this.keys = { even: randomBytes(len), salt: randomBytes(16) };
      this.kmReq = buildKmMessage(wrapKeys(this.keys, o.passphrase));
    } else {
      this.keys = null;
      this.kmReq = null;
    }
    this.sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 * 1024 * 1024, lookup: ipv4Lookup });
    this.sock.on('message', (m, r) => this.onMessage(m, r));
    this.sock.on('error', (err) => this.sendFailed(err));
    this.sock.bind({ address: o.localAddress, port: 0 }, () => this.start());
  }

  private start(): void {
    if (this.closed) return;
    const deadline = Date.now() + (this.o.connectTimeoutMs ?? 3000);
    const send = (): void => {
      if (this.conn || this.closed) return;
      if (Date.now() > deadline) {
        this.fail(new Error(`no answer from ${this.o.address}:${this.o.port} within ${this.o.connectTimeoutMs ?? 3000} ms`));
        return;
      }
      this.sock.send(this.cookie === 0 ? this.induction() : this.conclusion(), this.o.port, this.o.address);
    };
    send();
    this.resend = setInterval(send, 250);
  }

  private base(): Omit<SrtHandshake, 'version' | 'extensionField' | 'handshakeType'> {
    return {
      timestampUs: 0,
      destSocketId: 0,
      encryptionField: EncryptionField.NONE,
      initialSequenceNumber: this.isn,
      mtuBytes: MTU,
      flowWindowPackets: FLOW_WINDOW,
      socketId: this.socketId,
      synCookie: this.cookie,
      peerIp: peerIpFromIPv4(this.o.address),
    };
  }

  /** draft §4.3.1.1: v4, extension field 2 (UDT_DGRAM), cookie 0 — what libsrt's caller sends. */
  private induction(): Buffer {
    return writeHandshake({ ...this.base(), version: HandshakeVersion.UDT4, extensionField: 2, handshakeType: HandshakeType.INDUCTION });
  }

  private conclusion(): Buffer {
    const km = this.kmReq;
    return writeHandshake({
      ...this.base(),
      version: HandshakeVersion.SRT5,
      encryptionField: km ? encryptionFieldOf(this.o.keyLength ?? 16) : EncryptionField.NONE,
      extensionField: HandshakeExtensionFlags.HSREQ | HandshakeExtensionFlags.CONFIG | (km ? HandshakeExtensionFlags.KMREQ : 0),
      handshakeType: HandshakeType.CONCLUSION,
      hsReq: { srtVersion: SRT_VERSION, srtFlags: OUR_FLAGS | (km ? SrtFlags.CRYPT : 0), receiverTsbpdDelayMs: this.o.latencyMs, senderTsbpdDelayMs: this.o.latencyMs },
      ...(this.o.streamId !== null ? { streamId: this.o.streamId } : {}),
      ...(km ? { kmReq: km } : {}),
    });
  }

  private onMessage(msg: Buffer, r: dgram.RemoteInfo): void {
    if (r.address !== this.o.address || r.port !== this.o.port) {
      this.counters.foreignPackets++;
      return;
    }
    const h = this.header;
    if (parseSrtHeader(msg, msg.length, h) !== 0) {
      this.counters.malformed++;
      return;
    }
    const c = this.conn;
    if (c) {
      if (h.destSocketId !== this.socketId) {
        this.counters.foreignPackets++;
        return;
      }
      const before = c.deadlineUs;
      const now = this.nowUs();
      c.packet(msg, msg.length, h, now);
      if (c.deadlineUs !== before && !this.closed) this.timer.arm(c.deadlineUs, now);
      return;
    }
    if (!h.isControl || h.controlType !== ControlType.HANDSHAKE) return;
    const hs = parseHandshake(msg, msg.length);
    if (isSrtParseError(hs)) {
      this.counters.malformed++;
      return;
    }
    this.counters.handshakes++;
    if (hs.handshakeType === HandshakeType.INDUCTION) {
      if (hs.version !== HandshakeVersion.SRT5 || hs.extensionField !== SRT_MAGIC_CODE) {
        this.fail(new Error(`${this.o.address}:${this.o.port} is not an SRT 1.3+ listener (handshake version ${hs.version})`));
        return;
      }
      if (hs.encryptionField !== EncryptionField.NONE && !this.kmReq) {
        this.fail(new Error(`${this.o.address}:${this.o.port} wants encryption: set passphrase on this input`));
        return;
      }
      this.cookie = hs.synCookie;
      this.sock.send(this.conclusion(), this.o.port, this.o.address);
      return;
    }
    if (hs.handshakeType === HandshakeType.CONCLUSION) {
      const latencyMs = Math.max(this.o.latencyMs, hs.hsRsp?.senderTsbpdDelayMs ?? 0);
      if (this.kmReq && (!hs.kmRsp || hs.kmRsp.length < 16)) {
        // A 4-octet KMRSP is the listener's KM state: the passphrase did not match (draft §3.2.1.2).
        this.fail(new Error(`${this.o.address}:${this.o.port} did not accept our key material (wrong passphrase?)`));
        return;
      }
      const c = new SrtConnection(this, this.socketId, hs.socketId, this.o.address, this.o.port, this.o.streamId, latencyMs, this.isn, this.nowUs());
      if (this.keys) {
        c.decryptor = new SrtDecryptor(this.keys);
        c.passphrase = this.o.passphrase ?? null;
      }
      this.conn = c;
      if (this.resend) clearInterval(this.resend);
      this.resend = null;
      this.timer.arm(c.deadlineUs, this.nowUs());
      this.done(c);
      return;
    }
    if (hs.handshakeType >= 1000) {
      const why = hs.handshakeType === 2404 || hs.handshakeType === 1404 ? ': unknown stream id' : hs.handshakeType === 1010 ? ': wrong passphrase' : hs.handshakeType === 1011 ? ': encryption does not match (passphrase on one side only)' : '';
      this.fail(new Error(`${this.o.address}:${this.o.port} refused the connection (code ${hs.handshakeType}${why})`));
    }
  }

  private fail(err: Error): void {
    if (this.closed) return;
    this.close();
    this.done(err);
  }

  private onTimer(): void {
    const c = this.conn;
    if (!c || this.closed) return;
    const now = this.nowUs();
    c.service(now);
    if (!this.closed) this.timer.arm(c.deadlineUs, now);
  }

  sendTo(buf: Buffer, len: number, port: number, address: string, sent?: (err: Error | null) => void): void {
    if (this.closed) return;
    if (sent) this.sock.send(buf, 0, len, port, address, sent);
    else this.sock.send(buf, 0, len, port, address);
  }

  sendFailed(err: Error): void {
    this.fail(new Error(`SRT caller socket: ${err.message}`));
  }

  forget(c: SrtConnection): void {
    if (this.conn === c) this.close();
  }

  repeatConclusion(): void {
    // The listener repeats its CONCLUSION when our first data has not reached it: nothing to answer.
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.resend) clearInterval(this.resend);
    this.timer.stop();
    setTimeout(() => {
      try {
        this.sock.close();
      } catch {
        /* closed */
      }
    }, 50); // let a SHUTDOWN go out first
  }
}
