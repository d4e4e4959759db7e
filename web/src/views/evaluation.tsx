/**
 * An `evaluate` job's outcome (docs/workbench-api.md, EvaluationOutcome) as a chart and a table. Each metric has its
 * own direction (higher or lower is better), so methods are compared within a metric, never across metrics: the
 * chart has one group per metric, and the best method of each metric is marked in both.
 */
import { fmt } from '../components/Overlay';
import type { Job } from '../services/api';

export interface OutcomeCell {
  method: string;
  metric: string;
  mean: number | null;
  std: number | null;
  n: number;
  scores: (number | null)[];
  nanReasons: Record<string, number>;
}
export interface EvaluationOutcome {
  methods: string[];
  metrics: { name: string; category: string; direction: 'higher' | 'lower'; params: Record<string, unknown> }[];
  cells: OutcomeCell[];
  targets: number[];
  accuracy?: number;
  provenance: { dataset: string; samples: number; seed: number; target: string; modelSha256: string };
}

export function outcomeOf(job: Job): EvaluationOutcome | undefined {
  const r = job.result as Partial<EvaluationOutcome> | undefined;
  return job.kind === 'evaluate' && r && Array.isArray(r.cells) && Array.isArray(r.metrics) && Array.isArray(r.methods) ? (r as EvaluationOutcome) : undefined;
}

/** The newest finished evaluation of a model, if any. */
export function latestEvaluation(jobs: readonly Job[], modelId: string | undefined): { job: Job; outcome: EvaluationOutcome } | undefined {
  for (const job of jobs) {
    const outcome = job.state === 'done' && job.params?.modelId === modelId ? outcomeOf(job) : undefined;
    if (outcome) return { job, outcome };
  }
  return undefined;
}

export const arrow = (d: 'higher' | 'lower') => (d === 'higher' ? '↑' : '↓');
const cellOf = (o: EvaluationOutcome, method: string, metric: string) => o.cells.find((c) => c.method === method && c.metric === metric);

/** The method with the best mean of a metric in the metric's direction (undefined when no mean is defined). */
export function bestMethod(o: EvaluationOutcome, metric: string, methods: readonly string[] = o.methods): string | undefined {
  const dir = o.metrics.find((m) => m.name === metric)?.direction ?? 'higher';
  let best: { method: string; mean: number } | undefined;
  for (const method of methods) {
    const mean = cellOf(o, method, metric)?.mean;
    if (mean === null || mean === undefined) continue;
    if (!best || (dir === 'higher' ? mean > best.mean : mean < best.mean)) best = { method, mean };
  }
  return best?.method;
}

/** One group of bars per metric (methods' means, scaled within the metric), best method marked. */
export function EvaluationChart({ outcome }: { outcome: EvaluationOutcome }) {
  return (
    <div className="charts" data-testid="evaluation-chart">
      {outcome.metrics.map((m) => {
        const means = outcome.methods.map((method) => cellOf(outcome, method, m.name)?.mean ?? null);
        const max = Math.max(1e-12, ...means.map((v) => (v === null ? 0 : Math.abs(v))));
        const best = bestMethod(outcome, m.name);
        return (
          <figure className="chart" key={m.name}>
            <figcaption>
              {m.name} <span className="muted">· {arrow(m.direction)} {m.direction} is better · {m.category}</span>
            </figcaption>
            <ul className="bars">
              {outcome.methods.map((method, i) => {
                const v = means[i];
                return (
                  <li key={method} title={method === best ? 'best of this metric' : undefined}>
                    <span className="bar-label mono">
                      {method === best ? '★ ' : ''}
                      {method}
                    </span>
                    <span className="bar">
                      <span className={v !== null && v < 0 ? 'neg' : ''} style={{ width: `${v === null ? 0 : (Math.abs(v) / max) * 100}%` }} />
                    </span>
                    <span className="bar-value">{v === null ? '—' : fmt(v)}</span>
                  </li>
                );
              })}
            </ul>
          </figure>
        );
      })}
    </div>
  );
}

/** Methods × metrics: mean ± std (n), best per metric in bold; `methods` picks and orders the columns. */
export function EvaluationTable({ outcome, methods = outcome.methods, testId = 'evaluation-table' }: { outcome: EvaluationOutcome; methods?: readonly string[]; testId?: string }) {
  return (
    <table className="table metrics" data-testid={testId}>
      <thead>
        <tr>
          <th>metric</th>
          {methods.map((m) => (
            <th key={m}>{m}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {outcome.metrics.map((m) => {
          const best = bestMethod(outcome, m.name, methods);
          return (
            <tr key={m.name}>
              <td title={`${m.direction} is better`}>
                {m.name} {arrow(m.direction)}
              </td>
              {methods.map((method) => {
                const c = cellOf(outcome, method, m.name);
                const text = !c ? '—' : c.mean === null ? 'undefined' : `${fmt(c.mean)}${c.std === null ? '' : ` ± ${fmt(c.std)}`}`;
                return (
                  <td key={method} className="num" title={c ? `n = ${c.n}${Object.keys(c.nanReasons).length ? `; undefined: ${Object.entries(c.nanReasons).map(([r, k]) => `${r} (${k})`).join(', ')}` : ''}` : 'not in this evaluation'}>
                    {method === best ? <strong>{text}</strong> : text}
                    {c && c.n < c.scores.length && <small className="muted"> (n = {c.n})</small>}
                  </td>
                );
              })}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
