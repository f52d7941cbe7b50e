import { describe, expect, it } from '@jest/globals';
import {
  bucketOf,
  limitReason,
  type ThrottlerName,
  throttlersOf,
} from '../../src/throttle/throttlers.js';
import { testConfig } from '../support/app.js';

describe('named throttlers', () => {
  const config = testConfig({
    RATE_TICKETS_PER_USER: '7/2m',
    RATE_PUBLISH_PER_KEY: '500/1s',
    RATE_BACKCHANNEL_LOGOUT: '20/1s',
  });

  it('takes each limit from its own setting, the window as the ttl in ms', () => {
    expect(throttlersOf(config)).toEqual([
      { name: 'tickets', limit: 7, ttl: 120_000 },
      { name: 'publish', limit: 500, ttl: 1000 },
      { name: 'logout', limit: 20, ttl: 1000 },
    ]);
  });

  it.each<[ThrottlerName, string, string]>([
    ['tickets', 'tickets_per_user', 'tickets:doctor:dr-7f3k2m9q'],
    ['publish', 'publish_per_key', 'publish:dev'],
    ['logout', 'backchannel_logout', 'logout:all'],
  ])('%s: audit reason %s, bucket %s', (name, reason, bucket) => {
    expect(limitReason(name)).toBe(reason);
    expect(bucketOf(name, bucket.slice(name.length + 1))).toBe(bucket);
  });
});
