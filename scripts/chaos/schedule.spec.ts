/** The chaos schedule: the same seed gives the same faults; every kind comes before any twice. */
import { seededRandom } from './prng';
import { buildSchedule, FAULT_KINDS } from './schedule';

describe('buildSchedule', () => {
  const options = { durationMs: 60_000, faults: 10 };

  it('replays from its seed and differs for another', () => {
    const one = buildSchedule(seededRandom(42).fork('schedule'), options);
    expect(buildSchedule(seededRandom(42).fork('schedule'), options)).toEqual(one);
    expect(buildSchedule(seededRandom(43).fork('schedule'), options)).not.toEqual(one);
  });

  it('has each kind once before any twice, in order of time, inside the load', () => {
    const faults = buildSchedule(seededRandom(7), options);
    expect(new Set(faults.slice(0, FAULT_KINDS.length).map((f) => f.kind))).toEqual(
      new Set(FAULT_KINDS),
    );
    const times = faults.map((f) => f.atMs);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(Math.min(...times)).toBeGreaterThanOrEqual(6_000);
    expect(Math.max(...times)).toBeLessThan(54_000);
  });

  it('draws only the kinds it is told', () => {
    const faults = buildSchedule(seededRandom(1), { ...options, only: ['delay', 'drop'] });
    expect(new Set(faults.map((f) => f.kind))).toEqual(new Set(['delay', 'drop']));
  });
});
