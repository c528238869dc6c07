export * from './topology';
export * from './declare-topology';
