import 'reflect-metadata';
import { validateEnvironment } from '@clearline/platform';
import { GatewayEnvironment, rateLimitRedisFailure } from './gateway.env';

/** An operators' key long enough to be accepted (32 characters at least). */
const ADMIN_API_KEY = 'sk_admin_0123456789abcdef0123456789abcdef';

describe('gateway environment', () => {
  it('requires ADMIN_API_KEY and names it, without echoing values', () => {
    expect(() => validateEnvironment(GatewayEnvironment, {})).toThrow(/ADMIN_API_KEY: must be set/);
    const bad = (): unknown =>
      validateEnvironment(GatewayEnvironment, {
        ADMIN_API_KEY: 'has space',
        REDIS_URL: 'http://secret@x',
      });
    expect(bad).toThrow(/ADMIN_API_KEY[\s\S]*REDIS_URL/);
    expect(bad).not.toThrow(/has space|secret/);
  });

  it('defaults the port, Redis and its key prefix, the rate limit and the payment wait', () => {
    const env = validateEnvironment(GatewayEnvironment, { ADMIN_API_KEY });
    expect(env).toMatchObject({
      GATEWAY_PORT: 3000,
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_KEY_PREFIX: 'clearline:',
      RATE_LIMIT_PER_S: 100,
      PAYMENT_WAIT_MS: 10_000,
    });
    // Unset outside production: the sandbox (payments.module.ts).
    expect(env.PAYMENT_PROCESSOR).toBeUndefined();
  });

  it('in production, refuses to start unless the processor is named, and on the sandbox unless told to', () => {
    const production = {
      ADMIN_API_KEY,
      NODE_ENV: 'production',
      SECRETS_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    };
    expect(() => validateEnvironment(GatewayEnvironment, production)).toThrow(
      /PAYMENT_PROCESSOR: .*with NODE_ENV=production it must be set/,
    );
    expect(() =>
      validateEnvironment(GatewayEnvironment, { ...production, PAYMENT_PROCESSOR: 'sandbox' }),
    ).toThrow(/PAYMENT_PROCESSOR: .*ALLOW_SANDBOX_IN_PRODUCTION=1/);
    const staging = validateEnvironment(GatewayEnvironment, {
      ...production,
      PAYMENT_PROCESSOR: 'sandbox',
      ALLOW_SANDBOX_IN_PRODUCTION: '1',
    });
    expect(staging.PAYMENT_PROCESSOR).toBe('sandbox');
  });

  it('refuses an unknown processor or a payment wait out of range', () => {
    const base = { ADMIN_API_KEY };
    expect(() =>
      validateEnvironment(GatewayEnvironment, { ...base, PAYMENT_PROCESSOR: 'stripe' }),
    ).toThrow(/PAYMENT_PROCESSOR/);
    for (const wait of ['-1', '30001', 'soon']) {
      expect(() =>
        validateEnvironment(GatewayEnvironment, { ...base, PAYMENT_WAIT_MS: wait }),
      ).toThrow(/PAYMENT_WAIT_MS/);
    }
  });

  it('refuses a bad rate limit or Redis URL', () => {
    const base = { ADMIN_API_KEY };
    expect(() =>
      validateEnvironment(GatewayEnvironment, { ...base, RATE_LIMIT_PER_S: '0' }),
    ).toThrow(/RATE_LIMIT_PER_S/);
    expect(() =>
      validateEnvironment(GatewayEnvironment, { ...base, RATE_LIMIT_PER_S: 'fast' }),
    ).toThrow(/RATE_LIMIT_PER_S/);
    expect(() =>
      validateEnvironment(GatewayEnvironment, { ...base, REDIS_URL: 'localhost:6379' }),
    ).toThrow(/REDIS_URL/);
  });

  it('takes a Redis key prefix per deployment, and refuses one that could break Cluster hash tags', () => {
    const base = { ADMIN_API_KEY };
    expect(
      validateEnvironment(GatewayEnvironment, { ...base, REDIS_KEY_PREFIX: 'eu-1.prod:' }),
    ).toMatchObject({ REDIS_KEY_PREFIX: 'eu-1.prod:' });
    for (const prefix of ['a{b}:', 'has space', 'x'.repeat(65)]) {
      expect(() =>
        validateEnvironment(GatewayEnvironment, { ...base, REDIS_KEY_PREFIX: prefix }),
      ).toThrow(/REDIS_KEY_PREFIX/);
    }
  });
});

