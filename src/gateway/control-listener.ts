import { Injectable, type OnModuleInit } from '@nestjs/common';
import { decodeControl } from '../core/control-commands.js';
import { Bus } from '../fanout/bus.js';
import { SessionRegistry } from './session-registry.js';
import { SubscriptionService } from '../channels/subscription-service.js';

/** Acts on node-to-node commands for this node's own sessions. */
@Injectable()
export class ControlListener implements OnModuleInit {
  constructor(
    private readonly bus: Bus,
    private readonly registry: SessionRegistry,
    private readonly subscriptions: SubscriptionService,
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
    }
  }
}
