import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { REFUND_TASK, RefundSettledPayload } from '@clearline/contracts';
import { isTransientDatabaseError } from '@clearline/persistence';
import { Task } from '@clearline/tasks';
import type { Plain } from '../http/wire';
import type { RefundDto } from './refund.dto';
import { RefundsService } from './refunds.service';

/**
 * A refund's outcome from the refund service. Applied once, guarded by the refund's
 * status; the result is the refund object, which a waiting request answers with.
 */
@Controller()
export class RefundsConsumer {
  constructor(private readonly refunds: RefundsService) {}

  @Task(REFUND_TASK.settled, {
    payload: RefundSettledPayload,
    retryOn: [isTransientDatabaseError],
    retryCountMax: 5,
    retryBackoffMs: 200,
  })
  settled(@Payload() payload: RefundSettledPayload): Promise<Plain<RefundDto>> {
    return this.refunds.settle(payload);
  }
}
