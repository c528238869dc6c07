// First: tracing instruments http before anything loads it (a no-op unless configured).
import '@clearline/tracing';
import 'reflect-metadata';
import { ConfigService } from '@nestjs/config';
import { createGatewayApp } from './gateway.app';
import type { GatewayEnvironment } from './gateway.env';

async function main(): Promise<void> {
  const app = await createGatewayApp();
  // After a graceful shutdown the process exits 0, as every service does (bootstrapService).
  app.enableShutdownHooks(undefined, { useProcessExit: true });
  const config = app.get(ConfigService<GatewayEnvironment, true>);
  await app.listen(config.get('GATEWAY_PORT', { infer: true }), '0.0.0.0');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
