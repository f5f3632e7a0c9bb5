import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError } from '../../../core/lineup/config.js';
import {
  EventType,
  INPUT_EVENT_SIZE_32,
  INPUT_EVENT_SIZE_64,
  INPUT_EVENT_SIZE_NATIVE,
  InputEventDecoder,
  KeyCode,
  KeyValue,
  RemoteKeys,
  openRemote,
  parseInputEvents,
  type InputEventSize,
  type RemoteCommand,
} from '../../../stb-agent/remote.js';

type Ev = [type: number, code: number, value: number];
/** The part of a tap test these helpers need. */
type Teardown = { teardown(fn: () => void): void };

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/#[^\n]*/g, '').replace(/\s+/g, ''), 'hex');
}

function parseAll(buf: Buffer, size: InputEventSize = INPUT_EVENT_SIZE_64): { events: Ev[]; used: number } {
  const events: Ev[] = [];
  const used = parseInputEvents(buf, 0, buf.length, (type, code, value) => events.push([type, code, value]), size);
  return { events, used };
}

/** Test-side encoder of struct input_event; checked against the C compiler's layout below. */
function encode(evs: Ev[], size: InputEventSize = INPUT_EVENT_SIZE_64, sec = 1_700_000_000): Buffer {
  const b = Buffer.alloc(evs.length * size);
  evs.forEach(([type, code, value], i) => {
    const p = i * size;
    if (size === INPUT_EVENT_SIZE_64) {
      b.writeBigInt64LE(BigInt(sec + i), p);
      b.writeBigInt64LE(BigInt(i * 1000), p + 8);
    } else {
      b.writeInt32LE(sec + i, p);
      b.writeInt32LE(i * 1000, p + 4);
    }
    b.writeUInt16LE(type, p + size - 8);
    b.writeUInt16LE(code, p + size - 6);
    b.writeInt32LE(value, p + size - 4);
  });
  return b;
}

const { EV_SYN, EV_KEY, EV_REL, EV_MSC } = EventType;
const press = (code: number): Ev[] => [[EV_KEY, code, KeyValue.PRESS], [EV_SYN, 0, 0]];
const release = (code: number): Ev[] => [[EV_KEY, code, KeyValue.RELEASE], [EV_SYN, 0, 0]];
const pressRelease = (code: number): Ev[] => [...press(code), ...release(code)];

// What an rc-core IR receiver emits for one press of CHANNELUP (RC-5 scancode 0x1e20),
// then a mouse-wheel notch from a combo remote, as read from /dev/input/eventN on x86_64.
const VECTOR_64 = `
  00 f1 53 65 00 00 00 00   # tv_sec  = 1700000000 (int64 LE)
  40 e2 01 00 00 00 00 00   # tv_usec = 123456 (int64 LE)
  04 00                     # type  = 0x0004 EV_MSC
  04 00                     # code  = 0x0004 MSC_SCAN
  20 1e 00 00               # value = 0x1e20 scancode

  00 f1 53 65 00 00 00 00   # tv_sec  = 1700000000
  40 e2 01 00 00 00 00 00   # tv_usec = 123456
  01 00                     # type  = 0x0001 EV_KEY
  92 01                     # code  = 0x0192 KEY_CHANNELUP
  01 00 00 00               # value = 1 press

  00 f1 53 65 00 00 00 00   # tv_sec  = 1700000000
  40 e2 01 00 00 00 00 00   # tv_usec = 123456
  00 00                     # type  = 0x0000 EV_SYN
  00 00                     # code  = 0x0000 SYN_REPORT
  00 00 00 00               # value = 0

  01 f1 53 65 00 00 00 00   # tv_sec  = 1700000001
  00 00 00 00 00 00 00 00   # tv_usec = 0
  02 00                     # type  = 0x0002 EV_REL
  08 00                     # code  = 0x0008 REL_WHEEL
  ff ff ff ff               # value = -1 (__s32: one notch down)
`;
const VECTOR_64_EVENTS: Ev[] = [
  [EV_MSC, 4, 0x1e20],
  [EV_KEY, KeyCode.KEY_CHANNELUP, 1],
  [EV_SYN, 0, 0],
  [EV_REL, 8, -1],
];

