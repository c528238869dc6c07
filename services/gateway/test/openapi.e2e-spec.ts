/**
 * The OpenAPI document at /docs-json is exact enough for client generators: Redocly's
 * `recommended` ruleset finds nothing in it (no error, no warning); no task payload is
 * published as a schema; every operation declares the error answers the gateway can
 * give, with the one error schema; POSTs declare `Idempotency-Key`; money and times are
 * 64-bit integers; the bearer schemes are opaque keys, not JWTs.
 *
 * How: the real gateway (startGateway) serves its document over HTTP. Redocly's
 * `lintDocument` runs in a child Node process: @redocly/openapi-core is published as
 * ES modules only, which Node loads natively but Jest's module registry cannot.
 */
import { execFileSync } from 'node:child_process';
import type { OpenAPIObject, OperationObject, SchemaObject } from '@nestjs/swagger';
import { TaskServer, type TaskHandlerOptions } from '@clearline/tasks';
import { anyNumber, startGateway, type GatewayHarness } from './gateway-harness';

interface LintProblem {
  ruleId: string;
  severity: string;
  message: string;
  at: string[];
}

/** Reads a document on stdin, prints Redocly's findings (recommended rules) as JSON. */
const LINT_SCRIPT = `
const { BaseResolver, createConfig, lintDocument, makeDocumentFromString } =
  require('@redocly/openapi-core');
let source = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => (source += chunk));
process.stdin.on('end', async () => {
  const config = await createConfig({ extends: ['recommended'] });
  const problems = await lintDocument({
    document: makeDocumentFromString(source, '/openapi.json'),
    config,
    externalRefResolver: new BaseResolver(config.resolve),
  });
  const found = problems.map((p) => ({
    ruleId: p.ruleId,
    severity: p.severity,
    message: p.message,
    at: p.location.map((l) => l.pointer),
  }));
  process.stdout.write('\\n' + JSON.stringify(found) + '\\n');
});`;

function redoclyRecommended(document: string): LintProblem[] {
  const output = execFileSync(process.execPath, ['-e', LINT_SCRIPT], {
    input: document,
    encoding: 'utf8',
    timeout: 60_000,
  });
  // The last line is ours; anything Redocly logs comes before it.
  const lines = output.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] ?? '[]') as LintProblem[];
}

const ERROR_REF = '#/components/schemas/ErrorResponseDto';
const METHODS = ['get', 'put', 'post', 'patch', 'delete'] as const;

function operations(document: OpenAPIObject): [string, OperationObject][] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    METHODS.flatMap((method): [string, OperationObject][] => {
      const operation = item[method];
      return operation ? [[`${method.toUpperCase()} ${path}`, operation]] : [];
    }),
  );
}

function responseSchemaRef(operation: OperationObject, status: string): string | undefined {
  const response = operation.responses[status] as
    { content?: Record<string, { schema?: { $ref?: string } }> } | undefined;
  return response?.content?.['application/json']?.schema?.$ref;
}

function headerNames(operation: OperationObject): string[] {
  return (operation.parameters ?? []).flatMap((p) =>
    'in' in p && p.in === 'header' ? [p.name] : [],
  );
}

