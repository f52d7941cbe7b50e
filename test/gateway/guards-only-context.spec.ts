import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  type CanActivate,
  type ExecutionContext,
  Inject,
  Injectable,
  type INestApplicationContext,
  Module,
  UseGuards,
} from '@nestjs/common';
import { APP_GUARD, ExternalContextCreator, ModulesContainer, NestFactory } from '@nestjs/core';
import { UPGRADE_CONTEXT } from '../../src/core/upgrade.js';
import { guardsOnlyContextCreator } from '../../src/gateway/guards-only-context.js';

/**
 * The upgrade guards run through guardsOnlyContextCreator: a host method's own guards, in
 * their declared order, with their injections, in the `ws-upgrade` context, and never a
 * global guard (which Nest's own ExternalContextCreator would run, whatever the context type).
 */

const calls: string[] = [];

class Refused extends Error {}

@Injectable()
class CallLog {
  add(call: string): void {
    calls.push(call);
  }
}

@Injectable()
class FirstGuard implements CanActivate {
  constructor(@Inject(CallLog) private readonly log: CallLog) {}

  canActivate(context: ExecutionContext): boolean {
    this.log.add(`first:${context.getType()}`);
    return true;
  }
}

@Injectable()
class SecondGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    calls.push(`second:${context.getType()}`);
    if (context.getArgByIndex<string>(0) === 'refuse') throw new Refused();
    return true;
  }
}

/** A global guard written for HTTP: it cannot handle an upgrade's arguments. */
@Injectable()
class GlobalHttpGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    calls.push(`global:${context.getType()}`);
    return true;
  }
}

@Injectable()
class Host {
  @UseGuards(FirstGuard, SecondGuard)
  run(input: string): string {
    calls.push('handler');
    return `ran ${input}`;
  }
}

@Module({ providers: [CallLog, Host, { provide: APP_GUARD, useClass: GlobalHttpGuard }] })
class HostModule {}

type Run = (input: string) => Promise<string>;

function guarded(creator: ExternalContextCreator, host: Host): Run {
  return creator.create(
    host,
    host.run as (...args: unknown[]) => unknown,
    'run',
    undefined,
    undefined,
    undefined,
    undefined,
    { guards: true, interceptors: false, filters: false },
    UPGRADE_CONTEXT,
  ) as Run;
}

describe(guardsOnlyContextCreator.name, () => {
  let app: INestApplicationContext;
  let run: Run;

  beforeAll(async () => {
    app = await NestFactory.createApplicationContext(HostModule, { logger: false });
    run = guarded(guardsOnlyContextCreator(app.get(ModulesContainer)), app.get(Host));
  });
  afterAll(async () => {
    await app?.close();
  });
  beforeEach(() => {
    calls.length = 0;
  });

  it('runs the method’s guards in their declared order, in the ws-upgrade context, then the method', async () => {
    await expect(run('ok')).resolves.toBe('ran ok');
    expect(calls).toEqual(['first:ws-upgrade', 'second:ws-upgrade', 'handler']);
  });

  it('never runs a global guard (APP_GUARD)', async () => {
    await run('ok');
    expect(calls.filter((c) => c.startsWith('global'))).toEqual([]);
  });

  it('stops at the first guard that refuses and hands its error to the caller', async () => {
    await expect(run('refuse')).rejects.toBeInstanceOf(Refused);
    expect(calls).toEqual(['first:ws-upgrade', 'second:ws-upgrade']);
  });

  it('is needed: Nest’s own ExternalContextCreator runs the global guard, custom context type or not', async () => {
    const leaky = guarded(app.get(ExternalContextCreator), app.get(Host));
    await leaky('ok');
    expect(calls).toEqual([
      'global:ws-upgrade',
      'first:ws-upgrade',
      'second:ws-upgrade',
      'handler',
    ]);
  });
});
