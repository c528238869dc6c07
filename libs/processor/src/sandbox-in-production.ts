import {
  ValidatorConstraint,
  type ValidationArguments,
  type ValidatorConstraintInterface,
} from 'class-validator';

/** What a service's environment says about where money goes. */
interface MoneyDestinationEnvironment {
  NODE_ENV?: string;
  ALLOW_SANDBOX_IN_PRODUCTION?: string;
}

/**
 * `PAYMENT_PROCESSOR` and `PAYOUT_RAIL`: where money really goes. With NODE_ENV=production
 * the variable must be set (no default picks a processor for a live deployment), and
 * `sandbox` — which moves no real money — only with ALLOW_SANDBOX_IN_PRODUCTION=1 (a
 * staging cluster built like production). Elsewhere unset means the sandbox.
 */
@ValidatorConstraint({ name: 'moneyDestinationInProduction' })
export class MoneyDestinationInProduction implements ValidatorConstraintInterface {
  validate(value: unknown, args: ValidationArguments): boolean {
    const env = args.object as MoneyDestinationEnvironment;
    const allowed = args.constraints[0] as readonly string[];
    if (value === undefined) return env.NODE_ENV !== 'production';
    if (typeof value !== 'string' || !allowed.includes(value)) return false;
    return !(
      value === 'sandbox' &&
      env.NODE_ENV === 'production' &&
      env.ALLOW_SANDBOX_IN_PRODUCTION !== '1'
    );
  }

  defaultMessage(args: ValidationArguments): string {
    const allowed = (args.constraints[0] as readonly string[]).join(', ');
    return `must be one of ${allowed}; with NODE_ENV=production it must be set, and sandbox (no real money moves) only with ALLOW_SANDBOX_IN_PRODUCTION=1`;
  }
}
