/**
 * `xsys concepts …`: CRP on the command line — the layers one can condition on, a prediction explained by concepts
 * (shares, conditional heatmaps, sub-concepts, cropped reference samples), building reference samples over a
 * dataset (resumable), and a class's concept atlas. Every command writes JSON, and PNGs where there are pictures.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { readModel } from '../onnx/file.js';
import { serializeModel } from '../onnx/model.js';
import { loadDataset, type Dataset, type DatasetOptions } from '../data/dataset.js';
import { CrpExplainer } from '../concepts/crp.js';
import { conceptRelevance, subConcepts } from '../concepts/relevance.js';
import { arraySource } from '../concepts/sources.js';
import { buildReferences, loadReferences, sha256Of, sourceFingerprint } from '../concepts/store.js';
import { classAtlas, compareAtlases, cropReferences, referenceSamples, type ReferenceStat } from '../concepts/atlas.js';
import { channelLayers } from '../concepts/layers.js';
import { conceptHeatmap, cropImage, sampleImage } from '../concepts/render.js';
import { writePng } from '../render/png.js';
import { upscaleFactor } from '../render/heatmap.js';
import { InvalidArgumentError } from '../errors.js';
import { MAX_K, type ReferenceSpec, type ReferenceState, type SampleSource } from '../concepts/references.js';
import { parseNumberList, parseParams, collect } from './options.js';
import { ProgressBar } from './progress.js';
import { DEFAULT_COMPOSITE } from '../composites/index.js';

type Run = (fn: () => Promise<number>) => Promise<void>;

export interface DataFlags {
  size?: string;
  grayscale?: boolean;
  mean?: string;
  std?: string;
  labels?: string;
  limit?: string;
}

/** Loading options; `input` = the one explained input, to which dataset-only flags (labels, limit) do not apply. */
export function dataOptions(f: DataFlags, input = false): DatasetOptions {
  const size = parseNumberList('--size', f.size);
  return {
    size: size ? (size.length === 1 ? size[0]! : [size[0]!, size[1]!]) : undefined,
    grayscale: f.grayscale,
    mean: parseNumberList('--mean', f.mean),
    std: parseNumberList('--std', f.std),
    labels: input ? undefined : f.labels,
    limit: input || f.limit === undefined ? undefined : int('--limit', f.limit, 1, Number.MAX_SAFE_INTEGER),
  };
}

export function int(flag: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(flag, `must be an integer in ${min}…${max}, got '${v}'`);
  return n;
}

export function withData(cmd: Command): Command {
  return cmd
    .option('--size <h,w>', 'resize images to this size')
    .option('--grayscale', 'load images as one channel')
    .option('--mean <m[,m,m]>', 'per-channel mean subtracted after scaling pixels to [0,1]')
    .option('--std <s[,s,s]>', 'per-channel standard deviation')
    .option('--labels <file>', 'dataset labels (.npy, IDX or JSON; IDX finds its sibling labels file by itself)')
    .option('--limit <n>', 'only the first n samples of the dataset');
}

export function sourceOf(ds: Dataset): SampleSource {
  return arraySource(ds.x, ds.shape, ds.labels);
}

/** What a person sees of sample i: its [0,1] intensity when the loader kept it, else the min–max scaled input. */
export function picture(ds: Dataset, i: number) {
  const per = ds.x.length / ds.shape[0]!;
  const src = ds.intensity ?? ds.x;
  return sampleImage(src.subarray(i * per, (i + 1) * per), ds.shape.slice(1), !!ds.intensity);
}

async function writeCrops(dir: string, ds: Dataset, crp: CrpExplainer, layer: string, channel: number, state: ReferenceState, stat: ReferenceStat, n: number, threshold: number, composite?: string, cls?: number) {
  const refs = referenceSamples(state, layer, channel, { stat: cls === undefined ? stat : 'relevance', cls, n });
  if (refs.length === 0) return [];
  const source = sourceOf(ds);
  // Crops are of the concept's conditional relevance for the class the sample was explained for.
  const per = ds.x.length / ds.shape[0]!;
  const batch = new Float32Array(refs.length * per);
  refs.forEach((r, i) => batch.set(source.batch(r.index, 1).data, i * per));
  const targets = cls !== undefined ? refs.map(() => cls) : crp.base.resolveTargets('pred', await crp.base.scores({ data: batch, dims: [refs.length, ...ds.shape.slice(1)] }));
  const crops = await cropReferences(crp, source, refs, targets, layer, channel, { threshold, composite });
  const out = [];
  for (const [i, c] of crops.entries()) {
    const img = picture(ds, c.index);
    const file = `ref-${channel}-${i}.png`;
    const cropped = cropImage(img, c.box);
    await writePng(join(dir, file), cropped, upscaleFactor(cropped.width, cropped.height, 64));
    out.push({ index: c.index, name: ds.names[c.index], value: c.value, target: c.target, box: c.box, png: file });
  }
  return out;
}

