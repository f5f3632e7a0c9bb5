/**
 * Issue 5: "kill -9 the headend in the middle of a burst of 1,000 lineup
 * edits; after restart the database opens, every acknowledged edit is
 * there, none is half-applied". A separate process (durability-writer.ts)
 * edits; this test kills it with SIGKILL while it runs, then reopens the
 * file as the restarted headend would. Three rounds, killed at different
 * points, on the same file.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '../../../../headend/store/db.js';
import { childEnv, tsNodeArgv } from '../../../helpers/netlab.js';
import { editConfig, tempDir } from './fixtures.js';

const WRITER = fileURLToPath(new URL('./durability-writer.ts', import.meta.url));
const CHANNELS = 10;
const BURST = 1000;

interface Ack {
  k: number;
  number: number;
  version: number;
}

/** Runs the writer and SIGKILLs it once `killAfter` edits are acknowledged. Returns every ack read. */
async function runAndKill(file: string, start: number, killAfter: number): Promise<{ acks: Ack[]; signal: NodeJS.Signals | null; output: string }> {
  const [cmd, ...args] = tsNodeArgv(WRITER, [file, String(start), String(BURST)]);
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: childEnv() });
  const acks: Ack[] = [];
  let buf = '';
  let err = '';
  let killed = false;
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const m = /^ack (\d+) (\d+) (\d+)$/.exec(line);
      if (m) acks.push({ k: Number(m[1]), number: Number(m[2]), version: Number(m[3]) });
    }
    if (!killed && acks.length >= killAfter) {
      killed = true;
      child.kill('SIGKILL');
    }
  });
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
  // 'close': the process is gone and its stdout is read to the end.
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, sig) => resolve(sig)));
  clearTimeout(guard);
  return { acks, signal, output: err };
}

t.test('SIGKILL in the middle of 1,000 edits: the database opens, is intact, has every acknowledged edit and no half-applied one', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'durable.db');
  const setup = openStore(file);
  for (let n = 1; n <= CHANNELS; n++) setup.channels.create(editConfig(n, -1));
  setup.close();

  let start = 0;
  const allAcked: Ack[] = [];
  for (const killAfter of [150, 420, 700]) {
    const { acks, signal, output } = await runAndKill(file, start, killAfter);
    t.equal(signal, 'SIGKILL', `killed by SIGKILL${output ? `; writer said: ${output}` : ''}`);
    t.ok(acks.length >= killAfter && acks.length < BURST, `killed mid-burst: ${acks.length} of ${BURST} edits acknowledged`);
    t.strictSame(
      acks.map((a) => a.k),
      Array.from({ length: acks.length }, (_, i) => start + i),
      'acks in order',
    );
    allAcked.push(...acks);

    // The restarted headend.
    const store = openStore(file);
    try {
      t.strictSame(store.integrityCheck(), ['ok'], 'integrity_check ok');
      const lastAck = new Map<number, Ack>();
      for (const a of allAcked) lastAck.set(a.number, a);
      const maxAcked = allAcked[allAcked.length - 1].k;
      const stored = store.channels.list();
      t.equal(stored.length, CHANNELS);
      let committedThisRound = 0;
      for (const ch of stored) {
        const n = ch.config.number;
        const k = Number(/^edit (-?\d+)$/.exec(ch.config.name)?.[1]);
        const acked = lastAck.get(n)!;
        // Acknowledged → present. At most one more edit (the one being
        // acknowledged when the kill came) may have committed after it.
        t.ok(k >= acked.k && k <= maxAcked + 1, `channel ${n}: edit ${k} stored, edit ${acked.k} was the last acknowledged`);
        if (k === acked.k) t.equal(ch.version, acked.version, `channel ${n}: the acknowledged version`);
        else t.ok(ch.version > acked.version, `channel ${n}: an edit after the acknowledged one`);
        if (k > acked.k) committedThisRound++;
        // Not half-applied: the row, its config JSON and its inputs rows all come from edit k.
        t.strictSame(ch.config, editConfig(n, k), `channel ${n}: whole edit ${k}`);
        const raw = store.db.prepare<[number], { config: string }>('SELECT config FROM inputs WHERE channel_id = ? ORDER BY position').all(ch.id);
        t.equal(raw.length, (((k % 4) + 4) % 4) + 1, `channel ${n}: inputs rows of edit ${k}`);
        t.ok(raw.every((r) => (JSON.parse(r.config) as { path: string }).path.startsWith(`/k/${k}/`)), `channel ${n}: every inputs row from edit ${k}`);
      }
      t.ok(committedThisRound <= 1, `${committedThisRound} committed but unacknowledged edit`);
      // The audit entry committed with each edit: every acknowledged edit has one, exactly once.
      const audited = store.db
        .prepare<[], { detail: string }>(`SELECT detail FROM audit WHERE action = 'channel.update' ORDER BY id`)
        .all()
        .map((r) => (JSON.parse(r.detail) as { k: number }).k);
      t.strictSame(audited.slice(0, allAcked.length), allAcked.map((a) => a.k), 'every acknowledged edit is in the audit log, in order');
      t.equal(audited.length, allAcked.length + committedThisRound, 'no audit entry without its edit');
      start = maxAcked + 1 + committedThisRound;
      // The next round continues from what is stored, as a restarted headend would.
      if (committedThisRound === 1) allAcked.push(...stored.filter((c) => Number(c.config.name.slice(5)) === maxAcked + 1).map((c) => ({ k: maxAcked + 1, number: c.config.number, version: c.version })));
    } finally {
      store.close();
    }
  }
});