// The same first two records with a 32-bit `long` (armhf, i386).
const VECTOR_32 = `
  00 f1 53 65               # tv_sec  = 1700000000 (int32 LE)
  40 e2 01 00               # tv_usec = 123456 (int32 LE)
  04 00                     # type  = EV_MSC
  04 00                     # code  = MSC_SCAN
  20 1e 00 00               # value = 0x1e20

  00 f1 53 65               # tv_sec
  40 e2 01 00               # tv_usec
  01 00                     # type  = EV_KEY
  92 01                     # code  = KEY_CHANNELUP
  02 00 00 00               # value = 2 autorepeat
`;

t.test('decodes annotated 24-byte input_event records, with a signed value', async (t) => {
  const buf = hex(VECTOR_64);
  t.equal(buf.length, 4 * 24);
  const { events, used } = parseAll(buf);
  t.equal(used, 96);
  t.same(events, VECTOR_64_EVENTS);
  t.same(encode(VECTOR_64_EVENTS).subarray(16, 24), buf.subarray(16, 24), 'the test encoder agrees with the vector');
});

t.test('decodes the 16-byte layout of 32-bit Linux', async (t) => {
  const { events, used } = parseAll(hex(VECTOR_32), INPUT_EVENT_SIZE_32);
  t.equal(used, 32);
  t.same(events, [
    [EV_MSC, 4, 0x1e20],
    [EV_KEY, KeyCode.KEY_CHANNELUP, KeyValue.AUTOREPEAT],
  ]);
});

t.test('the default record size is the host ABI: 24 bytes on 64-bit Node', async (t) => {
  const is64 = ['x64', 'arm64', 'ppc64', 's390x', 'riscv64', 'loong64', 'mips64el'].includes(process.arch);
  t.equal(INPUT_EVENT_SIZE_NATIVE, is64 ? 24 : 16);
  if (INPUT_EVENT_SIZE_NATIVE === 24) {
    const events: Ev[] = [];
    parseInputEvents(hex(VECTOR_64), 0, 96, (type, code, value) => events.push([type, code, value]));
    t.same(events, VECTOR_64_EVENTS);
  }
});

t.test('consumes whole records only, from an offset, leaving a partial tail', async (t) => {
  const records = hex(VECTOR_64);
  const buf = Buffer.concat([Buffer.from([0xee, 0xee, 0xee]), records.subarray(0, 24 * 2 + 23)]);
  const events: Ev[] = [];
  const used = parseInputEvents(buf, 3, buf.length - 3, (type, code, value) => events.push([type, code, value]), 24);
  t.equal(used, 48, 'two records; the 23 bytes of the third are left');
  t.same(events, VECTOR_64_EVENTS.slice(0, 2));
  t.equal(parseInputEvents(buf, 3, 23, () => t.fail('no whole record'), 24), 0);
});

t.test('rejects a range outside the buffer and an unknown record size', async (t) => {
  const buf = Buffer.alloc(48);
  t.throws(() => parseInputEvents(buf, 1, 48, () => {}, 24), RangeError);
  t.throws(() => parseInputEvents(buf, -1, 24, () => {}, 24), RangeError);
  t.throws(() => parseInputEvents(buf, 0, 48, () => {}, 20 as InputEventSize), RangeError);
});

// A real peer for the layout: the C compiler's struct input_event from linux/input.h.
const EMIT_C = `
#include <linux/input.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  if (argc == 2 && argv[1][0] == 's') { printf("%zu\\n", sizeof(struct input_event)); return 0; }
  for (int i = 1; i + 2 < argc; i += 3) {
    struct input_event ev = {0};
    ev.input_event_sec = 1700000000 + (i - 1) / 3;
    ev.input_event_usec = (i - 1) / 3 * 1000;
    ev.type = strtoul(argv[i], 0, 0);
    ev.code = strtoul(argv[i + 1], 0, 0);
    ev.value = strtol(argv[i + 2], 0, 0);
    fwrite(&ev, sizeof ev, 1, stdout);
  }
  return 0;
}
`;

