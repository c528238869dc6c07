import { CreateGatewayTables1764200000000 } from './1764200000000-CreateGatewayTables';

/** The gateway's migrations, in order. */
export const GATEWAY_MIGRATIONS = [CreateGatewayTables1764200000000];
