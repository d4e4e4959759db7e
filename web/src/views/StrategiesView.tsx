/**
 * Strategies of a model over a dataset: SpRAy (a class's heatmaps clustered spectrally — the 2-D map, each cluster's
 * mean heatmap and members; a small cluster whose mean lights up something other than the object is a Clever-Hans
 * strategy) and PCX (per class, prototypes of the concept-relevance vectors at a layer, their concept compositions
 * and the samples that deviate from every prototype). Both run as jobs (`spray`, `pcx`); the view starts them, shows
 * progress and reads their stored results, newest first.
 */
import { useEffect, useState } from 'react';
import type { RouteState } from '../app/route';
import { useAsync } from '../app/useAsync';
import { useWorkbench } from '../app/workbench';
import { Empty, ErrorBox, Field, Panel, Spinner } from '../components/common';
import { ModelSelect } from '../components/ModelSelect';
import { Overlay } from '../components/Overlay';
import { useFollowJob } from '../app/useFollowJob';
import { api, type Job } from '../services/api';
import { conceptsApi, type PcxResult, type SprayResult } from '../services/concepts-api';
import { classesOf, layerName } from './ConceptsView';

const COLORS = ['#4f46e5', '#e11d48', '#059669', '#d97706', '#0891b2', '#7c3aed', '#65a30d', '#db2777', '#0d9488', '#9333ea'];
const colorOf = (c: number) => COLORS[c % COLORS.length]!;

type Kind = 'spray' | 'pcx' | 'tcav';

