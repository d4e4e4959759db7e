/**
 * `xsys lens …`: SemanticLens on the command line — embed a model's components (from concept reference samples) in a
 * foundation model's space, search them by text or image, label them from a vocabulary, audit a class against valid
 * and spurious concepts, split a component with PURE, and steer components into a corrected model. Every command
 * writes JSON (and PNG strips of reference samples where there are pictures).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { readModel } from '../onnx/file.js';
import { serializeModel } from '../onnx/model.js';
import { loadDataset, type Dataset } from '../data/dataset.js';
import { CrpExplainer } from '../concepts/crp.js';
import { loadReferences, sha256Of, sourceFingerprint } from '../concepts/store.js';
import { REFERENCE_STATS, type Box, type ReferenceStat } from '../concepts/atlas.js';
import { writePng } from '../render/png.js';
import sharp from 'sharp';
import type { RasterImage } from '../render/heatmap.js';
import { FileFormatError, InvalidArgumentError } from '../errors.js';
import { FoundationModel } from '../lens/foundation.js';
import { embedComponents, findComponent, readLensIndex, redundancy, writeLensIndex, MAX_LENS_SAMPLES, type LensIndex } from '../lens/embed.js';
import { imageSearch, labelsFor, spaceFor, textSearch } from '../lens/query.js';
import { MAX_SEARCH_TOP } from '../lens/search.js';
import { auditClass } from '../lens/audit.js';
import { pure } from '../lens/pure.js';
import { steerModel } from '../lens/steer.js';
import { referenceStrip } from '../lens/strip.js';
import { dataOptions, int, picture, sourceOf, withData, type DataFlags } from './concepts-command.js';
import { parseNumberList } from './options.js';
import { ProgressBar } from './progress.js';

type Run = (fn: () => Promise<number>) => Promise<void>;

const list = (v: string | undefined): string[] => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);

function num(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(flag, `must be a number, got '${v}'`);
  return n;
}

function stat(v: string): ReferenceStat {
  if (!(REFERENCE_STATS as readonly string[]).includes(v)) throw new InvalidArgumentError('--stat', `must be one of ${REFERENCE_STATS.join(', ')}`);
  return v as ReferenceStat;
}

function box(v: string | undefined): Box | undefined {
  const b = parseNumberList('--box', v);
  if (!b) return undefined;
  if (b.length !== 4 || !b.every(Number.isInteger)) throw new InvalidArgumentError('--box', 'must be y0,x0,y1,x1 (integers, end exclusive)');
  return b as Box;
}

async function stripPng(path: string, ds: Dataset, samples: readonly { index: number; box?: Box }[]): Promise<void> {
  await writePng(path, referenceStrip(samples.map((s) => ({ image: picture(ds, s.index), box: s.box }))), 3);
}

/** An image file as 8-bit RGB pixels (the foundation model's preprocessing converts and resizes it). */
async function readPicture(path: string): Promise<RasterImage> {
  try {
    const { data, info } = await sharp(path, { failOn: 'error' }).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    return { data: new Uint8Array(data), width: info.width, height: info.height, channels: 3 };
  } catch (e) {
    throw new FileFormatError(path, `cannot decode image: ${(e as Error).message}`);
  }
}

/** The lens index, the foundation model it was built with, and the space with its neutral baseline. */
async function openLens(lensPath: string, foundationPath: string) {
  const index = await readLensIndex(lensPath);
  const foundation = await FoundationModel.load(foundationPath);
  return { index, foundation, space: await spaceFor(index, foundation) };
}

function componentSamples(index: LensIndex, h: { layer: string; channel: number }) {
  return findComponent(index, h.layer, h.channel).samples;
}

