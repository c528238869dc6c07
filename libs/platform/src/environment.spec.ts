import 'reflect-metadata';
import { CommonEnvironment, parseTaskLanes, validateEnvironment } from './environment';

describe('task lane variables', () => {
  it('reads TASK_LANES as a list of known lanes, or none', () => {
    expect(parseTaskLanes('webhooks')).toEqual(['webhooks']);
    expect(parseTaskLanes('realtime, batch,realtime')).toEqual(['realtime', 'batch']);
    expect(parseTaskLanes('none')).toEqual([]);
    expect(parseTaskLanes('webhooks,slow')).toBeNull();
  });

  it('refuses an unknown lane or a bad lane setting, naming the variable', () => {
    expect(() => validateEnvironment(CommonEnvironment, { TASK_LANES: 'webhooks,slow' })).toThrow(
      /TASK_LANES: must be a comma list of lanes \(realtime, webhooks, batch\) or none/,
    );
    expect(() =>
      validateEnvironment(CommonEnvironment, { TASK_CONCURRENCY_WEBHOOKS: '0' }),
    ).toThrow(/TASK_CONCURRENCY_WEBHOOKS/);
  });

  it('gives each lane its defaults and takes overrides', () => {
    const env = validateEnvironment(CommonEnvironment, { TASK_PREFETCH_BATCH: '32' });
    expect(env).toMatchObject({
      TASK_PREFETCH: 200,
      TASK_CONCURRENCY: 100,
      TASK_PREFETCH_WEBHOOKS: 64,
      TASK_CONCURRENCY_WEBHOOKS: 64,
      TASK_PREFETCH_BATCH: 32,
      TASK_CONCURRENCY_BATCH: 4,
    });
    expect(env.TASK_LANES).toBeUndefined();
  });
});

describe('publish deadline variables', () => {
  it('default to a 5 s confirm deadline and a backlog of 10,000, and take overrides', () => {
    expect(validateEnvironment(CommonEnvironment, {})).toMatchObject({
      TASK_CONFIRM_TIMEOUT_MS: 5_000,
      TASK_PUBLISH_BACKLOG_MAX: 10_000,
    });
    expect(
      validateEnvironment(CommonEnvironment, {
        TASK_CONFIRM_TIMEOUT_MS: '2000',
        TASK_PUBLISH_BACKLOG_MAX: '500',
      }),
    ).toMatchObject({ TASK_CONFIRM_TIMEOUT_MS: 2_000, TASK_PUBLISH_BACKLOG_MAX: 500 });
  });

  it('refuses a deadline or a backlog out of range, naming the variable', () => {
    expect(() => validateEnvironment(CommonEnvironment, { TASK_CONFIRM_TIMEOUT_MS: '0' })).toThrow(
      /TASK_CONFIRM_TIMEOUT_MS/,
    );
    expect(() =>
      validateEnvironment(CommonEnvironment, { TASK_PUBLISH_BACKLOG_MAX: 'lots' }),
    ).toThrow(/TASK_PUBLISH_BACKLOG_MAX/);
  });
});

describe('TASK_EVENTS', () => {
  it('is on by default, and 0 turns Celery events off', () => {
    expect(validateEnvironment(CommonEnvironment, {}).TASK_EVENTS).toBe('1');
    expect(validateEnvironment(CommonEnvironment, { TASK_EVENTS: '0' }).TASK_EVENTS).toBe('0');
  });

  it('refuses anything but 0 or 1, naming the variable', () => {
    expect(() => validateEnvironment(CommonEnvironment, { TASK_EVENTS: 'yes' })).toThrow(
      /TASK_EVENTS: must be 0 \(no Celery events\) or 1/,
    );
  });
});

describe('TASK_DRAIN_TIMEOUT_MS', () => {
  it('drains for 15 s by default and takes 1 s to 10 min', () => {
    expect(validateEnvironment(CommonEnvironment, {}).TASK_DRAIN_TIMEOUT_MS).toBe(15_000);
    expect(
      validateEnvironment(CommonEnvironment, { TASK_DRAIN_TIMEOUT_MS: '60000' })
        .TASK_DRAIN_TIMEOUT_MS,
    ).toBe(60_000);
    for (const bad of ['0', '999', '600001', 'forever']) {
      expect(() => validateEnvironment(CommonEnvironment, { TASK_DRAIN_TIMEOUT_MS: bad })).toThrow(
        /TASK_DRAIN_TIMEOUT_MS/,
      );
    }
  });
});

describe('HTTP_DRAIN_TIMEOUT_MS', () => {
  it('closes what is left of HTTP after 10 s by default and takes 0 to 10 min', () => {
    expect(validateEnvironment(CommonEnvironment, {}).HTTP_DRAIN_TIMEOUT_MS).toBe(10_000);
    expect(
      validateEnvironment(CommonEnvironment, { HTTP_DRAIN_TIMEOUT_MS: '0' }).HTTP_DRAIN_TIMEOUT_MS,
    ).toBe(0);
    for (const bad of ['-1', '600001', '1.5', 'forever']) {
      expect(() => validateEnvironment(CommonEnvironment, { HTTP_DRAIN_TIMEOUT_MS: bad })).toThrow(
        /HTTP_DRAIN_TIMEOUT_MS/,
      );
    }
  });
});
