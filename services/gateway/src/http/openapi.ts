import type { INestApplication, Type } from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer } from '@nestjs/core';
import {
  ApiExcludeController,
  ApiHeader,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  DocumentBuilder,
  SwaggerModule,
  type OpenAPIObject,
  type OperationObject,
  type ParameterObject,
  type ReferenceObject,
  type ResponseObject,
} from '@nestjs/swagger';
import { MERCHANT_SCHEME, OPERATOR_SCHEME } from '../auth/auth.decorators';
import { PAYMENT_WAIT_MS_MAX } from '../gateway.env';
import {
  IDEMPOTENCY_KEY_LENGTH_MAX,
  IDEMPOTENT_METHODS,
  REPLAYED_HEADER,
} from '../idempotency/idempotency.interceptor';
import { API_ERROR_CODES, API_ERROR_TYPES, DECLINE_CODES } from './api-error';

/**
 * Integers on the wire: money in minor units and Unix times are `int64` (a client must
 * not hold them in 32 bits); counts and small codes are `int32`. Spread into
 * `@ApiProperty` with the bounds the API documents.
 */
export const INT64 = { type: 'integer', format: 'int64' } as const;
export const INT32 = { type: 'integer', format: 'int32' } as const;
/** The largest integer JSON carries exactly (balances are sums, bounded only by this). */
export const JSON_INTEGER_MAX = Number.MAX_SAFE_INTEGER;
/** `created` and the other times: whole seconds since the Unix epoch. */
export const UNIX_SECONDS = {
  ...INT64,
  minimum: 0,
  example: 1_767_225_600,
  description: 'Unix time in seconds.',
} as const;

/** Only the versioned API is published; probes and metrics are for the platform (README). */
const API_PATH_PREFIX = '/v1/';
const ERROR_SCHEMA = 'ErrorResponseDto';

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
  @ApiProperty({ enum: API_ERROR_TYPES, description: 'The family of the error.' })
  type!: string;

  @ApiProperty({ enum: API_ERROR_CODES, description: 'What went wrong, for programs.' })
  code!: string;

  @ApiProperty({ description: 'What went wrong, for people; may change, do not parse it.' })
  message!: string;

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'amount',
    description: 'The parameter at fault (a dotted path, or a header name), if one is.',
  })
  param!: string | null;

  @ApiPropertyOptional({
    example: 'pay_3kTq9XbQ2mJx8vLrP0aZc7Ye',
    description:
      'card_error only: the payment that failed (Stripe’s `payment_intent`); it stays ' +
      'retrievable with status `failed`.',
  })
  payment?: string;

  @ApiPropertyOptional({
    enum: DECLINE_CODES,
    description:
      'card_error of a card the issuer declined (`card_declined`, `insufficient_funds`): ' +
      'why, as Stripe’s decline codes. Absent for a `processing_error`.',
  })
  decline_code?: string;
}

/** Every error answer: `{"error": {…}}`. */
export class ErrorResponseDto {
  @ApiProperty({ type: ErrorDetailDto })
  error!: ErrorDetailDto;
}

/** What each error status means, as every operation that can answer it says. */
const ERROR_MEANINGS = {
  400:
    'invalid_request_error: a parameter is missing (`parameter_missing`), unknown ' +
    '(`parameter_unknown`) or invalid (`parameter_invalid`, `amount_too_large`), the body ' +
    'is not JSON (`body_malformed`), or the object is not in a state that allows this ' +
    '(`payment_unexpected_state`, `charge_already_refunded`). `param` names the parameter. ' +
    'On every route, a path, query string (any parameter) or body holding a NUL character, a ' +
    'value that looks like a card number, or nesting deeper than 32 is `parameter_invalid`.',
  401:
    'authentication_error: no API key (`api_key_missing`), or not a valid key for this ' +
    'route (`api_key_invalid`).',
  402:
    'card_error: the payment failed (`card_declined`, `insufficient_funds`, ' +
    '`processing_error`); `payment` names it, `decline_code` says why an issuer declined.',
  404: 'invalid_request_error `resource_missing`: no such object.',
  409:
    'idempotency_error `idempotency_key_in_use`: the first request with this ' +
    'Idempotency-Key is still running; retry later. Or `idempotency_error`: the first ' +
    'answer showed a secret (kept encrypted) that can no longer be shown, as the ' +
    'encryption key changed since; the request took effect, retrieve or roll instead.',
  413: 'invalid_request_error `body_too_large`: the body is larger than 100 kB.',
  422:
    'idempotency_error `idempotency_error`: this Idempotency-Key was first used with ' +
    'another request (method, path or body).',
  429:
    'rate_limit_error `rate_limit`: too many requests with this API key, or too many ' +
    'failed authentications from this client address; retry after `Retry-After` seconds.',
  500:
    'api_error: a fault of ours; the message carries an `err_…` id that is in our logs. ' +
    'Safe to retry with the same Idempotency-Key (a 5xx frees it).',
  503:
    'api_error `service_unavailable`: the request could not be served in time (a backing ' +
    'service is unavailable or slow); retry after `Retry-After` seconds, with the same ' +
    'Idempotency-Key (a 5xx frees it).',
} as const;
type ErrorStatus = keyof typeof ERROR_MEANINGS;

