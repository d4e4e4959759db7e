/**
 * Every stored result with its provenance. The service keeps one record per provenance (same model, input, method,
 * parameters and target) with a count, so reloads do not pile up copies. Filters, search and delete keep it usable;
 * a job's results open as a gallery. "Reproduce" recomputes a result from its stored values and reports the change.
 */
import { useMemo, useState } from 'react';
import type { RouteState } from '../app/route';
import { formatParams } from '../app/route';
import { useAsync } from '../app/useAsync';
import { useWorkbench } from '../app/workbench';
import { Empty, ErrorBox, Panel, Spinner, when } from '../components/common';
import { DisplayControls } from '../components/Controls';
import { ColorBar, fmt, Overlay } from '../components/Overlay';
import { api, type Reproduction, type ResultRecord } from '../services/api';
import { fromRecord } from '../services/explain';
import { useStoredInputUrl } from '../app/useDisplayUrl';
import type { Explained } from '../services/explained';
import { download, overlayPng } from '../services/heat';

type SetRoute = (p: Partial<RouteState>, mode?: 'push' | 'replace') => void;

/** How History names an input: the dataset sample or the uploaded file's name. */
export function inputLabel(r: ResultRecord): string {
  const s = r.provenance.inputSource;
  if (s?.kind === 'sample') return `${s.dataset} #${s.index}`;
  if (s && 'name' in s && s.name) return s.name;
  return s ? `uploaded ${s.kind}` : `input ${r.inputId.slice(0, 8)}`;
}

function paramsText(r: ResultRecord): string {
  const p = r.provenance.params ?? r.params ?? {};
  return Object.entries(p)
    .map(([k, v]) => `${k}=${v}`)
    .join(' · ');
}

