/** Explain one input: heatmap over the image, top-k predictions, and every choice mirrored in the URL. */
import { encodeNpy } from '../../../src/browser/index.js';
import type { RouteState } from '../app/route';
import { useAsync } from '../app/useAsync';
import { useWorkbench } from '../app/workbench';
import { ErrorBox, Field, Panel, Spinner } from '../components/common';
import { DisplayControls, MethodControls } from '../components/Controls';
import { InputPicker } from '../components/InputPicker';
import { ModelSelect } from '../components/ModelSelect';
import { ColorBar, fmt, fmtMs, Overlay } from '../components/Overlay';
import { TopKList } from '../components/TopK';
import { runsOnDevice } from '../services/device';
import { explainOne, parseTarget } from '../services/explain';
import type { Explained } from '../services/explained';
import { describeInput, inputChoice } from '../services/inputs';
import { useDisplayUrl } from '../app/useDisplayUrl';

export function ExplainView(props: { route: RouteState; set: (p: Partial<RouteState>, mode?: 'push' | 'replace') => void }) {
  const { route, set } = props;
  const wb = useWorkbench();
  const model = wb.models.find((m) => m.id === route.model);
  const choice = inputChoice(route.sample, wb.dropped);
  const local = route.device === 'local';
  const imageUrl = useDisplayUrl(choice);
  const blocked = local && !runsOnDevice(route.method) ? `${route.method} runs on the server only.` : undefined;
  const ready = model && choice && !blocked;
  const key = JSON.stringify([route.device, model?.id, route.sample ?? wb.dropped?.url, route.method, route.method === 'lrp' ? route.composite : '', route.target, wb.datasets.length]);
  // The input's label travels with the result: while the next one computes, the shown facts stay consistent.
  const run = useAsync<{ ex: Explained; input: string }>(
    ready ? async () => ({ ex: await explainOne({ device: route.device, model, datasets: wb.datasets, input: choice, method: route.method, composite: route.composite, target: parseTarget(route.target) }), input: describeInput(choice) }) : undefined,
    key,
  );
  const ex = run.value?.ex;

  return (
    <div className="workspace">
      <aside className="sidebar">
        <Field label="Model">
          <ModelSelect value={route.model} onChange={(model) => set({ model })} />
        </Field>
        <Field label="Input">
          <InputPicker choice={choice} local={local} onSample={(sample) => set({ sample })} />
        </Field>
        <MethodControls route={route} set={set} />
        <hr />
        <DisplayControls route={route} set={set} />
      </aside>
      <main className="stage">
        {!model ? (
          <Panel>
            <p className="lead">Choose a model to explain, or upload one under <a href="#/models">Models</a>.</p>
          </Panel>
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
                  <button type="button" className="link" onClick={() => set({ device: 'server' })}>
                    Use the server
                  </button>{' '}
                  or choose lrp, gradient or gradient-x-input.
                </div>
              )}
              <ErrorBox error={run.error} />
              <Overlay imageUrl={imageUrl} attribution={ex?.attribution} cmap={route.cmap} opacity={route.opacity} size={400} />
              <ColorBar cmap={route.cmap} attribution={ex?.attribution} />
              {ex && <Facts ex={ex} input={run.value!.input} />}
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

/** The attribution as a NumPy file, exactly the float32 values behind the heatmap (built locally for device results). */
function downloadNpy(ex: Explained): void {
  const bytes = encodeNpy(ex.attribution.data, ex.attribution.dims, 'float32');
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = `attribution-${ex.method}${ex.composite ? `-${ex.composite}` : ''}-class${ex.target}-${ex.where}.npy`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function Facts({ ex, input }: { ex: Explained; input: string }) {
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
      <div>
        <dt>relevance sum</dt>
        <dd>{fmt(ex.relevanceSum)}</dd>
      </div>
      <div>
        <dt>computed</dt>
        <dd data-testid="computed-where">{ex.where === 'local' ? `on this device (${ex.backend})` : 'on the server'} · {fmtMs(ex.timingMs.total)}
          {ex.coldStart && <span className="muted small"> (first run: includes loading the runtime)</span>}</dd>
      </div>
      <div>
        <dt>attribution</dt>
        <dd>
          <button type="button" className="link" onClick={() => downloadNpy(ex)} data-testid="download-npy">
            download .npy
          </button>
        </dd>
      </div>
      {ex.resultId && (
        <div>
          <dt>record</dt>
          <dd>
            <a href={`#/history?result=${ex.resultId}`}>{ex.resultId.slice(0, 12)}</a>
          </dd>
        </div>
      )}
    </dl>
  );
}
