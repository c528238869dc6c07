/**
 * The idempotency store's completions, against PostgreSQL: a completion batched with
 * others (one UPDATE for many keys) reports, per key, whether the key was still held by
 * the request — true for a held claim, false for one that is gone — so the gateway warns
 * only when a claim was really lost.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '@clearline/persistence';
import { isolatedInfrastructure, type IsolatedInfrastructure } from '@clearline/testing';
import { IdempotencyRepository, type ClaimInput } from '../src/idempotency/idempotency.repository';

describe('idempotency store', () => {
  let infra: IsolatedInfrastructure;
  let dataSource: DataSource;
  let repository: IdempotencyRepository;

  beforeAll(async () => {
    infra = await isolatedInfrastructure();
    dataSource = new DataSource(
      dataSourceOptions({ url: infra.databaseUrl, applicationName: 'idempotency-store-test' }),
    );
    await dataSource.initialize();
    repository = new IdempotencyRepository(dataSource);
  });

  afterAll(async () => {
    await dataSource.destroy();
    await infra.destroy();
  });

  const claimInput = (): ClaimInput => ({
    scope: 'mer_store',
    key: randomUUID(),
    requestHash: 'hash',
    method: 'POST',
    path: '/v1/payments',
  });
  const response = { statusCode: 200, responseBody: '{"ok":true}', responseHeaders: null };

  it('says which batched completions found their claim held', async () => {
    const held = claimInput();
    const neverClaimed = claimInput();
    expect(await repository.claim(held)).toEqual({ reference: null });

    const stored = await repository.completeMany([
      { claim: held, ...response },
      { claim: neverClaimed, ...response },
    ]);

    expect(stored).toEqual([true, false]);
    expect(await repository.find(held.scope, held.key)).toMatchObject({
      state: 'done',
      status_code: 200,
    });
  });

  it('says a second completion of the same claim found it no longer held', async () => {
    const claim = claimInput();
    await repository.claim(claim);
    expect(await repository.completeMany([{ claim, ...response }])).toEqual([true]);
    expect(await repository.completeMany([{ claim, ...response }])).toEqual([false]);
  });
});
