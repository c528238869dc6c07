import 'reflect-metadata';
import { CommonEnvironment, validateEnvironment } from './environment';
import { trace } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { cardMaskingStream, logFormat, traceFields } from './observability.module';

describe('log format', () => {
  it('is readable on a developer terminal and JSON when the output goes elsewhere', () => {
    expect(logFormat({ NODE_ENV: 'development' }, true)).toBe('pretty');
    expect(logFormat({ NODE_ENV: 'development' }, false)).toBe('json');
  });

  it('follows LOG_FORMAT in development, whatever the output is', () => {
    expect(logFormat({ NODE_ENV: 'development', LOG_FORMAT: 'json' }, true)).toBe('json');
    expect(logFormat({ NODE_ENV: 'development', LOG_FORMAT: 'pretty' }, false)).toBe('pretty');
  });

  it('is always JSON in tests and production, so pino-pretty is never loaded there', () => {
    for (const NODE_ENV of ['test', 'production'] as const) {
      expect(logFormat({ NODE_ENV }, true)).toBe('json');
      expect(logFormat({ NODE_ENV, LOG_FORMAT: 'pretty' }, true)).toBe('json');
    }
  });

  it('refuses an unknown LOG_FORMAT, and pretty in production, naming the variable', () => {
    expect(() => validateEnvironment(CommonEnvironment, { LOG_FORMAT: 'colour' })).toThrow(
      /LOG_FORMAT: LOG_FORMAT must be one of the following values: json, pretty/,
    );
    expect(() =>
      validateEnvironment(CommonEnvironment, { NODE_ENV: 'production', LOG_FORMAT: 'pretty' }),
    ).toThrow(/LOG_FORMAT: pretty is for development/);
    expect(validateEnvironment(CommonEnvironment, {}).LOG_FORMAT).toBeUndefined();
    expect(
      validateEnvironment(CommonEnvironment, { NODE_ENV: 'test', LOG_FORMAT: 'pretty' }).LOG_FORMAT,
    ).toBe('pretty');
  });
});

describe('log lines', () => {
  it('leave the process with card numbers masked, whatever field holds them', () => {
    const written: string[] = [];
    const stream = cardMaskingStream({ write: (line: string) => written.push(line) });
    stream.write(
      `${JSON.stringify({ level: 30, time: 1764767000000, req: { url: '/v1/payments?source=4242424242424242' }, msg: 'card 5555-5555-5555-4444 refused' })}\n`,
    );
    const [line] = written;
    expect(line).not.toMatch(/4242424242424242|5555-5555-5555-4444/);
    expect(JSON.parse(line ?? '')).toMatchObject({
      time: 1764767000000,
      req: { url: '/v1/payments?source=[card number removed]' },
      msg: 'card [card number removed] refused',
    });
  });
});

describe('METRICS_PORT', () => {
  it('is optional, a port number when set, and refused otherwise, naming the variable', () => {
    expect(validateEnvironment(CommonEnvironment, {}).METRICS_PORT).toBeUndefined();
    expect(validateEnvironment(CommonEnvironment, { METRICS_PORT: '9464' }).METRICS_PORT).toBe(
      9464,
    );
    for (const bad of ['0', '70000', 'metrics']) {
      expect(() => validateEnvironment(CommonEnvironment, { METRICS_PORT: bad })).toThrow(
        /METRICS_PORT: /,
      );
    }
  });
});

describe('trace ids in log lines', () => {
  it('names the active span, and nothing outside one', () => {
    expect(traceFields()).toEqual({});
    const provider = new NodeTracerProvider();
    provider.register();
    trace.getTracer('test').startActiveSpan('work', (span) => {
      const { traceId, spanId } = span.spanContext();
      expect(traceFields()).toEqual({ trace_id: traceId, span_id: spanId });
      span.end();
    });
    expect(traceFields()).toEqual({});
  });
});