describe('gateway environment: webhooks', () => {
  const base = { ADMIN_API_KEY };

  it('bounds every webhook attempt by default: 2 s to connect, 5 s in all, 4 per merchant', () => {
    expect(validateEnvironment(GatewayEnvironment, base)).toMatchObject({
      WEBHOOK_CONNECT_TIMEOUT_MS: 2_000,
      WEBHOOK_TIMEOUT_MS: 5_000,
      WEBHOOK_MERCHANT_IN_FLIGHT_MAX: 4,
    });
  });

  it.each([
    ['WEBHOOK_CONNECT_TIMEOUT_MS', ['0', '99', '30001', 'soon']],
    ['WEBHOOK_TIMEOUT_MS', ['0', '30001', '1.5']],
    ['WEBHOOK_MERCHANT_IN_FLIGHT_MAX', ['0', '1001', 'many']],
  ])('refuses %s out of range, naming it', (name, values) => {
    for (const value of values) {
      expect(() => validateEnvironment(GatewayEnvironment, { ...base, [name]: value })).toThrow(
        new RegExp(name),
      );
    }
  });
});

describe('gateway environment: recovery', () => {
  const base = { ADMIN_API_KEY };

  it('resumes operations in flight for a minute by default, and takes another bound', () => {
    expect(validateEnvironment(GatewayEnvironment, base)).toMatchObject({
      OPERATION_RESUME_AFTER_MS: 60_000,
    });
    expect(
      validateEnvironment(GatewayEnvironment, { ...base, OPERATION_RESUME_AFTER_MS: '500' }),
    ).toMatchObject({ OPERATION_RESUME_AFTER_MS: 500 });
  });

  it('refuses OPERATION_RESUME_AFTER_MS out of range, naming it', () => {
    for (const value of ['0', '99', '86400001', 'soon']) {
      expect(() =>
        validateEnvironment(GatewayEnvironment, { ...base, OPERATION_RESUME_AFTER_MS: value }),
      ).toThrow(/OPERATION_RESUME_AFTER_MS/);
    }
  });
});

describe('gateway environment: webhook targets and sealed secrets', () => {
  const base = { ADMIN_API_KEY };
  const key = Buffer.alloc(32, 7).toString('base64');

  it('takes https public webhook hosts only by default; 1 allows http or private hosts', () => {
    expect(validateEnvironment(GatewayEnvironment, base)).toMatchObject({
      WEBHOOK_ALLOW_HTTP: '0',
      WEBHOOK_ALLOW_PRIVATE: '0',
    });
    expect(
      validateEnvironment(GatewayEnvironment, {
        ...base,
        WEBHOOK_ALLOW_HTTP: '1',
        WEBHOOK_ALLOW_PRIVATE: '1',
      }),
    ).toMatchObject({ WEBHOOK_ALLOW_HTTP: '1', WEBHOOK_ALLOW_PRIVATE: '1' });
    for (const name of ['WEBHOOK_ALLOW_HTTP', 'WEBHOOK_ALLOW_PRIVATE']) {
      for (const value of ['yes', 'true', '2']) {
        expect(() => validateEnvironment(GatewayEnvironment, { ...base, [name]: value })).toThrow(
          new RegExp(name),
        );
      }
    }
  });

  it('takes SECRETS_ENCRYPTION_KEY as 32 bytes of base64, naming it and never echoing it', () => {
    expect(
      validateEnvironment(GatewayEnvironment, { ...base, SECRETS_ENCRYPTION_KEY: key }),
    ).toMatchObject({ SECRETS_ENCRYPTION_KEY: key });
    const short = Buffer.alloc(16, 7).toString('base64');
    for (const value of [short, `${key}A`, 'not base64 at all, not at all, no no no no!!']) {
      const bad = (): unknown =>
        validateEnvironment(GatewayEnvironment, { ...base, SECRETS_ENCRYPTION_KEY: value });
      expect(bad).toThrow(/SECRETS_ENCRYPTION_KEY: must be 32 random bytes in base64/);
      expect(bad).not.toThrow(value);
    }
  });

  it('requires SECRETS_ENCRYPTION_KEY in production only', () => {
    expect(validateEnvironment(GatewayEnvironment, base).SECRETS_ENCRYPTION_KEY).toBeUndefined();
    expect(() =>
      validateEnvironment(GatewayEnvironment, { ...base, NODE_ENV: 'production' }),
    ).toThrow(/SECRETS_ENCRYPTION_KEY: .*required with NODE_ENV=production/);
    expect(
      validateEnvironment(GatewayEnvironment, {
        ...base,
        NODE_ENV: 'production',
        PAYMENT_PROCESSOR: 'sandbox',
        ALLOW_SANDBOX_IN_PRODUCTION: '1',
        SECRETS_ENCRYPTION_KEY: key,
      }).SECRETS_ENCRYPTION_KEY,
    ).toBe(key);
  });
});