function hasGcc(): boolean {
  try {
    execFileSync('gcc', ['--version'], { stdio: 'ignore' });
    return fs.existsSync('/usr/include/linux/input.h');
  } catch {
    return false;
  }
}

t.test('agrees with the C compiler: sizeof(struct input_event) and its bytes', { skip: hasGcc() ? false : 'needs gcc and linux/input.h' }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roomcast-evdev-c-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'emit.c'), EMIT_C);
  const exe = path.join(dir, 'emit');
  execFileSync('gcc', ['-O0', '-o', exe, path.join(dir, 'emit.c')]);
  t.equal(Number(execFileSync(exe, ['s'], { encoding: 'utf8' })), INPUT_EVENT_SIZE_NATIVE);
  const evs: Ev[] = [
    [EV_MSC, 4, 0x1e20],
    [EV_KEY, KeyCode.KEY_OK, 1],
    [EV_SYN, 0, 0],
    [EV_KEY, KeyCode.KEY_KP7, 2],
    [EV_REL, 8, -1],
    [EV_KEY, 0x2ff, 0x7fffffff], // KEY_MAX, the largest __s32
  ];
  const bytes = execFileSync(exe, evs.flatMap((e) => e.map(String)));
  t.equal(bytes.length, evs.length * INPUT_EVENT_SIZE_NATIVE);
  t.same(bytes, encode(evs, INPUT_EVENT_SIZE_NATIVE), 'the test encoder writes what the kernel ABI holds');
  t.same(parseAll(bytes, INPUT_EVENT_SIZE_NATIVE).events, evs);
});

t.test('a record split across two chunks at every byte position gives the same events', async (t) => {
  for (const size of [INPUT_EVENT_SIZE_64, INPUT_EVENT_SIZE_32] as const) {
    const evs: Ev[] = [...pressRelease(KeyCode.KEY_4), [EV_REL, 8, -1], ...press(KeyCode.KEY_CHANNELDOWN)];
    const stream = encode(evs, size);
    for (let k = 0; k <= stream.length; k++) {
      const got: Ev[] = [];
      const dec = new InputEventDecoder((type, code, value) => got.push([type, code, value]), size);
      const first = Buffer.from(stream.subarray(0, k));
      dec.write(first);
      first.fill(0xff); // the carried bytes must be a copy: the reader may reuse its chunk
      dec.write(Buffer.from(stream.subarray(k)));
      if (!t.same(got, evs, `${size}-byte records split at byte ${k}`)) break;
      t.equal(dec.reset(), 0, 'nothing left over');
    }
    const got: Ev[] = [];
    const dec = new InputEventDecoder((type, code, value) => got.push([type, code, value]), size);
    for (let i = 0; i < stream.length; i++) dec.write(stream.subarray(i, i + 1));
    t.same(got, evs, `${size}-byte records fed one byte at a time`);
    t.equal(dec.counters.events, evs.length);
  }
});

t.test('the decoder drops and counts an incomplete record at reset', async (t) => {
  const got: Ev[] = [];
  const dec = new InputEventDecoder((type, code, value) => got.push([type, code, value]), 24);
  const stream = encode(press(KeyCode.KEY_1), 24);
  dec.write(stream.subarray(0, 24 + 10));
  t.equal(dec.reset(), 10);
  t.equal(dec.counters.partialBytes, 10);
  dec.write(stream); // a new stream starts on a record boundary
  t.same(got, [press(KeyCode.KEY_1)[0], ...press(KeyCode.KEY_1)]);
});

// ---------------------------------------------------------------------------
// RemoteKeys with a fake clock

function fakeClock() {
  let now = 0;
  let nextId = 1;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
    setTimer: (fn: () => void, ms: number): unknown => {
      const id = nextId++;
      timers.set(id, { at: now + ms, fn });
      return id;
    },
    clearTimer: (h: unknown): void => {
      timers.delete(h as number);
    },
    /** Moves time on, firing due timers in order (at their due time). */
    advance(ms: number): void {
      const until = now + ms;
      for (;;) {
        let due: [number, { at: number; fn: () => void }] | null = null;
        for (const e of timers) if (e[1].at <= until && (due === null || e[1].at < due[1].at)) due = e;
        if (due === null) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].fn();
      }
      now = until;
    },
    /** Moves time on without firing timers: a stalled event loop. */
    stall(ms: number): void {
      now += ms;
    },
    get pending(): number {
      return timers.size;
    },
  };
}

