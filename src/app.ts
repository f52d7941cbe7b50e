import 'reflect-metadata';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { DestinationStream, Logger } from 'pino';
import { AppModule } from './app.module.js';
import type { Config } from './config/config.types.js';
import { CarecastWsAdapter } from './gateway/carecast-ws-adapter.js';
import { UpgradeAuthenticator } from './gateway/upgrade-authenticator.js';
import { installHttpPipeline } from './http/http-pipeline.js';
import { tagListener } from './http/listener.js';
import { DrainState } from './lifecycle/drain-state.js';
import { createLogger } from './logging/logger.js';
import { NestPinoLogger } from './logging/nest-pino-logger.js';
import { LOGOUT_PATH, logoutFormParser } from './logout/logout-form-parser.js';
import { LogoutRecorder } from './logout/logout-recorder.js';
import { Metrics } from './metrics/metrics.js';
import { publicTlsOptions } from './tls/public-tls-options.js';

export interface CreateAppOptions {
  /** Where JSON log lines go; stdout by default. Tests pass a capture stream. */
  readonly logDestination?: DestinationStream;
}

export interface CarecastApp {
  readonly nest: NestExpressApplication;
  readonly logger: Logger;
  /** Bound ports: the configured ones, or the ones the OS picked for port 0. */
  readonly publicPort: number;
  readonly internalPort: number;
  /** Drain and stop: not-ready, stop accepting, close sessions, close Redis. Idempotent. */
  shutdown(): Promise<void>;
}

/**
 * Builds and starts one carecast node: the public listener (HTTPS, or HTTP behind a trusted
 * proxy) and the internal plain-HTTP listener, both serving one Express app whose requests
 * are tagged with the listener they arrived on. Shared by main.ts and every e2e test.
 */
export async function createApp(
  config: Config,
  options: CreateAppOptions = {},
): Promise<CarecastApp> {
  const logger = createLogger(config, options.logDestination);
  for (const name of config.generatedDevSecrets) {
    logger.warn({ variable: name }, 'using a generated development secret');
  }
  if (config.tickets.previousSecret !== null) {
    // A reminder on every start: a second secret stays good for minting tickets until removed.
    logger.warn(
      { variable: 'TICKET_SECRET_PREVIOUS' },
      'accepting tickets of a second secret (TICKET_SECRET_PREVIOUS): remove it when the rotation is done',
    );
  }
  const { keySource } = config.auth;
  if (keySource.kind === 'hs256' && keySource.previousSecret !== null) {
    // The same reminder for the identity provider's secret being rotated (docs/runbook.md).
    logger.warn(
      { variable: 'AUTH_HS256_SECRET_PREVIOUS' },
      'accepting access tokens of a second secret (AUTH_HS256_SECRET_PREVIOUS): remove it when the rotation is done',
    );
  }
  const httpsOptions = await publicTlsOptions(config.publicListener.tls, logger);
  const nest = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    ...(httpsOptions ? { httpsOptions } : {}),
    logger: new NestPinoLogger(logger),
    abortOnError: false,
    rawBody: true,
    bodyParser: false,
  });
  const express = nest.getHttpAdapter().getInstance();
  installHttpPipeline(express, config, nest.get(Metrics), logger);
  nest.useBodyParser('json', { limit: '256kb' });
  express.use(LOGOUT_PATH, logoutFormParser(nest.get(LogoutRecorder)));
  nest.useWebSocketAdapter(new CarecastWsAdapter(nest, nest.get(UpgradeAuthenticator), config));

  const internalServer = createServer((req, res) => {
    tagListener(req, 'internal');
    express(req, res);
  });
  // Every module starts, then the internal listener binds, then the public one: Nest logs
  // "successfully started" only once the public listener is bound, so a busy port of either
  // listener fails the start before anything claims success.
  try {
    await nest.init();
    await listen(internalServer, config.internalListener.port, config.internalListener.host);
    await nest.listen(config.publicListener.port, config.publicListener.host);
  } catch (error) {
    await closeServer(internalServer);
    await nest.close().catch(() => undefined);
    throw error;
  }
  const publicServer = nest.getHttpServer() as Server;
  const publicPort = (publicServer.address() as AddressInfo).port;
  const internalPort = (internalServer.address() as AddressInfo).port;
  logger.info(
    {
      publicPort,
      internalPort,
      tls: config.publicListener.tls.kind,
      redis: config.redis.topology.kind,
      publicUrl: config.publicListener.publicUrl,
      allowedOrigins: config.allowedOrigins,
    },
    'carecast node listening',
  );

  let stopped: Promise<void> | null = null;
  const shutdown = async (): Promise<void> => {
    logger.info('draining: not ready, no new connections');
    publicServer.close();
    await nest.get(DrainState).begin();
    // What Nest's `forceCloseConnections` did at close, without its per-socket listener and
    // Set entry (about 130 bytes per idle WebSocket, docs/performance.md): sessions are
    // drained by now, and the HTTP connections left would keep the server open.
    publicServer.closeAllConnections();
    await nest.close();
    await closeServer(internalServer);
    logger.info('stopped');
    logger.flush();
  };
  return {
    nest,
    logger,
    publicPort,
    internalPort,
    shutdown: () => (stopped ??= shutdown()),
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