function errorResponse(status: ErrorStatus): ResponseObject {
  const response: ResponseObject = {
    description: ERROR_MEANINGS[status],
    content: { 'application/json': { schema: { $ref: `#/components/schemas/${ERROR_SCHEMA}` } } },
  };
  if (status === 429 || status === 503) {
    response.headers = {
      'Retry-After': {
        description: 'Seconds after which a retry may succeed.',
        schema: { ...INT32, minimum: 1 },
      },
    };
  }
  return response;
}

/** The route answers 404 `resource_missing` when `what` names nothing of the caller's. */
export const ApiNotFound = (what: string): MethodDecorator =>
  ApiResponse({
    status: 404,
    type: ErrorResponseDto,
    description: `${ERROR_MEANINGS[404]} ${what}`,
  });

/** A list route answers 404 when its cursor names nothing of the caller's. */
export const ApiCursorNotFound = (): MethodDecorator =>
  ApiNotFound('The `starting_after` or `ending_before` cursor is not one of the caller’s objects.');

/** The route answers 402 `card_error` when the payment it waited for failed. */
export const ApiCardError = (): MethodDecorator =>
  ApiResponse({ status: 402, type: ErrorResponseDto, description: ERROR_MEANINGS[402] });

/** The route honours RFC 7240's `Prefer: respond-async` and `wait=N`. */
export const ApiPrefer = (what: string): MethodDecorator =>
  ApiHeader({
    name: 'Prefer',
    required: false,
    schema: { type: 'string', example: 'respond-async' },
    description:
      `\`respond-async\`: answer 202 at once with the ${what} as it is. \`wait=N\`: wait up ` +
      `to N seconds (at most ${PAYMENT_WAIT_MS_MAX / 1_000}) for the outcome instead of the ` +
      `default; with \`respond-async\` too, the answer is 202 only if the outcome takes ` +
      'longer. Anything else in the header is ignored.',
  });

/** The `Location` of a 202 answer: where the object's outcome will be. */
export const LOCATION_HEADER = {
  Location: {
    description: 'The path of the object, to poll for its outcome.',
    schema: { type: 'string', example: '/v1/payments/pay_3kTq9XbQ2mJx8vLrP0aZc7Ye' },
  },
};

const IDEMPOTENCY_KEY_PARAMETER: ParameterObject = {
  name: 'Idempotency-Key',
  in: 'header',
  required: false,
  description:
    'Makes the request safe to retry. The same key and request (method, path and body in ' +
    'any key order) within 24 h replays the first answer (status, body and `Location`) with ' +
    '`Idempotent-Replayed: true`; the key with another request is 422; a retry while the ' +
    'first still runs is 409. Keys are scoped to the API key’s merchant (or to the ' +
    'operators); a 5xx or a request refused by validation frees the key. Printable ASCII.',
  schema: {
    type: 'string',
    minLength: 1,
    maxLength: IDEMPOTENCY_KEY_LENGTH_MAX,
    example: '5c0a7a4e-7a0e-4b5f-9a43-2f0c1c7d9e61',
  },
};

const REPLAYED_RESPONSE_HEADER = {
  description: 'Present when this answer is the replay of an earlier request with the same key.',
  schema: { type: 'string', enum: ['true'] },
};

function isReference(value: object): value is ReferenceObject {
  return '$ref' in value;
}

/**
 * What the global pipe, guards, filter, body parser and idempotency interceptor do to
 * every route, declared on every operation, so no controller can forget them: the
 * error answers each operation can give, and `Idempotency-Key` on the methods that
 * honour it. Route-specific answers (402, 404) are the routes' own decorators.
 */
