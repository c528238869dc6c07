export * from './assert';
export * from './currency';
export * from './amount';
export * from './model';
export * from './results';
export type { LedgerChanges, TransferBatchOutcome } from './changes';
export * from './ledger';
export * from './invariants';
export { feeFor, percentFee, refundFee, PERCENT_BPS_MAX, type Pricing } from './fees';
export {
  settlementTotals,
  settlementTotalsOfSums,
  type SettlementItem,
  type SettlementSums,
  type SettlementTotals,
} from './settlement-net';
export {
  settlementPostings,
  type SettlementPostings,
  type SettlementPostingsInput,
} from './settlement-postings';
