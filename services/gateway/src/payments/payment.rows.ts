import type { CaptureMethod } from './payment.dto';

/**
 * A payment's status as stored: the API's statuses, plus `capturing` and `canceling`
 * while a capture or cancel task is on its way (shown as `processing`).
 */
export type PaymentState =
  | 'processing'
  | 'requires_capture'
  | 'capturing'
  | 'canceling'
  | 'succeeded'
  | 'canceled'
  | 'failed';

/** A `payments` row as PostgreSQL returns it (bigint columns arrive as strings). */
export interface PaymentRow {
  id: string;
  merchant_id: string;
  amount: string;
  currency: string;
  status: PaymentState;
  capture_method: CaptureMethod;
  amount_capturable: string;
  amount_captured: string;
  amount_refunded: string;
  source: string;
  description: string | null;
  metadata: Record<string, string>;
  failure_code: string | null;
  failure_message: string | null;
  created_at: Date;
}
