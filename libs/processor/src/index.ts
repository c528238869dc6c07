export * from './payment-processor';
export * from './sandbox-processor';
export * from './processor-factory';
export * from './unknown-outcome';
export * from './payout-rail';
export * from './sandbox-in-production';
