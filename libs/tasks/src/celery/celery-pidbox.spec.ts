import {
  addressedTo,
  brokerInfo,
  decodePidboxRequest,
  pidboxQueueName,
  PIDBOX_QUEUE_OPTIONS,
  requestInfo,
  runPidboxCommand,
  statsReply,
  taskIdsOf,
  type CeleryRequestInfo,
  type PidboxRequest,
  type PidboxWorker,
} from './celery-pidbox';

/** What kombu's Mailbox._publish sends for `celery inspect ping` (JSON serializer). */
const pingBody = {
  method: 'ping',
  arguments: {},
  destination: null,
  pattern: null,
  matcher: null,
  ticket: 't-1',
  reply_to: { exchange: 'reply.celery.pidbox', routing_key: 'oid-1' },
};

function request(overrides: Partial<PidboxRequest>): PidboxRequest {
  return {
    method: 'ping',
    arguments: {},
    destination: null,
    pattern: null,
    matcher: null,
    ticket: null,
    replyTo: null,
    ...overrides,
  };
}

describe('pidbox requests', () => {
  it('decodes a kombu request with its ticket and reply_to', () => {
    expect(decodePidboxRequest(Buffer.from(JSON.stringify(pingBody)))).toEqual({
      method: 'ping',
      arguments: {},
      destination: null,
      pattern: null,
      matcher: null,
      ticket: 't-1',
      replyTo: { exchange: 'reply.celery.pidbox', routingKey: 'oid-1' },
    });
    expect(decodePidboxRequest(Buffer.from('not json'))).toBeNull();
    expect(decodePidboxRequest(Buffer.from('{"arguments": {}}'))).toBeNull();
  });

  it('honours destination, then pattern by glob or pcre, else every node', () => {
    const node = 'gateway.41@box-1';
    expect(addressedTo(request({}), node)).toBe(true);
    expect(addressedTo(request({ destination: [node] }), node)).toBe(true);
    expect(addressedTo(request({ destination: ['celery@other'] }), node)).toBe(false);
    expect(addressedTo(request({ pattern: 'gateway.*@box-?', matcher: 'glob' }), node)).toBe(true);
    expect(addressedTo(request({ pattern: 'ledger*', matcher: 'glob' }), node)).toBe(false);
    expect(addressedTo(request({ pattern: 'gate', matcher: 'pcre' }), node)).toBe(true);
    expect(addressedTo(request({ pattern: 'way', matcher: 'pcre' }), node)).toBe(false);
    expect(addressedTo(request({ pattern: '(', matcher: 'pcre' }), node)).toBe(false);
  });

  it("declares the node's queue as Mailbox.get_queue does", () => {
    expect(pidboxQueueName('gateway.41@box-1')).toBe('gateway.41@box-1.celery.pidbox');
    expect(PIDBOX_QUEUE_OPTIONS).toEqual({
      durable: false,
      autoDelete: true,
      exclusive: false,
      arguments: { 'x-expires': 10_000, 'x-message-ttl': 300_000 },
    });
  });

  it('takes task ids as the CLI (a list) or the API (a string) sends them', () => {
    expect(taskIdsOf(['a', 'b'])).toEqual(['a', 'b']);
    expect(taskIdsOf('a')).toEqual(['a']);
    expect(taskIdsOf([1, '', 'c'])).toEqual(['c']);
  });
});

