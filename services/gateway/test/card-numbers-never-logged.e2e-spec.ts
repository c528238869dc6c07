/**
 * Card numbers are never logged (issue 15). Card numbers of many brands and every length
 * from 13 to 19 digits, plain, spaced, dashed and inside longer text, go everywhere a
 * client can put them: every route of the OpenAPI document (path ids, every query
 * parameter, every top-level body field, as text and as JSON numbers), metadata keys and
 * values, webhook URLs, malformed JSON bodies, and the Idempotency-Key, User-Agent,
 * X-Request-Id and a custom header of every request. Around them, a normal payment, a
 * refund and a webhook delivery run. Then every line every process wrote (stdout and
 * stderr) is scanned (`log-scan.ts`: stricter than the services' masking) and the test
 * fails naming each line that holds a card-number look-alike, masked.
 *
 * How: the gateway, ledger, refund and settlement services as processes
 * (`startPlatform`) at LOG_LEVEL=trace, their most verbose (every request, every task);
 * a local webhook endpoint; the log files the harness keeps for every service process.
 */
import type { OpenAPIObject, OperationObject, ParameterObject } from '@nestjs/swagger';
import {
  card,
  describeFindings,
  eventually,
  paymentsApi,
  SERVICE_START_TIMEOUT_MS,
  scanLogFiles,
  startPlatform,
  type CreatedMerchant,
  type Platform,
  type ServiceName,
} from '@clearline/testing';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { operationsOf, resolveSchema, type Schema } from './openapi-schema';

jest.setTimeout(SERVICE_START_TIMEOUT_MS * 2);

const SERVICES: readonly ServiceName[] = ['gateway', 'ledger', 'refund', 'settlement'];

/** Luhn-valid test numbers: brands and lengths 13 to 19, first digits 1 to 9. */
const CARD_NUMBERS = [
  '4242424242424242', // Visa 16
  '4222222222222', // Visa 13
  '4000000000000000006', // Visa 19
  '5555555555554444', // Mastercard
  '2200000000000004', // Mir
  '378282246310005', // American Express 15
  '36227206271667', // Diners Club 14
  '6011111111111117', // Discover
  '3530111333300000', // JCB
  '62000000000000000', // UnionPay 17
  '679999999999999995', // Maestro 18
  '135410014004955', // UATP 15
  '8171999927660000', // RuPay
  '9792000000000003', // Troy
];

const grouped = (digits: string, separator: string): string =>
  (digits.match(/.{1,4}/g) ?? []).join(separator);

/** Every card number plain, spaced, dashed and inside text: the values sent everywhere. */
const VALUES = CARD_NUMBERS.flatMap((digits) => [
  digits,
  grouped(digits, ' '),
  grouped(digits, '-'),
  `order for ${grouped(digits, ' ')} please`,
]);

/** The `i`th value, round the list. */
const value = (i: number): string => VALUES[i % VALUES.length] as string;

/** The top-level fields of an operation's JSON body, or none. */
function bodyFields(document: OpenAPIObject, op: OperationObject): string[] {
  const body = op.requestBody as { content?: Record<string, { schema?: Schema }> } | undefined;
  const schema = body?.content?.['application/json']?.schema;
  if (schema === undefined) return [];
  return Object.keys(resolveSchema(document, schema)['properties'] ?? {});
}

/** A merchant's webhook endpoint that answers 200 and counts what it received. */
function webhookEndpoint(): { server: Server; received: string[] } {
  const received: string[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push(Buffer.concat(chunks).toString('utf8'));
      res.end('ok');
    });
  });
  return { server, received };
}