export function registerConcepts(program: Command, run: Run): void {
  const concepts = program.command('concepts').description('Concept Relevance Propagation: concepts of a prediction, reference samples over a dataset, class atlases');

  concepts
    .command('layers')
    .description('list the tensors with a channel axis that can be conditioned on (convolution and linear outputs)')
    .argument('<model>', 'ONNX model file')
    .option('--json', 'print as JSON')
    .action((model: string, flags: { json?: boolean }) =>
      run(async () => {
        const layers = channelLayers(await readModel(model));
        if (flags.json) process.stdout.write(JSON.stringify(layers, null, 2) + '\n');
        else for (const l of layers) process.stdout.write(`${l.tensor.padEnd(48)} ${l.opType.padEnd(10)} [${l.shape.map((d) => d ?? '?').join(', ')}]  ${l.channels} channels\n`);
        return 0;
      }),
    );

  withData(
    concepts
      .command('explain')
      .description('explain a prediction by concepts: the top channels of a layer with their relevance shares, each with its conditional heatmap, sub-concepts in a lower layer and cropped reference samples')
      .argument('<model>', 'ONNX model file')
      .argument('<input>', 'one input: .npy (one sample) or an image')
      .requiredOption('-l, --layer <tensor>', 'the layer whose channels are the concepts (see `xsys concepts layers`)')
      .option('-t, --target <class|pred>', "class explained or 'pred'", 'pred')
      .option('-n, --top <n>', 'concepts shown', '6')
      .option('--lower <tensor>', 'also split each concept into sub-concepts of this lower layer')
      .option('-c, --composite <name>', 'LRP composite', DEFAULT_COMPOSITE)
      .option('-p, --param <k=v>', 'composite parameter, repeatable', collect)
      .option('-r, --references <file>', 'reference samples (from `xsys concepts build`) to show cropped per concept')
      .option('-d, --dataset <path>', 'the dataset the references were built on (for the crops)')
      .option('--refs <n>', 'reference samples per concept', '4')
      .option('--threshold <t>', 'crop to where the conditional relevance exceeds t × its maximum', '0.1')
      .option('-o, --out <dir>', 'output directory', 'xsys-concepts'),
  ).action((modelPath: string, inputPath: string, flags: DataFlags & { layer: string; target: string; top: string; lower?: string; composite: string; param?: string[]; references?: string; dataset?: string; refs: string; threshold: string; out: string }) =>
    run(async () => {
      const top = int('--top', flags.top, 1, 64);
      const nRefs = int('--refs', flags.refs, 1, MAX_K);
      const threshold = Number(flags.threshold);
      if (!(threshold >= 0 && threshold < 1)) throw new InvalidArgumentError('--threshold', 'must be in [0, 1)');
      if (flags.references && !flags.dataset) throw new InvalidArgumentError('--dataset', 'needed with --references (the crops are cut from its samples)');
      const target = flags.target === 'pred' ? 'pred' : int('--target', flags.target, 0, 1e6);
      const model = await readModel(modelPath);
      const crp = await CrpExplainer.load(model);
      const input = await loadDataset(inputPath, dataOptions(flags, true));
      if (input.shape[0] !== 1) throw new InvalidArgumentError('input', `one sample expected, ${inputPath} holds ${input.shape[0]}`);
      const x = { data: input.x, dims: input.shape };
      const opts = { target, composite: flags.composite, params: parseParams(flags.param) } as const;
      let refs: { state: ReferenceState; ds: Dataset } | undefined;
      if (flags.references) {
        const ds = await loadDataset(flags.dataset!, dataOptions(flags));
        const { state } = await loadReferences(flags.references, { modelSha256: sha256Of(serializeModel(model)), datasetSha256: sourceFingerprint(sourceOf(ds)) });
        refs = { state, ds };
      }
      const cr = await conceptRelevance(crp, x, flags.layer, opts);
      const chosen = cr.channels.slice(0, top);
      const heat = await crp.explain(x, chosen.map((c) => [{ tensor: flags.layer, channels: [c.channel] }]), { ...opts, target: cr.target });
      const subs = flags.lower ? await subConcepts(crp, x, flags.layer, chosen.map((c) => c.channel), flags.lower, { ...opts, target: cr.target }) : undefined;
      await mkdir(flags.out, { recursive: true });
      const shape = input.shape;
      const scale = upscaleFactor(shape[shape.length - 1]!, shape[shape.length - 2]!);
      if (shape.length === 4) await writePng(join(flags.out, 'input.png'), picture(input, 0), scale);
      const out = [];
      for (const [k, c] of chosen.entries()) {
        const file = `concept-${c.channel}.png`;
        await writePng(join(flags.out, file), conceptHeatmap(heat.items[k]!.heatmap.data, heat.items[k]!.heatmap.dims), scale);
        out.push({
          ...c,
          heatmap: file,
          ...(subs ? { subConcepts: subs[k]!.channels.slice(0, top) } : {}),
          ...(refs ? { references: await writeCrops(flags.out, refs.ds, crp, flags.layer, c.channel, refs.state, 'relevance', nRefs, threshold, flags.composite) } : {}),
        });
      }
      const summary = { model: modelPath, input: inputPath, layer: flags.layer, target: cr.target, total: cr.total, channels: cr.vector.length, concepts: out, ...(flags.lower ? { lower: flags.lower } : {}) };
      await writeFile(join(flags.out, 'concepts.json'), JSON.stringify(summary, null, 2) + '\n');
      process.stdout.write(`class ${cr.target}: layer ${flags.layer} carries ${cr.total.toPrecision(4)} relevance over ${cr.vector.length} channels\n`);
      for (const c of out) process.stdout.write(`  channel ${String(c.channel).padStart(4)}  ${(100 * c.share).toFixed(1).padStart(6)} %  ${c.relevance.toPrecision(4)}\n`);
      process.stdout.write(`wrote ${join(flags.out, 'concepts.json')} and ${out.length} conditional heatmaps\n`);
      return 0;
    }),
  );

  withData(
    concepts
      .command('build')
      .description('collect reference samples over a dataset: per channel of the layers, the top-k samples by activation (max, sum) and relevance (overall and per class); resumable')
      .argument('<model>', 'ONNX model file')
      .argument('<dataset>', '.npy [N, …], an IDX file or a folder of images')
      .requiredOption('-l, --layers <tensors>', 'comma-separated layers (see `xsys concepts layers`)')
      .requiredOption('-o, --out <file>', 'references JSON (resumed when it exists)')
      .option('-k, --k <n>', `reference samples per channel (≤ ${MAX_K})`, '8')
      .option('-c, --composite <name>', 'LRP composite', DEFAULT_COMPOSITE)
      .option('--targets <prediction|label>', "relevance for each sample's predicted class or its label", 'prediction')
      .option('--batch <n>', 'samples per ONNX Runtime run', '32')
      .option('--no-abs-norm', "keep raw per-channel values (default: divided by the sample's Σ|value|, as zennit-crp)")
      .option('--restart', 'ignore an existing references file'),
  ).action((modelPath: string, dataPath: string, flags: DataFlags & { layers: string; out: string; k: string; composite: string; targets: string; batch: string; absNorm: boolean; restart?: boolean }) =>
    run(async () => {
      const spec: ReferenceSpec = { layers: flags.layers.split(',').map((s) => s.trim()).filter(Boolean), k: int('--k', flags.k, 1, MAX_K), composite: flags.composite, targets: flags.targets as ReferenceSpec['targets'], absNorm: flags.absNorm };
      const batch = int('--batch', flags.batch, 1, 1024);
      const model = await readModel(modelPath);
      const ds = await loadDataset(dataPath, dataOptions(flags));
      const bar = new ProgressBar('references', ds.shape[0]!);
      const t0 = performance.now();
      const file = await buildReferences({ model, modelName: modelPath, source: sourceOf(ds), datasetName: dataPath, spec, path: flags.out, restart: flags.restart, batch, onProgress: (d) => bar.update(d) });
      const s = ((performance.now() - t0) / 1000).toFixed(1);
      process.stdout.write(`wrote ${flags.out}: ${file.processed} samples, ${spec.layers.length} layer(s), top ${spec.k} per channel (${s} s)\n`);
      return 0;
    }),
  );

  withData(
    concepts
      .command('atlas')
      .description("a class's concept atlas: the channels most relevant to it over the dataset, with mean relevance and reference samples; --compare a second class")
      .argument('<references>', 'references JSON from `xsys concepts build`')
      .requiredOption('-l, --layer <tensor>', 'layer')
      .requiredOption('--class <c>', 'class')
      .option('--compare <c2>', 'compare with this class')
      .option('-n, --top <n>', 'concepts', '8')
      .option('--refs <n>', 'reference samples per concept', '4')
      .option('-m, --model <file>', 'the model (with --dataset: cropped reference images)')
      .option('-d, --dataset <path>', 'the dataset the references were built on')
      .option('--threshold <t>', 'crop threshold', '0.1')
      .option('-o, --out <dir>', 'output directory', 'xsys-atlas'),
  ).action((refsPath: string, flags: DataFlags & { layer: string; class: string; compare?: string; top: string; refs: string; model?: string; dataset?: string; threshold: string; out: string }) =>
    run(async () => {
      const cls = int('--class', flags.class, 0, 1e6);
      const top = int('--top', flags.top, 1, 256);
      const nRefs = int('--refs', flags.refs, 0, MAX_K);
      if (!!flags.model !== !!flags.dataset) throw new InvalidArgumentError('--model/--dataset', 'give both for cropped reference images, or neither');
      let ds: Dataset | undefined;
      let crp: CrpExplainer | undefined;
      const expect: { modelSha256?: string; datasetSha256?: string } = {};
      if (flags.model && flags.dataset) {
        const model = await readModel(flags.model);
        ds = await loadDataset(flags.dataset, dataOptions(flags));
        crp = await CrpExplainer.load(model);
        expect.modelSha256 = sha256Of(serializeModel(model));
        expect.datasetSha256 = sourceFingerprint(sourceOf(ds));
      }
      const { file, state } = await loadReferences(refsPath, expect);
      const atlas = classAtlas(state, flags.layer, cls, { top, refs: nRefs });
      await mkdir(flags.out, { recursive: true });
      const concepts = [];
      for (const c of atlas.concepts) {
        const refs = ds && crp ? await writeCrops(flags.out, ds, crp, flags.layer, c.channel, state, 'relevance', nRefs, Number(flags.threshold), file.provenance.spec.composite, cls) : c.references;
        concepts.push({ channel: c.channel, meanRelevance: c.meanRelevance, references: refs });
      }
      const comparison = flags.compare !== undefined ? compareAtlases(state, flags.layer, cls, int('--compare', flags.compare, 0, 1e6), { top }) : undefined;
      const json = { references: refsPath, layer: flags.layer, class: cls, samples: atlas.samples, concepts, ...(comparison ? { comparison: { ...comparison, differences: comparison.differences.slice(0, top) } } : {}) };
      await writeFile(join(flags.out, 'atlas.json'), JSON.stringify(json, null, 2) + '\n');
      process.stdout.write(`class ${cls} (${atlas.samples} samples): top concepts of ${flags.layer}\n`);
      for (const c of concepts) process.stdout.write(`  channel ${String(c.channel).padStart(4)}  mean relevance ${c.meanRelevance.toPrecision(4)}  references ${c.references.map((r) => r.index).join(', ')}\n`);
      if (comparison) process.stdout.write(`shared with class ${comparison.b}: ${comparison.shared.join(', ') || 'none'}; only ${cls}: ${comparison.onlyA.join(', ') || 'none'}; only ${comparison.b}: ${comparison.onlyB.join(', ') || 'none'}\n`);
      process.stdout.write(`wrote ${join(flags.out, 'atlas.json')}\n`);
      return 0;
    }),
  );
}
