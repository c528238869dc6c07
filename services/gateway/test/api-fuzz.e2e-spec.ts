/**
 * Property-based fuzzing of every operation the OpenAPI document publishes: for each one,
 * fast-check generates requests (valid and invalid bodies built from the operation's
 * schema, hostile values, random JSON, malformed text, deep nesting, large sizes, unicode,
 * query strings, path ids, `Idempotency-Key`, `Prefer` and content types) and sends them
 * through HTTP as the right caller (the merchant, or the operators for admin routes).
 * Every answer: never a 5xx, a status the operation documents, a body that matches the
 * documented schema for that status (Ajv), and for a rejected request (4xx) no change to
 * payments, refunds, merchants, api_keys or events, and no idempotency key kept unless
 * the answer is one the API documents as replayed (a 402 is a failed payment, kept).
 *
 * How: the real gateway and ledger (payments harness); rows counted in PostgreSQL around
 * each request. Budget: `FUZZ_RUNS` requests per operation (default 25, about 10 s in
 * `npm test`), `FUZZ_SEED` to replay; fast-check prints the seed and the failing request.
 */
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import type { OpenAPIObject, ParameterObject } from '@nestjs/swagger';
import {
  connectDatabase,
  eventually,
  startServiceOnFreePort,
  type ServiceProcess,
  type TestDatabase,
} from '@clearline/testing';
import { operationsOf, resolveSchema, type Operation, type Schema } from './openapi-schema';
import type { CreatedMerchant, Reply } from './gateway-harness';
import { card, startPayments, type PaymentsHarness } from './payments-harness';

const FUZZ_RUNS = Number(process.env['FUZZ_RUNS'] ?? '25');
const FUZZ_SEED = Number(process.env['FUZZ_SEED'] ?? '20261203');
/** Room for the longest run asked for: each run is one request per operation (~1 s). */
const FUZZ_TIMEOUT_MS = 120_000 + FUZZ_RUNS * 2_000;
const TABLES = ['payments', 'refunds', 'merchants', 'api_keys', 'events', 'idempotency_keys'];
/** Error codes the idempotency layer does not keep (validation refusals free the key). */
const NOT_KEPT = [
  'parameter_invalid',
  'parameter_unknown',
  'parameter_missing',
  'amount_too_large',
];

interface FuzzRequest {
  path: string;
  body?: string;
  headers: Record<string, string>;
}

/**
 * OpenAPI 3.0's `nullable` as the document means it: null or the schema. Ajv applies it
 * only beside `type`, so `{nullable, allOf: [$ref]}` (how Nest writes a nullable nested
 * DTO) would refuse null; the document's readers (generators, Redocly) read it as here.
 */
function nullableAsAnyOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(nullableAsAnyOf);
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value).map(([k, v]) => [k, nullableAsAnyOf(v)] as const);
  const { nullable, ...rest }: Schema = Object.fromEntries(entries);
  return nullable === true ? { anyOf: [{ type: 'null' }, rest] } : rest;
}

// Hostile values: NUL, card numbers, numbers JSON cannot hold exactly, lone surrogates,
// very long text, deep nesting, and types the schema does not expect.
const hostile: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    null,
    '',
    'a\u0000b',
    '4242424242424242',
    '4242 4242 4242 4242',
    '\ud800',
    '\u202e\u0301🙂',
    -1,
    0,
    1.5,
    2 ** 53 + 1,
    1e308,
    -0,
    '100',
    true,
    [],
    {},
    { $gt: '' },
    '../../etc/passwd',
    "' OR 1=1 --",
    'x'.repeat(5_000),
  ),
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.jsonValue({ maxDepth: 3 }),
  fc
    .integer({ min: 1, max: 300 })
    .map((depth): unknown => JSON.parse('['.repeat(depth) + ']'.repeat(depth))),
);

