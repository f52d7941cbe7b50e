import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { CONFIG } from '../config/config.module.js';
import { MetricsModule } from '../metrics/metrics.module.js';
import { StoresModule } from '../stores/stores.module.js';
import { AccessTokenVerifier } from './access-token-verifier.js';
import { TicketIssuer } from './ticket-issuer.service.js';
import { TicketSigner, ticketJwtOptions } from './ticket-signer.js';
import { TicketsController } from './tickets.controller.js';

@Module({
  imports: [
    MetricsModule,
    StoresModule,
    JwtModule.registerAsync({ inject: [CONFIG], useFactory: ticketJwtOptions }),
  ],
  controllers: [TicketsController],
  providers: [AccessTokenVerifier, TicketSigner, TicketIssuer],
  exports: [TicketSigner, AccessTokenVerifier],
})
export class TicketsModule {}