function keys(digitTimeoutMs = 2000) {
  const clock = fakeClock();
  const cmds: RemoteCommand[] = [];
  const rk = new RemoteKeys({ digitTimeoutMs, onCommand: (c) => cmds.push(c), now: clock.now, setTimer: clock.setTimer, clearTimer: clock.clearTimer });
  const tapKey = (code: number): void => {
    rk.key(code, KeyValue.PRESS);
    rk.key(code, KeyValue.RELEASE);
  };
  return { clock, cmds, rk, tapKey };
}

t.test('"1", "2", then the digit timeout commits channel 12', async (t) => {
  const { clock, cmds, tapKey } = keys(2000);
  tapKey(KeyCode.KEY_1);
  clock.advance(1500);
  tapKey(KeyCode.KEY_2);
  clock.advance(1999);
  t.same(cmds, [], 'the timeout restarts with each digit');
  clock.advance(1);
  t.same(cmds, [{ kind: 'number', channel: 12 }]);
  t.equal(clock.pending, 0);
  clock.advance(10_000);
  t.equal(cmds.length, 1, 'committed once');
});

t.test('"1", "0", "1", then KEY_ENTER commits 101 at once', async (t) => {
  const { clock, cmds, tapKey } = keys();
  tapKey(KeyCode.KEY_1);
  tapKey(KeyCode.KEY_0);
  tapKey(KeyCode.KEY_1);
  tapKey(KeyCode.KEY_ENTER);
  t.same(cmds, [{ kind: 'number', channel: 101 }]);
  t.equal(clock.pending, 0, 'the digit timer is cleared');
  clock.advance(5000);
  t.equal(cmds.length, 1);
});

t.test('KEY_OK and KEY_KPENTER commit too; ENTER with no digits does nothing', async (t) => {
  const { cmds, tapKey } = keys();
  tapKey(KeyCode.KEY_ENTER);
  tapKey(KeyCode.KEY_7);
  tapKey(KeyCode.KEY_OK);
  tapKey(KeyCode.KEY_8);
  tapKey(KeyCode.KEY_KPENTER);
  t.same(cmds, [
    { kind: 'number', channel: 7 },
    { kind: 'number', channel: 8 },
  ]);
});

t.test('the 4th digit commits at once, and the next digit starts a new number', async (t) => {
  const { clock, cmds, rk, tapKey } = keys();
  for (const k of [KeyCode.KEY_1, KeyCode.KEY_2, KeyCode.KEY_3]) tapKey(k);
  t.same(cmds, []);
  tapKey(KeyCode.KEY_4);
  t.same(cmds, [{ kind: 'number', channel: 1234 }]);
  t.equal(clock.pending, 0);
  tapKey(KeyCode.KEY_5);
  t.equal(rk.pendingDigits, 1);
  clock.advance(2000);
  t.same(cmds.at(-1), { kind: 'number', channel: 5 });
});

t.test('an entry of zeros only is ignored; leading zeros are dropped', async (t) => {
  const { clock, cmds, tapKey } = keys();
  tapKey(KeyCode.KEY_0);
  clock.advance(2000);
  tapKey(KeyCode.KEY_0);
  tapKey(KeyCode.KEY_0);
  tapKey(KeyCode.KEY_ENTER);
  t.same(cmds, [], '"0" and "00" are not channels');
  tapKey(KeyCode.KEY_0);
  tapKey(KeyCode.KEY_0);
  tapKey(KeyCode.KEY_7);
  tapKey(KeyCode.KEY_ENTER);
  t.same(cmds, [{ kind: 'number', channel: 7 }]);
});

