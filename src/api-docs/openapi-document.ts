import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { AppModule } from '../app.module.js';
import type { Config } from '../config/config.types.js';
import { describeProblems, parseConfig } from '../config/parse-config.js';
import { servesPath, type ListenerName } from '../http/listener.js';
import type { HttpErrorCode } from '../core/error-codes.js';
import { ACCESS_TOKEN_SCHEME, errorResponse, PUBLISHER_SIGNATURE_SCHEME } from './api-responses.js';

/**
 * Builds the OpenAPI 3.1 document of every HTTP route from the controllers' `@nestjs/swagger`
 * decorators. Nothing here names a route: the app module is scanned (in Nest's preview mode,
 * so no provider is instantiated, nothing connects and nothing listens), and what every route
 * shares is added afterwards:
 * - each path gets the `servers` of the listener that serves it (`servesPath`, the same
 *   function that scopes requests), so public and internal routes are told apart;
 * - every operation gets `500 internal_error`, which any route can answer, and every public
 *   one `403 tls_required` (the trusted-proxy gate in front of every public route).
 * A new controller therefore needs only its own decorators. `npm run openapi` writes the
 * result to docs/openapi.json; test/api-docs/openapi.spec.ts fails when that file drifts.
 */
export async function buildOpenApiDocument(): Promise<OpenAPIObject> {
  const app = await NestFactory.create(AppModule.forRoot(scanConfig()), {
    preview: true,
    logger: false,
    abortOnError: false,
  });
  try {
    const base = new DocumentBuilder()
      .setOpenAPIVersion('3.1.0')
      .setTitle('carecast HTTP API')
      .setVersion('1')
      .setDescription(DESCRIPTION)
      .addSecurity(ACCESS_TOKEN_SCHEME, {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description: "An access token (OIDC JWT) from the app's identity provider.",
      })
      .addSecurity(PUBLISHER_SIGNATURE_SCHEME, {
        type: 'apiKey',
        in: 'header',
        name: 'Carecast-Signature',
        description:
          'HMAC-SHA256 request signature by a key of `PUBLISHER_KEYS`: ' +
          '`t=<unix seconds>,kid=<key id>,v1=<hex HMAC-SHA256(secret, "<t>.<METHOD>.<path>.<raw body>")>`. ' +
          '`t` must be within 300 s of the server clock; the path excludes the query string.',
      })
      .build();
    const document = SwaggerModule.createDocument(app, base, {
      operationIdFactory: (controller, method) => `${lowerFirst(controller)}_${method}`,
    });
    return withListeners(withCommonErrors(document));
  } finally {
    await app.close();
  }
}

/** The committed text of docs/openapi.json: stable key order as built, two-space indent. */
export function renderOpenApiDocument(document: OpenAPIObject): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

/**
 * A configuration for scanning only: routes do not depend on it, and in preview mode nothing
 * reads it, but the app module needs one. Fixed placeholders, so the document never varies.
 */
function scanConfig(): Config {
  const placeholder = 'openapi-scan-placeholder-not-a-secret-000000';
  const result = parseConfig(
    { NODE_ENV: 'development' },
    {
      hostname: 'openapi',
      pid: 0,
      devSecrets: {
        ticketSecret: placeholder,
        auditSigningKey: placeholder,
        accessTokenSecret: placeholder,
        publisherSecret: placeholder,
      },
    },
  );
  if (!result.ok) throw new Error(describeProblems(result.problems));
  return result.config;
}

const DESCRIPTION = [
  'The HTTP side of carecast, a real-time notification gateway for healthcare apps.',
  'Apps get a one-time WebSocket ticket on the public listener; publishing services use the',
  'signed internal API on the internal listener. The WebSocket protocol (`GET /v1/ws`) is',
  'described in asyncapi.yaml. Every error body is `{"error":"<code>"}` and nothing else',
  '(plus `fields`, names only, for `invalid_payload`), with `Cache-Control: no-store`.',
  'Generated from the code by `npm run openapi`; do not edit.',
].join(' ');

const SERVERS: Record<ListenerName, { url: string; description: string }> = {
  public: {
    url: 'https://gw.example.com',
    description: 'public listener (HTTPS; `PUBLIC_URL`)',
  },
  internal: {
    url: 'http://127.0.0.1:9090',
    description: 'internal listener (plain HTTP; `INTERNAL_HOST:INTERNAL_PORT`, never public)',
  },
};

const LISTENERS: readonly ListenerName[] = ['public', 'internal'];

function withListeners(document: OpenAPIObject): OpenAPIObject {
  const paths: OpenAPIObject['paths'] = {};
  for (const [path, item] of Object.entries(document.paths)) {
    const servers = LISTENERS.filter((l) => servesPath(l, path)).map((l) => SERVERS[l]);
    paths[path] = { servers, ...item };
  }
  return { ...document, servers: LISTENERS.map((l) => SERVERS[l]), paths };
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'] as const;

function withCommonErrors(document: OpenAPIObject): OpenAPIObject {
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method];
      if (operation === undefined) continue;
      if (servesPath('public', path)) {
        const codes = codesOf(operation.responses['403']);
        operation.responses['403'] = errorResponse([...codes, 'tls_required']);
      }
      operation.responses['500'] ??= errorResponse(['internal_error']);
    }
  }
  return document;
}

/** The error codes an `errorResponse` documents; none for a missing response. */
function codesOf(response: unknown): HttpErrorCode[] {
  const body = response as
    | {
        content?: {
          'application/json'?: { schema?: { properties?: { error?: { enum?: HttpErrorCode[] } } } };
        };
      }
    | undefined;
  return body?.content?.['application/json']?.schema?.properties?.error?.enum ?? [];
}

function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1).replace(/Controller$/, '');
}
