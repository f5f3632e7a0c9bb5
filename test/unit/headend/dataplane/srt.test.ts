/**
 * The SRT connection's timers (headend/dataplane/srt.ts): event-driven, on
 * libsrt's schedule. A connection is driven here by a hand-run clock the way
 * its owner's one-shot timer drives it: the clock jumps to the next packet
 * or to `deadlineUs`, whichever comes first. Then the endpoint with a real
 * socket: no timer without a connection.
 */
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import {
  ControlType,
  EncryptionKeyFlags,
  PacketPosition,
  SRT_HEADER_SIZE,
  SrtAckKind,
  createSrtAck,
  createSrtHeader,
  parseAck,
  parseSrtHeader,
  writeDataHeader,
  writeShutdown,
} from '../../../../core/srt/packet.js';
import { HandshakeType, HandshakeVersion, isSrtParseError, parseHandshake, peerIpFromIPv4, writeHandshake } from '../../../../core/srt/handshake.js';
import { SrtConnection, srtEndpoint, type SrtAcceptor, type SrtConnectionOwner } from '../../../../headend/dataplane/srt.js';

const ISN = 1000;
const OUR_ID = 42;
const PEER_ID = 4242;
const PORT = 43000 + (process.pid % 1000) * 2;

interface Sent {
  at: number;
  /** The bytes when sent. */
  bytes: Buffer;
  /** The buffer they were sent from (to check it is not written again while in flight). */
  buf: Buffer;
  len: number;
  sent?: (err: Error | null) => void;
}

/** A connection's owner with a hand-run clock. Records what is sent; send callbacks run at once unless `hold`. */
class Owner implements SrtConnectionOwner {
  readonly counters = { malformed: 0 };
  now = 1_000_000;
  hold = false;
  readonly out: Sent[] = [];
  nowUs(): number {
    return this.now;
  }
  sendTo(buf: Buffer, len: number, _port: number, _address: string, sent?: (err: Error | null) => void): void {
    this.out.push({ at: this.now, bytes: Buffer.from(buf.subarray(0, len)), buf, len, sent });
    if (sent && !this.hold) sent(null);
  }
  sendFailed(): void {}
  forget(): void {}
  repeatConclusion(): void {}
  /** Times of the control packets of `type` sent (full ACKs only for ControlType.ACK unless `light`). */
  sentAt(type: number, light = false): number[] {
    const h = createSrtHeader();
    const a = createSrtAck();
    return this.out
      .filter((s) => {
        if (parseSrtHeader(s.bytes, s.len, h) !== 0 || !h.isControl || h.controlType !== type) return false;
        if (type !== ControlType.ACK) return true;
        return parseAck(s.bytes, s.len, a) === 0 && (a.kind === SrtAckKind.LIGHT) === light;
      })
      .map((s) => s.at);
  }
}

/** Data packet `i`: seq ISN + i, sender timestamp `tsUs`, payload = i (u32) + 1312 zero bytes. Each its own Buffer, as from node:dgram. */
function dataPacket(i: number, tsUs: number, retransmitted = false): Buffer {
  const b = Buffer.alloc(SRT_HEADER_SIZE + 1316);
  writeDataHeader(b, 0, { sequenceNumber: ISN + i, position: PacketPosition.SOLO, inOrder: false, keyFlags: EncryptionKeyFlags.NONE, retransmitted, messageNumber: i + 1, timestampUs: tsUs, destSocketId: OUR_ID });
  b.writeUInt32BE(i, SRT_HEADER_SIZE);
  return b;
}

function connection(latencyMs: number) {
  const owner = new Owner();
  const conn = new SrtConnection(owner, OUR_ID, PEER_ID, '127.0.0.1', 9, null, latencyMs, ISN, owner.now);
  const delivered: number[] = [];
  const deliveredAt: number[] = [];
  const closed: string[] = [];
  conn.onData = (buf, off) => {
    delivered.push(buf.readUInt32BE(off));
    deliveredAt.push(owner.now);
  };
  conn.onClose = (why) => closed.push(why);
  const header = createSrtHeader();
  return {
    owner,
    conn,
    delivered,
    deliveredAt,
    closed,
    /**
     * Packets `arrivals` ([atUs, packet]) in time order, and the owner's
     * timer: the clock jumps to the next arrival or to conn.deadlineUs,
     * whichever is first, until `endUs` or the connection closes.
     * Returns the times the timer fired.
     */
    run(endUs: number, arrivals: readonly (readonly [number, Buffer])[] = []): number[] {
      const fired: number[] = [];
      let k = 0;
      for (let guard = 0; guard < 1_000_000; guard++) {
        if (closed.length > 0) return fired;
        const a = k < arrivals.length ? arrivals[k][0] : Infinity;
        const d = conn.deadlineUs;
        const at = Math.min(a, d);
        if (at > endUs) return fired;
        owner.now = Math.max(owner.now, at);
        if (a <= d) {
          const b = arrivals[k++][1];
          parseSrtHeader(b, b.length, header);
          conn.packet(b, b.length, header, owner.now);
        } else {
          fired.push(owner.now);
          conn.service(owner.now);
        }
      }
      throw new Error('the event loop did not end');
    },
  };
}

