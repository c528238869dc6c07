import { Type } from 'class-transformer';
import { IsInt, Matches, Max, Min } from 'class-validator';
import { CommonEnvironment } from '@clearline/platform';

export class GatewayEnvironment extends CommonEnvironment {
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(65_535)
  GATEWAY_PORT = 3000;

  /**
   * The operators' bearer key for `/v1/admin`. Required: `npm start` generates one in
   * development; production takes it from a secret. There is no default on purpose.
   */
  @Matches(/^\S{1,512}$/, { message: 'must be set: 1 to 512 characters, no spaces' })
  ADMIN_API_KEY!: string;

  @Matches(/^rediss?:\/\/.+/, { message: 'must be a redis:// URL' })
  REDIS_URL = 'redis://127.0.0.1:6379';

  /** Sustained requests per second per API key; bursts of twice this are allowed. */
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  RATE_LIMIT_PER_S = 100;
}
