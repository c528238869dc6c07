import {
  applyDecorators,
  createParamDecorator,
  SetMetadata,
  type ExecutionContext,
} from '@nestjs/common';
import { ApiBearerAuth } from '@nestjs/swagger';
import type { GatewayRequest } from '../http/http-types';

export const AUTH_METADATA = 'clearline:auth';
export type AuthKind = 'merchant' | 'operator';

/** OpenAPI security scheme names (declared in openapi.ts). */
export const MERCHANT_SCHEME = 'merchant_key';
export const OPERATOR_SCHEME = 'admin_key';

/** The route is called by merchants with `Authorization: Bearer sk_…`. */
export const MerchantAuth = (): ClassDecorator & MethodDecorator =>
  applyDecorators(SetMetadata(AUTH_METADATA, 'merchant'), ApiBearerAuth(MERCHANT_SCHEME));

/** The route is called by operators with `Authorization: Bearer <ADMIN_API_KEY>`. */
export const OperatorAuth = (): ClassDecorator & MethodDecorator =>
  applyDecorators(SetMetadata(AUTH_METADATA, 'operator'), ApiBearerAuth(OPERATOR_SCHEME));

/** The calling merchant's id, on a `@MerchantAuth()` route. */
export const MerchantId = createParamDecorator(
  (_data: unknown, context: ExecutionContext): string => {
    const { auth } = context.switchToHttp().getRequest<GatewayRequest>();
    if (auth?.kind !== 'merchant') throw new Error('@MerchantId() needs a @MerchantAuth() route');
    return auth.merchantId;
  },
);
