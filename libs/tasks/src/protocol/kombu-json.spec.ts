import { decodeTask } from './celery-message';

/** A protocol-2 message as a Python client sends it: JSON body, Celery's headers. */
function fromPython(body: unknown, properties: Record<string, unknown> = {}) {
  return decodeTask(Buffer.from(JSON.stringify(body)), {
    contentType: 'application/json',
    headers: { task: 'ledger.ping', id: 'task-1', lang: 'py' },
    ...properties,
  });
}

const EMBED = { callbacks: null, errbacks: null, chain: null, chord: null };

describe('kombu typed JSON values from Python clients', () => {
  it('reads a Decimal as its exact text, never a float', () => {
    const message = fromPython([
      [{ __type__: 'decimal', __value__: '1250' }],
      { amount: { __type__: 'decimal', __value__: '12.50' } },
      EMBED,
    ]);
    expect(message.args).toEqual(['1250']);
    expect(message.kwargs).toEqual({ amount: '12.50' });
  });

  it('reads datetimes, dates and times as ISO text and UUIDs as their text', () => {
    const message = fromPython([
      [],
      {
        at: { __type__: 'datetime', __value__: '2026-12-03T10:00:00+00:00' },
        day: { __type__: 'date', __value__: '2026-12-03' },
        time: { __type__: 'time', __value__: '10:00:00' },
        id: { __type__: 'uuid', __value__: '6f1c3e3a-8a4e-4b8e-9d3c-2f1f0c7b9a11' },
        hex: { __type__: 'uuid', __value__: { hex: '6F1C3E3A8A4E4B8E9D3C2F1F0C7B9A11' } },
      },
      EMBED,
    ]);
    expect(message.kwargs).toEqual({
      at: '2026-12-03T10:00:00+00:00',
      day: '2026-12-03',
      time: '10:00:00',
      id: '6f1c3e3a-8a4e-4b8e-9d3c-2f1f0c7b9a11',
      hex: '6f1c3e3a-8a4e-4b8e-9d3c-2f1f0c7b9a11',
    });
  });

  it('reads bytes (UTF-8 text or base64) as a Buffer, nested anywhere', () => {
    const message = fromPython([
      [[{ note: { __type__: 'bytes', __value__: 'héllo' } }]],
      { raw: { __type__: 'base64', __value__: Buffer.from([0, 255, 1]).toString('base64') } },
      EMBED,
    ]);
    expect(message.args).toEqual([[{ note: Buffer.from('héllo', 'utf8') }]]);
    expect(message.kwargs['raw']).toEqual(Buffer.from([0, 255, 1]));
  });

  it('leaves objects that only look typed, and unknown types, as they came', () => {
    const lookalikes = {
      extra: { __type__: 'decimal', __value__: '1', other: true },
      unknown: { __type__: 'complex', __value__: '1+2j' },
      notText: { __type__: 'decimal', __value__: 1.5 },
    };
    expect(fromPython([[], lookalikes, EMBED]).kwargs).toEqual(lookalikes);
  });

  it('keeps the reply queue and correlation id a Celery client sets, and none when it sends ""', () => {
    const body = [[], {}, EMBED];
    expect(fromPython(body, { replyTo: 'c1b2-oid', correlationId: 'task-1' })).toMatchObject({
      replyTo: 'c1b2-oid',
      correlationId: 'task-1',
    });
    expect(fromPython(body, { replyTo: '' })).toMatchObject({
      replyTo: null,
      correlationId: 'task-1',
    });
  });
});
