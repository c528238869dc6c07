import {
  PREPARED_STATEMENTS_MAX,
  preparedStatement,
  preparedStatementName,
} from './prepared-statements';

describe('preparedStatement', () => {
  it('returns the text unchanged and names it once, however often it is marked', () => {
    const text = 'SELECT $1::int AS one';
    expect(preparedStatement(text)).toBe(text);
    const name = preparedStatementName(text);
    expect(name).toMatch(/^clearline_\d+$/);
    preparedStatement(['SELECT $1::int AS', 'one'].join(' '));
    expect(preparedStatementName(text)).toBe(name);
    expect(preparedStatementName('SELECT $1::int AS two')).toBeUndefined();
  });

  it(`prepares at most ${PREPARED_STATEMENTS_MAX} texts a process: the rest run unprepared`, () => {
    const texts = Array.from(
      { length: PREPARED_STATEMENTS_MAX + 5 },
      (_, index) => `SELECT $1::int + ${index}`,
    );
    texts.forEach((text) => preparedStatement(text));
    const named = texts.map((text) => preparedStatementName(text));
    expect(new Set(named.filter((name) => name !== undefined)).size).toBe(
      PREPARED_STATEMENTS_MAX - 1,
    );
    expect(named.slice(-5)).toEqual([undefined, undefined, undefined, undefined, undefined]);
  });
});
