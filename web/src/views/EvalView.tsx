/**
 * Dataset-scale work: start jobs (the form is built from the kinds the service publishes, so a new kind needs no UI
 * change), follow their progress live over server-sent events, and chart whatever results they produced.
 */
import { useEffect, useMemo, useState } from 'react';
import type { RouteState } from '../app/route';
import { useAsync } from '../app/useAsync';
import { useWorkbench } from '../app/workbench';
import { BarChart, SeriesChart } from '../components/Charts';
import { Empty, ErrorBox, Field, Panel, Select, Spinner, when } from '../components/common';
import { MasksField, masksBody, MethodChoiceFields, MethodListFields, type MasksChoice, type MethodChoice } from '../components/JobFields';
import { api, ApiError, type Job, type ResultRecord } from '../services/api';
import { EvaluationChart, EvaluationTable, outcomeOf } from './evaluation';

interface JobKind {
  kind: string;
  description: string;
  params: { required?: string[]; properties?: Record<string, { type?: string | string[]; enum?: readonly string[]; minimum?: number; pattern?: string; items?: { type?: string; enum?: readonly string[]; properties?: Record<string, unknown> } }> };
}

const FALLBACK_KINDS: JobKind[] = [
  { kind: 'explain-dataset', description: 'explain the samples of a dataset with one method', params: { required: ['modelId', 'dataset', 'method'], properties: { modelId: { type: 'string' }, dataset: { type: 'string' }, method: { type: 'string' }, composite: { type: 'string' }, start: { type: 'integer' }, count: { type: 'integer' } } } },
];

async function fetchKinds(): Promise<JobKind[]> {
  try {
    const r = await fetch('/api/jobs/kinds');
    if (!r.ok) return FALLBACK_KINDS;
    const list = (await r.json()) as JobKind[];
    return list.length ? list : FALLBACK_KINDS;
  } catch {
    return FALLBACK_KINDS;
  }
}

const FIELD_LABELS: Record<string, string> = { modelId: 'model', start: 'first sample', count: 'number of samples', limit: 'number of samples', batchSize: 'batch size', target: 'explained class', masks: 'masks', indices: 'samples', metricParams: 'metric parameters', params: 'parameters' };

/**
 * List parameters are edited as comma-separated text: plain items as they are (e.g. metric names), method items as
 * `name[:composite]` (e.g. `lrp:epsilon-plus, gradient`), the notation of the CLI and of the Compare view.
 */
function listValue(text: string, items: { type?: string; properties?: Record<string, unknown> } | undefined): unknown[] {
  const parts = text.split(',').map((x) => x.trim()).filter(Boolean);
  if (items?.type === 'integer' || items?.type === 'number') return parts.map(Number);
  if (items?.type === 'object' && items.properties && 'method' in items.properties) {
    return parts.map((x) => {
      const [method = '', composite] = x.split(':');
      return composite ? { method, composite } : { method };
    });
  }
  return parts;
}

function errorText(e: Job['error']): string {
  return e ?? '';
}