describe('card numbers are never logged', () => {
  let platform: Platform;
  /** Stops the services (once: the scan stops them before afterAll). */
  let closePlatform = (): Promise<void> => Promise.resolve();
  let merchant: CreatedMerchant;
  let document: OpenAPIObject;
  const endpoint = webhookEndpoint();
  let endpointUrl = '';
  /** Requests sent, counted to check the logs saw them. */
  let sent = 0;
  /** Requests whose answer's body held one of the card numbers. */
  const echoed: string[] = [];

  beforeAll(async () => {
    await new Promise<void>((resolve) => endpoint.server.listen(0, '127.0.0.1', resolve));
    const address = endpoint.server.address();
    if (address === null || typeof address === 'string') throw new Error('no webhook port');
    endpointUrl = `http://127.0.0.1:${address.port}`;
    const verbose = { LOG_LEVEL: 'trace' };
    platform = await startPlatform({
      services: SERVICES,
      env: {
        gateway: { ...verbose, WEBHOOK_ALLOW_HTTP: '1', WEBHOOK_ALLOW_PRIVATE: '1' },
        ledger: verbose,
        refund: verbose,
        settlement: verbose,
      },
    });
    closePlatform = () => {
      closePlatform = () => Promise.resolve();
      return platform.close();
    };
    merchant = await platform.gw.createMerchant({ webhook_url: `${endpointUrl}/hooks` });
    document = (await platform.gw.call<OpenAPIObject>('GET', '/docs-json', { key: null })).body;
  });

  afterAll(async () => {
    await closePlatform();
    await new Promise((resolve) => endpoint.server.close(resolve));
  });

  /** One request with a card number in each header a client sets. */
  const send = async (
    method: string,
    path: string,
    i: number,
    { admin = false, body, raw }: { admin?: boolean; body?: unknown; raw?: string } = {},
  ) => {
    sent += 1;
    const reply = await platform.gw.call(method, path, {
      key: admin ? platform.gw.adminKey : merchant.api_key,
      headers: {
        'user-agent': `client/1.0 (${value(i + 1)})`,
        'x-request-id': value(i + 2),
        'x-clearline-note': value(i + 3),
      },
      ...(method === 'POST' || method === 'PATCH' ? { idempotencyKey: value(i) } : {}),
      ...(body === undefined ? {} : { body }),
      ...(raw === undefined ? {} : { raw }),
    });
    // Nor in a header: the request id a client sent is replaced, not echoed.
    const digits = `${reply.text} ${reply.headers.get('x-request-id') ?? ''}`.replace(/[ -]/g, '');
    if (CARD_NUMBERS.some((number) => digits.includes(number))) {
      echoed.push(`${method} ${path} → ${reply.status}`);
    }
  };

  it('are sent in every place a client can put one, around a payment, a refund and a webhook', async () => {
    const api = paymentsApi(platform.gw);
    const paid = await api.pay(merchant, card('tok_visa', { amount: 2_500 }));
    expect(paid.status).toBe(200);
    const refund = await api.refund(merchant, { payment: paid.body.id, amount: 500 });
    expect(refund.status).toBe(200);
    await api.untilRefund(merchant, refund.body.id, 'succeeded');

    let i = 0;
    for (const { method, path, op, admin } of operationsOf(document)) {
      const parameters = (op.parameters ?? []) as ParameterObject[];
      const query = parameters.filter((p) => p.in === 'query').map((p) => p.name);
      const fields = bodyFields(document, op);
      const route = (id: string) => path.replace(/\{[^}]+\}/g, encodeURIComponent(id));
      // A card number as the path id, as each query parameter, as each body field (text
      // and a JSON number), each its own request so no other refusal comes first.
      if (path.includes('{')) await send(method, route(value(i++)), i, { admin });
      for (const name of query) {
        const encoded = encodeURIComponent(value(i++)).replace(/%20/g, i % 2 ? '+' : '%20');
        await send(method, `${route(paid.body.id)}?${name}=${encoded}`, i, { admin });
      }
      for (const name of fields) {
        await send(method, route(paid.body.id), i, { admin, body: { [name]: value(i++) } });
        const digits = CARD_NUMBERS[i % CARD_NUMBERS.length] as string;
        await send(method, route(paid.body.id), i, { admin, body: { [name]: Number(digits) } });
      }
      if (!path.includes('{') && query.length === 0 && fields.length === 0) {
        await send(method, path, i++, { admin });
      }
    }
    for (const [n, text] of VALUES.entries()) {
      const payment = card('tok_visa', { metadata: { [text]: 'x' } });
      await send('POST', '/v1/payments', n, { body: payment });
      await send('POST', '/v1/payments', n, { body: card('tok_visa', { metadata: { k: text } }) });
      await send('POST', '/v1/payments', n, { body: card(text) });
      await send('POST', '/v1/payments', n, { raw: `{"amount":2000,"source":"${text}` });
      const hook = `${endpointUrl}/hooks/${encodeURIComponent(text)}`;
      await send('POST', '/v1/admin/merchants', n, {
        admin: true,
        body: { name: `m ${randomUUID()}`, webhook_url: hook },
      });
      await send('PATCH', `/v1/admin/merchants/${merchant.id}`, n, {
        admin: true,
        body: { webhook_url: hook },
      });
    }
    // The merchant still gets its webhooks: the payment's and the refund's.
    await eventually(() => endpoint.received.length >= 2, { what: 'the webhooks delivered' });
    // Refused, and never echoed back either.
    expect(echoed).toEqual([]);
  });

  it('leave no card-number look-alike in any line any process wrote', async () => {
    const files = SERVICES.map((service) => platform.process(service).logFile);
    await closePlatform();
    const paths = files.filter((file): file is string => file !== null);
    expect(paths).toHaveLength(SERVICES.length);
    const findings = await scanLogFiles(paths);
    if (findings.length > 0) throw new Error(describeFindings(findings));
    // The logs saw the requests: a scan of empty files proves nothing. (A malformed JSON
    // body is refused by the body parser, ahead of the request logger: no line.)
    const gateway = await readFile(paths[0] as string, 'utf8');
    const completed = gateway.split('\n').filter((line) => line.includes('"req":')).length;
    expect(completed).toBeGreaterThanOrEqual(sent - VALUES.length);
    expect(gateway).toContain('[card number removed]');
  });
});
