import { Counter, Gauge } from 'prom-client';

/** Scheduler metrics in the process's default Prometheus registry. */
export const beatMetrics = {
  slots: new Counter({
    name: 'clearline_beat_slots_total',
    help: 'Schedule slots this process sent (as leader) or skipped (older than their grace window)',
    labelNames: ['scheduler', 'schedule', 'outcome'],
  }),
  leading: new Gauge({
    name: 'clearline_beat_leading',
    help: 'Whether this process leads the scheduler group (1) or stands by (0)',
    labelNames: ['scheduler'],
  }),
};
