import { MerchantSlots } from './merchant-slots';

describe('MerchantSlots', () => {
  it('lets each merchant have at most inFlightMax deliveries at once, others unaffected', () => {
    const slots = new MerchantSlots(2);
    const first = slots.acquire('mch_a');
    const second = slots.acquire('mch_a');
    expect(first).not.toBeNull();
    expect(second).not.toBeNull();
    expect(slots.free('mch_a')).toBe(false);
    expect(slots.acquire('mch_a')).toBeNull();
    expect(slots.acquire('mch_b')).not.toBeNull();
    first?.();
    expect(slots.free('mch_a')).toBe(true);
    expect(slots.acquire('mch_a')).not.toBeNull();
  });

  it('releases a slot once however often its release is called', () => {
    const slots = new MerchantSlots(2);
    const release = slots.acquire('mch_a');
    slots.acquire('mch_a');
    release?.();
    release?.();
    expect(slots.count('mch_a')).toBe(1);
  });

  it('refuses a limit below one', () => {
    expect(() => new MerchantSlots(0)).toThrow(RangeError);
  });
});
