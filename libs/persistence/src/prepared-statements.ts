import { Client } from 'pg';

/**
 * The most statement texts one process prepares. The texts are the code's own (a
 * statement built from a repository's configuration is one text per configuration), so
 * the bound is never reached in practice; past it a statement simply runs unprepared.
 */
export const PREPARED_STATEMENTS_MAX = 1_000;

/** Text → the name it is prepared under, on every connection of this process. */
const names = new Map<string, string>();

/**
 * Marks a statement to be prepared once per connection (a named statement of
 * PostgreSQL's extended protocol) and returns it unchanged.
 *
 * An unnamed statement is parsed, analysed and planned every time it runs: for the
 * small statements of the real-time path (one payment's, or a group commit's handful)
 * that is most of their server CPU (measured: 0.45–0.53 ms a run unnamed, 0.11–0.17
 * ms with one plan kept, 0.30 ms planned each run, for the task results' upsert of one
 * row). A prepared statement is parsed once per connection, and still planned for its
 * parameters on every run (`plan_cache_mode=force_custom_plan`, set on every connection
 * by `dataSourceOptions`): a generic plan made while a table was empty scans it whole,
 * and PostgreSQL keeps it until the table's statistics change — measured, the
 * payments bench lost a fifth of its rate to such plans as its tables grew.
 *
 * Statements must use parameters, not literals that vary: every distinct text is
 * another prepared statement on every connection.
 */
export function preparedStatement(text: string): string {
  if (!names.has(text) && names.size < PREPARED_STATEMENTS_MAX) {
    names.set(text, `clearline_${names.size + 1}`);
  }
  return text;
}

/** The name a statement is prepared under, if it is marked. */
export function preparedStatementName(text: string): string | undefined {
  return names.get(text);
}

type QueryFunction = (config: unknown, values?: unknown, callback?: unknown) => unknown;

/**
 * node-postgres's client, running the statements marked with {@link preparedStatement}
 * as named statements (parsed once per connection); every other query as it came. Pools
 * use it through `extra.Client` ({@link dataSourceOptions}).
 */
export class PreparingClient extends Client {
  constructor(config?: ConstructorParameters<typeof Client>[0]) {
    super(config);
    const query = (super.query as QueryFunction).bind(this);
    const preparing: QueryFunction = (config, values, callback) => {
      if (typeof config === 'string' && Array.isArray(values) && values.length > 0) {
        const name = names.get(config);
        if (name !== undefined) return query({ name, text: config, values }, callback);
      }
      return query(config, values, callback);
    };
    this.query = preparing as Client['query'];
  }
}
