import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { idpDigest, loggedOutBy, watermarkKeysFor } from '../../src/core/idp-session.js';
import type { UserKey } from '../../src/core/principal.js';
import type { RedisService } from '../../src/redis/redis.service.js';
import type { ConnectionCounter } from '../../src/stores/connection-counter/connection-counter.js';
import { MemoryConnectionCounter } from '../../src/stores/connection-counter/memory-connection-counter.js';
import { RedisConnectionCounter } from '../../src/stores/connection-counter/redis-connection-counter.js';
import type { LogoutStore } from '../../src/stores/logout-store/logout-store.js';
import { MemoryLogoutStore } from '../../src/stores/logout-store/memory-logout-store.js';
import { RedisLogoutStore } from '../../src/stores/logout-store/redis-logout-store.js';
import { MemoryTicketStore } from '../../src/stores/ticket-store/memory-ticket-store.js';
import { RedisTicketStore } from '../../src/stores/ticket-store/redis-ticket-store.js';
import type { TicketStore } from '../../src/stores/ticket-store/ticket-store.js';
import { RedisUpgradeAdmission } from '../../src/stores/upgrade-admission/redis-upgrade-admission.js';
import { SeparateUpgradeAdmission } from '../../src/stores/upgrade-admission/separate-upgrade-admission.js';
import type {
  AdmissionFacts,
  AdmissionRequest,
  UpgradeAdmission,
} from '../../src/stores/upgrade-admission/upgrade-admission.js';
import { MemoryUserBlocks } from '../../src/stores/user-blocks/memory-user-blocks.js';
import { RedisUserBlocks } from '../../src/stores/user-blocks/redis-user-blocks.js';
import type { UserBlocks } from '../../src/stores/user-blocks/user-blocks.js';
import { RedisUserStanding } from '../../src/stores/user-standing/redis-user-standing.js';
import { SeparateUserStanding } from '../../src/stores/user-standing/separate-user-standing.js';
import type { UserStanding } from '../../src/stores/user-standing/user-standing.js';
import {
  clusterTarget,
  expectUnavailableFast,
  Nodes,
  type RedisTarget,
  standaloneTarget,
  throughOutage,
  uniqueId,
} from './store-fixtures.js';

/**
 * The connect path's combined store calls (UserStanding, UpgradeAdmission) against the
 * stores they combine: one script on a standalone Redis, the stores' own calls on Redis
 * Cluster and in memory. Every state is set through the stores themselves, so the scripts
 * are shown to read and write the very keys the stores use.
 */

const T0 = 1_800_000_000_000;
const T0_S = T0 / 1000;
const LEASE_MS = 30_000;

interface World {
  readonly tickets: TicketStore;
  readonly blocks: UserBlocks;
  readonly logouts: LogoutStore;
  readonly counter: ConnectionCounter;
  readonly standing: UserStanding;
  readonly admission: UpgradeAdmission;
  /** Whether the admission itself takes the slot (one script) or leaves it to the cap guard. */
  readonly takesSlot: boolean;
}

function memoryWorld(): World {
  const tickets = new MemoryTicketStore();
  const blocks = new MemoryUserBlocks();
  const logouts = new MemoryLogoutStore();
  const standing = new SeparateUserStanding(blocks, logouts);
  return {
    tickets,
    blocks,
    logouts,
    counter: new MemoryConnectionCounter(),
    standing,
    admission: new SeparateUpgradeAdmission(tickets, standing),
    takesSlot: false,
  };
}

function redisWorld(redis: RedisService): World {
  const tickets = new RedisTicketStore(redis);
  const blocks = new RedisUserBlocks(redis);
  const logouts = new RedisLogoutStore(redis);
  const counter = new RedisConnectionCounter(redis);
  if (redis.standalone) {
    return {
      tickets,
      blocks,
      logouts,
      counter,
      standing: new RedisUserStanding(redis),
      admission: new RedisUpgradeAdmission(redis),
      takesSlot: true,
    };
  }
  const standing = new SeparateUserStanding(blocks, logouts);
  const admission = new SeparateUpgradeAdmission(tickets, standing);
  return { tickets, blocks, logouts, counter, standing, admission, takesSlot: false };
}

