/**
 * A UDP relay that delays every datagram by a fixed time each way: the
 * "small delay relay" NETLAB.md suggests, because this kernel has no netem.
 * Run inside a test namespace (tsNodeArgv from test/helpers/netlab.ts):
 *
 *   udp-delay-relay.ts LISTEN_ADDR:PORT BIND_ADDR TARGET_ADDR:PORT DELAY_MS SECONDS
 *
 * The first client that sends to LISTEN is the one answers go back to.
 * Prints one JSON line at the end: { forwarded, returned }.
 */
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';

export const UDP_DELAY_RELAY_PATH = fileURLToPath(import.meta.url);

function hostPort(s: string): [string, number] {
  const i = s.lastIndexOf(':');
  return [s.slice(0, i), Number(s.slice(i + 1))];
}

async function main(): Promise<void> {
  const [listen, bindAddr, target, delayArg, secondsArg] = process.argv.slice(2);
  const [lAddr, lPort] = hostPort(listen ?? '');
  const [tAddr, tPort] = hostPort(target ?? '');
  const delayMs = Number(delayArg);
  const seconds = Number(secondsArg);
  if (!lAddr || !(lPort > 0) || !bindAddr || !tAddr || !(tPort > 0) || !(delayMs >= 0 && delayMs <= 1000) || !(seconds > 0 && seconds <= 600)) {
    process.stderr.write('usage: udp-delay-relay.ts LISTEN_ADDR:PORT BIND_ADDR TARGET_ADDR:PORT DELAY_MS SECONDS\n');
    process.exit(2);
  }
  const front = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 * 1024 * 1024 });
  const back = dgram.createSocket({ type: 'udp4', recvBufferSize: 8 * 1024 * 1024 });
  let client: dgram.RemoteInfo | null = null;
  let forwarded = 0;
  let returned = 0;
  front.on('message', (m, r) => {
    client ??= r;
    forwarded++;
    setTimeout(() => back.send(m, tPort, tAddr), delayMs);
  });
  back.on('message', (m) => {
    const c = client;
    if (!c) return;
    returned++;
    setTimeout(() => front.send(m, c.port, c.address), delayMs);
  });
  await new Promise<void>((r) => front.bind(lPort, lAddr, () => r()));
  await new Promise<void>((r) => back.bind(0, bindAddr, () => r()));
  process.stdout.write('ready\n');
  setTimeout(() => {
    front.close();
    back.close();
    process.stdout.write(JSON.stringify({ forwarded, returned }) + '\n');
  }, seconds * 1000);
}

if (process.argv[1] === UDP_DELAY_RELAY_PATH) await main();
