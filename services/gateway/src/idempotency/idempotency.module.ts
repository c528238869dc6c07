import { Module } from '@nestjs/common';
import { SECRET_BOX_PROVIDER, SecretBox } from '../common/secret-box';
import { IdempotencyInterceptor } from './idempotency.interceptor';
import { IdempotencyRepository } from './idempotency.repository';
import { IdempotencyService } from './idempotency.service';

@Module({
  providers: [
    IdempotencyService,
    IdempotencyRepository,
    IdempotencyInterceptor,
    SECRET_BOX_PROVIDER,
  ],
  exports: [IdempotencyService, IdempotencyInterceptor, SecretBox],
})
export class IdempotencyModule {}
