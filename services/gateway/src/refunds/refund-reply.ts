import { HttpStatus } from '@nestjs/common';
import { HttpReply } from '../http/http-reply';
import { REFUNDS_URL } from './refund.dto';
import { toRefundDto } from './refund.mapper';
import type { Refund } from './refund.model';

/**
 * The HTTP answer to a refund request: `200` with the refund once it has ended
 * (`succeeded` or `failed`), `202` with its `Location` while it is still `pending` (it
 * completes anyway).
 */
export async function refundReply(outcome: Promise<Refund>): Promise<HttpReply> {
  const refund = toRefundDto(await outcome);
  return refund.status === 'pending'
    ? new HttpReply(HttpStatus.ACCEPTED, refund, { Location: `${REFUNDS_URL}/${refund.id}` })
    : new HttpReply(HttpStatus.OK, refund);
}