t.test('CHANNELUP, CHANNELDOWN and LAST on press', async (t) => {
  const { cmds, tapKey } = keys();
  tapKey(KeyCode.KEY_CHANNELUP);
  tapKey(KeyCode.KEY_CHANNELDOWN);
  tapKey(KeyCode.KEY_LAST);
  t.same(cmds, [{ kind: 'up' }, { kind: 'down' }, { kind: 'last' }]);
});

t.test('holding CHANNELUP zaps on: every autorepeat is another up; LAST does not repeat', async (t) => {
  const { cmds, rk } = keys();
  rk.key(KeyCode.KEY_CHANNELUP, KeyValue.PRESS);
  for (let i = 0; i < 3; i++) rk.key(KeyCode.KEY_CHANNELUP, KeyValue.AUTOREPEAT);
  rk.key(KeyCode.KEY_CHANNELUP, KeyValue.RELEASE);
  rk.key(KeyCode.KEY_CHANNELDOWN, KeyValue.PRESS);
  rk.key(KeyCode.KEY_CHANNELDOWN, KeyValue.AUTOREPEAT);
  rk.key(KeyCode.KEY_LAST, KeyValue.PRESS);
  rk.key(KeyCode.KEY_LAST, KeyValue.AUTOREPEAT);
  rk.key(KeyCode.KEY_LAST, KeyValue.AUTOREPEAT);
  t.same(cmds, [{ kind: 'up' }, { kind: 'up' }, { kind: 'up' }, { kind: 'up' }, { kind: 'down' }, { kind: 'down' }, { kind: 'last' }]);
});

t.test('holding a digit is one digit: autorepeat of digits and ENTER is ignored', async (t) => {
  const { cmds, rk } = keys();
  rk.key(KeyCode.KEY_3, KeyValue.PRESS);
  for (let i = 0; i < 5; i++) rk.key(KeyCode.KEY_3, KeyValue.AUTOREPEAT);
  t.equal(rk.pendingDigits, 1);
  rk.key(KeyCode.KEY_ENTER, KeyValue.AUTOREPEAT);
  t.same(cmds, []);
  rk.key(KeyCode.KEY_ENTER, KeyValue.PRESS);
  t.same(cmds, [{ kind: 'number', channel: 3 }]);
});

t.test('digits on the numeric keypad: KP0..KP9 are 0..9', async (t) => {
  const kp = [KeyCode.KEY_KP0, KeyCode.KEY_KP1, KeyCode.KEY_KP2, KeyCode.KEY_KP3, KeyCode.KEY_KP4, KeyCode.KEY_KP5, KeyCode.KEY_KP6, KeyCode.KEY_KP7, KeyCode.KEY_KP8, KeyCode.KEY_KP9];
  t.same(kp, [82, 79, 80, 81, 75, 76, 77, 71, 72, 73], 'linux/input-event-codes.h');
  const { cmds, tapKey } = keys();
  for (let d = 1; d <= 9; d++) {
    tapKey(kp[d]);
    tapKey(kp[0]);
    tapKey(KeyCode.KEY_KPENTER);
  }
  t.same(cmds.map((c) => (c.kind === 'number' ? c.channel : c.kind)), [10, 20, 30, 40, 50, 60, 70, 80, 90]);
  const main = keys();
  for (const k of [KeyCode.KEY_9, KeyCode.KEY_8, KeyCode.KEY_7, KeyCode.KEY_6]) main.tapKey(k);
  for (const k of [KeyCode.KEY_5, KeyCode.KEY_4, KeyCode.KEY_3, KeyCode.KEY_2]) main.tapKey(k);
  t.same(main.cmds, [{ kind: 'number', channel: 9876 }, { kind: 'number', channel: 5432 }]);
});

t.test('key releases and unknown keys are ignored', async (t) => {
  const { clock, cmds, rk } = keys();
  for (const code of [KeyCode.KEY_CHANNELUP, KeyCode.KEY_CHANNELDOWN, KeyCode.KEY_LAST, KeyCode.KEY_1, KeyCode.KEY_KP5, KeyCode.KEY_ENTER]) {
    rk.key(code, KeyValue.RELEASE);
  }
  rk.key(114, KeyValue.PRESS); // KEY_VOLUMEDOWN
  rk.key(KeyCode.KEY_CHANNELUP, 3); // not an EV_KEY value
  clock.advance(10_000);
  t.same(cmds, []);
  t.equal(rk.pendingDigits, 0);
});

