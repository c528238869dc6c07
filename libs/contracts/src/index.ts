export * from './queues';
export * from './system';
