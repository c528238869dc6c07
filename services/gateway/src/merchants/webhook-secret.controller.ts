import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MerchantAuth, MerchantId } from '../auth/auth.decorators';
import { Idempotency } from '../idempotency/idempotency.interceptor';
import { IdempotencyService, type IdempotencyClaim } from '../idempotency/idempotency.service';
import { RollWebhookSecretDto, WebhookSecretDto } from './merchant.dto';
import { toWebhookSecretDto } from './merchant.mapper';
import { WebhookSecretsService } from './webhook-secrets.service';

@ApiTags('webhooks')
@MerchantAuth()
@Controller('v1/webhook_secret')
export class WebhookSecretController {
  constructor(
    private readonly secrets: WebhookSecretsService,
    private readonly idempotency: IdempotencyService,
  ) {}

  @Post('roll')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Roll the webhook signing secret (the new one is shown once)',
    description:
      'Deliveries from now on are signed with the new secret. With ' +
      '`previous_secret_expires_in` they also carry a signature with the replaced secret ' +
      'for that many seconds (at most a day); by default the replaced secret stops at ' +
      'once. A replay with the same Idempotency-Key shows the same secret (kept encrypted).',
  })
  @ApiOkResponse({ type: WebhookSecretDto })
  roll(
    @MerchantId() merchantId: string,
    @Body() body: RollWebhookSecretDto,
    @Idempotency() claim: IdempotencyClaim | null,
  ): Promise<WebhookSecretDto> {
    return this.idempotency.transaction(
      claim,
      HttpStatus.OK,
      async (manager) =>
        toWebhookSecretDto(
          await this.secrets.roll(manager, merchantId, body.previous_secret_expires_in ?? 0),
        ),
      { sealed: true },
    );
  }
}