/** Values that satisfy `schema` (mostly): what a well-behaved client would send. */
function valid(
  document: OpenAPIObject,
  raw: Schema,
  name: string,
  hints: Record<string, unknown[]>,
): fc.Arbitrary<unknown> {
  const schema = resolveSchema(document, raw);
  const hint = hints[name];
  if (hint !== undefined && hint.length > 0) return fc.constantFrom(...hint);
  const values = schema['enum'] as unknown[] | undefined;
  if (values !== undefined) return fc.constantFrom(...values);
  switch (schema['type']) {
    case 'integer':
      return fc.integer({
        min: (schema['minimum'] as number | undefined) ?? 0,
        max: Math.min((schema['maximum'] as number | undefined) ?? 10_000, 2 ** 31),
      });
    case 'boolean':
      return fc.boolean();
    case 'string':
      return fc.string({
        minLength: (schema['minLength'] as number | undefined) ?? 0,
        maxLength: Math.min((schema['maxLength'] as number | undefined) ?? 40, 40),
        unit: 'grapheme',
      });
    case 'object': {
      const properties = (schema['properties'] ?? {}) as Record<string, Schema>;
      if (Object.keys(properties).length === 0) {
        return fc.dictionary(
          fc.string({ minLength: 1, maxLength: 40 }),
          fc.string({ maxLength: 60 }),
          {
            maxKeys: 4,
          },
        );
      }
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [key, child] of Object.entries(properties)) {
        record[key] = valid(document, child, key, hints);
      }
      return fc.record(record, {
        requiredKeys: (schema['required'] as string[] | undefined) ?? [],
      });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** A body: valid, valid with one field hostile or unknown, random JSON or not JSON at all. */
function bodyOf(
  document: OpenAPIObject,
  operation: Operation,
  hints: Record<string, unknown[]>,
): fc.Arbitrary<string | undefined> {
  const content = operation.op.requestBody as
    { content?: Record<string, { schema?: Schema }> } | undefined;
  const schema = content?.content?.['application/json']?.schema ?? { type: 'object' };
  const good = valid(document, schema, '', hints);
  const fields = Object.keys(resolveSchema(document, schema)['properties'] ?? {});
  const field = fc.oneof(
    fc.constantFrom(...fields, 'merchant_id', '__proto__', 'constructor'),
    fc.string({ maxLength: 20 }),
  );
  const spoiled = fc
    .tuple(good, field, hostile)
    .map(([body, key, value]) => ({ ...(body as object), [key]: value }));
  return fc.oneof(
    { arbitrary: good.map((b) => JSON.stringify(b)), weight: 3 },
    { arbitrary: spoiled.map((b) => JSON.stringify(b)), weight: 4 },
    { arbitrary: hostile.map((b) => JSON.stringify(b)), weight: 1 },
    { arbitrary: fc.string({ unit: 'binary', maxLength: 200 }), weight: 1 },
    {
      arbitrary: fc.constantFrom(
        '{"a":',
        '{"amount":1,"amount":2}',
        `{"metadata":${'['.repeat(20_000)}${']'.repeat(20_000)}}`,
        JSON.stringify({ description: 'x'.repeat(120_000) }),
        '\ufeff{}',
        'null',
      ),
      weight: 1,
    },
    { arbitrary: fc.constant(undefined), weight: 1 },
  );
}

/** Lone surrogates as U+FFFD, so the text can be percent-encoded (as a client would). */
function wellFormed(text: string): string {
  return text.replace(
    /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g,
    '\ufffd',
  );
}

function pathOf(operation: Operation, id: string): string {
  // A segment `.` or `..` (encoded or not) is resolved by every URL parser, the client's
  // included: the request would go to another route, so such an id gets a character more.
  const segment = /^(\.|%2e){1,2}$/i.test(id) ? `${id}x` : id;
  return operation.path.replace(/\{[^}]+\}/g, encodeURIComponent(wellFormed(segment)));
}

/** A query string from the documented parameters (valid or hostile) and unknown ones. */
function queryOf(
  document: OpenAPIObject,
  operation: Operation,
  hints: Record<string, unknown[]>,
): fc.Arbitrary<string> {
  const params = (operation.op.parameters ?? []).filter(
    (p): p is ParameterObject => 'in' in p && p.in === 'query',
  );
  const entries = params.map((p) =>
    fc.option(
      fc.tuple(
        fc.constant(p.name),
        fc.oneof(valid(document, (p.schema ?? {}) as Schema, p.name, hints), hostile),
      ),
    ),
  );
  const unknown = fc.option(fc.tuple(fc.string({ minLength: 1, maxLength: 10 }), hostile));
  return fc.tuple(fc.tuple(...entries), unknown, fc.boolean()).map(([known, other, twice]) => {
    const query = new URLSearchParams();
    for (const entry of [...known, other]) {
      if (entry === null) continue;
      const text = typeof entry[1] === 'string' ? entry[1] : JSON.stringify(entry[1]);
      query.append(wellFormed(entry[0]), wellFormed(text));
      if (twice) query.append(wellFormed(entry[0]), '1');
    }
    const text = query.toString();
    return text === '' ? '' : `?${text}`;
  });
}

const headerText = fc
  .string({ unit: 'binary-ascii', maxLength: 300 })
  .map((s) => s.replace(/[^\x20-\x7e]/g, '').trim());

function headersOf(): fc.Arbitrary<Record<string, string>> {
  return fc
    .record(
      {
        'idempotency-key': fc.oneof(fc.uuid(), headerText),
        prefer: fc.oneof(
          fc.constantFrom('respond-async', 'wait=1', 'wait=-1', 'wait=x', 'wait=99999', 'wait=0'),
          headerText,
        ),
        'content-type': fc.constantFrom(
          'application/json',
          'application/json; charset=utf-8',
          'application/json; charset=utf-16',
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/merge-patch+json',
        ),
      },
      { requiredKeys: [] },
    )
    .map((headers) => headers as Record<string, string>);
}

function requestsOf(
  document: OpenAPIObject,
  operation: Operation,
  ids: string[],
  hints: Record<string, unknown[]>,
): fc.Arbitrary<FuzzRequest> {
  const id = fc.oneof(
    { arbitrary: fc.constantFrom(...ids), weight: 3 },
    { arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }), weight: 1 },
    {
      arbitrary: fc.constantFrom('..', '%2e%2e', '%', ' ', 'x'.repeat(3_000), 'pay_', '0'),
      weight: 1,
    },
  );
  const hasBody = operation.method === 'POST' || operation.method === 'PATCH';
  return fc
    .record({
      id,
      query: queryOf(document, operation, hints),
      body: hasBody ? bodyOf(document, operation, hints) : fc.constant(undefined),
      headers: headersOf(),
    })
    .map(({ id: chosen, query, body, headers }) => ({
      path: pathOf(operation, chosen) + query,
      headers,
      ...(body === undefined ? {} : { body }),
    }));
}