export function EvalView(props: { route: RouteState; set: (p: Partial<RouteState>, mode?: 'push' | 'replace') => void }) {
  const { route, set } = props;
  const [jobs, setJobs] = useState<Job[]>([]);
  const [listError, setListError] = useState<unknown>();
  const refresh = () => api.jobs().then((j) => setJobs(j), setListError);
  useEffect(() => {
    void refresh();
  }, []);
  // Live progress: one event stream per job that is still queued or running.
  const live = jobs.filter((j) => j.state === 'queued' || j.state === 'running').map((j) => j.id).join(',');
  useEffect(() => {
    if (!live) return;
    const sources = live.split(',').map((id) => {
      const es = new EventSource(api.jobEventsUrl(id));
      const on = (ev: MessageEvent<string>) => {
        try {
          const data = JSON.parse(ev.data) as Partial<Job>;
          setJobs((list) => list.map((j) => (j.id === id ? { ...j, ...data, id } : j)));
        } catch {
          /* a keep-alive or a non-JSON line */
        }
        if (ev.type === 'done' || ev.type === 'failed' || ev.type === 'cancelled') {
          es.close();
          void refresh();
        }
      };
      for (const t of ['progress', 'resumed', 'done', 'failed', 'cancelled']) es.addEventListener(t, on as EventListener);
      es.onerror = () => es.close();
      return es;
    });
    return () => sources.forEach((s) => s.close());
  }, [live]);
  const selected = jobs.find((j) => j.id === route.job);

  return (
    <div className="workspace">
      <aside className="sidebar wide">
        <NewJob
          route={route}
          onStarted={(j) => {
            setJobs((l) => [j, ...l.filter((x) => x.id !== j.id)]);
            set({ job: j.id });
          }}
        />
        <hr />
        <h3 className="section">Jobs</h3>
        <ErrorBox error={listError} />
        {jobs.length === 0 && <Empty>No jobs yet.</Empty>}
        <ul className="job-list" data-testid="job-list">
          {jobs.map((j) => (
            <li key={j.id}>
              <button type="button" className={j.id === route.job ? 'job-item active' : 'job-item'} onClick={() => set({ job: j.id })}>
                <span className="job-top">
                  <strong>{j.kind}</strong>
                  <span className={`state state-${j.state}`}>{j.state}</span>
                </span>
                <span className="progress">
                  <span style={{ width: `${j.progress.total ? (j.progress.done / j.progress.total) * 100 : 0}%` }} />
                </span>
                <small>
                  {j.progress.done} / {j.progress.total}
                  {typeof j.params?.method === 'string' ? ` · ${j.params.method}` : ''}
                  {Array.isArray(j.params?.metrics) ? ` · ${(j.params.metrics as string[]).join(', ')}` : ''}
                  {typeof j.params?.dataset === 'string' ? ` · ${j.params.dataset}` : ''}
                </small>
              </button>
            </li>
          ))}
        </ul>
      </aside>
      <main className="stage">{selected ? <JobDetail job={selected} onCancel={() => void api.cancelJob(selected.id).then(refresh, setListError)} /> : <Panel><p className="lead">Start a job on the left, or select one to chart its results.</p></Panel>}</main>
    </div>
  );
}

