/**
 * Reveal to Revise on a model: reveal (the Strategies view's findings, e.g. TCAV of an artefact concept), localise
 * (the artefact's CAV at a layer, the dataset ranked by artefact score with CAV-conditioned heatmaps), correct
 * (ClArC inserted after the layer as ONNX nodes, registered as a new model that every view can explain) and
 * re-evaluate (accuracy on a clean test set and its artefact-pasted twin, flips to the shortcut's class, the
 * artefact's relevance share — before and after). One `correction` job does the last three steps.
 */
import { useState } from 'react';
import type { RouteState } from '../app/route';
import { formatRoute } from '../app/route';
import { useAsync } from '../app/useAsync';
import { useWorkbench } from '../app/workbench';
import { Empty, ErrorBox, Field, Panel, Spinner } from '../components/common';
import { ModelSelect } from '../components/ModelSelect';
import { Overlay } from '../components/Overlay';
import { useFollowJob } from '../app/useFollowJob';
import { api, type Job } from '../services/api';
import { conceptsApi } from '../services/concepts-api';
import { classesOf, layerName } from './ConceptsView';

interface Evaluation {
  cleanAccuracy: number;
  artefactAccuracy: number;
  gap: number;
  flippedToClass: number;
  relevanceShare: number;
}

interface CorrectionResult {
  layer: string;
  mode: string;
  reactive: boolean;
  cav: { method: string; accuracy: number; cleanProjection: number; artefactProjection: number; threshold: number; concept: string; clean: string };
  ranked: number;
  aboveThreshold: number;
  ranking: { index: number; score: number }[];
  heatmapDims: [number, number];
  top: { index: number; heatmap: number[] }[];
  correctedModelId: string;
  correctedModelName: string;
  nodesAdded: number;
  evaluation?: { before: Evaluation; after: Evaluation; gapRatio: number; cleanLossPoints: number; regionPixels: number };
}

const pct = (v: number) => `${(100 * v).toFixed(1)} %`;

