// First: tracing instruments http before anything loads it (a no-op unless configured).
import '@clearline/tracing';
import 'reflect-metadata';
import type { ConfigService } from '@nestjs/config';
import { bootstrapService } from '@clearline/platform';
import { LedgerModule } from './ledger.module';
import type { LedgerEnvironment } from './ledger.env';

async function main(): Promise<void> {
  await bootstrapService({
    module: LedgerModule,
    port: (config: ConfigService<LedgerEnvironment, true>) =>
      config.get('LEDGER_PORT', { infer: true }),
  });
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