t.test('up, down or last while digits are pending drop the entry', async (t) => {
  const { clock, cmds, tapKey } = keys();
  tapKey(KeyCode.KEY_4);
  tapKey(KeyCode.KEY_CHANNELUP);
  t.equal(clock.pending, 0);
  clock.advance(5000);
  tapKey(KeyCode.KEY_5);
  tapKey(KeyCode.KEY_LAST);
  tapKey(KeyCode.KEY_ENTER);
  t.same(cmds, [{ kind: 'up' }, { kind: 'last' }]);
});

t.test('a digit after a stall longer than the timeout starts a new number even if the timer is late', async (t) => {
  const { clock, cmds, tapKey } = keys(2000);
  tapKey(KeyCode.KEY_1);
  clock.stall(2500); // the timer has not run yet
  tapKey(KeyCode.KEY_2);
  t.same(cmds, [{ kind: 'number', channel: 1 }]);
  clock.advance(2000);
  t.same(cmds, [{ kind: 'number', channel: 1 }, { kind: 'number', channel: 2 }]);
});

t.test('a non-positive digit timeout is a configuration error', async (t) => {
  t.throws(() => new RemoteKeys({ digitTimeoutMs: 0, onCommand: () => {} }), ConfigError);
  t.throws(() => new RemoteKeys({ digitTimeoutMs: NaN, onCommand: () => {} }), ConfigError);
});

t.test('the default timers commit after the real timeout', async (t) => {
  const cmds: RemoteCommand[] = [];
  const rk = new RemoteKeys({ digitTimeoutMs: 30, onCommand: (c) => cmds.push(c) });
  rk.key(KeyCode.KEY_6, 1);
  await sleep(100);
  t.same(cmds, [{ kind: 'number', channel: 6 }]);
});

// ---------------------------------------------------------------------------
// openRemote on a FIFO and on paths that fail

