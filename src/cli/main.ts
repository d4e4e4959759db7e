import { writeFile } from 'node:fs/promises';
import { Command, CommanderError } from 'commander';
import { XsysError } from '../errors.js';
import { fsError } from './fs-errors.js';
import { runConformance } from '../conformance/run.js';
import { runMetricsConformance } from '../conformance/metrics.js';
import { manifestKind } from '../conformance/kind.js';
import { runCrpConformance } from '../conformance/crp.js';
import { runCrpReferencesConformance } from '../conformance/crp-references.js';
import { compileExplainer } from '../compiler/compile.js';
import { readModel } from '../onnx/file.js';
import { COMPOSITE_NAMES, DEFAULT_COMPOSITE } from '../composites/index.js';
import { resolveComposite } from '../composites/file.js';
import { registerExplain } from './explain-command.js';
import { registerEvaluate } from './evaluate-command.js';
import { registerServe } from './serve-command.js';
import { registerConcepts } from './concepts-command.js';
import { registerWorker } from './worker-command.js';
import { registerStrategies } from './strategies-command.js';
import { registerLens } from './lens-command.js';
import { registerCorrect } from './correct-command.js';
import { registerFrequency } from './frequency-command.js';
import { inspectModel, formatInspection } from '../compiler/inspect.js';
import { collect, parseParams } from './options.js';
import { VERSION } from '../version.js';

/** Runs a command body, turning XsysErrors into a message + exit code instead of a stack trace. */
function runner(setCode: (c: number) => void) {
  return async (fn: () => Promise<number>): Promise<void> => {
    try {
      setCode(await fn());
    } catch (caught) {
      const e = fsError(caught) ?? caught;
      if (e instanceof XsysError) {
        process.stderr.write(`error: ${e.message}\n`);
        if (e.hint) process.stderr.write(`hint: ${e.hint}\n`);
        setCode(e.exitCode);
      } else {
        process.stderr.write(`internal error: ${(e as Error).message}\n`);
        if (process.env.XSYS_DEBUG) process.stderr.write(`${(e as Error).stack}\n`);
        else process.stderr.write('this is a bug in xsys; rerun with XSYS_DEBUG=1 for the stack trace\n');
        setCode(70);
      }
    }
  };
}

export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const run = runner((c) => (code = c));
  const program = new Command();
  program
    .name('xsys')
    .description('Explain ONNX neural networks with LRP, gradient and perturbation methods, compiled into the ONNX graph.')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  registerExplain(program, run);
  registerEvaluate(program, run);
  registerServe(program, run);
  registerConcepts(program, run);
  registerWorker(program, run);
  registerStrategies(program, run);
  registerLens(program, run);
  registerCorrect(program, run);
  registerFrequency(program, run);

  program
    .command('conformance')
    .description('run a conformance manifest (reference outputs of Zennit/Captum, zennit-crp conditional heatmaps, or Quantus metric values) and report the worst relative error per case')
    .argument('<manifest>', 'manifest.json (paths inside are relative to it)')
    .option('--json', 'print the report as JSON')
    .option('--filter <text>', 'only cases whose id contains this text')
    .action((manifest: string, flags: { json?: boolean; filter?: string }) =>
      run(async () => {
        const kind = await manifestKind(manifest);
        const runner = kind === 'metrics' ? runMetricsConformance : kind === 'crp' ? runCrpConformance : kind === 'crp-references' ? runCrpReferencesConformance : runConformance;
        const report = await runner(manifest, {
          filter: flags.filter,
          onCase: (r) => {
            if (!flags.json) process.stdout.write(`${r.pass ? 'PASS' : 'FAIL'}  ${r.id.padEnd(42)} rel.err ${Number.isNaN(r.relativeError) ? '   n/a   ' : r.relativeError.toExponential(2)}  (tol ${r.tolerance})${r.error ? `  ${r.error}` : ''}\n`);
          },
        });
        if (flags.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
        else {
          const worst = Math.max(...report.cases.map((c) => (Number.isNaN(c.relativeError) ? Infinity : c.relativeError)));
          process.stdout.write(`${report.passed} passed, ${report.failed} failed (worst relative error ${worst.toExponential(2)})\n`);
        }
        return report.failed > 0 || report.cases.length === 0 ? 1 : 0;
      }),
    );

  program
    .command('compile')
    .description('write a portable explainer: the model plus its backward pass as one ONNX graph (inputs: model inputs + xsys_seed; outputs: scores + attributions)')
    .argument('<model>', 'ONNX model file')
    .requiredOption('-o, --output <file>', 'where to write the explainer .onnx')
    .option('-m, --method <lrp|gradient>', 'backward pass kind', 'lrp')
    .option('-c, --composite <name|file.json>', `LRP composite: ${COMPOSITE_NAMES.join(', ')} (Zennit's exactly: zennit:<name>), or a JSON file`, DEFAULT_COMPOSITE)
    .option('-p, --param <k=v>', 'composite parameter, repeatable', collect)
    .option('--seed-mode <logit|direct>', "how xsys_seed becomes the output relevance: 'logit' (seed × scores, LRP default) or 'direct'")
    .option('--relevance-at <tensor>', 'also output the relevance at this intermediate tensor, repeatable', collect)
    .action((model: string, flags: { output: string; method: string; composite: string; param?: string[]; seedMode?: string; relevanceAt?: string[] }) =>
      run(async () => {
        if (flags.method !== 'lrp' && flags.method !== 'gradient') throw new XsysError(`--method: compile supports 'lrp' and 'gradient', not '${flags.method}'`, { hint: 'smoothgrad/integrated-gradients/occlusion are loops over the gradient explainer or the model' });
        if (flags.seedMode && flags.seedMode !== 'logit' && flags.seedMode !== 'direct') throw new XsysError(`--seed-mode must be 'logit' or 'direct', not '${flags.seedMode}'`);
        const m = await readModel(model);
        const params = parseParams(flags.param);
        const c = compileExplainer(m, {
          method: flags.method,
          // The compiler takes names and objects only; a JSON composite file is read here, as explain and inspect do.
          composite: flags.method === 'lrp' ? resolveComposite(flags.composite, params) : undefined,
          params,
          seedMode: flags.seedMode as 'logit' | 'direct' | undefined,
          relevanceAt: flags.relevanceAt,
        });
        await writeFile(flags.output, c.bytes());
        process.stdout.write(
          `wrote ${flags.output} (compiled in ${c.compileMs.toFixed(0)} ms)\n` +
            `  inputs:  ${[...c.inputNames, c.seedName].join(', ')}   (${c.seedName}: one-hot target, same shape as '${c.scoresName}')\n` +
            `  outputs: ${c.outputNames.join(', ')}\n`,
        );
        return 0;
      }),
    );

  program
    .command('inspect')
    .description('show inputs, outputs, op histogram, canonicalisation, the rule every node gets under a composite, and unsupported nodes')
    .argument('<model>', 'ONNX model file')
    .option('-c, --composite <name|file.json>', 'composite whose rule assignment to show', DEFAULT_COMPOSITE)
    .option('-p, --param <k=v>', 'composite parameter, repeatable', collect)
    .option('--json', 'print as JSON')
    .action((model: string, flags: { composite: string; param?: string[]; json?: boolean }) =>
      run(async () => {
        const proto = await readModel(model);
        const info = inspectModel(proto, resolveComposite(flags.composite, parseParams(flags.param)));
        process.stdout.write(flags.json ? JSON.stringify(info, null, 2) + '\n' : formatInspection(info));
        return info.unsupported.length ? 3 : 0;
      }),
    );

  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  return code;
}
