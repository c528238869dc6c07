import { Module } from '@nestjs/common';
import { IdempotencyModule } from '../idempotency/idempotency.module';
import { ApiKeysRepository } from './api-keys.repository';
import { MerchantsController } from './merchants.controller';
import { MerchantsRepository } from './merchants.repository';
import { MerchantsService } from './merchants.service';

@Module({
  imports: [IdempotencyModule],
  controllers: [MerchantsController],
  providers: [MerchantsService, MerchantsRepository, ApiKeysRepository],
  exports: [MerchantsService, MerchantsRepository, ApiKeysRepository],
})
export class MerchantsModule {}
