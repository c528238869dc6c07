import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { GroupCommit, preparedStatement } from '@clearline/persistence';
import { HOT_PATH_GROUP_COMMIT } from '../batching/hot-path';

/** How long a key and its response are kept; after that the key may be used again. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1_000;
/**
 * A claim older than this whose request never finished (its process died) may be taken
 * over by a retry of the same request. Handlers must answer well within it.
 */
export const IDEMPOTENCY_LOCK_TIMEOUT_MS = 60_000;
/** Expired rows deleted per sweep statement. */
export const IDEMPOTENCY_SWEEP_BATCH_MAX = 10_000;

export interface IdempotencyRow {
  request_hash: string;
  state: 'in_progress' | 'done';
  status_code: number | null;
  response_body: string | null;
  /** The headers the handler chose (`Location`), replayed with the body; null for none. */
  response_headers: Record<string, string> | null;
}

/** A response to store: its status, its JSON body, and its headers as JSON (or null). */
export interface StoredResponse {
  statusCode: number;
  responseBody: string;
  responseHeaders: string | null;
}

export interface ClaimInput {
  scope: string;
  key: string;
  requestHash: string;
  method: string;
  path: string;
}

type Queryable = Pick<EntityManager, 'query'>;

/** TypeORM answers UPDATE and DELETE with `[rows, affected]` instead of the rows. */
type Affected = [unknown[], number];

/**
 * One statement claims a key: a new key is inserted; an expired one, or an abandoned
 * claim of the same request, is taken over; anything else is left alone and the
 * statement returns no row. Never check-then-insert: two racing requests cannot both
 * get a row back. It takes arrays, so concurrent claims share it (a key named twice in
 * one statement fails it, and each claim then runs alone).
 */
const CLAIM_SQL = preparedStatement(`
  INSERT INTO idempotency_keys AS k
    (scope, key, request_hash, method, path, state, locked_at, expires_at)
  SELECT i.scope, i.key, i.request_hash, i.method, i.path, 'in_progress', now(),
         now() + $6 * interval '1 millisecond'
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
      AS i(scope, key, request_hash, method, path)
  ON CONFLICT (scope, key) DO UPDATE SET
    request_hash  = excluded.request_hash,
    method        = excluded.method,
    path          = excluded.path,
    state         = 'in_progress',
    status_code   = NULL,
    response_body = NULL,
    response_headers = NULL,
    completed_at  = NULL,
    locked_at     = now(),
    reference     = CASE WHEN k.expires_at <= now() THEN NULL ELSE k.reference END,
    created_at    = CASE WHEN k.expires_at <= now() THEN now() ELSE k.created_at END,
    expires_at    = CASE WHEN k.expires_at <= now() THEN excluded.expires_at ELSE k.expires_at END
  WHERE k.expires_at <= now()
     OR (k.state = 'in_progress'
         AND k.request_hash = excluded.request_hash
         AND (k.locked_at IS NULL OR k.locked_at < now() - $7 * interval '1 millisecond'))
  RETURNING k.scope, k.key, k.reference`);

interface ClaimedRow {
  scope: string;
  key: string;
  reference: string | null;
}

function scopedKey(row: { scope: string; key: string }): string {
  return `${row.scope}\u0000${row.key}`;
}

/** The claim a reference is recorded for: the key, and the request that holds it. */
export type ClaimKey = Pick<ClaimInput, 'scope' | 'key' | 'requestHash'>;

/**
 * A statement part that records idempotency references (what a retry after a crash
 * resumes from): `setReference`'s update, set-based, for a statement that creates the
 * objects the references name (the payment creation), so the two commit together in
 * one round trip. A claim no longer held (expired and taken over) is left alone.
 *
 * With the repository's own statements, this is the only code that writes
 * `idempotency_keys`.
 */
export class IdempotencyReferences {
  private constructor(
    readonly parameters: unknown[],
    private readonly firstParameter: number,
  ) {}

  /** Parameters numbered from `firstParameter` (four of them). */
  static of(
    references: readonly { claim: ClaimKey; reference: string }[],
    firstParameter: number,
  ): IdempotencyReferences {
    return new IdempotencyReferences(
      [
        references.map((r) => r.reference),
        references.map((r) => r.claim.scope),
        references.map((r) => r.claim.key),
        references.map((r) => r.claim.requestHash),
      ],
      firstParameter,
    );
  }

  /**
   * A CTE, `idempotency_references AS (UPDATE …)`, to stand among the caller's. With
   * `madeIn`, a CTE of the caller's that yields `key`, only the references it yields are
   * recorded (the objects the statement did make).
   */
  cte(madeIn?: string): string {
    const n = this.firstParameter;
    return `idempotency_references AS (
      UPDATE idempotency_keys k SET reference = r.reference
        FROM unnest($${n}::text[], $${n + 1}::text[], $${n + 2}::text[], $${n + 3}::text[])
          AS r(reference, scope, key, request_hash)
       WHERE k.scope = r.scope AND k.key = r.key AND k.request_hash = r.request_hash
         AND k.state = 'in_progress'${
           madeIn
             ? `
         AND r.reference IN (SELECT key FROM ${madeIn})`
             : ''
         }
    )`;
  }
}

