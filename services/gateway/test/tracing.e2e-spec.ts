/**
 * One payment is one trace: a merchant's `traceparent` on `POST /v1/payments` continues
 * through the gateway's API span, the gateway's payment task and the ledger's transfer
 * task, each a child of the span that sent it, across the two processes; the merchant's
 * sampling decision is followed; refunds go on in the trace of their request.
 *
 * How: a local OTLP/HTTP receiver (JSON, as OpenTelemetry's exporter sends it) stands in
 * for a collector; the gateway, the ledger and the refund service run as their own
 * processes with OTEL_EXPORTER_OTLP_ENDPOINT pointing at it, and the spans they export
 * are read back by trace id.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import {
  card,
  eventually,
  paymentsApi,
  startPlatform,
  type CreatedMerchant,
  type PaymentsApi,
  type Platform,
} from '@clearline/testing';

interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  service: string;
}

interface OtlpBody {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value: { stringValue?: string } }[] };
    scopeSpans?: { spans?: Omit<ExportedSpan, 'service'>[] }[];
  }[];
}

/** An OTLP/HTTP endpoint that keeps every span it is sent. */
async function otlpReceiver(): Promise<{ server: Server; url: string; spans: ExportedSpan[] }> {
  const spans: ExportedSpan[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpBody;
        for (const resource of body.resourceSpans ?? []) {
          const service =
            resource.resource?.attributes?.find((a) => a.key === 'service.name')?.value
              .stringValue ?? '';
          for (const scope of resource.scopeSpans ?? []) {
            for (const span of scope.spans ?? []) spans.push({ ...span, service });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { server, url: `http://127.0.0.1:${address.port}`, spans };
}

const SPAN_KIND = { server: 2, consumer: 5 } as const;

describe('traces across the services (OpenTelemetry, W3C traceparent)', () => {
  let receiver: Awaited<ReturnType<typeof otlpReceiver>>;
  let platform: Platform;
  let api: PaymentsApi;
  let merchant: CreatedMerchant;

  beforeAll(async () => {
    receiver = await otlpReceiver();
    const otel = {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: '100',
    };
    platform = await startPlatform({
      services: ['gateway', 'ledger', 'refund'],
      env: { gateway: otel, ledger: otel, refund: otel },
    });
    api = paymentsApi(platform.gw);
    merchant = await platform.gw.createMerchant();
  });

  afterAll(async () => {
    await platform.close();
    await new Promise((resolve) => receiver.server.close(resolve));
  });

  const traceOf = (traceId: string): ExportedSpan[] =>
    receiver.spans.filter((span) => span.traceId === traceId);

  it("continues the caller's trace from the API through the payment task into the ledger", async () => {
    const traceId = randomBytes(16).toString('hex');
    const callerSpan = randomBytes(8).toString('hex');
    const paid = await api.pay(merchant, card(), {
      headers: { traceparent: `00-${traceId}-${callerSpan}-01` },
    });
    expect(paid.status).toBe(200);

    // Spans leave each process in its own batches: wait for the whole chain.
    const chain = await eventually(
      () => {
        const spans = traceOf(traceId);
        const byId = new Map(spans.map((s) => [s.spanId, s]));
        const path: ExportedSpan[] = [];
        let step = spans.find(
          (s) => s.kind === SPAN_KIND.consumer && s.service === 'clearline-ledger',
        );
        while (step) {
          path.push(step);
          step = step.parentSpanId === undefined ? undefined : byId.get(step.parentSpanId);
        }
        const top = path.at(-1);
        return top?.kind === SPAN_KIND.server && path;
      },
      { timeoutMs: 30_000, what: `the ledger's span in trace ${traceId}, back to the request` },
    );
    // ledger task <- gateway payment task <- … <- the API request <- the merchant's span
    const request = chain.at(-1);
    expect(request).toMatchObject({ service: 'clearline-gateway', parentSpanId: callerSpan });
    expect(chain.map((s) => `${s.service} ${s.name}`)).toEqual(
      expect.arrayContaining([
        'clearline-ledger process ledger.create_transfers',
        expect.stringMatching(/^clearline-gateway process gateway\./),
      ]),
    );
  });

  it("follows the caller's decision not to sample", async () => {
    const traceId = randomBytes(16).toString('hex');
    const paid = await api.pay(merchant, card(), {
      headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-00` },
    });
    expect(paid.status).toBe(200);
    // A sampled payment sent after it is exported; the unsampled one never is.
    const after = randomBytes(16).toString('hex');
    await api.pay(merchant, card(), {
      headers: { traceparent: `00-${after}-${randomBytes(8).toString('hex')}-01` },
    });
    await eventually(() => traceOf(after).some((s) => s.service === 'clearline-ledger'), {
      timeoutMs: 30_000,
      what: 'the later sampled trace',
    });
    expect(traceOf(traceId)).toEqual([]);
  });

  it('carries a refund through the refund service in the trace of its request', async () => {
    const payment = await api.captured(merchant);
    const traceId = randomBytes(16).toString('hex');
    const refund = await api.refund(
      merchant,
      { payment, amount: 500 },
      { headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` } },
    );
    expect(refund.status).toBe(200);
    // The API request, the refund service's task and the ledger's hold and posting.
    const services = await eventually(
      () => {
        const found = new Set(traceOf(traceId).map((s) => s.service));
        return found.size === 3 && found;
      },
      { timeoutMs: 30_000, what: `three services' spans in trace ${traceId}` },
    );
    expect(services).toEqual(
      new Set(['clearline-gateway', 'clearline-refund', 'clearline-ledger']),
    );
  });
});
