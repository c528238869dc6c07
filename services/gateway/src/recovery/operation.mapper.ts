import { unixSeconds } from '../http/wire';
import type { OperationInFlight } from './operation.model';
import type { OperationDto } from './operation.dto';

export function toOperationDto(operation: OperationInFlight): OperationDto {
  return {
    id: operation.id,
    object: operation.object,
    status: operation.status,
    operation: operation.operation,
    merchant: operation.merchantId,
    created: unixSeconds(operation.createdAt),
    updated: unixSeconds(operation.updatedAt),
    age_s: Math.max(0, Math.floor(operation.ageS)),
    resumes: operation.resumes,
  };
}
