import 'reflect-metadata';
import type { ConfigService } from '@nestjs/config';
import { bootstrapService } from '@clearline/platform';
import { SettlementModule } from './settlement.module';
import type { SettlementEnvironment } from './settlement.env';

async function main(): Promise<void> {
  await bootstrapService({
    module: SettlementModule,
    port: (config: ConfigService<SettlementEnvironment, true>) =>
      config.get('SETTLEMENT_PORT', { infer: true }),
  });
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
