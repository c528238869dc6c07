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