export function StrategiesView(props: { route: RouteState; set: (p: Partial<RouteState>, mode?: 'push' | 'replace') => void }) {
  const { route, set } = props;
  const wb = useWorkbench();
  const modelId = route.model ?? wb.models[0]?.id;
  const classCount = classesOf(wb.models.find((m) => m.id === modelId));
  const labelled = wb.datasets.filter((d) => d.labels);
  const [dsChoice, setDs] = useState<string>();
  const dataset = labelled.find((d) => d.name === dsChoice) ?? labelled.find((d) => d.name === 'mnist-test') ?? labelled[0];
  const [cls, setCls] = useState(3);
  const [count, setCount] = useState(300);
  const layers = useAsync(modelId ? () => conceptsApi.layers(modelId) : undefined, modelId ?? '');
  const [layerChoice, setLayer] = useState<string>();
  const all = layers.value ?? [];
  const layer = all.find((l) => l.tensor === layerChoice) ?? all[Math.min(1, all.length - 1)];
  const [refresh, setRefresh] = useState(0);
  const jobs = useAsync(() => api.jobs(), `jobs:${refresh}`);
  const [running, setRunning] = useState<Job>();
  const [error, setError] = useState<unknown>();
  const latest = (kind: Kind) => (jobs.value ?? []).filter((j) => j.kind === kind && j.state === 'done' && j.params?.modelId === modelId).sort((a, b) => String(b.createdAt ?? '').localeCompare(String(a.createdAt ?? '')))[0];
  const sprayJob = latest('spray');
  const pcxJob = latest('pcx');
  const tcavJob = latest('tcav');
  const [conceptChoice, setConcept] = useState<string>();
  const conceptDs = wb.datasets.find((d) => d.name === conceptChoice) ?? wb.datasets.find((d) => d.name !== dataset?.name && !d.labels) ?? wb.datasets.find((d) => d.name !== dataset?.name);

  useFollowJob(running, setRunning, () => setRefresh((n) => n + 1), setError);

  const start = async (kind: Kind) => {
    if (!modelId || !dataset) return;
    setError(undefined);
    const body =
      kind === 'spray'
        ? { kind, modelId, dataset: dataset.name, class: cls, count }
        : kind === 'pcx'
          ? { kind, modelId, dataset: dataset.name, layer: layer?.tensor, count }
          : { kind, modelId, dataset: dataset.name, class: cls, layer: layer?.tensor, concept: conceptDs?.name, count: Math.min(count, 1000) };
    try {
      setRunning(await api.startJob(body));
    } catch (e) {
      setError(e);
    }
  };
  const busy = running && (running.state === 'queued' || running.state === 'running');

  return (
    <div className="workspace">
      <aside className="sidebar">
        <Field label="Model">
          <ModelSelect value={modelId} onChange={(model) => set({ model })} />
        </Field>
        {dataset ? (
          <>
            <Field label="Dataset" hint={`the first samples of ${dataset.name} (${dataset.count.toLocaleString()})`}>
              <select value={dataset.name} onChange={(e) => setDs(e.target.value)} data-testid="strategies-dataset">
                {labelled.map((d) => (
                  <option key={d.name} value={d.name}>
                    {d.name}
                  </option>
                ))}
              </select>
            </Field>
            <Field label="Samples">
              <input type="number" min={3} max={Math.min(dataset.count, 5000)} value={count} onChange={(e) => setCount(Math.max(3, Math.min(dataset.count, 5000, Number(e.target.value) || 3)))} data-testid="strategies-count" />
            </Field>
            <h3 className="section">SpRAy</h3>
            <Field label="Class" hint="the heatmaps of this class's samples (LRP) are clustered">
              <select value={cls} onChange={(e) => setCls(Number(e.target.value))} data-testid="spray-class">
                {Array.from({ length: classCount }, (_, c) => (
                  <option key={c} value={c}>
                    class {c}
                  </option>
                ))}
              </select>
            </Field>
            <button type="button" className="button" onClick={() => start('spray')} disabled={busy} data-testid="run-spray">
              Run SpRAy
            </button>
            <h3 className="section">PCX prototypes</h3>
            <Field label="Concept layer" hint="prototypes of the relevance per channel at this layer, per class">
              <select value={layer?.tensor ?? ''} onChange={(e) => setLayer(e.target.value)} data-testid="pcx-layer">
                {all.map((l) => (
                  <option key={l.tensor} value={l.tensor}>
                    {layerName(l.tensor)} · {l.channels} channels
                  </option>
                ))}
              </select>
            </Field>
            <button type="button" className="button" onClick={() => start('pcx')} disabled={busy || !layer} data-testid="run-pcx">
              Fit prototypes
            </button>
            <h3 className="section">TCAV</h3>
            <Field label="Concept examples" hint={`a dataset of inputs showing the concept; random sets come from ${dataset.name}; class and layer as above`}>
              <select value={conceptDs?.name ?? ''} onChange={(e) => setConcept(e.target.value)} data-testid="tcav-concept">
                {wb.datasets.map((d) => (
                  <option key={d.name} value={d.name}>
                    {d.name} ({d.count})
                  </option>
                ))}
              </select>
            </Field>
            <button type="button" className="button" onClick={() => start('tcav')} disabled={busy || !layer || !conceptDs} data-testid="run-tcav">
              Test the concept
            </button>
            {busy && (
              <div className="job-progress" data-testid="strategies-progress">
                <span className="progress big">
                  <span style={{ width: `${running.progress.total ? (100 * running.progress.done) / running.progress.total : 0}%` }} />
                </span>
                <span>
                  {running.kind} {running.progress.done} / {running.progress.total}
                </span>
                <button type="button" onClick={() => api.cancelJob(running.id).then(setRunning, setError)}>
                  Cancel
                </button>
              </div>
            )}
          </>
        ) : (
          <p className="muted small">No labelled dataset registered.</p>
        )}
        <ErrorBox error={error ?? layers.error ?? jobs.error} />
      </aside>
      <main className="stage">
        {jobs.loading && !jobs.value && <Spinner />}
        <SprayPanel job={sprayJob} />
        <PcxPanel job={pcxJob} />
        <TcavPanel job={tcavJob} />
      </main>
    </div>
  );
}

function datasetOf(job: Job): string {
  return String(job.params?.dataset ?? '');
}