describe('OpenAPI document', () => {
  let gw: GatewayHarness;
  let text: string;
  let document: OpenAPIObject;

  beforeAll(async () => {
    gw = await startGateway();
    const reply = await gw.call<OpenAPIObject>('GET', '/docs-json', { key: null });
    expect(reply.status).toBe(200);
    text = reply.text;
    document = reply.body;
  });

  afterAll(async () => {
    await gw.close();
  });

  it("passes Redocly's recommended rules with no error and no warning", () => {
    const problems = redoclyRecommended(text);
    const report = problems.map((p) => `${p.severity} ${p.ruleId} ${p.at.join(' ')}: ${p.message}`);
    expect(report).toEqual([]);
  });

  it('publishes no task payload as a schema', () => {
    const payloads = [...gw.app.get(TaskServer).getHandlers().values()].flatMap((handler) => {
      const payload = (handler.extras as TaskHandlerOptions | undefined)?.payload;
      return payload ? [payload.name] : [];
    });
    // The gateway's own tasks and the platform's ping are among them, so this can fail.
    expect(payloads).toEqual(
      expect.arrayContaining(['PaymentTaskPayload', 'DeliverWebhookPayload', 'PingPayload']),
    );
    const schemas = Object.keys(document.components?.schemas ?? {});
    expect(schemas.filter((name) => payloads.includes(name))).toEqual([]);
  });

  it('publishes the versioned API only', () => {
    expect(Object.keys(document.paths).filter((path) => !path.startsWith('/v1/'))).toEqual([]);
    expect(document.servers).toEqual([expect.objectContaining({ url: '/' })]);
  });

  it('declares on every operation the errors it can answer, with the one error schema', () => {
    const missing: string[] = [];
    for (const [name, operation] of operations(document)) {
      const expected = ['401', '429', '500'];
      if (operation.requestBody) expected.push('400', '413');
      if (name.startsWith('POST ')) expected.push('400', '409', '422');
      if ((operation.parameters ?? []).some((p) => 'in' in p && p.in === 'query')) {
        expected.push('400');
      }
      for (const status of expected) {
        if (responseSchemaRef(operation, status) !== ERROR_REF) missing.push(`${name} ${status}`);
      }
      for (const status of Object.keys(operation.responses).filter((s) => s >= '400')) {
        if (responseSchemaRef(operation, status) !== ERROR_REF) missing.push(`${name} ${status}`);
      }
    }
    expect(missing).toEqual([]);
    const payments = document.paths['/v1/payments']?.post;
    expect(responseSchemaRef(payments!, '402')).toBe(ERROR_REF);
    expect(responseSchemaRef(document.paths['/v1/payments/{id}']!.get!, '404')).toBe(ERROR_REF);
  });

  it('describes the error object once, with the card error fields', () => {
    const schemas = document.components!.schemas as Record<string, SchemaObject>;
    const detail = schemas['ErrorDetailDto']!;
    expect(Object.keys(detail.properties ?? {})).toEqual([
      'type',
      'code',
      'message',
      'param',
      'payment',
      'decline_code',
    ]);
    expect(detail.required).toEqual(['type', 'code', 'message', 'param']);
    expect(schemas['ErrorResponseDto']?.properties?.['error']).toEqual({
      $ref: '#/components/schemas/ErrorDetailDto',
    });
  });

  it('declares Idempotency-Key on every POST, and Prefer where it is honoured', () => {
    const all = operations(document);
    const posts = all.filter(([name]) => name.startsWith('POST '));
    expect(posts.length).toBeGreaterThan(5);
    expect(
      posts.filter(([, operation]) => !headerNames(operation).includes('Idempotency-Key')),
    ).toEqual([]);
    const prefer = all.filter(([, operation]) => headerNames(operation).includes('Prefer'));
    expect(prefer.map(([name]) => name).sort()).toEqual([
      'POST /v1/payments',
      'POST /v1/payments/{id}/cancel',
      'POST /v1/payments/{id}/capture',
      'POST /v1/refunds',
    ]);
  });

  it('types money and times as 64-bit integers and webhook_url as a nullable URI', () => {
    const schemas = document.components!.schemas as Record<string, SchemaObject>;
    const property = (schema: string, name: string) => schemas[schema]?.properties?.[name];
    for (const [schema, name] of [
      ['CreatePaymentDto', 'amount'],
      ['PaymentDto', 'amount'],
      ['PaymentDto', 'amount_captured'],
      ['CapturePaymentDto', 'amount_to_capture'],
      ['RefundDto', 'amount'],
      ['BalanceAmountDto', 'amount'],
      ['PricingDto', 'fixed'],
      ['PaymentDto', 'created'],
    ] as const) {
      expect({ schema, name, ...property(schema, name) }).toMatchObject({
        schema,
        name,
        type: 'integer',
        format: 'int64',
        minimum: anyNumber(),
        ...(name === 'created' ? {} : { maximum: anyNumber() }),
      });
    }
    for (const schema of ['CreateMerchantDto', 'UpdateMerchantDto', 'MerchantDto']) {
      expect(property(schema, 'webhook_url')).toMatchObject({
        type: 'string',
        format: 'uri',
        nullable: true,
      });
    }
    const limit = document.paths['/v1/payments']?.get?.parameters?.find(
      (p) => 'name' in p && p.name === 'limit',
    );
    expect(limit).toMatchObject({ schema: { type: 'integer', minimum: 1, maximum: 100 } });
  });

  it('describes the bearer keys as opaque API keys, not JWTs', () => {
    const schemes = document.components?.securitySchemes ?? {};
    expect(Object.keys(schemes).sort()).toEqual(['admin_key', 'merchant_key']);
    for (const scheme of Object.values(schemes)) {
      expect(scheme).toMatchObject({ type: 'http', scheme: 'bearer' });
      expect(scheme).not.toHaveProperty('bearerFormat');
      expect(JSON.stringify(scheme)).toMatch(/opaque/);
    }
  });

  it('tells operators how task ids are formed, with an example of each', () => {
    const route = document.paths['/v1/admin/tasks/{id}']!.get!;
    for (const form of [
      'pay_…:authorize',
      'pay_…:capture',
      'pay_…:cancel',
      'pay_…:ledger:<step>:<attempt>',
      're_…:process',
      're_…:ledger:hold:pending',
      're_…:ledger:post',
      're_…:settled',
    ]) {
      expect(route.description).toContain(form);
    }
    const id = route.parameters?.find((p) => 'name' in p && p.name === 'id');
    const examples = Object.values((id as { examples?: object }).examples ?? {}) as {
      value: string;
    }[];
    expect(
      examples.map((example) => example.value.replace(/^(pay|re)_[A-Za-z0-9]+/, '$1_…')),
    ).toEqual(
      expect.arrayContaining([
        'pay_…:authorize',
        'pay_…:capture',
        'pay_…:cancel',
        'pay_…:ledger:authorize:0',
        're_…:process',
        're_…:ledger:hold:pending',
        're_…:ledger:post',
        're_…:settled',
      ]),
    );
  });
});
