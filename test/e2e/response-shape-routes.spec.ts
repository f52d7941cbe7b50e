import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startNode, type TestNode } from '../support/app.js';
import { request } from '../support/http-client.js';
import { CanaryWatch, PHI_CANARY, PHI_CANARY_TEXT } from '../support/phi-canary.js';
import { publish, signedRequest } from '../support/publisher.js';

/**
 * The real routes that declare a response shape (health, the internal API), fed the PHI
 * canary in every input they take: each answers exactly its declared shape, drops nothing
 * (their handlers return only declared fields), and lets no part of the canary out.
 */
describe('declared response shapes on the real routes (embedded node)', () => {
  let node: TestNode;
  const watch = new CanaryWatch();
  const inPath = encodeURIComponent(PHI_CANARY_TEXT);
  const canaryHeaders = { 'x-patient-name': PHI_CANARY.name, 'x-mrn': PHI_CANARY.mrn };

  beforeAll(async () => {
    node = await startNode();
  });
  afterAll(async () => {
    await node.stop();
  });

  it('answers /healthz and /readyz in their shapes, whatever the query and headers say', async () => {
    for (const route of ['/healthz', '/readyz']) {
      const res = watch.response(
        await request(`${node.internalUrl}${route}?name=${inPath}`, { headers: canaryHeaders }),
      );
      expect(res.status).toBe(200);
      expect(Object.keys(res.json() as object)).toEqual(['status']);
    }
  });

  it('answers a publish with only accepted ids and duplicate flags', async () => {
    const ok = watch.response(
      await publish(node, {
        notifications: [
          {
            id: 'evt-shape001x',
            channel: 'patient:pt-4c9a1b2e',
            kind: 'appointment.updated',
            ref: 'apt-9x8c7v6b',
          },
        ],
      }),
    );
    expect(ok.status).toBe(202);
    expect(ok.json()).toEqual({ accepted: [{ id: 'evt-shape001x', duplicate: false }] });
    const refused = watch.response(
      await publish(node, {
        id: 'evt-shape002x',
        channel: `patient:${PHI_CANARY.mrn}`,
        kind: 'appointment.updated',
        ref: 'apt-9x8c7v6b',
        [PHI_CANARY.name]: PHI_CANARY_TEXT,
        note: PHI_CANARY.email,
      }),
    );
    expect(refused.status).toBe(422);
    expect(refused.json()).toMatchObject({ error: 'invalid_payload' });
  });

  it('answers care-team changes with 204 and no body', async () => {
    for (const method of ['PUT', 'DELETE']) {
      const ok = watch.response(
        await signedRequest(node, '/internal/v1/care-teams/pt-4c9a1b2e/members/dr-7f3k2m9q', {
          method,
        }),
      );
      expect(ok.status).toBe(204);
      expect(ok.body).toBe('');
      const refused = watch.response(
        await signedRequest(node, `/internal/v1/care-teams/${inPath}/members/${inPath}`, {
          method,
        }),
      );
      expect(refused.json()).toEqual({
        error: 'invalid_payload',
        fields: ['patientId', 'doctorId'],
      });
    }
  });

  it('answers a disconnect with an empty object', async () => {
    const ok = watch.response(
      await signedRequest(node, '/internal/v1/users/patient:pt-4c9a1b2e/disconnect', {
        body: { blockSeconds: 1 },
      }),
    );
    expect(ok.status).toBe(202);
    expect(ok.json()).toEqual({});
    const refused = watch.response(
      await signedRequest(node, `/internal/v1/users/${inPath}/disconnect`, {
        body: { blockSeconds: 1, [PHI_CANARY.email]: PHI_CANARY_TEXT },
      }),
    );
    expect(refused.status).toBe(422);
  });

  it('removed no field from these routes and lets no part of the canary out', async () => {
    const metrics = await request(`${node.internalUrl}/metrics`);
    expect(metrics.body).not.toMatch(/^carecast_http_response_fields_removed_total\{/m);
    await watch.expectClean(node);
  });
});
