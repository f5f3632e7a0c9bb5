import t from 'tap';
import { AUDIT_LIST_MAX } from '../../../../headend/store/audit.js';
import { StoreErrorCode } from '../../../../headend/store/errors.js';
import { fakeClock, tempStore } from './fixtures.js';

t.test('append stores who, what, target and JSON detail; list is newest first', async (t) => {
  const clock = fakeClock();
  const { store } = tempStore(t, { now: clock.now });
  const e1 = store.audit.append({ username: 'anna', action: 'channel.update', target: 'channel 101', detail: { name: ['News', 'News HD'], version: 7 } });
  clock.advance(5);
  store.audit.append({ username: null, action: 'lineup.import' });
  t.match(e1, { atMs: clock.now() - 5, username: 'anna', action: 'channel.update', target: 'channel 101', detail: { name: ['News', 'News HD'], version: 7 } });
  const list = store.audit.list();
  t.strictSame(list.map((e) => e.action), ['lineup.import', 'channel.update']);
  t.strictSame(list[0], { id: list[0].id, atMs: clock.now(), username: null, action: 'lineup.import', target: null, detail: null });
  t.strictSame(list[1].detail, { name: ['News', 'News HD'], version: 7 });
});

t.test('list pages with limit and offset, and bounds the limit', async (t) => {
  const { store } = tempStore(t);
  store.transaction(() => {
    for (let i = 0; i < 700; i++) store.audit.append({ username: 'op', action: 'test', target: String(i) });
  });
  t.strictSame(store.audit.list({ limit: 3 }).map((e) => e.target), ['699', '698', '697']);
  t.strictSame(store.audit.list({ limit: 3, offset: 3 }).map((e) => e.target), ['696', '695', '694']);
  t.equal(store.audit.list().length, 50, 'default limit');
  t.equal(store.audit.list({ limit: 1_000_000 }).length, AUDIT_LIST_MAX, 'limit clamped');
  t.equal(store.audit.list({ limit: 0 }).length, 1, 'at least one');
  t.equal(store.audit.list({ limit: Number.NaN }).length, 1);
  t.strictSame(store.audit.list({ limit: 2, offset: -10 }).map((e) => e.target), ['699', '698'], 'negative offset is 0');
  t.strictSame(store.audit.list({ offset: 10_000 }), []);
});

t.test('the log keeps at most maxRows entries, trimming the oldest', async (t) => {
  const { store } = tempStore(t, { auditMaxRows: 10 });
  for (let i = 0; i < 25; i++) store.audit.append({ username: 'op', action: 'test', target: String(i) });
  t.equal(store.audit.count(), 10);
  t.strictSame(store.audit.list({ limit: 100 }).map((e) => e.target), ['24', '23', '22', '21', '20', '19', '18', '17', '16', '15']);
});

t.test('append refuses an empty action, unserialisable or oversized detail', async (t) => {
  const { store } = tempStore(t);
  t.throws(() => store.audit.append({ username: 'op', action: '' }), { code: StoreErrorCode.invalid });
  const loop: Record<string, unknown> = {};
  loop.self = loop;
  t.throws(() => store.audit.append({ username: 'op', action: 'x', detail: loop }), { code: StoreErrorCode.invalid, message: /not JSON-serialisable/ });
  t.throws(() => store.audit.append({ username: 'op', action: 'x', detail: 'y'.repeat(70_000) }), { code: StoreErrorCode.invalid, message: /larger than/ });
  t.equal(store.audit.count(), 0);
});
