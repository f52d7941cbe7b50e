import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { CONFIG } from '../config/config.module.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { RedisModule } from '../redis/redis.module.js';
import { TicketStore } from '../stores/ticket-store/ticket-store.js';
import { UsersModule } from '../users/users.module.js';
import { AccessTokenVerifier } from './access-token-verifier.js';
import { TicketIssuer } from './ticket-issuer.service.js';
import { TicketSigner, ticketJwtOptions } from './ticket-signer.js';
import { ticketStoreProvider } from './ticket-store.provider.js';
import { TicketsController } from './tickets.controller.js';

@Module({
  imports: [
    MetricsModule,
    RedisModule,
    UsersModule,
    JwtModule.registerAsync({ inject: [CONFIG], useFactory: ticketJwtOptions }),
  ],
  controllers: [TicketsController],
  providers: [AccessTokenVerifier, TicketSigner, ticketStoreProvider, TicketIssuer],
  exports: [TicketSigner, TicketStore],
})
export class TicketsModule {}
