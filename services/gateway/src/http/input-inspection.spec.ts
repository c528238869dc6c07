import { INPUT_DEPTH_MAX, inspectInput } from './input-inspection';

function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i += 1) value = [value];
  return value;
}

describe('input inspection', () => {
  it('accepts ordinary bodies and queries', () => {
    expect(
      inspectInput({
        amount: 100,
        source: 'tok_visa',
        metadata: { order: '6735', at: '1764767000000' },
      }),
    ).toBeNull();
    expect(inspectInput({ limit: '10', starting_after: 'pay_123' })).toBeNull();
    expect(inspectInput(nested(INPUT_DEPTH_MAX - 1))).toBeNull();
  });

  it('refuses nesting deeper than the limit without walking it recursively', () => {
    expect(inspectInput(nested(INPUT_DEPTH_MAX + 1))?.message).toMatch(/nested more than/);
    expect(inspectInput(nested(200_000))?.message).toMatch(/nested more than/);
  });

  it('refuses a NUL in any text or key, naming where', () => {
    expect(inspectInput({ metadata: { note: 'a\u0000b' } })).toMatchObject({
      param: 'metadata.note',
    });
    expect(inspectInput({ ['a\u0000']: 'x' })?.message).toMatch(/parameter name/);
  });

  it('refuses a card number anywhere without echoing it', () => {
    const problem = inspectInput({ metadata: { items: ['ok', '5555 5555 5555 4444'] } });
    expect(problem).toMatchObject({ param: 'metadata.items.1' });
    expect(problem?.message).not.toMatch(/5555/);
    expect(inspectInput({ amount: 4242424242424242 })).toMatchObject({ param: 'amount' });
  });

  it('refuses a card number as a metadata key, and one URL-encoded in a webhook URL', () => {
    const key = inspectInput({ metadata: { '8171 9999 2766 0000': 'x' } });
    expect(key).toMatchObject({ param: 'metadata' });
    expect(key?.message).not.toMatch(/8171/);
    const url = 'https://merchant.example/hooks/order%204242%204242%204242%204242';
    expect(inspectInput({ webhook_url: url })).toMatchObject({ param: 'webhook_url' });
  });
});
