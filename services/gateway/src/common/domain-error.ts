/**
 * A domain error of a feature: a message for people and a code of the feature's enum
 * for programs. Each feature's exception file maps its codes, exhaustively, to what
 * each transport does with them (an HTTP answer, a task outcome); a service throws
 * these and never an HttpException.
 */
export abstract class DomainError<Code extends string> extends Error {
  constructor(
    message: string,
    readonly code: Code,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
