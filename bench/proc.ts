/**
 * Child-process helpers the benchmarks share: wait for a line, keep a
 * stream's tail for error reports, stop a child politely then firmly.
 */
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

/** Lines of a child's stdout, awaited one predicate at a time, bounded by a timeout. */
export function lineWaiter(child: ChildProcess): (pred: (l: string) => boolean, timeoutMs: number, what: string) => Promise<string> {
  const lines: string[] = [];
  let wake: (() => void) | null = null;
  let ended = false;
  const rl = createInterface({ input: child.stdout! });
  rl.on('line', (l) => {
    lines.push(l);
    wake?.();
  });
  rl.on('close', () => {
    ended = true;
    wake?.();
  });
  return async (pred, timeoutMs, what) => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const i = lines.findIndex(pred);
      if (i >= 0) return lines.splice(0, i + 1)[i];
      if (ended) throw new Error(`${what}: the process ended first`);
      const left = until - Date.now();
      if (left <= 0) throw new Error(`${what}: nothing after ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
      wake = null;
    }
  };
}

/** Keep the last `limit` characters of a stream, for the report when something fails. */
export function tail(stream: NodeJS.ReadableStream | null, limit = 4000): () => string {
  let buf = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (s: string) => {
    buf = (buf + s).slice(-limit);
  });
  return () => buf;
}

/** SIGTERM, then SIGKILL after `timeoutMs`. Resolves with how it ended. */
export async function stopChild(child: ChildProcess, timeoutMs: number): Promise<string> {
  if (child.exitCode !== null || child.signalCode !== null) return `already exited (${child.exitCode ?? child.signalCode})`;
  const exited = new Promise<string>((r) => child.once('exit', (code, sig) => r(sig ? `signal ${sig}` : `exit ${code}`)));
  child.kill('SIGTERM');
  const t = Date.now();
  const how = await Promise.race([exited, sleep(timeoutMs).then(() => '')]);
  if (how) return `${how} after SIGTERM in ${Date.now() - t} ms`;
  child.kill('SIGKILL');
  return `${await Promise.race([exited, sleep(2000).then(() => 'did not exit')])} after SIGKILL (no exit ${timeoutMs} ms after SIGTERM)`;
}

/** Child processes of `pid` (e.g. the headend's ffmpeg slate encoders), from /proc. */
export function childProcesses(pid: number): { pid: number; comm: string }[] {
  const out: { pid: number; comm: string }[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      if (Number(f[1]) === pid) out.push({ pid: Number(d), comm: s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')) });
    } catch {
      /* gone */
    }
  }
  return out;
}
