/**
 * `xsys localise` and `xsys correct` (Reveal to Revise): localise an artefact from its CAV — CAV-conditioned input
 * relevance, masks and a dataset ranked by artefact score — and write a corrected model with P-ClArC or reactive
 * ClArC inserted after a layer as ONNX nodes (src/correction/, src/weight-surgery/clarc.ts).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../errors.js';
import { cavRelevance, fitArtefactCav, rankByArtefact, relevanceMasks } from '../correction/localise.js';
import { cavFile, correctModel, readCavFile, type CavFile } from '../correction/correct.js';
import { ModelExplainer } from '../methods/explainer.js';
import { readModel } from '../onnx/file.js';
import { serializeModel } from '../onnx/model.js';
import { writePng } from '../render/png.js';
import { heatmapStrip } from '../render/strategy-images.js';
import { createSession } from '../runtime/session.js';
import { CAV_METHODS, type CavMethod } from '../strategies/cav.js';
import type { LayerReduce } from '../strategies/features.js';
import { CLARC_MODES, type ClarcMode } from '../weight-surgery/clarc.js';
import { lowestChannels, PRUNE_CRITERIA, type PruneCriterion } from '../correction/prune.js';
import { DEFAULT_GRIDS, parseGrid, PRUNE_GRANULARITIES, pruneUnits, selectLayers, tuneComposite, unitMagnitudes, unitRelevance, type PruneGranularity, type TuningReport } from '../correction/prune-units.js';
import type { Target } from '../methods/types.js';
import type { Tensor } from '../runtime/tensor.js';
import { choice, dataOptions, int, loadData, modelId, num, tensorOf, writeJson, type DataFlags } from './strategies-command.js';

type Run = (fn: () => Promise<number>) => Promise<void>;

/** Per-sample dims of a layer, from one forward run on zeros shaped like the model's input (batch 1). */
export async function layerDims(mx: ModelExplainer, layer: string): Promise<number[]> {
  const shape = (mx.inputShape ?? []).map((d, i) => (i === 0 ? 1 : typeof d === 'number' && d > 0 ? d : undefined));
  if (shape.length === 0 || shape.some((d) => d === undefined)) throw new InvalidArgumentError('--layer', `the input '${mx.inputName}' has no fixed shape, so the dims of '${layer}' cannot be found`, 'use a CAV file that records "dims" (xsys localise writes them)');
  const dims = shape as number[];
  const t = await mx.forwardTensor({ data: new Float32Array(dims.reduce((a, b) => a * b, 1)), dims }, layer);
  return t.dims.slice(1);
}

function checkLayer(cav: CavFile, layer: string | undefined, file: string): string {
  if (layer !== undefined && layer !== cav.layer) throw new InvalidArgumentError('--layer', `'${layer}' differs from the layer the CAV in ${file} was trained at ('${cav.layer}')`, 'a CAV only means something at its own layer; omit --layer or train a CAV there');
  return cav.layer;
}

