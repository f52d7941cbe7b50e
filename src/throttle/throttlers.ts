import type { ThrottlerOptions } from '@nestjs/throttler';
import type { Config, RateLimit } from '../config/config.types.js';
import type { RequestRateLimit } from '../core/audit-vocabulary.js';

/**
 * The HTTP limits, one named throttler each. The name is also the bucket of the counter
 * (`tickets:<userKey>`, `publish:<kid>`), the same keys the limits used before the throttler,
 * so nodes of both versions count into one window during a rolling deploy.
 */
export type ThrottlerName = 'tickets' | 'publish' | 'logout';

export const THROTTLER_NAMES: readonly ThrottlerName[] = ['tickets', 'publish', 'logout'];

/** The limit a throttler enforces, from the typed Config. */
export function limitOf(name: ThrottlerName, config: Config): RateLimit {
  switch (name) {
    case 'tickets':
      return config.tickets.ratePerUser;
    case 'publish':
      return config.publish.ratePerKey;
    case 'logout':
      return config.auth.logoutRate;
  }
}

/** The `reason` of the `rate.limited` audit record: which limit refused the request. */
export function limitReason(name: ThrottlerName): RequestRateLimit {
  switch (name) {
    case 'tickets':
      return 'tickets_per_user';
    case 'publish':
      return 'publish_per_key';
    case 'logout':
      return 'backchannel_logout';
  }
}

/** The bucket a tracker (user key, key id) is counted in; one per throttler and tracker. */
export function bucketOf(name: ThrottlerName, tracker: string): string {
  return `${name}:${tracker}`;
}

/** The named throttlers for ThrottlerModule: `ttl` is the fixed window's length in ms. */
export function throttlersOf(config: Config): ThrottlerOptions[] {
  return THROTTLER_NAMES.map((name) => {
    const { limit, windowMs } = limitOf(name, config);
    return { name, limit, ttl: windowMs };
  });
}