export function CorrectionView(props: { route: RouteState; set: (p: Partial<RouteState>, mode?: 'push' | 'replace') => void }) {
  const { route, set } = props;
  const wb = useWorkbench();
  const modelId = route.model ?? wb.models[0]?.id;
  const classCount = classesOf(wb.models.find((m) => m.id === modelId));
  const names = wb.datasets.map((d) => d.name);
  const pick = (choice: string | undefined, ...prefer: string[]) => (choice && names.includes(choice) ? choice : prefer.find((p) => names.includes(p)) ?? names[0]);
  const [choice, setChoice] = useState<Record<string, string>>({});
  const ds = {
    dataset: pick(choice.dataset, 'ch-mixed', 'mnist-test'),
    concept: pick(choice.concept, 'ch-square'),
    clean: pick(choice.clean, 'ch-clean', 'mnist-test'),
    test: pick(choice.test, 'ch-test', 'mnist-test'),
    pasted: pick(choice.pasted, 'ch-pasted'),
  };
  const [cls, setCls] = useState(3);
  const [mode, setMode] = useState<'mean-shift' | 'projection'>('mean-shift');
  const [reactive, setReactive] = useState(false);
  const [evaluate, setEvaluate] = useState(true);
  const layers = useAsync(modelId ? () => conceptsApi.layers(modelId) : undefined, modelId ?? '');
  const [layerChoice, setLayer] = useState<string>();
  const all = layers.value ?? [];
  const layer = all.find((l) => l.tensor === layerChoice) ?? all[Math.min(1, all.length - 1)];
  const [refresh, setRefresh] = useState(0);
  const jobs = useAsync(() => api.jobs(), `jobs:${refresh}`);
  const [running, setRunning] = useState<Job>();
  const [error, setError] = useState<unknown>();
  const done = (jobs.value ?? []).filter((j) => j.state === 'done' && j.params?.modelId === modelId).sort((a, b) => String(b.createdAt ?? '').localeCompare(String(a.createdAt ?? '')));
  const job = done.find((j) => j.kind === 'correction');
  const tcav = done.find((j) => j.kind === 'tcav');

  useFollowJob(running, setRunning, () => setRefresh((n) => n + 1), setError);

  const start = async () => {
    if (!modelId || !layer) return;
    setError(undefined);
    try {
      setRunning(
        await api.startJob({
          kind: 'correction',
          modelId,
          dataset: ds.dataset,
          layer: layer.tensor,
          concept: ds.concept,
          clean: ds.clean,
          mode,
          reactive,
          ...(evaluate ? { test: ds.test, pasted: ds.pasted, artefactClass: cls } : {}),
        }),
      );
    } catch (e) {
      setError(e);
    }
  };
  const busy = running && (running.state === 'queued' || running.state === 'running');
  const select = (key: keyof typeof ds, label: string, hint: string) => (
    <Field label={label} hint={hint}>
      <select value={ds[key] ?? ''} onChange={(e) => setChoice({ ...choice, [key]: e.target.value })} data-testid={`correction-${key}`}>
        {wb.datasets.map((d) => (
          <option key={d.name} value={d.name}>
            {d.name} ({d.count})
          </option>
        ))}
      </select>
    </Field>
  );

  return (
    <div className="workspace">
      <aside className="sidebar">
        <Field label="Model">
          <ModelSelect value={modelId} onChange={(model) => set({ model })} />
        </Field>
        <Field label="Layer" hint="the CAV lives here, and ClArC is inserted after it">
          <select value={layer?.tensor ?? ''} onChange={(e) => setLayer(e.target.value)} data-testid="correction-layer">
            {all.map((l) => (
              <option key={l.tensor} value={l.tensor}>
                {layerName(l.tensor)} · {l.channels} channels
              </option>
            ))}
          </select>
        </Field>
        <h3 className="section">Localise</h3>
        {select('concept', 'Inputs with the artefact', 'the CAV points from the clean inputs towards these')}
        {select('clean', 'Clean inputs', 'the counterexamples of the CAV')}
        {select('dataset', 'Rank', 'samples ranked by artefact score vᵀa')}
        <h3 className="section">Correct</h3>
        <Field label="ClArC" hint="projection: onto the CAV's complement; mean-shift: to the clean mean along it">
          <select value={mode} onChange={(e) => setMode(e.target.value as 'mean-shift' | 'projection')} data-testid="correction-mode">
            <option value="mean-shift">P-ClArC, mean-shift</option>
            <option value="projection">P-ClArC, projection</option>
          </select>
        </Field>
        <label className="check">
          <input type="checkbox" checked={reactive} onChange={(e) => setReactive(e.target.checked)} data-testid="correction-reactive" /> reactive (only above the artefact threshold)
        </label>
        <h3 className="section">Re-evaluate</h3>
        <label className="check">
          <input type="checkbox" checked={evaluate} onChange={(e) => setEvaluate(e.target.checked)} /> on a test set and its pasted twin
        </label>
        {evaluate && (
          <>
            {select('test', 'Clean test set', 'labelled')}
            {select('pasted', 'Same with the artefact', 'the same samples with the artefact pasted')}
            <Field label="Shortcut class" hint="the class the artefact pushes towards">
              <select value={cls} onChange={(e) => setCls(Number(e.target.value))} data-testid="correction-class">
                {Array.from({ length: classCount }, (_, c) => (
                  <option key={c} value={c}>
                    class {c}
                  </option>
                ))}
              </select>
            </Field>
          </>
        )}
        <button type="button" className="button" onClick={start} disabled={busy || !layer} data-testid="run-correction">
          Localise, correct, re-evaluate
        </button>
        {busy && (
          <div className="job-progress" data-testid="correction-progress">
            <span className="progress big">
              <span style={{ width: `${running.progress.total ? (100 * running.progress.done) / running.progress.total : 0}%` }} />
            </span>
            <span>
              step {running.progress.done} / {running.progress.total}
            </span>
          </div>
        )}
        <ErrorBox error={error ?? layers.error ?? jobs.error} />
      </aside>
      <main className="stage">
        {jobs.loading && !jobs.value && <Spinner />}
        <Panel title="1 · Reveal">
          {tcav ? (
            <p className="small" data-testid="correction-reveal">
              TCAV of <strong>{String(tcav.params?.concept)}</strong> for class {String(tcav.params?.class)} at {layerName(String(tcav.params?.layer))}: {Number((tcav.result as { tcav?: { mean: number } })?.tcav?.mean ?? 0).toFixed(2)} against{' '}
              {Number((tcav.result as { random?: { mean: number } })?.random?.mean ?? 0).toFixed(2)} for random CAVs ({(tcav.result as { significant?: boolean })?.significant ? 'significant' : 'not significant'}).
            </p>
          ) : (
            <Empty>
              Find the spurious behaviour first: SpRAy, PCX or TCAV in the <a href={formatRoute({ ...route, view: 'strategies' })}>Strategies</a> view.
            </Empty>
          )}
        </Panel>
        <CorrectionPanels job={job} route={route} />
      </main>
    </div>
  );
}

