import { Module } from '@nestjs/common';
import { provideTaskSchedules } from '@clearline/tasks';
import { RecoveryConsumer } from './recovery.consumer';
import { RecoveryController } from './recovery.controller';
import { RecoveryRepository } from './recovery.repository';
import { RecoveryService, RESUME_OPERATIONS_SCHEDULE } from './recovery.service';

/** The sweeper that resumes operations left in flight, its metric and its admin list. */
@Module({
  controllers: [RecoveryController, RecoveryConsumer],
  providers: [
    RecoveryRepository,
    RecoveryService,
    // The module carries its schedule wherever it is imported (the service, its tests).
    provideTaskSchedules([RESUME_OPERATIONS_SCHEDULE]),
  ],
})
export class RecoveryModule {}
