export * from './environment';
export * from './observability.module';
export * from './broker-health.indicator';
export * from './health.controller';
export * from './service-modules';
export * from './bootstrap';
export * from './ping.consumer';
export * from './ledger-client';
