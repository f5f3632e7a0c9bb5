/**
 * The STB agent's optional remote-control input: a Linux evdev input device
 * (`/dev/input/event*`, e.g. an IR receiver handled by rc-core, or a USB RF
 * remote) read as a stream of `struct input_event` records.
 *
 * Three layers (STYLE.md §2):
 *   - {@link parseInputEvents} / {@link InputEventDecoder}: bytes → (type, code, value);
 *   - {@link RemoteKeys}: EV_KEY events → zapping commands (pure: time and
 *     timers are injected);
 *   - {@link openRemote}: the device adapter, which reopens the device every
 *     2 s while it is missing, unreadable or unplugged.
 *
 * The kernel side (Documentation/input/input.rst §"Event interface"): a
 * read() returns whole events only (evdev_read() fails with EINVAL when the
 * buffer is smaller than one event), so a partial record is only ever seen
 * from a pipe — which is what the tests use in place of a device.
 */
import fs from 'node:fs';
import { ConfigError } from '../core/lineup/config.js';

// ---------------------------------------------------------------------------
// struct input_event (linux/input.h)
//
//   struct input_event {
//     struct timeval time;   // tv_sec, tv_usec: `long` each (__kernel_ulong_t
//                            // with a 64-bit time_t on 32-bit userspace)
//     __u16 type;            // EV_*
//     __u16 code;            // KEY_*, REL_*, …
//     __s32 value;           // EV_KEY: 0 release, 1 press, 2 autorepeat
//   };
//
//   64-bit (x86_64, aarch64):  0 tv_sec i64 | 8 tv_usec i64 | 16 type | 18 code | 20 value   = 24 bytes
//   32-bit (armhf, i386):      0 tv_sec i32 | 4 tv_usec i32 |  8 type | 10 code | 12 value   = 16 bytes
//
// Host byte order; every architecture we ship on (x86_64, aarch64, armhf,
// i386) is little-endian. The timestamp is not decoded: commands take effect
// when they are read, and RemoteKeys measures its own time.

/** Size of `struct input_event` with a 64-bit `long` (LP64). */
export const INPUT_EVENT_SIZE_64 = 24;
/** Size of `struct input_event` with a 32-bit `long` (ILP32). */
export const INPUT_EVENT_SIZE_32 = 16;
export type InputEventSize = typeof INPUT_EVENT_SIZE_64 | typeof INPUT_EVENT_SIZE_32;

/** `process.arch` values whose `long` is 32 bits; every other Node.js target is LP64. */
const ARCH_32 = new Set(['arm', 'ia32', 'mips', 'mipsel', 'ppc', 's390', 'x32']);
/** The record size of this host's kernel ABI. */
export const INPUT_EVENT_SIZE_NATIVE: InputEventSize = ARCH_32.has(process.arch) ? INPUT_EVENT_SIZE_32 : INPUT_EVENT_SIZE_64;

/** Offsets from the end of the record, the same for both layouts (the timeval is what differs). */
const TYPE_FROM_END = 8;
const CODE_FROM_END = 6;
const VALUE_FROM_END = 4;

/** Event types, linux/input-event-codes.h. */
export const EventType = {
  EV_SYN: 0x00,
  EV_KEY: 0x01,
  EV_REL: 0x02,
  EV_MSC: 0x04,
} as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

/** EV_KEY values, Documentation/input/input.rst §"EV_KEY". */
export const KeyValue = {
  RELEASE: 0,
  PRESS: 1,
  AUTOREPEAT: 2,
} as const;
export type KeyValue = (typeof KeyValue)[keyof typeof KeyValue];

/** The key codes the interpreter knows, linux/input-event-codes.h. */
export const KeyCode = {
  KEY_1: 2,
  KEY_2: 3,
  KEY_3: 4,
  KEY_4: 5,
  KEY_5: 6,
  KEY_6: 7,
  KEY_7: 8,
  KEY_8: 9,
  KEY_9: 10,
  KEY_0: 11,
  KEY_ENTER: 28,
  KEY_KP7: 71,
  KEY_KP8: 72,
  KEY_KP9: 73,
  KEY_KP4: 75,
  KEY_KP5: 76,
  KEY_KP6: 77,
  KEY_KP1: 79,
  KEY_KP2: 80,
  KEY_KP3: 81,
  KEY_KP0: 82,
  KEY_KPENTER: 96,
  KEY_OK: 0x160,
  /** "Channel Increment" */
  KEY_CHANNELUP: 0x192,
  /** "Channel Decrement" */
  KEY_CHANNELDOWN: 0x193,
  /** "Recall Last" */
  KEY_LAST: 0x195,
} as const;
export type KeyCode = (typeof KeyCode)[keyof typeof KeyCode];

