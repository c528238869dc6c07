import 'reflect-metadata';
import type { ConfigService } from '@nestjs/config';
import { bootstrapService } from '@clearline/platform';
import { GatewayModule } from './gateway.module';
import type { GatewayEnvironment } from './gateway.env';

async function main(): Promise<void> {
  await bootstrapService({
    module: GatewayModule,
    port: (config: ConfigService<GatewayEnvironment, true>) =>
      config.get('GATEWAY_PORT', { infer: true }),
  });
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
