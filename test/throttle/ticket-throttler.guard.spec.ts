import { NO_TICKET_CONTEXT } from '../../src/core/ticket.js';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  type CanActivate,
  Controller,
  type DynamicModule,
  type ExecutionContext,
  HttpCode,
  Injectable,
  Module,
  Post,
  UseGuards,
} from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import type { Request } from 'express';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { auditFilePath } from '../../src/audit/audit-file.js';
import { AuditModule } from '../../src/audit/audit.module.js';
import { ConfigModule } from '../../src/config/config.module.js';
import type { Config } from '../../src/config/config.types.js';
import type { AuditRecord } from '../../src/core/audit-chain.js';
import type { OpaqueId } from '../../src/core/opaque-id.js';
import { ErrorResponseFilter } from '../../src/http/error-response.filter.js';
import { MetricsModule } from '../../src/metrics/metrics.module.js';
import { RedisModule } from '../../src/redis/redis.module.js';
import { RedisService } from '../../src/redis/redis.service.js';
import { ThrottleModule } from '../../src/throttle/throttle.module.js';
import { TicketThrottlerGuard } from '../../src/throttle/ticket-throttler.guard.js';
import { attachVerifiedAccess } from '../../src/tickets/verified-access.js';
import { readAudit } from '../audit/support/audit-helpers.js';
import { testConfig, uniquePrefix } from '../support/app.js';
import { inOneWindow } from '../support/fixed-window.js';
import { eventually, type HttpResponse, request } from '../support/http-client.js';
import { privateMetrics, withPrivateMetrics } from '../support/private-metrics.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';

/**
 * TicketThrottlerGuard on a stand-in ticket route, in a small Nest app with the real config,
 * Redis, audit, metrics and throttle modules: the tickets controller itself is assembled
 * elsewhere, so this proves the guard on its own, behind a guard that attaches the
 * VerifiedAccess the way AccessTokenGuard does. Two such apps share this process, so each
 * counts on metrics of its own (private-metrics.ts), read from its own registry.
 */

const TEST_USER_HEADER = 'x-test-doctor';

/** Stands in for AccessTokenGuard: the doctor named in a test header is the verified user. */
@Injectable()
class StandInAccessGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<Request>();
    const id = String(req.headers[TEST_USER_HEADER]) as OpaqueId;
    attachVerifiedAccess(req, {
      principal: { role: 'doctor', id, launchPatient: null },
      userKey: `doctor:${id}`,
      expiresAt: Date.now() + 3_600_000,
      context: NO_TICKET_CONTEXT,
    });
    return true;
  }
}

@Controller('v1/tickets')
@UseGuards(StandInAccessGuard, TicketThrottlerGuard)
class StandInTicketsController {
  @Post()
  @HttpCode(201)
  issue(): object {
    return { ticket: 'stand-in' };
  }
}

@Module({})
class StandInTicketsModule {
  static forRoot(config: Config): DynamicModule {
    return {
      module: StandInTicketsModule,
      imports: [
        ConfigModule.forRoot(config),
        MetricsModule,
        RedisModule,
        AuditModule,
        ThrottleModule,
      ],
      controllers: [StandInTicketsController],
      providers: [{ provide: APP_FILTER, useClass: ErrorResponseFilter }],
    };
  }
}

interface StandInNode {
  url: string;
  auditFile: string;
  /** One sample of the node's metrics, e.g. `name{label="v"}`; 0 when absent. */
  metric(sample: string): Promise<number>;
  stop(): Promise<void>;
}

async function startStandIn(env: Record<string, string>): Promise<StandInNode> {
  const auditDir = await mkdtemp(path.join(os.tmpdir(), 'carecast-throttle-'));
  const config = testConfig({ AUDIT_DIR: auditDir, ...env });
  const metrics = privateMetrics();
  const moduleRef = await withPrivateMetrics(
    Test.createTestingModule({ imports: [StandInTicketsModule.forRoot(config)] }),
    metrics,
  ).compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>({ logger: false });
  await app.listen(0, '127.0.0.1');
  const redis = app.get(RedisService);
  await eventually(async () => redis.isReady(), { timeoutMs: 10_000 });
  const port = (app.getHttpServer().address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    auditFile: auditFilePath(config.audit.dir, config.nodeId),
    metric: async (sample) => {
      const text = await metrics.registry.metrics();
      const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
      return line === undefined ? 0 : Number(line.slice(sample.length + 1));
    },
    stop: async () => {
      await app.close();
      await rm(auditDir, { recursive: true, force: true });
    },
  };
}

function postTicket(node: StandInNode, doctorId: string): Promise<HttpResponse> {
  return request(`${node.url}/v1/tickets`, {
    method: 'POST',
    headers: { [TEST_USER_HEADER]: doctorId },
  });
}