/** Digit keys of the main block and the numeric keypad → digit. */
const DIGIT_OF_KEY: ReadonlyMap<number, number> = new Map([
  [KeyCode.KEY_0, 0], [KeyCode.KEY_1, 1], [KeyCode.KEY_2, 2], [KeyCode.KEY_3, 3], [KeyCode.KEY_4, 4],
  [KeyCode.KEY_5, 5], [KeyCode.KEY_6, 6], [KeyCode.KEY_7, 7], [KeyCode.KEY_8, 8], [KeyCode.KEY_9, 9],
  [KeyCode.KEY_KP0, 0], [KeyCode.KEY_KP1, 1], [KeyCode.KEY_KP2, 2], [KeyCode.KEY_KP3, 3], [KeyCode.KEY_KP4, 4],
  [KeyCode.KEY_KP5, 5], [KeyCode.KEY_KP6, 6], [KeyCode.KEY_KP7, 7], [KeyCode.KEY_KP8, 8], [KeyCode.KEY_KP9, 9],
]);

/**
 * Decodes whole `struct input_event` records from `buf[off, off + len)` and
 * calls `out` for each, in order. Returns the bytes consumed: a multiple of
 * `recordSize`; a partial record at the end is left for the caller to carry
 * into the next call (see {@link InputEventDecoder}).
 *
 * `buf` is borrowed. `out` must not throw (it would leave the records after
 * the one that threw undelivered and uncounted).
 */
export function parseInputEvents(
  buf: Buffer,
  off: number,
  len: number,
  out: (type: number, code: number, value: number) => void,
  recordSize: InputEventSize = INPUT_EVENT_SIZE_NATIVE,
): number {
  if (recordSize !== INPUT_EVENT_SIZE_64 && recordSize !== INPUT_EVENT_SIZE_32) {
    throw new RangeError(`input_event record size must be 24 or 16 bytes, not ${recordSize}`);
  }
  if (!(off >= 0 && len >= 0 && off + len <= buf.length)) {
    throw new RangeError(`input_event range [${off}, ${off + len}) is outside the ${buf.length}-byte buffer`);
  }
  const used = len - (len % recordSize); // whole records only
  const end = off + used;
  for (let p = off + recordSize; p <= end; p += recordSize) {
    out(buf.readUInt16LE(p - TYPE_FROM_END), buf.readUInt16LE(p - CODE_FROM_END), buf.readInt32LE(p - VALUE_FROM_END));
  }
  return used;
}

/**
 * Decodes a byte stream chunk by chunk: a record split across chunks is
 * carried in a record-sized buffer (at most one record is ever copied —
 * never the chunk). Bounded: holds at most `recordSize - 1` bytes.
 */
export class InputEventDecoder {
  readonly counters = {
    /** Records decoded. */
    events: 0,
    /** Bytes of incomplete records dropped by {@link reset} (a writer that stopped mid-record). */
    partialBytes: 0,
  };
  private readonly carry: Buffer;
  private carryLen = 0;
  private readonly count: (type: number, code: number, value: number) => void;

  constructor(
    out: (type: number, code: number, value: number) => void,
    readonly recordSize: InputEventSize = INPUT_EVENT_SIZE_NATIVE,
  ) {
    this.carry = Buffer.alloc(recordSize);
    this.count = (type, code, value) => {
      this.counters.events++;
      out(type, code, value);
    };
  }

  /** Decodes `chunk` (borrowed), after what was carried from the previous one. */
  write(chunk: Buffer): void {
    let off = 0;
    if (this.carryLen > 0) {
      off = Math.min(this.recordSize - this.carryLen, chunk.length);
      chunk.copy(this.carry, this.carryLen, 0, off);
      this.carryLen += off;
      if (this.carryLen < this.recordSize) return;
      this.carryLen = 0;
      parseInputEvents(this.carry, 0, this.recordSize, this.count, this.recordSize);
    }
    off += parseInputEvents(chunk, off, chunk.length - off, this.count, this.recordSize);
    if (off < chunk.length) this.carryLen = chunk.copy(this.carry, 0, off);
  }