export function registerCorrect(program: Command, run: Run): void {
  dataOptions(
    program
      .command('localise')
      .description("localise an artefact: its CAV at a layer (trained from --concept vs --clean inputs, or read with --cav), each sample's CAV-conditioned input relevance (LRP from R = a ⊙ v at the layer), masks, and the samples ranked by artefact score vᵀa; writes cav.json, localise.json, top.png and masks.png")
      .argument('<model>', 'ONNX classifier')
      .argument('<data>', 'inputs to localise the artefact in and rank (.npy, IDX or image folder)')
      .option('--layer <tensor>', 'layer of the CAV (see xsys concepts layers); required with --concept')
      .option('--cav <file>', 'a CAV file (cav.json of xsys localise, or tcav.json of xsys tcav)')
      .option('--concept <data>', 'inputs showing the artefact (train the CAV)')
      .option('--clean <data>', 'clean inputs (the CAV\'s counterexamples)')
      .option('--cav-method <method>', `CAV: ${CAV_METHODS.join(', ')}`, 'pattern')
      .option('--reduce <flatten|channels>', 'CAV over the flattened layer, or over channel sums', 'flatten')
      .option('-c, --composite <name>', 'LRP composite of the backward pass from the layer')
      .option('--mask-threshold <t>', 'a mask keeps relevance above t × the sample\'s maximum', '0.3')
      .option('--top <n>', 'samples shown in top.png / masks.png', '16')
      .option('-o, --out <dir>', 'output directory', 'xsys-localise'),
  ).action((model: string, data: string, flags: DataFlags & { layer?: string; cav?: string; concept?: string; clean?: string; cavMethod: string; reduce: string; composite?: string; maskThreshold: string; top: string; out: string }) =>
    run(async () => {
      const maskThreshold = num('--mask-threshold', flags.maskThreshold, 1e-6, 1)!;
      const top = int('--top', flags.top, 1, 256)!;
      const mx = await ModelExplainer.load(model);
      let cav: CavFile;
      if (flags.cav) {
        if (flags.concept || flags.clean) throw new InvalidArgumentError('--cav', 'give either a CAV file or --concept and --clean inputs to train one, not both');
        cav = await readCavFile(flags.cav);
        checkLayer(cav, flags.layer, flags.cav);
      } else {
        if (!flags.concept || !flags.clean) throw new InvalidArgumentError(flags.concept ? '--clean' : '--concept', 'missing: without --cav, the CAV is trained from --concept (inputs with the artefact) and --clean inputs');
        if (!flags.layer) throw new InvalidArgumentError('--layer', 'missing: the layer to train the CAV at', 'list layers with `xsys concepts layers <model>`');
        const method = choice('--cav-method', flags.cavMethod, CAV_METHODS) as CavMethod;
        const reduce = choice('--reduce', flags.reduce, ['flatten', 'channels'] as const) as LayerReduce;
        const plain = { ...flags, labels: undefined, limit: undefined, offset: undefined };
        const [concept, clean] = await Promise.all([loadData(flags.concept, plain), loadData(flags.clean, plain)]);
        await layerDims(mx, flags.layer);
        cav = cavFile(await fitArtefactCav(mx, tensorOf(concept), tensorOf(clean), flags.layer, { method, reduce }), await modelId(model));
      }
      const ds = await loadData(data, flags);
      const rel = await cavRelevance(mx.model, tensorOf(ds), cav.layer, cav.direction, { composite: flags.composite });
      const n = ds.shape[0]!;
      const masks = relevanceMasks(rel.heatmaps, n, maskThreshold);
      const ranking = rankByArtefact(rel.scores);
      const [h, w] = rel.heatmapDims;
      const hw = h * w;
      await mkdir(flags.out, { recursive: true });
      const files = [await writeJson(flags.out, 'cav.json', cav)];
      files.push(
        await writeJson(flags.out, 'localise.json', {
          model,
          data,
          layer: cav.layer,
          maskThreshold,
          ...(cav.threshold !== undefined ? { artefactThreshold: cav.threshold } : {}),
          ranking: ranking.map((i) => ({
            index: i,
            score: rel.scores[i],
            ...(ds.labels ? { label: ds.labels[i] } : {}),
            maskArea: masks.subarray(i * hw, (i + 1) * hw).reduce((a, b) => a + b, 0) / hw,
            ...(cav.threshold !== undefined ? { artefact: rel.scores[i]! > cav.threshold } : {}),
          })),
        }),
      );
      const shown = ranking.slice(0, top);
      await writePng(join(flags.out, 'top.png'), heatmapStrip(shown.map((i) => rel.heatmaps.subarray(i * hw, (i + 1) * hw)), h, w), 4);
      await writePng(join(flags.out, 'masks.png'), heatmapStrip(shown.map((i) => Float32Array.from(masks.subarray(i * hw, (i + 1) * hw))), h, w), 4);
      files.push(join(flags.out, 'top.png'), join(flags.out, 'masks.png'));
      const flagged = cav.threshold !== undefined ? rel.scores.filter((s) => s > cav.threshold!).length : undefined;
      process.stdout.write(`layer ${cav.layer}: artefact scores ${Math.min(...rel.scores).toFixed(3)} … ${Math.max(...rel.scores).toFixed(3)}${flagged !== undefined ? `; ${flagged} of ${n} samples above the CAV's threshold ${cav.threshold!.toFixed(3)}` : ''}; highest: ${ranking.slice(0, 5).map((i) => `#${i} (${rel.scores[i]!.toFixed(2)})`).join(', ')}\n`);
      process.stdout.write(`wrote ${files.join(', ')}\n`);
      return 0;
    }),
  );

  program
    .command('correct')
    .description("correct a model without retraining: P-ClArC (project a layer's activations onto the complement of an artefact's CAV, or shift them to the clean mean along it) or reactive ClArC (only when the artefact score exceeds a threshold), inserted as ONNX nodes after the layer; the written model is checked with ONNX Runtime's loader")
    .argument('<model>', 'ONNX model')
    .requiredOption('--cav <file>', 'the artefact CAV: cav.json of xsys localise (or tcav.json of xsys tcav)')
    .option('--layer <tensor>', "the layer to correct (must be the CAV's layer; default: the CAV's)")
    .option('--mode <mode>', `${CLARC_MODES.join(' | ')}: r = 0, or r = the clean mean along the CAV`, 'mean-shift')
    .option('--reactive', "apply only to inputs whose artefact score vᵀa exceeds --threshold (default: the CAV file's threshold)")
    .option('--threshold <t>', 'reactive threshold on vᵀa')
    .option('--reference <r>', "mean-shift target (default: the CAV file's cleanProjection)")
    .requiredOption('-o, --output <file>', 'where to write the corrected .onnx')
    .action((model: string, flags: { cav: string; layer?: string; mode: string; reactive?: boolean; threshold?: string; reference?: string; output: string }) =>
      run(async () => {
        const mode = choice('--mode', flags.mode, CLARC_MODES) as ClarcMode;
        const cav = await readCavFile(flags.cav);
        const layer = checkLayer(cav, flags.layer, flags.cav);
        if (flags.threshold !== undefined && !flags.reactive) throw new InvalidArgumentError('--threshold', 'applies to reactive ClArC only', 'add --reactive');
        const threshold = flags.reactive ? (num('--threshold', flags.threshold, -1e12, 1e12) ?? cav.threshold) : undefined;
        if (flags.reactive && threshold === undefined) throw new InvalidArgumentError('--threshold', `missing: ${flags.cav} records no threshold`, 'pass --threshold, or use a CAV file written by xsys localise');
        const reference = num('--reference', flags.reference, -1e12, 1e12);
        const proto = await readModel(model);
        const mx = await ModelExplainer.load(proto);
        const dims = await layerDims(mx, layer);
        if (cav.dims && cav.dims.join(',') !== dims.join(',')) throw new InvalidArgumentError('--cav', `was trained on a layer of dims ${cav.dims.join('×')}; '${layer}' in ${model} has ${dims.join('×')}`, 'is the CAV from another model?');
        const ins = correctModel(proto, cav, dims, { mode, threshold, reference });
        const bytes = serializeModel(ins.model);
        // What ONNX Runtime's loader says is the proof the file runs: a session is created before anything is written.
        await createSession(bytes);
        await writeFile(flags.output, bytes);
        process.stdout.write(`${flags.reactive ? 'reactive ' : ''}ClArC (${mode}) after ${layer}: ${ins.nodes.length} nodes added; consumers now read '${ins.corrected}'${threshold !== undefined ? `; applied where vᵀa > ${threshold.toFixed(4)}` : ''}\nwrote ${flags.output}\n`);
        return 0;
      }),
    );

  dataOptions(
    program
      .command('prune')
      .description("structured pruning by explaining: remove the least important units — convolution output channels, attention heads or MLP neurons (--granularity) — ranked by LRP relevance aggregated over reference inputs (pruning by explaining) or by weight magnitude (L1), or the units named with --units; the graph is rewritten into a smaller ONNX model (checked with ONNX Runtime's loader). --tune picks the composite that keeps the pruned model most accurate on a validation split (Hatefi et al.). Heads: attention exported from separate q/k/v Linears with view(b, t, heads, head_dim) (nn.MultiheadAttention's packed in-projection is refused); neurons: Linear → element-wise ops → Linear")
      .argument('<model>', 'ONNX model (CNN for channels, transformer for heads and neurons)')
      .argument('[reference-data]', 'inputs whose relevance ranks the units (--criterion relevance); labels give the targets, else the prediction')
      .option('--granularity <unit>', `${PRUNE_GRANULARITIES.join(' | ')}`, 'channels')
      .option('--criterion <name>', `${PRUNE_CRITERIA.join(' | ')}`, 'relevance')
      .option('--fraction <f>', 'share of the units of every pruned layer to remove (lowest first)')
      .option('--layers <names>', 'comma-separated layers to prune — Conv nodes/outputs, attention output projections or attention outputs, MLP first Linears or hidden tensors (default: all of the granularity)')
      .option('--units <spec>', "remove exactly these units: 'layer:1,5;layer2:3' (layer as in --layers, then unit indices)")
      .option('--channels <spec>', 'the same as --units, for channels')
      .option('-c, --composite <name>', 'LRP composite of the relevance criterion (default: attnlrp for heads and neurons, epsilon-plus-flat for channels)')
      .option('--tune', 'tune the composite for pruning: prune with every composite of --grid at --fraction, keep the one whose pruned model is most accurate on the validation split')
      .option('--grid <spec>', `composites to try with --tune, ';'-separated, each name or name(k=v,…); dense-gamma=γ puts the Gamma rule on dense/conv layers (default for heads/neurons: '${DEFAULT_GRIDS.transformer}'; for channels: '${DEFAULT_GRIDS.cnn}')`)
      .option('--validation <data>', 'labelled inputs that score the --tune candidates (default: the second half of the reference data, which then needs labels)')
      .option('--validation-labels <file>', 'labels of --validation (.npy, IDX or JSON), if not found beside it')
      .option('--report <file>', 'write what was pruned, and the tuning grid with its accuracies, as JSON')
      .requiredOption('-o, --output <file>', 'where to write the pruned .onnx'),
  ).action((model: string, reference: string | undefined, flags: DataFlags & { granularity: string; criterion: string; fraction?: string; layers?: string; units?: string; channels?: string; composite?: string; tune?: boolean; grid?: string; validation?: string; validationLabels?: string; report?: string; output: string }) =>
    run(async () => {
      const proto = await readModel(model);
      const granularity = choice('--granularity', flags.granularity, PRUNE_GRANULARITIES) as PruneGranularity;
      if (flags.channels !== undefined && granularity !== 'channels') throw new InvalidArgumentError('--channels', `names channels, but --granularity is ${granularity}`, 'use --units');
      if (flags.channels !== undefined && flags.units !== undefined) throw new InvalidArgumentError('--units', 'give either --units or --channels, not both');
      const spec = flags.units ?? flags.channels;
      let remove: Record<string, number[]>;
      let summary: string;
      let tuning: TuningReport | undefined;
      if (spec !== undefined) {
        if (flags.fraction !== undefined || flags.tune) throw new InvalidArgumentError(flags.units !== undefined ? '--units' : '--channels', `give either the units to remove or --fraction${flags.tune ? ' with --tune' : ''}, not both`);
        remove = {};
        for (const part of spec.split(';').filter(Boolean)) {
          const at = part.lastIndexOf(':');
          const units = at < 0 ? [] : part.slice(at + 1).split(',').map((c) => Number(c));
          if (at < 1 || units.length === 0 || units.some((c) => !Number.isInteger(c) || c < 0)) throw new InvalidArgumentError(flags.units !== undefined ? '--units' : '--channels', `'${part}' is not 'layer:${flags.units !== undefined ? 'u' : 'c'}1,${flags.units !== undefined ? 'u' : 'c'}2,…'`);
          remove[part.slice(0, at)] = units;
        }
        summary = `named ${granularity}`;
      } else {
        const fraction = num('--fraction', flags.fraction, 0, 0.99);
        if (fraction === undefined) throw new InvalidArgumentError('--fraction', "missing: the share of each layer's units to remove (or name them with --units)");
        const criterion = choice('--criterion', flags.criterion, PRUNE_CRITERIA) as PruneCriterion;
        const layers = selectLayers(proto, granularity, flags.layers ? flags.layers.split(',').map((l) => l.trim()) : undefined);
        let scores: Record<string, ArrayLike<number>>;
        if (flags.tune && criterion !== 'relevance') throw new InvalidArgumentError('--tune', 'tunes the composite of the relevance criterion', 'drop --criterion magnitude');
        if (flags.tune && flags.composite) throw new InvalidArgumentError('--tune', 'picks the composite itself', 'list the candidates with --grid instead of --composite');
        if (flags.grid !== undefined && !flags.tune) throw new InvalidArgumentError('--grid', 'applies to --tune only', 'add --tune');
        if (criterion === 'relevance') {
          if (!reference) throw new InvalidArgumentError('reference-data', 'missing: the relevance criterion aggregates LRP relevance over reference inputs', 'pass a dataset, or use --criterion magnitude');
          const ds = await loadData(reference, flags);
          const n = ds.shape[0]!;
          if (flags.tune) {
            const grid = parseGrid(flags.grid ?? (granularity === 'channels' ? DEFAULT_GRIDS.cnn : DEFAULT_GRIDS.transformer));
            let ref = { inputs: tensorOf(ds), target: (ds.labels ? Array.from(ds.labels) : 'pred') as Target };
            let val: { inputs: Tensor; labels: number[] };
            if (flags.validation) {
              const vs = await loadData(flags.validation, { ...flags, labels: flags.validationLabels, limit: undefined, offset: undefined });
              if (!vs.labels) throw new InvalidArgumentError('--validation', `${flags.validation} has no labels`, 'pass --validation-labels');
              val = { inputs: tensorOf(vs), labels: Array.from(vs.labels) };
            } else {
              if (!ds.labels) throw new InvalidArgumentError('--tune', 'needs labelled validation inputs: --validation, or labels for the reference data (its second half validates)');
              if (n < 2) throw new InvalidArgumentError('reference-data', 'has one sample: nothing to split off for validation', 'pass --validation');
              const half = Math.floor(n / 2);
              const idx = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
              ref = { inputs: tensorOf(ds, idx(0, half)), target: Array.from(ds.labels).slice(0, half) };
              val = { inputs: tensorOf(ds, idx(half, n)), labels: Array.from(ds.labels).slice(half) };
            }
            const t = await tuneComposite(proto, granularity, layers, grid, fraction, ref, val);
            tuning = t.report;
            scores = t.scores;
            for (const g of tuning.grid) process.stdout.write(`tune ${g.label.padEnd(40)} validation accuracy ${(100 * g.accuracy).toFixed(2)} %${g.label === tuning.chosen ? '  ← chosen' : ''}\n`);
            process.stdout.write(`tune magnitude (L1)${' '.repeat(24)}validation accuracy ${(100 * tuning.magnitude.accuracy).toFixed(2)} %; unpruned ${(100 * tuning.unprunedAccuracy).toFixed(2)} %\n`);
            summary = `relevance (${tuning.chosen}, tuned on ${tuning.validationSamples} validation inputs) over ${tuning.referenceSamples} inputs`;
          } else {
            const mx = await ModelExplainer.load(proto);
            scores = await unitRelevance(mx, tensorOf(ds), layers, granularity, ds.labels ? Array.from(ds.labels) : 'pred', { composite: flags.composite });
            summary = `relevance over ${n} inputs`;
          }
        } else {
          scores = unitMagnitudes(proto, granularity, layers);
          summary = `${granularity === 'channels' ? 'filter' : 'weight'} magnitude (L1)`;
        }
        remove = lowestChannels(scores, fraction);
      }
      const r = pruneUnits(proto, granularity, remove);
      const bytes = serializeModel(r.model);
      await createSession(bytes);
      await writeFile(flags.output, bytes);
      const unit = granularity === 'channels' ? 'channels' : granularity;
      for (const l of r.layers) process.stdout.write(`${l.node}: removed ${l.removed.length} of ${l.removed.length + l.kept.length} ${unit} [${l.removed.join(', ')}]\n`);
      process.stdout.write(`${summary}: ${r.parametersBefore} → ${r.parametersAfter} parameters (${(100 * (1 - r.parametersAfter / r.parametersBefore)).toFixed(1)} % removed)\nwrote ${flags.output}\n`);
      if (flags.report) {
        await writeFile(flags.report, JSON.stringify({ model, output: flags.output, granularity, summary, layers: r.layers.map((l) => ({ node: l.node, removed: l.removed, kept: l.kept.length })), parametersBefore: r.parametersBefore, parametersAfter: r.parametersAfter, ...(tuning ? { tuning } : {}) }, null, 2) + '\n');
        process.stdout.write(`wrote ${flags.report}\n`);
      }
      return 0;
    }),
  );
}
