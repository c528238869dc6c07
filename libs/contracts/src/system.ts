import { IsOptional, IsString, MaxLength } from 'class-validator';

/** `<service>.ping`: every service answers it; used by smoke checks and operators. */
export const pingTask = (service: string): string => `${service}.ping`;

export class PingPayload {
  @IsString()
  @MaxLength(200)
  @IsOptional()
  note?: string;
}

export interface PingResult {
  service: string;
  note: string | null;
  at: string;
}
