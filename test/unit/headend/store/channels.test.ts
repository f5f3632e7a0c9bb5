import t from 'tap';
import { readFileSync } from 'node:fs';
import { validateLineup, type ChannelConfig } from '../../../../core/lineup/config.js';
import { parseYamlText } from '../../../../core/lineup/yaml.js';
import { ChannelNumberTakenError, ChannelVersionConflictError, StoreErrorCode } from '../../../../headend/store/errors.js';
import { channel, fakeClock, richChannel, tempStore } from './fixtures.js';

const REPO_YAML = new URL('../../../../channels.yaml', import.meta.url);

/** The lineup as numbers → names, for compact assertions. */
function names(list: { config: ChannelConfig }[]): Record<number, string> {
  return Object.fromEntries(list.map((c) => [c.config.number, c.config.name]));
}

function inputRows(store: ReturnType<typeof tempStore>['store']): number {
  return (store.db.prepare('SELECT count(*) AS n FROM inputs').get() as { n: number }).n;
}

t.test('create then get gives back an equal ChannelConfig, every source type and non-default key included', async (t) => {
  const clock = fakeClock();
  const { store } = tempStore(t, { now: clock.now });
  const cfg = richChannel(42);
  t.equal(cfg.inputs.length, 4);
  const created = store.channels.create(cfg);
  t.strictSame(created.config, cfg);
  t.equal(created.createdAtMs, clock.now());
  t.equal(created.updatedAtMs, clock.now());
  const got = store.channels.get(42);
  t.strictSame(got?.config, cfg);
  t.equal(got?.config.source, got?.config.inputs[0], 'source is inputs[0], as validateLineup gives it');
  t.equal(got?.version, created.version);
  t.equal(inputRows(store), 4, 'one inputs row per source');
  t.equal(store.channels.get(43), null);
});

t.test('the bundled channels.yaml round-trips through replaceAll and list', async (t) => {
  const { store } = tempStore(t);
  const lineup = validateLineup(parseYamlText(readFileSync(REPO_YAML, 'utf8'), 'channels.yaml'));
  t.ok(lineup.channels.length >= 3);
  store.channels.replaceAll(lineup.channels);
  const byNumber = [...lineup.channels].sort((a, b) => a.number - b.number);
  t.strictSame(
    store.channels.list().map((c) => c.config),
    byNumber,
  );
  t.strictSame(
    store.channels.list().map((c) => c.position),
    byNumber.map((c) => lineup.channels.indexOf(c)),
    'position keeps the file order',
  );
});

t.test('list is ordered by number; isEmpty and count follow', async (t) => {
  const { store } = tempStore(t);
  t.ok(store.channels.isEmpty());
  for (const n of [30, 4, 100, 12]) store.channels.create(channel(n));
  t.notOk(store.channels.isEmpty());
  t.equal(store.channels.count(), 4);
  t.strictSame(store.channels.list().map((c) => c.config.number), [4, 12, 30, 100]);
  t.strictSame(store.channels.list().map((c) => c.position), [1, 3, 0, 2], 'position: creation order');
});

t.test('create refuses a taken number with a typed error and a stable code', async (t) => {
  const { store } = tempStore(t);
  store.channels.create(channel(5, { name: 'News' }));
  const err = t.throws(() => store.channels.create(channel(5, { name: 'Other' }))) as ChannelNumberTakenError;
  t.type(err, ChannelNumberTakenError);
  t.equal(err.code, 'ROOMCAST_ERR_CHANNEL_NUMBER_TAKEN');
  t.equal(err.statusCode, 409);
  t.equal(err.number, 5);
  t.match(err.message, 'channel number 5 is already used by "News"');
  t.equal(store.channels.count(), 1);
  t.equal(inputRows(store), 1, 'no stray input rows');
});

t.test('create and update refuse configs that break store invariants, listing every problem', async (t) => {
  const { store } = tempStore(t);
  const good = channel(1);
  const bad = { ...good, number: 0, name: '', inputs: [] } as ChannelConfig;
  t.throws(() => store.channels.create(bad), {
    code: StoreErrorCode.invalid,
    message: /channel\.number: 0 is not an integer from 1 to 9999; channel\.name: must be a non-empty string; channel\.inputs: must be a list of 1 to 8 sources/,
  });
  t.throws(() => store.channels.create({ ...good, source: { ...good.source, stallMs: 1 } }), { code: StoreErrorCode.invalid, message: /source: must be inputs\[0\]/ });
  store.channels.create(good);
  t.throws(() => store.channels.update(1, { ...good, number: 1.5 }, 1), { code: StoreErrorCode.invalid });
  t.equal(store.channels.count(), 1);
});