describe('gateway environment: authentication and rate limits', () => {
  const base = { ADMIN_API_KEY };

  it('refuses an ADMIN_API_KEY shorter than 32 characters, naming it, never echoing it', () => {
    for (const key of ['sk_admin_short', 'x'.repeat(31)]) {
      const start = (): unknown => validateEnvironment(GatewayEnvironment, { ADMIN_API_KEY: key });
      expect(start).toThrow(/ADMIN_API_KEY: must be set: 32 to 512 characters/);
      expect(start).not.toThrow(new RegExp(key));
    }
    expect(
      validateEnvironment(GatewayEnvironment, { ADMIN_API_KEY: 'x'.repeat(32) }),
    ).toBeDefined();
  });

  it('limits failed authentications per address by default: 30 a minute, 10 on admin routes', () => {
    expect(validateEnvironment(GatewayEnvironment, base)).toMatchObject({
      AUTH_FAILURE_LIMIT_PER_MIN: 30,
      ADMIN_AUTH_FAILURE_LIMIT_PER_MIN: 10,
    });
    for (const name of ['AUTH_FAILURE_LIMIT_PER_MIN', 'ADMIN_AUTH_FAILURE_LIMIT_PER_MIN']) {
      for (const value of ['0', '-1', 'many', '1.5']) {
        expect(() => validateEnvironment(GatewayEnvironment, { ...base, [name]: value })).toThrow(
          new RegExp(name),
        );
      }
    }
  });

  it('fails rate limits closed without Redis in production, open elsewhere, unless told', () => {
    const staging = { PAYMENT_PROCESSOR: 'sandbox', ALLOW_SANDBOX_IN_PRODUCTION: '1' };
    const policy = (env: Record<string, string>): string =>
      rateLimitRedisFailure(
        validateEnvironment(GatewayEnvironment, { ...base, ...staging, ...env }),
      );
    expect(policy({ NODE_ENV: 'production', SECRETS_ENCRYPTION_KEY: 'A'.repeat(43) + '=' })).toBe(
      'closed',
    );
    expect(policy({ NODE_ENV: 'development' })).toBe('open');
    expect(policy({ NODE_ENV: 'test', RATE_LIMIT_REDIS_FAILURE: 'closed' })).toBe('closed');
    expect(() =>
      validateEnvironment(GatewayEnvironment, { ...base, RATE_LIMIT_REDIS_FAILURE: 'maybe' }),
    ).toThrow(/RATE_LIMIT_REDIS_FAILURE/);
  });

  it('takes TRUST_PROXY as a hop count or a list of proxy addresses, and refuses "trust all"', () => {
    for (const value of ['1', '10.0.0.0/8,loopback', '']) {
      expect(
        validateEnvironment(GatewayEnvironment, { ...base, TRUST_PROXY: value }),
      ).toBeDefined();
    }
    for (const value of ['true', '11', 'proxy.internal', '10.0.0.0/40']) {
      expect(() =>
        validateEnvironment(GatewayEnvironment, { ...base, TRUST_PROXY: value }),
      ).toThrow(/TRUST_PROXY/);
    }
  });
});
