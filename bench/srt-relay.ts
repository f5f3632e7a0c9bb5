/**
 * A UDP relay that delays every datagram by a fixed time each way, for
 * bench/srt.ts: the kernel here has no netem (NETLAB.md "Loss, delay,
 * rate"), so the round trip comes from this relay, and the loss from
 * nftables on the link behind it. A sibling of test/helpers/udp-delay-relay.ts
 * (bench code cannot import test/), with a bound on what it holds and its
 * counters on exit.
 *
 *   node srt-relay.js LISTEN_ADDR:PORT BIND_ADDR TARGET_ADDR:PORT DELAY_MS MAX_SECONDS
 *
 * The first client that sends to LISTEN is the one answers go back to.
 * Prints `ready`, then one JSON line { forwarded, returned, dropped } on
 * SIGTERM or after MAX_SECONDS (a hard bound whatever the parent does).
 *
 * Each datagram waits in a FIFO with its due time; one timer serves the
 * FIFO, so datagrams leave in the order they came (setTimeout per datagram
 * would too, but allocates a timer each). At most MAX_QUEUED datagrams wait
 * per direction (2 s of 8 Mbit/s at 20 ms): beyond that they are dropped
 * and counted, as a full router queue would.
 */
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';

export const SRT_RELAY_PATH = fileURLToPath(import.meta.url);
const MAX_QUEUED = 4096;
const RECV_BUFFER_BYTES = 8 * 1024 * 1024;

function hostPort(s: string): [string, number] {
  const i = s.lastIndexOf(':');
  return [s.slice(0, i), Number(s.slice(i + 1))];
}

/** A fixed-size FIFO of datagrams with their due times. */
class DelayLine {
  private readonly bufs: (Buffer | null)[] = new Array<Buffer | null>(MAX_QUEUED).fill(null);
  private readonly due = new Float64Array(MAX_QUEUED);
  private head = 0;
  private size = 0;
  private timer: NodeJS.Timeout | null = null;
  dropped = 0;
  sent = 0;

  constructor(
    private readonly delayMs: number,
    private readonly send: (b: Buffer) => void,
  ) {}

  push(b: Buffer): void {
    if (this.size === MAX_QUEUED) {
      this.dropped++;
      return;
    }
    const i = (this.head + this.size) % MAX_QUEUED;
    this.bufs[i] = b;
    this.due[i] = performance.now() + this.delayMs;
    this.size++;
    if (this.timer === null) this.arm();
  }

  private arm(): void {
    const wait = Math.max(0, this.due[this.head] - performance.now());
    this.timer = setTimeout(() => this.flush(), wait);
  }

  private flush(): void {
    this.timer = null;
    const now = performance.now();
    while (this.size > 0 && this.due[this.head] <= now + 0.2) {
      const b = this.bufs[this.head]!;
      this.bufs[this.head] = null;
      this.head = (this.head + 1) % MAX_QUEUED;
      this.size--;
      this.sent++;
      this.send(b); // b is this datagram's own buffer, not reused: no copy needed
    }
    if (this.size > 0) this.arm();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

async function main(): Promise<void> {
  const [listen, bindAddr, target, delayArg, secondsArg] = process.argv.slice(2);
  const [lAddr, lPort] = hostPort(listen ?? '');
  const [tAddr, tPort] = hostPort(target ?? '');
  const delayMs = Number(delayArg);
  const seconds = Number(secondsArg);
  if (!lAddr || !(lPort > 0) || !bindAddr || !tAddr || !(tPort > 0) || !(delayMs >= 0 && delayMs <= 1000) || !(seconds > 0 && seconds <= 3600)) {
    process.stderr.write('usage: srt-relay.js LISTEN_ADDR:PORT BIND_ADDR TARGET_ADDR:PORT DELAY_MS MAX_SECONDS\n');
    process.exit(2);
  }
  const front = dgram.createSocket({ type: 'udp4', recvBufferSize: RECV_BUFFER_BYTES });
  const back = dgram.createSocket({ type: 'udp4', recvBufferSize: RECV_BUFFER_BYTES });
  let client: dgram.RemoteInfo | null = null;
  const toTarget = new DelayLine(delayMs, (b) => back.send(b, tPort, tAddr));
  const toClient = new DelayLine(delayMs, (b) => {
    if (client) front.send(b, client.port, client.address);
  });
  front.on('message', (m, r) => {
    client ??= r;
    toTarget.push(m);
  });
  back.on('message', (m) => {
    if (client) toClient.push(m);
  });
  await new Promise<void>((r) => front.bind(lPort, lAddr, () => r()));
  await new Promise<void>((r) => back.bind(0, bindAddr, () => r()));
  process.stdout.write('ready\n');
  let done = false;
  const finish = (): void => {
    if (done) return;
    done = true;
    toTarget.stop();
    toClient.stop();
    front.close();
    back.close();
    const out = { forwarded: toTarget.sent, returned: toClient.sent, dropped: toTarget.dropped + toClient.dropped };
    process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(0));
  };
  setTimeout(finish, seconds * 1000).unref();
  process.once('SIGTERM', finish);
}

if (process.argv[1] === SRT_RELAY_PATH) await main();
