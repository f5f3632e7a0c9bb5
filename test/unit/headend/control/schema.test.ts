/**
 * The published channel schema (GET /api/schema/channel, for the UI's forms)
 * against the validator that decides (core/lineup validateChannel): the same
 * table of wrong fields (channel-cases.ts) goes through both.
 */
import t from 'tap';
import Fastify from 'fastify';
import { CHANNEL_KEYS, FAILOVER_KEYS, MULTICAST_KEYS, SOURCE_KEYS, validateChannel } from '../../../../core/lineup/config.js';
import { channelDocument, channelDocumentSchema } from '../../../../core/lineup/document.js';
import { CHANNEL_CASES, SOURCE_BASES, baseChannel, caseDocument } from './channel-cases.js';
import { HEADEND, lineup } from './fixtures.js';

/** A route whose body schema is the published one, with ajv as strict as a UI would run it (no coercion, no removal). */
async function schemaChecker(t: { teardown(fn: () => unknown): void }) {
  const app = Fastify({ ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: true } } });
  t.teardown(() => app.close());
  app.post('/check', { schema: { body: channelDocumentSchema } }, async () => ({ ok: true }));
  await app.ready();
  return async (doc: unknown): Promise<boolean> => (await app.inject({ method: 'POST', url: '/check', payload: doc as object })).statusCode === 200;
}

t.test('valid documents pass both the schema and the validator', async (t) => {
  const accepts = await schemaChecker(t);
  const docs = [
    ...Object.keys(SOURCE_BASES).map((s) => baseChannel(s)),
    ...lineup().map((c) => channelDocument(c, 'mask')),
    ...lineup().map((c) => channelDocument(c, 'include')),
  ];
  for (const doc of docs) {
    t.ok(await accepts(doc), `schema accepts ${JSON.stringify(doc).slice(0, 80)}`);
    const v = validateChannel(doc, { headend: HEADEND, others: [] });
    // "***" is the API's placeholder: the validator sees it only after restoreSecrets.
    if (JSON.stringify(doc).includes('"***"')) continue;
    t.ok(v.ok, `validator accepts ${JSON.stringify(doc).slice(0, 80)}: ${v.ok ? '' : v.problems.join('; ')}`);
  }
});

t.test('every wrong field of the table is refused by the schema too, unless only the validator can see it', async (t) => {
  const accepts = await schemaChecker(t);
  for (const c of CHANNEL_CASES) {
    const doc = caseDocument(c);
    const what = `${c.field} = ${JSON.stringify(c.value)?.slice(0, 30)}${c.source ? ` (${c.source})` : ''}`;
    t.notOk(validateChannel(doc, { headend: HEADEND, others: [] }).ok, `validator refuses ${what}`);
    const bySchema = !(await accepts(doc));
    if (c.schema === false) t.notOk(bySchema, `${what}: a validator-only rule (the schema accepts it)`);
    else t.ok(bySchema, `schema refuses ${what}`);
  }
});

t.test('the schema has exactly the keys the validator allows', async (t) => {
  const s = channelDocumentSchema as { properties: Record<string, { properties?: Record<string, unknown>; oneOf?: { properties: Record<string, { const?: string }> }[] }> };
  t.strictSame(Object.keys(s.properties).sort(), [...CHANNEL_KEYS].sort());
  t.strictSame(Object.keys(s.properties.multicast.properties!).sort(), [...MULTICAST_KEYS].sort());
  t.strictSame(Object.keys(s.properties.failover.properties!).sort(), [...FAILOVER_KEYS].sort());
  for (const branch of s.properties.source.oneOf!) {
    const type = branch.properties.type.const!;
    t.strictSame(Object.keys(branch.properties).sort(), [...SOURCE_KEYS[type as keyof typeof SOURCE_KEYS]].sort(), `source type ${type}`);
  }
});
