import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import type { EntityManager } from 'typeorm';
import { GatewayError, GatewayErrorCode } from './gateway.exception';

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
    IsOptional(),
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
  @IsOptional()
  @IsString()
  @MaxLength(CURSOR_LENGTH_MAX)
  starting_after?: string;

  @ApiPropertyOptional({ description: 'An object id: the page ends before it (newer objects).' })
  @IsOptional()
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

/** What `paginate` needs to know about a table. Identifiers come from code, never from input. */
export interface PageSource {
  table: string;
  /** The select list; must include `id` and `created_at`. */
  columns: string;
  /** Equality filters, the owning merchant always among them (`{ merchant_id: … }`). */
  where: Readonly<Record<string, string | number>>;
  /** Which object the cursor names, for the 404 (`event`). */
  objectName: string;
}

export interface Page<Row> {
  rows: Row[];
  hasMore: boolean;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

function whereClause(where: PageSource['where'], firstIndex: number): [string, unknown[]] {
  const columns = Object.keys(where);
  for (const column of columns) {
    if (!IDENTIFIER.test(column)) throw new Error(`bad column name ${column}`);
  }
  const sql = columns.map((column, i) => `${column} = $${firstIndex + i}`).join(' AND ');
  return [sql, Object.values(where)];
}

/**
 * One page of a merchant's objects, newest first, by the keyset `(created_at, id)`:
 * stable under inserts, one index scan per page. A cursor that is not one of the
 * merchant's objects answers 404, like any other id of another merchant.
 */
export async function paginate<Row extends { id: string }>(
  db: Pick<EntityManager, 'query'>,
  source: PageSource,
  query: ListQuery,
): Promise<Page<Row>> {
  if (query.starting_after !== undefined && query.ending_before !== undefined) {
    throw new GatewayError(
      'starting_after and ending_before cannot be used together',
      GatewayErrorCode.ParameterInvalid,
      'ending_before',
    );
  }
  const [filter, values] = whereClause(source.where, 1);
  const forward = query.ending_before === undefined;
  const cursorId = query.starting_after ?? query.ending_before;
  let keyset = '';
  const parameters: unknown[] = [...values];
  if (cursorId !== undefined) {
    const n = values.length + 1;
    const found = await db.query<unknown[]>(
      `SELECT 1 FROM ${source.table} WHERE ${filter} AND id = $${n}`,
      [...values, cursorId],
    );
    if (found.length === 0) {
      const param = forward ? 'starting_after' : 'ending_before';
      throw GatewayError.notFound(source.objectName, cursorId, param);
    }
    // Compared in SQL: a timestamp read into JavaScript would lose its microseconds.
    parameters.push(cursorId);
    keyset = ` AND (created_at, id) ${forward ? '<' : '>'}
      (SELECT created_at, id FROM ${source.table} WHERE id = $${n})`;
  }
  const order = forward ? 'DESC' : 'ASC';
  parameters.push(query.limit + 1);
  const rows = await db.query<Row[]>(
    `SELECT ${source.columns} FROM ${source.table}
      WHERE ${filter}${keyset}
      ORDER BY created_at ${order}, id ${order}
      LIMIT $${parameters.length}`,
    parameters,
  );
  const hasMore = rows.length > query.limit;
  const page = rows.slice(0, query.limit);
  return { rows: forward ? page : page.reverse(), hasMore };
}
