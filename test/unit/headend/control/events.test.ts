/** Channel events (headend/control/events.ts) read off successive snapshots. */
import t from 'tap';
import { ChannelEvents } from '../../../../headend/control/events.js';
import { snapshot } from './fixtures.js';

t.test('state changes, restarts, switches and new errors become events, newest first, bounded', async (t) => {
  const ev = new ChannelEvents(5);
  const base = snapshot(7, 'Seven', 'ok', { switches: 0, input: { bytes: 0, packets: 0, syncLosses: 0, bytesSkipped: 0, restarts: 0, lastError: null, lastErrorAgoS: null, source: {} } });
  ev.observe(base, 1000);
  ev.observe(base, 2000);
  t.same(ev.list(7).map((e) => e.kind), ['state'], 'first sight: one event; an unchanged snapshot: none');
  ev.observe({ ...base, switches: 1, lastSwitch: { atMs: 0, from: 'primary', to: 'backup 1', reason: 'primary silent for 300 ms', tookMs: 12, atRandomAccess: true, queuedMs: 200, agoS: 0 } }, 3000);
  t.match(ev.list(7)[0], { atMs: 3000, kind: 'switch', message: 'primary → backup 1: primary silent for 300 ms' });
  ev.observe({ ...base, switches: 1, input: { ...base.input, restarts: 2, lastError: 'ffmpeg exited with code 1' } }, 4000);
  t.match(ev.list(7)[0], { kind: 'restart', message: 'input restarted 2 times: ffmpeg exited with code 1' });
  ev.observe({ ...base, state: 'slate', switches: 1, input: { ...base.input, restarts: 2, lastError: 'connection refused' } }, 5000);
  t.same(
    ev.list(7).slice(0, 2).map((e) => [e.kind, e.message]),
    [
      ['state', 'ok → slate'],
      ['error', 'connection refused'],
    ],
  );
  for (let i = 0; i < 10; i++) ev.observe({ ...base, state: i % 2 ? 'ok' : 'slate', switches: 1, input: { ...base.input, restarts: 2, lastError: 'connection refused' } }, 6000 + i);
  t.equal(ev.list(7).length, 5, 'at most perChannel kept');
  t.same(ev.list(8), [], 'an unknown channel has none');
});

t.test('a restart by a lineup change is an event, and the new pipeline counts from zero', async (t) => {
  const ev = new ChannelEvents();
  ev.observe(snapshot(2, 'Two', 'ok', { switches: 4 }), 1000);
  ev.restarted(2, 'restarted by a lineup change', 2000);
  ev.observe(snapshot(2, 'Two', 'starting', { switches: 0, input: { bytes: 0, packets: 0, syncLosses: 0, bytesSkipped: 0, restarts: 0, lastError: null, lastErrorAgoS: null, source: {} } }), 3000);
  t.same(
    ev.list(2).map((e) => e.message),
    ['restarted by a lineup change', 'started: ok'],
    'the fresh pipeline’s zero counters are not mistaken for events',
  );
});
