import { conservation } from '../methods/conservation.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { Command } from 'commander';
import { ModelExplainer } from '../methods/explainer.js';
import { explainFeeds, type FeedsResult } from '../methods/explain.js';
import { FEEDS_METHODS, type FeedsMethod } from '../methods/multi-input.js';
import { ExplainSession } from '../methods/session.js';
import { nodeRuntime } from '../runtime/node.js';
import { getMethod, METHODS, METHOD_NAMES } from '../methods/registry.js';
import { CONDITIONS_SYNTAX } from '../methods/conditions.js';
import { formatRegion, parseRegion, REGION_SYNTAX } from '../compiler/region.js';
import { compositeDeclarations, DEFAULT_COMPOSITE } from '../composites/index.js';
import { describeParam } from '../param-spec.js';
import { COMPOSITE_NAMES } from '../composites/index.js';
import { toFloat32 } from '../io/npy.js';
import { readNpy, writeNpy } from '../io/npy-file.js';
import { isImagePath, loadImage } from '../io/image.js';
import { layoutFromShape, parseLayout, sampleToChw, toNhwc, type ImageLayout } from '../io/layout.js';
import { attributionToHeatmap, overlay, upscaleFactor, type RgbImage } from '../render/heatmap.js';
import { writePng } from '../render/png.js';
import { COLORMAP_NAMES } from '../render/colormaps.js';
import { InputDataError, InvalidArgumentError, UnsupportedModelError } from '../errors.js';
import type { Tensor } from '../runtime/tensor.js';
import { argMax, collect, parseNumberList, parseParams, parseTarget, parseThreads } from './options.js';
import { loadTextSamples, writeTextResult, type TextSample } from './text-explain.js';
import { cloneModel } from '../onnx/model.js';
import { readModel } from '../onnx/file.js';
import { precisionNote } from '../onnx/precision.js';
import { quantisationNote } from '../onnx/quantized.js';
import { Graph } from '../ir/graph.js';
import { declaredInputs } from '../runtime/feeds.js';
import { ProgressBar } from './progress.js';

interface ExplainFlags {
  method: string;
  composite: string;
  param?: string[];
  target?: string;
  out: string;
  size?: string;
  mean?: string;
  std?: string;
  grayscale?: boolean;
  bgr?: boolean;
  cmap: string;
  overlay?: boolean;
  layer?: string;
  conditions?: string;
  region?: string;
  threads?: string;
  json?: boolean;
  maxBatch?: string;
  input?: string[];
  text?: string;
  tokenizer?: string;
  position?: string;
  tokenInput?: string;
  layout?: string;
}

interface LoadedInput {
  name: string;
  tensor: Tensor;
  display?: RgbImage;
}

/** ONNX float types other than float32, by elem_type. */
const OTHER_FLOATS: Partial<Record<number, string>> = { 10: 'float16', 11: 'float64', 16: 'bfloat16' };

async function loadInputs(files: string[], flags: ExplainFlags, layout: ImageLayout | undefined): Promise<LoadedInput[]> {
  const size = parseNumberList('--size', flags.size);
  const out: LoadedInput[] = [];
  for (const f of files) {
    const stem = basename(f, extname(f));
    if (isImagePath(f)) {
      const img = await loadImage(f, {
        size: size ? (size.length === 1 ? size[0]! : [size[0]!, size[1]!]) : undefined,
        grayscale: flags.grayscale,
        mean: parseNumberList('--mean', flags.mean),
        std: parseNumberList('--std', flags.std),
        channelOrder: flags.bgr ? 'bgr' : 'rgb',
      });
      // The loader gives [1, C, H, W]; a channels-last model takes [1, H, W, C].
      out.push({ name: stem, tensor: layout === 'nhwc' ? toNhwc(img.tensor, img.shape) : { data: img.tensor, dims: [...img.shape] }, display: img.display });
    } else if (extname(f).toLowerCase() === '.npy') {
      const a = await readNpy(f);
      if (a.shape.length === 0) throw new InputDataError(`${f}: holds a single number (shape []), not a sample`, 'save the sample with its batch axis, e.g. shape [1, C, H, W] (numpy: x[None])');
      if (a.shape[0] === 0) throw new InputDataError(`${f}: holds a batch of 0 samples (shape [${a.shape.join(', ')}]); there is nothing to explain`, 'save at least one sample along the first axis');
      const data = toFloat32(a);
      // A .npy holds one sample or a batch: split batches so every sample gets its own heatmap.
      const n = a.shape[0] ?? 1;
      const per = data.length / n;
      for (let i = 0; i < n; i++) out.push({ name: n > 1 ? `${stem}-${i}` : stem, tensor: { data: data.slice(i * per, (i + 1) * per), dims: [1, ...a.shape.slice(1)] } });
    } else {
      throw new InvalidArgumentError(f, 'unsupported input file type', 'pass .npy arrays or images (png, jpg, webp …)');
    }
  }
  return out;
}

