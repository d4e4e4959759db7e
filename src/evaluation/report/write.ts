/** Writes the result files of `xsys evaluate` / `xsys meta-evaluate` into an output folder. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EvaluationResult } from '../evaluate.js';
import type { MetaEvaluationResult } from '../../metrics/meta/run.js';
import { evaluationChart, metaChart, svgToPng } from './chart.js';
import { evaluationCsv, metaCsv, samplesCsv, toJson } from './tables.js';

export async function writeEvaluation(dir: string, result: EvaluationResult, options: { names?: readonly string[]; png?: boolean } = {}): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const svg = evaluationChart(result);
  const files: [string, string | Uint8Array][] = [
    ['results.json', toJson({ ...result, sampleNames: options.names })],
    ['results.csv', evaluationCsv(result)],
    ['samples.csv', samplesCsv(result, options.names)],
    ['chart.svg', svg],
  ];
  if (options.png !== false) files.push(['chart.png', await svgToPng(svg)]);
  for (const [name, content] of files) await writeFile(join(dir, name), content);
  return files.map(([name]) => join(dir, name));
}

export async function writeMetaEvaluation(dir: string, results: readonly MetaEvaluationResult[], options: { subtitle?: string; png?: boolean } = {}): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const svg = metaChart(results, options.subtitle);
  const files: [string, string | Uint8Array][] = [
    ['meta.json', toJson(results)],
    ['meta.csv', metaCsv(results)],
    ['meta-chart.svg', svg],
  ];
  if (options.png !== false) files.push(['meta-chart.png', await svgToPng(svg)]);
  for (const [name, content] of files) await writeFile(join(dir, name), content);
  return files.map(([name]) => join(dir, name));
}
