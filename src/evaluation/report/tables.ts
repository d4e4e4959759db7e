/** Text tables, CSV and JSON for evaluation and meta-evaluation results. */
import type { EvaluationResult } from '../evaluate.js';
import type { MetaEvaluationResult } from '../../metrics/meta/run.js';
import { fmt } from './svg.js';
import { relativeQuality } from './chart.js';

function pad(rows: string[][]): string {
  const widths = rows[0]!.map((_, j) => Math.max(...rows.map((r) => [...(r[j] ?? '')].length)));
  return rows.map((r) => r.map((c, j) => (j === 0 ? c.padEnd(widths[j]!) : c.padStart(widths[j]!))).join('  ').trimEnd()).join('\n') + '\n';
}

/** Methods as rows, metrics as columns: "mean ± std", * marks the best method per metric. */
export function evaluationTable(result: EvaluationResult): string {
  const header = ['method', ...result.metrics.map((m) => `${m.name} ${m.direction === 'higher' ? '↑' : '↓'}`)];
  const rows = [header];
  const bestOf = result.metrics.map((m) => {
    const q = relativeQuality(result.methods.map((meth) => result.cells.find((c) => c.method === meth && c.metric === m.name)?.mean ?? NaN), m.direction);
    const best = Math.max(...q.filter(Number.isFinite));
    return q.map((v) => v === best);
  });
  result.methods.forEach((meth, i) => {
    rows.push([
      meth,
      ...result.metrics.map((m, j) => {
        const c = result.cells.find((x) => x.method === meth && x.metric === m.name);
        if (!c) return '—';
        const nan = c.valid < c.scores.length ? ` (${c.scores.length - c.valid} n/a)` : '';
        return `${bestOf[j]![i] ? '*' : ''}${fmt(c.mean)} ± ${fmt(c.std)}${nan}`;
      }),
    ]);
  });
  const notes: string[] = [];
  for (const c of result.cells) for (const [reason, count] of Object.entries(c.nanReasons)) notes.push(`  ${c.method} × ${c.metric}: ${count} sample(s) n/a — ${reason}`);
  return pad(rows) + '* best per metric (↑ higher is better, ↓ lower is better)\n' + (notes.length ? `undefined scores:\n${notes.join('\n')}\n` : '');
}

function csvField(v: string | number): string {
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : v;
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(rows: (string | number)[][]): string {
  return rows.map((r) => r.map(csvField).join(',')).join('\n') + '\n';
}

/** One row per (method, metric): summary statistics. NaN → empty field. */
export function evaluationCsv(result: EvaluationResult): string {
  const rows: (string | number)[][] = [['method', 'metric', 'category', 'direction', 'mean', 'std', 'valid', 'samples', 'nan_reasons']];
  for (const c of result.cells) {
    const m = result.metrics.find((x) => x.name === c.metric)!;
    rows.push([c.method, c.metric, m.category, m.direction, c.mean, c.std, c.valid, c.scores.length, Object.entries(c.nanReasons).map(([r, k]) => `${k}× ${r}`).join('; ')]);
  }
  return toCsv(rows);
}

/** One row per (sample, method, metric) score. */
export function samplesCsv(result: EvaluationResult, names?: readonly string[]): string {
  const rows: (string | number)[][] = [['sample', 'name', 'target', 'method', 'metric', 'score']];
  for (const c of result.cells) c.scores.forEach((v, i) => rows.push([i, names?.[i] ?? String(i), result.targets[i]!, c.method, c.metric, v]));
  return toCsv(rows);
}

/** JSON with NaN/Infinity written as null (JSON has no NaN). */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v instanceof Float64Array || v instanceof Float32Array ? Array.from(v) : v), 2) + '\n';
}

export function metaTable(results: readonly MetaEvaluationResult[]): string {
  const rows = [['metric', 'category', 'dir', 'MC̄', 'model MC', 'IAC_NR', 'IAC_AR', 'IEC_NR', 'IEC_AR', 'input MC', 'IAC_NR', 'IAC_AR', 'IEC_NR', 'IEC_AR']];
  const f = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(3));
  for (const r of results) {
    const m = r.families.model;
    const i = r.families.input;
    rows.push([r.metric, r.category, r.direction === 'higher' ? '↑' : '↓', f(r.mc), f(m?.MC), f(m?.IAC_NR), f(m?.IAC_AR), f(m?.IEC_NR), f(m?.IEC_AR), f(i?.MC), f(i?.IAC_NR), f(i?.IAC_AR), f(i?.IEC_NR), f(i?.IEC_AR)]);
  }
  return pad(rows);
}

export function metaCsv(results: readonly MetaEvaluationResult[]): string {
  const rows: (string | number)[][] = [['metric', 'category', 'direction', 'mc_bar', 'family', 'mc', 'mc_std', 'iac_nr', 'iac_ar', 'iec_nr', 'iec_ar', 'iec_ar_all_lower_is_better', 'mc_all_lower_is_better']];
  for (const r of results) {
    for (const [family, s] of Object.entries(r.families)) rows.push([r.metric, r.category, r.direction, r.mc, family, s.MC, s.MCstd, s.IAC_NR, s.IAC_AR, s.IEC_NR, s.IEC_AR, s.IEC_AR_allLowerIsBetter, s.MC_allLowerIsBetter]);
  }
  return toCsv(rows);
}