export function HistoryView(props: { route: RouteState; set: SetRoute }) {
  const { route, set } = props;
  const wb = useWorkbench();
  const [filter, setFilter] = useState<{ model: string; method: string; dataset: string; q: string }>({ model: '', method: '', dataset: '', q: '' });
  const [version, setVersion] = useState(0);
  const list = useAsync<ResultRecord[]>(() => api.results({ limit: 500, ...(filter.model ? { modelId: filter.model } : {}), ...(route.job ? { jobId: route.job } : {}) }), `${filter.model}:${route.job}:${route.result}:${version}`);
  const name = (id: string) => wb.models.find((m) => m.id === id)?.name ?? id.slice(0, 10);
  const shown = useMemo(() => {
    const q = filter.q.trim().toLowerCase();
    return (list.value ?? []).filter((r) => {
      if (filter.method && r.method !== filter.method) return false;
      if (filter.dataset && !(r.provenance.inputSource?.kind === 'sample' && r.provenance.inputSource.dataset === filter.dataset)) return false;
      if (!q) return true;
      const text = [r.id, r.method, r.composite ?? '', name(r.modelId), inputLabel(r), `class ${r.target}`, paramsText(r)].join(' ').toLowerCase();
      return text.includes(q);
    });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [list.value, filter, wb.models]);
  const methods = [...new Set((list.value ?? []).map((r) => r.method))].sort();
  const datasets = [...new Set((list.value ?? []).flatMap((r) => (r.provenance.inputSource?.kind === 'sample' ? [r.provenance.inputSource.dataset] : [])))].sort();
  const remove = async (id: string) => {
    await api.deleteResult(id);
    if (route.result === id) set({ result: undefined });
    setVersion((v) => v + 1);
  };
  return (
    <div className="workspace">
      <aside className="sidebar wide">
        <div className="sidebar-head">
          <h2>History</h2>
          <span className="muted small" data-testid="history-count">
            {list.value ? `${shown.length} of ${list.value.length}` : ''}
          </span>
        </div>
        {route.job && (
          <div className="notice small">
            results of job {route.job.slice(0, 10)} ·{' '}
            <button type="button" className="link" onClick={() => set({ job: undefined })}>
              all results
            </button>
          </div>
        )}
        <div className="history-filters">
          <input type="search" placeholder="search: method, sample, class, parameter…" value={filter.q} onChange={(e) => setFilter({ ...filter, q: e.target.value })} data-testid="history-search" aria-label="search history" />
          <select value={filter.model} onChange={(e) => setFilter({ ...filter, model: e.target.value })} aria-label="model" data-testid="history-model">
            <option value="">all models</option>
            {wb.models.map((m) => (
              <option key={m.id} value={m.id}>
                {m.name}
              </option>
            ))}
          </select>
          <select value={filter.method} onChange={(e) => setFilter({ ...filter, method: e.target.value })} aria-label="method" data-testid="history-method">
            <option value="">all methods</option>
            {methods.map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>
          <select value={filter.dataset} onChange={(e) => setFilter({ ...filter, dataset: e.target.value })} aria-label="dataset" data-testid="history-dataset">
            <option value="">all inputs</option>
            {datasets.map((d) => (
              <option key={d}>{d}</option>
            ))}
          </select>
        </div>
        <ErrorBox error={list.error} />
        {list.value?.length === 0 && <Empty>No results yet. Explanations computed by the server are recorded here.</Empty>}
        <ul className="history-list" data-testid="history-list">
          {shown.map((r) => (
            <li key={r.id} data-count={r.count ?? 1}>
              <button type="button" className={r.id === route.result ? 'history-item active' : 'history-item'} onClick={() => set({ result: r.id })}>
                <HeatThumb r={r} cmap={route.cmap} />
                <span>
                  <strong>
                    {r.method}
                    {r.composite ? ` · ${r.composite}` : ''}
                    {(r.count ?? 1) > 1 && (
                      <span className="count" title={`asked ${r.count} times; last ${when(r.lastAt, true)}`} data-testid="history-item-count">
                        ×{r.count}
                      </span>
                    )}
                  </strong>
                  <small>
                    {inputLabel(r)} · class {r.target} · {name(r.modelId)}
                  </small>
                  {paramsText(r) && <small className="mono">{paramsText(r)}</small>}
                  <small>{when(r.lastAt ?? r.createdAt, true)}</small>
                </span>
              </button>
            </li>
          ))}
        </ul>
      </aside>
      <main className="stage">
        {route.result ? (
          <ResultDetail id={route.result} route={route} set={set} onDelete={remove} />
        ) : route.job && shown.length ? (
          <Gallery results={shown} route={route} set={set} />
        ) : (
          <Panel>
            <p className="lead">Select a result to see how it was made and to reproduce it.</p>
          </Panel>
        )}
      </main>
    </div>
  );
}

/** The heatmap over the input as a thumbnail (the stored PNG re-rendered in the chosen colour map). */
function HeatThumb({ r, cmap }: { r: ResultRecord; cmap: string }) {
  const stored = useStoredInputUrl(r.artefacts.display || !r.artefacts.heatmap ? '' : r.artefacts.input);
  const input = r.artefacts.display ? api.artefactUrl(r.artefacts.display) : stored;
  if (!r.artefacts.heatmap) return input ? <img src={input} alt="" /> : <span className="thumb-blank" />;
  return (
    <span className="heat-thumb">
      {input && <img src={input} alt="" className="under" />}
      <img src={`${api.artefactUrl(r.artefacts.attribution)}?cmap=${cmap}`} alt={`heatmap of ${inputLabel(r)}`} className="over" data-testid="history-heat" />
    </span>
  );
}

/** A job's results side by side: each input with its heatmap, class and relevance sum. */
function Gallery({ results, route, set }: { results: ResultRecord[]; route: RouteState; set: SetRoute }) {
  return (
    <Panel title={`Results of job ${route.job?.slice(0, 10)}`}>
      <div className="gallery" data-testid="gallery">
        {results.map((r) => (
          <button key={r.id} type="button" className="gallery-item" onClick={() => set({ result: r.id })}>
            <HeatThumb r={r} cmap={route.cmap} />
            <span className="small">
              {inputLabel(r)} · class {r.target}
            </span>
            <span className="muted small">Σ {fmt(r.relevanceSum)}</span>
          </button>
        ))}
      </div>
    </Panel>
  );
}

function ResultDetail({ id, route, set, onDelete }: { id: string; route: RouteState; set: SetRoute; onDelete: (id: string) => Promise<void> }) {
  const rec = useAsync<{ r: ResultRecord; ex: Explained }>(async () => {
    const r = await api.result(id);
    return { r, ex: await fromRecord(r) };
  }, id);
  const [repro, setRepro] = useState<{ loading?: boolean; value?: Reproduction; error?: unknown }>({});
  const storedUrl = useStoredInputUrl(rec.value?.r.artefacts.input ?? '');
  if (rec.error) return <ErrorBox error={rec.error} />;
  if (!rec.value) return <Spinner label="loading…" />;
  const { r, ex } = rec.value;
  const imageUrl = r.artefacts.display ? api.artefactUrl(r.artefacts.display) : storedUrl;
  const p = r.provenance;
  const reproduce = async () => {
    setRepro({ loading: true });
    try {
      setRepro({ value: await api.reproduce(id) });
    } catch (e) {
      setRepro({ error: e });
    }
  };
  const params = p.params ?? r.params ?? {};
  const src = p.inputSource;
  const sample = src?.kind === 'sample' ? `${src.dataset}/${src.index}` : `input/${r.artefacts.input}`;
  const explainLink = `#/explain?model=${r.modelId}&sample=${sample}&method=${r.method}${r.composite ? `&composite=${r.composite}` : ''}${Object.keys(params).length ? `&params=${formatParams(params)}` : ''}&target=${r.target}&cmap=${route.cmap}&opacity=${route.opacity}`;
  return (
    <div className="result-grid">
      <Panel
        title="Result"
        actions={
          <span className="actions">
            <a className="button" href={explainLink}>
              Open in Explain
            </a>
            <button type="button" className="button" onClick={() => void onDelete(id)} data-testid="delete-result">
              Delete
            </button>
          </span>
        }
      >
        <Overlay imageUrl={imageUrl} attribution={ex.attribution} cmap={route.cmap} opacity={route.opacity} mode={route.overlay} size={360} />
        <ColorBar cmap={route.cmap} attribution={ex.attribution} mode={imageUrl ? route.overlay : 'blend'} />
        <div className="downloads small">
          download{' '}
          <button type="button" className="link" onClick={() => void overlayPng({ imageUrl, attribution: ex.attribution, cmap: route.cmap, opacity: route.opacity, mode: route.overlay }).then((b) => download(b, `result-${r.id}.png`))} data-testid="history-download-png">
            PNG
          </button>{' '}
          <button type="button" className="link" onClick={() => download(new Blob([JSON.stringify(r, null, 2)], { type: 'application/json' }), `result-${r.id}.json`)} data-testid="history-download-json">
            JSON
          </button>{' '}
          <a href={api.artefactUrl(r.artefacts.attribution)} download={`result-${r.id}.npy`}>
            .npy
          </a>
        </div>
        <div className="inline-controls">
          <DisplayControls route={route} set={set} />
        </div>
      </Panel>
      <Panel title="Provenance">
        <dl className="facts column" data-testid="provenance">
          <div><dt>result</dt><dd className="mono">{r.id}</dd></div>
          <div><dt>created</dt><dd>{when(r.createdAt)}</dd></div>
          {(r.count ?? 1) > 1 && <div><dt>asked</dt><dd data-testid="provenance-count">{r.count} times · last {when(r.lastAt)}</dd></div>}
          <div><dt>input</dt><dd>{inputLabel(r)}</dd></div>
          <div><dt>model sha256</dt><dd className="mono small">{p.modelSha256}</dd></div>
          <div><dt>input sha256</dt><dd className="mono small">{p.inputSha256}</dd></div>
          <div><dt>method</dt><dd>{p.method}{p.composite ? ` · ${p.composite}` : ''}</dd></div>
          <div>
            <dt>parameters</dt>
            <dd className="mono small" data-testid="provenance-params">
              {Object.keys(params).length ? Object.entries(params).map(([k, v]) => `${k}=${v}`).join(' · ') : 'none'}
            </dd>
          </div>
          <div><dt>target class</dt><dd>{r.target}{p.target === 'pred' ? ' (the prediction)' : ''}</dd></div>
          <div><dt>relevance sum</dt><dd>{fmt(r.relevanceSum)}</dd></div>
          {p.reproducedFrom && <div><dt>reproduces</dt><dd><a href={`#/history?result=${p.reproducedFrom}`}>{p.reproducedFrom.slice(0, 12)}</a></dd></div>}
          <div><dt>versions</dt><dd>xsys {p.xsysVersion} · onnxruntime {p.ortVersion}</dd></div>
          <div><dt>time</dt><dd>compile {Math.round(p.timingMs.compile)} ms · run {Math.round(p.timingMs.run)} ms · total {Math.round(p.timingMs.total)} ms</dd></div>
        </dl>
        <div className="reproduce">
          <button type="button" className="button primary" onClick={reproduce} disabled={repro.loading} data-testid="reproduce">
            {repro.loading ? 'Reproducing…' : 'Reproduce'}
          </button>
          <span className="muted small">with exactly the parameters above</span>
          <ErrorBox error={repro.error} />
          {repro.value && (
            <div className={repro.value.identical ? 'repro ok' : repro.value.maxRelDiff < 1e-4 ? 'repro ok' : 'repro bad'} data-testid="repro-result">
              <strong>{repro.value.identical ? 'Identical' : repro.value.maxRelDiff < 1e-4 ? 'Reproduced within tolerance' : 'Differs'}</strong>
              <span>
                max |Δ| {fmt(repro.value.maxAbsDiff)} · max relative Δ {fmt(repro.value.maxRelDiff)} · record{' '}
                <a href={`#/history?result=${repro.value.reproducedId}`} data-testid="repro-link">{repro.value.reproducedId.slice(0, 12)}</a>
              </span>
            </div>
          )}
        </div>
      </Panel>
    </div>
  );
}
