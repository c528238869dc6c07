import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MerchantAuth, MerchantId } from '../auth/auth.decorators';
import { BalanceDto } from './balance.dto';
import { toBalanceDto } from './balance.mapper';
import { BalanceService } from './balance.service';

@ApiTags('balance')
@MerchantAuth()
@Controller('v1/balance')
export class BalanceController {
  constructor(private readonly balance: BalanceService) {}

  @Get()
  @ApiOperation({ summary: "The merchant's available and pending balance per currency" })
  @ApiOkResponse({ type: BalanceDto })
  async retrieve(@MerchantId() merchantId: string): Promise<BalanceDto> {
    return toBalanceDto(await this.balance.retrieve(merchantId));
  }
}
