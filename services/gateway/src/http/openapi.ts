import type { INestApplication, Type } from '@nestjs/common';
import { ApiProperty, DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { MERCHANT_SCHEME, OPERATOR_SCHEME } from '../auth/auth.decorators';
import { GatewayErrorCode } from './gateway.exception';

/**
 * The OpenAPI shape of a Stripe-style list of `item` objects (`ListObject` on the wire),
 * named `name` in the document.
 */
export function ListDto(item: Type, url: string, name: string, description?: string): Type {
  class List {
    @ApiProperty({ enum: ['list'] })
    object!: 'list';

    @ApiProperty({ example: url })
    url!: string;

    @ApiProperty({ description: description ?? 'More objects lie beyond this page.' })
    has_more!: boolean;

    @ApiProperty({ type: [item] })
    data!: unknown[];
  }
  Object.defineProperty(List, 'name', { value: name });
  return List;
}

export class ErrorDetailDto {
  @ApiProperty({
    enum: [
      'invalid_request_error',
      'authentication_error',
      'idempotency_error',
      'rate_limit_error',
      'card_error',
      'api_error',
    ],
  })
  type!: string;

  @ApiProperty({ enum: GatewayErrorCode })
  code!: GatewayErrorCode;

  @ApiProperty()
  message!: string;

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'amount',
    description: 'The parameter at fault.',
  })
  param!: string | null;
}

/** Every error answer. */
export class ErrorResponseDto {
  @ApiProperty({ type: ErrorDetailDto })
  error!: ErrorDetailDto;
}

/** The OpenAPI document, built from the controllers and DTOs, at /docs and /docs-json. */
export function setupOpenApi(app: INestApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Clearline API')
    .setDescription(
      'Merchant REST API (Stripe conventions): Bearer API keys, Idempotency-Key on every ' +
        'POST, errors as {"error": {type, code, message, param}}, cursor-paginated lists.',
    )
    .setVersion('v1')
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', description: 'A merchant secret key, sk_test_…' },
      MERCHANT_SCHEME,
    )
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', description: 'The operators key (ADMIN_API_KEY)' },
      OPERATOR_SCHEME,
    )
    .build();
  const document = SwaggerModule.createDocument(app, config, {
    extraModels: [ErrorResponseDto],
  });
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}
