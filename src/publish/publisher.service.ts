import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import {
  notificationPublished,
  notificationRejected,
  serviceActor,
} from '../core/audit-entries.js';
import type { NotificationRejection, ServiceActor } from '../core/audit-vocabulary.js';
import { formatChannel } from '../core/channel.js';
import { encodeNotificationHead, type Notification } from '../core/notification.js';
import { Bus } from '../fanout/bus.js';
import { Metrics } from '../metrics/metrics.js';
import { ChannelLog, type LocalPublish } from '../stores/channel-log/channel-log.js';

export type PublishOutcome =
  | { ok: true; accepted: { id: string; duplicate: boolean }[] }
  | { ok: false; error: 'unavailable' };

/**
 * Accepts notifications from a publishing service (already within its per-key rate: see
 * PublisherThrottlerGuard): each frame is encoded once, then the channel log claims its id on
 * its channel, gives it the channel's next seq, keeps it in history and publishes it, in one
 * atomic step per notification and one round trip per batch. Answers as soon as that is done:
 * publishing never waits for delivery.
 */
@Injectable()
export class Publisher {
  private readonly publishLocally: LocalPublish;

  constructor(
    private readonly log: ChannelLog,
    bus: Bus,
    private readonly audit: AuditService,
    private readonly metrics: Metrics,
  ) {
    // Used by the memory log only (embedded mode); the Redis log publishes in its script.
    this.publishLocally = (channel, message) => bus.publish(channel, message);
  }

  async publish(kid: string, notifications: readonly Notification[]): Promise<PublishOutcome> {
    const actor = serviceActor(kid);
    const now = Date.now();
    const entries = notifications.map((n) => ({
      channel: formatChannel(n.channel),
      id: n.id,
      ts: now,
      head: encodeNotificationHead(n, now),
    }));
    const appended = await this.log.append(entries, now, this.publishLocally);
    const failed = appended.filter((a) => a.outcome === 'unavailable').length;
    for (const [i, a] of appended.entries()) {
      if (a.outcome === 'unavailable') continue;
      this.metrics.notificationsPublished.inc({ result: a.outcome });
      this.audit.record(
        notificationPublished(actor, a.outcome, entries[i]!.id, entries[i]!.channel),
      );
    }
    if (failed > 0) {
      this.rejected(actor, 'unavailable', failed);
      return { ok: false, error: 'unavailable' };
    }
    const accepted = entries.map((e, i) => ({
      id: e.id,
      duplicate: appended[i]!.outcome === 'duplicate',
    }));
    return { ok: true, accepted };
  }

  rejected(actor: ServiceActor, reason: NotificationRejection, count = 1): void {
    this.metrics.notificationsPublished.inc(
      { result: reason === 'unavailable' ? 'unavailable' : 'rejected' },
      count,
    );
    this.audit.record(notificationRejected(reason, actor));
  }
}