/** The methods and composites with their parameters, from their declarations (shown after `xsys explain --help`). */
export function methodsHelp(): string {
  const lines = ['', 'Methods (--method) and their parameters (--param k=v):'];
  for (const m of METHODS) {
    const where = [m.onePass ? 'one pass' : 'many runs', m.device ? 'also on the device' : '', m.tokenInputs ? 'token models too' : ''].filter(Boolean).join(', ');
    lines.push(`  ${m.name.padEnd(22)}${m.description} (${where})`);
    for (const p of m.params) lines.push(`      ${describeParam(p)}`);
    if (m.composite) lines.push('      the parameters of its composite (below)');
  }
  lines.push('', `Composites (--composite, methods ${METHODS.filter((m) => m.composite).map((m) => m.name).join(', ')}; default ${DEFAULT_COMPOSITE}):`);
  for (const c of compositeDeclarations()) {
    lines.push(`  ${c.name.padEnd(28)}${c.description}`);
    for (const p of c.params) lines.push(`      ${describeParam(p)}`);
  }
  return lines.join('\n') + '\n';
}

export function registerExplain(program: Command, run: (fn: () => Promise<number>) => Promise<void>): void {
  program
    .command('explain')
    .description('explain inputs (.npy or images) with a method; writes attributions (.npy), heatmaps (.png) and summary.json. Text models (token-id inputs): per-token relevance as .tokens.json, .html and a terminal rendering')
    .argument('<model>', 'ONNX model file')
    .argument('[inputs...]', '.npy files (one sample or a batch) or images; for text models, token ids (.npy or a JSON list)')
    .option('-m, --method <name>', `attribution method: ${METHOD_NAMES.join(', ')} (see below)`, 'lrp')
    .option('-c, --composite <name|file.json>', `LRP composite (lrp, crp): ${COMPOSITE_NAMES.join(', ')} (Zennit's exactly: zennit:<name>), or a JSON file (text models: attnlrp unless given)`, DEFAULT_COMPOSITE)
    .option('-p, --param <k=v>', 'composite/method parameter, repeatable (e.g. epsilon=1e-6, gamma=0.25, steps=32; see below)', collect)
    .option('-t, --target <class|pred>', "class index, comma-separated list (one per input) or 'pred'", 'pred')
    .option('-o, --out <dir>', 'output directory', 'xsys-out')
    .option('--size <h,w>', 'resize images to this size (one number: square)')
    .option('--mean <m[,m,m]>', 'per-channel mean subtracted after scaling pixels to [0,1]')
    .option('--std <s[,s,s]>', 'per-channel standard deviation divided by after the mean')
    .option('--grayscale', 'load images as one channel')
    .option('--bgr', 'feed images in BGR channel order')
    .option('--cmap <name>', `heatmap colour map: ${COLORMAP_NAMES.join(', ')}`, 'bwr')
    .option('--overlay', 'also write the heatmap blended over the image')
    .option('--layer <tensor>', 'grad-cam: layer to explain (default: input of the last GlobalAveragePool/Flatten)')
    .option('--conditions <spec>', `crp: the channels relevance flows through, ${CONDITIONS_SYNTAX}, e.g. conv2:3,5;conv1:7`)
    .option('--region <spec>', `segmentation/detection: explain the sum of the output over a region, ${REGION_SYNTAX}`)
    .option('--threads <n>', 'ONNX Runtime intra-op threads (default: all cores)')
    .option('--json', 'print the summary as JSON on stdout')
    .option('--layout <nchw|nhwc>', "image inputs: the model's tensor layout (default: read off its input shape, nhwc when it is [N, H, W, 1|3|4]); nhwc: channels last, as TensorFlow/Keras exports take images")
    .option('--max-batch <n>', 'inputs per ONNX Runtime run for methods that evaluate many (integrated-gradients, smoothgrad, occlusion); default 32, never more than a batch size the model fixes')
    .option('--input <name=file>', 'text models: a named model input (.npy or JSON list), repeatable, e.g. input_ids=ids.npy attention_mask=mask.npy', collect)
    .option('--text <text>', 'text models: text to tokenize with --tokenizer')
    .option('--tokenizer <tokenizer.json>', "text models: the model's Hugging Face tokenizer.json (loaded offline)")
    .option('--position <n>', 'sequence outputs [1, positions, classes] (generative models, CTC recognisers), any input type: explain the score of --target at this position (negative: from the end; --target pred: the arg-max at that position). Default: text models the last position; other models the flattened scores')
    .option('--token-input <name>', 'text models: the id input whose embedding gives per-token relevance (default: found from the graph)')
    .addHelpText('after', methodsHelp())
    .action((model: string, inputs: string[], flags: ExplainFlags, cmd: Command) =>
      run(async () => {
        const proto = await readModel(model);
        const declared = declaredInputs(new Graph(cloneModel(proto)).inputs);
        // A float input of another precision is not a token input: say what it is instead of looking for token ids.
        const otherFloat = declared.find((i) => OTHER_FLOATS[i.elemType]);
        if (otherFloat) {
          throw new UnsupportedModelError(
            `${model}: input '${otherFloat.name}' is ${OTHER_FLOATS[otherFloat.elemType]}; xsys explains models whose float inputs are float32`,
            'export the model with float32 inputs (PyTorch: model.float() and a float32 example input before torch.onnx.export), or put a Cast to float32 after a float32 input',
          );
        }
        // Text (token ids) and named-input models read their samples and write token relevance; the rest read images
        // or arrays and write heatmaps. Both explain through one ExplainSession with explainFeeds.
        // --position alone does not make a model a text model: image models with sequence outputs (CTC) take it too.
        const text = declared.some((i) => i.dtype !== 'float32') || !!flags.input || flags.text !== undefined || !!flags.tokenizer;
        if (text && !FEEDS_METHODS.includes(flags.method as FeedsMethod)) throw new InvalidArgumentError('--method', `method '${flags.method}' is not available for text models`, `use one of: ${FEEDS_METHODS.join(', ')}`);
        if (!text && !inputs.length) throw new InvalidArgumentError('inputs', 'nothing to explain', 'pass .npy files or images');
        const method = getMethod(flags.method);
        if (!text && !COLORMAP_NAMES.includes(flags.cmap as (typeof COLORMAP_NAMES)[number])) throw new InvalidArgumentError('--cmap', `unknown colour map '${flags.cmap}'`, `colour maps: ${COLORMAP_NAMES.join(', ')}`);
        // Text models default to AttnLRP unless a composite is given.
        const composite = method.composite ? (text && cmd.getOptionValueSource('composite') === 'default' ? 'attnlrp' : flags.composite) : undefined;
        const position = parsePosition(flags.position);
        // Image layout: --layout, else read off the float input's declared shape (tf2onnx exports take [N, H, W, C]).
        const layout = text ? undefined : parseLayout(flags.layout) ?? layoutFromShape(declared.find((i) => i.dtype === 'float32')?.shape);
        const params = text ? undefined : parseParams(flags.param);
        const target = text ? undefined : parseTarget(flags.target);
        const threads = parseThreads(flags.threads);
        const region = flags.region === undefined ? undefined : parseRegion(flags.region);
        const session = new ExplainSession(proto, nodeRuntime(threads));
        const single = text ? undefined : new ModelExplainer(session);
        const precision = text ? undefined : [precisionNote(proto), quantisationNote(proto)].filter(Boolean).join('; ') || undefined;
        if (precision && !flags.json) process.stderr.write(`note: the model was ${precision}\n`);
        const textSamples = text ? await loadTextSamples(session, inputs, flags) : undefined;
        const loaded: Sample[] = textSamples ? textSamples.samples : (await loadInputs(inputs, flags, layout)).map((l) => ({ ...l, feeds: { [single!.inputName]: l.tensor } }));
        if (Array.isArray(target) && target.length !== loaded.length) throw new InvalidArgumentError('--target', `${target.length} targets for ${loaded.length} inputs`);
        await mkdir(flags.out, { recursive: true });
        const textParams = text ? parseParams(flags.param) : undefined;
        const textTarget = text ? parseTarget(flags.target) : undefined;
        const bar = text ? undefined : new ProgressBar('explaining', loaded.length);
        const summary: Record<string, unknown>[] = [];
        for (const [i, item] of loaded.entries()) {
          const e = await explainFeeds(session, item.feeds, {
            method: method.name,
            composite,
            params: params ?? textParams,
            target: text ? (Array.isArray(textTarget) && textTarget.length === 1 ? textTarget[0]! : textTarget) : Array.isArray(target) ? target[i]! : target,
            layer: flags.layer,
            conditions: flags.conditions,
            ...(region ? { region } : {}),
            position,
            tokenInput: flags.tokenInput,
            multiInput: text,
            ...(flags.maxBatch !== undefined ? { maxBatch: positiveInt('--max-batch', flags.maxBatch) } : {}),
          });
          if (textSamples) summary.push(...(await writeTextResult(item as TextSample, e, textSamples.tokenizer, flags)));
          else summary.push(await writeHeatmaps(item as LoadedInput, e, flags, { precision, layout, output: session.outputNameOf() }));
          bar?.update(i + 1);
        }
        await writeFile(join(flags.out, 'summary.json'), JSON.stringify(summary, null, 2));
        if (flags.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
        else if (text) process.stdout.write(`wrote ${summary.length} result(s) and summary.json to ${flags.out}\n`);
        else {
          for (const s of summary) {
            process.stdout.write(`${s.input}: predicted ${s.prediction}, explained ${s.explained as string}, relevance sum ${(s.relevanceSum as number).toPrecision(4)}\n`);
            if (s.warning) process.stderr.write(`warning: ${s.input}: ${s.warning as string}\n`);
          }
          process.stdout.write(`wrote ${summary.length} attribution(s), heatmap(s) and summary.json to ${flags.out}\n`);
        }
        return 0;
      }),
    );
}

type Sample = TextSample | (LoadedInput & { feeds: Record<string, Tensor> });

/** One image or array sample's attribution (.npy), heatmap and overlay (.png); returns its summary record. */
async function writeHeatmaps(item: LoadedInput, e: FeedsResult, flags: ExplainFlags, info: { precision?: string; layout?: ImageLayout; output: string }): Promise<Record<string, unknown>> {
  const a = Object.values(e.attributions)[0]!;
  await writeNpy(join(flags.out, `${item.name}.npy`), a.data, a.dims);
  // Heatmaps need a picture: [C,H,W] or [H,W] per sample (a channels-last attribution is transposed to [C,H,W]
  // first). Vector inputs (MLPs) get the .npy and summary only.
  const plane = sampleToChw(a.data, a.dims.slice(1), info.layout);
  if (plane.dims.length === 2 || plane.dims.length === 3) {
    const heat = attributionToHeatmap(plane.data, plane.dims, { cmap: flags.cmap });
    await writePng(join(flags.out, `${item.name}.png`), heat, upscaleFactor(heat.width, heat.height));
    if (flags.overlay && item.display) await writePng(join(flags.out, `${item.name}-overlay.png`), overlay(item.display, heat, 0.6), upscaleFactor(item.display.width, item.display.height));
  }
  let sum = 0;
  for (const v of a.data) sum += v;
  const target = e.targets[0]!;
  // One sample per call: the explained score is the target's entry of its scores (flattened, at a position, or the
  // region's sum).
  const score = e.scores.data[target];
  const check = score === undefined ? undefined : conservation(e.method, e.composite, sum, score);
  return {
    input: item.name,
    method: e.method,
    composite: e.composite,
    target,
    ...(e.position !== undefined ? { position: e.position } : {}),
    explained: explainedScore(e, target, info.output),
    prediction: argMax(e.scores.data),
    ...scoresSummary(e.scores.data),
    relevanceSum: sum,
    ...(check ? { relevanceToScore: check.ratio } : {}),
    ...(check?.warning ? { warning: check.warning } : {}),
    ...(e.region ? { region: formatRegion(e.region) } : {}),
    attributionShape: a.dims,
    ...(info.layout === 'nhwc' ? { layout: info.layout } : {}),
    ...(info.precision ? { precision: info.precision } : {}),
    timing: e.timing,
  };
}

/**
 * What score was explained, in words: a class, a class at a position of a sequence output, or — a sequence output
 * explained without --position — an index into the flattened scores, with the position and class it stands for.
 */
function explainedScore(e: FeedsResult, target: number, output: string): string {
  if (e.region) return `the sum of output '${output}' over region ${formatRegion(e.region)}`;
  if (e.position !== undefined) return `class ${target} at position ${e.position} of output '${output}'`;
  const perSample = e.scores.dims.slice(1);
  if (perSample.length === 2) {
    const [positions, classes] = perSample as [number, number];
    return `score ${target} of output '${output}' [${e.scores.dims.join(', ')}] flattened: class ${target % classes} at position ${Math.floor(target / classes)} of ${positions} (pick a position with --position)`;
  }
  if (perSample.length > 2) return `score ${target} of output '${output}' [${e.scores.dims.join(', ')}] flattened`;
  return `class ${target}`;
}

/** `--position n`: an integer (negative: from the end); undefined when not given. */
function parsePosition(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n)) throw new InvalidArgumentError('--position', `'${value}' is not an integer`, 'give a position in the sequence, e.g. 0, 5 or −1 for the last');
  return n;
}

function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(flag, `expected a positive integer, got '${v}'`);
  return n;
}

/** Scores kept in summary.json: all of them for a classifier; the ten largest of a dense output (a 1024×1024 mask). */
const MAX_LOGITS = 4096;
function scoresSummary(scores: ArrayLike<number>): { logits: number[] } | { scoreCount: number; topScores: { index: number; score: number }[] } {
  if (scores.length <= MAX_LOGITS) return { logits: Array.from(scores) };
  const top = Array.from(scores, (score, index) => ({ index, score })).sort((a, b) => b.score - a.score).slice(0, 10);
  return { scoreCount: scores.length, topScores: top };
}
