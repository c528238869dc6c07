import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { GroupCommit } from '@clearline/persistence';
import { HOT_PATH_GROUP_COMMIT } from '../batching/hot-path';
import { SecretBox, SecretBoxError } from '../common/secret-box';
import {
  IdempotencyRepository,
  type ClaimInput,
  type StoredResponse,
} from './idempotency.repository';
import { IdempotencyError, IdempotencyErrorCode } from './idempotency.exception';
import { requestHash } from './request-fingerprint';

/** A key this request holds until it completes or releases it. */
export interface IdempotencyClaim extends ClaimInput {
  /**
   * What an earlier, failed run of the same request committed (`setReference`), e.g.
   * the id of the payment it created; null on a first run. A handler that finds one
   * resumes from it instead of creating the object again.
   */
  reference: string | null;
  /** Set once the response is stored (by the handler's transaction or the interceptor). */
  completed: boolean;
}

export type ClaimOutcome =
  | { kind: 'claimed'; claim: IdempotencyClaim }
  | { kind: 'replay'; status: number; body: string; headers: Readonly<Record<string, string>> };

/** How a response is kept for replays. */
export interface StoreOptions {
  /**
   * The response shows a secret once (a new API key, a webhook secret): it is stored
   * sealed (`SecretBox`, bound to the claim), never in clear, and opened for a replay.
   */
  sealed?: boolean;
}

export interface RequestFingerprint {
  method: string;
  path: string;
  body: unknown;
}

/** A key released between our failed claim and our read is tried again this many times. */
const CLAIM_ATTEMPTS_MAX = 3;
const SWEEP_INTERVAL_MS = 10 * 60 * 1_000;

/** What a sealed response is bound to: its claim, so it cannot be moved to another row. */
function sealContext(claim: ClaimInput): string {
  return `idempotency\u0000${claim.scope}\u0000${claim.key}\u0000${claim.requestHash}`;
}

/** JSON that carries bigint amounts as decimal strings instead of throwing. */
export function responseJson(body: unknown): string {
  return JSON.stringify(body ?? null, (_key, value: unknown) =>
    typeof value === 'bigint' ? value.toString() : value,
  );
}

/**
 * Idempotency-Key handling (Stripe's rules): one request runs per key; a retry of the
 * same request replays its stored response; another request with the key is refused.
 */
