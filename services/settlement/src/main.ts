// First: tracing instruments http before anything loads it (a no-op unless configured).
import '@clearline/tracing';
import 'reflect-metadata';
import { setPriority } from 'node:os';
import { ConfigService } from '@nestjs/config';
import { bootstrapService } from '@clearline/platform';
import { SettlementModule } from './settlement.module';
import type { SettlementEnvironment } from './settlement.env';

async function main(): Promise<void> {
  await bootstrapService({
    module: SettlementModule,
    // Settlement is batch work: on a machine it shares with real-time services it takes
    // the CPU they leave (a lower priority, `nice`), never the other way round.
    configure: (app) => {
      const config = app.get<ConfigService<SettlementEnvironment, true>>(ConfigService);
      setPriority(config.get('SETTLEMENT_NICE', { infer: true }));
    },
    port: (config: ConfigService<SettlementEnvironment, true>) =>
      config.get('SETTLEMENT_PORT', { infer: true }),
  });
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