describe('replies', () => {
  it('Request.info() of a running task, arguments as the producer showed them', () => {
    const info = requestInfo(
      {
        id: 'a1',
        name: 'gateway.capture',
        headers: { argsrepr: '()', kwargsrepr: "{'payment_id': 'pay_1'}" },
        exchange: 'clearline.tasks',
        routingKey: 'gateway',
        priority: 0,
        redelivered: false,
        startedAtMs: 1_500,
      },
      'gateway.41@box-1',
    );
    expect(info).toEqual({
      id: 'a1',
      name: 'gateway.capture',
      args: '()',
      kwargs: "{'payment_id': 'pay_1'}",
      type: 'gateway.capture',
      hostname: 'gateway.41@box-1',
      time_start: 1.5,
      acknowledged: false,
      delivery_info: {
        exchange: 'clearline.tasks',
        routing_key: 'gateway',
        priority: 0,
        redelivered: false,
      },
      worker_pid: process.pid,
    });
  });

  it('shows the broker without its password', () => {
    const info = brokerInfo('amqp://clearline:s3cret@rabbit:5673/run%2Fone', 10);
    expect(info).toMatchObject({
      hostname: 'rabbit',
      userid: 'clearline',
      virtual_host: 'run/one',
      port: 5673,
      ssl: false,
      transport: 'amqp',
    });
    expect(JSON.stringify(info)).not.toContain('s3cret');
    expect(brokerInfo('amqps://u@h', 10)).toMatchObject({ virtual_host: '/', port: 5671 });
  });

  it("answers stats with Celery's keys", () => {
    const stats = statsReply({
      processed: { 'gateway.capture': 3 },
      uptimeS: 5,
      clock: 9,
      concurrency: 100,
      prefetch: 200,
      timeLimitHardS: 300,
      broker: {},
      clearline: { queues: ['gateway'] },
    });
    expect(stats).toMatchObject({
      total: { 'gateway.capture': 3 },
      pid: process.pid,
      clock: '9',
      uptime: 5,
      pool: { 'max-concurrency': 100, processes: [process.pid] },
      prefetch_count: 200,
      clearline: { queues: ['gateway'] },
    });
    expect(stats['rusage']).toHaveProperty('maxrss');
  });
});

describe('commands', () => {
  const active: CeleryRequestInfo[] = [];
  const calls: string[] = [];
  const worker: PidboxWorker = {
    node: 'gateway.41@box-1',
    active: () => active,
    reserved: () => [],
    registered: () => ['gateway.capture'],
    stats: () => ({ pid: 1 }),
    revokedIds: () => Promise.resolve(['x']),
    revoke: (ids, terminate) => {
      calls.push(`revoke ${ids.join(',')} ${terminate}`);
      return Promise.resolve(terminate ? ids.slice(0, 1) : []);
    },
    activeQueues: () => [],
    clock: () => 4,
    heartbeat: () => calls.push('heartbeat'),
    setTaskEvents: (on) => ({ changed: !on }),
  };

  it('answers inspect commands in the shapes the celery CLI prints', async () => {
    expect(await runPidboxCommand(worker, 'ping', {})).toEqual({ ok: 'pong' });
    expect(await runPidboxCommand(worker, 'registered', {})).toEqual(['gateway.capture']);
    expect(await runPidboxCommand(worker, 'active', { safe: false })).toEqual([]);
    expect(await runPidboxCommand(worker, 'scheduled', {})).toEqual([]);
    expect(await runPidboxCommand(worker, 'revoked', {})).toEqual(['x']);
    expect(await runPidboxCommand(worker, 'clock', {})).toEqual({ clock: 4 });
    expect(await runPidboxCommand(worker, 'hello', {})).toEqual({
      error: 'No such command on a Clearline worker: hello',
    });
  });

  it('revokes (and terminates) as celery.worker.control does', async () => {
    expect(await runPidboxCommand(worker, 'revoke', { task_id: ['a', 'b'] })).toEqual({
      ok: 'tasks a, b flagged as revoked',
    });
    expect(
      await runPidboxCommand(worker, 'revoke', {
        task_id: 'a',
        terminate: true,
        signal: 'SIGTERM',
      }),
    ).toEqual({ ok: 'terminate: a' });
    expect(await runPidboxCommand(worker, 'terminate', { signal: 'TERM', task_id: ['c'] })).toEqual(
      { ok: 'terminate: c' },
    );
    expect(await runPidboxCommand(worker, 'revoke', {})).toEqual({ error: 'no task id to revoke' });
    expect(calls).toEqual(['revoke a,b false', 'revoke a true', 'revoke c true']);
  });

  it('sends a heartbeat on request and toggles task events', async () => {
    expect(await runPidboxCommand(worker, 'heartbeat', {})).toBeUndefined();
    expect(calls).toContain('heartbeat');
    expect(await runPidboxCommand(worker, 'disable_events', {})).toEqual({
      ok: 'task events disabled',
    });
    expect(await runPidboxCommand(worker, 'enable_events', {})).toEqual({
      ok: 'task events already enabled',
    });
  });
});
