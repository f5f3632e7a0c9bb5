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
 */
import dgram from 'node:dgram';
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
/** Receiver timers: ACK every 10 ms needs a finer tick. */
const TICK_MS = 5;
/** libsrt sends KEEPALIVE after 1 s without sending anything. */
const KEEPALIVE_US = 1_000_000;
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
  sendTo(buf: Buffer, port: number, address: string): void;
  forget(c: SrtConnection): void;
  repeatConclusion(c: SrtConnection, buf: Buffer, len: number): void;
}

export class SrtConnection {
  readonly receiver: SrtReceiver;
  private readonly startUs: number;
  private lastSentUs: number;
  private closed = false;
  private readonly out = Buffer.alloc(1500);
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
          const n = writeNak(self.out, 0, { timestampUs: self.ts(), destSocketId: self.peerSocketId }, ranges);
          self.send(n);
        },
      },
      { initialSequenceNumber, latencyUs: latencyMs * 1000 },
    );
  }

  get peer(): string {
    return `${this.address}:${this.port}`;
  }

  private ts(): number {
    return Math.max(0, Math.round(this.endpoint.nowUs() - this.startUs)) % 4294967296;
  }

  private send(n: number): void {
    this.lastSentUs = this.endpoint.nowUs();
    this.endpoint.sendTo(Buffer.from(this.out.subarray(0, n)), this.port, this.address);
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
    this.send(writeAck(this.out, 0, k));
  }

  /** A packet from the peer for this connection (header already parsed into `h`). */
  packet(buf: Buffer, len: number, h: ReturnType<typeof createSrtHeader>, nowUs: number): void {
    if (this.closed) return;
    if (!h.isControl) {
      if (this.decryptor && !this.decryptor.decrypt(h.sequenceNumber, h.keyFlags, buf, SRT_HEADER_SIZE, len - SRT_HEADER_SIZE)) {
        // Clear or unknown-key data on an encrypted connection is not ours to play.
        this.undecryptable++;
        this.receiver.touch(nowUs);
        return;
      }
      this.receiver.data(h.sequenceNumber, h.timestampUs, h.retransmitted, buf, SRT_HEADER_SIZE, len - SRT_HEADER_SIZE, nowUs);
      return;
    }
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
    this.endpoint.sendTo(out, this.port, this.address);
  }

  tick(nowUs: number): void {
    if (this.closed) return;
    this.receiver.tick(nowUs);
    if (this.receiver.isIdle(nowUs)) {
      this.close('no packet from the peer for 5 s (peer idle timeout)', true);
      return;
    }
    if (nowUs - this.lastSentUs >= KEEPALIVE_US) this.send(writeKeepalive(this.out, 0, { timestampUs: this.ts(), destSocketId: this.peerSocketId }));
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
    if (tellPeer) this.send(writeShutdown(this.out, 0, { timestampUs: this.ts(), destSocketId: this.peerSocketId }));
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
  private timer: NodeJS.Timeout | null = null;
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
    this.sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 * 1024 * 1024 });
    this.sock.on('message', (m, r) => this.onMessage(m, r));
    this.sock.on('error', (err) => this.note('warn', `SRT socket ${address}:${port}: ${err.message}`));
    this.bound = new Promise((resolve, reject) => {
      this.sock.once('error', reject);
      this.sock.bind({ address, port, exclusive: true }, () => {
        this.sock.off('error', reject);
        resolve();
      });
    });
    this.timer = setInterval(() => this.tick(), TICK_MS);
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
      for (const c of [...this.bySocketId.values()]) c.close('listener closed');
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      try {
        this.sock.close();
      } catch {
        /* not bound */
      }
      this.release(this);
    }
  }

  sendTo(buf: Buffer, port: number, address: string): void {
    this.sock.send(buf, port, address);
  }

  forget(c: SrtConnection): void {
    if (this.bySocketId.get(c.socketId) === c) this.bySocketId.delete(c.socketId);
  }

  private tick(): void {
    const now = this.nowUs();
    for (const c of [...this.bySocketId.values()]) c.tick(now);
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
      c.packet(msg, msg.length, h, now);
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
      this.sendTo(
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
      this.sendTo(writeHandshake({ ...hs, destSocketId: hs.socketId, handshakeType: handshakeRejection(reason), socketId: 0, peerIp: peerIpFromIPv4(r.address) }), r.port, r.address);
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
  }

  private answerConclusion(c: SrtConnection, hs: SrtHandshake, r: dgram.RemoteInfo): void {
    // KMRSP: the caller's key material echoed means "accepted" (libsrt).
    const km = c.kmRsp;
    this.sendTo(
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
  private timer: NodeJS.Timeout | null = null;
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
    this.sock = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 * 1024 * 1024 });
    this.sock.on('message', (m, r) => this.onMessage(m, r));
    this.sock.on('error', (err) => this.fail(new Error(`SRT caller socket: ${err.message}`)));
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
    if (this.conn) {
      if (h.destSocketId !== this.socketId) this.counters.foreignPackets++;
      else this.conn.packet(msg, msg.length, h, this.nowUs());
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
      this.timer = setInterval(() => c.tick(this.nowUs()), TICK_MS);
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

  sendTo(buf: Buffer, port: number, address: string): void {
    if (!this.closed) this.sock.send(buf, port, address);
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
    if (this.timer) clearInterval(this.timer);
    setTimeout(() => {
      try {
        this.sock.close();
      } catch {
        /* closed */
      }
    }, 50); // let a SHUTDOWN go out first
  }
}
