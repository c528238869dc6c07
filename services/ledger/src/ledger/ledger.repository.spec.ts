import { QueryFailedError, type DataSource, type EntityManager } from 'typeorm';
import { LedgerError, LedgerErrorCode } from './ledger.exception';
import { LedgerRepository, type BatchWrite } from './ledger.repository';

const NOTHING: BatchWrite = { transfers: [], createdAt: new Date(0), pending: [], accounts: [] };

function failingWith(driverError: object): EntityManager {
  const error = new QueryFailedError(
    'WITH new_transfers AS (…)',
    [],
    Object.assign(new Error('refused'), driverError),
  );
  return { query: () => Promise.reject(error) } as unknown as EntityManager;
}

describe('LedgerRepository.writeChanges', () => {
  const repository = new LedgerRepository({} as DataSource);

  it('reports a transfer id another transaction wrote first as a lost race', async () => {
    const write = repository.writeChanges(
      failingWith({ code: '23505', constraint: 'ledger_transfers_pkey' }),
      NOTHING,
    );
    await expect(write).rejects.toBeInstanceOf(LedgerError);
    await expect(write).rejects.toMatchObject({
      code: LedgerErrorCode.TransfersCreatedConcurrently,
    });
  });

  it.each([
    [{ code: '23505', constraint: 'ledger_transfers_pending_id_key' }, 'another unique index'],
    [{ code: '23514', constraint: 'ledger_accounts_debits_within_credits' }, 'a CHECK'],
    [{ code: '42P01' }, 'a missing table'],
  ])('passes any other database error on untouched (%o, %s)', async (driverError, _what) => {
    await expect(repository.writeChanges(failingWith(driverError), NOTHING)).rejects.toBeInstanceOf(
      QueryFailedError,
    );
  });
});
