import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Controller, Get, HttpCode, Module, Post, Res } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR, NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Response } from 'express';
import { ApiError } from '../../src/http/api-error.js';
import { ErrorResponseFilter } from '../../src/http/error-response.filter.js';
import { jsonBody, NO_BODY, TEXT_BODY } from '../../src/http/response-shape.js';
import {
  ResponseShape,
  ResponseShapeInterceptor,
} from '../../src/http/response-shape.interceptor.js';
import { createLogger } from '../../src/logging/logger.js';
import { NestPinoLogger } from '../../src/logging/nest-pino-logger.js';
import { MetricsModule } from '../../src/metrics/metrics.module.js';
import { testConfig } from '../support/app.js';
import { type HttpResponse, request } from '../support/http-client.js';
import { LogCapture } from '../support/log-capture.js';
import { canaryFragmentsIn, PHI_CANARY } from '../support/phi-canary.js';

/**
 * Routes whose handlers return more than they declare, as a handler bug or a careless
 * refactor would: a stored record spread into the answer, a forgotten debug field.
 */
@Controller('probe')
class ProbeController {
  @Get('extra')
  @ResponseShape(jsonBody({ status: 'string' }))
  extra(): object {
    return { status: 'ok', patientName: PHI_CANARY.name, record: { mrn: PHI_CANARY.mrn } };
  }

  @Post('publish')
  @HttpCode(202)
  @ResponseShape(jsonBody({ accepted: [{ id: 'string', duplicate: 'boolean' }] }))
  publish(): object {
    return {
      accepted: [
        { id: 'evt-000001x', duplicate: false, email: PHI_CANARY.email },
        { id: { name: PHI_CANARY.name }, duplicate: true },
      ],
    };
  }

  @Post('nothing')
  @HttpCode(204)
  @ResponseShape(NO_BODY)
  nothing(): object {
    return { name: PHI_CANARY.name };
  }

  @Get('text')
  @ResponseShape(TEXT_BODY)
  text(): string {
    return 'carecast_probe 1\n';
  }

  @Get('undeclared')
  undeclared(): object {
    return { status: 'ok', patientName: PHI_CANARY.name };
  }

  @Get('wrong-kind')
  @ResponseShape(jsonBody({ status: 'string' }))
  wrongKind(): unknown {
    return [{ status: 'ok', patientName: PHI_CANARY.name }];
  }

  @Get('refused')
  @ResponseShape(jsonBody({ status: 'string' }))
  refused(): object {
    throw new ApiError('invalid_payload', {}, ['channel']);
  }

  @Get('own-response')
  ownResponse(@Res() res: Response): void {
    res.status(200).json({ status: 'ok' });
  }
}

@Module({
  imports: [MetricsModule],
  controllers: [ProbeController],
  providers: [
    { provide: APP_FILTER, useClass: ErrorResponseFilter },
    { provide: APP_INTERCEPTOR, useClass: ResponseShapeInterceptor },
  ],
})
class ProbeModule {}

describe('response-shape interceptor (a Nest app with probe routes)', () => {
  const logs = new LogCapture();
  const seen: HttpResponse[] = [];
  let app: NestExpressApplication;
  let base: string;

  const call = async (path: string, method = 'GET'): Promise<HttpResponse> => {
    const res = await request(`${base}${path}`, { method });
    seen.push(res);
    return res;
  };
  const removedCount = async (route: string): Promise<string | undefined> => {
    const scrape = await call('/metrics');
    const line = new RegExp(
      `^carecast_http_response_fields_removed_total\\{route="${route.replaceAll('/', '\\/')}"\\} (\\d+)$`,
      'm',
    );
    return line.exec(scrape.body)?.[1];
  };

  beforeAll(async () => {
    const logger = createLogger(testConfig(), logs);
    app = await NestFactory.create<NestExpressApplication>(ProbeModule, {
      logger: new NestPinoLogger(logger),
      abortOnError: false,
    });
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${((app.getHttpServer() as Server).address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await app.close();
  });

  it('sends only the declared fields and counts the rest per route template', async () => {
    const res = await call('/probe/extra');
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ status: 'ok' });
    expect(await removedCount('/probe/extra')).toBe('2');
    await call('/probe/extra');
    expect(await removedCount('/probe/extra')).toBe('4');
  });

  it('applies the shape inside arrays of objects, dropping mistyped fields', async () => {
    const res = await call('/probe/publish', 'POST');
    expect(res.status).toBe(202);
    expect(res.json()).toEqual({
      accepted: [{ id: 'evt-000001x', duplicate: false }, { duplicate: true }],
    });
    expect(await removedCount('/probe/publish')).toBe('2');
  });

  it('sends no body at all on a no-body route, whatever the handler returned', async () => {
    const res = await call('/probe/nothing', 'POST');
    expect(res.status).toBe(204);
    expect(res.body).toBe('');
    expect(await removedCount('/probe/nothing')).toBe('1');
  });

  it('passes a text route through unchanged', async () => {
    const res = await call('/probe/text');
    expect(res.status).toBe(200);
    expect(res.body).toBe('carecast_probe 1\n');
  });

  it.each(['/probe/undeclared', '/probe/wrong-kind'])(
    'fails closed on %s: 500 internal_error, and a log line naming only the route',
    async (route) => {
      const res = await call(route);
      expect(res.status).toBe(500);
      expect(res.json()).toEqual({ error: 'internal_error' });
      const withheld = logs.records().filter((r) => r.msg === 'response body withheld');
      expect(withheld).toEqual(
        expect.arrayContaining([expect.objectContaining({ level: 'error', route })]),
      );
    },
  );

  it('leaves errors to ErrorResponseFilter, unchanged', async () => {
    const res = await call('/probe/refused');
    expect(res.status).toBe(422);
    expect(res.json()).toEqual({ error: 'invalid_payload', fields: ['channel'] });
  });

  it('warns once per route about a handler that writes its own response', async () => {
    await call('/probe/own-response');
    await call('/probe/own-response');
    const warnings = logs
      .records()
      .filter((r) => r.level === 'warn' && r.route === '/probe/own-response');
    expect(warnings).toHaveLength(1);
  });

  it('lets no part of the canary out: bodies, headers, logs or metrics', async () => {
    for (const route of ['/probe/extra', '/probe/undeclared', '/probe/wrong-kind']) {
      await call(route);
    }
    await call('/probe/publish', 'POST');
    await call('/probe/nothing', 'POST');
    const outputs = [
      ...seen.map((r) => r.body + JSON.stringify(r.headers)),
      logs.text,
      (await call('/metrics')).body,
    ];
    expect(outputs.flatMap(canaryFragmentsIn)).toEqual([]);
  });
});
