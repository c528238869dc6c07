import { Module } from '@nestjs/common';
import { MerchantsModule } from '../merchants/merchants.module';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { AuthGuard } from './auth.guard';

@Module({
  imports: [MerchantsModule, RateLimitModule],
  providers: [AuthGuard],
  exports: [AuthGuard],
})
export class AuthModule {}
