import { CreateRefundJobs1764400000000 } from './1764400000000-CreateRefundJobs';

/** The refund service's migrations, in order. */
export const REFUND_MIGRATIONS = [CreateRefundJobs1764400000000];