t.test('update replaces config and inputs, bumps the version, and keeps id, position and createdAt', async (t) => {
  const clock = fakeClock();
  const { store } = tempStore(t, { now: clock.now });
  const a = store.channels.create(richChannel(9));
  clock.advance(1000);
  const next = channel(9, { name: 'Nine', group: 'Local' });
  const b = store.channels.update(9, next, a.version);
  t.strictSame(b.config, next);
  t.ok(b.version > a.version, `version ${a.version} → ${b.version}`);
  t.equal(b.id, a.id);
  t.equal(b.position, a.position);
  t.equal(b.createdAtMs, a.createdAtMs);
  t.equal(b.updatedAtMs, a.createdAtMs + 1000);
  t.equal(inputRows(store), 1, 'the old 4 input rows are gone');
  t.strictSame(store.channels.get(9)?.config, next);
});

t.test('two updates with the same expected version: the second gets a conflict carrying the current version', async (t) => {
  const { store } = tempStore(t);
  const read = store.channels.create(channel(3));
  const first = store.channels.update(3, channel(3, { name: 'Alice was here' }), read.version);
  const err = t.throws(() => store.channels.update(3, channel(3, { name: 'Bob was here' }), read.version)) as ChannelVersionConflictError;
  t.type(err, ChannelVersionConflictError);
  t.equal(err.code, 'ROOMCAST_ERR_CHANNEL_VERSION_CONFLICT');
  t.equal(err.statusCode, 409);
  t.equal(err.currentVersion, first.version);
  t.equal(err.expectedVersion, read.version);
  t.equal(store.channels.get(3)?.config.name, 'Alice was here', "Bob's write did not silently replace Alice's");
  // Retrying with the version from the error succeeds.
  t.equal(store.channels.update(3, channel(3, { name: 'Bob was here' }), err.currentVersion).config.name, 'Bob was here');
});

t.test('versions are unique across channels: a stale (number, version) never matches another channel after a reorder', async (t) => {
  const { store } = tempStore(t);
  const one = store.channels.create(channel(1));
  const two = store.channels.create(channel(2));
  t.not(one.version, two.version);
  store.channels.reorder([
    [1, 2],
    [2, 1],
  ]);
  // An editor still holding "channel 1 at one.version" now addresses the other channel.
  t.throws(() => store.channels.update(1, channel(1), one.version), { code: StoreErrorCode.channelVersionConflict });
  t.throws(() => store.channels.update(2, channel(2), two.version), { code: StoreErrorCode.channelVersionConflict });
});

t.test('update renumbers when config.number differs, and refuses a taken number', async (t) => {
  const { store } = tempStore(t);
  const a = store.channels.create(channel(1));
  store.channels.create(channel(2, { name: 'Two' }));
  t.throws(() => store.channels.update(1, channel(2), a.version), { code: StoreErrorCode.channelNumberTaken, message: /2 is already used by "Two"/ });
  t.equal(store.channels.get(1)?.version, a.version, 'unchanged');
  const moved = store.channels.update(1, channel(5), a.version);
  t.equal(moved.id, a.id);
  t.equal(store.channels.get(1), null);
  t.strictSame(store.channels.list().map((c) => c.config.number), [2, 5]);
});

t.test('update and delete of a missing channel: not found', async (t) => {
  const { store } = tempStore(t);
  t.throws(() => store.channels.update(8, channel(8), 1), { code: StoreErrorCode.channelNotFound, statusCode: 404, message: 'there is no channel 8' });
  t.throws(() => store.channels.delete(8), { code: StoreErrorCode.channelNotFound });
});

t.test('delete removes the channel and its inputs (cascade), honouring an expected version', async (t) => {
  const { store } = tempStore(t);
  const a = store.channels.create(richChannel(4));
  store.channels.create(channel(6));
  t.throws(() => store.channels.delete(4, a.version + 100), { code: StoreErrorCode.channelVersionConflict, currentVersion: a.version });
  t.equal(store.channels.count(), 2);
  const gone = store.channels.delete(4, a.version);
  t.strictSame(gone.config, a.config, 'returns what was deleted');
  t.equal(store.channels.get(4), null);
  t.equal(inputRows(store), 1, 'only channel 6 has inputs left');
  store.channels.delete(6);
  t.ok(store.channels.isEmpty());
  t.equal(inputRows(store), 0);
});

