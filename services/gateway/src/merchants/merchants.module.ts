import { Module } from '@nestjs/common';
import { ApiKeyCache } from '../auth/api-key-cache';
import { IdempotencyModule } from '../idempotency/idempotency.module';
import { ApiKeysRepository } from './api-keys.repository';
import { MerchantsController } from './merchants.controller';
import { MerchantsRepository } from './merchants.repository';
import { MerchantsService } from './merchants.service';

@Module({
  imports: [IdempotencyModule],
  controllers: [MerchantsController],
  providers: [MerchantsService, MerchantsRepository, ApiKeysRepository, ApiKeyCache],
  exports: [MerchantsService, MerchantsRepository, ApiKeysRepository, ApiKeyCache],
})
export class MerchantsModule {}