  /** The stream ended: drops (and counts) an incomplete record. Returns the bytes dropped. */
  reset(): number {
    const dropped = this.carryLen;
    this.counters.partialBytes += dropped;
    this.carryLen = 0;
    return dropped;
  }
}

// ---------------------------------------------------------------------------
// Keys → commands

export type RemoteCommand = { kind: 'number'; channel: number } | { kind: 'up' } | { kind: 'down' } | { kind: 'last' };

export interface RemoteKeysOptions {
  /** A channel number is committed this long after its last digit (typical remotes: 1500–3000 ms). */
  digitTimeoutMs: number;
  /** Called synchronously from {@link RemoteKeys.key} or from the digit timer. */
  onCommand: (cmd: RemoteCommand) => void;
  /** Monotonic milliseconds. Default `performance.now`. */
  now?: () => number;
  /** Default `setTimeout`. */
  setTimer?: (fn: () => void, ms: number) => unknown;
  /** Default `clearTimeout`. */
  clearTimer?: (handle: unknown) => void;
}

/** Channel numbers have at most 4 digits: the 4th commits at once. */
export const MAX_CHANNEL_DIGITS = 4;

/**
 * Turns EV_KEY events into zapping commands:
 *   - KEY_CHANNELUP / KEY_CHANNELDOWN → up / down, on press and on every
 *     autorepeat (holding the key zaps on, as on a TV);
 *   - KEY_LAST → last, on press only;
 *   - digits (main block or keypad) build a number of up to 4 digits,
 *     committed `digitTimeoutMs` after the last digit, at once on
 *     KEY_ENTER / KEY_OK / KEY_KPENTER, or at once with the 4th digit.
 *     An entry of zeros only ("0", "00") is dropped: there is no channel 0.
 *     Autorepeat of a digit is ignored (holding "1" is not "1111").
 *   - up / down / last while digits are pending drop the entry: the viewer
 *     changed their mind, and zapping from a half-typed number would land
 *     on a channel they did not ask for.
 * Releases and all other keys are ignored.
 *
 * Pure: the caller filters type EV_KEY; time and the one timer are injected.
 */
export class RemoteKeys {
  private readonly digitTimeoutMs: number;
  private readonly onCommand: (cmd: RemoteCommand) => void;
  private readonly now: () => number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;
  private readonly onTimer = (): void => {
    this.timer = null;
    this.commit();
  };
  private timer: unknown = null;
  /** The number typed so far and how many digits it has ("007" is 7 with 3 digits). */
  private entry = 0;
  private digits = 0;
  private lastDigitAt = 0;

  constructor(opts: RemoteKeysOptions) {
    if (!(Number.isFinite(opts.digitTimeoutMs) && opts.digitTimeoutMs > 0)) {
      throw new ConfigError([`remote.digitTimeoutMs: ${opts.digitTimeoutMs} is not a positive number of milliseconds`]);
    }
    this.digitTimeoutMs = opts.digitTimeoutMs;
    this.onCommand = opts.onCommand;
    this.now = opts.now ?? (() => performance.now());
    this.setTimer = opts.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = opts.clearTimer ?? ((h) => clearTimeout(h as NodeJS.Timeout));
  }

  /** Digits typed and not yet committed. */
  get pendingDigits(): number {
    return this.digits;
  }

  /** One EV_KEY event: `code` KEY_*, `value` 0 release, 1 press, 2 autorepeat. */
  key(code: number, value: number): void {
    if (value !== KeyValue.PRESS && value !== KeyValue.AUTOREPEAT) return;
    const press = value === KeyValue.PRESS;
    switch (code) {
      case KeyCode.KEY_CHANNELUP:
        this.cancel();
        this.onCommand({ kind: 'up' });
        return;
      case KeyCode.KEY_CHANNELDOWN:
        this.cancel();
        this.onCommand({ kind: 'down' });
        return;
      case KeyCode.KEY_LAST:
        if (!press) return;
        this.cancel();
        this.onCommand({ kind: 'last' });
        return;
      case KeyCode.KEY_ENTER:
      case KeyCode.KEY_OK:
      case KeyCode.KEY_KPENTER:
        if (press) this.commit();
        return;
    }
    const digit = DIGIT_OF_KEY.get(code);
    if (digit === undefined || !press) return;
    const t = this.now();
    // The timer is late (a busy event loop, or events read in one batch after
    // a stall): a digit that comes after the timeout starts a new number.
    if (this.digits > 0 && t - this.lastDigitAt >= this.digitTimeoutMs) this.commit();
    this.entry = this.entry * 10 + digit;
    this.digits++;
    this.lastDigitAt = t;
    if (this.digits >= MAX_CHANNEL_DIGITS) {
      this.commit();
      return;
    }
    this.stopTimer();
    this.timer = this.setTimer(this.onTimer, this.digitTimeoutMs);
  }

