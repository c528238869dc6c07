import { Optional } from '../http/optional';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';
import { ListQuery } from '../http/pagination';
import { INT32, ListDto, UNIX_SECONDS } from '../http/openapi';
import { WEBHOOK_ATTEMPT_ERRORS, type WebhookAttemptError } from './event.model';

/** The events' path: the list's `url`. */
export const EVENTS_URL = '/v1/events';
export const EVENT_TYPE_LENGTH_MAX = 100;

export class ListEventsQuery extends ListQuery {
  @ApiPropertyOptional({ example: 'payment.succeeded', description: 'Only events of this type.' })
  @Optional()
  @IsString()
  @MaxLength(EVENT_TYPE_LENGTH_MAX)
  type?: string;
}

export class WebhookAttemptDto {
  @ApiProperty({ enum: ['webhook_attempt'] })
  object!: 'webhook_attempt';

  @ApiProperty({ ...INT32, minimum: 1, description: '1 for the first attempt.' })
  attempt!: number;

  @ApiProperty({ format: 'uri', description: 'Where this attempt POSTed the event.' })
  url!: string;

  @ApiProperty({
    ...INT32,
    minimum: 100,
    maximum: 599,
    nullable: true,
    description: "The endpoint's HTTP status.",
  })
  status_code!: number | null;

  @ApiProperty({
    type: String,
    enum: WEBHOOK_ATTEMPT_ERRORS,
    nullable: true,
    description:
      'Why the attempt failed (null when it succeeded): `timeout` (no connection or no ' +
      'answer in time), `dns_failed` (the host did not resolve), `connection_failed` ' +
      '(refused, reset, unreachable, or not HTTP), `tls_error` (the TLS handshake failed), ' +
      '`http_status` (a status other than 2xx; see `status_code`), `redirect_refused` (a ' +
      '3xx: redirects are not followed), `address_refused` (the host is or resolved to a ' +
      'loopback, private, link-local or metadata address), `url_refused` (the URL is no ' +
      'longer allowed). More reasons may be added.',
  })
  error!: WebhookAttemptError | null;

  @ApiProperty({ description: 'A 2xx answer.' })
  succeeded!: boolean;

  @ApiProperty({ ...INT32, minimum: 0 })
  duration_ms!: number;

  @ApiProperty(UNIX_SECONDS)
  created!: number;
}

export class EventDataDto {
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'The object as it was when the event happened.',
  })
  object!: unknown;
}

/** The event as webhooks carry it. */
export class EventPayloadDto {
  @ApiProperty({ example: 'evt_…' })
  id!: string;

  @ApiProperty({ enum: ['event'] })
  object!: 'event';

  @ApiProperty({ example: 'payment.succeeded' })
  type!: string;

  @ApiProperty(UNIX_SECONDS)
  created!: number;

  @ApiProperty({ type: EventDataDto })
  data!: EventDataDto;
}

/** The event as the API shows it: with its webhook delivery attempts. */
export class EventDto extends EventPayloadDto {
  @ApiProperty({
    type: [WebhookAttemptDto],
    description: 'Webhook deliveries so far, oldest first.',
  })
  delivery_attempts!: WebhookAttemptDto[];
}

export const EventListDto = ListDto(EventDto, EVENTS_URL, 'EventListDto');
