import { hostname } from 'node:os';
import {
  celeryEvent,
  clientNodename,
  EventClock,
  eventRoutingKey,
  taskMessageFields,
  taskOutcomeEvent,
  taskSentFields,
  utcoffsetHours,
  workerEventFields,
} from './celery-events';

const headers = {
  lang: 'py',
  task: 'gateway.capture',
  id: 'a1',
  eta: null,
  expires: '2030-01-01T00:00:00.000Z',
  retries: 2,
  root_id: 'r1',
  parent_id: 'p1',
  argsrepr: '()',
  kwargsrepr: "{'payment_id': 'pay_1'}",
};

describe('Celery event envelope', () => {
  it('stamps node, pid, Lamport clock, utcoffset, epoch seconds and type', () => {
    const clock = new EventClock();
    const now = new Date('2026-03-01T12:00:00.250Z');
    const event = celeryEvent('task-started', 'gateway.7@box', { uuid: 'a1' }, clock, now);
    expect(event).toEqual({
      hostname: 'gateway.7@box',
      utcoffset: utcoffsetHours(now),
      pid: process.pid,
      clock: 1,
      uuid: 'a1',
      timestamp: 1_772_366_400.25,
      type: 'task-started',
    });
    expect(celeryEvent('task-started', 'n', {}, clock, now).clock).toBe(2);
  });

  it("keeps Lamport's rule: past any clock it hears of", () => {
    const clock = new EventClock();
    clock.forward();
    expect(clock.adjust(10)).toBe(11);
    expect(clock.adjust(3)).toBe(12);
    expect(clock.adjust(Number.NaN)).toBe(13);
  });

  it("gives utcoffset as Python's time.timezone // 3600 (hours west, rounded down)", () => {
    const at = (offsetMinutes: number): Date =>
      ({ getTimezoneOffset: () => offsetMinutes }) as unknown as Date;
    expect(utcoffsetHours(at(0))).toBe(0);
    expect(utcoffsetHours(at(-60))).toBe(-1); // CET: UTC+1
    expect(utcoffsetHours(at(-330))).toBe(-6); // India, UTC+5:30: -19800 // 3600
    expect(utcoffsetHours(at(300))).toBe(5); // New York in winter
  });

  it('routes by type with dots, and names a client gen<pid>@host', () => {
    expect(eventRoutingKey('task-succeeded')).toBe('task.succeeded');
    expect(eventRoutingKey('worker-heartbeat')).toBe('worker.heartbeat');
    expect(clientNodename(42)).toBe(`gen42@${hostname()}`);
  });
});

describe('task event fields', () => {
  it('task-received carries what strategy.py sends, reprs as the producer wrote them', () => {
    expect(taskMessageFields(headers)).toEqual({
      uuid: 'a1',
      name: 'gateway.capture',
      args: '()',
      kwargs: "{'payment_id': 'pay_1'}",
      root_id: 'r1',
      parent_id: 'p1',
      retries: 2,
      eta: null,
      expires: '2030-01-01T00:00:00.000Z',
    });
    expect(taskMessageFields({ task: 'x' })).toBeNull();
    const long = taskMessageFields({ ...headers, kwargsrepr: 'k'.repeat(5_000) });
    expect(long?.['kwargs']).toHaveLength(1_024 + 3);
  });

  it('task-sent adds the queue, exchange and routing key', () => {
    expect(
      taskSentFields(headers, {
        queue: 'gateway',
        exchange: 'clearline.tasks',
        routingKey: 'gateway',
      }),
    ).toMatchObject({
      uuid: 'a1',
      name: 'gateway.capture',
      queue: 'gateway',
      exchange: 'clearline.tasks',
      routing_key: 'gateway',
    });
  });

  const base = { id: 'a1', task: 'gateway.capture', queue: 'gateway', retries: 0 };

  it('SUCCESS is task-succeeded with the result repr and the runtime', () => {
    expect(
      taskOutcomeEvent(
        { ...base, state: 'SUCCESS', result: { captured: true } },
        { runtimeS: 0.25, terminated: false },
      ),
    ).toEqual({
      type: 'task-succeeded',
      fields: { uuid: 'a1', result: "{'captured': True}", runtime: 0.25 },
    });
  });

  it('FAILURE and RETRY carry the exception repr and the traceback', () => {
    const failed = { ...base, errorType: 'ValueError', errorMessage: 'bad', traceback: 'tb' };
    const run = { runtimeS: 0, terminated: false };
    expect(taskOutcomeEvent({ ...failed, state: 'FAILURE' }, run)).toEqual({
      type: 'task-failed',
      fields: { uuid: 'a1', exception: "ValueError('bad')", traceback: 'tb' },
    });
    expect(taskOutcomeEvent({ ...failed, state: 'RETRY' }, run)?.type).toBe('task-retried');
  });

  it('REVOKED says whether it was terminated or expired', () => {
    const revoked = { ...base, state: 'REVOKED' as const, errorType: 'TaskRevokedError' };
    expect(taskOutcomeEvent(revoked, { runtimeS: 0, terminated: false })?.fields).toEqual({
      uuid: 'a1',
      terminated: false,
      signum: null,
      expired: false,
    });
    expect(taskOutcomeEvent(revoked, { runtimeS: 1, terminated: true })?.fields).toMatchObject({
      terminated: true,
      signum: '15',
    });
    const expired = { ...revoked, errorType: 'TaskExpired' };
    expect(taskOutcomeEvent(expired, { runtimeS: 0, terminated: false })?.fields).toMatchObject({
      expired: true,
    });
  });

  it('STARTED has no outcome event (it is sent when the handler begins)', () => {
    expect(
      taskOutcomeEvent({ ...base, state: 'STARTED' }, { runtimeS: 0, terminated: false }),
    ).toBeNull();
  });
});

describe('worker event fields', () => {
  it("carry heart.py's fields: freq 2, active, processed, loadavg and the software", () => {
    const fields = workerEventFields({ active: 3, processed: 40 });
    expect(fields).toMatchObject({ freq: 2, active: 3, processed: 40, sw_ident: 'clearline-node' });
    expect(fields['loadavg']).toHaveLength(3);
    expect(typeof fields['sw_sys']).toBe('string');
  });
});