function expectCreated(res: HttpResponse): void {
  expect({ status: res.status, body: res.json() }).toEqual({
    status: 201,
    body: { ticket: 'stand-in' },
  });
}

function expectRateLimited(res: HttpResponse): void {
  expect({ status: res.status, body: res.body }).toEqual({
    status: 429,
    body: '{"error":"rate_limited"}',
  });
  const retryAfter = String(res.headers['retry-after']);
  expect(retryAfter).toMatch(/^[1-9]\d*$/);
  expect(Number(retryAfter)).toBeLessThanOrEqual(60);
}

/** Waits for the asynchronous audit writer to append records matching `match`. */
async function auditRecords(
  node: StandInNode,
  match: (r: AuditRecord) => boolean,
  count = 1,
): Promise<AuditRecord[]> {
  let found: AuditRecord[] = [];
  await eventually(async () => {
    found = (await readAudit(node.auditFile)).records.filter(match);
    return found.length >= count;
  });
  return found;
}

describe('TicketThrottlerGuard on two nodes sharing one Redis (RATE_TICKETS_PER_USER=3/60s)', () => {
  const WINDOW_MS = 60_000;
  let redis: RedisServerHandle;
  let a: StandInNode;
  let b: StandInNode;

  beforeAll(async () => {
    redis = await startRedisServer();
    const shared = {
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: uniquePrefix('ticket-throttle'),
      RATE_TICKETS_PER_USER: '3/60s',
      // Far stricter than the ticket limit: a guard that also applied it would refuse early.
      RATE_PUBLISH_PER_KEY: '1/1h',
    };
    a = await startStandIn({ ...shared, NODE_ID: 'throttle-a' });
    b = await startStandIn({ ...shared, NODE_ID: 'throttle-b' });
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await redis?.stop();
  });

  it('refuses a user’s 4th ticket request on either node, and serves another user', async () => {
    let busy = '';
    await inOneWindow(WINDOW_MS, async (attempt) => {
      busy = `dr-roaming0${attempt}`;
      expectCreated(await postTicket(a, busy));
      expectCreated(await postTicket(b, busy));
      expectCreated(await postTicket(a, busy));
      const limited = await postTicket(b, busy);
      expectRateLimited(limited);
      // Only Retry-After: the throttler's own X-RateLimit-* headers are off.
      expect(Object.keys(limited.headers).filter((h) => h.startsWith('x-ratelimit'))).toEqual([]);
      expectRateLimited(await postTicket(a, busy));
      expectCreated(await postTicket(b, `dr-otheruser${attempt}`));
    });
    for (const node of [a, b]) {
      const [limited] = await auditRecords(node, (r) => r.event === 'rate.limited');
      expect(limited).toMatchObject({
        outcome: 'deny',
        reason: 'tickets_per_user',
        actor: `doctor:${busy}`,
      });
      const [rejected] = await auditRecords(node, (r) => r.event === 'ticket.rejected');
      expect(rejected).toMatchObject({
        outcome: 'deny',
        reason: 'rate_limited',
        actor: `doctor:${busy}`,
      });
      expect(await node.metric('carecast_tickets_rejected_total{reason="rate_limited"}')).toBe(1);
    }
  });
});

describe('TicketThrottlerGuard while Redis is down', () => {
  let redis: RedisServerHandle;
  let node: StandInNode;

  beforeAll(async () => {
    redis = await startRedisServer();
    node = await startStandIn({
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: uniquePrefix('ticket-throttle-down'),
      NODE_ID: 'throttle-down',
    });
  });
  afterAll(async () => {
    await node?.stop();
    await redis?.stop();
  });

  it('answers 503 unavailable with Retry-After: 1 within a second, and serves again after', async () => {
    await redis.stop();
    const started = performance.now();
    const res = await postTicket(node, 'dr-duringoutage');
    expect(performance.now() - started).toBeLessThan(1000);
    expect({ status: res.status, body: res.body, retryAfter: res.headers['retry-after'] }).toEqual({
      status: 503,
      body: '{"error":"unavailable"}',
      retryAfter: '1',
    });
    const [rejected] = await auditRecords(node, (r) => r.event === 'ticket.rejected');
    expect(rejected).toMatchObject({
      outcome: 'deny',
      reason: 'unavailable',
      actor: 'doctor:dr-duringoutage',
    });
    expect(await node.metric('carecast_tickets_rejected_total{reason="unavailable"}')).toBe(1);
    await redis.start();
    await eventually(async () => (await postTicket(node, 'dr-afteroutage')).status === 201, {
      timeoutMs: 10_000,
    });
  });
});
