import { createHash } from 'node:crypto';
import type { QueryRunner } from 'typeorm';
import { migrationName, type MigrationClass } from './migration-set';

/**
 * A migration broke the rule that makes checksums possible: it must issue its SQL
 * through `runner.query(sql, parameters?)` and nothing else (no schema builder, no
 * `runner.createTable`, no branching on what a query returned).
 */
export class MigrationRuleError extends Error {
  override readonly name = 'MigrationRuleError';
}

/** The statements a migration issues, whitespace collapsed, in order. */
export interface MigrationSql {
  up: string[];
  down: string[];
}

type Phase = keyof MigrationSql;

/** Runs of whitespace become one space: re-indenting a landed migration is not an edit. */
export function normaliseSql(sql: string): string {
  return sql.replace(/\s+/g, ' ').trim();
}

function ruleError(name: string, phase: Phase, detail: string): MigrationRuleError {
  return new MigrationRuleError(
    `migration ${name}: ${phase}() ${detail}; migrations issue SQL through runner.query(sql, parameters?) only, so that their checksum is the SQL they issue`,
  );
}

/**
 * A QueryRunner stand-in that records each `query` call without executing it and
 * answers an empty result. Anything else a migration touches throws: a statement the
 * recorder cannot see would be a change the checksum cannot see.
 */
function recordingRunner(name: string, phase: Phase, statements: string[]): QueryRunner {
  const query = (sql: unknown, parameters?: unknown): Promise<unknown[]> => {
    if (typeof sql !== 'string')
      throw ruleError(name, phase, 'passed a query that is not a string');
    const text = normaliseSql(sql);
    statements.push(parameters === undefined ? text : `${text} -- ${JSON.stringify(parameters)}`);
    return Promise.resolve([]);
  };
  return new Proxy({} as QueryRunner, {
    get(_target, property) {
      if (property === 'query') return query;
      // Symbols and `then` are asked by await, inspectors and jest, not by migrations.
      if (typeof property === 'symbol' || property === 'then') return undefined;
      throw ruleError(name, phase, `used runner.${property}`);
    },
    set(_target, property) {
      throw ruleError(name, phase, `set runner.${String(property)}`);
    },
  });
}

/** Runs `up()` and `down()` of a fresh instance against the recorder. */
export async function recordMigrationSql(migration: MigrationClass): Promise<MigrationSql> {
  const name = migrationName(migration);
  const sql: MigrationSql = { up: [], down: [] };
  for (const phase of ['up', 'down'] as const) {
    const instance = new migration();
    try {
      await instance[phase](recordingRunner(name, phase, sql[phase]));
    } catch (error) {
      if (error instanceof MigrationRuleError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw ruleError(name, phase, `failed against the SQL recorder (${reason})`);
    }
  }
  return sql;
}

const checksums = new WeakMap<MigrationClass, Promise<string>>();

/**
 * sha256 (hex) of the SQL a migration issues in `up()` and `down()`, whitespace
 * collapsed. It is the same whether the migration runs as TypeScript through SWC or as
 * JavaScript compiled by tsc, because it never looks at the code, only at the SQL.
 */
export function migrationChecksum(migration: MigrationClass): Promise<string> {
  let checksum = checksums.get(migration);
  if (checksum === undefined) {
    checksum = recordMigrationSql(migration).then((sql) =>
      createHash('sha256').update(JSON.stringify(sql)).digest('hex'),
    );
    checksums.set(migration, checksum);
  }
  return checksum;
}
