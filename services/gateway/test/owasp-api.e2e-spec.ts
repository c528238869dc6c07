/**
 * The OWASP API Security Top 10 (2023) items of authorization, as tests derived from the
 * OpenAPI document, so a new route is covered the day it is published:
 *
 * - API1 object level: merchant B can neither read, list, filter by nor act on merchant
 *   A's objects (payments, refunds, events, settlements, payouts), on every merchant route
 *   with an id, every list cursor and every body field naming an object: 404
 *   `resource_missing` (never a 403 that confirms the object exists), never A's data, and
 *   A's object unchanged.
 * - API3 property level: every field of every JSON answer of a scripted session is one
 *   the document declares for that answer; no answer holds a stored key digest or a
 *   field named like a hash or a password; a secret only where documented (the one-time
 *   creation and roll answers).
 * - API5 function level: every /v1/admin route refuses a merchant's key, and every
 *   merchant route refuses the operators' key (each documents one scheme only): 401.
 *
 * How: the real gateway and ledger (payments harness) through HTTP; settlements and
 * payouts of A are rows written as the settlement service writes them.
 */
import type { OpenAPIObject, ParameterObject } from '@nestjs/swagger';
import {
  connectDatabase,
  startServiceOnFreePort,
  type ServiceProcess,
  type TestDatabase,
} from '@clearline/testing';
import {
  operationsOf as documentOperations,
  resolveSchema,
  type Operation as DocumentOperation,
  type Schema,
} from './openapi-schema';
import type { CreatedMerchant, ErrorReply, Reply } from './gateway-harness';
import { card, startPayments, type PaymentsHarness } from './payments-harness';

/** Field names no answer may carry, documented or not. */
const FORBIDDEN_FIELD = /hash|password|digest|private/i;

interface Operation extends DocumentOperation {
  name: string;
}

function operationsOf(document: OpenAPIObject): Operation[] {
  return documentOperations(document).map((o) => ({ ...o, name: `${o.method} ${o.path}` }));
}

/** The paths (`data.0.secret`) of fields in `value` that `schema` does not declare. */
function undocumented(document: OpenAPIObject, value: unknown, raw: Schema, at = ''): string[] {
  const schema = resolveSchema(document, raw);
  if (Array.isArray(value)) {
    const items = (schema['items'] ?? {}) as Schema;
    return value.flatMap((item, i) => undocumented(document, item, items, `${at}${i}.`));
  }
  if (typeof value !== 'object' || value === null) return [];
  const properties = schema['properties'] as Record<string, Schema> | undefined;
  const extra = schema['additionalProperties'];
  return Object.entries(value).flatMap(([key, child]) => {
    const path = `${at}${key}`;
    if (FORBIDDEN_FIELD.test(key)) return [`${path} (forbidden name)`];
    // A map (`metadata`) declares its values, not its keys: those are the merchant's.
    const declared =
      properties?.[key] ?? (typeof extra === 'object' ? (extra as Schema) : undefined);
    if (declared === undefined) return extra === true ? [] : [path];
    return undocumented(document, child, declared, `${path}.`);
  });
}

function segmentOf(path: string): string {
  return path.split('/')[2] ?? '';
}

