/**
 * `xsys frequency` — DFT-LRP (src/frequency/dft-lrp.ts): the relevance of a model on 1-D signals on frequency (or
 * time-frequency) components, by a virtual inspection layer in front of the signal input. Works on models that take
 * the raw waveform and compute their own STFT/mel features in the graph; other inputs (a recurrent state, a sample
 * rate) are fed with --feed.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { lineChart } from '../correction/charts.js';
import { svgToPng } from '../evaluation/report/chart.js';
import { InvalidArgumentError } from '../errors.js';
import { DOMAINS, explainFrequency, type Domain } from '../frequency/dft-lrp.js';
import { Graph } from '../ir/graph.js';
import { readNpy, writeNpy } from '../io/npy-file.js';
import { readModel } from '../onnx/file.js';
import { cloneModel } from '../onnx/model.js';
import { declaredInputs, feedFromArray, type Feed } from '../runtime/feeds.js';
import { collect, parseTarget } from './options.js';

type Run = (fn: () => Promise<number>) => Promise<void>;

interface FrequencyFlags {
  input?: string;
  feed?: string[];
  domain: string;
  window: string;
  target?: string;
  labels?: string;
  composite: string;
  batch: string;
  out: string;
}

export function registerFrequency(program: Command, run: Run): void {
  program
    .command('frequency')
    .description('DFT-LRP: relevance of a model on 1-D signals (raw waveforms — also into models that compute their own STFT/mel features) on frequency or time-frequency components; writes relevance.npy ([n, bins] or [n, frames, bins]), frequency.json and spectrum.svg/png (mean relevance per bin)')
    .argument('<model>', 'ONNX model whose input has the signal on its last axis')
    .argument('<signals>', '.npy of signals [n, …, N] (float32, N even)')
    .option('--input <name>', 'the signal input (default: the only input not given with --feed)')
    .option('--feed <name=file.npy>', 'another model input, fed as given with every batch (e.g. state=state.npy, sr=sr.npy); repeatable', collect)
    .option('--domain <domain>', `${DOMAINS.join(' or ')}`, 'frequency')
    .option('--window <w>', 'time-frequency: STFT window length (even; hop = w/2)', '32')
    .option('--target <t>', "'pred', a class index, or one index per signal (comma-separated)")
    .option('--labels <file.npy>', 'one class index per signal (integer .npy), instead of --target')
    .option('-c, --composite <name>', 'LRP composite around the virtual layer (which gets ε; so does the first layer unless the composite names a first-layer rule)', 'epsilon-plus')
    .option('--batch <n>', 'signals per run', '64')
    .option('-o, --out <dir>', 'output directory', 'xsys-frequency')
    .action((modelPath: string, signalsPath: string, flags: FrequencyFlags) =>
      run(async () => {
        if (!(DOMAINS as readonly string[]).includes(flags.domain)) throw new InvalidArgumentError('--domain', `must be one of ${DOMAINS.join(', ')}, got '${flags.domain}'`);
        const window = Number(flags.window);
        const batch = Number(flags.batch);
        if (!Number.isInteger(batch) || batch < 1) throw new InvalidArgumentError('--batch', `must be a whole number ≥ 1, got '${flags.batch}'`);
        if (flags.target !== undefined && flags.labels) throw new InvalidArgumentError('--labels', 'give either --target or --labels, not both');
        const model = await readModel(modelPath);
        const declared = declaredInputs(new Graph(cloneModel(model)).inputs);
        const feeds: Record<string, Feed> = {};
        for (const item of flags.feed ?? []) {
          const m = /^([^=]+)=(.+)$/.exec(item);
          if (!m) throw new InvalidArgumentError('--feed', `'${item}' is not of the form name=file.npy`);
          const want = declared.find((d) => d.name === m[1]);
          if (!want) throw new InvalidArgumentError('--feed', `the model has no input named '${m[1]}'`, `its inputs: ${declared.map((d) => d.name).join(', ')}`);
          feeds[m[1]!] = feedFromArray(m[1]!, await readNpy(m[2]!), want);
        }
        const a = await readNpy(signalsPath);
        if (!(a.data instanceof Float32Array) || a.shape.length < 2) throw new InvalidArgumentError('signals', `${signalsPath} must hold float32 signals [n, …, N], got ${a.dtype} of shape [${a.shape.join(', ')}]`);
        const n = a.shape[0]!;
        let target: number | number[] | 'pred' = parseTarget(flags.target);
        if (flags.labels) {
          const l = await readNpy(flags.labels);
          target = Array.from(l.data as ArrayLike<number | bigint>, Number);
          if (target.length !== n) throw new InvalidArgumentError('--labels', `${flags.labels} holds ${target.length} labels for ${n} signals`);
        }
        const r = await explainFrequency(model, { data: a.data, dims: a.shape }, {
          domain: flags.domain as Domain,
          window,
          input: flags.input,
          target,
          composite: flags.composite,
          batch,
          ...(Object.keys(feeds).length ? { feeds } : {}),
        });
        await mkdir(flags.out, { recursive: true });
        await writeNpy(join(flags.out, 'relevance.npy'), Float32Array.from(r.relevance), r.frames === 1 ? [n, r.bins] : [n, r.frames, r.bins]);
        const per = r.frames * r.bins;
        const classes = r.scores.dims[1]!;
        // Mean over signals of each signal's relevance summed over frames, divided by its Σ|R|: one value per bin.
        const mean = new Float64Array(r.bins);
        const perSignal = Array.from({ length: n }, (_, i) => {
          let sum = 0;
          let abs = 0;
          for (let j = 0; j < per; j++) {
            sum += r.relevance[i * per + j]!;
            abs += Math.abs(r.relevance[i * per + j]!);
          }
          if (abs > 0) for (let j = 0; j < per; j++) mean[j % r.bins]! += r.relevance[i * per + j]! / abs / n;
          const others = Object.fromEntries(Object.entries(r.others).map(([k, v]) => [k, v.subarray((i * v.length) / n, ((i + 1) * v.length) / n).reduce((s, x) => s + x, 0)]));
          return { target: r.targets[i]!, score: r.scores.data[i * classes + r.targets[i]!]!, relevanceSum: sum, relevanceAbsSum: abs, ...(Object.keys(others).length ? { others } : {}) };
        });
        const report = { model: modelPath, signals: signalsPath, domain: flags.domain, ...(flags.domain === 'time-frequency' ? { window } : {}), composite: flags.composite, bins: r.bins, frames: r.frames, perSignal, meanSpectrum: Array.from(mean) };
        await writeFile(join(flags.out, 'frequency.json'), JSON.stringify(report, null, 2) + '\n');
        const svg = lineChart('DFT-LRP: mean relevance per frequency bin', `${n} signals of ${a.shape.at(-1)} samples, ${flags.domain}, ${flags.composite}`, flags.domain === 'frequency' ? 'DFT bin' : `STFT bin (window ${window})`, 'relevance / Σ|R|', [{ name: 'mean over signals', points: Array.from(mean, (v, k) => [k, v] as const) }]);
        await writeFile(join(flags.out, 'spectrum.svg'), svg);
        await writeFile(join(flags.out, 'spectrum.png'), await svgToPng(svg));
        let peak = 0;
        for (let k = 1; k < r.bins; k++) if (mean[k]! > mean[peak]!) peak = k;
        process.stdout.write(`${n} signals, ${r.bins} bins${r.frames > 1 ? ` × ${r.frames} frames` : ''}; mean relevance peaks at bin ${peak}; wrote ${join(flags.out, 'relevance.npy')}, frequency.json, spectrum.svg/png\n`);
        return 0;
      }),
    );
}
