/**
 * Recent events of each channel for the admin UI's channel page: state
 * changes, input restarts, switches between inputs and new errors, read off
 * the data plane's once-a-second snapshots (the packet path reports
 * counters; what changed between two of them is an event). Kept in memory,
 * the last `perChannel` of each channel: the log has the full history.
 */
import type { ChannelSnapshot } from '../dataplane/messages.js';

export type ChannelEventKind = 'state' | 'restart' | 'switch' | 'error';

export interface ChannelEvent {
  atMs: number;
  kind: ChannelEventKind;
  message: string;
}

interface Seen {
  state: ChannelSnapshot['state'];
  restarts: number;
  switches: number;
  lastError: string | null;
  events: ChannelEvent[];
}

export class ChannelEvents {
  private readonly seen = new Map<number, Seen>();

  constructor(private readonly perChannel = 50) {}

  observe(s: ChannelSnapshot, nowMs: number): void {
    const prev = this.seen.get(s.number);
    if (!prev) {
      this.seen.set(s.number, {
        state: s.state,
        restarts: s.input.restarts,
        switches: s.switches,
        lastError: s.input.lastError,
        events: [{ atMs: nowMs, kind: 'state', message: `started: ${s.state}` }],
      });
      return;
    }
    const add = (kind: ChannelEventKind, message: string): void => this.push(prev, { atMs: nowMs, kind, message });
    if (s.switches > prev.switches && s.lastSwitch) {
      const w = s.lastSwitch;
      add('switch', `${w.from} → ${w.to}: ${w.reason}${w.atRandomAccess ? '' : ' (not at an I-frame)'}`);
    }
    if (s.input.restarts > prev.restarts) {
      const n = s.input.restarts - prev.restarts;
      add('restart', `input restarted${n > 1 ? ` ${n} times` : ''}${s.input.lastError ? `: ${s.input.lastError}` : ''}`);
    } else if (s.input.lastError && s.input.lastError !== prev.lastError) {
      add('error', s.input.lastError);
    }
    if (s.state !== prev.state) add('state', `${prev.state} → ${s.state}`);
    prev.state = s.state;
    prev.restarts = s.input.restarts;
    prev.switches = s.switches;
    prev.lastError = s.input.lastError;
  }

  private push(seen: Seen, e: ChannelEvent): void {
    seen.events.push(e);
    if (seen.events.length > this.perChannel) seen.events.splice(0, seen.events.length - this.perChannel);
  }

  /** Newest first. */
  list(number: number): ChannelEvent[] {
    return [...(this.seen.get(number)?.events ?? [])].reverse();
  }

  /** The channel was restarted by a lineup change: its counters start again. */
  restarted(number: number, why: string, nowMs: number): void {
    const prev = this.seen.get(number);
    if (!prev) return;
    this.push(prev, { atMs: nowMs, kind: 'restart', message: why });
    // The next snapshot is the new pipeline's: compare with zeroes.
    prev.restarts = 0;
    prev.switches = 0;
    prev.lastError = null;
    prev.state = 'starting';
  }
}