@Injectable()
export class IdempotencyService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(IdempotencyService.name);
  private sweeper: NodeJS.Timeout | null = null;
  /** Responses stored outside a handler's transaction share statements under load. */
  private readonly completions = new GroupCommit<{ claim: ClaimInput } & StoredResponse, boolean>(
    HOT_PATH_GROUP_COMMIT,
    (items) => this.repository.completeMany(items),
  );

  constructor(
    private readonly repository: IdempotencyRepository,
    private readonly dataSource: DataSource,
    private readonly secrets: SecretBox,
  ) {}

  /** Claims `key` for this request, or says what to answer instead (replay, 409, 422). */
  async claim(scope: string, key: string, request: RequestFingerprint): Promise<ClaimOutcome> {
    const input: ClaimInput = {
      scope,
      key,
      requestHash: requestHash(request.method, request.path, request.body),
      method: request.method,
      path: request.path,
    };
    for (let attempt = 0; attempt < CLAIM_ATTEMPTS_MAX; attempt += 1) {
      const claimed = await this.repository.claim(input);
      if (claimed) {
        return {
          kind: 'claimed',
          claim: { ...input, reference: claimed.reference, completed: false },
        };
      }
      const existing = await this.repository.find(scope, key);
      if (!existing) continue; // released just now: claim again
      if (existing.request_hash !== input.requestHash) {
        throw new IdempotencyError(
          'Keys for idempotent requests can only be used with the same parameters they were first used with',
          IdempotencyErrorCode.KeyReused,
        );
      }
      if (existing.state === 'done' && existing.status_code !== null) {
        return {
          kind: 'replay',
          status: existing.status_code,
          body: this.replayBody(input, existing.response_body ?? 'null'),
          headers: existing.response_headers ?? {},
        };
      }
      break;
    }
    throw new IdempotencyError(
      'A request with this Idempotency-Key is still being processed; retry later',
      IdempotencyErrorCode.KeyInUse,
    );
  }

  /**
   * Stores the response, with the headers a replay must carry too (`Location`). Pass the
   * handler's transaction to commit the response with the rows it describes; without
   * one it is written on its own.
   */
  async complete(
    manager: EntityManager | null,
    claim: IdempotencyClaim,
    status: number,
    body: unknown,
    headers: Readonly<Record<string, string>> = {},
    { sealed = false }: StoreOptions = {},
  ): Promise<void> {
    const json = responseJson(body);
    const response: StoredResponse = {
      statusCode: status,
      responseBody: sealed ? this.secrets.seal(json, sealContext(claim)) : json,
      responseHeaders: Object.keys(headers).length === 0 ? null : JSON.stringify(headers),
    };
    const stored = manager
      ? await this.repository.complete(manager, claim, response)
      : await this.completions.submit({ claim, ...response });
    if (!stored) this.logger.warn(`idempotency key ${claim.key} was lost before completion`);
    // Inside a transaction the response is stored only once it commits (see transaction()).
    if (manager === null) claim.completed = true;
  }

  /** Records, in the handler's transaction, what a retry after a failure should resume from. */
  async setReference(
    manager: EntityManager,
    claim: IdempotencyClaim,
    reference: string,
  ): Promise<void> {
    await this.repository.setReference(manager, claim, reference);
    claim.reference = reference;
  }

  /** Frees the key after a failure of ours (5xx), so the client may retry. */
  async release(claim: IdempotencyClaim): Promise<void> {
    await this.repository.release(claim);
  }

  /**
   * Runs `work` in one transaction that also stores its result as the response of
   * `claim` (when there is one): the rows and the stored response commit together.
   */
  async transaction<T>(
    claim: IdempotencyClaim | null,
    status: number,
    work: (manager: EntityManager) => Promise<T>,
    options: StoreOptions = {},
  ): Promise<T> {
    const result = await this.dataSource.transaction('READ COMMITTED', async (manager) => {
      const done = await work(manager);
      if (claim) await this.complete(manager, claim, status, done, {}, options);
      return done;
    });
    if (claim) claim.completed = true;
    return result;
  }

  /**
   * A stored body as the replay answers it: a sealed one opened. One that cannot be
   * opened (sealed with another `SECRETS_ENCRYPTION_KEY`, e.g. a per-process key before a
   * restart) is refused with a clear 409, not answered with something else.
   */
  private replayBody(claim: ClaimInput, stored: string): string {
    if (!SecretBox.isSealed(stored)) return stored;
    try {
      return this.secrets.open(stored, sealContext(claim));
    } catch (error) {
      if (!(error instanceof SecretBoxError)) throw error;
      this.logger.warn(
        `idempotency key ${claim.key}: stored response not opened: ${error.message}`,
      );
      throw new IdempotencyError(
        'The first response to this Idempotency-Key showed a secret that can no longer be ' +
          'shown again (SECRETS_ENCRYPTION_KEY changed since); the request took effect: ' +
          'retrieve the object, or roll the secret with a new key',
        IdempotencyErrorCode.ReplayUnavailable,
      );
    }
  }

  onApplicationBootstrap(): void {
    this.sweeper = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  onApplicationShutdown(): void {
    if (this.sweeper) clearInterval(this.sweeper);
  }

  private async sweep(): Promise<void> {
    try {
      const deleted = await this.repository.sweepExpired();
      if (deleted > 0) this.logger.log(`deleted ${deleted} expired idempotency keys`);
    } catch (error) {
      this.logger.warn(`sweeping expired idempotency keys failed: ${String(error)}`);
    }
  }
}
