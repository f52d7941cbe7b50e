import { Injectable } from '@nestjs/common';
import { Bus } from '../fanout/bus.js';
import type { Session } from './session.js';

const FOLLOW_WAIT_MS = 1000;

/**
 * Which local sessions listen on which channel. The node follows a channel on the bus while
 * at least one local session subscribes to it, so it receives only what its clients want.
 */
@Injectable()
export class ChannelIndex {
  private readonly byChannel = new Map<string, Set<Session>>();
  private count = 0;

  constructor(private readonly bus: Bus) {}

  /** Number of (session, channel) subscriptions on this node. */
  get subscriptions(): number {
    return this.count;
  }

  sessionsOf(channel: string): ReadonlySet<Session> | undefined {
    return this.byChannel.get(channel);
  }

  /** False when the session already listened on the channel. */
  add(session: Session, channel: string): boolean {
    if (session.channels.has(channel)) return false;
    session.channels.add(channel);
    let sessions = this.byChannel.get(channel);
    if (!sessions) {
      this.byChannel.set(channel, (sessions = new Set()));
      this.bus.follow(channel);
    }
    sessions.add(session);
    this.count += 1;
    return true;
  }

  /** False when the session did not listen on the channel. */
  remove(session: Session, channel: string): boolean {
    if (!session.channels.delete(channel)) return false;
    const sessions = this.byChannel.get(channel);
    sessions?.delete(session);
    if (sessions?.size === 0) {
      this.byChannel.delete(channel);
      this.bus.unfollow(channel);
    }
    this.count -= 1;
    return true;
  }

  /**
   * Waits until the bus receives every channel added so far, bounded: during a Redis outage
   * the ack goes out anyway and the subscription takes effect when the bus reconnects.
   */
  async followed(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => (timer = setTimeout(resolve, FOLLOW_WAIT_MS)));
    await Promise.race([this.bus.flushed(), limit]);
    clearTimeout(timer);
  }

  removeAll(session: Session): void {
    for (const channel of [...session.channels]) this.remove(session, channel);
  }
}
