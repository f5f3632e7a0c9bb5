/**
 * Keeps one source running: each attempt is a `run(signal)` promise; when it
 * ends or fails, the supervisor waits (exponential backoff, reset after a run
 * that stayed healthy) and tries again, recording why. `fail(reason)` lets the
 * owner end an attempt that is alive but useless (stalled, sending garbage).
 */

export interface SupervisorOptions {
  /** First retry delay. Short: a crashed encoder should be back within ~1 s. */
  minBackoffMs: number;
  maxBackoffMs: number;
  /** An attempt that ran this long resets the backoff. */
  healthyAfterMs: number;
  now: () => number;
  onEvent: (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;
}

export const SupervisorState = {
  starting: 'starting',
  running: 'running',
  backoff: 'backoff',
  stopped: 'stopped',
} as const;
export type SupervisorState = (typeof SupervisorState)[keyof typeof SupervisorState];

export class Supervisor {
  state: SupervisorState = 'stopped';
  attempts = 0;
  restarts = 0;
  lastError: string | null = null;
  lastErrorAtMs = 0;
  attemptStartedAtMs = 0;
  private backoffMs: number;
  private attempt: AbortController | null = null;
  private failReason: string | null = null;
  private stopping = false;
  private loopDone: Promise<void> | null = null;
  private wake: (() => void) | null = null;

  constructor(private readonly run: (signal: AbortSignal) => Promise<void>, private readonly opts: SupervisorOptions) {
    this.backoffMs = opts.minBackoffMs;
  }

  start(): void {
    if (this.loopDone) return;
    this.stopping = false;
    this.loopDone = this.loop();
  }

  /** End the current attempt with this reason; it is restarted after backoff. */
  fail(reason: string): void {
    if (!this.attempt || this.attempt.signal.aborted) return;
    this.failReason = reason;
    this.attempt.abort();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.attempt?.abort();
    this.wake?.();
    await this.loopDone;
    this.loopDone = null;
    this.state = 'stopped';
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      this.attempt = new AbortController();
      this.failReason = null;
      this.state = 'running';
      this.attempts++;
      this.attemptStartedAtMs = this.opts.now();
      let error: string | null = null;
      try {
        await this.run(this.attempt.signal);
        error = this.failReason ?? (this.stopping ? null : 'input ended');
      } catch (err) {
        error = this.failReason ?? (err as Error).message;
        // A source's own failure is expected; anything else is a bug worth its stack.
        if (!(err instanceof Error && err.name === 'SourceError')) this.opts.onEvent('debug', `attempt threw: ${(err as Error).stack}`);
      }
      if (this.stopping) break;
      const ranMs = this.opts.now() - this.attemptStartedAtMs;
      if (ranMs >= this.opts.healthyAfterMs) this.backoffMs = this.opts.minBackoffMs;
      this.lastError = error;
      this.lastErrorAtMs = this.opts.now();
      this.restarts++;
      this.state = 'backoff';
      this.opts.onEvent('warn', `input failed after ${(ranMs / 1000).toFixed(1)} s: ${error}; restarting in ${this.backoffMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.backoffMs);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = null;
      this.backoffMs = Math.min(this.backoffMs * 2, this.opts.maxBackoffMs);
    }
    this.attempt = null;
  }
}