  /** Drops a pending entry and its timer (also what an owner calls when it closes). */
  cancel(): void {
    this.stopTimer();
    this.entry = 0;
    this.digits = 0;
  }

  private commit(): void {
    const channel = this.entry;
    const digits = this.digits;
    this.cancel();
    if (digits > 0 && channel > 0) this.onCommand({ kind: 'number', channel });
  }

  private stopTimer(): void {
    if (this.timer !== null) {
      this.clearTimer(this.timer);
      this.timer = null;
    }
  }
}

// ---------------------------------------------------------------------------
// The device adapter

/** How long to wait before opening the device again after it failed or went away. */
export const REMOTE_RETRY_MS = 2000;

export interface OpenRemoteOptions {
  /** The evdev node, e.g. `/dev/input/event3` (better: a stable `/dev/input/by-id/…-event-ir` link). */
  device: string;
  /** See {@link RemoteKeysOptions.digitTimeoutMs}. */
  digitTimeoutMs: number;
  /** Exceptions it throws are counted and logged, never thrown into the stream. */
  onCommand: (cmd: RemoteCommand) => void;
  log?: (level: 'info' | 'warn', msg: string) => void;
  /** Aborting it is close(). */
  signal?: AbortSignal;
  /** Pause before reopening. Default {@link REMOTE_RETRY_MS}. */
  retryMs?: number;
  /** Record layout. Default: this host's ({@link INPUT_EVENT_SIZE_NATIVE}). */
  recordSize?: InputEventSize;
}

export interface RemoteCounters {
  /** input_event records decoded (all types: EV_SYN and EV_MSC too). */
  events: number;
  /** EV_KEY records (press, release and autorepeat). */
  keys: number;
  /** Commands delivered to onCommand. */
  commands: number;
  /** Bytes of incomplete records dropped when a stream ended mid-record. */
  partialBytes: number;
  /** Failed opens, read errors, ends of stream, and exceptions from onCommand. */
  errors: number;
  /** Successful opens. */
  opens: number;
}

export interface RemoteHandle {
  /** Stops reading and retrying; idempotent. A pending digit entry is dropped. */
  close(): void;
  readonly counters: RemoteCounters;
}

/** Node's errno-carrying errors (fs, libuv). */
function errnoOf(err: unknown): string {
  const e = err as NodeJS.ErrnoException | null;
  if (e && typeof e.code === 'string') return `${e.code}${e.syscall ? ` on ${e.syscall}` : ''}`;
  return err instanceof Error ? err.message : String(err);
}

/**
 * Reads remote-control keys from an evdev device and calls `onCommand` for
 * each zapping command. Never throws after start-up: when the device is
 * missing (ENOENT), not readable (EACCES: the agent's user is not in group
 * `input`), or goes away (ENODEV when unplugged, or end of stream), it logs
 * one line naming the device and the errno, then tries again every
 * `retryMs` until closed; the same failure repeated is not logged again.
 *
 * The device is read with `fs.createReadStream`, whose reads block in a
 * libuv threadpool thread until an event arrives: a remote occupies one of
 * the pool's threads (UV_THREADPOOL_SIZE, default 4) while it is open, and
 * after close() the descriptor is released when the pending read returns
 * (the next key press, or unplugging). The device is not grabbed
 * (EVIOCGRAB): a console or a desktop may see the same keys.
 *
 * Throws a ConfigError for invalid options.
 */
