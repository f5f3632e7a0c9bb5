import t from 'tap';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { validateChannel, validateLineup, type ChannelConfig } from '../../../../core/lineup/config.js';
import { SECRET_PLACEHOLDER, channelDocument, lineupYaml, restoreSecrets } from '../../../../core/lineup/document.js';
import { channel, richChannel } from '../../headend/store/fixtures.js';

const headend = validateLineup({ channels: [] }).headend;
const bundled = validateLineup(parse(readFileSync(new URL('../../../../channels.yaml', import.meta.url), 'utf8'))).channels;

t.test('channelDocument is the inverse of the validator: every channel comes back the same', async (t) => {
  const all: ChannelConfig[] = [...bundled, richChannel(40), channel(41), channel(42, { transport: 'udp', multicast: { group: '239.255.9.9', port: 5001 } })];
  for (const ch of all) {
    const doc = channelDocument(ch, 'include');
    const v = validateChannel(doc, { headend, others: [] });
    t.ok(v.ok, `channel ${ch.number}: ${v.ok ? '' : v.problems.join('; ')}`);
    if (v.ok) t.strictSame(v.channel, ch, `channel ${ch.number} round trip`);
  }
});

t.test('masked documents show the placeholder; restoreSecrets puts the stored passphrase back', async (t) => {
  const rich = richChannel(40);
  const masked = channelDocument(rich, 'mask');
  t.equal((masked.inputs as { passphrase?: string }[])[0].passphrase, SECRET_PLACEHOLDER);
  t.notMatch(JSON.stringify(masked), /correct horse battery/);
  const r = restoreSecrets(masked, rich, 'channel');
  t.strictSame(r.problems, []);
  t.equal(((r.doc as { inputs: { passphrase?: string }[] }).inputs[0]).passphrase, 'correct horse battery');
  t.equal((masked.inputs as { passphrase?: string }[])[0].passphrase, SECRET_PLACEHOLDER, 'the input document is not changed');
  const none = restoreSecrets(masked, null, 'channel');
  t.match(none.problems, [/^channel\.inputs\[0\]\.passphrase: "\*\*\*" stands for the stored passphrase, and there is no stored channel/]);
});

t.test('lineupYaml writes channels.yaml that validates back to the same lineup', async (t) => {
  const text = lineupYaml(bundled, 'include', ['a header line']);
  t.match(text, /^# a header line\nchannels:\n/);
  t.notMatch(text, /: null/, 'no nulls: absent means default');
  t.strictSame(validateLineup(parse(text)).channels, bundled);
});
