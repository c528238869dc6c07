// First: tracing instruments http before anything loads it (a no-op unless configured).
import '@clearline/tracing';
import 'reflect-metadata';
import type { ConfigService } from '@nestjs/config';
import { bootstrapService } from '@clearline/platform';
import { RefundModule } from './refund.module';
import type { RefundEnvironment } from './refund.env';

async function main(): Promise<void> {
  await bootstrapService({
    module: RefundModule,
    port: (config: ConfigService<RefundEnvironment, true>) =>
      config.get('REFUND_PORT', { infer: true }),
  });
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
