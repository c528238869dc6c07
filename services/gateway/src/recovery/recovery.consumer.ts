import { Controller } from '@nestjs/common';
import { isTransientDatabaseError } from '@clearline/persistence';
import { Task } from '@clearline/tasks';
import { RecoveryService, RESUME_OPERATIONS_TASK, type ResumeReport } from './recovery.service';

/**
 * The sweep as a task: the gateway's scheduler sends it every 30 s. A sweep that fails
 * on a passing database error is retried once; the next slot covers any other failure.
 */
@Controller()
export class RecoveryConsumer {
  constructor(private readonly recovery: RecoveryService) {}

  // Nobody awaits a sweep: no result row per run (failures are still recorded).
  @Task(RESUME_OPERATIONS_TASK, {
    senders: [],
    retryOn: [isTransientDatabaseError],
    retryCountMax: 1,
    retryBackoffMs: 1_000,
    ignoreResult: true,
  })
  resumeOperations(): Promise<ResumeReport> {
    return this.recovery.resume();
  }
}
