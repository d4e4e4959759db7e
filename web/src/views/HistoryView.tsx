/** Every stored result with its provenance; "Reproduce" recomputes it and reports how far the numbers moved. */
import { useState } from 'react';
import type { RouteState } from '../app/route';
import { useAsync } from '../app/useAsync';
import { useWorkbench } from '../app/workbench';
import { Empty, ErrorBox, Panel, Spinner, when } from '../components/common';
import { DisplayControls } from '../components/Controls';
import { ColorBar, fmt, Overlay } from '../components/Overlay';
import { api, type Reproduction, type ResultRecord } from '../services/api';
import { fromRecord } from '../services/explain';
import { useStoredInputUrl } from '../app/useDisplayUrl';
import type { Explained } from '../services/explained';

export function HistoryView(props: { route: RouteState; set: (p: Partial<RouteState>, mode?: 'push' | 'replace') => void }) {
  const { route, set } = props;
  const wb = useWorkbench();
  const [onlyModel, setOnlyModel] = useState(false);
  const list = useAsync<ResultRecord[]>(() => api.results({ limit: 100, ...(onlyModel && route.model ? { modelId: route.model } : {}) }), `${onlyModel}:${route.model}:${route.result}`);
  const name = (id: string) => wb.models.find((m) => m.id === id)?.name ?? id.slice(0, 10);
  return (
    <div className="workspace">
      <aside className="sidebar wide">
        <div className="sidebar-head">
          <h2>History</h2>
          {route.model && (
            <label className="check">
              <input type="checkbox" checked={onlyModel} onChange={(e) => setOnlyModel(e.target.checked)} /> this model only
            </label>
          )}
        </div>
        <ErrorBox error={list.error} />
        {list.value?.length === 0 && <Empty>No results yet. Explanations computed by the server are recorded here.</Empty>}
        <ul className="history-list" data-testid="history-list">
          {list.value?.map((r) => (
            <li key={r.id}>
              <button type="button" className={r.id === route.result ? 'history-item active' : 'history-item'} onClick={() => set({ result: r.id })}>
                <InputThumb r={r} />
                <span>
                  <strong>
                    {r.method}
                    {r.composite ? ` · ${r.composite}` : ''}
                  </strong>
                  <small>
                    {name(r.modelId)} · class {r.target} · {when(r.createdAt, true)}
                  </small>
                </span>
              </button>
            </li>
          ))}
        </ul>
      </aside>
      <main className="stage">{route.result ? <ResultDetail id={route.result} route={route} set={set} /> : <Panel><p className="lead">Select a result to see how it was made and to reproduce it.</p></Panel>}</main>
    </div>
  );
}

function InputThumb({ r }: { r: ResultRecord }) {
  const stored = useStoredInputUrl(r.artefacts.display ? '' : r.artefacts.input);
  const url = r.artefacts.display ? api.artefactUrl(r.artefacts.display) : stored;
  return url ? <img src={url} alt="" /> : <span className="thumb-blank" />;
}

function ResultDetail({ id, route, set }: { id: string; route: RouteState; set: (p: Partial<RouteState>, mode?: 'push' | 'replace') => void }) {
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
  const explainLink = `#/explain?model=${r.modelId}&sample=input/${r.artefacts.input}&method=${r.method}${r.composite ? `&composite=${r.composite}` : ''}&target=${r.target}&cmap=${route.cmap}&opacity=${route.opacity}`;
  return (
    <div className="result-grid">
      <Panel title="Result" actions={<a className="button" href={explainLink}>Open in Explain</a>}>
        <Overlay imageUrl={imageUrl} attribution={ex.attribution} cmap={route.cmap} opacity={route.opacity} size={360} />
        <ColorBar cmap={route.cmap} attribution={ex.attribution} />
        <div className="inline-controls">
          <DisplayControls route={route} set={set} />
        </div>
      </Panel>
      <Panel title="Provenance">
        <dl className="facts column" data-testid="provenance">
          <div><dt>result</dt><dd className="mono">{r.id}</dd></div>
          <div><dt>created</dt><dd>{when(r.createdAt)}</dd></div>
          <div><dt>model sha256</dt><dd className="mono small">{p.modelSha256}</dd></div>
          <div><dt>input sha256</dt><dd className="mono small">{p.inputSha256}</dd></div>
          <div><dt>method</dt><dd>{p.method}{p.composite ? ` · ${p.composite}` : ''}</dd></div>
          <div><dt>parameters</dt><dd className="mono small">{p.params && Object.keys(p.params).length ? JSON.stringify(p.params) : 'defaults'}</dd></div>
          <div><dt>target class</dt><dd>{r.target}</dd></div>
          <div><dt>relevance sum</dt><dd>{fmt(r.relevanceSum)}</dd></div>
          <div><dt>versions</dt><dd>xsys {p.xsysVersion} · onnxruntime {p.ortVersion}</dd></div>
          <div><dt>time</dt><dd>compile {Math.round(p.timingMs.compile)} ms · run {Math.round(p.timingMs.run)} ms · total {Math.round(p.timingMs.total)} ms</dd></div>
        </dl>
        <div className="reproduce">
          <button type="button" className="button primary" onClick={reproduce} disabled={repro.loading} data-testid="reproduce">
            {repro.loading ? 'Reproducing…' : 'Reproduce'}
          </button>
          <ErrorBox error={repro.error} />
          {repro.value && (
            <div className={repro.value.identical ? 'repro ok' : repro.value.maxRelDiff < 1e-4 ? 'repro ok' : 'repro bad'} data-testid="repro-result">
              <strong>{repro.value.identical ? 'Identical' : repro.value.maxRelDiff < 1e-4 ? 'Reproduced within tolerance' : 'Differs'}</strong>
              <span>
                max |Δ| {fmt(repro.value.maxAbsDiff)} · max relative Δ {fmt(repro.value.maxRelDiff)} · new record{' '}
                <a href={`#/history?result=${repro.value.reproducedId}`}>{repro.value.reproducedId.slice(0, 12)}</a>
              </span>
            </div>
          )}
        </div>
      </Panel>
    </div>
  );
}
