/**
 * `npm run bench:transformers`: AttnLRP (and optionally CP-LRP) vs the plain forward pass on a BERT-base-sized
 * encoder (12 layers, hidden 768, 12 heads, seq 128, vocab 30522) and a ViT-B/16-sized model (224×224, 197 tokens),
 * both built in TS with deterministic random weights (bench/transformers.ts). Every configuration runs in its own
 * child process (bench/transformer-worker.ts) so that peak RSS is its own.
 *
 * Options: --models bert-base,vit-b16  --batches 1,8  --configs attnlrp[,cp-lrp]  --no-write
 * Environment: BENCH_RUNS (default 5 at batch 1, 3 above), BENCH_WARMUP (default 1), BENCH_ARENA=0 (sessions without
 * ORT's CPU memory arena).
 * Writes bench/transformer-results.json and the "Transformers" section of BENCHMARKS.md (between markers).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serializeModel } from '../src/onnx/model.js';
import { BERT_BASE, VIT_B16, buildTransformer } from './transformers.js';
import { TRANSFORMER_RESULT, type TransformerWorkerArgs } from './transformer-worker.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const models = arg('models', 'bert-base,vit-b16').split(',') as TransformerWorkerArgs['model'][];
const batches = arg('batches', '1,8').split(',').map(Number);
const configs = ['forward', ...arg('configs', 'attnlrp').split(',')] as TransformerWorkerArgs['config'][];
const write = !process.argv.includes('--no-write');

interface Row {
  model: string;
  batch: number;
  config: string;
  ok: boolean;
  error?: string;
  medianMs?: number;
  minMs?: number;
  peakRssMB?: number;
  compileMs?: number;
  serializeMs?: number;
  compilePeakRssMB?: number;
  sessionMs?: number;
  relevanceFinite?: boolean;
}

type WorkerOut = { ok: boolean; error?: string; timing?: { medianMs: number; minMs: number }; peakRssMB?: number; compileMs?: number; serializeMs?: number; sessionMs?: number; relevanceFinite?: boolean };

function runWorker(args: TransformerWorkerArgs): WorkerOut {
  const r = spawnSync(process.execPath, ['--expose-gc', '--max-old-space-size=8192', '--import', 'tsx', path.join(here, 'transformer-worker.ts'), JSON.stringify(args)], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 });
  const line = r.stdout.split('\n').find((l) => l.startsWith(TRANSFORMER_RESULT));
  return line ? (JSON.parse(line.slice(TRANSFORMER_RESULT.length)) as WorkerOut) : { ok: false, error: r.stderr.slice(-2000) };
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'xsys-tbench-'));
const rows: Row[] = [];
const compiledInfo = new Map<string, WorkerOut>();
try {
  for (const model of models) {
    const spec = model === 'bert-base' ? BERT_BASE : VIT_B16;
    const file = path.join(tmp, `${model}.onnx`);
    const t0 = performance.now();
    writeFileSync(file, serializeModel(buildTransformer(spec)));
    process.stderr.write(`built ${model} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    for (const batch of batches) {
      for (const config of configs) {
        const args: TransformerWorkerArgs = {
          model, modelPath: file, config, batch, phase: 'run',
          runs: Number(process.env.BENCH_RUNS ?? (batch === 1 ? 5 : 3)),
          warmup: Number(process.env.BENCH_WARMUP ?? 1),
          seq: 128, vocab: spec.vocab ?? 0, classes: spec.classes ?? 2,
        };
        let compiled: WorkerOut | undefined;
        if (config !== 'forward') {
          // The explainer is compiled once per model and method (batch-independent) and loaded like a deployed one.
          const out = path.join(tmp, `${model}-${config}.onnx`);
          if (!existsSync(out)) {
            compiled = runWorker({ ...args, phase: 'compile', outPath: out });
            compiledInfo.set(out, compiled);
          } else compiled = compiledInfo.get(out);
          args.modelPath = out;
        }
        const res: WorkerOut = compiled && !compiled.ok ? compiled : runWorker(args);
        const row: Row = { model, batch, config, ok: res.ok, error: res.error, medianMs: res.timing?.medianMs, minMs: res.timing?.minMs, peakRssMB: res.peakRssMB, compileMs: compiled?.compileMs, serializeMs: compiled?.serializeMs, compilePeakRssMB: compiled?.peakRssMB, sessionMs: res.sessionMs, relevanceFinite: res.relevanceFinite };
        rows.push(row);
        process.stderr.write(`${model} b${batch} ${config}: ${row.ok ? `${row.medianMs!.toFixed(0)} ms, peak RSS ${row.peakRssMB} MiB` : `FAILED ${row.error?.split('\n')[0]}`}\n`);
      }
    }
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

const table = [
  '| model | batch | config | median ms | min ms | time / forward | session peak RSS MiB | RSS / forward | compile ms (+ serialize ms), compile peak RSS MiB |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
];
for (const r of rows) {
  const f = rows.find((x) => x.model === r.model && x.batch === r.batch && x.config === 'forward');
  const tr = r.ok && f?.ok ? (r.medianMs! / f.medianMs!).toFixed(2) : '–';
  const rr = r.ok && f?.ok ? (r.peakRssMB! / f.peakRssMB!).toFixed(2) : '–';
  table.push(r.ok ? `| ${r.model} | ${r.batch} | ${r.config} | ${r.medianMs!.toFixed(0)} | ${r.minMs!.toFixed(0)} | ${tr} | ${r.peakRssMB!.toFixed(0)} | ${rr} | ${r.compileMs !== undefined ? `${r.compileMs.toFixed(0)} (+ ${r.serializeMs!.toFixed(0)}), ${r.compilePeakRssMB!.toFixed(0)}` : '–'} |` : `| ${r.model} | ${r.batch} | ${r.config} | failed: ${r.error?.split('\n')[0]} | | | | | |`);
}
process.stdout.write(table.join('\n') + '\n');
if (write) {
  writeFileSync(path.join(here, 'transformer-results.json'), JSON.stringify({ date: new Date().toISOString(), cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, rows }, null, 2) + '\n');
  const bm = path.join(root, 'BENCHMARKS.md');
  const begin = '<!-- transformer-bench:begin -->';
  const end = '<!-- transformer-bench:end -->';
  const block = `${begin}\nMeasured ${new Date().toISOString().slice(0, 16)} UTC on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'} (ORT intra-op threads 2, thread spinning off${process.env.BENCH_ARENA === '0' ? ', CPU memory arena off' : ''}; load average ${os.loadavg()[0]!.toFixed(1)} at the end; one run per configuration, so single ratios near a target are not conclusive).\n\n${table.join('\n')}\n${end}`;
  const text = existsSync(bm) ? readFileSync(bm, 'utf8') : '';
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  writeFileSync(bm, i >= 0 && j > i ? text.slice(0, i) + block + text.slice(j + end.length) : `${text.trimEnd()}\n\n## Transformers (AttnLRP)\n\n${block}\n`);
}
