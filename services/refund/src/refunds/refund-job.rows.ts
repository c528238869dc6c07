/** `refund_jobs` as PostgreSQL returns it. */
export interface RefundJobRow {
  refund_id: string;
  payment_id: string;
  merchant_id: string;
  amount: string;
  currency: string;
  status: 'processing' | 'succeeded' | 'failed';
  funded_from: 'pending' | 'available' | null;
  failure_reason: string | null;
  processor_refund_id: string | null;
}
