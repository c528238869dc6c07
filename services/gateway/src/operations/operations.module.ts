import { Module } from '@nestjs/common';
import { OperationsController } from './operations.controller';
import { OperationsService } from './operations.service';

/** Operator routes over the task layer (ResultStore and DeadLetterAdmin are global). */
@Module({
  controllers: [OperationsController],
  providers: [OperationsService],
})
export class OperationsModule {}
