import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { OpenAPIObject } from '@nestjs/swagger';
import { Ajv2020 } from 'ajv/dist/2020.js';
import {
  buildOpenApiDocument,
  renderOpenApiDocument,
} from '../../src/api-docs/openapi-document.js';
import { startNode, type TestNode } from '../support/app.js';
import { type HttpResponse, request } from '../support/http-client.js';
import { CanaryWatch, PHI_CANARY, PHI_CANARY_TEXT } from '../support/phi-canary.js';
import { publish, signedRequest } from '../support/publisher.js';
import { logoutToken } from '../support/logout.js';
import { doctor } from '../support/tokens.js';

/**
 * docs/openapi.json is generated from the controllers' decorators (`npm run openapi`). This
 * spec fails when the committed file differs from what the code generates, when it is not a
 * valid OpenAPI 3.1 document, and when a running node answers a documented operation with a
 * status or body the document does not describe.
 */

const committedText = readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8');
const ORIGIN = 'https://app.example.com';

type Operation = { responses: Record<string, { content?: Record<string, { schema: object }> }> };

describe('docs/openapi.json', () => {
  let generated: OpenAPIObject;

  beforeAll(async () => {
    generated = await buildOpenApiDocument();
  });

  it('is what the code generates (run `npm run openapi` after changing a route)', () => {
    expect(JSON.parse(committedText)).toEqual(JSON.parse(renderOpenApiDocument(generated)));
    expect(committedText).toBe(renderOpenApiDocument(generated));
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate(JSON.parse(committedText) as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('documents the routes of the contract, each on its own listener', () => {
    const servers = Object.fromEntries(
      Object.entries(generated.paths).map(([path, item]) => [
        path,
        (item.servers ?? []).map((s) => s.url),
      ]),
    );
    expect(servers).toEqual({
      '/v1/tickets': ['https://gw.example.com'],
      '/v1/backchannel-logout': ['https://gw.example.com'],
      '/internal/v1/notifications': ['http://127.0.0.1:9090'],
      '/internal/v1/care-teams/{patientId}/members/{doctorId}': ['http://127.0.0.1:9090'],
      '/internal/v1/users/{user}/disconnect': ['http://127.0.0.1:9090'],
      '/healthz': ['http://127.0.0.1:9090'],
      '/readyz': ['http://127.0.0.1:9090'],
      '/metrics': ['http://127.0.0.1:9090'],
    });
  });

  it('requires the publisher signature on every internal API operation, and only there', () => {
    for (const [path, item] of Object.entries(generated.paths)) {
      for (const operation of operationsOf(item as Record<string, unknown>)) {
        const signed = JSON.stringify(operation.security ?? []).includes('publisherSignature');
        expect([path, signed]).toEqual([path, path.startsWith('/internal/v1/')]);
      }
    }
  });
});

describe('a running node answers as docs/openapi.json says (embedded node)', () => {
  const document = JSON.parse(committedText) as OpenAPIObject;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const exercised = new Set<string>();
  const watch = new CanaryWatch();
  let node: TestNode;

  beforeAll(async () => {
    node = await startNode({ ALLOWED_ORIGINS: ORIGIN });
  });
  afterAll(async () => {
    await node?.stop();
  });

  /** Asserts the answer's status is documented for the operation and its body fits. */
  function conforms(path: string, method: string, res: HttpResponse): void {
    watch.response(res);
    exercised.add(`${method} ${path}`);
    const operation = (document.paths[path] as Record<string, Operation> | undefined)?.[method];
    expect(operation).toBeDefined();
    const documented = operation!.responses[String(res.status)];
    expect([method, path, res.status, documented === undefined]).toEqual([
      method,
      path,
      res.status,
      false,
    ]);
    const json = documented!.content?.['application/json'];
    if (json === undefined) {
      if (documented!.content?.['text/plain'] === undefined) expect(res.body).toBe('');
      return;
    }
    const validate = ajv.compile(json.schema);
    const body = res.json();
    expect([method, path, res.status, validate(body) ? [] : validate.errors]).toEqual([
      method,
      path,
      res.status,
      [],
    ]);
  }

  it('POST and OPTIONS /v1/tickets', async () => {
    const url = `${node.publicUrl}/v1/tickets`;
    const post = (headers: Record<string, string>, body?: string) =>
      request(url, { method: 'POST', headers, ...(body === undefined ? {} : { body }) });
    const token = await doctor();
    conforms('/v1/tickets', 'post', await post({ authorization: `Bearer ${token}` }));
    conforms('/v1/tickets', 'post', await post({ authorization: `Bearer ${PHI_CANARY.mrn}` }));
    conforms(
      '/v1/tickets',
      'post',
      await post({ authorization: `Bearer ${token}`, origin: 'https://evil.example' }),
    );
    conforms(
      '/v1/tickets',
      'post',
      await post(
        { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        JSON.stringify({ name: PHI_CANARY_TEXT }),
      ),
    );
    const preflight = await request(url, {
      method: 'OPTIONS',
      headers: { origin: ORIGIN, 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    conforms('/v1/tickets', 'options', preflight);
  });

  it('POST /v1/backchannel-logout', async () => {
    const post = (body: string, contentType = 'application/x-www-form-urlencoded') =>
      request(`${node.publicUrl}/v1/backchannel-logout`, {
        method: 'POST',
        headers: { 'content-type': contentType },
        body,
      });
    const form = (token: string) => new URLSearchParams({ logout_token: token }).toString();
    const ok = await post(form(await logoutToken({ sub: 'dr-7f3k2m9q' })));
    expect(ok.status).toBe(200);
    conforms('/v1/backchannel-logout', 'post', ok);
    conforms('/v1/backchannel-logout', 'post', await post(form(PHI_CANARY_TEXT)));
    conforms(
      '/v1/backchannel-logout',
      'post',
      await post(JSON.stringify({ logout_token: PHI_CANARY.name }), 'application/json'),
    );
  });

  it('POST /internal/v1/notifications', async () => {
    const path = '/internal/v1/notifications';
    const notification = {
      id: 'evt-openapi01',
      channel: 'patient:pt-4c9a1b2e',
      kind: 'appointment.updated',
      ref: 'apt-9x8c7v6b',
    };
    conforms(path, 'post', await publish(node, notification));
    conforms(path, 'post', await publish(node, { notifications: [notification] }));
    conforms(path, 'post', await publish(node, { ...notification, note: PHI_CANARY_TEXT }));
    conforms(path, 'post', await publish(node, notification, { signature: null }));
    conforms(path, 'post', await publish(node, notification, { rawBody: '{"id":' }));
  });

  it('PUT and DELETE care-team members', async () => {
    const template = '/internal/v1/care-teams/{patientId}/members/{doctorId}';
    const path = '/internal/v1/care-teams/pt-4c9a1b2e/members/dr-7f3k2m9q';
    conforms(template, 'put', await signedRequest(node, path, { method: 'PUT' }));
    conforms(template, 'delete', await signedRequest(node, path, { method: 'DELETE' }));
    const bad = `/internal/v1/care-teams/${encodeURIComponent(PHI_CANARY.mrn)}/members/dr-7f3k2m9q`;
    conforms(template, 'put', await signedRequest(node, bad, { method: 'PUT' }));
  });

  it('POST users/<user>/disconnect', async () => {
    const template = '/internal/v1/users/{user}/disconnect';
    const path = '/internal/v1/users/doctor:dr-7f3k2m9q/disconnect';
    conforms(template, 'post', await signedRequest(node, path, { body: {} }));
    conforms(template, 'post', await signedRequest(node, path, { body: { blockSeconds: 1 } }));
    conforms(template, 'post', await signedRequest(node, path, { body: { blockSeconds: -1 } }));
  });

  it('GET /healthz, /readyz, /metrics', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      conforms(path, 'get', await request(`${node.internalUrl}${path}`));
    }
  });

  it('POST /v1/tickets behind a TLS-terminating proxy, from an untrusted peer', async () => {
    const proxied = await startNode({
      TLS_TERMINATED_BY_PROXY: 'true',
      TRUSTED_PROXIES: '192.0.2.1',
      PUBLIC_URL: 'https://gw.example.com',
    });
    try {
      const res = await request(`${proxied.publicUrl}/v1/tickets`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await doctor()}`, 'x-forwarded-proto': 'https' },
      });
      expect(res.status).toBe(403);
      conforms('/v1/tickets', 'post', res);
    } finally {
      await proxied.stop();
    }
  });

  it('exercised every documented operation, and leaked no part of the PHI canary', async () => {
    const documented = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.keys(item as object)
        .filter((key) => key !== 'servers' && key !== 'parameters')
        .map((method) => `${method} ${path}`),
    );
    expect([...exercised].sort()).toEqual(documented.sort());
    await watch.expectClean(node);
  });

  it('serves no API document on either listener', async () => {
    const guesses = ['/api', '/api-json', '/docs', '/openapi.json', '/swagger.json'];
    for (const base of [`${node.publicUrl}/v1`, node.publicUrl, node.internalUrl]) {
      for (const guess of guesses) {
        const res = await request(`${base}${guess}`);
        expect([base, guess, res.status, res.body]).toEqual([
          base,
          guess,
          404,
          '{"error":"not_found"}',
        ]);
      }
    }
  });
});

function operationsOf(item: Record<string, unknown>): { security?: unknown }[] {
  return Object.entries(item)
    .filter(([key]) => key !== 'servers' && key !== 'parameters')
    .map(([, operation]) => operation as { security?: unknown });
}
