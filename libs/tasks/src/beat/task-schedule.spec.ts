import {
  GRACE_MS_DEFAULT,
  nextSlotAfter,
  planSlots,
  ScheduleError,
  slotsBetween,
  SLOTS_PER_PASS_MAX,
  validateSchedules,
  type TaskSchedule,
} from './task-schedule';

const at = (iso: string): number => new Date(iso).getTime();
const iso = (ms: number): string => new Date(ms).toISOString();

describe('schedule slots', () => {
  it('aligns interval slots to the epoch, so every replica computes the same ones', () => {
    const slots = slotsBetween(
      { everyMs: 60_000 },
      at('2026-01-01T00:00:30Z'),
      at('2026-01-01T00:03:00Z'),
      10,
    );
    expect(slots.map(iso)).toEqual([
      '2026-01-01T00:01:00.000Z',
      '2026-01-01T00:02:00.000Z',
      '2026-01-01T00:03:00.000Z',
    ]);
    expect(slotsBetween({ everyMs: 1_000 }, 0, 1_000_000, 5)).toHaveLength(5);
  });

  it('keeps a cron time in its zone across the switch to summer time (Berlin, 09:00)', () => {
    const timing = { cron: '0 9 * * *', timezone: 'Europe/Berlin' };
    const slots = slotsBetween(timing, at('2026-03-27T12:00:00Z'), at('2026-03-30T12:00:00Z'), 10);
    // CET is UTC+1 until 29 March 2026 02:00, CEST (UTC+2) after.
    expect(slots.map(iso)).toEqual([
      '2026-03-28T08:00:00.000Z',
      '2026-03-29T07:00:00.000Z',
      '2026-03-30T07:00:00.000Z',
    ]);
  });

  it('fires a time the spring-forward skips once, an hour later, and a repeated time once (New York)', () => {
    const skipped = slotsBetween(
      { cron: '30 2 * * *', timezone: 'America/New_York' },
      at('2026-03-07T12:00:00Z'),
      at('2026-03-09T12:00:00Z'),
      10,
    );
    // 8 March 2026: 02:00 EST jumps to 03:00 EDT; 02:30 does not exist.
    expect(skipped.map(iso)).toEqual(['2026-03-08T07:30:00.000Z', '2026-03-09T06:30:00.000Z']);
    const repeated = slotsBetween(
      { cron: '30 1 * * *', timezone: 'America/New_York' },
      at('2026-10-31T12:00:00Z'),
      at('2026-11-02T12:00:00Z'),
      10,
    );
    // 1 November 2026: 01:00–02:00 happens twice; the job runs at the first 01:30 only.
    expect(repeated.map(iso)).toEqual(['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z']);
  });

  it('reads 6-field cron with seconds, and gives the next run strictly after a time', () => {
    const timing = { cron: '*/2 * * * * *' };
    expect(iso(nextSlotAfter(timing, at('2026-01-01T00:00:02Z')))).toBe('2026-01-01T00:00:04.000Z');
    expect(iso(nextSlotAfter({ everyMs: 500 }, at('2026-01-01T00:00:02.250Z')))).toBe(
      '2026-01-01T00:00:02.500Z',
    );
    expect(
      iso(nextSlotAfter({ cron: '0 0 * * *', timezone: 'Asia/Tokyo' }, at('2026-01-01T16:00:00Z'))),
    ).toBe('2026-01-02T15:00:00.000Z');
  });
});

