export * from './topology';
export * from './declare-topology';
export * from './task-routes';
export * from './celery-topology';
export * from './broker-permissions';
export * from './service-broker';