t.test('reorder applies swaps, rotations and moves to free numbers atomically, bumping the versions of moved channels', async (t) => {
  const { store } = tempStore(t);
  for (const n of [1, 2, 3, 4]) store.channels.create(channel(n, { name: `C${n}` }));
  const before = Object.fromEntries(store.channels.list().map((c) => [c.config.name, c]));
  const moved = store.channels.reorder([
    [1, 2],
    [2, 3],
    [3, 1], // a rotation: every step collides with the UNIQUE index unless parked first
    [4, 40],
  ]);
  t.strictSame(moved.map((c) => [c.config.name, c.config.number]), [['C1', 2], ['C2', 3], ['C3', 1], ['C4', 40]]);
  t.strictSame(names(store.channels.list()), { 1: 'C3', 2: 'C1', 3: 'C2', 40: 'C4' });
  for (const c of store.channels.list()) {
    t.equal(c.id, before[c.config.name].id, `${c.config.name} keeps its id`);
    t.ok(c.version > before[c.config.name].version, `${c.config.name} has a new version`);
    t.strictSame(c.config.inputs, before[c.config.name].config.inputs, `${c.config.name} keeps its inputs`);
  }
  t.strictSame(store.integrityCheck(), ['ok']);
});

t.test('reorder refuses collisions and unknown channels, and applies nothing of a refused list', async (t) => {
  const { store } = tempStore(t);
  for (const n of [1, 2, 3]) store.channels.create(channel(n, { name: `C${n}` }));
  const snapshot = JSON.stringify(store.channels.list());
  const cases: [string, [number, number][], { code: string; message: RegExp }][] = [
    ['a target held by a channel that is not moved', [[1, 5], [2, 3]], { code: StoreErrorCode.channelNumberTaken, message: /3 is already used by "C3", which is not moved \(moving 2 → 3\)/ }],
    ['two channels to one number', [[1, 7], [2, 7]], { code: StoreErrorCode.channelNumberTaken, message: /both 1 and 2 would move to it/ }],
    ['an unknown channel after valid moves', [[1, 9], [2, 8], [77, 6]], { code: StoreErrorCode.channelNotFound, message: /there is no channel 77/ }],
    ['a channel moved twice', [[1, 5], [1, 6]], { code: StoreErrorCode.invalid, message: /channel 1 is moved twice/ }],
    ['a number out of range', [[1, 10000]], { code: StoreErrorCode.invalid, message: /moves\[0\]\[1\]: 10000 is not an integer from 1 to 9999/ }],
  ];
  for (const [what, moves, expected] of cases) {
    t.throws(() => store.channels.reorder(moves), expected, what);
    t.equal(JSON.stringify(store.channels.list()), snapshot, `nothing applied: ${what}`);
  }
});

t.test('replaceAll replaces the whole lineup in one transaction', async (t) => {
  const { store } = tempStore(t);
  for (const n of [1, 2, 3]) store.channels.create(channel(n));
  const next = [channel(20, { name: 'Twenty' }), richChannel(10)];
  const result = store.channels.replaceAll(next);
  t.strictSame(result.map((c) => c.config), [next[1], next[0]], 'ordered by number');
  t.strictSame(store.channels.list().map((c) => c.config), [next[1], next[0]]);
  t.strictSame(store.channels.list().map((c) => c.position), [1, 0], 'file order');
  t.equal(inputRows(store), 5);
  store.channels.replaceAll([]);
  t.ok(store.channels.isEmpty());
  t.equal(inputRows(store), 0);
});

t.test('replaceAll with one invalid channel (a duplicate number) rolls back whole: nothing half-applied', async (t) => {
  const { store } = tempStore(t);
  for (const n of [1, 2, 3]) store.channels.create(richChannel(n));
  const snapshot = JSON.stringify(store.channels.list());
  const inputsBefore = inputRows(store);
  const err = t.throws(() => store.channels.replaceAll([channel(50), channel(51), channel(52), channel(51, { name: 'Again' })])) as ChannelNumberTakenError;
  t.equal(err.code, StoreErrorCode.channelNumberTaken);
  t.match(err.message, 'channel number 51 is already used by channels[1] (channels[3] repeats it)');
  t.equal(JSON.stringify(store.channels.list()), snapshot, 'the old lineup is intact');
  t.equal(inputRows(store), inputsBefore);
  // An invariant broken in the middle of the list is caught before anything is written.
  t.throws(() => store.channels.replaceAll([channel(60), { ...channel(61), inputs: [] }]), { code: StoreErrorCode.invalid, message: /channels\[1\]\.inputs/ });
  t.equal(JSON.stringify(store.channels.list()), snapshot);
});
