/**
 * The agent's output to players: one tuned stream, any number of player
 * connections (HTTP clients, a UDP destination, stdout). Each connection has
 * its own I-frame gate — a player that connects mid-GOP also starts on PAT,
 * PMT and a random access point — and its own continuity restamper, because
 * each connection's stream began at a different point.
 *
 * Bounded: a connection that cannot keep up (its socket holds more than
 * `maxBufferedBytes`) is closed and counted rather than buffered without end.
 */
import { TS_PACKET_SIZE } from '../../core/mpegts/packet.js';
import { RandomAccessGate, type GateSink } from '../tuner/gate.js';
import { ContinuityRestamper } from '../../core/mpegts/continuity.js';

export interface OutputWriter {
  /** Takes ownership of `chunk` (whole TS packets). */
  write(chunk: Buffer): void;
  /** Bytes accepted but not yet sent (for the slow-client bound). */
  buffered(): number;
  close(): void;
}

export interface OutputClient {
  readonly id: number;
  readonly label: string;
  bytes: number;
  readonly openedAt: number;
}

interface Client extends OutputClient {
  writer: OutputWriter;
  gate: RandomAccessGate | null;
  restamper: ContinuityRestamper;
  /** Whether the client's own stream has started (gate open, or no gate). */
  started: boolean;
}

export class OutputFanout implements GateSink {
  readonly counters = { clients: 0, slowClientsClosed: 0, starts: 0 };
  private readonly clients = new Set<Client>();
  private nextId = 1;

  constructor(
    private readonly opts: {
      /** No per-connection gate: pass everything (the naive mode of the benchmark). */
      passThrough?: boolean;
      maxBufferedBytes?: number;
      /** The latest PAT/PMT of the tuned channel, to teach a new connection's gate. */
      currentPsi?: () => Buffer | null;
      now?: () => number;
      log?: (msg: string) => void;
    } = {},
  ) {}

  get size(): number {
    return this.clients.size;
  }

  list(): OutputClient[] {
    return [...this.clients].map(({ id, label, bytes, openedAt }) => ({ id, label, bytes, openedAt }));
  }

  add(writer: OutputWriter, label: string): OutputClient {
    const restamper = new ContinuityRestamper((chunk) => {
      c.bytes += chunk.length;
      writer.write(chunk);
    });
    const c: Client = {
      id: this.nextId++,
      label,
      bytes: 0,
      openedAt: this.opts.now?.() ?? Date.now(),
      writer,
      gate: null,
      restamper,
      started: this.opts.passThrough === true,
    };
    if (!c.started) {
      c.gate = new RandomAccessGate(
        {
          start: (psi) => {
            c.started = true;
            restamper.start(psi);
          },
          writePackets: (buf, off, count) => restamper.writePackets(buf, off, count),
        },
        { cachedPsi: this.opts.currentPsi?.() ?? null },
      );
    } else {
      restamper.start(Buffer.alloc(0));
    }
    this.clients.add(c);
    this.counters.clients++;
    return c;
  }

  remove(client: OutputClient): void {
    const c = client as Client;
    if (this.clients.delete(c)) c.writer.close();
  }

  closeAll(): void {
    for (const c of [...this.clients]) this.remove(c);
  }

  start(psi: Buffer): void {
    this.counters.starts++;
    for (const c of this.clients) {
      if (c.started) c.restamper.start(psi);
      else if (c.gate && psi.length > 0) c.gate.writePackets(psi, 0, psi.length / TS_PACKET_SIZE);
    }
  }

  writePackets(buf: Buffer, off: number, count: number): void {
    const max = this.opts.maxBufferedBytes ?? 16 * 1024 * 1024;
    for (const c of this.clients) {
      if (c.gate !== null) c.gate.writePackets(buf, off, count);
      else c.restamper.writePackets(buf, off, count);
      if (c.writer.buffered() > max) {
        this.counters.slowClientsClosed++;
        this.opts.log?.(`output ${c.label}: more than ${max} bytes waiting (the player does not read): closed`);
        this.remove(c);
      }
    }
  }

  discontinuity(): void {
    for (const c of this.clients) if (c.gate !== null && !c.gate.open) c.gate.discontinuity();
  }
}