const gaps = (xs: number[]): number[] => xs.slice(1).map((x, i) => x - xs[i]);

t.test('packets every 3 ms: each full ACK leaves with the first packet 10 ms or more after the last one, as libsrt checks its timers after each packet; the timer never fires', async (t) => {
  const c = connection(1000);
  const t0 = c.owner.now;
  const arrivals = Array.from({ length: 100 }, (_, i) => [t0 + i * 3000, dataPacket(i, i * 3000)] as const);
  const fired = c.run(t0 + 297_000, arrivals);
  t.same(fired, [], 'every deadline met by a packet');
  const acks = c.owner.sentAt(ControlType.ACK);
  t.equal(acks[0], t0, 'the first at the first packet');
  t.same(gaps(acks), Array(acks.length - 1).fill(12_000), 'then every 12 ms: the first packet on the 3-ms grid at or after 10 ms');
  t.same(c.owner.sentAt(ControlType.ACK, true), [], 'no light ACK: never 64 packets between two full ones');
});

t.test('no packets: the timer fires every 10 ms, each time for a full ACK 10 ms after the last; 5 s after the last packet the peer is idle and the connection closes', async (t) => {
  const c = connection(120);
  const t0 = c.owner.now;
  c.run(t0 + 6_000_000, [[t0, dataPacket(0, 0)]]);
  const acks = c.owner.sentAt(ControlType.ACK);
  t.ok(acks.length > 490);
  t.same(gaps(acks), Array(acks.length - 1).fill(10_000), 'exactly 10 ms apart (§4.8.1, libsrt COMM_SYN_INTERVAL_US)');
  t.same(c.closed, ['no packet from the peer for 5 s (peer idle timeout)']);
  const shutdown = c.owner.sentAt(ControlType.SHUTDOWN);
  t.equal(shutdown.length, 1, 'the peer is told');
  t.ok(shutdown[0] > t0 + 5_000_000 && shutdown[0] <= t0 + 5_010_000, `closed ${(shutdown[0] - t0) / 1000} ms after the last packet: within one 10-ms check of the timeout`);
  t.same(c.owner.sentAt(ControlType.KEEPALIVE), [], 'no keepalive: the ACKs keep the peer fed');
  t.equal(c.conn.deadlineUs, Infinity, 'no timer for a closed connection');
});

t.test('TSBPD: a packet that falls due between two arrivals is delivered by the timer, exactly at its time', async (t) => {
  const c = connection(121); // due 1 ms after an arrival on the 3-ms grid
  const t0 = c.owner.now;
  const arrivals = Array.from({ length: 30 }, (_, i) => [t0 + i * 3000, dataPacket(i, i * 3000)] as const);
  const fired = c.run(t0 + 400_000, arrivals);
  t.same(c.delivered, Array.from({ length: 30 }, (_, i) => i));
  t.same(c.deliveredAt, Array.from({ length: 30 }, (_, i) => t0 + i * 3000 + 121_000), 'at first arrival + timestamp + latency');
  t.ok(fired.length >= 30, 'the timer delivered them');
});

t.test('TSBPD: a packet that falls due when another arrives is delivered by that arrival, no timer needed', async (t) => {
  const c = connection(120); // due exactly on the 3-ms grid
  const t0 = c.owner.now;
  const arrivals = Array.from({ length: 100 }, (_, i) => [t0 + i * 3000, dataPacket(i, i * 3000)] as const);
  const fired = c.run(t0 + 297_000, arrivals);
  t.same(c.deliveredAt, Array.from({ length: 60 }, (_, i) => t0 + i * 3000 + 120_000));
  t.same(fired, [], 'each delivered by the packet that came as it fell due');
});

t.test('a lost packet: NAKed at once, again at the periodic-NAK time, recovered by its retransmission', async (t) => {
  const c = connection(5000);
  const t0 = c.owner.now;
  const arrivals: [number, Buffer][] = Array.from({ length: 100 }, (_, i) => [t0 + i * 3000, dataPacket(i, i * 3000)]);
  arrivals.splice(10, 1); // packet 10 lost
  arrivals.push([t0 + 250_500, dataPacket(10, 30_000, true)]);
  arrivals.sort((a, b) => a[0] - b[0]);
  c.run(t0 + 300_000, arrivals);
  // Found missing when packet 11 came (t0 + 33 ms): the immediate NAK and the first periodic one (none
  // sent before); then every max(20 ms, (RTT + 4·RTTVar) / 2) = 150 ms with no ACKACK (libsrt's initial
  // RTT 100 ms, RTTVar 50 ms), checked at each packet.
  const naks = c.owner.sentAt(ControlType.NAK);
  t.same(naks, [t0 + 33_000, t0 + 33_000, t0 + 183_000]);
  t.equal(c.conn.receiver.counters.packetsRetransmitted, 1);
  t.equal(c.conn.receiver.lossCount, 0);
});

