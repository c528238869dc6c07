/**
 * Every class of bad request answers a clean 4xx in the one error shape
 * `{"error": {type, code, message, param}}`, and a fault of ours a 500 with an error id
 * and no stack.
 *
 * How: requests are sent raw (fetch) to the real gateway: unknown fields, wrong types,
 * malformed JSON, bodies that are not objects, a body over the 100 kB limit, unknown
 * routes and bad list parameters (one message for a bad `limit`, on every list). For the
 * 500, the test renames a table under the running gateway (a failure no input can
 * cause) and puts it back afterwards.
 */
import { Client } from 'pg';
import { startGateway, type ErrorReply, type GatewayHarness } from './gateway-harness';

const ERROR_KEYS = ['code', 'message', 'param', 'type'];

describe('errors', () => {
  let gw: GatewayHarness;
  let merchantKey: string;

  beforeAll(async () => {
    gw = await startGateway();
    merchantKey = (await gw.createMerchant()).api_key;
  });

  afterAll(async () => {
    await gw.close();
  });

  const expectError = (reply: { status: number; body: unknown }, status: number, code: string) => {
    expect(reply.status).toBe(status);
    const { error } = reply.body as ErrorReply;
    expect(Object.keys(reply.body as object)).toEqual(['error']);
    expect(Object.keys(error).sort()).toEqual(ERROR_KEYS);
    expect(error.code).toBe(code);
    expect(typeof error.message).toBe('string');
    return error;
  };

  it('answers 400 parameter_unknown for a field the route does not take', async () => {
    const reply = await gw.call('POST', '/v1/admin/merchants', {
      body: { name: 'x', amount: 100 },
    });
    expect(expectError(reply, 400, 'parameter_unknown')).toMatchObject({
      type: 'invalid_request_error',
      param: 'amount',
    });
  });

  it('answers 400 parameter_invalid for a wrong type, never coercing it', async () => {
    for (const name of [12, true, ['x'], { a: 1 }, '']) {
      const reply = await gw.call('POST', '/v1/admin/merchants', { body: { name } });
      expect(expectError(reply, 400, 'parameter_invalid').param).toBe('name');
    }
  });

  it('answers 400 body_malformed for malformed JSON', async () => {
    for (const raw of ['{"name": "x",', '{name: x}', 'nul', '{"a":1}}']) {
      const reply = await gw.call('POST', '/v1/admin/merchants', { raw });
      expect(expectError(reply, 400, 'body_malformed')).toMatchObject({
        type: 'invalid_request_error',
        param: null,
      });
    }
  });

  it('answers 400 when the body is JSON but not an object', async () => {
    for (const raw of ['[1,2]', '[]']) {
      const reply = await gw.call('POST', '/v1/admin/merchants', { raw });
      expectError(reply, 400, 'parameter_invalid');
    }
    // Strict JSON parsing accepts objects and arrays only.
    const scalar = await gw.call('POST', '/v1/admin/merchants', { raw: '"name"' });
    expectError(scalar, 400, 'body_malformed');
  });

  it('answers 413 body_too_large past the 100 kB limit, and reads nothing of it', async () => {
    const raw = JSON.stringify({ name: 'x'.repeat(110 * 1024) });
    const reply = await gw.call('POST', '/v1/admin/merchants', { raw });
    expect(expectError(reply, 413, 'body_too_large').type).toBe('invalid_request_error');
    // Just under the limit is read (and then refused by validation, name too long).
    const under = await gw.call('POST', '/v1/admin/merchants', {
      raw: JSON.stringify({ name: 'x'.repeat(90 * 1024) }),
    });
    expect(expectError(under, 400, 'parameter_invalid').param).toBe('name');
  });

  it('treats a body that is not JSON as no body', async () => {
    const reply = await gw.call('POST', '/v1/admin/merchants', {
      raw: 'name=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(expectError(reply, 400, 'parameter_missing').param).toBe('name');
  });

  it('answers 404 resource_missing for an unknown route, authenticated or not', async () => {
    for (const [method, path, key] of [
      ['GET', '/v1/nothing-here', merchantKey],
      ['POST', '/v1/events', merchantKey],
      ['DELETE', '/v1/admin/merchants', null],
      ['GET', '/', null],
    ] as const) {
      const reply = await gw.call(method, path, { key });
      expect(expectError(reply, 404, 'resource_missing').type).toBe('invalid_request_error');
    }
  });

  it('answers 404 resource_missing for an object that does not exist', async () => {
    const reply = await gw.call('GET', '/v1/events/evt_missing', { key: merchantKey });
    expect(expectError(reply, 404, 'resource_missing').message).toContain('evt_missing');
  });

  it('validates list parameters', async () => {
    const cases: [string, string, string][] = [
      ['limit=abc', 'parameter_invalid', 'limit'],
      ['limit=0', 'parameter_invalid', 'limit'],
      ['limit=101', 'parameter_invalid', 'limit'],
      ['limit=2.5', 'parameter_invalid', 'limit'],
      ['colour=red', 'parameter_unknown', 'colour'],
      ['starting_after=evt_a&ending_before=evt_b', 'parameter_invalid', 'ending_before'],
      ['starting_after=evt_nope', 'resource_missing', 'starting_after'],
    ];
    for (const [query, code, param] of cases) {
      const reply = await gw.call('GET', `/v1/events?${query}`, { key: merchantKey });
      const status = code === 'resource_missing' ? 404 : 400;
      expect({ query, param: expectError(reply, status, code).param }).toEqual({ query, param });
    }
    const fine = await gw.call('GET', '/v1/events?limit=100', { key: merchantKey });
    expect(fine.status).toBe(200);
  });

  it('says what limit takes, on every list route, for any limit that is not 1 to 100', async () => {
    const routes: [string, string | null][] = [
      ['/v1/payments', merchantKey],
      ['/v1/refunds', merchantKey],
      ['/v1/events', merchantKey],
      ['/v1/admin/dead-letters', gw.adminKey],
    ];
    for (const [path, key] of routes) {
      for (const query of [
        'limit=abc',
        'limit=2.5',
        'limit=0',
        'limit=101',
        'limit=',
        'limit=1&limit=2',
      ]) {
        const reply = await gw.call('GET', `${path}?${query}`, { key });
        const error = expectError(reply, 400, 'parameter_invalid');
        expect({ path, query, param: error.param, message: error.message }).toEqual({
          path,
          query,
          param: 'limit',
          message: 'Invalid limit: limit must be an integer between 1 and 100',
        });
      }
    }
  });

  it('answers 500 api_error with an error id and no stack for a fault of ours', async () => {
    const db = new Client({ connectionString: gw.infra.databaseUrl });
    await db.connect();
    await db.query(`ALTER TABLE events RENAME TO events_away`);
    try {
      const reply = await gw.call('GET', '/v1/events', { key: merchantKey });
      const error = expectError(reply, 500, 'api_error');
      expect(error.type).toBe('api_error');
      expect(error.message).toMatch(/err_[A-Za-z0-9]{24}/);
      expect(reply.text).not.toMatch(/events_away|relation|at .*\.ts|QueryFailedError/);
    } finally {
      await db.query(`ALTER TABLE events_away RENAME TO events`);
      await db.end();
    }
    expect((await gw.call('GET', '/v1/events', { key: merchantKey })).status).toBe(200);
  });

  it('leaves health and metrics public and answers with a request id', async () => {
    const live = await gw.call('GET', '/health/live', { key: null });
    expect(live.status).toBe(200);
    expect(live.headers.get('x-request-id')).toMatch(/^req_/);
    const metrics = await gw.call<string>('GET', '/metrics', { key: null });
    expect(metrics.status).toBe(200);
    // Requests are counted by route pattern, not by raw path.
    expect(metrics.text).toMatch(
      /clearline_http_request_duration_seconds_count\{[^}]*route="\/v1\/events\/:id"[^}]*\} \d+/,
    );
    expect(metrics.text).not.toContain('evt_missing');
  });
});
