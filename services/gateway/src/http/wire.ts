/** A DTO class's fields as a plain object type (what mappers build; no class instance). */
export type Plain<T> = { [K in keyof T]: T[K] };

/** Stripe's `created`: Unix time in whole seconds. */
export function unixSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1_000);
}