t.test('control packets: a buffer in flight is not written again before its send callback; with four in flight, the next gets a buffer of its own', async (t) => {
  const c = connection(120);
  const t0 = c.owner.now;
  c.owner.hold = true;
  c.run(t0 + 70_000); // seven full ACKs (10 ms after the connection, then every 10 ms), none of them sent yet
  const out = c.owner.out;
  t.same(c.owner.sentAt(ControlType.ACK), Array.from({ length: 7 }, (_, i) => t0 + 10_000 + i * 10_000));
  t.equal(out.length, 7);
  const ring = new Set(out.slice(0, 4).map((s) => s.buf));
  t.equal(ring.size, 4, 'four buffers');
  t.ok(
    out.slice(4).every((s) => !ring.has(s.buf)),
    'then buffers of their own',
  );
  t.ok(
    out.every((s) => s.bytes.equals(s.buf.subarray(0, s.len))),
    'nothing sent was written over',
  );
  for (const s of out) s.sent?.(null);
  c.owner.hold = false;
  c.run(t0 + 110_000);
  t.equal(out.length, 11);
  t.ok(
    out.slice(7).every((s) => ring.has(s.buf)),
    'once sent, the four are used again',
  );
});

t.test('an endpoint has no timer until a caller connects, and none once it has gone', async (t) => {
  const endpoint = srtEndpoint('127.0.0.1', PORT, () => performance.now() * 1000, () => undefined);
  let conn: SrtConnection | null = null;
  const acceptor: SrtAcceptor = {
    streamId: null,
    latencyMs: 120,
    passphrase: null,
    connected: (c) => {
      conn = c;
      return true;
    },
  };
  endpoint.register(acceptor);
  await endpoint.ready();
  t.teardown(() => endpoint.unregister(acceptor));
  await sleep(50);
  t.equal(endpoint.timer.deadlineUs, Infinity, 'idle: no timer');
  t.equal(endpoint.timer.fired, 0);

  const caller = dgram.createSocket('udp4');
  t.teardown(() => caller.close());
  const got: Buffer[] = [];
  caller.on('message', (m) => got.push(m));
  await new Promise<void>((resolve) => caller.bind(0, '127.0.0.1', resolve));
  const hs = (type: number, cookie: number): Buffer =>
    writeHandshake({
      timestampUs: 0,
      destSocketId: 0,
      version: type === HandshakeType.INDUCTION ? HandshakeVersion.UDT4 : HandshakeVersion.SRT5,
      encryptionField: 0,
      extensionField: type === HandshakeType.INDUCTION ? 2 : 5,
      initialSequenceNumber: ISN,
      mtuBytes: 1500,
      flowWindowPackets: 8192,
      handshakeType: type,
      socketId: PEER_ID,
      synCookie: cookie,
      peerIp: peerIpFromIPv4('127.0.0.1'),
      ...(type === HandshakeType.CONCLUSION ? { hsReq: { srtVersion: 0x10501, srtFlags: 0xbf, receiverTsbpdDelayMs: 120, senderTsbpdDelayMs: 120 } } : {}),
    });
  caller.send(hs(HandshakeType.INDUCTION, 0), PORT, '127.0.0.1');
  for (let i = 0; i < 100 && got.length === 0; i++) await sleep(10);
  const induction = parseHandshake(got[0], got[0].length);
  if (isSrtParseError(induction)) throw new Error('no INDUCTION answer');
  caller.send(hs(HandshakeType.CONCLUSION, induction.synCookie), PORT, '127.0.0.1');
  for (let i = 0; i < 100 && conn === null; i++) await sleep(10);
  const c = conn as SrtConnection | null;
  if (!c) throw new Error('no connection');
  t.ok(endpoint.timer.deadlineUs < Infinity, 'a connection: the timer is set');
  await sleep(100);
  const h = createSrtHeader();
  const a = createSrtAck();
  const acks = got.filter((m) => parseSrtHeader(m, m.length, h) === 0 && h.isControl && h.controlType === ControlType.ACK && parseAck(m, m.length, a) === 0 && a.kind === SrtAckKind.FULL);
  t.ok(acks.length >= 2, `full ACKs come without data (${acks.length} in 100 ms)`);
  t.ok(endpoint.timer.fired >= 2, 'sent by the timer');
  const shutdown = Buffer.alloc(20);
  writeShutdown(shutdown, 0, { timestampUs: 0, destSocketId: c.socketId });
  caller.send(shutdown, PORT, '127.0.0.1');
  for (let i = 0; i < 100 && endpoint.connections().length > 0; i++) await sleep(10);
  t.equal(endpoint.connections().length, 0, 'the caller shut down');
  t.equal(endpoint.timer.deadlineUs, Infinity, 'no timer again');
  const fired = endpoint.timer.fired;
  await sleep(50);
  t.equal(endpoint.timer.fired, fired, 'and it does not fire');
});
