/**
 * TigerBeetle-style outcomes, one per transfer of a batch. A few name wire input that a
 * TransferInput cannot even hold (amount_must_be_integer, amount_is_imprecise,
 * flags_must_be_booleans, timeout_must_be_integer): only a wire parser sets those, as
 * `TransferInput.invalid`.
 */
export const TRANSFER_RESULTS = [
  'ok',
  'exists',
  'linked_event_failed',
  'linked_event_chain_open',
  'id_must_not_be_empty',
  'flags_are_mutually_exclusive',
  'flags_must_be_booleans',
  'code_must_not_be_zero',
  'timeout_must_be_integer',
  'amount_must_be_positive',
  'amount_must_be_integer',
  'amount_is_imprecise',
  'amount_exceeds_maximum',
  'currency_not_supported',
  'accounts_must_be_different',
  'debit_account_id_required',
  'credit_account_id_required',
  'debit_account_not_found',
  'credit_account_not_found',
  'accounts_must_have_the_same_currency',
  'transfer_must_have_the_same_currency_as_accounts',
  'pending_id_required',
  'pending_id_must_be_empty',
  'pending_id_must_be_different',
  'timeout_reserved_for_pending_transfer',
  'pending_transfer_not_found',
  'pending_transfer_not_pending',
  'pending_transfer_has_different_debit_account_id',
  'pending_transfer_has_different_credit_account_id',
  'pending_transfer_has_different_currency',
  'pending_transfer_has_different_amount',
  'exceeds_pending_transfer_amount',
  'pending_transfer_already_posted',
  'pending_transfer_already_voided',
  'pending_transfer_expired',
  'exists_with_different_flags',
  'exists_with_different_debit_account_id',
  'exists_with_different_credit_account_id',
  'exists_with_different_amount',
  'exists_with_different_pending_id',
  'exists_with_different_currency',
  'exists_with_different_code',
  'exists_with_different_timeout',
  'overflows_balance',
  'exceeds_credits',
  'exceeds_debits',
] as const;
export type TransferResult = (typeof TRANSFER_RESULTS)[number];

/** TigerBeetle-style outcomes, one per account of a batch. */
export const ACCOUNT_RESULTS = [
  'ok',
  'exists',
  'id_must_not_be_empty',
  'flags_are_mutually_exclusive',
  'currency_not_supported',
  'code_must_not_be_zero',
  'exists_with_different_currency',
  'exists_with_different_code',
  'exists_with_different_owner',
  'exists_with_different_flags',
] as const;
export type AccountResult = (typeof ACCOUNT_RESULTS)[number];

/**
 * Whether a result means the event is in the ledger as asked: `ok` (applied now) or
 * `exists` (applied before, with the same fields). Every other result is a refusal.
 */
export function isSuccess(result: TransferResult | AccountResult): boolean {
  return result === 'ok' || result === 'exists';
}