/** Polls until `cond` holds; fails after `ms` (≤ 5 s). */
async function waitFor(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + Math.min(ms, 5000);
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Rejects when `p` takes longer than `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function tmpDir(t: Teardown): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'roomcast-remote-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function makeFifo(t: Teardown): string {
  const fifo = path.join(tmpDir(t), 'event0');
  execFileSync('mkfifo', [fifo]);
  return fifo;
}

/** Writes `bytes` in small pieces, so that reads see records split across chunks. */
async function writeInPieces(fh: fs.promises.FileHandle, bytes: Buffer, piece = 7): Promise<void> {
  for (let i = 0; i < bytes.length; i += piece) {
    await fh.write(bytes.subarray(i, Math.min(i + piece, bytes.length)));
    await sleep(1);
  }
}

t.test('reads commands from a FIFO: CHANNELUP, then 4, 2, KEY_ENTER gives up and 42', async (t) => {
  const fifo = makeFifo(t);
  const cmds: RemoteCommand[] = [];
  const logs: string[] = [];
  const remote = openRemote({ device: fifo, digitTimeoutMs: 4000, onCommand: (c) => cmds.push(c), log: (l, m) => logs.push(`${l}: ${m}`) });
  // Opening the writer completes when the reader has opened too (fifo(7)).
  const fh = await within(fs.promises.open(fifo, 'w'), 5000, 'the FIFO writer open');
  try {
    const evs: Ev[] = [
      [EV_MSC, 4, 0x1e20], // rc-core sends the scancode first
      ...pressRelease(KeyCode.KEY_CHANNELUP),
      ...pressRelease(KeyCode.KEY_4),
      ...pressRelease(KeyCode.KEY_2),
      ...press(KeyCode.KEY_ENTER),
    ];
    await writeInPieces(fh, encode(evs, INPUT_EVENT_SIZE_NATIVE));
    await waitFor(() => cmds.length >= 2, 'two commands');
    t.same(cmds, [{ kind: 'up' }, { kind: 'number', channel: 42 }]);
    t.same(remote.counters, { events: evs.length, keys: 7, commands: 2, partialBytes: 0, errors: 0, opens: 1 });
    t.same(logs, [`info: remote control ${fifo}: opened`]);
  } finally {
    remote.close();
    await fh.close(); // ends the read still pending in the threadpool
  }
  await sleep(50);
  t.equal(remote.counters.errors, 0, 'the end of stream after close() is not a failure');
});

t.test('when the writer goes away mid-record, logs it once, reopens, and carries on', async (t) => {
  const fifo = makeFifo(t);
  const cmds: RemoteCommand[] = [];
  const logs: string[] = [];
  const remote = openRemote({ device: fifo, digitTimeoutMs: 4000, retryMs: 50, onCommand: (c) => cmds.push(c), log: (l, m) => logs.push(`${l}: ${m}`) });
  let fh = await within(fs.promises.open(fifo, 'w'), 5000, 'the first writer open');
  try {
    const up = encode(press(KeyCode.KEY_CHANNELUP), INPUT_EVENT_SIZE_NATIVE);
    await fh.write(Buffer.concat([up, up.subarray(0, 10)]));
    await waitFor(() => cmds.length === 1, 'up');
    await fh.close();
    await waitFor(() => logs.some((l) => l.startsWith('warn')), 'the end-of-stream warning');
    t.match(logs.find((l) => l.startsWith('warn')), `warn: remote control ${fifo}: end of stream (device removed?) (10 bytes of an incomplete event dropped); retrying every 50 ms`);
    fh = await within(fs.promises.open(fifo, 'w'), 5000, 'the second writer open');
    await fh.write(encode(press(KeyCode.KEY_CHANNELDOWN), INPUT_EVENT_SIZE_NATIVE));
    await waitFor(() => cmds.length === 2, 'down');
    t.same(cmds, [{ kind: 'up' }, { kind: 'down' }]);
    t.equal(remote.counters.opens, 2);
    t.equal(remote.counters.errors, 1);
    t.equal(remote.counters.partialBytes, 10);
    t.equal(logs.filter((l) => l.endsWith(': opened')).length, 2);
  } finally {
    remote.close();
    await fh.close();
  }
});

t.test('an exception from onCommand is counted and logged, and reading goes on', async (t) => {
  const fifo = makeFifo(t);
  const cmds: RemoteCommand[] = [];
  const logs: string[] = [];
  const remote = openRemote({
    device: fifo,
    digitTimeoutMs: 4000,
    onCommand: (c) => {
      cmds.push(c);
      if (c.kind === 'up') throw new Error('tuner busy');
    },
    log: (l, m) => logs.push(`${l}: ${m}`),
  });
  const fh = await within(fs.promises.open(fifo, 'w'), 5000, 'the FIFO writer open');
  try {
    await fh.write(encode([...pressRelease(KeyCode.KEY_CHANNELUP), ...pressRelease(KeyCode.KEY_LAST)], INPUT_EVENT_SIZE_NATIVE));
    await waitFor(() => cmds.length === 2, 'two commands');
    t.same(cmds, [{ kind: 'up' }, { kind: 'last' }]);
    t.equal(remote.counters.errors, 1);
    t.equal(remote.counters.opens, 1, 'the device was not reopened');
    t.ok(logs.includes(`warn: remote control ${fifo}: command handler failed on up: tuner busy`));
  } finally {
    remote.close();
    await fh.close();
  }
});

t.test('a missing device logs ENOENT once, retries without throwing, and close() stops the retries', async (t) => {
  const device = path.join(tmpDir(t), 'event9');
  const logs: string[] = [];
  const remote = openRemote({ device, digitTimeoutMs: 2000, retryMs: 40, onCommand: () => t.fail('no command'), log: (l, m) => logs.push(`${l}: ${m}`) });
  await waitFor(() => remote.counters.errors >= 4, 'four failed opens');
  t.same(logs, [`warn: remote control ${device}: ENOENT on open; retrying every 40 ms`], 'one line for the repeated failure');
  remote.close();
  const errors = remote.counters.errors;
  await sleep(200);
  t.equal(remote.counters.errors, errors, 'no attempt after close()');
  t.equal(remote.counters.opens, 0);
});

t.test('retries every 2 s by default, and opens the device once it appears', async (t) => {
  const device = path.join(tmpDir(t), 'event1');
  const logs: string[] = [];
  const cmds: RemoteCommand[] = [];
  const remote = openRemote({ device, digitTimeoutMs: 2000, onCommand: (c) => cmds.push(c), log: (l, m) => logs.push(`${l}: ${m}`) });
  t.teardown(() => remote.close());
  await waitFor(() => remote.counters.errors === 1, 'the first failure');
  const failedAt = Date.now();
  fs.writeFileSync(device, encode(press(KeyCode.KEY_LAST), INPUT_EVENT_SIZE_NATIVE)); // a plain file: data, then end of stream
  await waitFor(() => cmds.length === 1, 'the retry to read the device', 4000);
  const waited = Date.now() - failedAt;
  t.ok(waited >= 1800 && waited < 3000, `reopened after ${waited} ms`);
  t.same(cmds, [{ kind: 'last' }]);
  t.same(logs.slice(0, 2), [`warn: remote control ${device}: ENOENT on open; retrying every 2000 ms`, `info: remote control ${device}: opened`]);
});

t.test('a read error names the errno once, though every retry opens and fails (EISDIR: a directory as the device)', async (t) => {
  const device = tmpDir(t);
  const logs: string[] = [];
  const remote = openRemote({ device, digitTimeoutMs: 2000, retryMs: 40, onCommand: () => {}, log: (l, m) => logs.push(`${l}: ${m}`) });
  await waitFor(() => remote.counters.errors >= 3, 'three failed reads');
  remote.close();
  t.same(logs, [`info: remote control ${device}: opened`, `warn: remote control ${device}: EISDIR on read; retrying every 40 ms`], 'one failure, logged once');
});

t.test('an unreadable device logs EACCES', { skip: process.getuid?.() === 0 ? 'root can read a mode-000 file' : false }, async (t) => {
  const device = path.join(tmpDir(t), 'event2');
  fs.writeFileSync(device, '');
  fs.chmodSync(device, 0o000);
  const logs: string[] = [];
  const remote = openRemote({ device, digitTimeoutMs: 2000, retryMs: 40, onCommand: () => {}, log: (l, m) => logs.push(`${l}: ${m}`) });
  await waitFor(() => remote.counters.errors >= 1, 'a failed open');
  remote.close();
  t.same(logs, [`warn: remote control ${device}: EACCES on open; retrying every 40 ms`]);
});

t.test('aborting the signal stops the retries; an aborted signal never opens', async (t) => {
  const device = path.join(tmpDir(t), 'event3');
  const ac = new AbortController();
  const remote = openRemote({ device, digitTimeoutMs: 2000, retryMs: 40, onCommand: () => {}, signal: ac.signal });
  await waitFor(() => remote.counters.errors >= 2, 'two failed opens');
  ac.abort();
  const errors = remote.counters.errors;
  await sleep(150);
  t.equal(remote.counters.errors, errors);
  const never = openRemote({ device, digitTimeoutMs: 2000, retryMs: 40, onCommand: () => {}, signal: AbortSignal.abort() });
  await sleep(100);
  t.same(never.counters, { events: 0, keys: 0, commands: 0, partialBytes: 0, errors: 0, opens: 0 });
  never.close();
});

t.test('invalid options are one configuration error listing every problem', async (t) => {
  const err = t.throws(() => openRemote({ device: '', digitTimeoutMs: -1, retryMs: 0, recordSize: 20 as InputEventSize, onCommand: () => {} })) as ConfigError;
  t.type(err, ConfigError);
  t.equal(err.problems.length, 4);
  t.match(err.problems.join('\n'), /remote\.device[\s\S]*remote\.digitTimeoutMs[\s\S]*remote\.retryMs[\s\S]*remote\.recordSize/);
});
