export * from './assert';
export * from './currency';
export * from './model';
export * from './ledger';
export * from './invariants';
