export * from './infrastructure';
export * from './isolated-infrastructure';
export * from './task-app';
export * from './wait';
export * from './service-process';
