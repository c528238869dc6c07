import { Module } from '@nestjs/common';
import { ReconciliationsController } from './reconciliations.controller';
import { ReconciliationsRepository } from './reconciliations.repository';
import { ReconciliationsService } from './reconciliations.service';

/**
 * Reconciliation of processor settlement files against the gateway's payments and
 * refunds, and the sandbox processor's own file (operator routes).
 */
@Module({
  controllers: [ReconciliationsController],
  providers: [ReconciliationsService, ReconciliationsRepository],
})
export class ReconciliationsModule {}
