import {
  applyDecorators,
  Catch,
  UseFilters,
  type ArgumentsHost,
  type RpcExceptionFilter,
} from '@nestjs/common';
import { MessagePattern } from '@nestjs/microservices';
import { throwError, type Observable } from 'rxjs';
import type { TaskHandlerOptions } from './task-options';

/**
 * Nest's default RPC filter turns every error into a generic one; the task layer
 * needs the original error to decide between retry and failure, so task handlers
 * pass errors through untouched.
 */
@Catch()
export class TaskErrorPassthrough implements RpcExceptionFilter<unknown> {
  catch(exception: unknown, _host: ArgumentsHost): Observable<never> {
    return throwError(() => exception);
  }
}

/** Marks a method as the handler of a task: `@Task('ledger.post_transfer', { retryOn: [...] })`. */
export function Task(name: string, options: TaskHandlerOptions = {}): MethodDecorator {
  return applyDecorators(
    MessagePattern(name, options as Record<string, unknown>),
    UseFilters(TaskErrorPassthrough),
  );
}
