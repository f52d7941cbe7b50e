import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadOrCreateDevCertificate } from '../../src/tls/dev-certificate.js';

const DAY = 24 * 3600 * 1000;

describe('the development certificate kept in ./data', () => {
  let dir: string;
  let cert: string;
  let key: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'carecast-devcert-'));
    cert = path.join(dir, 'data', 'dev-tls-cert.pem');
    key = path.join(dir, 'data', 'dev-tls-key.pem');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is created once, owner-only, for localhost, and reused by the next start', async () => {
    const first = await loadOrCreateDevCertificate(cert, key);
    expect(first.created).toBe(true);
    expect((await stat(cert)).mode & 0o777).toBe(0o600);
    expect((await stat(key)).mode & 0o777).toBe(0o600);
    const x509 = new X509Certificate(await readFile(cert, 'utf8'));
    expect(x509.checkHost('localhost')).toBe('localhost');
    expect(x509.checkIP('127.0.0.1')).toBe('127.0.0.1');

    const second = await loadOrCreateDevCertificate(cert, key);
    expect(second.created).toBe(false);
    expect(second.cert).toBe(first.cert);
    expect(second.key).toBe(first.key);
  });

  it('is replaced when it is within a week of expiry', async () => {
    const first = await loadOrCreateDevCertificate(cert, key);
    const nearEnd = first.validTo.getTime() - 6 * DAY;
    const renewed = await loadOrCreateDevCertificate(cert, key, nearEnd);
    expect(renewed.created).toBe(true);
    expect(renewed.cert).not.toBe(first.cert);
    expect(await readFile(cert, 'utf8')).toBe(renewed.cert);
    // Eight days before the end it was still good.
    const kept = await loadOrCreateDevCertificate(cert, key, renewed.validTo.getTime() - 8 * DAY);
    expect(kept.created).toBe(false);
  });

  it('is replaced when the files are damaged or the key does not match', async () => {
    const first = await loadOrCreateDevCertificate(cert, key);
    await writeFile(cert, 'not a certificate', { mode: 0o600 });
    const repaired = await loadOrCreateDevCertificate(cert, key);
    expect(repaired.created).toBe(true);

    const other = await loadOrCreateDevCertificate(
      path.join(dir, 'other-cert.pem'),
      path.join(dir, 'other-key.pem'),
    );
    await writeFile(key, other.key, { mode: 0o600 });
    const matched = await loadOrCreateDevCertificate(cert, key);
    expect(matched.created).toBe(true);
    expect(matched.cert).not.toBe(first.cert);
  });
});
