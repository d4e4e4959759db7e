import { mkdir, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { Command } from 'commander';
import { ModelExplainer } from '../methods/explainer.js';
import { explain } from '../methods/explain.js';
import { getMethod, METHODS, METHOD_NAMES, type MethodName } from '../methods/registry.js';
import { compositeDeclarations, DEFAULT_COMPOSITE } from '../composites/index.js';
import { describeParam } from '../param-spec.js';
import { COMPOSITE_NAMES } from '../composites/index.js';
import { toFloat32 } from '../io/npy.js';
import { readNpy, writeNpy } from '../io/npy-file.js';
import { isImagePath, loadImage } from '../io/image.js';
import { attributionToHeatmap, overlay, upscaleFactor, type RgbImage } from '../render/heatmap.js';
import { writePng } from '../render/png.js';
import { COLORMAP_NAMES } from '../render/colormaps.js';
import { InvalidArgumentError } from '../errors.js';
import type { Tensor } from '../runtime/tensor.js';
import { argMax, collect, parseNumberList, parseParams, parseTarget, parseThreads } from './options.js';
import { runTextExplain } from './text-explain.js';
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
  threads?: string;
  json?: boolean;
  maxBatch?: string;
  input?: string[];
  text?: string;
  tokenizer?: string;
  position?: string;
  tokenInput?: string;
}

interface LoadedInput {
  name: string;
  tensor: Tensor;
  display?: RgbImage;
}

async function loadInputs(files: string[], flags: ExplainFlags): Promise<LoadedInput[]> {
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
      out.push({ name: stem, tensor: { data: img.tensor, dims: [...img.shape] }, display: img.display });
    } else if (extname(f).toLowerCase() === '.npy') {
      const a = await readNpy(f);
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
  lines.push('', `Composites (--composite, method lrp; default ${DEFAULT_COMPOSITE}):`);
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
    .option('-c, --composite <name|file.json>', `LRP composite: ${COMPOSITE_NAMES.join(', ')}, or a JSON file (text models: attnlrp unless given)`, DEFAULT_COMPOSITE)
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
    .option('--threads <n>', 'ONNX Runtime intra-op threads (default: all cores)')
    .option('--json', 'print the summary as JSON on stdout')
    .option('--max-batch <n>', 'inputs per ONNX Runtime run for methods that evaluate many (integrated-gradients, smoothgrad, occlusion); default 32, never more than a batch size the model fixes')
    .option('--input <name=file>', 'text models: a named model input (.npy or JSON list), repeatable, e.g. input_ids=ids.npy attention_mask=mask.npy', collect)
    .option('--text <text>', 'text models: text to tokenize with --tokenizer')
    .option('--tokenizer <tokenizer.json>', "text models: the model's Hugging Face tokenizer.json (loaded offline)")
    .option('--position <n>', 'generative models: explain the next-token score at this position (negative: from the end; default: last)')
    .option('--token-input <name>', 'text models: the id input whose embedding gives per-token relevance (default: found from the graph)')
    .addHelpText('after', methodsHelp())
    .action((model: string, inputs: string[], flags: ExplainFlags, cmd: Command) =>
      run(async () => {
        const proto = await readModel(model);
        const intInputs = declaredInputs(new Graph(cloneModel(proto)).inputs).some((i) => i.dtype !== 'float32');
        if (intInputs || flags.input || flags.text !== undefined || flags.tokenizer || flags.position !== undefined) {
          return runTextExplain(proto, inputs, flags, cmd.getOptionValueSource('composite') !== 'default');
        }
        if (!inputs.length) throw new InvalidArgumentError('inputs', 'nothing to explain', 'pass .npy files or images');
        getMethod(flags.method);
        if (!COLORMAP_NAMES.includes(flags.cmap as (typeof COLORMAP_NAMES)[number])) throw new InvalidArgumentError('--cmap', `unknown colour map '${flags.cmap}'`, `colour maps: ${COLORMAP_NAMES.join(', ')}`);
        const params = parseParams(flags.param);
        const target = parseTarget(flags.target);
        const threads = parseThreads(flags.threads);
        const mx = await ModelExplainer.load(proto, { threads });
        const precision = [precisionNote(proto), quantisationNote(proto)].filter(Boolean).join('; ') || undefined;
        if (precision && !flags.json) process.stderr.write(`note: the model was ${precision}\n`);
        const loaded = await loadInputs(inputs, flags);
        if (Array.isArray(target) && target.length !== loaded.length) throw new InvalidArgumentError('--target', `${target.length} targets for ${loaded.length} inputs`);
        await mkdir(flags.out, { recursive: true });
        const bar = new ProgressBar('explaining', loaded.length);
        const summary: Record<string, unknown>[] = [];
        for (const [i, item] of loaded.entries()) {
          const e = await explain(mx, item.tensor, {
            method: flags.method as MethodName,
            composite: flags.method === 'lrp' ? flags.composite : undefined,
            params,
            target: Array.isArray(target) ? target[i]! : target,
            layer: flags.layer,
            ...(flags.maxBatch !== undefined ? { maxBatch: positiveInt('--max-batch', flags.maxBatch) } : {}),
          });
          const a = e.attribution;
          await writeNpy(join(flags.out, `${item.name}.npy`), a.data, a.dims);
          // Heatmaps need a picture: [C,H,W] or [H,W] per sample. Vector inputs (MLPs) get the .npy and summary only.
          const sampleDims = a.dims.slice(1);
          if (sampleDims.length === 2 || sampleDims.length === 3) {
            const heat = attributionToHeatmap(a.data, sampleDims, { cmap: flags.cmap });
            await writePng(join(flags.out, `${item.name}.png`), heat, upscaleFactor(heat.width, heat.height));
            if (flags.overlay && item.display) await writePng(join(flags.out, `${item.name}-overlay.png`), overlay(item.display, heat, 0.6), upscaleFactor(item.display.width, item.display.height));
          }
          let sum = 0;
          for (const v of a.data) sum += v;
          summary.push({
            input: item.name,
            method: e.method,
            composite: e.composite,
            target: e.targets[0],
            prediction: argMax(e.scores.data),
            ...scoresSummary(e.scores.data),
            relevanceSum: sum,
            attributionShape: a.dims,
            ...(precision ? { precision } : {}),
            timing: e.timing,
          });
          bar.update(i + 1);
        }
        await writeFile(join(flags.out, 'summary.json'), JSON.stringify(summary, null, 2));
        if (flags.json) process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
        else {
          for (const s of summary) {
            process.stdout.write(`${s.input}: predicted ${s.prediction}, explained class ${s.target}, relevance sum ${(s.relevanceSum as number).toPrecision(4)}\n`);
          }
          process.stdout.write(`wrote ${summary.length} attribution(s), heatmap(s) and summary.json to ${flags.out}\n`);
        }
        return 0;
      }),
    );
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
