import { applyDecorators, Body, Controller, Get, Param, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MerchantAuth, MerchantId } from '../auth/auth.decorators';
import type { HttpReply } from '../http/http-reply';
import {
  ApiCardError,
  ApiCursorNotFound,
  ApiNotFound,
  ApiPrefer,
  LOCATION_HEADER,
} from '../http/openapi';
import { ListQuery, pageRequest, toListObject, type ListObject } from '../http/pagination';
import { Prefer, type WaitPreference } from '../http/prefer';
import { NoParameters } from '../http/validation.pipe';
import type { Plain } from '../http/wire';
import { Idempotency } from '../idempotency/idempotency.interceptor';
import type { IdempotencyClaim } from '../idempotency/idempotency.service';
import {
  CapturePaymentDto,
  CreatePaymentDto,
  PaymentDto,
  PaymentListDto,
  PAYMENTS_URL,
} from './payment.dto';
import { toPaymentDto } from './payment.mapper';
import { paymentReply } from './payment-reply';
import { PaymentsService } from './payments.service';

const LISTED = { url: PAYMENTS_URL, object: 'payment' };

/** The OpenAPI description of a route that answers with a payment after waiting for it. */
const Waited = (): MethodDecorator =>
  applyDecorators(
    ApiPrefer('payment'),
    ApiOkResponse({ type: PaymentDto, description: 'The payment, settled.' }),
    ApiAcceptedResponse({
      type: PaymentDto,
      headers: LOCATION_HEADER,
      description:
        'Still `processing` when the wait ended (or at once with `Prefer: respond-async`); ' +
        'it completes anyway: poll `Location` or take the webhook.',
    }),
    ApiCardError(),
  );

const NO_SUCH_PAYMENT =
  'No such payment for this merchant (another merchant’s id answers the same).';

@ApiTags('payments')
@MerchantAuth()
@Controller('v1/payments')
export class PaymentsController {
  constructor(private readonly payments: PaymentsService) {}

  @Post()
  @ApiOperation({ summary: 'Create a payment and wait (as preferred) for its outcome' })
  @Waited()
  create(
    @MerchantId() merchantId: string,
    @Body() body: CreatePaymentDto,
    @Idempotency() claim: IdempotencyClaim | null,
    @Prefer() prefer: WaitPreference,
  ): Promise<HttpReply> {
    return paymentReply(this.payments.create(merchantId, body, claim, prefer.waitMs));
  }

  @Get()
  @ApiOperation({ summary: "List the merchant's payments, newest first" })
  @ApiOkResponse({ type: PaymentListDto })
  @ApiCursorNotFound()
  list(
    @MerchantId() merchantId: string,
    @Query() query: ListQuery,
  ): Promise<ListObject<Plain<PaymentDto>>> {
    return toListObject(LISTED, this.payments.list(merchantId, pageRequest(query)), toPaymentDto);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Retrieve a payment' })
  @ApiOkResponse({ type: PaymentDto })
  @ApiNotFound(NO_SUCH_PAYMENT)
  async retrieve(
    @MerchantId() merchantId: string,
    @Param('id') id: string,
  ): Promise<Plain<PaymentDto>> {
    return toPaymentDto(await this.payments.retrieve(merchantId, id));
  }

  @Post(':id/capture')
  @ApiOperation({ summary: 'Capture an authorized payment, in full or in part' })
  @Waited()
  @ApiNotFound(NO_SUCH_PAYMENT)
  capture(
    @MerchantId() merchantId: string,
    @Param('id') id: string,
    @Body() body: CapturePaymentDto,
    @Idempotency() claim: IdempotencyClaim | null,
    @Prefer() prefer: WaitPreference,
  ): Promise<HttpReply> {
    return paymentReply(this.payments.capture(merchantId, id, body, claim, prefer.waitMs));
  }

  @Post(':id/cancel')
  @ApiOperation({ summary: 'Cancel an authorized payment: its authorization is voided' })
  @Waited()
  @ApiNotFound(NO_SUCH_PAYMENT)
  cancel(
    @MerchantId() merchantId: string,
    @Param('id') id: string,
    @Body() _body: NoParameters,
    @Idempotency() claim: IdempotencyClaim | null,
    @Prefer() prefer: WaitPreference,
  ): Promise<HttpReply> {
    return paymentReply(this.payments.cancel(merchantId, id, claim, prefer.waitMs));
  }
}
