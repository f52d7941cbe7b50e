import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { type PageServer, startPageServer } from '../../examples/browser/page-server.mjs';
import { startNode, type TestNode, uniquePrefix } from '../support/app.js';
import {
  type Chromium,
  describeWithChromium,
  launchChromium,
  screenshotsOnFailure,
} from '../support/browser.js';
import { freePort } from '../support/free-port.js';
import { eventually } from '../support/http-client.js';
import { CanaryWatch, PHI_CANARY, PHI_CANARY_TEXT } from '../support/phi-canary.js';
import { publish, signedRequest } from '../support/publisher.js';
import { type RedisServerHandle, startRedisServer } from '../support/redis-server.js';
import { accessToken, ticketFor } from '../support/tokens.js';
import { untilReady } from '../support/readiness.js';

/** What the demo page exposes as window.carecastDemo. */
interface DemoState {
  states: { state: string; closeCode?: number; cause?: string }[];
  notifications: { id: string; seq: number; ref: string }[];
  recoveryFailures: unknown[];
  errors: { source: string; code: string }[];
  subscribed: number;
}

/** Short backoff so a reconnect takes about a second; the policy is the SDK's own. */
const MAX_BACKOFF_MS = 1000;
const CLIENT_OPTIONS = { backoff: { initialMs: 200, maxMs: MAX_BACKOFF_MS, stableAfterMs: 2000 } };
const STEP_MS = 20_000;

/*
 * The demo page, served from its own https origin, uses the built SDK in Chromium against a
 * gateway node (A, on a fixed port so it can be restarted) that allowlists that origin. A
 * second node (B) on the same Redis publishes while A is down. A second page server on
 * another origin is not allowlisted.
 */
