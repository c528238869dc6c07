import { Counter, Gauge } from 'prom-client';

/** The publishing side's bounds, in the process's default Prometheus registry. */
export const publisherMetrics = {
  backlog: new Gauge({
    name: 'clearline_publish_backlog_messages',
    help: 'Messages held in memory for a broker channel (the broker is away), all publishers of the process',
  }),
  timeouts: new Counter({
    name: 'clearline_publish_timeouts_total',
    help: 'Publishes that got no broker confirm within their deadline, by outcome: unknown (written, the message may still arrive) or unsent (never left the backlog)',
    labelNames: ['outcome'],
  }),
  refused: new Counter({
    name: 'clearline_publish_backlog_full_total',
    help: 'Publishes refused at once because the broker was away and the backlog was full',
  }),
};