const nodes = new Nodes('admission');
let standalone: RedisTarget & Awaited<ReturnType<typeof standaloneTarget>>;
let cluster: RedisTarget;
let standaloneNode: RedisService;
let clusterNode: RedisService;

beforeAll(async () => {
  standalone = await standaloneTarget();
  cluster = await clusterTarget();
  standaloneNode = (await nodes.connect(standalone))[0]!;
  clusterNode = (await nodes.connect(cluster))[0]!;
}, 60_000);

afterAll(async () => {
  await nodes.closeAll();
  await standalone.stop();
  await cluster.stop();
});

const worlds: [string, () => World][] = [
  ['memory', memoryWorld],
  ['redis', () => redisWorld(standaloneNode)],
  ['redis cluster', () => redisWorld(clusterNode)],
];

/** A user with a provider session (sub and sid), a ticket issued for it, and its request. */
async function ticketed(
  world: World,
  options: { iat?: number | null; limit?: number } = {},
): Promise<{ request: AdmissionRequest; user: UserKey; marks: string[] }> {
  const user = uniqueId('patient:pt') as UserKey;
  const jti = uniqueId('jti');
  await world.tickets.issue(jti, 60, T0);
  const marks = watermarkKeysFor({
    sub: idpDigest('sub', uniqueId('sub')),
    sid: idpDigest('sid', uniqueId('sid')),
  });
  const request: AdmissionRequest = {
    jti,
    userKey: user,
    watermarkKeys: marks,
    tokenIssuedAt: options.iat === undefined ? T0_S - 10 : options.iat,
    slot: { connectionKey: uniqueId('node:conn'), limit: options.limit ?? 1, leaseMs: LEASE_MS },
    nowMs: T0,
  };
  return { request, user, marks };
}

/** Whether the user has a free slot under `limit`, asked of the counter itself. */
async function slotFree(world: World, user: UserKey, limit: number): Promise<boolean> {
  const probe = uniqueId('node:probe');
  const free = await world.counter.acquire(user, probe, limit, LEASE_MS, T0);
  if (free) await world.counter.release(user, probe);
  return free;
}

/** The guards' rule: a slot may only be taken where the block and logout guards pass. */
function expectSlotOnlyWhenGuardsPass(facts: AdmissionFacts, iat: number | null): void {
  if (!facts.redeemed || facts.slot === 'not_taken') return;
  expect(facts.standing.blocked).toBe(false);
  expect(loggedOutBy(iat, facts.standing.loggedOutAt ?? null)).toBe(false);
}