function NewJob({ route, onStarted }: { route: RouteState; onStarted: (j: Job) => void }) {
  const wb = useWorkbench();
  const kinds = useAsync(fetchKinds, 'kinds');
  const [kind, setKind] = useState('explain-dataset');
  const [values, setValues] = useState<Record<string, string>>({});
  // One method with its composite and parameters (explain-dataset), a list of them (evaluate), and an evaluation's masks.
  const [choice, setChoice] = useState<MethodChoice>(() => ({ method: route.method, ...(route.method === 'lrp' ? { composite: route.composite } : {}) }));
  const [methodList, setMethodList] = useState<MethodChoice[]>([{ method: 'lrp', composite: 'epsilon-plus-flat' }, { method: 'gradient' }]);
  const [masks, setMasks] = useState<MasksChoice>({ mode: 'none' });
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const spec = kinds.value?.find((k) => k.kind === kind) ?? kinds.value?.[0];
  const props = spec?.params.properties ?? {};
  const defaults: Record<string, string> = { modelId: route.model ?? wb.models[0]?.id ?? '', dataset: wb.datasets[0]?.name ?? '', method: route.method, composite: route.composite, count: '8', limit: '8', methods: 'lrp:epsilon-plus-flat, gradient', metrics: 'sparseness, pixel-flipping' };
  const value = (k: string) => values[k] ?? defaults[k] ?? '';
  const field = (name: string, p: (typeof props)[string]) => {
    const set = (v: string) => setValues((s) => ({ ...s, [name]: v }));
    if (name === 'modelId') return <Select value={value(name)} onChange={set} options={wb.models.map((m) => ({ value: m.id, label: m.name }))} testId="job-model" />;
    if (name === 'dataset') return <Select value={value(name)} onChange={set} options={wb.datasets.map((d) => d.name)} testId="job-dataset" />;
    if (p.enum) return <Select value={value(name)} onChange={set} options={['', ...p.enum].map((e) => ({ value: e, label: e || '(default)' }))} testId={`job-${name}`} />;
    if (p.type === 'array' && p.items?.enum) {
      // A choice of several (e.g. metrics): one checkbox each.
      const chosen = new Set(listValue(value(name), undefined).map(String));
      const toggle = (item: string, on: boolean) => set([...p.items!.enum!].filter((x) => (x === item ? on : chosen.has(x))).join(', '));
      return (
        <div className="checks" data-testid={`job-${name}`}>
          {p.items.enum.map((item) => (
            <label key={item} className="check">
              <input type="checkbox" checked={chosen.has(item)} onChange={(e) => toggle(item, e.target.checked)} data-testid={`job-${name}-${item}`} />
              {item}
            </label>
          ))}
        </div>
      );
    }
    if (p.type === 'integer' || p.type === 'number') return <input type="number" value={value(name)} min={p.minimum} onChange={(e) => set(e.target.value)} data-testid={`job-${name}`} />;
    return <input type="text" value={value(name)} onChange={(e) => set(e.target.value)} data-testid={`job-${name}`} />;
  };
  // A kind with `method` and `params` gets the method's parameter form; one with a list of methods, a form per method.
  const methodForm = 'method' in props && 'params' in props;
  const methodListForm = props.methods?.type === 'array' && props.methods.items?.properties !== undefined && 'method' in props.methods.items.properties;
  const special = (name: string) => (methodForm && (name === 'method' || name === 'composite' || name === 'params')) || (methodListForm && name === 'methods') || name === 'masks';
  // Fields the form can edit: typed scalars and enums, and the composite ones above (metric parameters keep their defaults).
  const shown = Object.entries(props).filter(([name, p]) => special(name) || ((p.type !== undefined || p.enum) && p.type !== 'object' && !(name === 'composite' && value('method') !== 'lrp')));
  const errField = error instanceof ApiError ? error.field : undefined;
  const fieldOf = (name: string) => {
    if (methodForm && name === 'method') return <MethodChoiceFields value={choice} onChange={setChoice} idPrefix="job-" field={errField} />;
    if (methodListForm && name === 'methods') return <MethodListFields value={methodList} onChange={setMethodList} />;
    if (name === 'masks') return <MasksField value={masks} onChange={setMasks} field={errField} />;
    return field(name, props[name]!);
  };
  const start = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const body: Record<string, unknown> = { kind: spec?.kind ?? kind };
      for (const [name, p] of shown) {
        if (special(name)) {
          if (methodForm && name === 'method') Object.assign(body, { method: choice.method, ...(choice.method === 'lrp' && choice.composite ? { composite: choice.composite } : {}), ...(choice.params && Object.keys(choice.params).length ? { params: choice.params } : {}) });
          if (methodListForm && name === 'methods') body.methods = methodList.map((m) => ({ method: m.method, ...(m.method === 'lrp' ? { composite: m.composite ?? 'epsilon-plus-flat' } : {}), ...(m.params && Object.keys(m.params).length ? { params: m.params } : {}) }));
          if (name === 'masks' && masksBody(masks)) body.masks = masksBody(masks);
          continue;
        }
        const v = value(name);
        if (v === '') continue;
        body[name] = p.type === 'array' ? listValue(v, p.items) : p.type === 'integer' || p.type === 'number' ? Number(v) : v;
      }
      onStarted(await api.startJob(body as { kind: string }));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="new-job">
      <h3 className="section">New job</h3>
      {kinds.loading && <Spinner />}
      {kinds.value && (
        <>
          <Field label="Kind" hint={spec?.description}>
            <Select value={spec?.kind ?? kind} onChange={setKind} options={kinds.value.map((k) => k.kind)} testId="job-kind" />
          </Field>
          {shown.map(([name]) =>
            special(name) ? (
              name === 'composite' || name === 'params' ? null : <div key={name}>{fieldOf(name)}</div>
            ) : (
              <Field key={name} label={`${FIELD_LABELS[name] ?? name}${spec?.params.required?.includes(name) ? '' : ' (optional)'}`}>
                {fieldOf(name)}
              </Field>
            ),
          )}
          <button type="button" className="button primary" onClick={start} disabled={busy} data-testid="start-job">
            {busy ? 'Starting…' : 'Start job'}
          </button>
          <ErrorBox error={error} />
        </>
      )}
    </div>
  );
}

function JobParams({ job }: { job: Job }) {
  const wb = useWorkbench();
  const p = job.params ?? {};
  const values = (o: unknown): string =>
    o && typeof o === 'object'
      ? Object.entries(o as Record<string, unknown>)
          .map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
          .join(', ')
      : '';
  const methodText = (x: { method?: string; composite?: string; params?: Record<string, unknown> }) => `${[x.method, x.composite].filter(Boolean).join(' · ')}${x.params && Object.keys(x.params).length ? ` (${values(x.params)})` : ''}`;
  const text = (k: string, v: unknown): string => {
    if (k === 'masks' && v && typeof v === 'object') return 'threshold' in v ? `pixels brighter than ${String((v as { threshold: number }).threshold)}` : `uploaded .npy [${((v as { shape?: number[] }).shape ?? []).join(', ')}]`;
    if (Array.isArray(v)) return v.map((x) => (x && typeof x === 'object' ? methodText(x as { method?: string }) : String(x))).join(', ');
    if (v && typeof v === 'object') return values(v);
    return String(v);
  };
  // Long index lists (evaluate) are summarised rather than listed; every parameter of the method is shown.
  const shown = Object.entries(p).filter(([, v]) => v !== undefined).map(([k, v]): [string, unknown] => (k === 'indices' && Array.isArray(v) && v.length > 12 ? [k, `${v.length} samples`] : [k, v]));
  return (
    <dl className="params">
      {shown.map(([k, v]) => (
        <div key={k}>
          <dt>{FIELD_LABELS[k] ?? k}</dt>
          <dd data-testid={`job-param-${k}`}>{k === 'modelId' ? wb.models.find((m) => m.id === v)?.name ?? String(v).slice(0, 12) : text(k, v)}</dd>
        </div>
      ))}
      {job.createdAt && (
        <div>
          <dt>started</dt>
          <dd>{when(job.createdAt)}</dd>
        </div>
      )}
    </dl>
  );
}

