import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { Supervisor } from '../../../../headend/dataplane/supervisor.js';

function supervisor(run: (signal: AbortSignal) => Promise<void>, events: string[] = []) {
  return new Supervisor(run, {
    minBackoffMs: 20,
    maxBackoffMs: 80,
    healthyAfterMs: 150,
    now: () => performance.now(),
    onEvent: (level, msg) => events.push(`${level}: ${msg}`),
  });
}

t.test('restarts a failing source with doubling backoff up to the maximum, recording why', async (t) => {
  const starts: number[] = [];
  const events: string[] = [];
  const sup = supervisor(async () => {
    starts.push(performance.now());
    throw new Error('connection refused');
  }, events);
  sup.start();
  await sleep(400);
  await sup.stop();
  const gaps = starts.slice(1).map((s, i) => s - starts[i]);
  t.ok(gaps.length >= 4, `${starts.length} attempts`);
  t.ok(gaps[0] >= 18 && gaps[0] < 60, `first retry after ${gaps[0].toFixed(0)} ms`);
  t.ok(gaps[1] >= 38, `second after ${gaps[1].toFixed(0)} ms`);
  t.ok(gaps.every((g) => g < 80 + 40), 'never more than the maximum');
  t.equal(sup.lastError, 'connection refused');
  t.match(events.find((e) => e.startsWith('warn')), /^warn: input failed after 0\.0 s: connection refused; restarting in 20 ms$/);
  t.equal(sup.state, 'stopped');
});

t.test('fail(reason) ends a live attempt and that reason is what is recorded', async (t) => {
  let attempts = 0;
  const sup = supervisor(
    (signal) =>
      new Promise<void>((resolve) => {
        attempts++;
        signal.addEventListener('abort', () => resolve());
      }),
  );
  sup.start();
  await sleep(30);
  sup.fail('stalled: no data for 3000 ms');
  await sleep(60);
  t.equal(sup.lastError, 'stalled: no data for 3000 ms');
  t.equal(sup.restarts, 1);
  t.equal(attempts, 2, 'a new attempt is running');
  await sup.stop();
  t.equal(attempts, 2, 'stop() does not start another');
});

t.test('a run that stayed healthy resets the backoff', async (t) => {
  const starts: number[] = [];
  let n = 0;
  const sup = supervisor(async () => {
    starts.push(performance.now());
    n++;
    if (n === 3) await sleep(200); // healthy for longer than healthyAfterMs
  });
  sup.start();
  await sleep(450);
  await sup.stop();
  // attempts 1, 2 fail fast (backoff 20, 40); 3 runs 200 ms then fails → backoff back to 20.
  const afterHealthy = starts[3] - starts[2] - 200;
  t.ok(afterHealthy < 35, `retry ${afterHealthy.toFixed(0)} ms after the healthy run ended`);
});
