import { describe, expect, it } from '@jest/globals';
import { parseListenArgs, runListenCommand } from '../../src/dev/listen-command.js';
import { parsePublishArgs, runPublishCommand } from '../../src/dev/publish-command.js';
import { isOpaqueId } from '../../src/core/opaque-id.js';

const io = { hostname: 'test-host', pid: 1, nowSeconds: 1_795_000_000 };

describe('npm run dev:publish', () => {
  it('makes up a fresh notification id and ref on each run, so a second run is delivered too', () => {
    const argv = ['--channel', 'doctor:dr-7f3k2m9q', '--kind', 'message.received'];
    const runs = [parsePublishArgs(argv), parsePublishArgs(argv)];
    const [a, b] = runs.map((r) => (r.ok ? r.value : null));
    expect(a?.id).not.toBe(b?.id);
    expect(a?.ref).not.toBe(b?.ref);
    for (const n of [a, b]) {
      expect(isOpaqueId(n?.id)).toBe(true);
      expect(isOpaqueId(n?.ref)).toBe(true);
      expect(n).toEqual(
        expect.objectContaining({ channel: 'doctor:dr-7f3k2m9q', kind: 'message.received' }),
      );
    }
  });

  it('keeps an id and ref given, and asks for channel and kind', () => {
    expect(
      parsePublishArgs([
        '--channel',
        'patient:pt-4c9a1b2e',
        '--kind',
        'result.available',
        '--id',
        'evt-5c1d2e3f',
        '--ref',
        'lab-7q2w9e4r',
      ]),
    ).toEqual({
      ok: true,
      value: {
        id: 'evt-5c1d2e3f',
        channel: 'patient:pt-4c9a1b2e',
        kind: 'result.available',
        ref: 'lab-7q2w9e4r',
      },
    });
    expect(parsePublishArgs(['--kind', 'result.available'])).toEqual({
      ok: false,
      error: '--channel is required',
    });
    expect(parsePublishArgs(['--channel', 'patient:pt-4c9a1b2e'])).toEqual({
      ok: false,
      error: '--kind is required',
    });
    expect(parsePublishArgs(['--channel', 'x', '--kind', 'y', '--nope']).ok).toBe(false);
  });

  it('refuses to run in production, sending nothing', async () => {
    let sent = 0;
    const result = await runPublishCommand({
      ...io,
      argv: ['--channel', 'doctor:dr-7f3k2m9q', '--kind', 'message.received'],
      env: { NODE_ENV: 'production' },
      fetch: (() => {
        sent += 1;
        return Promise.reject(new Error('no'));
      }) as typeof fetch,
    });
    expect(result).toEqual({
      exitCode: 1,
      stdout: '',
      stderr: 'npm run dev:publish is a development tool; refused in production',
    });
    expect(sent).toBe(0);
  });
});

describe('npm run dev:listen', () => {
  it('takes the options of npm run token, and --count', () => {
    const parsed = parseListenArgs([
      '--role',
      'doctor',
      '--id',
      'dr-7f3k2m9q',
      '--patient',
      'pt-4c9a1b2e',
      '--count',
      '2',
    ]);
    expect(parsed).toEqual({
      ok: true,
      value: {
        token: {
          role: 'doctor',
          id: 'dr-7f3k2m9q',
          patient: 'pt-4c9a1b2e',
          fhirUser: null,
          ttlSeconds: 3600,
          scope: null,
          sid: null,
        },
        count: 2,
      },
    });
    expect(parseListenArgs(['--role', 'doctor', '--id', 'dr-7f3k2m9q']).ok).toBe(true);
    expect(parseListenArgs(['--role', 'nurse', '--id', 'dr-7f3k2m9q'])).toEqual({
      ok: false,
      error: '--role must be patient or doctor',
    });
    expect(parseListenArgs(['--role', 'doctor', '--id', 'dr-7f3k2m9q', '--count', '0']).ok).toBe(
      false,
    );
  });

  it('refuses to run in production', async () => {
    const errors: string[] = [];
    const code = await runListenCommand({
      ...io,
      argv: ['--role', 'doctor', '--id', 'dr-7f3k2m9q'],
      env: { NODE_ENV: 'production' },
      out: () => undefined,
      err: (line) => errors.push(line),
      stopped: new Promise(() => undefined),
    });
    expect(code).toBe(1);
    expect(errors).toEqual(['npm run dev:listen is a development tool; refused in production']);
  });
});
