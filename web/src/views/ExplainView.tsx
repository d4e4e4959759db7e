/** Explain one input: heatmap over the image, top-k predictions, and every choice mirrored in the URL. */
import { useEffect } from 'react';
import { encodeNpy } from '../../../src/browser/index.js';
import { parseParams, type RouteState } from '../app/route';
import { useAsync } from '../app/useAsync';
import { useWorkbench } from '../app/workbench';
import { ErrorBox, Field, Panel, Spinner } from '../components/common';
import { DisplayControls, MethodControls } from '../components/Controls';
import { InputPicker } from '../components/InputPicker';
import { InputPrepPanel } from '../components/InputPrep';
import { ModelSelect } from '../components/ModelSelect';
import { ColorBar, fmt, fmtMs, Overlay } from '../components/Overlay';
import { TopKList } from '../components/TopK';
import { TextInput } from '../components/TextInput';
import { MultiInputPanel } from '../components/MultiInput';
import { isTokenModel } from '../components/ModelSettings';
import { ApiError } from '../services/api';
import { runsOnDevice } from '../services/device';
import { explainOne, parseTarget } from '../services/explain';
import type { Explained } from '../services/explained';
import { download, overlayPng } from '../services/heat';
import { compatibleDatasets, describeInput, inputChoice } from '../services/inputs';
import { usePreparedUrl } from '../app/useDisplayUrl';

type SetRoute = (p: Partial<RouteState>, mode?: 'push' | 'replace') => void;

export function ExplainView(props: { route: RouteState; set: SetRoute }) {
  const { route, set } = props;
  const wb = useWorkbench();
  const model = wb.models.find((m) => m.id === route.model);
  const datasets = compatibleDatasets(model, wb.datasets);
  const tokens = isTokenModel(model);
  // Several inputs (not a token model with its text box): one .npy per input.
  const multi = !!model && model.inputs.length > 1 && !tokens;
  const choice = tokens || multi ? undefined : inputChoice(route.sample, wb.dropped);
  const local = route.device === 'local';
  const imageUrl = usePreparedUrl(choice, route.prep);
  useFirstScreen(route, set, wb.models, datasets, wb.datasetsLoaded);
  // Text models are explained with AttnLRP unless the user picks another composite.
  useEffect(() => {
    if (tokens && route.method === 'lrp' && route.composite === 'epsilon-plus-flat') set({ composite: 'attnlrp' }, 'replace');
  }, [tokens, route.method, route.composite, set]);
  const sampleDataset = choice?.kind === 'sample' ? choice.dataset : undefined;
  const incompatible = sampleDataset && model && !datasets.some((d) => d.name === sampleDataset) ? `${sampleDataset} samples do not fit ${model.name} (input ${JSON.stringify(model.inputs.find((i) => i.dtype === 'float32')?.shape ?? [])}); pick another input.` : undefined;
  const blocked = local && !runsOnDevice(route.method) ? `${route.method} runs on the server only.` : incompatible;
  const ready = model && choice && !blocked && !tokens;
  const params = parseParams(route.params);
  const key = JSON.stringify([route.device, model?.id, route.sample ?? wb.dropped?.url, route.method, route.method === 'lrp' ? route.composite : '', route.params, route.prep, route.target, wb.datasets.length]);
  // The input's label travels with the result: while the next one computes, the shown facts stay consistent.
  const run = useAsync<{ ex: Explained; input: string }>(
    ready
      ? async () => ({
          ex: await explainOne({ device: route.device, model, datasets: wb.datasets, input: choice, method: route.method, composite: route.composite, params, prep: route.prep, target: parseTarget(route.target) }),
          input: describeInput(choice),
        })
      : undefined,
    key,
  );
  const ex = run.value?.ex;
  const field = run.error instanceof ApiError ? run.error.field : undefined;

  return (
    <div className="workspace">
      <aside className="sidebar">
        <Field label="Model">
          <ModelSelect value={route.model} onChange={(m) => set({ model: m })} />
        </Field>
        {!tokens && !multi && (
          <>
            <Field label="Input">
              <InputPicker choice={choice} local={local} datasets={datasets} onSample={(sample) => set({ sample })} />
            </Field>
            {choice && model && <InputPrepPanel choice={choice} model={model} prep={route.prep} onPrep={(prep) => set({ prep })} />}
          </>
        )}
        <MethodControls route={route} set={set} field={field} />
        <hr />
        <DisplayControls route={route} set={set} />
      </aside>
      <main className="stage">
        {!model ? (
          <Panel>
            <p className="lead">{wb.models.length ? 'Choose a model to explain.' : 'No model yet: upload one under '}{!wb.models.length && <a href="#/models">Models</a>}</p>
          </Panel>
        ) : tokens ? (
          <TextInput model={model} route={route} set={set} />
        ) : multi ? (
          <MultiInputPanel model={model} route={route} set={set} />
        ) : !choice ? (
          <Panel>
            <p className="lead">Pick a sample or drop an image on the left.</p>
          </Panel>
        ) : (
          <div className="result-grid">
            <Panel title="Explanation" actions={run.loading ? <Spinner label={local ? 'computing on this device…' : 'computing on the server…'} /> : undefined}>
              {blocked && (
                <div className="notice">
                  {blocked}{' '}
                  {!incompatible && (
                    <>
                      <button type="button" className="link" onClick={() => set({ device: 'server' })}>
                        Use the server
                      </button>{' '}
                      or choose lrp, gradient or gradient-x-input.
                    </>
                  )}
                </div>
              )}
              <ErrorBox error={run.error} />
              <Overlay imageUrl={imageUrl} attribution={ex?.attribution} cmap={route.cmap} opacity={route.opacity} mode={route.overlay} size={400} />
              <ColorBar cmap={route.cmap} attribution={ex?.attribution} mode={imageUrl ? route.overlay : 'blend'} />
              {ex && <Facts ex={ex} input={run.value!.input} imageUrl={imageUrl} route={route} />}
            </Panel>
            <Panel title="Predictions">
              {ex ? <TopKList topk={ex.topk} target={ex.target} onPick={(c) => set({ target: String(c) })} /> : <p className="muted">…</p>}
              {route.target !== 'pred' && (
                <button type="button" className="link small" onClick={() => set({ target: 'pred' })}>
                  back to the predicted class
                </button>
              )}
            </Panel>
          </div>
        )}
      </main>
    </div>
  );
}

