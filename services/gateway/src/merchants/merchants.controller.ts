import { Body, Controller, Get, HttpStatus, Param, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { OperatorAuth } from '../auth/auth.decorators';
import { Idempotency } from '../idempotency/idempotency.interceptor';
import { IdempotencyService, type IdempotencyClaim } from '../idempotency/idempotency.service';
import { NoParameters } from '../http/validation.pipe';
import { ApiKeyDto, CreatedMerchantDto, CreateMerchantDto, MerchantDto } from './merchant.dto';
import { toApiKeyDto, toCreatedMerchantDto, toMerchantDto } from './merchant.mapper';
import { MerchantsService } from './merchants.service';

@ApiTags('admin')
@OperatorAuth()
@Controller('v1/admin/merchants')
export class MerchantsController {
  constructor(
    private readonly merchants: MerchantsService,
    private readonly idempotency: IdempotencyService,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Create a merchant with its first API key (shown once)' })
  @ApiCreatedResponse({ type: CreatedMerchantDto })
  create(
    @Body() body: CreateMerchantDto,
    @Idempotency() claim: IdempotencyClaim | null,
  ): Promise<CreatedMerchantDto> {
    return this.idempotency.transaction(claim, HttpStatus.CREATED, async (manager) => {
      const created = await this.merchants.create(manager, body);
      return toCreatedMerchantDto(created.merchant, created.apiKey);
    });
  }

  @Get(':id')
  @ApiOperation({ summary: 'Retrieve a merchant (without its secrets)' })
  @ApiOkResponse({ type: MerchantDto })
  async retrieve(@Param('id') id: string): Promise<MerchantDto> {
    return toMerchantDto(await this.merchants.find(id));
  }

  @Post(':id/keys')
  @ApiOperation({ summary: "Roll a merchant's API key: the old keys stop working at once" })
  @ApiCreatedResponse({ type: ApiKeyDto })
  roll(
    @Param('id') id: string,
    @Body() _body: NoParameters,
    @Idempotency() claim: IdempotencyClaim | null,
  ): Promise<ApiKeyDto> {
    return this.idempotency.transaction(claim, HttpStatus.CREATED, async (manager) => {
      const rolled = await this.merchants.rollApiKey(manager, id);
      return toApiKeyDto(rolled.key, rolled.apiKey, rolled.revoked);
    });
  }
}
