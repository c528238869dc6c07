/**
 * At most `inFlightMax` webhook deliveries of one merchant at once, in this process, so a
 * merchant whose endpoint hangs ties up only its own share of the webhook lane's handler
 * slots. The limit is per process: with R gateway replicas consuming the webhook lane, a
 * merchant may have up to R × `inFlightMax` deliveries in flight in all.
 */
export class MerchantSlots {
  private readonly inFlight = new Map<string, number>();

  constructor(readonly inFlightMax: number) {
    if (!Number.isInteger(inFlightMax) || inFlightMax < 1) {
      throw new RangeError(`inFlightMax must be a whole number >= 1, not ${inFlightMax}`);
    }
  }

  /** Whether a delivery of the merchant could start now (a cheap look before any I/O). */
  free(merchantId: string): boolean {
    return (this.inFlight.get(merchantId) ?? 0) < this.inFlightMax;
  }

  /**
   * Takes one of the merchant's slots: the release to call when the delivery ends (once;
   * later calls do nothing), or null when all its slots are taken.
   */
  acquire(merchantId: string): (() => void) | null {
    const count = this.inFlight.get(merchantId) ?? 0;
    if (count >= this.inFlightMax) return null;
    this.inFlight.set(merchantId, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.inFlight.get(merchantId) ?? 1) - 1;
      // Merchants with nothing in flight leave the map, so it holds only busy ones.
      if (left === 0) this.inFlight.delete(merchantId);
      else this.inFlight.set(merchantId, left);
    };
  }

  /** Deliveries of the merchant in flight now. */
  count(merchantId: string): number {
    return this.inFlight.get(merchantId) ?? 0;
  }
}
