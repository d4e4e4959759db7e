/**
 * Where does `xsys serve` keep memory per explain request (bench:service: RSS +25.9 % in 30 s)? Runs the server in
 * this process (no HTTP, app.inject), sends N requests with a new input each, and after a forced GC reports, per
 * request: V8 heap, external/ArrayBuffer memory, RSS, and the sizes of the server's own collections.
 *
 *   node --expose-gc --import tsx scripts/investigations/service-memory.ts [requests=1500] [snapshot]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';

import { encodeNpy, parseNpy } from '../../src/io/npy.js';
import { mulberry32 } from '../../src/seeded-random.js';
import { buildServer } from '../../src/server/app.js';
import { SqliteStore } from '../../src/store/sqlite.js';

const N = Number(process.argv[2] ?? 1500);
const SNAPSHOT = process.argv[3] === 'snapshot';
const BATCH = 50;
const gc = (globalThis as { gc?: () => void }).gc!;
if (!gc) throw new Error('run with node --expose-gc');

const dir = mkdtempSync(join(tmpdir(), 'xsys-mem-'));
const store = SqliteStore.open({ dir });
const wb = await buildServer({ store, webRoot: null });
const models = (await wb.app.inject({ url: '/api/models' })).json() as { id: string }[];
const modelId = models[0]!.id;
const samples = await Promise.all(Array.from({ length: 8 }, async (_, i) => parseNpy(new Uint8Array((await wb.app.inject({ url: `/api/datasets/mnist-samples/samples/${i}?format=npy` })).rawPayload), 's')));
let counter = 0;
const body = () => {
  const i = counter++;
  const r = mulberry32(i + 1);
  const x = new Float32Array(784).map((_, k) => Number(samples[i % 8]!.data[k]) + (r() - 0.5) * 0.01);
  return { modelId, input: { kind: 'npy', npy: Buffer.from(encodeNpy(x, [1, 1, 28, 28])).toString('base64') }, method: 'lrp' };
};
const explainMany = async (n: number) => {
  for (let i = 0; i < n; i += BATCH) {
    const rs = await Promise.all(Array.from({ length: Math.min(BATCH, n - i) }, () => wb.app.inject({ method: 'POST', url: '/api/explain', payload: body() })));
    for (const r of rs) if (r.statusCode !== 200) throw new Error(`explain: ${r.statusCode} ${r.body}`);
  }
};
const measure = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
};

if (process.argv[3] === 'nogc') {
  // What the benchmark sees: no forced GC, 50 requests in flight; RSS next to V8's heap (total and used) and malloc.
  await explainMany(200);
  for (let round = 0; round < Math.max(6, N); round++) {
    const m = process.memoryUsage();
    console.log(`${200 + round * 250} requests: rss ${(m.rss / 2 ** 20).toFixed(1)} MiB, heapTotal ${(m.heapTotal / 2 ** 20).toFixed(1)}, heapUsed ${(m.heapUsed / 2 ** 20).toFixed(1)}, external ${(m.external / 2 ** 20).toFixed(1)}`);
    await explainMany(250);
  }
  const after = await measure();
  console.log(`after a forced GC: rss ${(after.rss / 2 ** 20).toFixed(1)} MiB, heapUsed ${(after.heap / 2 ** 20).toFixed(1)}`);
  await wb.close();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}
await explainMany(200);
const a = await measure();
if (SNAPSHOT) writeHeapSnapshot(join(tmpdir(), 'xsys-mem-a.heapsnapshot'));
await explainMany(N);
const b = await measure();
if (SNAPSHOT) writeHeapSnapshot(join(tmpdir(), 'xsys-mem-b.heapsnapshot'));
const per = (k: keyof typeof a) => ((b[k] - a[k]) / N / 1024).toFixed(2);
console.log(`after 200 warm-up requests: rss ${(a.rss / 2 ** 20).toFixed(1)} MiB, heap ${(a.heap / 2 ** 20).toFixed(1)} MiB, external ${(a.external / 2 ** 20).toFixed(1)} MiB`);
console.log(`after ${N} more: rss ${(b.rss / 2 ** 20).toFixed(1)} MiB, heap ${(b.heap / 2 ** 20).toFixed(1)} MiB, external ${(b.external / 2 ** 20).toFixed(1)} MiB`);
console.log(`per request (KiB): rss ${per('rss')}, V8 heap ${per('heap')}, external ${per('external')}, arrayBuffers ${per('arrayBuffers')}`);
await wb.close();
rmSync(dir, { recursive: true, force: true });
