import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MerchantAuth, MerchantId } from '../auth/auth.decorators';
import { ApiCursorNotFound, ApiNotFound } from '../http/openapi';
import { ListQuery, pageRequest, toListObject, type ListObject } from '../http/pagination';
import type { Plain } from '../http/wire';
import { PAYOUTS_URL, PayoutDto, PayoutListDto } from './settlement.dto';
import { toPayoutDto } from './settlement.mapper';
import { SettlementsService } from './settlements.service';

const LISTED = { url: PAYOUTS_URL, object: 'payout' };

@ApiTags('payouts')
@MerchantAuth()
@Controller('v1/payouts')
export class PayoutsController {
  constructor(private readonly settlements: SettlementsService) {}

  @Get()
  @ApiOperation({ summary: "List the merchant's payouts, newest first" })
  @ApiOkResponse({ type: PayoutListDto })
  @ApiCursorNotFound()
  list(
    @MerchantId() merchantId: string,
    @Query() query: ListQuery,
  ): Promise<ListObject<Plain<PayoutDto>>> {
    return toListObject(
      LISTED,
      this.settlements.listPayouts(merchantId, pageRequest(query)),
      toPayoutDto,
    );
  }

  @Get(':id')
  @ApiOperation({ summary: 'Retrieve a payout' })
  @ApiOkResponse({ type: PayoutDto })
  @ApiNotFound('No such payout for this merchant (another merchant’s id answers the same).')
  async retrieve(
    @MerchantId() merchantId: string,
    @Param('id') id: string,
  ): Promise<Plain<PayoutDto>> {
    return toPayoutDto(await this.settlements.retrievePayout(merchantId, id));
  }
}
