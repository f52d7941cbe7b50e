import { Injectable, type OnModuleInit } from '@nestjs/common';
import { AuditService } from '../audit/audit.service.js';
import { userLoggedOut } from '../core/audit-entries.js';
import { decodeControl } from '../core/control-commands.js';
import type { LogoutTarget } from '../core/idp-session.js';
import { Bus } from '../fanout/bus.js';
import type { Session } from './session.js';
import { SessionRegistry } from './session-registry.js';
import { SubscriptionService } from '../channels/subscription-service.js';

/** Acts on node-to-node commands for this node's own sessions. */
@Injectable()
export class ControlListener implements OnModuleInit {
  constructor(
    private readonly bus: Bus,
    private readonly registry: SessionRegistry,
    private readonly subscriptions: SubscriptionService,
    private readonly audit: AuditService,
  ) {}

  onModuleInit(): void {
    this.bus.onControl((payload) => void this.handle(payload));
  }

  private async handle(payload: string): Promise<void> {
    const command = decodeControl(payload);
    if (command === null) return;
    switch (command.type) {
      case 'careteam.removed': {
        const channel = `patient:${command.patient}`;
        const sessions = this.registry.forUser(`doctor:${command.doctor}`);
        await Promise.all(sessions.map((s) => this.subscriptions.reevaluate(s, channel)));
        return;
      }
      case 'user.disconnect': {
        const now = Date.now();
        for (const session of this.registry.forUser(command.user))
          session.close('access_revoked', now);
        return;
      }
      case 'user.logout':
        return this.logout(command.target);
    }
  }

  /** Closes 4503 every session the logout names; one `user.logged_out` per user closed here. */
  private logout(target: LogoutTarget): void {
    const now = Date.now();
    const users = new Set<Session['userKey']>();
    for (const session of this.registry.forLogout(target)) {
      session.close('access_revoked', now);
      users.add(session.userKey);
    }
    for (const user of users) this.audit.record(userLoggedOut(user, 'ok'));
  }
}
