import t from 'tap';
import { StoreErrorCode } from '../../../../headend/store/errors.js';
import { fakeClock, tempStore } from './fixtures.js';

function report(agentId: string, channel: number | null, n = 0) {
  return {
    agentId,
    label: `Room ${agentId}`,
    ip: '10.20.0.5',
    channel,
    report: { zaps: { count: n, viaBurst: n, viaGate: 0, recentMs: [120, 95] }, counters: { rtpLost: 0, rtpDuplicates: 0, ccErrors: n, spliceGaps: 0 } },
  };
}

t.test('record keeps the latest report per agent and counts reports; list is most recently seen first', async (t) => {
  const clock = fakeClock();
  const { store } = tempStore(t, { now: clock.now });
  const first = store.stbs.record(report('101', 1));
  t.match(first, { agentId: '101', label: 'Room 101', ip: '10.20.0.5', channel: 1, reports: 1, firstSeenMs: clock.now(), lastSeenMs: clock.now() });
  clock.advance(1000);
  store.stbs.record(report('102', null));
  clock.advance(1000);
  const again = store.stbs.record({ ...report('101', 7, 3), ip: '10.20.0.9' });
  t.match(again, { channel: 7, ip: '10.20.0.9', reports: 2, firstSeenMs: clock.now() - 2000, lastSeenMs: clock.now() });
  t.strictSame(again.report, report('101', 7, 3).report);
  t.strictSame(store.stbs.list().map((s) => s.agentId), ['101', '102']);
  t.equal(store.stbs.get('102')?.channel, null);
  t.equal(store.stbs.get('999'), null);
});

t.test('history keeps the newest N reports per agent, trimmed on insert, newest first', async (t) => {
  const { store } = tempStore(t, { stbHistoryPerAgent: 5 });
  for (let i = 0; i < 12; i++) store.stbs.record(report('a', i, i));
  for (let i = 0; i < 3; i++) store.stbs.record(report('b', 100 + i));
  t.strictSame(store.stbs.history('a').map((h) => h.channel), [11, 10, 9, 8, 7]);
  t.strictSame(store.stbs.history('a', 2).map((h) => h.channel), [11, 10]);
  t.strictSame(store.stbs.history('b').map((h) => h.channel), [102, 101, 100], "another agent's history is its own");
  t.strictSame(store.db.prepare(`SELECT agent_id, count(*) AS n FROM stb_history GROUP BY agent_id ORDER BY agent_id`).all(), [{ agent_id: 'a', n: 5 }, { agent_id: 'b', n: 3 }], 'the rows are gone, not just hidden');
  t.equal(store.stbs.get('a')?.reports, 12);
});

t.test('the default history bound is 100 per agent', async (t) => {
  const { store } = tempStore(t);
  store.transaction(() => {
    for (let i = 0; i < 130; i++) store.stbs.record(report('a', i));
  });
  t.equal(store.stbs.history('a', 1000).length, 100);
  t.equal(store.stbs.history('a')[0].channel, 129);
});

t.test('at most maxAgents agents are kept: a new one evicts the least recently seen', async (t) => {
  const clock = fakeClock();
  const { store } = tempStore(t, { now: clock.now, stbMaxAgents: 3 });
  for (const id of ['a', 'b', 'c']) {
    store.stbs.record(report(id, 1));
    clock.advance(10);
  }
  store.stbs.record(report('a', 2)); // a is now the most recent; b the least
  clock.advance(10);
  store.stbs.record(report('d', 1));
  t.strictSame(store.stbs.list().map((s) => s.agentId), ['d', 'a', 'c']);
  t.strictSame(store.stbs.history('b'), [], 'its history went with it');
});

t.test('delete forgets an agent and its history; bad reports are refused', async (t) => {
  const { store } = tempStore(t);
  store.stbs.record(report('a', 1));
  t.equal(store.stbs.delete('a'), true);
  t.equal(store.stbs.delete('a'), false);
  t.strictSame(store.db.prepare('SELECT count(*) AS n FROM stb_history').get(), { n: 0 });
  t.throws(() => store.stbs.record({ ...report('', 1) }), { code: StoreErrorCode.invalid, message: /agentId/ });
  t.throws(() => store.stbs.record({ ...report('a', 1.5) }), { code: StoreErrorCode.invalid, message: /channel/ });
  t.throws(() => store.stbs.record({ ...report('a', 1), report: { big: 'x'.repeat(70_000) } }), { code: StoreErrorCode.invalid, message: /larger than/ });
  t.equal(store.stbs.list().length, 0);
});
