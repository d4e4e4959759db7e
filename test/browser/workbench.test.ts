/**
 * The workbench end to end: a real `xsys serve` and the built web UI in chromium. Upload a model, explain a sample and
 * a dropped image, pick another class, change the colour map, compare methods, open the history and reproduce a
 * result, run a dataset job, and compute an explanation on the device — which must equal the server's numbers while
 * the input never reaches the server.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseModel, serializeModel } from '../../src/onnx/model.js';
import { encodeNpy } from '../../src/io/npy.js';
import { buildModel, makeNode, valueInfo } from '../helpers/onnx.js';
import { parseNpy, toFloat32 } from '../../src/io/npy.js';
import { launchChromium, maxRelDiff, requireBuilt, screenshotDir, startService, type Service } from './harness.js';

let service: Service;
let browser: Browser;
let page: Page;
let shots: string;
let uploadedId: string;
let bundledId: string;
const pageErrors: string[] = [];

const api = async <T>(path: string, init?: RequestInit): Promise<T> => {
  const res = await fetch(service.url + path.replace(/^\//, ''), init);
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
};
const bytesOf = async (path: string) => new Uint8Array(await (await fetch(service.url + path.replace(/^\//, ''))).arrayBuffer());

/** The heatmap canvas's pixels: size, number of distinct colours, and a fingerprint. */
async function heatmapPixels(p: Page, nth = 0) {
  return p.locator('[data-testid=heatmap]').nth(nth).evaluate((c: HTMLCanvasElement) => {
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const colours = new Set<number>();
    let hash = 0;
    for (let i = 0; i < d.length; i += 4) {
      const v = (d[i]! << 16) | (d[i + 1]! << 8) | d[i + 2]!;
      colours.add(v);
      hash = (hash * 31 + v) | 0;
    }
    return { width: c.width, height: c.height, colours: colours.size, hash };
  });
}

/** Waits until the explain view shows a finished explanation computed where asked (and, if given, of this method and input). */
async function waitExplained(p: Page, where: 'on the server' | 'on this device', what: { method?: string; input?: string } = {}) {
  await p.waitForFunction(
    ({ where, method, input }) => {
      const facts = document.querySelector<HTMLElement>('[data-testid=facts]');
      return (
        !!facts &&
        !document.querySelector('.spinner') &&
        facts.dataset.where === (where === 'on this device' ? 'local' : 'server') &&
        (!method || facts.dataset.method === method) &&
        (!input || facts.dataset.input === input)
      );
    },
    { where, ...what },
    { timeout: 240_000 },
  ).catch(async (e: Error) => {
    // Say what the page shows instead (an error box, a stale result …), not only that it timed out.
    const facts = await p.locator('[data-testid=facts]').evaluate((f: HTMLElement) => JSON.stringify(f.dataset)).catch(() => 'none');
    const stage = await p.locator('.stage').innerText().catch(() => '');
    throw new Error(`${e.message}\nurl: ${p.url()}\nfacts: ${facts}\nstage: ${stage.slice(0, 600)}`);
  });
}

/** Changes the view inside the running app (no reload: the on-device runtime and compiled explainers stay loaded). */
async function navigate(p: Page, hash: string) {
  await p.evaluate((h) => {
    window.location.hash = h;
  }, hash);
}

beforeAll(async () => {
  requireBuilt();
  service = await startService();
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1360, height: 880 }, acceptDownloads: true });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  shots = screenshotDir();
  bundledId = (await api<{ id: string; name: string }[]>('/api/models')).find((m) => m.name === 'mnist-cnn.onnx')!.id;
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await service?.stop();
});

