import { Module, type DynamicModule } from '@nestjs/common';
import { pingConsumer, serviceModules } from '@clearline/platform';
import type { TasksModuleOptions } from '@clearline/tasks';
import { AuthModule } from './auth/auth.module';
import { EventsModule } from './events/events.module';
import { GatewayEnvironment } from './gateway.env';
import { IdempotencyModule } from './idempotency/idempotency.module';
import { MerchantsModule } from './merchants/merchants.module';
import { GATEWAY_MIGRATION_SET } from './migrations';
import { OperationsModule } from './operations/operations.module';
import { PaymentsModule } from './payments/payments.module';
import { BalanceModule } from './balance/balance.module';
import { RateLimitModule } from './rate-limit/rate-limit.module';
import { ReconciliationsModule } from './reconciliations/reconciliations.module';
import { RecoveryModule } from './recovery/recovery.module';
import { RefundsModule } from './refunds/refunds.module';
import { SettlementsModule } from './settlements/settlements.module';
import { WebhooksModule } from './webhooks/webhooks.module';

export interface GatewayModuleOptions {
  /** Variables that take precedence over process.env (tests run apps in one process). */
  env?: Record<string, string>;
  /** Task-layer overrides (tests). */
  tasks?: Partial<TasksModuleOptions>;
}

@Module({})
export class GatewayModule {
  static forRoot(options: GatewayModuleOptions = {}): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        ...serviceModules({
          service: 'gateway',
          environment: GatewayEnvironment,
          migrations: [GATEWAY_MIGRATION_SET],
          ...(options.env ? { env: options.env } : {}),
          ...(options.tasks ? { tasks: options.tasks } : {}),
        }),
        RateLimitModule,
        IdempotencyModule,
        AuthModule,
        MerchantsModule,
        EventsModule,
        WebhooksModule,
        OperationsModule,
        PaymentsModule,
        RefundsModule,
        BalanceModule,
        RecoveryModule,
        SettlementsModule,
        ReconciliationsModule,
      ],
      controllers: [pingConsumer('gateway')],
    };
  }
}
