/** Several methods on the same input, side by side, with metric scores where the service has them. */
import { useState } from 'react';
import { parseParams, type RouteState } from '../app/route';
import { useAsync } from '../app/useAsync';
import { useWorkbench } from '../app/workbench';
import { ErrorBox, Field, Panel, Select, Spinner } from '../components/common';
import { compositeOptions, DisplayControls, methodOptions } from '../components/Controls';
import { ParamForm, specsFor, valuesFor } from '../components/ParamForm';
import { pixelRelevance } from '../services/heat';
import { InputPicker } from '../components/InputPicker';
import { ModelSelect } from '../components/ModelSelect';
import { ColorBar, fmt, fmtMs, Overlay } from '../components/Overlay';
import { api, type CompareRequest } from '../services/api';
import { runsOnDevice } from '../services/device';
import { explainOne, fromRecord, parseTarget } from '../services/explain';
import type { Explained } from '../services/explained';
import { compatibleDatasets, inputChoice, serverInput } from '../services/inputs';
import { usePreparedUrl } from '../app/useDisplayUrl';
import { EvaluationTable, latestEvaluation } from './evaluation';

export const DEFAULT_METHODS = 'lrp:epsilon-plus-flat,gradient-x-input';

interface Spec {
  method: string;
  composite?: string;
  params?: Record<string, number | string>;
}

/** 'lrp:epsilon-gamma-box;gamma=0.5,integrated-gradients;steps=8' → specs (parameters after ';', as k=v). */
export function parseMethods(s: string | undefined): Spec[] {
  return (s ?? DEFAULT_METHODS)
    .split(',')
    .filter(Boolean)
    .map((x) => {
      const [head = '', ...kv] = x.split(';');
      const [method = '', composite] = head.split(':');
      const params = parseParams(kv.map((p) => p.replace('=', ':')).join(','));
      return { method, ...(method === 'lrp' ? { composite: composite ?? 'epsilon-plus-flat' } : {}), ...(Object.keys(params).length ? { params } : {}) };
    });
}

