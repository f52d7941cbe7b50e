import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import {
  notificationPublished,
  notificationRejected,
  serviceActor,
} from '../core/audit-entries.js';
import type { NotificationRejection, ServiceActor } from '../core/audit-vocabulary.js';
import { formatChannel } from '../core/channel.js';
import { notificationMessage } from '../core/bus-message.js';
import type { Notification } from '../core/notification.js';
import { Bus } from '../fanout/bus.js';
import { Metrics } from '../metrics/metrics.js';
import { IdempotencyStore } from '../stores/idempotency-store/idempotency-store.js';

export type PublishOutcome =
  | { ok: true; accepted: { id: string; duplicate: boolean }[] }
  | { ok: false; error: 'unavailable' };

/**
 * Accepts notifications from a publishing service (already within its per-key rate: see
 * PublisherThrottlerGuard): idempotency by `id` across nodes, then one bus publish per new
 * notification with the frame already encoded. Answers as soon as the bus took the message:
 * publishing never waits for delivery.
 */
@Injectable()
export class Publisher {
  constructor(
    private readonly idempotency: IdempotencyStore,
    private readonly bus: Bus,
    private readonly audit: AuditService,
    private readonly metrics: Metrics,
  ) {}

  async publish(kid: string, notifications: readonly Notification[]): Promise<PublishOutcome> {
    const actor = serviceActor(kid);
    const now = Date.now();
    try {
      // All at once: the commands share one connection, so Redis still sees each claim before
      // its publish and the publishes in body order, at one round trip per batch, not per item.
      const accepted = await Promise.all(notifications.map((n) => this.publishOne(actor, n, now)));
      return { ok: true, accepted };
    } catch {
      this.rejected(actor, 'unavailable', notifications.length);
      return { ok: false, error: 'unavailable' };
    }
  }

  private async publishOne(actor: ServiceActor, n: Notification, now: number) {
    const channel = formatChannel(n.channel);
    let fresh: boolean;
    try {
      fresh = await this.idempotency.claim(n.id, now);
    } catch (error) {
      // The claim may have landed even though its reply did not: forget it, so a retry delivers.
      await this.idempotency.release(n.id).catch(() => undefined);
      throw error;
    }
    if (fresh) {
      try {
        await this.bus.publish(channel, notificationMessage(n, now));
      } catch (error) {
        // Not published, so not seen: a retry of the same id must be delivered.
        await this.idempotency.release(n.id).catch(() => undefined);
        throw error;
      }
    }
    this.metrics.notificationsPublished.inc({ result: fresh ? 'published' : 'duplicate' });
    this.audit.record(
      notificationPublished(actor, fresh ? 'published' : 'duplicate', n.id, channel),
    );
    return { id: n.id, duplicate: !fresh };
  }

  rejected(actor: ServiceActor, reason: NotificationRejection, count = 1): void {
    this.metrics.notificationsPublished.inc(
      { result: reason === 'unavailable' ? 'unavailable' : 'rejected' },
      count,
    );
    this.audit.record(notificationRejected(reason, actor));
  }
}
