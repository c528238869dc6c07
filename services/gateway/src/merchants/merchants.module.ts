import { Module } from '@nestjs/common';
import { ApiKeyCache } from '../auth/api-key-cache';
import { IdempotencyModule } from '../idempotency/idempotency.module';
import { ApiKeysRepository } from './api-keys.repository';
import { MerchantsController } from './merchants.controller';
import { MerchantsRepository } from './merchants.repository';
import { MerchantsService } from './merchants.service';
import { WebhookSecretController } from './webhook-secret.controller';
import { WebhookSecretsService } from './webhook-secrets.service';
import { WebhookUrlPipe } from './webhook-url.pipe';
import { WebhookTargets } from '../webhooks/webhook-targets';

@Module({
  imports: [IdempotencyModule],
  controllers: [MerchantsController, WebhookSecretController],
  providers: [
    MerchantsService,
    MerchantsRepository,
    ApiKeysRepository,
    ApiKeyCache,
    WebhookSecretsService,
    WebhookTargets,
    WebhookUrlPipe,
  ],
  exports: [MerchantsService, MerchantsRepository, ApiKeysRepository, ApiKeyCache, WebhookTargets],
})
export class MerchantsModule {}