describe('planning a pass', () => {
  const now = at('2026-06-01T12:00:00Z');

  it('sends the slots after the last one sent that are still within grace, oldest first', () => {
    const plan = planSlots({ everyMs: 1_000, graceMs: 3_000 }, now - 10_000, now);
    expect(plan.due.map((slot) => (slot - now) / 1_000)).toEqual([-2, -1, 0]);
    // (now-10 s, now-3 s]: seven slots too old to send.
    expect(plan.skipped).toBe(7);
  });

  it('reports skipped slots once', () => {
    const timing = { everyMs: 1_000, graceMs: 3_000 };
    const reportedThrough = now - 3_000;
    expect(planSlots(timing, now - 10_000, now + 1_000, reportedThrough).skipped).toBe(1);
  });

  it('starts a schedule that never sent at its latest slot, only if within grace', () => {
    expect(planSlots({ everyMs: 60_000, graceMs: 5_000 }, null, now + 2_000)).toEqual({
      due: [now],
      skipped: 0,
    });
    expect(planSlots({ everyMs: 60_000, graceMs: 5_000 }, null, now + 10_000)).toEqual({
      due: [],
      skipped: 0,
    });
  });

  it('sends nothing twice within a pass and nothing already sent', () => {
    expect(planSlots({ everyMs: 1_000 }, now, now + 999).due).toEqual([]);
    expect(planSlots({ everyMs: 1_000 }, now, now + 1_000).due).toEqual([now + 1_000]);
  });

  it('starts at the latest slot even when the grace window holds more than can be walked', () => {
    const timing = { cron: '* * * * * *', graceMs: 24 * 3_600_000 };
    expect(planSlots(timing, null, now + 1_500).due).toEqual([now + 1_000]);
  });

  it('starts at the slot a spring-forward moved, as the slots sent are computed', () => {
    // 8 March 2026, New York: 02:30 does not exist; the 02:30 job runs at 03:30 EDT.
    const timing = { cron: '30 2 * * *', timezone: 'America/New_York', graceMs: 24 * 3_600_000 };
    expect(planSlots(timing, null, at('2026-03-08T12:00:00Z')).due.map(iso)).toEqual([
      '2026-03-08T07:30:00.000Z',
    ]);
  });

  it('bounds the slots of one pass', () => {
    const plan = planSlots({ everyMs: 100 }, now - GRACE_MS_DEFAULT + 1, now);
    expect(plan.due).toHaveLength(SLOTS_PER_PASS_MAX);
    expect(plan.due[0]).toBeGreaterThan(now - GRACE_MS_DEFAULT);
  });

  it('plans cron slots in their zone, with the default grace of five minutes', () => {
    const timing = { cron: '*/1 * * * *', timezone: 'Europe/Paris' };
    const plan = planSlots(timing, now - 10 * 60_000, now);
    expect(plan.due).toHaveLength(5);
    expect(plan.skipped).toBe(5);
  });
});

describe('validating schedules', () => {
  const base = { name: 'sweep', task: 'ledger.sweep' };
  const invalid = (schedule: TaskSchedule): string => {
    try {
      validateSchedules([schedule]);
    } catch (error) {
      expect(error).toBeInstanceOf(ScheduleError);
      return (error as Error).message;
    }
    throw new Error('accepted');
  };

  it('refuses a bad cron, a bad zone or a bad interval, naming the schedule', () => {
    expect(invalid({ ...base, cron: '99 * * * *' })).toMatch(/^schedule "sweep": bad cron/);
    expect(invalid({ ...base, cron: '0 0 * * *', timezone: 'Mars/Olympus' })).toMatch(
      /^schedule "sweep": unknown time zone/,
    );
    expect(invalid({ ...base, everyMs: 10 })).toMatch(/everyMs/);
    expect(invalid({ ...base })).toMatch(/exactly one of cron and everyMs/);
    expect(invalid({ ...base, everyMs: 1_000, cron: '* * * * *' })).toMatch(/exactly one/);
    expect(invalid({ ...base, everyMs: 1_000, timezone: 'UTC' })).toMatch(/cron only/);
    expect(invalid({ ...base, name: 'a b', everyMs: 1_000 })).toMatch(/name must match/);
  });

  it('refuses a name used twice, and accepts good schedules', () => {
    expect(() =>
      validateSchedules([
        { ...base, everyMs: 1_000 },
        { ...base, cron: '0 * * * *' },
      ]),
    ).toThrow('schedule "sweep": name used twice');
    expect(() =>
      validateSchedules([
        { ...base, everyMs: 1_000, graceMs: 0 },
        { name: 'daily', task: 't', cron: '0 4 * * *', timezone: 'Europe/Berlin' },
      ]),
    ).not.toThrow();
  });
});