describe('workbench in chromium', () => {
  it('uploads a model and shows its inputs, operators and rules', async () => {
    // A copy of the bundled model with another doc string: new bytes, so a genuinely new upload.
    const model = parseModel(new Uint8Array(readFileSync('examples/mnist/mnist-cnn.onnx')));
    model.docString = 'uploaded by the browser test';
    const bytes = serializeModel(model);
    uploadedId = createHash('sha256').update(bytes).digest('hex');
    await page.goto(`${service.url}#/models`);
    await page.locator('[data-testid=model-file]').setInputFiles({ name: 'mnist-e2e.onnx', mimeType: 'application/octet-stream', buffer: Buffer.from(bytes) });
    await page.waitForSelector('[data-testid=model-details]');
    expect(page.url()).toContain(`model=${uploadedId}`);
    const models = await api<{ id: string; name: string }[]>('/api/models');
    expect(models.find((m) => m.id === uploadedId)?.name).toBe('mnist-e2e');
    const histogram = await page.locator('[data-testid=op-histogram]').innerText();
    expect(histogram).toMatch(/Conv\s+2/);
    expect(histogram).toMatch(/Relu\s+3/);
    // epsilon-plus-flat: flat at the first layer, zplus for the other convolution, epsilon for dense layers.
    const rules = await page.locator('[data-testid=rule-table]').innerText();
    expect(rules).toMatch(/\/conv1\/Conv\s+Conv\s+flat/);
    expect(rules).toMatch(/\/conv2\/Conv\s+Conv\s+zplus/);
    expect(rules).toMatch(/\/fc2\/Gemm\s+Gemm\s+epsilon/);
    await page.locator('[data-testid=model-composite]').selectOption('epsilon-gamma-box');
    await page.waitForFunction(() => document.querySelector('[data-testid=rule-table]')?.textContent?.includes('zbox'));
    expect(page.url()).toContain('composite=epsilon-gamma-box');
    await page.screenshot({ path: join(shots, 'models.png') });
  });

  it('explains a dataset sample on the server: heatmap, top-k, another class, colour map, opacity', async () => {
    await page.goto(`${service.url}#/explain?model=${uploadedId}&device=server`);
    await page.locator('[data-testid=sample-1]').click();
    await waitExplained(page, 'on the server');
    expect(page.url()).toContain('sample=mnist-samples/1');
    expect(await page.textContent('[data-testid=explained-class]')).toBe('1'); // the sample is a 1
    const heat = await heatmapPixels(page);
    expect([heat.width, heat.height]).toEqual([28, 28]);
    expect(heat.colours).toBeGreaterThan(20);

    // Explain another class by clicking it in the top-k list.
    const second = await page.locator('.topk-row').nth(1).getAttribute('data-testid');
    const cls = second!.replace('class-', '');
    await page.locator(`[data-testid=${second}]`).click();
    await page.waitForFunction((c) => document.querySelector('[data-testid=explained-class]')?.textContent === c && !document.querySelector('.spinner'), cls, { timeout: 60_000 });
    expect(page.url()).toContain(`target=${cls}`);
    const other = await heatmapPixels(page);
    expect(other.hash).not.toBe(heat.hash);

    // Colour map and opacity change the rendering only, and live in the URL.
    await page.locator('[data-testid=cmap]').selectOption('coldnhot');
    expect(page.url()).toContain('cmap=coldnhot');
    expect((await heatmapPixels(page)).hash).not.toBe(other.hash);
    await page.locator('[data-testid=opacity]').fill('0.9');
    expect(page.url()).toContain('opacity=0.9');
    expect(await page.locator('[data-testid=heatmap]').evaluate((c: HTMLCanvasElement) => c.style.opacity)).toBe('0.9');
    await page.screenshot({ path: join(shots, 'explain.png') });

    // The link reproduces the view: a fresh page on the same URL shows the same heatmap.
    const link = page.url();
    const seen = await heatmapPixels(page);
    const fresh = await browser.newPage({ viewport: { width: 1360, height: 880 } });
    await fresh.goto(link);
    await waitExplained(fresh, 'on the server');
    expect(await fresh.textContent('[data-testid=explained-class]')).toBe(cls);
    expect(await heatmapPixels(fresh)).toEqual(seen);
    await fresh.close();
  });

  it('explains a dropped image with the model’s preprocessing', async () => {
    await page.goto(`${service.url}#/explain?model=${bundledId}&device=server&method=gradient`);
    await page.locator('[data-testid=image-file]').setInputFiles('examples/mnist/samples/digit-7-idx0.png');
    await waitExplained(page, 'on the server');
    expect(await page.textContent('[data-testid=explained-class]')).toBe('7');
    expect((await heatmapPixels(page)).colours).toBeGreaterThan(20);
  });

  it('compares methods side by side', async () => {
    await page.goto(`${service.url}#/compare?model=${uploadedId}&sample=mnist-samples/2&methods=lrp:epsilon-plus-flat&device=server`);
    await page.locator('[data-testid=add-method]').selectOption('gradient');
    await page.locator('[data-testid=add-method-button]').click();
    expect(page.url()).toContain('methods=lrp:epsilon-plus-flat,gradient');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=heatmap]').length === 2 && document.querySelectorAll('.card-facts').length === 2 && !document.querySelector('.spinner'), null, { timeout: 120_000 });
    const [a, b] = [await heatmapPixels(page, 0), await heatmapPixels(page, 1)];
    expect(a.colours).toBeGreaterThan(20);
    expect(b.colours).toBeGreaterThan(20);
    expect(a.hash).not.toBe(b.hash);
    expect(await page.locator('.card-facts').first().innerText()).toMatch(/class 2/);
    await page.screenshot({ path: join(shots, 'compare.png') });
  });

  it('lists results with provenance and reproduces one', async () => {
    await page.goto(`${service.url}#/history`);
    await page.waitForSelector('.history-item');
    expect(await page.locator('.history-item').count()).toBeGreaterThanOrEqual(4);
    await page.locator('.history-item').first().click();
    await page.waitForSelector('[data-testid=provenance]');
    const prov = await page.locator('[data-testid=provenance]').innerText();
    expect(prov).toContain(uploadedId);
    expect(prov).toMatch(/onnxruntime \d+\.\d+/);
    await page.locator('[data-testid=reproduce]').click();
    await page.waitForSelector('[data-testid=repro-result]', { timeout: 60_000 });
    expect(await page.locator('[data-testid=repro-result]').innerText()).toMatch(/Identical|within tolerance/);
    await page.screenshot({ path: join(shots, 'history.png') });
  });

  it('runs a dataset job with live progress and charts its results', async () => {
    await page.goto(`${service.url}#/eval?model=${uploadedId}&method=gradient`);
    await page.waitForSelector('[data-testid=start-job]');
    // The job form has the method's parameter form, as Explain has: smoothgrad with 3 noisy samples.
    await page.locator('[data-testid=job-method]').selectOption('smoothgrad');
    await page.locator('[data-testid=job-param-samples]').fill('3');
    await page.locator('[data-testid=job-count]').fill('6');
    await page.locator('[data-testid=start-job]').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=job-progress]')?.textContent?.includes('6 / 6'), null, { timeout: 120_000 });
    // Charts of partial results appear while the job runs; wait for the refetch that covers all six.
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=job-charts] figure').length >= 2 && /n = 6/.test(document.querySelector('[data-testid=job-charts]')?.textContent ?? ''), null, { timeout: 60_000 });
    expect(await page.locator('[data-testid=job-progress]').innerText()).toMatch(/done/i);
    expect(await page.locator('[data-testid=job-charts]').innerText()).toMatch(/Relevance sum per sample[\s\S]*n = 6/);
    // The job view names every parameter its results were computed with (defaults filled in), and so do the results.
    expect(await page.locator('[data-testid=job-param-params]').innerText()).toBe('noiseLevel 0.1, samples 3, seed 0');
    const job = (await api<{ id: string; kind: string; resultIds: string[] }[]>('/api/jobs')).find((j) => j.kind === 'explain-dataset')!;
    const first = await api<{ method: string; params: Record<string, number> }>(`/api/results/${job.resultIds[0]}`);
    expect(first).toMatchObject({ method: 'smoothgrad', params: { noiseLevel: 0.1, samples: 3, seed: 0 } });
    await page.waitForTimeout(500); // let the progress bar finish its transition
    await page.screenshot({ path: join(shots, 'eval.png') });
  });

  it('runs an evaluation job and shows its scores as a chart and a table, and in Compare', async () => {
    await page.goto(`${service.url}#/eval?model=${bundledId}`);
    await page.waitForSelector('[data-testid=job-kind]');
    await page.locator('[data-testid=job-kind]').selectOption('evaluate');
    // Method 1 stays lrp · epsilon-plus-flat; method 2 becomes gradient × input. Metrics are ticked, not typed.
    await page.locator('[data-testid=job-method-1-method]').selectOption('gradient-x-input');
    for (const m of ['sparseness', 'pixel-flipping']) await page.locator(`[data-testid=job-metrics-${m}]`).uncheck().catch(() => undefined);
    for (const m of ['sparseness', 'complexity']) await page.locator(`[data-testid=job-metrics-${m}]`).check();
    await page.locator('[data-testid=job-limit]').fill('4');
    await page.locator('[data-testid=start-job]').click();
    await page.waitForSelector('[data-testid=evaluation-table]', { timeout: 120_000 });
    const chart = await page.locator('[data-testid=evaluation-chart]').innerText();
    expect(chart).toMatch(/sparseness[\s\S]*higher is better/);
    expect(chart).toMatch(/complexity[\s\S]*lower is better/);
    // The table's numbers are the job's stored outcome.
    const job = (await api<{ id: string; kind: string; result: { cells: { method: string; metric: string; mean: number }[] } }[]>('/api/jobs')).find((j) => j.kind === 'evaluate')!;
    const cell = job.result.cells.find((c) => c.method === 'gradient-x-input' && c.metric === 'sparseness')!;
    expect(await page.locator('[data-testid=evaluation-table]').innerText()).toContain(Math.abs(cell.mean) >= 1e4 || Math.abs(cell.mean) < 1e-3 ? cell.mean.toExponential(2) : cell.mean.toPrecision(3));
    await page.screenshot({ path: join(shots, 'evaluation.png') });
    await page.goto(`${service.url}#/compare?model=${bundledId}&sample=mnist-samples/0&methods=lrp:epsilon-plus-flat,gradient-x-input&device=server`);
    await page.waitForSelector('[data-testid=compare-evaluation]', { timeout: 60_000 });
    expect(await page.locator('[data-testid=compare-evaluation]').innerText()).toMatch(/sparseness[\s\S]*complexity/);
  });

  it('scores a localisation metric with masks from the form: refused without, computed with a threshold', async () => {
    await page.goto(`${service.url}#/eval?model=${bundledId}`);
    await page.waitForSelector('[data-testid=job-kind]');
    await page.locator('[data-testid=job-kind]').selectOption('evaluate');
    await page.locator('[data-testid=job-method-0-remove]').click();
    for (const m of ['sparseness', 'pixel-flipping']) await page.locator(`[data-testid=job-metrics-${m}]`).uncheck();
    await page.locator('[data-testid=job-metrics-pointing-game]').check();
    await page.locator('[data-testid=job-limit]').fill('4');
    await page.locator('[data-testid=start-job]').click();
    // Without masks: the service's error, in the form's words (no CLI flag), and the masks field marked.
    await page.waitForSelector('.new-job [role=alert]');
    const refused = await page.locator('.new-job [role=alert]').innerText();
    expect(refused).toMatch(/pointing-game' needs localisation masks/);
    expect(refused).not.toMatch(/--/);
    expect(await page.locator('.masks.bad').count()).toBe(1);
    await page.locator('[data-testid=job-masks-mode]').selectOption('threshold');
    await page.locator('[data-testid=job-masks-threshold]').fill('0.5');
    await page.locator('[data-testid=start-job]').click();
    await page.waitForSelector('[data-testid=evaluation-table]', { timeout: 120_000 });
    expect(await page.locator('[data-testid=job-param-masks]').innerText()).toBe('pixels brighter than 0.5');
    const job = (await api<{ kind: string; params: { masks?: unknown }; result?: { cells: { metric: string; n: number; mean: number }[] } }[]>('/api/jobs')).find((j) => j.kind === 'evaluate' && j.params.masks)!;
    expect(job.params.masks).toMatchObject({ threshold: 0.5 });
    expect(job.result!.cells).toEqual([expect.objectContaining({ metric: 'pointing-game', n: 4 })]);
    expect(await page.locator('[data-testid=evaluation-table]').innerText()).toMatch(/pointing-game/);
    await page.screenshot({ path: join(shots, 'evaluation-masks.png') });
  });

  it('sets integrated-gradients steps in the form; History and Reproduce use exactly them', async () => {
    await page.goto(`${service.url}#/explain?model=${bundledId}&sample=mnist-samples/5&method=integrated-gradients&device=server`);
    await page.waitForSelector('[data-testid=param-steps]');
    expect(await page.locator('[data-testid=param-steps]').getAttribute('placeholder')).toBe('20'); // the declared default
    await page.locator('[data-testid=param-steps]').fill('8');
    await page.waitForFunction(() => window.location.hash.includes('params=steps:8'));
    await page.waitForFunction(() => document.querySelector('[data-testid=facts-params]')?.textContent?.includes('steps=8') && !document.querySelector('.spinner'), null, { timeout: 120_000 });
    // Every parameter, the default baseline included, is in the record.
    expect(await page.textContent('[data-testid=facts-params]')).toBe('baseline=0 · steps=8');
    const id = (await page.locator('[data-testid=facts] a[href^="#/history"]').getAttribute('href'))!.replace('#/history?result=', '');
    await page.screenshot({ path: join(shots, 'explain-params.png') });
    await navigate(page, `#/history?result=${id}`);
    await page.waitForSelector('[data-testid=provenance-params]');
    expect(await page.textContent('[data-testid=provenance-params]')).toBe('baseline=0 · steps=8');
    expect(await page.locator('.history-item.active').innerText()).toContain('steps=8');
    await page.locator('[data-testid=reproduce]').click();
    await page.waitForSelector('[data-testid=repro-result]', { timeout: 120_000 });
    expect(await page.locator('[data-testid=repro-result]').innerText()).toMatch(/Identical/);
    const reproducedId = (await page.locator('[data-testid=repro-link]').getAttribute('href'))!.replace('#/history?result=', '');
    const again = await api<{ params: Record<string, number>; provenance: { reproducedFrom: string } }>(`/api/results/${reproducedId}`);
    expect(again.params).toEqual({ baseline: 0, steps: 8 });
    expect(again.provenance.reproducedFrom).toBe(id);
    await page.locator('[data-testid=repro-link]').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=provenance-params]')?.textContent === 'baseline=0 · steps=8' && document.querySelector('[data-testid=provenance]')?.textContent?.includes('reproduces'));
  });

  it('refuses a dropped .txt with a message', async () => {
    await page.goto(`${service.url}#/explain?model=${bundledId}&sample=mnist-samples/0&device=server`);
    await waitExplained(page, 'on the server');
    await page.locator('[data-testid=image-file]').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a picture') });
    await page.waitForSelector('[data-testid=input-rejected]');
    expect(await page.textContent('[data-testid=input-rejected]')).toMatch(/notes\.txt is not an image or a \.npy array/);
    expect(page.url()).toContain('sample=mnist-samples/0'); // the previous input stays
  });

  it('predicts an inverted (dark on light) upload correctly once “invert” is ticked, and shows what the model sees', async () => {
    const darkOnLight = await sharp('examples/mnist/samples/digit-2-idx1.png').negate({ alpha: false }).resize(140, 140).png().toBuffer();
    await page.goto(`${service.url}#/explain?model=${bundledId}&method=lrp&device=server`);
    await page.locator('[data-testid=image-file]').setInputFiles({ name: 'my-two.png', mimeType: 'image/png', buffer: darkOnLight });
    await waitExplained(page, 'on the server', { input: 'my-two.png' });
    const before = await page.textContent('[data-testid=explained-class]');
    await page.locator('[data-testid=prep-invert]').check();
    expect(page.url()).toContain('prep=invert');
    await page.waitForFunction(() => document.querySelector('[data-testid=facts]') && !document.querySelector('.spinner') && document.querySelector('[data-testid=explained-class]')?.textContent === '2', null, { timeout: 60_000 });
    console.log(`dark-on-light 2: predicted ${before} as uploaded, 2 inverted`);
    expect(before).not.toBe('2');
    // The preview is the 28×28 tensor the model gets: after inversion a light digit on a dark background.
    const seen = await page.locator('[data-testid=model-sees]').evaluate(async (img: HTMLImageElement) => {
      await img.decode();
      const c = document.createElement('canvas');
      c.width = img.naturalWidth;
      c.height = img.naturalHeight;
      const ctx = c.getContext('2d')!;
      ctx.drawImage(img, 0, 0);
      const d = ctx.getImageData(0, 0, c.width, c.height).data;
      return { w: c.width, h: c.height, corner: d[0], centre: Math.max(...Array.from({ length: 6 }, (_, i) => d[((14 - 3 + i) * c.width + 14) * 4]!)) };
    });
    expect(seen).toMatchObject({ w: 28, h: 28 });
    expect(seen.corner).toBeLessThan(40);
    expect(seen.centre).toBeGreaterThan(150);
    const rec = await api<{ provenance: { inputSource: { name: string } } }[]>('/api/results?limit=1');
    expect(rec[0]!.provenance.inputSource.name).toBe('my-two.png');
    await page.screenshot({ path: join(shots, 'explain-upload.png') });
  });

  it('keeps one History record for a reloaded explanation, with a count', async () => {
    const url = `${service.url}#/explain?model=${bundledId}&sample=mnist-samples/6&method=gradient-x-input&device=server`;
    await page.goto(url);
    await waitExplained(page, 'on the server', { method: 'gradient-x-input' });
    const before = await api<{ id: string }[]>('/api/results?limit=500');
    await page.reload();
    await waitExplained(page, 'on the server', { method: 'gradient-x-input' });
    await page.waitForSelector('[data-testid=record-count]');
    expect(await page.textContent('[data-testid=record-count]')).toContain('asked 2×');
    const after = await api<{ id: string; count: number; method: string; provenance: { inputSource: { dataset: string; index: number } } }[]>('/api/results?limit=500');
    expect(after.length).toBe(before.length);
    const rec = after.find((r) => r.method === 'gradient-x-input' && r.provenance.inputSource.index === 6)!;
    expect(rec.count).toBe(2);
    await navigate(page, `#/history?result=${rec.id}`);
    await page.waitForSelector('[data-testid=provenance-count]');
    expect(await page.locator(`.history-item.active [data-testid=history-item-count]`).innerText()).toBe('×2');
    expect(await page.locator('.history-item.active').innerText()).toContain('mnist-samples #6');
    // Filters and search narrow the list; delete removes the record.
    await page.locator('[data-testid=history-method]').selectOption('gradient-x-input');
    const methods = await page.locator('.history-item strong').allInnerTexts();
    expect(methods.length).toBeGreaterThan(0);
    expect(methods.every((m) => m.startsWith('gradient-x-input'))).toBe(true);
    await page.locator('[data-testid=history-search]').fill('#6');
    await page.waitForFunction(() => document.querySelectorAll('.history-item').length === 1);
    await page.screenshot({ path: join(shots, 'history-filter.png') });
    await page.locator('[data-testid=delete-result]').click();
    await page.waitForFunction(() => document.querySelectorAll('.history-item').length === 0);
    expect((await api<{ id: string }[]>('/api/results?limit=500')).some((r) => r.id === rec.id)).toBe(false);
  });

  it('downloads the overlay as PNG and the record as JSON', async () => {
    await page.goto(`${service.url}#/explain?model=${bundledId}&sample=mnist-samples/3&device=server`);
    await waitExplained(page, 'on the server');
    const [png] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid=download-png]').click()]);
    const bytes = readFileSync((await png.path())!);
    expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const meta = await sharp(bytes).metadata();
    expect([meta.width, meta.height]).toEqual([280, 280]); // 28 × 10: whole pixels per attribution cell
    const stats = await sharp(bytes).stats();
    expect(stats.channels.slice(0, 3).some((c) => c.max - c.min > 100)).toBe(true); // not blank
    expect(png.suggestedFilename()).toMatch(/^attribution-lrp-epsilon-plus-flat-class\d-server\.png$/);
    const [json] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid=download-json]').click()]);
    const doc = JSON.parse(readFileSync((await json.path())!, 'utf8'));
    expect(doc).toMatchObject({ method: 'lrp', composite: 'epsilon-plus-flat', params: { epsilon: 1e-6, stabilizer: 1e-6 }, record: { provenance: { method: 'lrp' } } });
  });

  it('works at 768 px: every tab reachable, nothing wider than the window', async () => {
    const narrow = await browser.newPage({ viewport: { width: 768, height: 1000 } });
    for (const view of ['explain', 'compare', 'history', 'eval', 'models']) {
      await narrow.goto(`${service.url}#/${view}?model=${bundledId}&sample=mnist-samples/3&device=server`);
      await narrow.waitForSelector('.stage');
      if (view === 'explain') await waitExplained(narrow, 'on the server');
      await narrow.waitForTimeout(300);
      const layout = await narrow.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        tabs: [...document.querySelectorAll<HTMLElement>('.tabs .tab')].map((t) => {
          const r = t.getBoundingClientRect();
          return { text: t.textContent, visible: r.width > 0 && r.left >= 0 && r.right <= window.innerWidth };
        }),
      }));
      expect(layout.scroll, view).toBeLessThanOrEqual(768);
      expect(layout.tabs.every((t) => t.visible), JSON.stringify(layout.tabs)).toBe(true);
      expect(layout.tabs.map((t) => t.text)).toContain('Evaluation');
      if (view === 'explain' || view === 'history') await narrow.screenshot({ path: join(shots, `${view}-768.png`), fullPage: true });
    }
    await narrow.close();
  });

  it('opens on the example, ready to explain', async () => {
    const first = await browser.newPage({ viewport: { width: 1360, height: 880 } });
    await first.goto(service.url);
    await waitExplained(first, 'on the server');
    expect(first.url()).toContain(`model=${bundledId}`);
    expect(first.url()).toContain('sample=mnist-samples/0');
    const labels = JSON.parse(readFileSync('examples/mnist/labels.json', 'utf8')) as number[];
    expect(await first.textContent('[data-testid=explained-class]')).toBe(String(labels[0]));
    await first.screenshot({ path: join(shots, 'first-screen.png') });
    await first.close();
  });

  it('explains the README’s text model from the workbench: upload, tokenizer, text box, tokens coloured by relevance', async () => {
    await page.goto(`${service.url}#/models`);
    await page.locator('[data-testid=model-file]').setInputFiles('examples/transformers/text-classifier.onnx');
    await page.waitForSelector('[data-testid=tokenizer-settings]');
    expect(await page.textContent('[data-testid=tokenizer-settings]')).toMatch(/store its tokenizer\.json/);
    await page.locator('[data-testid=tokenizer-file]').setInputFiles('examples/transformers/tokenizer.json');
    await page.waitForSelector('[data-testid=settings-saved]');
    await page.locator('a.button.primary', { hasText: 'Explain with this model' }).click();
    await page.waitForSelector('[data-testid=text-input]');
    await page.waitForFunction(() => window.location.hash.includes('composite=attnlrp'));
    await page.locator('[data-testid=text-input]').fill('the acting was not good but the story was really wonderful .');
    await page.locator('[data-testid=text-explain]').click();
    await page.waitForSelector('[data-testid=tokens]', { timeout: 120_000 });
    expect(await page.textContent('[data-testid=explained-class]')).toBe('1');
    const tokens = await page.locator('.token').evaluateAll((els) => els.map((e) => ({ t: e.textContent, r: Number((e as HTMLElement).dataset.relevance) })));
    expect(tokens.map((x) => x.t)).toContain('wonderful');
    const top = tokens.reduce((a, b) => (b.r > a.r ? b : a));
    const bottom = tokens.reduce((a, b) => (b.r < a.r ? b : a));
    expect([top.t, bottom.t]).toEqual(['wonderful', 'not']);
    expect(page.url()).toContain('text=');
    await page.screenshot({ path: join(shots, 'explain-text.png') });
  });

  it('computes on this device: equal to the server within 1e-4 relative, and the input never reaches the server', async () => {
    const posted: string[] = [];
    page.on('request', (r) => {
      if (r.method() !== 'GET') posted.push(`${r.method()} ${r.url()}`);
    });
    await page.goto(`${service.url}#/models`);
    await page.locator('[data-testid=device-local]').click();
    expect(page.url()).toContain('device=local');
    expect(await page.locator('.privacy').innerText()).toMatch(/stay on this device/);
    for (const [method, target] of [['lrp', 'pred'], ['gradient', '3']] as const) {
      await navigate(page, `#/explain?model=${uploadedId}&sample=mnist-samples/4&method=${method}&composite=epsilon-plus-flat&target=${target}&device=local`);
      await waitExplained(page, 'on this device', { method, input: 'mnist-samples #4' });
      const [download] = await Promise.all([page.waitForEvent('download'), page.locator('[data-testid=download-npy]').click()]);
      const local = parseNpy(new Uint8Array(readFileSync((await download.path())!)));
      const server = await api<{ target: number; artefacts: { attribution: string } }>('/api/explain', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ modelId: uploadedId, input: { kind: 'sample', dataset: 'mnist-samples', index: 4 }, method, ...(method === 'lrp' ? { composite: 'epsilon-plus-flat' } : {}), target: target === 'pred' ? 'pred' : Number(target) }),
      });
      const remote = parseNpy(await bytesOf(`/api/artefacts/${server.artefacts.attribution}`));
      expect(local.shape).toEqual(remote.shape);
      expect(Number(await page.textContent('[data-testid=explained-class]'))).toBe(server.target);
      const rel = maxRelDiff(toFloat32(local), toFloat32(remote));
      console.log(`on-device vs server, ${method} target ${target}: max relative difference ${rel.toExponential(2)}`);
      expect(rel).toBeLessThan(1e-4);
      if (method === 'lrp') await page.screenshot({ path: join(shots, 'explain-device.png') });
    }
    // Clicking through classes faster than they compute: runs overlap in the page, the runtime takes them in turn,
    // and the last click is what is shown.
    const last = await page.evaluate(async () => {
      const rows = [...document.querySelectorAll<HTMLButtonElement>('.topk-row')];
      for (const r of rows) {
        r.click();
        // Long enough for each click to render and start its run, shorter than a run.
        await new Promise((done) => setTimeout(done, 15));
      }
      return rows.at(-1)!.dataset.testid!.replace('class-', '');
    });
    await page.waitForFunction((c) => document.querySelector<HTMLElement>('[data-testid=facts]')?.dataset.target === c && !document.querySelector('.spinner'), last, { timeout: 240_000 });
    expect(await page.locator('[role=alert]').count()).toBe(0);
    expect(page.url()).toContain(`target=${last}`);
    // A dropped image on this device: explained locally, never uploaded.
    await navigate(page, `#/explain?model=${bundledId}&method=gradient-x-input&device=local`);
    await page.locator('[data-testid=image-file]').setInputFiles('examples/mnist/samples/digit-7-idx0.png');
    await waitExplained(page, 'on this device', { method: 'gradient-x-input', input: 'digit-7-idx0.png' });
    expect(await page.textContent('[data-testid=explained-class]')).toBe('7');
    expect((await heatmapPixels(page)).colours).toBeGreaterThan(20);
    expect(page.url()).not.toContain('sample=');
    // The page itself sent nothing but GETs (the test's own comparison request does not go through the page).
    expect(posted).toEqual([]);
  }, 400_000);

  it('explains a model with two inputs from one .npy per input, with the numbers of gradient × input', async () => {
    // y = a + b: gradient × input for class 2 is a_2 on input a and b_2 on input b, zero elsewhere.
    const two = buildModel({ nodes: [makeNode('Add', ['a', 'b'], ['y'], 'add')], inputs: [valueInfo('a', [1, 4]), valueInfo('b', [1, 4])], outputs: [valueInfo('y', [1, 4])] });
    const { id } = await api<{ id: string }>('/api/models?name=two-inputs.onnx', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from(serializeModel(two)) });
    await page.goto(`${service.url}#/explain?model=${id}&method=gradient-x-input&target=2&device=server`);
    await page.reload(); // the model list is read at start; this model was uploaded through the API meanwhile
    await page.waitForSelector('[data-testid=multi-inputs]');
    expect(await page.locator('[data-testid=multi-inputs]').innerText()).toMatch(/a\s+float32 \[1, 4\][\s\S]*b\s+float32 \[1, 4\]/);
    // A file that is not a .npy gets a message at its input.
    await page.locator('[data-testid=input-file-a]').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('1 2 3 4') });
    expect(await page.locator('[data-testid=multi-inputs] [role=alert]').innerText()).toMatch(/notes\.txt is not a \.npy file/);
    const npy = (v: number[]) => ({ name: 'x.npy', mimeType: 'application/octet-stream', buffer: Buffer.from(encodeNpy(Float32Array.from(v), [1, 4])) });
    await page.locator('[data-testid=input-file-a]').setInputFiles(npy([1, 2, 3, 4]));
    await page.locator('[data-testid=input-file-b]').setInputFiles(npy([4, 3, 2, 1]));
    await page.locator('[data-testid=inputs-explain]').click();
    await page.waitForSelector('[data-testid=attribution-b] ol li', { timeout: 60_000 });
    expect(Number(await page.locator('[data-testid=attribution-a]').getAttribute('data-sum'))).toBeCloseTo(3, 5);
    expect(Number(await page.locator('[data-testid=attribution-b]').getAttribute('data-sum'))).toBeCloseTo(2, 5);
    expect(await page.locator('[data-testid=attribution-a] ol').innerText()).toMatch(/^0\s+0\s+3(\.0+)?\s+0$/);
    expect(await page.locator('[data-testid=inputs-facts]').getAttribute('data-target')).toBe('2');
    await page.screenshot({ path: join(shots, 'explain-inputs.png') });
  });

  it('raised no uncaught errors in the page', () => {
    expect(pageErrors).toEqual([]);
  });
});
