/**
 * The durability test's writer (run as its own process, killed with
 * SIGKILL by durability.test.ts): edits the channels of an existing store
 * `count` times, round robin, each edit with its audit entry in one
 * transaction, and prints `ack K NUMBER VERSION` once the transaction has
 * committed: a line the parent reads is an acknowledged edit.
 *
 * argv: FILE START COUNT. Before the last edit it waits for a line on stdin
 * (never sent): a parent slower than the writer still kills it mid-burst.
 * Without arguments (tap running every file of this directory) it does
 * nothing.
 */
import { writeSync } from 'node:fs';
import { openStore } from '../../../../headend/store/db.js';
import { editConfig } from './fixtures.js';

const [file, startArg, countArg] = process.argv.slice(2);
if (file === undefined) process.exit(0);
const start = Number(startArg);
const count = Number(countArg);
const store = openStore(file);
const versions = new Map(store.channels.list().map((c) => [c.config.number, c.version]));
const numbers = [...versions.keys()];

function edit(k: number): void {
  const number = numbers[k % numbers.length];
  const rec = store.transaction(() => {
    const r = store.channels.update(number, editConfig(number, k), versions.get(number)!);
    store.audit.append({ username: 'durability', action: 'channel.update', target: `channel ${number}`, detail: { k, version: r.version } });
    return r;
  });
  versions.set(number, rec.version);
  // Synchronous: the line is in the pipe before the next edit starts.
  writeSync(1, `ack ${k} ${number} ${rec.version}\n`);
}

let k = start;
const last = start + count - 1;
function burst(): void {
  // A few edits back to back, then a turn of the event loop, as a headend
  // serving a burst of API requests would.
  for (let i = 0; i < 5 && k < last; i++) edit(k++);
  if (k < last) setImmediate(burst);
  else process.stdin.once('data', () => {
    edit(k++);
    store.close();
    writeSync(1, 'done\n');
    process.exit(0);
  });
}
writeSync(1, `ready ${process.pid}\n`);
burst();
