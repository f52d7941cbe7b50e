import { describe, expect, it } from '@jest/globals';
import { checkUpgradeRequest, type UpgradeRequestFacts } from '../../src/core/upgrade.js';

const ALLOWED = ['https://app.example.org', 'http://localhost:5173'];
const good: UpgradeRequestFacts = {
  secure: true,
  method: 'GET',
  upgrade: 'websocket',
  key: 'dGhlIHNhbXBsZSBub25jZQ==',
  origin: 'https://app.example.org',
  version: '13',
  protocols: 'carecast.v1, ticket.aaa.bbb.ccc',
};

describe(checkUpgradeRequest.name, () => {
  it('extracts the ticket from a well-formed request', () => {
    expect(checkUpgradeRequest(good, ALLOWED)).toEqual({ ok: true, ticket: 'aaa.bbb.ccc' });
  });

  // prettier-ignore
  it.each([
    ['plaintext transport', { secure: false }, 'not_tls'],
    ['a missing Origin', { origin: undefined }, 'origin_not_allowed'],
    ['a cross-site Origin', { origin: 'https://evil.example' }, 'origin_not_allowed'],
    ['a suffix lookalike', { origin: 'https://app.example.org.evil.example' }, 'origin_not_allowed'],
    ['a prefix lookalike', { origin: 'https://evilapp.example.org' }, 'origin_not_allowed'],
    ['another scheme', { origin: 'http://app.example.org' }, 'origin_not_allowed'],
    ['another port', { origin: 'https://app.example.org:8443' }, 'origin_not_allowed'],
    ['a trailing slash', { origin: 'https://app.example.org/' }, 'origin_not_allowed'],
    ['the null origin', { origin: 'null' }, 'origin_not_allowed'],
    ['upper case', { origin: 'https://APP.example.org' }, 'origin_not_allowed'],
    ['version 8', { version: '8' }, 'bad_version'],
    ['no version', { version: undefined }, 'bad_version'],
    ['a POST', { method: 'POST' }, 'bad_protocol'],
    ['no Upgrade header', { upgrade: undefined }, 'bad_protocol'],
    ['a missing key', { key: undefined }, 'bad_protocol'],
    ['a short key', { key: 'abc==' }, 'bad_protocol'],
    ['no subprotocol', { protocols: undefined }, 'bad_protocol'],
    ['only a ticket', { protocols: 'ticket.aaa' }, 'bad_protocol'],
    ['another version of the protocol', { protocols: 'carecast.v2, ticket.aaa' }, 'bad_protocol'],
    ['a repeated subprotocol', { protocols: 'carecast.v1, carecast.v1, ticket.a' }, 'bad_protocol'],
    ['an empty subprotocol entry', { protocols: 'carecast.v1, , ticket.a' }, 'bad_protocol'],
    ['a subprotocol with a space', { protocols: 'carecast.v1, ticket.a b' }, 'bad_protocol'],
    ['no ticket', { protocols: 'carecast.v1' }, 'ticket_missing'],
    ['an empty ticket', { protocols: 'carecast.v1, ticket.' }, 'ticket_missing'],
    ['two tickets', { protocols: 'carecast.v1, ticket.a, ticket.b' }, 'ticket_missing'],
    ['the same ticket twice', { protocols: 'carecast.v1, ticket.a, ticket.a' }, 'bad_protocol'],
  ])('rejects %s', (_label, change, reason) => {
    expect(checkUpgradeRequest({ ...good, ...change }, ALLOWED)).toEqual({ ok: false, reason });
  });

  it('checks in the contract order: TLS before Origin before version', () => {
    expect(
      checkUpgradeRequest(
        { ...good, secure: false, origin: undefined, version: '8', protocols: undefined },
        ALLOWED,
      ),
    ).toEqual({
      ok: false,
      reason: 'not_tls',
    });
    expect(
      checkUpgradeRequest({ ...good, origin: 'https://evil.example', version: '8' }, ALLOWED),
    ).toEqual({
      ok: false,
      reason: 'origin_not_allowed',
    });
  });
});