describe.each(worlds)('%s upgrade admission', (_name, makeWorld) => {
  it('redeems a ticket once, and a reused or unknown ticket takes nothing', async () => {
    const world = makeWorld();
    const { request, user } = await ticketed(world);
    const first = await world.admission.admit(request);
    expect(first).toMatchObject({
      redeemed: true,
      standing: { blocked: false, loggedOutAt: null },
      slot: world.takesSlot ? 'taken' : 'not_taken',
    });
    if (first.redeemed && first.slot === 'taken') {
      await world.counter.release(user, request.slot.connectionKey);
    }
    const again = { ...request, slot: { ...request.slot, connectionKey: uniqueId('node:c') } };
    await expect(world.admission.admit(again)).resolves.toEqual({ redeemed: false });
    await expect(world.admission.admit({ ...again, jti: uniqueId('jti') })).resolves.toEqual({
      redeemed: false,
    });
    expect(await slotFree(world, user, 1)).toBe(true);
  });

  it('holds a taken slot in the counter, which releases it', async () => {
    const world = makeWorld();
    const { request, user } = await ticketed(world);
    const facts = await world.admission.admit(request);
    if (!world.takesSlot) return;
    expect(facts).toMatchObject({ slot: 'taken' });
    expect(await slotFree(world, user, 1)).toBe(false);
    await world.counter.release(user, request.slot.connectionKey);
    expect(await slotFree(world, user, 1)).toBe(true);
  });

  it('reads the block and takes no slot for a blocked user', async () => {
    const world = makeWorld();
    const { request, user } = await ticketed(world);
    await world.blocks.block(user, 60, T0);
    const facts = await world.admission.admit(request);
    expect(facts).toMatchObject({ redeemed: true, standing: { blocked: true }, slot: 'not_taken' });
    expect(await slotFree(world, user, 1)).toBe(true);
  });

  it.each([
    ['a logout after the token', T0_S - 10, T0_S - 5, true],
    ['a logout in the token’s second', T0_S - 10, T0_S - 10, true],
    ['a logout before the token', T0_S - 10, T0_S - 20, false],
    ['any logout, for a token without iat', null, T0_S - 20, true],
  ])('reads the watermark: %s', async (_label, iat, at, refused) => {
    const world = makeWorld();
    const { request, user, marks } = await ticketed(world, { iat });
    await world.logouts.markLoggedOut(marks[1]!, at, 60, T0);
    await world.logouts.markLoggedOut(marks[0]!, at - 100, 60, T0);
    const facts = await world.admission.admit(request);
    expect(facts).toMatchObject({ redeemed: true, standing: { blocked: false, loggedOutAt: at } });
    expect(loggedOutBy(iat, at)).toBe(refused);
    expectSlotOnlyWhenGuardsPass(facts, iat);
    if (world.takesSlot) expect(facts).toMatchObject({ slot: refused ? 'not_taken' : 'taken' });
    expect(await slotFree(world, user, 1)).toBe(refused || !world.takesSlot);
  });

  it('finds the cap full without taking a slot', async () => {
    const world = makeWorld();
    const { request, user } = await ticketed(world, { limit: 1 });
    await world.counter.acquire(user, 'node:held', 1, LEASE_MS, T0);
    const facts = await world.admission.admit(request);
    expect(facts).toMatchObject({ redeemed: true, slot: world.takesSlot ? 'full' : 'not_taken' });
    await world.counter.release(user, 'node:held');
    expect(await slotFree(world, user, 1)).toBe(true);
  });

  it('reads a standing of the block and the latest watermark', async () => {
    const world = makeWorld();
    const { user, marks } = await ticketed(world);
    await expect(world.standing.read(user, marks, T0)).resolves.toEqual({
      blocked: false,
      loggedOutAt: null,
    });
    await expect(world.standing.read(user, [], T0)).resolves.toEqual({
      blocked: false,
      loggedOutAt: null,
    });
    await world.blocks.block(user, 60, T0);
    await world.logouts.markLoggedOut(marks[2]!, T0_S - 3, 60, T0);
    await world.logouts.markLoggedOut(marks[0]!, T0_S - 7, 60, T0);
    await expect(world.standing.read(user, marks, T0)).resolves.toEqual({
      blocked: true,
      loggedOutAt: T0_S - 3,
    });
  });
});

describe('standalone admission while Redis is down', () => {
  it('rejects the admission fast, reads an unread standing, and recovers', async () => {
    const world = redisWorld(standaloneNode);
    const { request, user, marks } = await ticketed(world);
    await throughOutage(
      standalone.server,
      standaloneNode,
      async () => {
        await expectUnavailableFast(() => world.admission.admit(request));
        await expect(world.standing.read(user, marks, T0)).resolves.toEqual({
          blocked: null,
          loggedOutAt: undefined,
        });
      },
      async () => (await world.standing.read(user, marks, T0)).blocked === false,
    );
  });
});