function JobDetail({ job, onCancel }: { job: Job; onCancel: () => void }) {
  const ids = job.resultIds ?? [];
  const results = useAsync<ResultRecord[]>(ids.length ? async () => (await api.results({ jobId: job.id, limit: 500 })).reverse() : undefined, `${job.id}:${ids.length}`);
  const charts = useMemo(() => {
    const rs = results.value ?? [];
    const classes = new Map<number, number>();
    for (const r of rs) classes.set(r.target, (classes.get(r.target) ?? 0) + 1);
    return {
      classes: [...classes.entries()].sort((a, b) => a[0] - b[0]).map(([c, n]) => ({ label: `class ${c}`, value: n })),
      sums: rs.map((r) => r.relevanceSum),
      times: rs.map((r) => r.provenance?.timingMs?.total ?? 0),
    };
  }, [results.value]);
  const outcome = outcomeOf(job);
  const numericResult = !outcome && job.result && typeof job.result === 'object' ? Object.entries(job.result as Record<string, unknown>).filter((e): e is [string, number] => typeof e[1] === 'number') : [];
  const pct = job.progress.total ? Math.round((job.progress.done / job.progress.total) * 100) : 0;
  return (
    <>
      <Panel
        title={`${job.kind} · ${job.id.slice(0, 12)}`}
        actions={
          (job.state === 'queued' || job.state === 'running') && (
            <button type="button" className="button danger" onClick={onCancel}>
              Cancel
            </button>
          )
        }
      >
        <div className="job-progress" data-testid="job-progress">
          <span className={`state state-${job.state}`}>{job.state}</span>
          <span className="progress big">
            <span style={{ width: `${pct}%` }} />
          </span>
          <span>
            {job.progress.done} / {job.progress.total} ({pct}%)
          </span>
        </div>
        {job.error && <div className="error">{errorText(job.error)}</div>}
        <JobParams job={job} />
      </Panel>
      {outcome && (
        <Panel title="Evaluation">
          <p className="small muted">
            {outcome.provenance.samples} samples of {outcome.provenance.dataset} · explaining the {outcome.provenance.target === 'label' ? 'label' : 'predicted class'}
            {outcome.accuracy === undefined ? '' : ` · accuracy ${(100 * outcome.accuracy).toFixed(1)} %`} · seed {outcome.provenance.seed} · ★ / bold: best method of a metric (↑ higher, ↓ lower is better)
          </p>
          <EvaluationChart outcome={outcome} />
          <EvaluationTable outcome={outcome} />
        </Panel>
      )}
      {!outcome && (
      <Panel title="Results">
        {ids.length === 0 && <Empty>No results yet.</Empty>}
        {results.loading && <Spinner label="loading results…" />}
        <ErrorBox error={results.error} />
        <div className="charts" data-testid="job-charts">
          {numericResult.length > 0 && <BarChart title="Scores" data={numericResult.map(([label, value]) => ({ label, value }))} />}
          {charts.sums.length > 0 && <SeriesChart title="Relevance sum per sample" values={charts.sums} />}
          {charts.times.length > 0 && <SeriesChart title="Time per sample" values={charts.times} unit=" ms" />}
          {charts.classes.length > 0 && <BarChart title="Explained classes" data={charts.classes} integer />}
        </div>
        {ids.length > 0 && (
          <p className="small">
            {ids.length} results · <a href={`#/history?result=${ids[0]}`}>open them in History</a> · <a href={`#/history?job=${job.id}`} data-testid="job-gallery">as a gallery</a>
          </p>
        )}
      </Panel>
      )}
    </>
  );
}