/**
 * The first screen opens the bundled example ready to explain: with no model in the URL, the first model and the
 * first sample of a dataset that fits it are chosen (replacing the history entry, so Back leaves the app as usual).
 */
function useFirstScreen(route: RouteState, set: SetRoute, models: { id: string }[], datasets: { name: string; count: number }[], datasetsLoaded: boolean) {
  const first = models[0]?.id;
  const ds = datasets.find((d) => d.count > 0)?.name;
  useEffect(() => {
    // Wait for the dataset list too: the models may arrive first, and the example opens with its first sample.
    if (route.model || !first || !datasetsLoaded) return;
    set({ model: first, ...(route.sample ? {} : ds ? { sample: `${ds}/0` } : {}) }, 'replace');
  }, [route.model, route.sample, first, ds, datasetsLoaded, set]);
}

function fileBase(ex: Explained): string {
  return `attribution-${ex.method}${ex.composite ? `-${ex.composite}` : ''}-class${ex.target}-${ex.where}`;
}

/** The attribution as a NumPy file, exactly the float32 values behind the heatmap (built locally for device results). */
function downloadNpy(ex: Explained): void {
  const bytes = encodeNpy(ex.attribution.data, ex.attribution.dims, 'float32');
  download(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }), `${fileBase(ex)}.npy`);
}

/** What a result is, as JSON: the stored record (server) or the same facts computed here (device). */
function downloadJson(ex: Explained, input: string): void {
  const doc = { input, method: ex.method, composite: ex.composite ?? null, params: ex.params ?? {}, target: ex.target, relevanceSum: ex.relevanceSum, topk: ex.topk, computed: ex.where, backend: ex.backend, timingMs: ex.timingMs, ...(ex.record ? { record: ex.record } : {}) };
  download(new Blob([JSON.stringify(doc, null, 2)], { type: 'application/json' }), `${fileBase(ex)}.json`);
}

function Facts({ ex, input, imageUrl, route }: { ex: Explained; input: string; imageUrl?: string; route: RouteState }) {
  const params = ex.params ? Object.entries(ex.params) : [];
  return (
    <dl className="facts" data-testid="facts" data-method={ex.method} data-input={input} data-where={ex.where} data-target={ex.target}>
      <div>
        <dt>explained class</dt>
        <dd data-testid="explained-class">{ex.target}</dd>
      </div>
      <div>
        <dt>method</dt>
        <dd>{ex.method === 'lrp' ? `lrp · ${ex.composite}` : ex.method}</dd>
      </div>
      {params.length > 0 && (
        <div>
          <dt>parameters</dt>
          <dd className="mono small" data-testid="facts-params">
            {params.map(([k, v]) => `${k}=${v}`).join(' · ')}
          </dd>
        </div>
      )}
      <div>
        <dt>relevance sum</dt>
        <dd>{fmt(ex.relevanceSum)}</dd>
      </div>
      <div>
        <dt>computed</dt>
        <dd data-testid="computed-where">
          {ex.where === 'local' ? `on this device (${ex.backend})` : 'on the server'} · {fmtMs(ex.timingMs.total)}
          {ex.coldStart && <span className="muted small"> (first run: includes loading the runtime)</span>}
        </dd>
      </div>
      <div>
        <dt>download</dt>
        <dd className="downloads">
          <button type="button" className="link" onClick={() => void overlayPng({ imageUrl, attribution: ex.attribution, cmap: route.cmap, opacity: route.opacity, mode: route.overlay }).then((b) => download(b, `${fileBase(ex)}.png`))} data-testid="download-png">
            PNG
          </button>
          <button type="button" className="link" onClick={() => downloadJson(ex, input)} data-testid="download-json">
            JSON
          </button>
          <button type="button" className="link" onClick={() => downloadNpy(ex)} data-testid="download-npy">
            .npy
          </button>
        </dd>
      </div>
      {ex.resultId && (
        <div>
          <dt>record</dt>
          <dd>
            <a href={`#/history?result=${ex.resultId}`}>{ex.resultId.slice(0, 12)}</a>
            {ex.count && ex.count > 1 ? <span className="muted small" data-testid="record-count"> · asked {ex.count}×</span> : null}
          </dd>
        </div>
      )}
    </dl>
  );
}
