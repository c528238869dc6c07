import type { GroupCommitOptions } from '@clearline/persistence';

/**
 * What the gateway's hot-path statements use: up to 500 items per statement, two
 * statements of a kind in flight. Five kinds (claims, creations, lookups, settlements,
 * completions) then hold at most ten of the pool's connections.
 */
export const HOT_PATH_GROUP_COMMIT: GroupCommitOptions = { sizeMax: 500, concurrency: 2 };
