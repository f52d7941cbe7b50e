import { Global, Module } from '@nestjs/common';
import { MetricsModule } from '../metrics/metrics.module.js';
import { RedisModule } from '../redis/redis.module.js';
import { AuditService } from './audit.service.js';

/**
 * Global: auditing is cross-cutting (tickets, sockets, publishing, readiness all use it), so
 * every module can inject AuditService without importing this one. As a global module its
 * init hooks run first (the file is open before anything can record) and its shutdown hooks
 * run last (records made while other modules shut down still reach the file).
 */
@Global()
@Module({
  imports: [MetricsModule, RedisModule],
  providers: [AuditService],
  exports: [AuditService],
})
export class AuditModule {}
