import type { ConfigService } from '@nestjs/config';
import type { PaymentProcessor } from '@clearline/processor';
import type { GatewayEnvironment } from '../gateway.env';
import type { CreatePaymentDto } from './payment.dto';
import type { Payment } from './payment.model';
import type { PaymentProcessingService } from './payment-processing.service';
import type { PaymentWaiter } from './payment-waiter';
import type { CreatedPayment, PaymentWritesRepository } from './payment-writes.repository';
import type { PaymentsRepository } from './payments.repository';
import { IN_PLACE_AUTHORIZATIONS_MAX, InPlaceAuthorizations } from './in-place-authorizations';
import { PaymentsService } from './payments.service';

const input = { amount: 1_999, currency: 'usd', source: 'tok_visa' } as CreatePaymentDto;

/** A service over stubs: `createOne` is what the test says it is; the rest answers plainly. */
function service(createOne: (row: { id: string; inPlace: boolean }) => Promise<CreatedPayment>): {
  payments: PaymentsService;
  inPlace: InPlaceAuthorizations;
  waited: string[];
} {
  const settled = (payment: Payment): Promise<Payment> =>
    Promise.resolve({ ...payment, status: 'succeeded' });
  const processing = { authorizeLoaded: settled } as unknown as PaymentProcessingService;
  const inPlace = new InPlaceAuthorizations(processing);
  const waited: string[] = [];
  const waiter = {
    expectFresh: () => undefined,
    outcome: (payment: Payment, taskId: string) => {
      waited.push(taskId);
      return Promise.resolve(payment);
    },
  } as unknown as PaymentWaiter;
  const processor = { recognizesSource: () => true } as unknown as PaymentProcessor;
  const config = { get: () => 10_000 } as unknown as ConfigService<GatewayEnvironment, true>;
  const payments = new PaymentsService(
    {} as PaymentsRepository,
    { createOne } as unknown as PaymentWritesRepository,
    waiter,
    inPlace,
    processor,
    config,
  );
  return { payments, inPlace, waited };
}

/** Slots free: how many `acquire` grants before it refuses (given back afterwards). */
function freeSlots(inPlace: InPlaceAuthorizations): number {
  let taken = 0;
  while (inPlace.acquire()) taken += 1;
  for (let i = 0; i < taken; i += 1) inPlace.release();
  return taken;
}

function createdFrom(row: { id: string }): CreatedPayment {
  const payment = { id: row.id, status: 'processing' } as Payment;
  return { payment, handOver: jest.fn(), queue: 'gateway' };
}

/** A service whose payments are written: each row it writes is kept in `rows`. */
function writing(): ReturnType<typeof service> & { rows: { inPlace: boolean }[] } {
  const rows: { inPlace: boolean }[] = [];
  const written = service((row) => {
    rows.push(row);
    return Promise.resolve(createdFrom(row));
  });
  return { ...written, rows };
}

describe('PaymentsService.create and its in-place slot', () => {
  it('gives the slot back when the payment could not be written', async () => {
    const { payments, inPlace } = service(() => Promise.reject(new Error('connection terminated')));
    for (let i = 0; i < IN_PLACE_AUTHORIZATIONS_MAX + 5; i += 1) {
      await expect(payments.create('mer_1', input, null, null)).rejects.toThrow(
        'connection terminated',
      );
    }
    expect(freeSlots(inPlace)).toBe(IN_PLACE_AUTHORIZATIONS_MAX);
  });

  it('runs a waiting request in place and frees its slot once the run ends', async () => {
    const { payments, inPlace, waited, rows } = writing();
    const payment = await payments.create('mer_1', input, null, null);
    expect(payment.status).toBe('succeeded');
    expect(rows).toEqual([expect.objectContaining({ inPlace: true })]);
    expect(waited).toEqual([]);
    // The slot is given back when the run settles (after the answer, on its own tick).
    await new Promise((resolve) => setImmediate(resolve));
    expect(freeSlots(inPlace)).toBe(IN_PLACE_AUTHORIZATIONS_MAX);
  });

  it('takes no slot for a request that does not wait, and leaves its task to the broker', async () => {
    const { payments, inPlace, waited, rows } = writing();
    const payment = await payments.create('mer_1', input, null, 0);
    expect(payment.status).toBe('processing');
    expect(rows).toEqual([expect.objectContaining({ inPlace: false })]);
    expect(waited).toEqual([`${payment.id}:authorize`]);
    expect(freeSlots(inPlace)).toBe(IN_PLACE_AUTHORIZATIONS_MAX);
  });

  it('uses the task path when every slot is taken', async () => {
    const { payments, inPlace, waited, rows } = writing();
    for (let i = 0; i < IN_PLACE_AUTHORIZATIONS_MAX; i += 1) inPlace.acquire();
    const payment = await payments.create('mer_1', input, null, null);
    expect(rows).toEqual([expect.objectContaining({ inPlace: false })]);
    expect(waited).toEqual([`${payment.id}:authorize`]);
    expect(freeSlots(inPlace)).toBe(0);
  });
});