describe('OWASP API Security Top 10: authorization', () => {
  let h: PaymentsHarness;
  let db: TestDatabase;
  let refunds: ServiceProcess;
  let document: OpenAPIObject;
  let operations: Operation[];
  let a: CreatedMerchant;
  let b: CreatedMerchant;
  /** A's objects by the path segment that names their kind. */
  const ofA: Record<string, string> = {};
  /** Every JSON answer of the session, with the operation that gave it. */
  const session: { operation: Operation; reply: Reply }[] = [];

  const operation = (name: string): Operation => {
    const found = operations.find((o) => o.name === name);
    if (found === undefined) throw new Error(`the document has no ${name}`);
    return found;
  };

  async function call<T = unknown>(
    name: string,
    key: string,
    { id, query = '', body }: { id?: string; query?: string; body?: unknown } = {},
  ): Promise<Reply<T>> {
    const op = operation(name);
    const path = op.path.replace('{id}', encodeURIComponent(id ?? '')) + query;
    const hasBody = op.method === 'POST' || op.method === 'PATCH';
    const reply = await h.gw.call<T>(op.method, path, {
      key,
      ...(hasBody ? { body: body ?? {} } : {}),
    });
    if (reply.headers.get('content-type')?.startsWith('application/json')) {
      session.push({ operation: op, reply });
    }
    return reply;
  }

  async function seedSettlement(merchant: CreatedMerchant, suffix: string): Promise<void> {
    const run = `srun_owasp${suffix}`;
    const settlement = `stl_owasp${suffix}`;
    await db.query(
      `INSERT INTO settlement_runs (id, cut_off, status, merchants, created_at, completed_at)
       VALUES ($1, $2, 'completed', 1, now(), now())`,
      [run, suffix === 'A' ? '2026-01-02T00:00:00Z' : '2026-01-03T00:00:00Z'],
    );
    await db.query(
      `INSERT INTO settlements (id, run_id, merchant_id, currency, status, attempt, count, gross,
         refunds, fees, net, fees_owed_in, fees_collected, fees_owed_out, to_available, created_at)
       VALUES ($1, $2, $3, 'usd', 'settled', 1, 1, 1000, 0, 59, 941, 0, 59, 0, 941, now())`,
      [settlement, run, merchant.id],
    );
    await db.query(
      `INSERT INTO payouts (id, merchant_id, currency, amount, status, settlement_id,
         failure_code, created_at) VALUES ($1, $2, 'usd', 941, 'paid', $3, NULL, now())`,
      [`po_owasp${suffix}`, merchant.id, settlement],
    );
  }

  beforeAll(async () => {
    // Refused keys below are the point, not a flood: the per-address limit stays out of it.
    h = await startPayments({
      AUTH_FAILURE_LIMIT_PER_MIN: '10000',
      ADMIN_AUTH_FAILURE_LIMIT_PER_MIN: '10000',
    });
    refunds = await startServiceOnFreePort('refund', h.gw.infra.env);
    // The operator's connection: fixtures of other services' tables, and counts.
    db = connectDatabase(h.gw.infra.databaseUrl);
    const docs = await h.gw.call<OpenAPIObject>('GET', '/docs-json', { key: null });
    document = docs.body;
    operations = operationsOf(document);
    a = await h.gw.createMerchant();
    b = await h.gw.createMerchant();
    const paid = await h.pay(a, card());
    const held = await h.pay(a, card('tok_visa', { capture_method: 'manual' }));
    expect([paid.status, held.status]).toEqual([200, 200]);
    const refund = await call<{ id: string }>('POST /v1/refunds', a.api_key, {
      body: { payment: paid.body.id, amount: 100 },
    });
    expect(refund.status).toBe(200);
    const events = await call<{ data: { id: string }[] }>('GET /v1/events', a.api_key);
    await seedSettlement(a, 'A');
    await seedSettlement(b, 'B');
    ofA['payments'] = held.body.id;
    ofA['refunds'] = refund.body.id;
    ofA['events'] = events.body.data[0]?.id ?? '';
    ofA['settlements'] = 'stl_owaspA';
    ofA['payouts'] = 'po_owaspA';
    // B has objects too, so its lists are not empty by accident.
    await h.pay(b, card());
  });

  afterAll(async () => {
    await db.close();
    await refunds.stop();
    await h.close();
  });

  const merchantOperations = (): Operation[] => operations.filter((o) => !o.admin);

  describe('API1: object level', () => {
    it("answers B 404 resource_missing on every merchant route with one of A's ids, and leaves A's object as it was", async () => {
      const routes = merchantOperations().filter((o) => o.path.includes('{id}'));
      expect(routes.length).toBeGreaterThan(5);
      const answers: Record<string, unknown> = {};
      for (const route of routes) {
        const id = ofA[segmentOf(route.path)];
        if (id === undefined) throw new Error(`no object of A for ${route.name}: add one`);
        const before = await call('GET ' + route.path.replace(/\/\{id\}.*/, '/{id}'), a.api_key, {
          id,
        });
        const reply = await call<ErrorReply>(route.name, b.api_key, { id });
        const after = await call('GET ' + route.path.replace(/\/\{id\}.*/, '/{id}'), a.api_key, {
          id,
        });
        expect(before.status).toBe(200);
        expect(after.body).toEqual(before.body);
        expect(reply.text).not.toContain(a.id);
        answers[route.name] = {
          status: reply.status,
          code: (reply.body as Partial<ErrorReply>).error?.code,
        };
      }
      const expected = Object.fromEntries(
        routes.map((r) => [r.name, { status: 404, code: 'resource_missing' }]),
      );
      expect(answers).toEqual(expected);
    });

    it("never lists A's objects to B, and refuses A's ids as B's cursors and filters", async () => {
      const lists = merchantOperations().filter((o) => o.method === 'GET' && !o.path.includes('{'));
      const idsOfA = Object.values(ofA);
      const problems: string[] = [];
      for (const list of lists) {
        const plain = await call<{ data?: { id: string }[] }>(list.name, b.api_key);
        expect({ name: list.name, status: plain.status }).toEqual({ name: list.name, status: 200 });
        if (idsOfA.some((id) => plain.text.includes(id)) || plain.text.includes(a.id)) {
          problems.push(`${list.name} shows A's objects`);
        }
        const params = (list.op.parameters ?? []).filter(
          (p): p is ParameterObject => 'in' in p && p.in === 'query',
        );
        for (const param of params) {
          const id = param.name === 'payment' ? ofA['payments'] : ofA[segmentOf(list.path)];
          if (!['starting_after', 'ending_before', 'payment'].includes(param.name) || !id) continue;
          const reply = await call<ErrorReply>(list.name, b.api_key, {
            query: `?${param.name}=${id}`,
          });
          const code = (reply.body as Partial<ErrorReply>).error?.code;
          // A cursor must name one of B's objects; a filter by A's object may instead
          // find nothing (an empty list confirms nothing either).
          const empty =
            param.name === 'payment' && reply.status === 200 && !/"id"/.test(reply.text);
          const missing = reply.status === 404 && code === 'resource_missing';
          if (!(missing || empty) || reply.text.includes(a.id)) {
            problems.push(
              `${list.name}?${param.name}=A's: ${reply.status} ${reply.text.slice(0, 200)}`,
            );
          }
        }
      }
      expect(problems).toEqual([]);
    });

    it("answers B 404 for a body that names A's payment, and creates nothing", async () => {
      const before = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM refunds');
      const reply = await call<ErrorReply>('POST /v1/refunds', b.api_key, {
        body: { payment: ofA['payments'], amount: 1 },
      });
      expect({ status: reply.status, code: reply.body.error.code }).toEqual({
        status: 404,
        code: 'resource_missing',
      });
      const after = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM refunds');
      expect(after).toEqual(before);
    });
  });

  describe('API5: function level', () => {
    it('refuses a merchant key on every admin route, and the operators’ key on every merchant route', async () => {
      const answers: Record<string, number> = {};
      for (const route of operations) {
        const key = route.admin ? a.api_key : h.gw.adminKey;
        const id = ofA[segmentOf(route.path)] ?? a.id;
        const reply = await call<ErrorReply>(route.name, key, { id });
        answers[route.name] = reply.status;
        expect(reply.body.error).toMatchObject({ type: 'authentication_error' });
      }
      expect(answers).toEqual(Object.fromEntries(operations.map((o) => [o.name, 401])));
      expect(operations.filter((o) => o.admin).length).toBeGreaterThan(5);
    });
  });

  describe('API3: property level', () => {
    it('answers only documented fields, never a key digest, and secrets only where documented', async () => {
      // The rest of the session: the one-time answers with secrets, and the reads.
      const created = await call('POST /v1/admin/merchants', h.gw.adminKey, {
        body: { name: 'c' },
      });
      const merchant = created.body as CreatedMerchant;
      await call('GET /v1/admin/merchants/{id}', h.gw.adminKey, { id: merchant.id });
      await call('PATCH /v1/admin/merchants/{id}', h.gw.adminKey, {
        id: merchant.id,
        body: { name: 'd' },
      });
      await call('POST /v1/admin/merchants/{id}/keys', h.gw.adminKey, { id: merchant.id });
      await call('POST /v1/webhook_secret/roll', a.api_key);
      for (const route of merchantOperations().filter((o) => o.method === 'GET')) {
        await call(route.name, a.api_key, { id: ofA[segmentOf(route.path)] ?? '' });
      }
      await call('GET /v1/admin/ledger/check', h.gw.adminKey);
      await call('GET /v1/admin/operations', h.gw.adminKey);
      await call('GET /v1/admin/dead-letters', h.gw.adminKey);

      const digests = await db.query<{ key_hash: string }>('SELECT key_hash FROM api_keys');
      expect(digests.length).toBeGreaterThan(2);
      const problems: string[] = [];
      const secrets = new Set<string>();
      for (const { operation: op, reply } of session) {
        const response = op.op.responses[String(reply.status)] as
          { content?: Record<string, { schema?: Schema }> } | undefined;
        const schema = response?.content?.['application/json']?.schema;
        if (schema === undefined) {
          problems.push(`${op.name} ${reply.status}: no documented JSON answer`);
          continue;
        }
        for (const path of undocumented(document, reply.body, schema)) {
          problems.push(`${op.name} ${reply.status}: ${path}`);
        }
        for (const { key_hash } of digests) {
          if (reply.text.includes(key_hash)) problems.push(`${op.name}: a key digest`);
        }
        for (const match of reply.text.matchAll(
          /"([a-z_]*(?:secret|api_key)[a-z_]*)":"([^"]+)"/g,
        )) {
          secrets.add(`${op.name} ${match[1]}`);
        }
      }
      expect(problems).toEqual([]);
      // The rule can fail: an undeclared field and a digest's name are found.
      const payment = { $ref: '#/components/schemas/PaymentDto' };
      const leaky = { id: 'pay_x', merchant_id: a.id, metadata: { k: 'v' }, key_hash: 'h' };
      expect(undocumented(document, leaky, payment).sort()).toEqual(
        ['key_hash (forbidden name)', 'merchant_id'].sort(),
      );
      expect([...secrets].sort()).toEqual(
        [
          'POST /v1/admin/merchants api_key',
          'POST /v1/admin/merchants webhook_secret',
          'POST /v1/admin/merchants/{id}/keys api_key',
          'POST /v1/webhook_secret/roll secret',
        ].sort(),
      );
      expect(session.length).toBeGreaterThan(40);
    });
  });
});