const specText = (s: Spec) => [s.composite ? `${s.method}:${s.composite}` : s.method, ...Object.entries(s.params ?? {}).map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`)].join(';');
const specLabel = (s: Spec) => [s.composite ? `lrp · ${s.composite}` : s.method, ...Object.entries(s.params ?? {}).map(([k, v]) => `${k}=${v}`)].join(' · ');
/** The method as evaluation outcomes name it ('lrp:epsilon-plus-flat', 'gradient'). */
const evalName = (s: Spec) => (s.composite ? `${s.method}:${s.composite}` : s.method);

export function CompareView(props: { route: RouteState; set: (p: Partial<RouteState>, mode?: 'push' | 'replace') => void }) {
  const { route, set } = props;
  const wb = useWorkbench();
  const model = wb.models.find((m) => m.id === route.model);
  const datasets = compatibleDatasets(model, wb.datasets);
  const choice = inputChoice(route.sample, wb.dropped);
  const local = route.device === 'local';
  const imageUrl = usePreparedUrl(choice, route.prep);
  const specs = parseMethods(route.methods);
  const [adding, setAdding] = useState<Spec>({ method: 'integrated-gradients' });
  const addingSpecs = specsFor(wb.methods, adding.method, adding.composite);
  const setSpecs = (list: Spec[]) => set({ methods: list.map(specText).join(',') });
  const runnable = specs.filter((s) => !local || runsOnDevice(s.method));
  const target = parseTarget(route.target);
  const key = JSON.stringify([route.device, model?.id, route.sample ?? wb.dropped?.url, runnable.map(specText), route.target]);
  const run = useAsync<Explained[]>(
    model && choice && runnable.length
      ? async () => {
          if (local) {
            const out: Explained[] = [];
            for (const s of runnable) out.push(await explainOne({ device: 'local', model, datasets: wb.datasets, input: choice, method: s.method, composite: s.composite, prep: route.prep, target }));
            return out;
          }
          const { input, preprocess } = await serverInput(choice, model, wb.datasets, route.prep);
          const r = await api.compare({ modelId: model.id, input, ...(preprocess ? { preprocess } : {}), target, methods: runnable as CompareRequest['methods'] });
          return Promise.all(r.results.map(fromRecord));
        }
      : undefined,
    key,
  );
  // Shared: every panel's colours run over ±(the largest |R| of all panels), so colours compare across methods.
  const maxima = (run.value ?? []).map((e) => pixelRelevance(e.attribution).maxAbs);
  const shared = route.scale === 'shared' ? Math.max(0, ...maxima) : undefined;
  // Dataset-level scores of the compared methods, from the newest finished evaluation of this model (if any).
  const jobs = useAsync(model && !local ? () => api.jobs() : undefined, `jobs:${model?.id}`);
  const evaluation = latestEvaluation(jobs.value ?? [], model?.id);
  const evaluated = runnable.map(evalName).filter((m) => evaluation?.outcome.methods.includes(m));

  return (
    <div className="workspace">
      <aside className="sidebar">
        <Field label="Model">
          <ModelSelect value={route.model} onChange={(model) => set({ model })} />
        </Field>
        <Field label="Input">
          <InputPicker choice={choice} local={local} datasets={datasets} onSample={(sample) => set({ sample })} />
        </Field>
        <Field label="Methods">
          <ul className="chips" data-testid="compare-methods">
            {specs.map((s, i) => (
              <li key={specText(s) + i} className={local && !runsOnDevice(s.method) ? 'chip off' : 'chip'} title={local && !runsOnDevice(s.method) ? 'server only' : undefined}>
                {specLabel(s)}
                <button type="button" aria-label={`remove ${specText(s)}`} onClick={() => setSpecs(specs.filter((_, j) => j !== i))}>
                  ×
                </button>
              </li>
            ))}
          </ul>
          <div className="add-method">
            <Select value={adding.method} onChange={(method) => setAdding(method === 'lrp' ? { method, composite: 'epsilon-gamma-box' } : { method })} options={methodOptions(local)} testId="add-method" />
            {adding.method === 'lrp' && <Select value={adding.composite ?? ''} onChange={(composite) => setAdding({ method: 'lrp', composite })} options={compositeOptions(wb.methods?.composites)} testId="add-composite" />}
            {!local && <ParamForm specs={addingSpecs} values={valuesFor(addingSpecs, adding.params ?? {})} onChange={(params) => setAdding({ ...adding, params })} idPrefix="add-" />}
            <button type="button" onClick={() => {
                if (!specs.some((s) => specText(s) === specText(adding))) setSpecs([...specs, adding]);
              }} data-testid="add-method-button">
              Add
            </button>
          </div>
        </Field>
        <Field label="Target">
          <div className="target-row">
            <Select value={route.target === 'pred' ? 'pred' : 'class'} onChange={(v) => set({ target: v === 'pred' ? 'pred' : '0' })} options={[{ value: 'pred', label: 'predicted class' }, { value: 'class', label: 'class…' }]} />
            {route.target !== 'pred' && <input type="number" min={0} value={route.target} onChange={(e) => set({ target: e.target.value })} />}
          </div>
        </Field>
        <hr />
        <DisplayControls route={route} set={set} />
      </aside>
      <main className="stage">
        {!model || !choice ? (
          <Panel>
            <p className="lead">Choose a model and an input to compare methods on.</p>
          </Panel>
        ) : (
          <Panel
            title="Methods side by side"
            actions={
              <span className="actions">
                {run.loading && <Spinner label="computing…" />}
                <span className="scale-switch" role="radiogroup" aria-label="colour scale">
                  <button type="button" role="radio" aria-checked={route.scale === 'shared'} className={route.scale === 'shared' ? 'on' : ''} onClick={() => set({ scale: 'shared' }, 'replace')} data-testid="scale-shared" title="all panels use ±(the largest |R| of all methods): colours compare across panels">
                    shared scale
                  </button>
                  <button type="button" role="radio" aria-checked={route.scale === 'independent'} className={route.scale === 'independent' ? 'on' : ''} onClick={() => set({ scale: 'independent' }, 'replace')} data-testid="scale-independent" title="each panel uses ±(its own largest |R|): shapes compare, colours do not">
                    independent
                  </button>
                </span>
              </span>
            }
          >
            {shared !== undefined && run.value && <ColorBar cmap={route.cmap} scale={shared} mode={imageUrl ? route.overlay : 'blend'} note="one scale for all panels" />}
            <ErrorBox error={run.error} />
            {local && runnable.length < specs.length && <div className="notice">Methods marked grey run on the server only and are left out on this device.</div>}
            <div className="compare-grid" data-testid="compare-grid">
              {runnable.map((s, i) => {
                const ex = run.value?.[i];
                return (
                  <figure className="compare-card" key={specText(s) + i}>
                    <figcaption>
                      <strong>{s.method}</strong>
                      {s.composite && <span className="muted"> · {s.composite}</span>}
                      {s.params && <span className="muted mono small"> · {Object.entries(s.params).map(([k, v]) => `${k}=${v}`).join(' ')}</span>}
                    </figcaption>
                    <Overlay imageUrl={imageUrl} attribution={ex?.attribution} cmap={route.cmap} opacity={route.opacity} mode={route.overlay} scale={shared} size={240} label={specText(s)} />
                    {ex && shared === undefined && <ColorBar cmap={route.cmap} attribution={ex.attribution} mode={imageUrl ? route.overlay : 'blend'} />}
                    {ex && (
                      <p className="card-facts">
                        class {ex.target} · sum {fmt(ex.relevanceSum)} · {fmtMs(ex.timingMs.total)}
                        {ex.coldStart ? ' (incl. loading the runtime)' : ''}
                      </p>
                    )}
                  </figure>
                );
              })}
            </div>
            {evaluation && evaluated.length > 0 && (
              <div className="compare-evaluation">
                <p className="small muted">
                  Metric scores over {evaluation.outcome.provenance.samples} samples of {evaluation.outcome.provenance.dataset}, from evaluation{' '}
                  <a href={`#/eval?job=${evaluation.job.id}`}>{evaluation.job.id.slice(0, 12)}</a> (mean ± std; bold: best of the compared methods; ↑ higher, ↓ lower is better)
                </p>
                <EvaluationTable outcome={evaluation.outcome} methods={runnable.map(evalName)} testId="compare-evaluation" />
              </div>
            )}
          </Panel>
        )}
      </main>
    </div>
  );
}
