import {
  admitPublish,
  type PublishAdmission,
  type PublishLimits,
  type PublishLoad,
} from '../../src/core/publish-admission.js';

const LIMITS: PublishLimits = { maxInFlight: 300, maxAuditBacklog: 5000, maxDeliveryLagMs: 500 };
const IDLE: PublishLoad = { inFlight: 0, auditBacklog: 0, deliveryLagMs: 0 };

describe(admitPublish.name, () => {
  it.each<[string, number, Partial<PublishLoad>, PublishAdmission]>([
    ['an idle node', 100, {}, { kind: 'admit' }],
    ['up to the in-flight limit', 100, { inFlight: 200 }, { kind: 'admit' }],
    ['past the in-flight limit', 100, { inFlight: 201 }, { kind: 'shed', signal: 'in_flight' }],
    ['a batch larger than the limit on an idle node', 400, {}, { kind: 'admit' }],
    [
      'a batch larger than the limit on a busy node',
      400,
      { inFlight: 1 },
      { kind: 'shed', signal: 'in_flight' },
    ],
    ['up to the audit backlog limit', 100, { auditBacklog: 4900 }, { kind: 'admit' }],
    [
      'past the audit backlog limit',
      100,
      { auditBacklog: 4901 },
      { kind: 'shed', signal: 'audit_backlog' },
    ],
    ['a delivery lag at the limit', 1, { deliveryLagMs: 500 }, { kind: 'admit' }],
    [
      'a delivery lag past the limit',
      1,
      { deliveryLagMs: 501 },
      { kind: 'shed', signal: 'delivery_lag' },
    ],
    [
      'every signal at once: the lag is named first',
      100,
      { inFlight: 300, auditBacklog: 5000, deliveryLagMs: 900 },
      { kind: 'shed', signal: 'delivery_lag' },
    ],
  ])('%s', (_name, notifications, load, expected) => {
    expect(admitPublish(notifications, { ...IDLE, ...load }, LIMITS)).toEqual(expected);
  });
});
