import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { SETTLEMENT_TASK, SettlementEventPayload } from '@clearline/contracts';
import { isTransientDatabaseError } from '@clearline/persistence';
import { Task } from '@clearline/tasks';
import { toSettlementEventTaskResult, type SettlementEventTaskResult } from './settlement.mapper';
import { SettlementEventsService } from './settlement-events.service';

/**
 * Settlement events from the settlement service, in the gateway's batch lane (queue
 * `gateway.batch`): a run's events never wait behind, nor delay, real-time payments.
 * Only a transient database error is retried: the settlement service sends an event
 * after its change committed, so an object that cannot be read (or of the wrong kind)
 * is a fault, and the task fails.
 */
@Controller()
export class SettlementsConsumer {
  constructor(private readonly events: SettlementEventsService) {}

  @Task(SETTLEMENT_TASK.event, {
    senders: ['settlement'],
    payload: SettlementEventPayload,
    retryOn: [isTransientDatabaseError],
    retryCountMax: 5,
    retryBackoffMs: 200,
  })
  async event(@Payload() payload: SettlementEventPayload): Promise<SettlementEventTaskResult> {
    return toSettlementEventTaskResult(await this.events.record(payload));
  }
}
