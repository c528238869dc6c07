import { paginate, PageCursorNotFoundError, type PageSource } from './keyset-page';

interface Call {
  sql: string;
  parameters: unknown[];
}

/** A stand-in database: answers each query with the next prepared rows, records the calls. */
function database(...answers: unknown[][]) {
  const calls: Call[] = [];
  const db = {
    query: <T>(sql: string, parameters: unknown[] = []): Promise<T> => {
      calls.push({ sql: sql.replace(/\s+/g, ' ').trim(), parameters });
      return Promise.resolve((answers.shift() ?? []) as T);
    },
  };
  return { db, calls };
}

const source: PageSource = {
  table: 'things',
  columns: 'id, created_at',
  where: { owner_id: 'own_1', kind: 'a' },
};
const rows = (...ids: string[]) => ids.map((id) => ({ id }));

describe('paginate (keyset, newest first)', () => {
  it('reads limit + 1 rows to tell whether more lie beyond the page', async () => {
    const { db, calls } = database(rows('c', 'b', 'a'));
    const page = await paginate(db, source, { limit: 2, cursor: null });
    expect(page).toEqual({ items: rows('c', 'b'), hasMore: true });
    expect(calls).toEqual([
      {
        sql: 'SELECT id, created_at FROM things WHERE owner_id = $1 AND kind = $2 ORDER BY created_at DESC, id DESC LIMIT $3',
        parameters: ['own_1', 'a', 3],
      },
    ]);
  });

  it('reads newer rows before a cursor in ascending order and gives them newest first', async () => {
    const { db, calls } = database([{}], rows('d', 'e'));
    const page = await paginate(db, source, { limit: 2, cursor: { id: 'c', direction: 'before' } });
    expect(page).toEqual({ items: rows('e', 'd'), hasMore: false });
    expect(calls[1]?.sql).toContain(
      '(created_at, id) > (SELECT created_at, id FROM things WHERE id = $3) ORDER BY created_at ASC',
    );
  });

  it("throws PageCursorNotFoundError for a cursor that is none of the filter's rows", async () => {
    const { db, calls } = database([]);
    const error = await paginate(db, source, {
      limit: 2,
      cursor: { id: 'x', direction: 'after' },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PageCursorNotFoundError);
    expect(error).toMatchObject({ cursorId: 'x', direction: 'after' });
    expect(calls).toEqual([
      {
        sql: 'SELECT 1 FROM things WHERE owner_id = $1 AND kind = $2 AND id = $3',
        parameters: ['own_1', 'a', 'x'],
      },
    ]);
  });

  it('refuses a limit out of range and a column name that is not an identifier', async () => {
    const { db } = database();
    await expect(paginate(db, source, { limit: 0, cursor: null })).rejects.toThrow(/page limit/);
    await expect(paginate(db, source, { limit: 1_001, cursor: null })).rejects.toThrow();
    await expect(
      paginate(db, { ...source, where: { 'id; drop': 'x' } }, { limit: 1, cursor: null }),
    ).rejects.toThrow(/bad column name/);
  });
});
