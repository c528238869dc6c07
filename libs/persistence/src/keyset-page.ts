import type { EntityManager } from 'typeorm';

/** The most rows one page may ask for: a page is read in one statement, in memory. */
export const KEYSET_PAGE_SIZE_MAX = 1_000;

/**
 * Where a page lies relative to its cursor row, in the newest-first order pages are read
 * in: `after` it (older rows, Stripe's `starting_after`) or `before` it (newer rows,
 * Stripe's `ending_before`).
 */
export type PageDirection = 'after' | 'before';

/** A cursor: the id of a row of the same source, and which side of it the page lies on. */
export interface PageCursor {
  id: string;
  direction: PageDirection;
}

/** What `paginate` is asked for: how many rows, from where (the newest, without a cursor). */
export interface PageRequest {
  /** 1 to {@link KEYSET_PAGE_SIZE_MAX}. */
  limit: number;
  cursor: PageCursor | null;
}

/**
 * What `paginate` reads from. Identifiers come from code, never from input: they are
 * written into the SQL (column names are checked, table and select list are trusted).
 */
export interface PageSource {
  table: string;
  /** The select list; must include `id` and `created_at`. */
  columns: string;
  /**
   * Equality filters, the owner always among them (`{ merchant_id: … }`): a cursor that
   * names another owner's row is not found, like any other id of another owner.
   */
  where: Readonly<Record<string, string | number>>;
}

/** One page: its items in newest-first order, and whether more lie beyond it. */
export interface Page<T> {
  items: T[];
  /** More rows lie beyond this page, in the direction of paging. */
  hasMore: boolean;
}

/**
 * The cursor of a page request names no row of the source (filters included). Callers
 * answer it as they answer any unknown id; `direction` says which cursor it was.
 */
export class PageCursorNotFoundError extends Error {
  override readonly name = 'PageCursorNotFoundError';

  constructor(
    readonly cursorId: string,
    readonly direction: PageDirection,
  ) {
    super(`page cursor ${cursorId} (${direction}) names no row`);
  }
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

function whereClause(where: PageSource['where']): [string, unknown[]] {
  const columns = Object.keys(where);
  for (const column of columns) {
    if (!IDENTIFIER.test(column)) throw new Error(`bad column name ${column}`);
  }
  const sql = columns.map((column, i) => `${column} = $${i + 1}`).join(' AND ');
  return [sql, Object.values(where)];
}

/**
 * One page of a source's rows, newest first, by the keyset `(created_at, id)`: stable
 * under inserts, one index scan per page, `limit + 1` rows read to tell `hasMore`. The
 * cursor row is compared in SQL (a timestamp read into JavaScript would lose its
 * microseconds); a cursor that names no row of the source throws
 * {@link PageCursorNotFoundError}.
 *
 * @example
 * const page = await paginate<PaymentRow>(dataSource,
 *   { table: 'payments', columns: 'id, amount, created_at', where: { merchant_id: id } },
 *   { limit: 10, cursor: { id: 'pay_…', direction: 'after' } });
 */
export async function paginate<Row extends { id: string }>(
  db: Pick<EntityManager, 'query'>,
  source: PageSource,
  request: PageRequest,
): Promise<Page<Row>> {
  const { limit, cursor } = request;
  if (!Number.isInteger(limit) || limit < 1 || limit > KEYSET_PAGE_SIZE_MAX) {
    throw new Error(`page limit ${limit} is not an integer from 1 to ${KEYSET_PAGE_SIZE_MAX}`);
  }
  const [filter, values] = whereClause(source.where);
  const forward = cursor?.direction !== 'before';
  const parameters: unknown[] = [...values];
  let keyset = '';
  if (cursor) {
    const n = values.length + 1;
    const found = await db.query<unknown[]>(
      `SELECT 1 FROM ${source.table} WHERE ${filter} AND id = $${n}`,
      [...values, cursor.id],
    );
    if (found.length === 0) throw new PageCursorNotFoundError(cursor.id, cursor.direction);
    parameters.push(cursor.id);
    keyset = ` AND (created_at, id) ${forward ? '<' : '>'}
      (SELECT created_at, id FROM ${source.table} WHERE id = $${n})`;
  }
  const order = forward ? 'DESC' : 'ASC';
  parameters.push(limit + 1);
  const rows = await db.query<Row[]>(
    `SELECT ${source.columns} FROM ${source.table}
      WHERE ${filter}${keyset}
      ORDER BY created_at ${order}, id ${order}
      LIMIT $${parameters.length}`,
    parameters,
  );
  const hasMore = rows.length > limit;
  const items = rows.slice(0, limit);
  return { items: forward ? items : items.reverse(), hasMore };
}
