import { Body, Controller, Get, HttpStatus, Param, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MerchantAuth, MerchantId } from '../auth/auth.decorators';
import { HttpReply } from '../http/http-reply';
import { ApiCursorNotFound, ApiNotFound, ApiPrefer, LOCATION_HEADER } from '../http/openapi';
import type { ListObject } from '../http/pagination';
import type { Plain } from '../http/wire';
import { Idempotency } from '../idempotency/idempotency.interceptor';
import type { IdempotencyClaim } from '../idempotency/idempotency.service';
import { Prefer, type WaitPreference } from '../payments/payment-wait';
import { CreateRefundDto, RefundDto, RefundListDto, RefundListQuery } from './refund.dto';
import { REFUNDS_URL, RefundsService } from './refunds.service';

@ApiTags('refunds')
@MerchantAuth()
@Controller('v1/refunds')
export class RefundsController {
  constructor(private readonly refunds: RefundsService) {}

  @Post()
  @ApiOperation({
    summary: 'Refund a captured payment, in full or in part, and wait for the outcome',
  })
  @ApiPrefer('refund')
  @ApiOkResponse({ type: RefundDto, description: 'The refund, succeeded or failed.' })
  @ApiAcceptedResponse({
    type: RefundDto,
    headers: LOCATION_HEADER,
    description: 'Still `pending` when the wait ended; it completes anyway: poll `Location`.',
  })
  @ApiNotFound('No such payment for this merchant (`param`: `payment`).')
  async create(
    @MerchantId() merchantId: string,
    @Body() body: CreateRefundDto,
    @Idempotency() claim: IdempotencyClaim | null,
    @Prefer() prefer: WaitPreference,
  ): Promise<HttpReply> {
    const refund = await this.refunds.create(merchantId, body, claim, prefer);
    return refund.status === 'pending'
      ? new HttpReply(HttpStatus.ACCEPTED, refund, { Location: `${REFUNDS_URL}/${refund.id}` })
      : new HttpReply(HttpStatus.OK, refund);
  }

  @Get()
  @ApiOperation({
    summary: "List the merchant's refunds (of one payment with ?payment=), newest first",
  })
  @ApiOkResponse({ type: RefundListDto })
  @ApiCursorNotFound()
  list(
    @MerchantId() merchantId: string,
    @Query() query: RefundListQuery,
  ): Promise<ListObject<Plain<RefundDto>>> {
    return this.refunds.list(merchantId, query);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Retrieve a refund' })
  @ApiOkResponse({ type: RefundDto })
  @ApiNotFound('No such refund for this merchant.')
  retrieve(@MerchantId() merchantId: string, @Param('id') id: string): Promise<Plain<RefundDto>> {
    return this.refunds.retrieve(merchantId, id);
  }
}