function CorrectionPanels({ job, route }: { job?: Job; route: RouteState }) {
  if (!job) {
    return (
      <Panel title="2 · Localise · 3 · Correct · 4 · Re-evaluate">
        <Empty>No correction of this model yet: choose the artefact's inputs and a layer, then run on the left.</Empty>
      </Panel>
    );
  }
  const r = job.result as unknown as CorrectionResult;
  const [h, w] = r.heatmapDims;
  const ds = String(job.params?.dataset ?? '');
  const e = r.evaluation;
  return (
    <>
      <Panel title={`2 · Localise · CAV at ${layerName(r.layer)}`}>
        <p className="small" data-testid="correction-localise">
          The {r.cav.method} CAV separates <strong>{r.cav.concept}</strong> from {r.cav.clean} with accuracy {pct(r.cav.accuracy)}; {r.aboveThreshold} of the {r.ranked} samples of {ds} score above its threshold {r.cav.threshold.toFixed(2)}. The
          highest-ranked samples and where their artefact score comes from (relevance of R = a ⊙ v at the layer, carried to the input by LRP):
        </p>
        <div className="correction-top" style={{ display: 'flex', flexWrap: 'wrap', gap: 8 }}>
          {r.top.map((t) => (
            <figure key={t.index} style={{ margin: 0, textAlign: 'center' }} data-testid="correction-top">
              <img src={api.sampleUrl(ds, t.index)} alt={`sample ${t.index}`} width={72} height={72} style={{ imageRendering: 'pixelated' }} />
              <Overlay attribution={{ data: Float32Array.from(t.heatmap), dims: [1, 1, h, w] }} cmap="bwr" opacity={1} size={72} label={`CAV-conditioned relevance of #${t.index}`} />
              <figcaption className="small muted">
                #{t.index} · {r.ranking.find((x) => x.index === t.index)?.score.toFixed(1)}
              </figcaption>
            </figure>
          ))}
        </div>
      </Panel>
      <Panel title="3 · Correct">
        <p className="small" data-testid="correction-model">
          {r.reactive ? 'Reactive ' : ''}P-ClArC ({r.mode}) inserted after {layerName(r.layer)} as {r.nodesAdded} ONNX nodes: <strong>{r.correctedModelName}</strong>, a model of its own —{' '}
          <a href={formatRoute({ ...route, view: 'explain', model: r.correctedModelId })}>explain it</a>.
        </p>
      </Panel>
      <Panel title="4 · Re-evaluate">
        {e ? (
          <div data-testid="correction-evaluation">
            <p className="small">
              Gap between clean and pasted accuracy: <strong>{(100 * e.before.gap).toFixed(1)}</strong> → <strong>{(100 * e.after.gap).toFixed(1)}</strong> points; clean accuracy {e.cleanLossPoints >= 0 ? '−' : '+'}
              {Math.abs(e.cleanLossPoints).toFixed(1)} points.
            </p>
            <table className="table small">
              <thead>
                <tr>
                  <th />
                  <th>clean accuracy</th>
                  <th>with the artefact</th>
                  <th>flips to the class</th>
                  <th>artefact relevance share</th>
                </tr>
              </thead>
              <tbody>
                {(['before', 'after'] as const).map((k) => (
                  <tr key={k}>
                    <td>{k}</td>
                    <td>{pct(e[k].cleanAccuracy)}</td>
                    <td>{pct(e[k].artefactAccuracy)}</td>
                    <td>{pct(e[k].flippedToClass)}</td>
                    <td>{e[k].relevanceShare.toFixed(3)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <svg viewBox="0 0 420 130" width={420} height={130} role="img" aria-label="before and after">
              {[
                ['clean acc.', e.before.cleanAccuracy, e.after.cleanAccuracy],
                ['with artefact', e.before.artefactAccuracy, e.after.artefactAccuracy],
                ['flips', e.before.flippedToClass, e.after.flippedToClass],
                ['rel. share', e.before.relevanceShare, e.after.relevanceShare],
              ].map(([label, b, a], i) => (
                <g key={String(label)} transform={`translate(${10 + i * 105},0)`}>
                  <rect x={10} y={100 - 90 * Number(b)} width={30} height={90 * Number(b)} fill="#4c78a8" />
                  <rect x={44} y={100 - 90 * Number(a)} width={30} height={90 * Number(a)} fill="#e45756" />
                  <text x={42} y={118} fontSize={11} textAnchor="middle">
                    {String(label)}
                  </text>
                </g>
              ))}
            </svg>
            <p className="small muted">blue: before · red: after</p>
          </div>
        ) : (
          <Empty>Not re-evaluated: tick “on a test set and its pasted twin”.</Empty>
        )}
      </Panel>
    </>
  );
}
