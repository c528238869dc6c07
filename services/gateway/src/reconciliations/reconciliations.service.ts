import assert from 'node:assert/strict';
import type { Readable, Writable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import { newId } from '@clearline/contracts';
import type { Reconciliation, ReconcileOutcome } from './reconciliation.model';
import { ReconciliationError, ReconciliationErrorCode } from './reconciliations.exception';
import { ReconciliationsRepository } from './reconciliations.repository';
import { SETTLEMENT_FILE_BYTES_MAX, SettlementFileReader } from './settlement-file';

/** A settlement file as it arrives. */
export interface SettlementFileUpload {
  /** The file's bytes, read once, as they come. */
  body: Readable;
  /** The size the sender declared (Content-Length), if it did. */
  declaredBytes: number | null;
}

function tooLarge(): ReconciliationError {
  return new ReconciliationError(
    `The settlement file is larger than ${SETTLEMENT_FILE_BYTES_MAX} bytes`,
    ReconciliationErrorCode.FileTooLarge,
  );
}

/**
 * Feeds the upload into the reader, and ends the reader with an error when the upload
 * breaks off (the sender went away), so the COPY fails and nothing is recorded.
 */
function feed(body: Readable, reader: SettlementFileReader): void {
  const brokenOff = (error?: Error): void => {
    if (!body.readableEnded) reader.destroy(error ?? new Error('the upload broke off'));
  };
  body.once('error', brokenOff);
  body.once('close', () => brokenOff());
  body.pipe(reader);
}

/**
 * Reconciliation of a processor's settlement file against our payments and refunds, and
 * the sandbox processor's own file. A file is staged and judged in one transaction
 * (ReconciliationSession): a fault anywhere records nothing; the same file (same sha256)
 * answers the reconciliation it had.
 */
@Injectable()
export class ReconciliationsService {
  constructor(private readonly repository: ReconciliationsRepository) {}

  async reconcile(upload: SettlementFileUpload): Promise<ReconcileOutcome> {
    if (upload.declaredBytes !== null && upload.declaredBytes > SETTLEMENT_FILE_BYTES_MAX) {
      throw tooLarge();
    }
    const reader = new SettlementFileReader(SETTLEMENT_FILE_BYTES_MAX);
    let session;
    try {
      session = await this.repository.begin();
      // The body waits in its socket until here (backpressure); the staging pipeline
      // listens from the same tick.
      feed(upload.body, reader);
      await session.stage(reader);
      const fileSha256 = reader.sha256();
      const before = await session.findByHash(fileSha256);
      if (before) {
        await session.rollback();
        return { created: false, reconciliation: before };
      }
      const id = newId('rec');
      if (!(await session.claim(id, fileSha256, reader.lines))) {
        // The same file, uploaded at the same time, committed first: its answer is ours.
        await session.rollback();
        const winner = await this.repository.findByHash(fileSha256);
        assert(winner, 'a reconciliation lost to one that is not there');
        return { created: false, reconciliation: winner };
      }
      const reconciliation = await session.judge(id);
      await session.commit();
      return { created: true, reconciliation };
    } catch (error) {
      // What the sender still sends is read and dropped, so the answer reaches it.
      upload.body.unpipe(reader);
      upload.body.resume();
      throw error;
    } finally {
      session?.end();
    }
  }

  async find(id: string): Promise<Reconciliation> {
    const reconciliation = await this.repository.find(id);
    if (!reconciliation) throw notFound(id);
    return reconciliation;
  }

  /** Writes the exceptions CSV of a reconciliation to `sink` (404 before any byte if unknown). */
  async writeExceptions(id: string, sink: Writable): Promise<void> {
    await this.find(id);
    await this.repository.writeExceptions(id, sink);
  }

  /** Writes the sandbox processor's settlement file of a UTC day (`YYYY-MM-DD`) to `sink`. */
  writeSandboxSettlementFile(date: string, sink: Writable): Promise<void> {
    return this.repository.writeSettlementFile(date, sink);
  }
}

function notFound(id: string): ReconciliationError {
  return new ReconciliationError(
    `No such reconciliation: '${id}'`,
    ReconciliationErrorCode.ReconciliationNotFound,
  );
}
