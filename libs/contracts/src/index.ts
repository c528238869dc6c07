export * from './amount';
export * from './queues';
export * from './system';
export * from './ledger';
export * from './refund';
export * from './payment';
export * from './refund-settled';
export * from './settlement';
export { newId, randomBase62 } from './ids';