@Injectable()
export class IdempotencyRepository {
  /** Claims of concurrent requests share one statement. */
  private readonly claims = new GroupCommit<ClaimInput, { reference: string | null } | undefined>(
    HOT_PATH_GROUP_COMMIT,
    (inputs) => this.claimMany(inputs),
  );

  constructor(private readonly dataSource: DataSource) {}

  /** Returns the claim's recovered reference (or null), or undefined if the key is taken. */
  claim(input: ClaimInput): Promise<{ reference: string | null } | undefined> {
    return this.claims.submit(input);
  }

  private async claimMany(
    inputs: readonly ClaimInput[],
  ): Promise<({ reference: string | null } | undefined)[]> {
    const rows = await this.dataSource.query<ClaimedRow[]>(CLAIM_SQL, [
      inputs.map((input) => input.scope),
      inputs.map((input) => input.key),
      inputs.map((input) => input.requestHash),
      inputs.map((input) => input.method),
      inputs.map((input) => input.path),
      IDEMPOTENCY_TTL_MS,
      IDEMPOTENCY_LOCK_TIMEOUT_MS,
    ]);
    const claimed = new Map(rows.map((row) => [scopedKey(row), row.reference]));
    return inputs.map((input) =>
      claimed.has(scopedKey(input))
        ? { reference: claimed.get(scopedKey(input)) ?? null }
        : undefined,
    );
  }

  async find(scope: string, key: string): Promise<IdempotencyRow | undefined> {
    const rows = await this.dataSource.query<IdempotencyRow[]>(
      preparedStatement(`SELECT request_hash, state, status_code, response_body, response_headers
         FROM idempotency_keys WHERE scope = $1 AND key = $2`),
      [scope, key],
    );
    return rows[0];
  }

  /** Stores the response; false if the claim was lost (it expired and was taken over). */
  async complete(db: Queryable, claim: ClaimInput, response: StoredResponse): Promise<boolean> {
    const [, affected] = await db.query<Affected>(
      preparedStatement(`UPDATE idempotency_keys
          SET state = 'done', status_code = $4, response_body = $5, response_headers = $6,
              completed_at = now(), locked_at = NULL
        WHERE scope = $1 AND key = $2 AND request_hash = $3 AND state = 'in_progress'`),
      [
        claim.scope,
        claim.key,
        claim.requestHash,
        response.statusCode,
        response.responseBody,
        response.responseHeaders,
      ],
    );
    return affected === 1;
  }

  /**
   * `complete` for many claims in one statement (no transaction of the caller's);
   * returns, per claim, whether it was still held.
   */
  async completeMany(
    items: readonly ({ claim: ClaimInput } & StoredResponse)[],
  ): Promise<boolean[]> {
    // TypeORM answers an UPDATE with [rows RETURNING, affected count], not the rows alone.
    const [rows] = await this.dataSource.query<[{ scope: string; key: string }[], number]>(
      preparedStatement(`UPDATE idempotency_keys k
          SET state = 'done', status_code = i.status_code, response_body = i.response_body,
              response_headers = i.response_headers::jsonb, completed_at = now(),
              locked_at = NULL
         FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[])
           AS i(scope, key, request_hash, status_code, response_body, response_headers)
        WHERE k.scope = i.scope AND k.key = i.key AND k.request_hash = i.request_hash
          AND k.state = 'in_progress'
       RETURNING k.scope, k.key`),
      [
        items.map((item) => item.claim.scope),
        items.map((item) => item.claim.key),
        items.map((item) => item.claim.requestHash),
        items.map((item) => item.statusCode),
        items.map((item) => item.responseBody),
        items.map((item) => item.responseHeaders),
      ],
    );
    const stored = new Set(rows.map(scopedKey));
    return items.map((item) => stored.has(scopedKey(item.claim)));
  }

  async setReference(db: Queryable, claim: ClaimKey, reference: string): Promise<void> {
    const references = IdempotencyReferences.of([{ claim, reference }], 1);
    await db.query(preparedStatement(`WITH ${references.cte()} SELECT 1`), references.parameters);
  }

  /**
   * Gives the key back after a failure of ours. A claim that committed nothing is
   * deleted, so the key is free for any request; one whose handler committed a
   * reference is only unlocked, so a retry of the same request resumes from it.
   */
  async release(claim: ClaimInput): Promise<void> {
    await this.dataSource.query(
      preparedStatement(`WITH mine AS (
         SELECT scope, key, reference FROM idempotency_keys
          WHERE scope = $1 AND key = $2 AND request_hash = $3 AND state = 'in_progress'
       ), deleted AS (
         DELETE FROM idempotency_keys k USING mine
          WHERE k.scope = mine.scope AND k.key = mine.key AND mine.reference IS NULL
       )
       UPDATE idempotency_keys k SET locked_at = NULL FROM mine
        WHERE k.scope = mine.scope AND k.key = mine.key AND mine.reference IS NOT NULL`),
      [claim.scope, claim.key, claim.requestHash],
    );
  }

  /** Deletes up to a batch of expired keys; returns how many. */
  async sweepExpired(): Promise<number> {
    const [, affected] = await this.dataSource.query<Affected>(
      preparedStatement(`DELETE FROM idempotency_keys WHERE (scope, key) IN (
         SELECT scope, key FROM idempotency_keys WHERE expires_at <= now() LIMIT $1)`),
      [IDEMPOTENCY_SWEEP_BATCH_MAX],
    );
    return affected;
  }
}
