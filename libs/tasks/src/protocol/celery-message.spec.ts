import { decodeTask, encodeTask, MalformedTaskError, payloadOf } from './celery-message';

describe('Celery protocol 2 messages', () => {
  it('carries every standard header, the task id as correlation id, and [args, kwargs, embed]', () => {
    const eta = new Date('2026-11-25T10:00:00.000Z');
    const { content, properties } = encodeTask({
      task: 'ledger.create_transfers',
      id: 'task-1',
      kwargs: { amount: 100 },
      eta,
      origin: '1@host',
      timeLimitSoftS: 10,
      timeLimitHardS: 20,
    });
    expect(properties).toMatchObject({
      correlationId: 'task-1',
      messageId: 'task-1',
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      deliveryMode: 2,
    });
    expect(properties.headers).toEqual({
      lang: 'py',
      task: 'ledger.create_transfers',
      id: 'task-1',
      shadow: null,
      eta: '2026-11-25T10:00:00.000Z',
      expires: null,
      group: null,
      group_index: null,
      retries: 0,
      timelimit: [20, 10],
      root_id: 'task-1',
      parent_id: null,
      argsrepr: '[]',
      kwargsrepr: "{'amount': 100}",
      origin: '1@host',
      ignore_result: false,
      replaced_task_nesting: 0,
      stamped_headers: null,
      stamps: {},
    });
    expect(JSON.parse(content.toString())).toEqual([
      [],
      { amount: 100 },
      { callbacks: null, errbacks: null, chain: null, chord: null },
    ]);
  });

  it('describes the arguments as Python does, without secrets, in at most 1,024 characters', () => {
    const card = { number: '4242424242424242' };
    const { content, properties } = encodeTask({
      task: 'py.charge',
      args: ['ord_1', 2.5, null, true],
      kwargs: { card_number: card.number, note: 'x'.repeat(5_000) },
      origin: 'o',
    });
    const headers = properties.headers as Record<string, string>;
    expect(headers['argsrepr']).toBe("['ord_1', 2.5, None, True]");
    expect(headers['kwargsrepr']).toMatch(/^\{'card_number': '\*\*\*', 'note': 'xxx+\.\.\.$/);
    expect(headers['kwargsrepr']).toHaveLength(1024);
    // The body keeps every value: only the description is cut and redacted.
    expect((JSON.parse(content.toString()) as unknown[])[1]).toEqual({
      card_number: card.number,
      note: 'x'.repeat(5_000),
    });
  });

  it('decodes what it encodes', () => {
    const { content, properties } = encodeTask({
      task: 'refund.process',
      kwargs: { id: 're_1' },
      retries: 2,
      expires: new Date(0),
      origin: 'o',
    });
    const message = decodeTask(content, properties);
    expect(message).toMatchObject({ task: 'refund.process', retries: 2, kwargs: { id: 're_1' } });
    expect(message.expires?.getTime()).toBe(0);
    expect(payloadOf(message)).toEqual({ id: 're_1' });
  });

  it.each([
    ['not JSON', Buffer.from('{'), { task: 't', id: 'i' }, 'body is not valid JSON'],
    [
      'not a triple',
      Buffer.from('[1]'),
      { task: 't', id: 'i' },
      'body is not [args, kwargs, embed]',
    ],
    [
      'kwargs a list',
      Buffer.from('[[],[],{}]'),
      { task: 't', id: 'i' },
      'body kwargs is not an object',
    ],
    ['no task header', Buffer.from('[[],{},{}]'), { id: 'i' }, 'header task is missing'],
    ['no id header', Buffer.from('[[],{},{}]'), { task: 't' }, 'header id is missing'],
    [
      'bad eta',
      Buffer.from('[[],{},{}]'),
      { task: 't', id: 'i', eta: 'soon' },
      'header eta is not a date',
    ],
  ])('rejects a message with %s', (_case, content, headers, reason) => {
    expect(() => decodeTask(content, { headers, contentType: 'application/json' })).toThrow(
      new MalformedTaskError(reason),
    );
  });
});
