import type { Payment } from './payment.model';
import type { PaymentProcessingService, TaskRun } from './payment-processing.service';
import type { CreatedPayment } from './payment-writes.repository';
import { IN_PLACE_AUTHORIZATIONS_MAX, InPlaceAuthorizations } from './in-place-authorizations';

const payment = { id: 'pay_1', status: 'processing' } as Payment;

function created(handOver = jest.fn()): CreatedPayment & { handOver: jest.Mock } {
  return { payment, handOver, queue: 'gateway' };
}

function authorizations(authorize: (payment: Payment, run: TaskRun) => Promise<Payment>): {
  inPlace: InPlaceAuthorizations;
  runs: TaskRun[];
} {
  const runs: TaskRun[] = [];
  const processing = {
    authorizeLoaded: (p: Payment, run: TaskRun) => {
      runs.push(run);
      return authorize(p, run);
    },
  } as unknown as PaymentProcessingService;
  return { inPlace: new InPlaceAuthorizations(processing), runs };
}

describe('InPlaceAuthorizations', () => {
  it('settles in place as the task would, attempt 0, never a final attempt', async () => {
    const settled = { ...payment, status: 'succeeded' } as Payment;
    const { inPlace, runs } = authorizations(() => Promise.resolve(settled));
    const payment$ = created();
    expect(inPlace.acquire()).toBe(true);
    await expect(inPlace.run(payment$, 1_000)).resolves.toEqual({
      kind: 'settled',
      payment: settled,
    });
    expect(payment$.handOver).not.toHaveBeenCalled();
    expect(runs[0]).toMatchObject({
      taskId: 'pay_1:authorize',
      attempt: 0,
      round: 0,
      inPlace: { task: 'gateway.authorize_payment', queue: 'gateway' },
    });
    expect(runs[0]?.willRetry(new Error('any'))).toBe(true);
  });

  it('hands the task over on any error', async () => {
    const { inPlace } = authorizations(() => Promise.reject(new Error('processor away')));
    const payment$ = created();
    expect(inPlace.acquire()).toBe(true);
    await expect(inPlace.run(payment$, 1_000)).resolves.toEqual({ kind: 'handed_over' });
    expect(payment$.handOver).toHaveBeenCalledTimes(1);
  });

  it("answers by the request's wait while the run goes on, and hands over if it fails later", async () => {
    let fail: (error: Error) => void = () => undefined;
    const { inPlace } = authorizations(
      () =>
        new Promise<Payment>((_resolve, reject) => {
          fail = reject;
        }),
    );
    const payment$ = created();
    expect(inPlace.acquire()).toBe(true);
    await expect(inPlace.run(payment$, 10)).resolves.toEqual({ kind: 'timed_out' });
    expect(payment$.handOver).not.toHaveBeenCalled();
    fail(new Error('ledger away'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(payment$.handOver).toHaveBeenCalledTimes(1);
  });

  it('runs at most IN_PLACE_AUTHORIZATIONS_MAX at once, and frees a slot when a run ends', async () => {
    let finish: () => void = () => undefined;
    const ended = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const { inPlace } = authorizations(async () => {
      await ended;
      return payment;
    });
    const running: Promise<unknown>[] = [];
    for (let i = 0; i < IN_PLACE_AUTHORIZATIONS_MAX; i += 1) {
      expect(inPlace.acquire()).toBe(true);
      running.push(inPlace.run(created(), 60_000));
    }
    expect(inPlace.acquire()).toBe(false);
    finish();
    await Promise.all(running);
    expect(inPlace.acquire()).toBe(true);
    inPlace.release();
  });
});