export function openRemote(opts: OpenRemoteOptions): RemoteHandle {
  const retryMs = opts.retryMs ?? REMOTE_RETRY_MS;
  const recordSize = opts.recordSize ?? INPUT_EVENT_SIZE_NATIVE;
  const problems: string[] = [];
  if (typeof opts.device !== 'string' || opts.device === '') problems.push(`remote.device: ${JSON.stringify(opts.device)} is not a device path`);
  if (!(Number.isFinite(opts.digitTimeoutMs) && opts.digitTimeoutMs > 0)) {
    problems.push(`remote.digitTimeoutMs: ${opts.digitTimeoutMs} is not a positive number of milliseconds`);
  }
  if (!(Number.isFinite(retryMs) && retryMs > 0)) problems.push(`remote.retryMs: ${retryMs} is not a positive number of milliseconds`);
  if (recordSize !== INPUT_EVENT_SIZE_64 && recordSize !== INPUT_EVENT_SIZE_32) {
    problems.push(`remote.recordSize: ${recordSize} is not 24 (64-bit) or 16 (32-bit)`);
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const { device, signal } = opts;
  const log = opts.log ?? (() => {});
  const counters: RemoteCounters = { events: 0, keys: 0, commands: 0, partialBytes: 0, errors: 0, opens: 0 };

  const keys = new RemoteKeys({
    digitTimeoutMs: opts.digitTimeoutMs,
    onCommand: (cmd) => {
      counters.commands++;
      try {
        opts.onCommand(cmd);
      } catch (err) {
        counters.errors++;
        log('warn', `remote control ${device}: command handler failed on ${cmd.kind}: ${err instanceof Error ? err.message : String(err)}`);
      }
    },
  });
  const decoder = new InputEventDecoder((type, code, value) => {
    counters.events++;
    if (type !== EventType.EV_KEY) return;
    counters.keys++;
    keys.key(code, value);
  }, recordSize);

  let closed = false;
  let stream: fs.ReadStream | null = null;
  let retryTimer: NodeJS.Timeout | null = null;
  /** The last failure logged; cleared once a stream delivers data, so the next failure is logged again. */
  let lastProblem: string | null = null;
  /**
   * The last stream opened and failed before delivering anything (a path that
   * opens but cannot be read, e.g. EISDIR): its reopenings are not logged, so
   * that the retry loop logs one line, not two every retryMs.
   */
  let quiet = false;
  /** The current stream opened / delivered data. */
  let opened = false;
  let delivered = false;

  const fail = (s: fs.ReadStream, problem: string): void => {
    if (s !== stream || closed) return; // a stream already given up on
    stream = null;
    s.destroy();
    counters.errors++;
    // A failed open means the device was away: its next open is news again.
    quiet = opened && !delivered;
    const dropped = decoder.reset();
    counters.partialBytes += dropped;
    keys.cancel();
    if (problem !== lastProblem) {
      lastProblem = problem;
      log('warn', `remote control ${device}: ${problem}${dropped > 0 ? ` (${dropped} bytes of an incomplete event dropped)` : ''}; retrying every ${retryMs} ms`);
    }
    retryTimer = setTimeout(attempt, retryMs);
  };

  const attempt = (): void => {
    retryTimer = null;
    if (closed) return;
    const s = fs.createReadStream(device, { highWaterMark: 4096 });
    stream = s;
    opened = false;
    delivered = false;
    s.on('open', () => {
      if (s !== stream || closed) return;
      counters.opens++;
      opened = true;
      if (!quiet) log('info', `remote control ${device}: opened`);
    });
    s.on('data', (chunk) => {
      if (s !== stream || closed) return;
      if (!delivered) {
        delivered = true;
        quiet = false;
        lastProblem = null;
      }
      try {
        decoder.write(chunk as Buffer);
      } catch (err) {
        // Not expected (parse errors are impossible, onCommand is guarded): keep the loop alive anyway.
        fail(s, `internal error: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
    s.on('error', (err) => fail(s, errnoOf(err)));
    s.on('end', () => fail(s, 'end of stream (device removed?)'));
  };

  const onAbort = (): void => handle.close();
  const handle: RemoteHandle = {
    counters,
    close(): void {
      if (closed) return;
      closed = true;
      signal?.removeEventListener('abort', onAbort);
      if (retryTimer !== null) clearTimeout(retryTimer);
      retryTimer = null;
      keys.cancel();
      stream?.destroy();
      stream = null;
    },
  };
  if (signal?.aborted) {
    closed = true;
    return handle;
  }
  signal?.addEventListener('abort', onAbort, { once: true });
  attempt();
  return handle;
}
