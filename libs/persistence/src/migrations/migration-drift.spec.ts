import {
  compareMigrations,
  MigrationDriftError,
  type AppliedMigration,
  type ExpectedMigration,
} from './migration-drift';

function expected(owner: string, name: string, checksum: string): [string, ExpectedMigration] {
  return [name, { name, owner, checksum, timestamp: Number(name.slice(-13)) }];
}

function applied(name: string, owner: string | null, checksum: string | null): AppliedMigration {
  return { name, owner, checksum, timestamp: Number(name.slice(-13)) };
}

const CODE = new Map([
  expected('tasks', 'Tasks1700000000000', 't1'),
  expected('ledger', 'Ledger1700000000100', 'l1'),
  expected('ledger', 'Ledger1700000000300', 'l3'),
  expected('gateway', 'Gateway1700000000200', 'g1'),
]);

describe('compareMigrations', () => {
  it('accepts applied migrations whose checksums match, and lists the pending ones', () => {
    const result = compareMigrations(
      [
        applied('Tasks1700000000000', 'tasks', 't1'),
        applied('Ledger1700000000100', 'ledger', 'l1'),
      ],
      CODE,
      new Set(['tasks', 'ledger', 'gateway']),
      true,
    );
    expect(result).toEqual({
      problems: [],
      pending: ['Ledger1700000000300', 'Gateway1700000000200'],
      future: [],
    });
  });

  it('finds a changed checksum', () => {
    const { problems } = compareMigrations(
      [applied('Ledger1700000000100', 'ledger', 'old')],
      CODE,
      new Set(['ledger']),
      false,
    );
    expect(problems).toEqual([
      {
        kind: 'changed',
        name: 'Ledger1700000000100',
        owner: 'ledger',
        applied: 'old',
        current: 'l1',
      },
    ]);
  });

  it("finds a migration missing from its owner's set, and leaves other owners' to them", () => {
    const rows = [
      applied('Ledger1700000000200', 'ledger', 'l2'),
      applied('Refund1700000000150', 'refund', 'r1'),
    ];
    const service = compareMigrations(rows, CODE, new Set(['tasks', 'ledger']), false);
    expect(service.problems).toEqual([
      { kind: 'missing', name: 'Ledger1700000000200', owner: 'ledger' },
    ]);
    // migration:run lists every owner: a migration nobody lists is missing as well.
    const all = compareMigrations(rows, CODE, new Set(['tasks', 'ledger', 'gateway']), true);
    expect(all.problems.map((p) => p.name)).toEqual(['Ledger1700000000200', 'Refund1700000000150']);
  });

  it('calls a migration newer than everything its owner has in the code "future", not missing', () => {
    const result = compareMigrations(
      [applied('Ledger1700000000900', 'ledger', 'l9')],
      CODE,
      new Set(['ledger']),
      false,
    );
    expect(result.problems).toEqual([]);
    expect(result.future).toEqual(['Ledger1700000000900']);
  });

  it('says what happened and the rule in its error', () => {
    const error = new MigrationDriftError([
      { kind: 'changed', name: 'Ledger1700000000100', owner: 'ledger', applied: 'a', current: 'b' },
      { kind: 'missing', name: 'Ledger1700000000200', owner: 'ledger' },
    ]);
    expect(error.message).toBe(
      [
        'Applied migrations differ from the code:',
        '  - Ledger1700000000100 (ledger): changed since it was applied (checksum a applied, b in the code)',
        '  - Ledger1700000000200 (ledger): applied to this database, missing from the code',
        'Landed migrations are never edited or removed: restore the migration as it was applied, and write a new migration for the change.',
      ].join('\n'),
    );
  });
});