export function registerLens(program: Command, run: Run): void {
  const lens = program.command('lens').description("SemanticLens: components in a foundation model's embedding space — search, labels, audits, PURE, steering");

  withData(
    lens
      .command('embed')
      .description('embed every channel of the layers: the mean foundation-model embedding of its top reference samples, cropped to the concept; with clarity, polysemanticity hint and redundancy')
      .argument('<model>', 'ONNX model file')
      .argument('<dataset>', 'the dataset the references were built on')
      .requiredOption('-r, --references <file>', 'reference samples (xsys concepts build)')
      .requiredOption('-f, --foundation <file>', 'foundation.json (image encoder, optional text encoder and tokenizer)')
      .option('-l, --layers <tensors>', 'comma-separated layers (default: every layer of the references)')
      .option('-n, --samples <n>', `reference samples per component (≤ ${MAX_LENS_SAMPLES})`, '16')
      .option('--stat <stat>', `reference statistic: ${REFERENCE_STATS.join(', ')}`, 'relevance')
      .option('--threshold <t>', 'crop to where the conditional relevance exceeds t × its maximum', '0.1')
      .requiredOption('-o, --out <file>', 'lens index JSON'),
  ).action((modelPath: string, dataPath: string, flags: DataFlags & { references: string; foundation: string; layers?: string; samples: string; stat: string; threshold: string; out: string }) =>
    run(async () => {
      const model = await readModel(modelPath);
      const ds = await loadDataset(dataPath, dataOptions(flags));
      const source = sourceOf(ds);
      const { file, state } = await loadReferences(flags.references, { modelSha256: sha256Of(serializeModel(model)), datasetSha256: sourceFingerprint(source) });
      const foundation = await FoundationModel.load(flags.foundation);
      const layers = flags.layers ? list(flags.layers) : file.provenance.spec.layers;
      const spec = { layers, samples: int('--samples', flags.samples, 2, MAX_LENS_SAMPLES), stat: stat(flags.stat), threshold: num('--threshold', flags.threshold) };
      const crp = await CrpExplainer.load(model);
      const total = layers.reduce((a, l) => a + (state.layers[l]?.channels ?? 0), 0);
      const bar = new ProgressBar('components', total);
      const t0 = performance.now();
      const index = await embedComponents({ crp, source, picture: (i) => picture(ds, i), state, references: file.provenance, foundation, spec, onProgress: (d) => bar.update(d) });
      await writeLensIndex(flags.out, index);
      const s = ((performance.now() - t0) / 1000).toFixed(1);
      const r = redundancy(index);
      const poly = index.components.filter((c) => c.polysemanticity.clusters > 1).length;
      process.stdout.write(`wrote ${flags.out}: ${index.components.length} components embedded with '${foundation.spec.name}' (${index.skipped.length} dead units skipped) in ${s} s\n`);
      process.stdout.write(`  mean clarity ${(index.components.reduce((a, c) => a + c.clarity, 0) / Math.max(1, index.components.length)).toFixed(3)}; ${poly} possibly polysemantic; ${r.groups.length} groups of near-duplicates\n`);
      return 0;
    }),
  );

  withData(
    lens
      .command('search')
      .description('rank components by cosine to a text (calibrated against neutral prompts) or to an image region')
      .argument('<lens>', 'lens index (xsys lens embed)')
      .requiredOption('-f, --foundation <file>', 'the foundation.json the index was embedded with')
      .option('-t, --text <query>', 'text query')
      .option('-i, --image <file>', 'image query (a picture file, loaded with the dataset flags)')
      .option('--box <y0,x0,y1,x1>', 'only this region of the image')
      .option('-n, --top <n>', 'components returned', '10')
      .option('-l, --layers <tensors>', 'only these layers')
      .option('--rank-by <cosine|calibrated>', 'ranking of text queries', 'cosine')
      .option('-d, --dataset <path>', 'the reference dataset (with --out: PNG strips of each hit)')
      .option('-o, --out <dir>', 'write search.json (and hit-<rank>.png with --dataset)')
      .option('--json', 'print JSON'),
  ).action((lensPath: string, flags: DataFlags & { foundation: string; text?: string; image?: string; box?: string; top: string; layers?: string; rankBy: string; dataset?: string; out?: string; json?: boolean }) =>
    run(async () => {
      if (!!flags.text === !!flags.image) throw new InvalidArgumentError('--text/--image', 'give exactly one query: --text or --image');
      if (flags.rankBy !== 'cosine' && flags.rankBy !== 'calibrated') throw new InvalidArgumentError('--rank-by', "must be 'cosine' or 'calibrated'");
      const { index, foundation, space } = await openLens(lensPath, flags.foundation);
      const options = { top: int('--top', flags.top, 1, MAX_SEARCH_TOP), layers: flags.layers ? list(flags.layers) : undefined, rankBy: flags.rankBy as 'cosine' | 'calibrated' };
      let hits;
      if (flags.text) hits = await textSearch(space, foundation, flags.text, options);
      else {
        const img = await readPicture(flags.image!);
        hits = await imageSearch(space, foundation, img, box(flags.box), options);
      }
      const results = hits.map((h) => ({ ...h, samples: componentSamples(index, h).map((s) => ({ index: s.index, box: s.box })) }));
      const json = { query: flags.text ?? { image: flags.image, box: box(flags.box) ?? null }, foundation: foundation.spec.name, results };
      if (flags.out) {
        await mkdir(flags.out, { recursive: true });
        if (flags.dataset) {
          const ds = await loadDataset(flags.dataset, dataOptions(flags));
          for (const r of results) await stripPng(join(flags.out, `hit-${r.rank}.png`), ds, r.samples.slice(0, 8));
        }
        await writeFile(join(flags.out, 'search.json'), JSON.stringify(json, null, 2) + '\n');
      }
      if (flags.json) process.stdout.write(JSON.stringify(json, null, 2) + '\n');
      else for (const h of results) process.stdout.write(`${String(h.rank).padStart(3)}  ${h.layer} #${h.channel}  cos ${h.cosine.toFixed(3)}  calibrated ${h.calibrated.toFixed(3)}  clarity ${h.clarity.toFixed(2)}\n`);
      return 0;
    }),
  );

  lens
    .command('labels')
    .description('label every component with the best concept of a vocabulary (calibrated score, margin; unlabelled below the threshold)')
    .argument('<lens>', 'lens index')
    .requiredOption('-f, --foundation <file>', 'the foundation.json the index was embedded with')
    .option('-v, --vocabulary <list>', "comma-separated concepts (default: the foundation model's vocabulary)")
    .option('--threshold <t>', 'minimum calibrated score for a label', '0.1')
    .option('-o, --out <file>', 'labels JSON')
    .option('--json', 'print JSON')
    .action((lensPath: string, flags: { foundation: string; vocabulary?: string; threshold: string; out?: string; json?: boolean }) =>
      run(async () => {
        const { foundation, space } = await openLens(lensPath, flags.foundation);
        const vocabulary = flags.vocabulary ? list(flags.vocabulary) : (foundation.spec.vocabulary ?? []);
        const labels = await labelsFor(space, foundation, vocabulary, num('--threshold', flags.threshold));
        const json = { vocabulary, threshold: num('--threshold', flags.threshold), labels };
        if (flags.out) await writeFile(flags.out, JSON.stringify(json, null, 2) + '\n');
        if (flags.json) process.stdout.write(JSON.stringify(json, null, 2) + '\n');
        else for (const l of labels) process.stdout.write(`${l.layer} #${String(l.channel).padEnd(4)} ${(l.label ?? '(unlabelled)').padEnd(16)} score ${l.score.toFixed(3)}  margin ${l.margin.toFixed(3)}\n`);
        return 0;
      }),
    );

  lens
    .command('audit')
    .description("audit a class: the share of its relevance at a layer that flows through components labelled with valid (--should) and spurious (--should-not) concepts")
    .argument('<lens>', 'lens index')
    .requiredOption('-f, --foundation <file>', 'the foundation.json the index was embedded with')
    .requiredOption('-r, --references <file>', 'the reference samples the index was built from (per-class relevance)')
    .requiredOption('-l, --layer <tensor>', 'layer')
    .requiredOption('--class <c>', 'class audited')
    .option('--should <list>', 'comma-separated concepts the class should rely on', '')
    .option('--should-not <list>', 'comma-separated concepts it should not rely on', '')
    .option('--threshold <t>', 'label threshold (calibrated score)', '0.1')
    .option('-o, --out <file>', 'audit JSON')
    .option('--json', 'print JSON')
    .action((lensPath: string, flags: { foundation: string; references: string; layer: string; class: string; should: string; shouldNot: string; threshold: string; out?: string; json?: boolean }) =>
      run(async () => {
        const { index, foundation, space } = await openLens(lensPath, flags.foundation);
        const { state } = await loadReferences(flags.references, { modelSha256: index.provenance.model.sha256 });
        const should = list(flags.should);
        const shouldNot = list(flags.shouldNot);
        const labels = await labelsFor(space, foundation, [...should, ...shouldNot], num('--threshold', flags.threshold));
        const report = auditClass(state, labels, { layer: flags.layer, cls: int('--class', flags.class, 0, 1e6), should, shouldNot });
        if (flags.out) await writeFile(flags.out, JSON.stringify(report, null, 2) + '\n');
        if (flags.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
        else {
          process.stdout.write(`class ${report.cls} (${report.samples} samples), ${report.layer}: relevance ${report.total.toPrecision(4)}\n`);
          for (const g of report.groups) process.stdout.write(`  ${g.kind.padEnd(10)} ${g.concept.padEnd(18)} ${(100 * g.share).toFixed(1).padStart(6)} %  (${g.components.length} components)\n`);
          process.stdout.write(`valid ${(100 * report.validShare).toFixed(1)} %, spurious ${(100 * report.spuriousShare).toFixed(1)} %\n`);
        }
        return 0;
      }),
    );

  withData(
    lens
      .command('pure')
      .description("PURE: split a component into virtual components by clustering its circuits (relevance into a lower layer) on its top reference samples; reports whether the split is clearer")
      .argument('<model>', 'ONNX model file')
      .argument('<dataset>', 'the dataset the references were built on')
      .requiredOption('-r, --references <file>', 'reference samples (with both layers)')
      .requiredOption('-f, --foundation <file>', 'foundation.json')
      .requiredOption('-l, --layer <tensor>', "the component's layer")
      .requiredOption('-c, --channel <c>', 'the component')
      .requiredOption('--lower <tensor>', 'the lower layer whose channels make the circuits')
      .option('-n, --samples <n>', 'reference samples clustered', '16')
      .option('--stat <stat>', `reference statistic: ${REFERENCE_STATS.join(', ')}`, 'relevance')
      .option('-k, --k <k>', 'clusters (default: chosen by silhouette among 2…4)')
      .option('-o, --out <dir>', 'output directory (pure.json, cluster-<k>.png)', 'xsys-pure'),
  ).action((modelPath: string, dataPath: string, flags: DataFlags & { references: string; foundation: string; layer: string; channel: string; lower: string; samples: string; stat: string; k?: string; out: string }) =>
    run(async () => {
      const model = await readModel(modelPath);
      const ds = await loadDataset(dataPath, dataOptions(flags));
      const source = sourceOf(ds);
      const { file, state } = await loadReferences(flags.references, { modelSha256: sha256Of(serializeModel(model)), datasetSha256: sourceFingerprint(source) });
      const foundation = await FoundationModel.load(flags.foundation);
      const crp = await CrpExplainer.load(model);
      const r = await pure({ crp, source, picture: (i) => picture(ds, i), foundation, state, layer: flags.layer, channel: int('--channel', flags.channel, 0, 1e6), lower: flags.lower, samples: int('--samples', flags.samples, 4, MAX_LENS_SAMPLES), stat: stat(flags.stat), k: flags.k === undefined ? undefined : int('--k', flags.k, 1, MAX_LENS_SAMPLES), composite: file.provenance.spec.composite, targets: file.provenance.spec.targets });
      await mkdir(flags.out, { recursive: true });
      for (const c of r.clusters) await stripPng(join(flags.out, `cluster-${c.cluster}.png`), ds, c.members.slice(0, 8).map((i) => r.samples[i]!));
      await writeFile(join(flags.out, 'pure.json'), JSON.stringify(r, null, 2) + '\n');
      process.stdout.write(`${r.layer} #${r.channel}: ${r.k} clusters (silhouette ${r.silhouette.toFixed(3)}); clarity ${r.clarity.toFixed(3)} → ${r.splitClarity.toFixed(3)} after the split (${r.clearer ? 'clearer' : 'not clearer'})\n`);
      for (const c of r.clusters) process.stdout.write(`  cluster ${c.cluster}: ${c.size} samples, clarity ${c.clarity.toFixed(3)}, circuit ${c.circuit.map((x) => `#${x.channel}`).join(' ')}\n`);
      process.stdout.write(`wrote ${join(flags.out, 'pure.json')}\n`);
      return 0;
    }),
  );

  lens
    .command('steer')
    .description('suppress (factor 0) or amplify components — given, or found by a text search — compiled as a Mul node into a corrected model file')
    .argument('<model>', 'ONNX model file')
    .requiredOption('-l, --layer <tensor>', 'layer of the components')
    .option('-c, --channels <list>', 'comma-separated channels')
    .option('-t, --text <query>', 'steer the top components of a text search instead (needs --lens and --foundation)')
    .option('-n, --top <n>', 'components taken from the search', '5')
    .option('--lens <file>', 'lens index')
    .option('-f, --foundation <file>', 'foundation.json')
    .requiredOption('--factor <x>', 'multiplier of the activations (0 suppresses)')
    .requiredOption('-o, --out <file>', 'the steered model (.onnx)')
    .action((modelPath: string, flags: { layer: string; channels?: string; text?: string; top: string; lens?: string; foundation?: string; factor: string; out: string }) =>
      run(async () => {
        if (!!flags.channels === !!flags.text) throw new InvalidArgumentError('--channels/--text', 'give the channels, or a text whose top components to steer');
        let channels: number[];
        if (flags.text) {
          if (!flags.lens || !flags.foundation) throw new InvalidArgumentError('--lens/--foundation', 'a text search needs the lens index and its foundation model');
          const { foundation, space } = await openLens(flags.lens, flags.foundation);
          channels = (await textSearch(space, foundation, flags.text, { top: int('--top', flags.top, 1, MAX_SEARCH_TOP), layers: [flags.layer] })).map((h) => h.channel);
        } else channels = list(flags.channels).map((c) => int('--channels', c, 0, 1e7));
        const model = await readModel(modelPath);
        const steered = steerModel(model, [{ layer: flags.layer, channels, factor: num('--factor', flags.factor) }]);
        await writeFile(flags.out, serializeModel(steered));
        process.stdout.write(`wrote ${flags.out}: ${flags.layer} channels ${channels.join(', ')} × ${flags.factor}\n`);
        return 0;
      }),
    );
}