function SprayPanel({ job }: { job?: Job }) {
  const [cluster, setCluster] = useState<number>();
  useEffect(() => setCluster(undefined), [job?.id]);
  if (!job) {
    return (
      <Panel title="SpRAy">
        <Empty>No SpRAy result for this model yet: choose a class and run SpRAy on the left.</Empty>
      </Panel>
    );
  }
  const r = job.result as unknown as SprayResult;
  const ds = datasetOf(job);
  const shown = r.clusters.find((c) => c.label === cluster) ?? [...r.clusters].sort((a, b) => a.size - b.size)[0]!;
  return (
    <Panel title={`SpRAy · class ${r.class} · ${r.points.length} heatmaps (${r.method})`}>
      <p className="muted small" data-testid="spray-summary">
        The eigengap suggests <strong>{r.suggestedClusters}</strong> strategies (largest gap after eigenvalue {r.suggestedClusters}: {r.eigengaps[r.suggestedClusters - 1]?.toFixed(4)}). Each cluster: its mean normalised heatmap
        and the members nearest its centre. Click a cluster or a point.
      </p>
      <div className="spray-layout">
        <figure className="chart spray-map" data-testid="spray-embedding">
          <figcaption>2-D map (UMAP of the kNN graph)</figcaption>
          <svg viewBox="-0.05 -0.05 1.1 1.1" width={320} height={320} role="img" aria-label="SpRAy embedding">
            {r.points.map((p) => (
              <circle key={p.index} cx={p.x} cy={1 - p.y} r={p.cluster === shown.label ? 0.013 : 0.009} fill={colorOf(p.cluster)} opacity={p.cluster === shown.label ? 0.95 : 0.45} onClick={() => setCluster(p.cluster)}>
                <title>
                  #{p.index} · cluster {p.cluster}
                </title>
              </circle>
            ))}
          </svg>
        </figure>
        <div className="spray-clusters" data-testid="spray-clusters">
          {r.clusters.map((c) => (
            <button type="button" key={c.label} className={c.label === shown.label ? 'spray-cluster active' : 'spray-cluster'} onClick={() => setCluster(c.label)} data-testid="spray-cluster" style={{ borderColor: colorOf(c.label) }}>
              <Overlay attribution={{ data: Float32Array.from(c.meanHeatmap), dims: [1, 1, r.h, r.w] }} cmap="bwr" opacity={1} size={96} label={`mean heatmap of cluster ${c.label}`} />
              <span>
                cluster {c.label} · {c.size}
              </span>
            </button>
          ))}
        </div>
      </div>
      <h3 className="section">Cluster {shown.label}: {shown.size} members, nearest the centre first</h3>
      <div className="thumbs wide" data-testid="spray-members">
        {shown.members.slice(0, 24).map((m) => (
          <img key={m} src={api.sampleUrl(ds, m)} alt={`sample ${m}`} title={`${ds} #${m}`} className="member" />
        ))}
      </div>
    </Panel>
  );
}

