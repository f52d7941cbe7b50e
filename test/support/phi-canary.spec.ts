import { describe, expect, it } from '@jest/globals';
import { CanaryWatch, canaryFragmentsIn, PHI_CANARY, PHI_CANARY_TEXT } from './phi-canary.js';

describe(canaryFragmentsIn.name, () => {
  it.each([
    ['plain', PHI_CANARY_TEXT],
    ['JSON-escaped', JSON.stringify({ note: PHI_CANARY_TEXT })],
    ['URL-encoded', encodeURIComponent(PHI_CANARY_TEXT)],
    ['upper-cased', PHI_CANARY.email.toUpperCase()],
    ['the MRN alone', `mrn=${PHI_CANARY.mrn}`],
  ])('finds the canary when it is %s', (_label, text) => {
    expect(canaryFragmentsIn(text).length).toBeGreaterThan(0);
  });

  it('finds nothing in clean output', () => {
    expect(canaryFragmentsIn('{"error":"invalid_payload","fields":["ref"]}')).toEqual([]);
  });
});

describe(CanaryWatch.name, () => {
  it('fails when a response echoed the canary', async () => {
    const watch = new CanaryWatch();
    watch.response({
      status: 400,
      headers: {},
      body: `{"error":"${PHI_CANARY.name}"}`,
      json: () => null,
    });
    await expect(watch.expectClean()).rejects.toThrow();
  });

  it('fails when a close reason carried the canary', async () => {
    const watch = new CanaryWatch();
    watch.closeReason(Buffer.from(PHI_CANARY.mrn));
    await expect(watch.expectClean()).rejects.toThrow();
  });

  it('passes when nothing carried it', async () => {
    const watch = new CanaryWatch();
    watch.frame('{"type":"error","id":"1","code":"bad_request"}');
    await expect(watch.expectClean()).resolves.toBeUndefined();
  });
});
