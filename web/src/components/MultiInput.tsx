/**
 * Models with several inputs in the Explain view: one .npy per named input (shown with its declared type and shape),
 * explained on the server (POST /api/explain-inputs) with the method, composite, parameters and target of the
 * sidebar; the attribution of every float input is drawn as a heatmap when it is image-shaped, listed otherwise.
 */
import { useEffect, useState } from 'react';
import { parseNpy, toFloat32 } from '../../../src/browser/index.js';
import { parseParams, type RouteState } from '../app/route';
import { useAsync } from '../app/useAsync';
import { api, toBase64, type InputsExplainRequest, type InputsExplainResult, type ModelSummary } from '../services/api';
import { parseTarget } from '../services/explain';
import type { Tensor } from '../services/tensor';
import { ErrorBox, Panel, Spinner } from './common';
import { ColorBar, fmt, Overlay } from './Overlay';
import { RunFacts } from './RunFacts';
import { TopKList } from './TopK';

interface Picked {
  file: string;
  npy: string;
  shape: number[];
  dtype: string;
}

export function MultiInputPanel({ model, route, set }: { model: ModelSummary; route: RouteState; set: (p: Partial<RouteState>, mode?: 'push' | 'replace') => void }) {
  const [picked, setPicked] = useState<Record<string, Picked>>({});
  const [fileErrors, setFileErrors] = useState<Record<string, string>>({});
  const [asked, setAsked] = useState(0);
  useEffect(() => {
    setPicked({});
    setAsked(0);
  }, [model.id]);
  const complete = model.inputs.every((i) => picked[i.name]);
  const pick = async (input: string, file: File | undefined) => {
    if (!file) return;
    setFileErrors((e) => ({ ...e, [input]: '' }));
    try {
      if (!file.name.toLowerCase().endsWith('.npy')) throw new Error(`${file.name} is not a .npy file: give each input as a NumPy array saved with numpy.save`);
      const bytes = new Uint8Array(await file.arrayBuffer());
      const a = parseNpy(bytes, file.name);
      setPicked((p) => ({ ...p, [input]: { file: file.name, npy: toBase64(bytes), shape: a.shape, dtype: a.dtype } }));
    } catch (e) {
      setFileErrors((x) => ({ ...x, [input]: (e as Error).message }));
    }
  };
  const key = JSON.stringify([model.id, asked, route.method, route.composite, route.params, route.target]);
  const run = useAsync<InputsExplainResult>(
    asked && complete
      ? () => {
          const params = parseParams(route.params);
          return api.explainInputs({
            modelId: model.id,
            inputs: Object.fromEntries(Object.entries(picked).map(([k, v]) => [k, { npy: v.npy, name: v.file }])),
            method: route.method as InputsExplainRequest['method'],
            ...(route.method === 'lrp' ? { composite: route.composite as InputsExplainRequest['composite'] } : {}),
            ...(Object.keys(params).length ? { params } : {}),
            target: parseTarget(route.target),
          });
        }
      : undefined,
    key,
  );
  const r = run.value;
  return (
    <div className="result-grid">
      <Panel title="Inputs" actions={run.loading ? <Spinner label="computing on the server…" /> : undefined}>
        <p className="small muted">{model.name} takes {model.inputs.length} inputs: give one sample of each as a .npy file (with or without the batch axis).</p>
        <table className="table inputs-table" data-testid="multi-inputs">
          <tbody>
            {model.inputs.map((i) => (
              <tr key={i.name}>
                <td className="mono">{i.name}</td>
                <td className="small muted">
                  {i.dtype} [{i.shape.join(', ')}]
                </td>
                <td>
                  <input type="file" accept=".npy" onChange={(e) => void pick(i.name, e.target.files?.[0])} data-testid={`input-file-${i.name}`} />
                  {picked[i.name] && (
                    <span className="small muted">
                      {' '}
                      {picked[i.name]!.file} · {picked[i.name]!.dtype} [{picked[i.name]!.shape.join(', ')}]
                    </span>
                  )}
                  {fileErrors[i.name] && (
                    <span className="error-text small" role="alert">
                      {' '}
                      {fileErrors[i.name]}
                    </span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <button type="button" className="button primary" disabled={!complete} onClick={() => setAsked((n) => n + 1)} data-testid="inputs-explain">
          Explain
        </button>
        <ErrorBox error={run.error} />
        {r && (
          <div className="input-attributions" data-testid="input-attributions">
            {r.attributions.map((a) => (
              <InputAttribution key={a.input} a={a} cmap={route.cmap} />
            ))}
            <RunFacts result={r} fileName={`inputs-${r.method}-class${r.target}.json`} testId="inputs-facts" />
          </div>
        )}
      </Panel>
      <Panel title="Predictions">{r ? <TopKList topk={r.topk} target={r.target} onPick={(c) => set({ target: String(c) })} /> : <p className="muted">…</p>}</Panel>
    </div>
  );
}

function InputAttribution({ a, cmap }: { a: InputsExplainResult['attributions'][number]; cmap: string }) {
  const t = useAsync<Tensor>(async () => {
    const arr = parseNpy(await api.artefact(a.attribution), `${a.input}.npy`);
    return { data: toFloat32(arr), dims: arr.shape };
  }, a.attribution);
  const image = a.dims.length === 3 || a.dims.length === 4;
  return (
    <figure className="input-attribution" data-testid={`attribution-${a.input}`} data-sum={a.relevanceSum}>
      <figcaption>
        <strong className="mono">{a.input}</strong> · relevance sum {fmt(a.relevanceSum)} ·{' '}
        <a href={api.artefactUrl(a.attribution)} download={`${a.input}-attribution.npy`}>
          .npy
        </a>
      </figcaption>
      {t.value && image && (
        <>
          <Overlay attribution={t.value} cmap={cmap} opacity={1} mode="blend" size={220} label={`heatmap of ${a.input}`} />
          <ColorBar cmap={cmap} attribution={t.value} mode="blend" />
        </>
      )}
      {t.value && !image && (
        <ol className="values mono small" start={0}>
          {Array.from(t.value.data.subarray(0, 64), (v, i) => (
            <li key={i}>{fmt(v)}</li>
          ))}
          {t.value.data.length > 64 && <li className="muted">… {t.value.data.length - 64} more in the .npy</li>}
        </ol>
      )}
    </figure>
  );
}
