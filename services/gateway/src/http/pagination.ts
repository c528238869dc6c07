import { Optional } from './optional';
import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsString, Max, MaxLength, Min } from 'class-validator';
import { PageCursorNotFoundError, type Page, type PageRequest } from '@clearline/persistence';
import { RequestError, RequestErrorCode } from './request.exception';

export const PAGE_SIZE_DEFAULT = 10;
export const PAGE_SIZE_MAX = 100;
const CURSOR_LENGTH_MAX = 255;

/**
 * A list's `limit` query parameter, 1 to `max` (default `fallback`): a query string
 * arrives as text, so it is converted, and anything that is not an integer in range (a
 * word, a fraction, 0, 101) gets the one message that says what is allowed.
 */
export function PageLimit(max: number, fallback: number): PropertyDecorator {
  const invalid = { message: `$property must be an integer between 1 and ${max}` };
  return applyDecorators(
    ApiPropertyOptional({
      type: 'integer',
      format: 'int32',
      minimum: 1,
      maximum: max,
      default: fallback,
      description: 'How many objects a page holds.',
    }),
    Optional(),
    Type(() => Number),
    IsInt(invalid),
    Min(1, invalid),
    Max(max, invalid),
  );
}

/**
 * Stripe's list parameters. Extend it for a list with filters of its own
 * (`class ListEventsQuery extends ListQuery { type?: string }`).
 */
export class ListQuery {
  @PageLimit(PAGE_SIZE_MAX, PAGE_SIZE_DEFAULT)
  limit: number = PAGE_SIZE_DEFAULT;

  @ApiPropertyOptional({ description: 'An object id: the page starts after it (older objects).' })
  @Optional()
  @IsString()
  @MaxLength(CURSOR_LENGTH_MAX)
  starting_after?: string;

  @ApiPropertyOptional({ description: 'An object id: the page ends before it (newer objects).' })
  @Optional()
  @IsString()
  @MaxLength(CURSOR_LENGTH_MAX)
  ending_before?: string;
}

/** Stripe's list object. */
export class ListObject<T> {
  @ApiProperty({ enum: ['list'] })
  readonly object = 'list' as const;

  @ApiProperty({ description: 'The path of this list.' })
  readonly url: string;

  @ApiProperty({ description: 'More objects lie beyond this page, in the direction of paging.' })
  readonly has_more: boolean;

  readonly data: T[];

  constructor(url: string, data: T[], hasMore: boolean) {
    // Assigned in Stripe's order, which is the order JSON shows them in.
    this.url = url;
    this.has_more = hasMore;
    this.data = data;
  }
}

/**
 * A list query as the keyset pages of `@clearline/persistence` take it. Both cursors at
 * once is a request the API does not read (which end would the page start from?), so
 * it is refused here, at the edge, with `param: ending_before`.
 */
export function pageRequest(query: ListQuery): PageRequest {
  if (query.starting_after !== undefined && query.ending_before !== undefined) {
    throw new RequestError(
      'starting_after and ending_before cannot be used together',
      RequestErrorCode.ParameterInvalid,
      'ending_before',
    );
  }
  if (query.starting_after !== undefined) {
    return { limit: query.limit, cursor: { id: query.starting_after, direction: 'after' } };
  }
  if (query.ending_before !== undefined) {
    return { limit: query.limit, cursor: { id: query.ending_before, direction: 'before' } };
  }
  return { limit: query.limit, cursor: null };
}

/** What a list route lists: its path (the list's `url`) and its objects' name (`payment`). */
export interface ListedObjects {
  url: string;
  object: string;
}

/**
 * A page as Stripe's list object, each item mapped by `toDto`. A cursor that names none
 * of the caller's objects is answered as any other unknown id: 404 `resource_missing`,
 * with the cursor's parameter as `param` (the one place that maps the cursor error).
 */
export async function toListObject<T, D>(
  listed: ListedObjects,
  page: Promise<Page<T>>,
  toDto: (item: T) => D,
): Promise<ListObject<D>> {
  try {
    const { items, hasMore } = await page;
    return new ListObject(listed.url, items.map(toDto), hasMore);
  } catch (error) {
    if (!(error instanceof PageCursorNotFoundError)) throw error;
    throw new RequestError(
      `No such ${listed.object}: '${error.cursorId}'`,
      RequestErrorCode.ResourceMissing,
      error.direction === 'after' ? 'starting_after' : 'ending_before',
    );
  }
}