function declareGlobalBehaviour(method: string, operation: OperationObject): void {
  const { responses } = operation;
  const parameters = (operation.parameters ??= []);
  const idempotent = (IDEMPOTENT_METHODS as readonly string[]).includes(method.toUpperCase());
  // Every route can answer 400: the input inspection refuses a path or query string
  // (documented parameters or not) holding a NUL, a card number or deep nesting first.
  const statuses: ErrorStatus[] = [400];
  if (operation.security !== undefined && operation.security.length > 0) statuses.push(401);
  // The body limit is the body parser's, ahead of every route, whether it takes a body or not.
  statuses.push(413);
  if (idempotent) {
    statuses.push(409, 422);
    parameters.push(IDEMPOTENCY_KEY_PARAMETER);
    for (const [status, response] of Object.entries(responses)) {
      if (!status.startsWith('2') || response === undefined || isReference(response)) continue;
      response.headers = { ...response.headers, [REPLAYED_HEADER]: REPLAYED_RESPONSE_HEADER };
    }
  }
  statuses.push(429, 500, 503);
  for (const status of statuses) responses[status] ??= errorResponse(status);
}

/**
 * Task consumers are Nest controllers too (the task transport routes to them), and the
 * swagger explorer reads their `@Payload()` parameters as request bodies (Nest gives
 * both decorators the same parameter type), so it published the task payloads
 * (`PaymentTaskPayload`, `DeliverWebhookPayload`, …) as schemas of the API though no
 * route takes them. A controller without an HTTP route has nothing to publish.
 */
function excludeControllersWithoutRoutes(app: INestApplication): void {
  for (const module of app.get(ModulesContainer).values()) {
    for (const { metatype } of module.controllers.values()) {
      if (typeof metatype === 'function' && !hasHttpRoute(metatype)) {
        ApiExcludeController()(metatype);
      }
    }
  }
}

function hasHttpRoute(controller: { readonly prototype: object }): boolean {
  const { prototype } = controller;
  return Object.getOwnPropertyNames(prototype).some((name) => {
    const handler: unknown = Object.getOwnPropertyDescriptor(prototype, name)?.value;
    return (
      name !== 'constructor' &&
      typeof handler === 'function' &&
      Reflect.hasMetadata(PATH_METADATA, handler)
    );
  });
}

/** The OpenAPI document of the gateway's API, built from the controllers and DTOs. */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Clearline API')
    .setDescription(
      'Merchant and operator REST API (Stripe conventions): Bearer API keys, ' +
        '`Idempotency-Key` on every POST, errors as ' +
        '`{"error": {type, code, message, param, …}}`, cursor-paginated lists, amounts as ' +
        'integers of minor units.',
    )
    .setVersion('v1')
    // Proprietary: no public licence text exists yet; the address is on a reserved
    // documentation domain until the legal team publishes one.
    .setLicense('Proprietary', 'https://clearline.example/legal/api-terms')
    .addServer('/', 'The host that serves this document.')
    .addSecurity(MERCHANT_SCHEME, {
      type: 'http',
      scheme: 'bearer',
      description:
        'A merchant’s secret API key (`sk_test_…`), sent as `Authorization: Bearer <key>`. ' +
        'An opaque random string, not a JWT: it carries no claims and cannot be decoded.',
    })
    .addSecurity(OPERATOR_SCHEME, {
      type: 'http',
      scheme: 'bearer',
      description:
        'The operators’ key (`ADMIN_API_KEY`, 32 characters at least), sent as ' +
        '`Authorization: Bearer <key>`. An opaque string, not a JWT.',
    })
    .build();
  excludeControllersWithoutRoutes(app);
  const document = SwaggerModule.createDocument(app, config, {
    extraModels: [ErrorResponseDto],
  });
  for (const path of Object.keys(document.paths)) {
    if (!path.startsWith(API_PATH_PREFIX)) {
      // Dropped with their operations; nothing else refers to them.
      Reflect.deleteProperty(document.paths, path);
      continue;
    }
    for (const [method, operation] of Object.entries(document.paths[path] ?? {})) {
      if (typeof operation === 'object' && 'responses' in operation) {
        declareGlobalBehaviour(method, operation as OperationObject);
      }
    }
  }
  return document;
}

/** The OpenAPI document at /docs (UI) and /docs-json. */
export function setupOpenApi(app: INestApplication): void {
  SwaggerModule.setup('docs', app, buildOpenApiDocument(app), { jsonDocumentUrl: 'docs-json' });
}
