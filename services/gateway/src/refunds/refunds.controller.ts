import { Body, Controller, Get, Param, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MerchantAuth, MerchantId } from '../auth/auth.decorators';
import type { HttpReply } from '../http/http-reply';
import { ApiCursorNotFound, ApiNotFound, ApiPrefer, LOCATION_HEADER } from '../http/openapi';
import { pageRequest, toListObject, type ListObject } from '../http/pagination';
import { Prefer, type WaitPreference } from '../http/prefer';
import type { Plain } from '../http/wire';
import { Idempotency } from '../idempotency/idempotency.interceptor';
import type { IdempotencyClaim } from '../idempotency/idempotency.service';
import {
  CreateRefundDto,
  RefundDto,
  RefundListDto,
  RefundListQuery,
  REFUNDS_URL,
} from './refund.dto';
import { toRefundDto } from './refund.mapper';
import { refundReply } from './refund-reply';
import { RefundRequestsService } from './refund-requests.service';

const LISTED = { url: REFUNDS_URL, object: 'refund' };

@ApiTags('refunds')
@MerchantAuth()
@Controller('v1/refunds')
export class RefundsController {
  constructor(private readonly refunds: RefundRequestsService) {}

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
  create(
    @MerchantId() merchantId: string,
    @Body() body: CreateRefundDto,
    @Idempotency() claim: IdempotencyClaim | null,
    @Prefer() prefer: WaitPreference,
  ): Promise<HttpReply> {
    return refundReply(this.refunds.create(merchantId, body, claim, prefer.waitMs));
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
    return toListObject(
      LISTED,
      this.refunds.list(merchantId, pageRequest(query), query.payment ?? null),
      toRefundDto,
    );
  }

  @Get(':id')
  @ApiOperation({ summary: 'Retrieve a refund' })
  @ApiOkResponse({ type: RefundDto })
  @ApiNotFound('No such refund for this merchant.')
  async retrieve(
    @MerchantId() merchantId: string,
    @Param('id') id: string,
  ): Promise<Plain<RefundDto>> {
    return toRefundDto(await this.refunds.retrieve(merchantId, id));
  }
}