function PcxPanel({ job }: { job?: Job }) {
  const r = job?.result as PcxResult | undefined;
  const [clsChoice, setCls] = useState<number>();
  if (!job || !r) {
    return (
      <Panel title="PCX prototypes">
        <Empty>No PCX result for this model yet: pick a concept layer and fit prototypes on the left.</Empty>
      </Panel>
    );
  }
  const ds = datasetOf(job);
  const c = r.classes.find((x) => x.class === clsChoice) ?? r.classes[0];
  return (
    <Panel
      title={`PCX · ${layerName(r.layer)} (${r.concepts} concepts) · ${r.used} of ${r.samples} samples (correctly predicted)`}
      actions={
        <select value={c?.class ?? ''} onChange={(e) => setCls(Number(e.target.value))} aria-label="class" data-testid="pcx-class">
          {r.classes.map((x) => (
            <option key={x.class} value={x.class}>
              class {x.class}
            </option>
          ))}
        </select>
      }
    >
      {c && (
        <>
          <p className="muted small" data-testid="pcx-summary">
            Class {c.class}: {c.prototypes.length} prototype{c.prototypes.length === 1 ? '' : 's'} (Gaussian mixture, chosen by BIC); samples below log-likelihood {c.threshold.toFixed(1)} (the 5 % quantile) are outliers:{' '}
            {c.outliers.length}.
          </p>
          <div className="concept-grid" data-testid="pcx-prototypes">
            {c.prototypes.map((p) => (
              <figure className="concept-card" key={p.index} data-testid="pcx-prototype">
                <figcaption>
                  <strong>prototype {p.index}</strong>
                  <span className="concept-share">
                    {(p.weight * 100).toFixed(0)} % · {p.size} samples
                  </span>
                </figcaption>
                <div className="refs">
                  {p.closest.slice(0, 4).map((i) => (
                    <img key={i} src={api.sampleUrl(ds, i)} alt={`sample ${i}`} title={`${ds} #${i}`} />
                  ))}
                </div>
                <ul className="bars compact">
                  {p.topConcepts.slice(0, 4).map((t) => (
                    <li key={t.concept}>
                      <span className="bar-label">concept #{t.concept}</span>
                      <span className="bar">
                        <span className={t.relevance < 0 ? 'neg' : ''} style={{ width: `${Math.min(100, Math.abs(t.relevance) * 100)}%` }} />
                      </span>
                      <span className="bar-value">{(t.relevance * 100).toFixed(0)} %</span>
                    </li>
                  ))}
                </ul>
              </figure>
            ))}
          </div>
          {c.outliers.length > 0 && (
            <>
              <h3 className="section">Outliers: deviate from every prototype</h3>
              <table className="table" data-testid="pcx-outliers">
                <thead>
                  <tr>
                    <th>sample</th>
                    <th>log-likelihood</th>
                    <th>closest prototype</th>
                    <th>uses more</th>
                    <th>uses less</th>
                  </tr>
                </thead>
                <tbody>
                  {c.outliers.slice(0, 8).map((o) => (
                    <tr key={o.index}>
                      <td>
                        <img className="member" src={api.sampleUrl(ds, o.index)} alt={`sample ${o.index}`} /> #{o.index}
                      </td>
                      <td>{o.logLikelihood.toFixed(1)}</td>
                      <td>{o.prototype}</td>
                      <td>{o.overUsed.slice(0, 3).map((u) => `#${u.concept} (+${(u.by * 100).toFixed(0)} %)`).join(', ')}</td>
                      <td>{o.underUsed.slice(0, 3).map((u) => `#${u.concept} (${(u.by * 100).toFixed(0)} %)`).join(', ')}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
        </>
      )}
    </Panel>
  );
}

interface TcavResult {
  class: number;
  layer: string;
  concept: string;
  randomDataset: string;
  classSamples: number;
  cav: string;
  alpha: number;
  significance: number;
  tcav: { mean: number; std: number };
  alphaTcav: { mean: number; std: number };
  random: { mean: number; std: number };
  randomAlpha: { mean: number; std: number };
  p: number;
  alphaP: number;
  significant: boolean;
  runs: { tcav: number; alphaTcav: number; accuracy: number }[];
  randomRuns: { tcav: number; alphaTcav: number; accuracy: number }[];
}

/** TCAV scores of the concept's CAVs (one dot per random counterexample set) beside random CAVs', with the t-test. */
function TcavPanel({ job }: { job?: Job }) {
  const r = job?.result as TcavResult | undefined;
  if (!job || !r) {
    return (
      <Panel title="TCAV">
        <Empty>No TCAV result for this model yet: pick concept examples and test the concept on the left.</Empty>
      </Panel>
    );
  }
  const col = (x: number, runs: { tcav: number; alphaTcav: number }[], key: 'tcav' | 'alphaTcav', fill: string) =>
    runs.map((q, i) => <circle key={`${key}${x}${i}`} cx={x + 14 * ((i % 5) / 4 - 0.5)} cy={150 - 130 * q[key]} r={4} fill={fill} opacity={0.8} />);
  return (
    <Panel title={`TCAV · concept ${r.concept} · class ${r.class} · ${layerName(r.layer)}`}>
      <p className="small" data-testid="tcav-summary" data-significant={r.significant}>
        TCAV score <strong>{r.tcav.mean.toFixed(2)}</strong> ± {r.tcav.std.toFixed(2)} against {r.random.mean.toFixed(2)} ± {r.random.std.toFixed(2)} for random CAVs: p = {r.p.toPrecision(2)},{' '}
        <strong>{r.significant ? 'significant' : 'not significant'}</strong> at {r.significance}. α-TCAV (α = {r.alpha}) {r.alphaTcav.mean.toFixed(2)} against {r.randomAlpha.mean.toFixed(2)} (p = {r.alphaP.toPrecision(2)}). {r.runs.length} {r.cav} CAVs over{' '}
        {r.classSamples} samples of class {r.class}, counterexamples drawn from {r.randomDataset}.
      </p>
      <figure className="chart tcav-chart" data-testid="tcav-chart">
        <svg viewBox="0 0 340 170" width={340} height={170} role="img" aria-label="TCAV scores of concept and random CAVs">
          <line className="axis" x1={30} x2={330} y1={150} y2={150} />
          <line className="axis" x1={30} x2={330} y1={20} y2={20} strokeDasharray="3 3" />
          <line className="axis" x1={30} x2={330} y1={85} y2={85} strokeDasharray="1 4" />
          <text x={4} y={24} fontSize={10}>1</text>
          <text x={4} y={89} fontSize={10}>½</text>
          <text x={4} y={154} fontSize={10}>0</text>
          {col(80, r.runs, 'tcav', '#4f46e5')}
          {col(140, r.randomRuns, 'tcav', '#9ca3af')}
          {col(220, r.runs, 'alphaTcav', '#4f46e5')}
          {col(280, r.randomRuns, 'alphaTcav', '#9ca3af')}
          <text x={110} y={166} fontSize={10} textAnchor="middle">TCAV: concept · random</text>
          <text x={250} y={166} fontSize={10} textAnchor="middle">α-TCAV: concept · random</text>
        </svg>
      </figure>
    </Panel>
  );
}
