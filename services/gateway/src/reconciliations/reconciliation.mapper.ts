import { unixSeconds, type Plain } from '../http/wire';
import type { ReconciliationDto } from './reconciliation.dto';
import type { Reconciliation } from './reconciliation.model';

/** The REST reconciliation object. */
export function toReconciliationDto(reconciliation: Reconciliation): Plain<ReconciliationDto> {
  return {
    id: reconciliation.id,
    object: 'reconciliation',
    file_sha256: reconciliation.fileSha256,
    lines: reconciliation.lines,
    counts: { ...reconciliation.counts },
    created: unixSeconds(reconciliation.createdAt),
  };
}
