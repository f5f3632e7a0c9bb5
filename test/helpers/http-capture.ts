/**
 * Capture an HTTP body to a file for a bounded time, inside a test namespace
 * (run with tsNodeArgv from test/helpers/netlab.ts): what a player connected
 * to the STB agent's output would receive.
 *
 *   http-capture.ts URL OUT_FILE SECONDS
 *
 * Prints one JSON line: { status, bytes, firstByteMs, ms }.
 */
import { createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const HTTP_CAPTURE_PATH = fileURLToPath(import.meta.url);

async function main(): Promise<void> {
  const [url, out, secondsArg] = process.argv.slice(2);
  const seconds = Number(secondsArg);
  if (!url || !out || !(seconds > 0 && seconds <= 60)) {
    process.stderr.write('usage: http-capture.ts URL OUT_FILE SECONDS (≤ 60)\n');
    process.exit(2);
  }
  const t0 = performance.now();
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), seconds * 1000);
  const file = createWriteStream(out);
  let bytes = 0;
  let firstByteMs: number | null = null;
  let status = 0;
  try {
    const res = await fetch(url, { signal: ac.signal });
    status = res.status;
    if (res.body) {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        if (firstByteMs === null) firstByteMs = performance.now() - t0;
        bytes += chunk.length;
        file.write(chunk);
      }
    }
  } catch (e) {
    if (!ac.signal.aborted) process.stderr.write(`http-capture: ${(e as Error).message}\n`);
  }
  clearTimeout(timer);
  await new Promise<void>((r) => file.end(() => r()));
  process.stdout.write(JSON.stringify({ status, bytes, firstByteMs, ms: performance.now() - t0 }) + '\n');
  process.exit(0);
}

if (process.argv[1] === HTTP_CAPTURE_PATH) await main();
