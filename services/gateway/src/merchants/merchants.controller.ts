import { Body, Controller, Get, HttpStatus, Param, Patch, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { OperatorAuth } from '../auth/auth.decorators';
import { Idempotency } from '../idempotency/idempotency.interceptor';
import { IdempotencyService, type IdempotencyClaim } from '../idempotency/idempotency.service';
import { ApiNotFound } from '../http/openapi';
import { NoParameters } from '../http/validation.pipe';
import {
  ApiKeyDto,
  CreatedMerchantDto,
  CreateMerchantDto,
  MerchantDto,
  UpdateMerchantDto,
} from './merchant.dto';
import { toApiKeyDto, toCreatedMerchantDto, toMerchantDto } from './merchant.mapper';
import { MerchantsService } from './merchants.service';
import { WebhookUrlPipe } from './webhook-url.pipe';

const NO_SUCH_MERCHANT = 'No such merchant.';
/** Answers that show a secret once are kept for replays sealed, never in clear. */
const SHOWS_A_SECRET = { sealed: true } as const;

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
    @Body(WebhookUrlPipe) body: CreateMerchantDto,
    @Idempotency() claim: IdempotencyClaim | null,
  ): Promise<CreatedMerchantDto> {
    return this.idempotency.transaction(
      claim,
      HttpStatus.CREATED,
      async (manager) => toCreatedMerchantDto(await this.merchants.create(manager, body)),
      SHOWS_A_SECRET,
    );
  }

  @Get(':id')
  @ApiOperation({ summary: 'Retrieve a merchant (without its secrets)' })
  @ApiOkResponse({ type: MerchantDto })
  @ApiNotFound(NO_SUCH_MERCHANT)
  async retrieve(@Param('id') id: string): Promise<MerchantDto> {
    return toMerchantDto(await this.merchants.find(id));
  }

  @Patch(':id')
  @ApiOperation({
    summary: "Change a merchant's name or webhook URL (null removes the URL)",
    description:
      'Absent fields keep their values; any other field (`pricing`, …) is refused. With ' +
      '`webhook_url: null` no more webhooks are sent: deliveries already queued end ' +
      'without posting. Setting the same values again changes nothing, so the route ' +
      'takes no `Idempotency-Key`.',
  })
  @ApiOkResponse({ type: MerchantDto, description: 'The merchant as changed.' })
  @ApiNotFound(NO_SUCH_MERCHANT)
  async update(
    @Param('id') id: string,
    @Body(WebhookUrlPipe) body: UpdateMerchantDto,
  ): Promise<MerchantDto> {
    return toMerchantDto(await this.merchants.update(id, body));
  }

  @Post(':id/keys')
  @ApiOperation({ summary: "Roll a merchant's API key: the old keys stop working at once" })
  @ApiCreatedResponse({ type: ApiKeyDto })
  @ApiNotFound(NO_SUCH_MERCHANT)
  roll(
    @Param('id') id: string,
    @Body() _body: NoParameters,
    @Idempotency() claim: IdempotencyClaim | null,
  ): Promise<ApiKeyDto> {
    return this.idempotency.transaction(
      claim,
      HttpStatus.CREATED,
      async (manager) => toApiKeyDto(await this.merchants.rollApiKey(manager, id)),
      SHOWS_A_SECRET,
    );
  }
}