describeWithChromium('the client SDK in Chromium', () => {
  let redis: RedisServerHandle;
  let env: Record<string, string>;
  let a: TestNode;
  let b: TestNode;
  let allowedPage: PageServer;
  let otherPage: PageServer;
  let browser: Chromium;
  const pages: Page[] = [];
  const watch = new CanaryWatch();
  let counter = 0;
  const eventId = () => `evt-brws${String(++counter).padStart(6, '0')}`;

  beforeAll(async () => {
    redis = await startRedisServer();
    const port = await freePort();
    const gatewayUrl = `https://127.0.0.1:${port}`;
    const mintToken = (role: 'patient' | 'doctor', sub: string) => accessToken({ role, sub });
    allowedPage = await startPageServer({ gatewayUrl, mintToken, clientOptions: CLIENT_OPTIONS });
    otherPage = await startPageServer({ gatewayUrl, mintToken, clientOptions: CLIENT_OPTIONS });
    env = {
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: uniquePrefix('browser'),
      ALLOWED_ORIGINS: allowedPage.origin,
    };
    a = await node({ NODE_ID: 'browser-a', PORT: String(port), PUBLIC_URL: gatewayUrl });
    b = await node({ NODE_ID: 'browser-b' });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await allowedPage?.close();
    await otherPage?.close();
    await a?.stop();
    await b?.stop();
    await redis?.stop();
  });

  async function node(extra: Record<string, string>): Promise<TestNode> {
    const n = await startNode({ ...env, ...extra });
    await untilReady(n, { timeoutMs: 10_000 });
    return n;
  }

  /** Opens the demo page for a patient, recording every WebSocket frame the browser sees. */
  async function openPage(origin: string, patientId: string, channel?: string) {
    const page = await browser.context.newPage();
    pages.push(page);
    const sent: string[] = [];
    page.on('websocket', (ws) => {
      ws.on('framereceived', ({ payload }) => watch.frame(payload, 'browser ws frame'));
      ws.on('framesent', ({ payload }) => sent.push(String(payload)));
    });
    page.on('console', (message) => watch.frame(message.text(), 'browser console'));
    const query = new URLSearchParams({ role: 'patient', id: patientId });
    if (channel !== undefined) query.set('channel', channel);
    await page.goto(`${origin}/?${query.toString()}`);
    return { page, sent };
  }

  const demo = (page: Page) =>
    page.evaluate(() => (globalThis as unknown as { carecastDemo: DemoState }).carecastDemo);

  /** Waits until the page's demo state satisfies `probe`. */
  async function until(page: Page, probe: (d: DemoState) => boolean): Promise<DemoState> {
    await eventually(async () => probe(await demo(page)), { timeoutMs: STEP_MS, intervalMs: 100 });
    return demo(page);
  }

  function notification(channel: string) {
    return { id: eventId(), channel, kind: 'appointment.updated', ref: `apt-brws${counter}x` };
  }

  async function auditRecords(n: TestNode): Promise<Record<string, unknown>[]> {
    const file = path.join(n.config.audit.dir, `audit-${n.config.nodeId}.jsonl`);
    const text = await readFile(file, 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  const patientId = 'pt-brws0001';
  const channel = `patient:${patientId}`;
  let main: { page: Page; sent: string[] };

  it('gets a ticket cross-origin, connects, and shows a published notification', async () => {
    await screenshotsOnFailure(
      'connect and receive',
      () => pages,
      async () => {
        main = await openPage(allowedPage.origin, patientId);
        await until(main.page, (d) => d.subscribed === 1);
        const sent = notification(channel);
        expect((await publish(a, sent)).status).toBe(202);
        const state = await until(main.page, (d) => d.notifications.length === 1);
        expect(state.notifications[0]).toMatchObject({ id: sent.id, ref: sent.ref, seq: 1 });
        expect(await main.page.locator('#notifications li').first().textContent()).toContain(
          sent.ref,
        );
        expect(await main.page.locator('#state').textContent()).toBe('connected');
      },
    );
  }, 60_000);

  it('reconnects after the node restarts and recovers what was published meanwhile', async () => {
    await screenshotsOnFailure(
      'restart and recover',
      () => pages,
      async () => {
        const port = a.config.publicListener.port;
        const before = (await demo(main.page)).states.length;
        await a.stop(); // drains: the page sees 1001 and keeps retrying while A is down
        await until(main.page, (d) =>
          d.states.slice(before).some((s) => s.state === 'disconnected'),
        );
        const missed = notification(channel);
        expect((await publish(b, missed)).status).toBe(202);
        a = await node({
          NODE_ID: 'browser-a',
          PORT: String(port),
          PUBLIC_URL: `https://127.0.0.1:${port}`,
        });
        const state = await until(main.page, (d) => d.notifications.length === 2);
        expect(state.notifications[1]).toMatchObject({ id: missed.id, seq: 2 });
        expect(state.recoveryFailures).toEqual([]);
        const resubscribe = main.sent
          .map((f) => JSON.parse(f) as Record<string, unknown>)
          .filter((f) => f.type === 'subscribe')
          .at(-1);
        expect(resubscribe).toMatchObject({ channel, since: { seq: 1 } });
        const live = notification(channel);
        expect((await publish(a, live)).status).toBe(202);
        const after = await until(main.page, (d) => d.notifications.length === 3);
        expect(after.notifications.map((n) => n.seq)).toEqual([1, 2, 3]);
      },
    );
  }, 90_000);

  it('keeps PHI fed into the page and the publisher out of every output', async () => {
    await screenshotsOnFailure(
      'phi canary',
      () => pages,
      async () => {
        const canaryPage = await openPage(
          allowedPage.origin,
          'pt-brws0003',
          `patient:${PHI_CANARY_TEXT}`,
        );
        await until(canaryPage.page, (d) =>
          d.errors.some((e) => e.source === 'subscribe' && e.code === 'invalid_channel'),
        );
        watch.response(await publish(a, { ...notification(channel), ref: PHI_CANARY.mrn }));
        watch.response(await publish(a, { ...notification(channel), note: PHI_CANARY.name }));
        await canaryPage.page.close();
        await watch.expectClean(a, b);
      },
    );
  }, 60_000);

  it('stops reconnecting after a disconnect with block through the internal API', async () => {
    await screenshotsOnFailure(
      'block',
      () => pages,
      async () => {
        const res = await signedRequest(a, `/internal/v1/users/${channel}/disconnect`, {
          body: { blockSeconds: 300 },
        });
        expect(res.status).toBe(202);
        const state = await until(main.page, (d) => d.states.at(-1)?.state === 'closed');
        expect(state.states.at(-1)).toEqual({
          state: 'closed',
          cause: 'close_code',
          closeCode: 4503,
        });
        // Nothing announces "no retry happened": wait out three maximum backoffs, then check.
        await new Promise((resolve) => setTimeout(resolve, 3 * MAX_BACKOFF_MS));
        expect((await demo(main.page)).states.length).toBe(state.states.length);
        expect(await main.page.locator('#state').textContent()).toBe('closed');
      },
    );
  }, 60_000);

  it('a page on an origin that is not allowlisted can neither get a ticket nor connect', async () => {
    await screenshotsOnFailure(
      'other origin',
      () => pages,
      async () => {
        const other = await openPage(otherPage.origin, 'pt-brws0002');
        // The ticket endpoint answers 403 without CORS headers: the browser hides it as a
        // network failure, which the SDK retries with backoff.
        const state = await until(
          other.page,
          (d) =>
            d.errors.filter((e) => e.source === 'ticket' && e.code === 'network_error').length >= 2,
        );
        expect(state.states.some((s) => s.state === 'connected')).toBe(false);
        // Even holding a valid ticket, the browser's upgrade carries this page's Origin.
        const ticket = await ticketFor(
          a,
          await accessToken({ role: 'patient', sub: 'pt-brws0002' }),
        );
        const outcome = await other.page.evaluate(
          ({ url, ticket }) =>
            new Promise<{ opened: boolean; code: number }>((resolve) => {
              const ws = new WebSocket(url, ['carecast.v1', `ticket.${ticket}`]);
              let opened = false;
              ws.onopen = () => (opened = true);
              ws.onclose = (e) => resolve({ opened, code: e.code });
            }),
          { url: `${a.publicUrl.replace('https', 'wss')}/v1/ws`, ticket },
        );
        expect(outcome).toEqual({ opened: false, code: 1006 });
        await eventually(async () =>
          (await auditRecords(a)).some(
            (r) => r.event === 'ws.upgrade_rejected' && r.reason === 'origin_not_allowed',
          ),
        );
        await watch.expectClean(a, b);
      },
    );
  }, 60_000);
});
