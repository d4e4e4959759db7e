/**
 * The Workers view in chromium: a queue-mode `xsys serve` with one `xsys worker` — the view lists the worker from its
 * heartbeat, and after a dataset job its shard and item counts.
 */
import { join } from 'node:path';

import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { skipReason, startRedis, type RedisServer } from '../helpers/services.js';
import { killChildren, stop, worker, type Child } from '../queue/helpers.js';
import { launchChromium, requireBuilt, screenshotDir, startService, type Service } from './harness.js';

const skip = skipReason('redis');
let redis: RedisServer | undefined;
let service: Service | undefined;
let browser: Browser | undefined;
let w: Child | undefined;

beforeAll(async () => {
  if (skip) return;
  requireBuilt();
  redis = await startRedis();
  service = await startService(['--queue', redis.url, '--shard-size', '4']);
  w = await worker(redis.url, service.url.replace(/\/$/, ''));
  browser = await launchChromium();
}, 180_000);
afterAll(async () => {
  await browser?.close();
  if (w) await stop(w);
  killChildren();
  await service?.stop();
  await redis?.stop();
});

describe.skipIf(skip !== undefined)('Workers view', () => {
  it('shows the live worker, then what it computed', async () => {
    const page = await browser!.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${service!.url}#/workers`);
    const id = /worker (\S+) ready/.exec(w!.out())![1]!;
    const row = page.locator('[data-testid=worker-row]', { hasText: id });
    await row.waitFor({ timeout: 30_000 });
    await expect(page.locator('[data-testid=queue-counts]').textContent()).resolves.toMatch(/1 worker\b/);
    const models = (await (await fetch(`${service!.url}api/models`)).json()) as { id: string }[];
    const res = await fetch(`${service!.url}api/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'explain-dataset', modelId: models[0]!.id, dataset: 'mnist-samples', method: 'gradient' }) });
    expect(res.status).toBe(202);
    // 8 samples in 2 shards: the row's counters reach them (heartbeat every 2 s, view refresh every 2 s).
    await page.waitForFunction((wid: string) => [...document.querySelectorAll('[data-testid=worker-row]')].some((r) => { const td = r.querySelectorAll('td'); return td[0]!.textContent === wid && td[4]!.textContent === '2 / 0 / 0' && td[5]!.textContent === '8'; }), id, { timeout: 60_000 }).catch(async (e: unknown) => {
      throw new Error(`${(e as Error).message}\nrows: ${await page.locator('[data-testid=workers-table]').textContent().catch(() => '(none)')}\nworker: ${w!.out()}`);
    });
    const tab = page.locator('a.tab', { hasText: 'Workers' });
    expect(await tab.getAttribute('aria-current')).toBe('page');
    expect(errors).toEqual([]);
    await page.screenshot({ path: join(screenshotDir(), 'workers.png') });
    await page.close();
  });
});
