export * from './queues';
export * from './system';
export * from './ledger';
export * from './refund';