describe('API fuzzing (every operation of the OpenAPI document)', () => {
  let h: PaymentsHarness;
  let services: ServiceProcess[];
  let merchant: CreatedMerchant;
  let db: TestDatabase;
  let document: OpenAPIObject;
  let ajv: Ajv;
  const validators = new Map<string, ValidateFunction>();

  beforeAll(async () => {
    h = await startPayments({ WEBHOOK_ALLOW_PRIVATE: '1', WEBHOOK_ALLOW_HTTP: '1' });
    // Refunds and settlement runs are their services' work: without them, 202s and 503s.
    services = await Promise.all(
      ['refund', 'settlement'].map((name) => startServiceOnFreePort(name, h.gw.infra.env)),
    );
    merchant = await h.gw.createMerchant();
    // The operator's connection: fixtures of other services' tables, and counts.
    db = connectDatabase(h.gw.infra.databaseUrl);
    const reply = await h.gw.call<OpenAPIObject>('GET', '/docs-json', { key: null });
    expect(reply.status).toBe(200);
    document = reply.body;
    ajv = new Ajv({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) });
    ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
    ajv.addSchema(nullableAsAnyOf({ components: document.components }) as Schema, 'openapi');
  });

  afterAll(async () => {
    await db.close();
    await Promise.all(services.map((service) => service.stop()));
    await h.close();
  });

  const counts = async (): Promise<Record<string, number>> => {
    // Settlement and payout events come from the settlement service on its own time
    // (after a run a request started): they are not a request's doing.
    const sql = TABLES.map((t) => {
      const own =
        t === 'events' ? " WHERE type NOT LIKE 'settlement.%' AND type NOT LIKE 'payout.%'" : '';
      return `(SELECT count(*)::int FROM ${t}${own}) AS ${t}`;
    }).join(', ');
    const [row] = await db.query<Record<string, number>>(`SELECT ${sql}`);
    if (row === undefined) throw new Error('no count row');
    return row;
  };

  function validatorFor(operation: Operation, status: number): ValidateFunction | undefined {
    const key = `${operation.method} ${operation.path} ${status}`;
    const response = operation.op.responses[String(status)] as
      { content?: Record<string, { schema?: Schema }> } | undefined;
    const schema = response?.content?.['application/json']?.schema;
    if (schema === undefined) return undefined;
    let validator = validators.get(key);
    if (validator === undefined) {
      const text = JSON.stringify(schema).replaceAll('"#/components', '"openapi#/components');
      validator = ajv.compile(nullableAsAnyOf(JSON.parse(text)) as Schema);
      validators.set(key, validator);
    }
    return validator;
  }

  /** The answer's problems against the document, as readable lines (none when it holds). */
  function problemsOf(operation: Operation, reply: Reply): string[] {
    const { status } = reply;
    if (status >= 500) return [`${status}: ${reply.text.slice(0, 300)}`];
    if (operation.op.responses[String(status)] === undefined) {
      return [`${status} is not documented: ${reply.text.slice(0, 300)}`];
    }
    const validate = validatorFor(operation, status);
    if (validate !== undefined && !validate(reply.body)) {
      return [`${status} body ${reply.text.slice(0, 300)}: ${ajv.errorsText(validate.errors)}`];
    }
    return [];
  }

  /** A 202 leaves work running: wait for its object to settle before counting again. */
  async function settle(reply: Reply): Promise<void> {
    const location = reply.headers.get('location');
    if (reply.status !== 202 || location === null) return;
    await eventually(
      async () => {
        const object = await h.gw.call<{ status?: string }>('GET', location, {
          key: merchant.api_key,
        });
        return object.body.status !== 'pending' && object.body.status !== 'processing';
      },
      { what: `${location} to settle` },
    );
  }

  async function known(): Promise<{ ids: string[]; hints: Record<string, unknown[]> }> {
    const paid = await h.pay(merchant, card());
    const held = await h.pay(merchant, card('tok_visa', { capture_method: 'manual' }));
    const refund = await h.gw.call<{ id: string }>('POST', '/v1/refunds', {
      key: merchant.api_key,
      body: { payment: paid.body.id, amount: 100 },
    });
    const events = await h.gw.call<{ data: { id: string }[] }>('GET', '/v1/events', {
      key: merchant.api_key,
    });
    const payments = [paid.body.id, held.body.id];
    const ids = [merchant.id, ...payments, refund.body.id, ...events.body.data.map((e) => e.id)];
    const hints = {
      source: ['tok_visa', 'tok_chargeDeclined', 'tok_visa', '4000000000000002', 'tok_'],
      payment: payments,
      starting_after: ids,
      ending_before: ids,
      webhook_url: [null, 'http://127.0.0.1:9/hook', 'https://169.254.169.254/', 'ftp://x'],
      cut_off: [0, 1_767_225_600, 253_402_300_799],
    };
    return { ids, hints };
  }

  it(
    'answers every generated request with a documented status and body, never a 5xx, and a rejected one changes nothing',
    async () => {
      const { ids, hints } = await known();
      const operations = operationsOf(document);
      expect(operations.length).toBeGreaterThan(20);
      for (const [index, operation] of operations.entries()) {
        const name = `${operation.method} ${operation.path}`;
        const key = operation.admin ? h.gw.adminKey : merchant.api_key;
        await fc.assert(
          fc.asyncProperty(requestsOf(document, operation, ids, hints), async (request) => {
            const before = await counts();
            const reply = await h.gw.call(operation.method, request.path, {
              key,
              headers: request.headers,
              ...(request.body === undefined ? {} : { raw: request.body }),
            });
            await settle(reply);
            expect({ name, problems: problemsOf(operation, reply) }).toEqual({
              name,
              problems: [],
            });
            if (reply.status < 400 || reply.status === 402) return;
            const after = await counts();
            const code = (reply.body as { error?: { code?: string } }).error?.code ?? '';
            const kept = 'idempotency-key' in request.headers && !NOT_KEPT.includes(code);
            // A refusal the API replays (404, 409, a state error) is kept under its key.
            if (kept && after['idempotency_keys'] === (before['idempotency_keys'] ?? 0) + 1) {
              after['idempotency_keys'] = before['idempotency_keys'] ?? 0;
            }
            expect({ name, status: reply.status, rows: after }).toEqual({
              name,
              status: reply.status,
              rows: before,
            });
          }),
          { numRuns: FUZZ_RUNS, seed: FUZZ_SEED + index, endOnFailure: true },
        );
      }
    },
    FUZZ_TIMEOUT_MS,
  );
});
