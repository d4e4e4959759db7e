/**
 * Lens (SemanticLens): the model's components placed in a foundation model's embedding space. Pick a model, a
 * reference set (Concepts view, or built here) and a foundation model; embed the components (a `lens-embed` job with
 * progress); then search them by text — ranked components with their reference samples, labels and clarity — open
 * one for its detail and PURE's split into virtual components, steer the found components (suppress or amplify,
 * compiled into the graph: a sample's prediction and heatmap before and after, or a corrected model), and audit a
 * class against concepts it should and should not rely on.
 */
import { useEffect, useState } from 'react';
import type { RouteState } from '../app/route';
import { useAsync } from '../app/useAsync';
import { useWorkbench } from '../app/workbench';
import { Empty, ErrorBox, Field, Panel, Spinner } from '../components/common';
import { BarChart } from '../components/Charts';
import { ModelSelect } from '../components/ModelSelect';
import { api, type Job } from '../services/api';
import { conceptsApi, followJob } from '../services/concepts-api';
import { lensApi, type AuditReport, type Hit, type LensIndexSummary, type PureSplit, type SteerResult } from '../services/lens-api';
import { layerName } from './ConceptsView';

const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);

export function LensView(props: { route: RouteState; set: (p: Partial<RouteState>, mode?: 'push' | 'replace') => void }) {
  const { route, set } = props;
  const wb = useWorkbench();
  const modelId = route.model ?? wb.models[0]?.id;
  const [refresh, setRefresh] = useState(0);
  const foundations = useAsync(() => lensApi.foundations(), 'foundations');
  const [foundationChoice, setFoundation] = useState<string>();
  const foundation = foundations.value?.find((f) => f.name === foundationChoice) ?? foundations.value?.[0];
  const sets = useAsync(modelId ? () => conceptsApi.referenceSets(modelId) : undefined, `${modelId}:${refresh}`);
  const complete = (sets.value ?? []).filter((s) => s.complete);
  const [setChoice, setSet] = useState<string>();
  const refSet = complete.find((s) => s.id === setChoice) ?? complete[0];
  const indexes = useAsync(modelId ? () => lensApi.indexes(modelId) : undefined, `${modelId}:${refresh}`);
  const index = (indexes.value ?? []).find((i) => i.referenceSet === refSet?.id && i.foundation === foundation?.name);
  const [selected, setSelected] = useState<Hit>();
  const [found, setFound] = useState<Hit[]>([]);
  useEffect(() => setSelected(undefined), [index?.id]);

  return (
    <div className="workspace">
      <aside className="sidebar">
        <Field label="Model">
          <ModelSelect value={modelId} onChange={(model) => set({ model })} />
        </Field>
        <Field label="Foundation model" hint={foundation ? `${foundation.dim}-d embeddings${foundation.hasText ? ', text and images' : ', images only'}` : 'none registered'}>
          <select value={foundation?.name ?? ''} onChange={(e) => setFoundation(e.target.value)} data-testid="lens-foundation">
            {(foundations.value ?? []).map((f) => (
              <option key={f.name} value={f.name}>
                {f.name}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Reference samples" hint={refSet ? `${refSet.dataset}: top ${refSet.spec.k} per channel of ${refSet.spec.layers.length} layers` : 'none yet'}>
          <select value={refSet?.id ?? ''} onChange={(e) => setSet(e.target.value)} data-testid="lens-refset">
            {complete.map((s) => (
              <option key={s.id} value={s.id}>
                {s.dataset} · k {s.spec.k} · {s.spec.layers.map(layerName).join(', ')}
              </option>
            ))}
          </select>
        </Field>
        {modelId && <BuildPanel modelId={modelId} referenceSet={refSet?.id} foundation={foundation?.name} index={index} onChange={() => setRefresh((n) => n + 1)} />}
      </aside>
      <main className="stage">
        <ErrorBox error={foundations.error ?? sets.error ?? indexes.error} />
        {!index ? (
          <Panel title="Lens">
            <p className="lead">Embed the model's components in the foundation model's space first (left). Each channel is represented by the embedding of its top reference samples, cropped to the concept.</p>
          </Panel>
        ) : (
          <>
            <SearchPanel index={index} vocabulary={foundation?.vocabulary ?? []} selected={selected} onSelect={setSelected} onResults={setFound} />
            {selected && <ComponentPanel index={index} hit={selected} />}
            <SteerPanel index={index} hits={found} />
            <AuditPanel index={index} classCount={10} />
          </>
        )}
      </main>
    </div>
  );
}

/** Builds reference samples (if the model has none) and the lens index (a lens-embed job with progress). */
function BuildPanel(props: { modelId: string; referenceSet?: string; foundation?: string; index?: LensIndexSummary; onChange: () => void }) {
  const wb = useWorkbench();
  const [job, setJob] = useState<Job>();
  const [error, setError] = useState<unknown>();
  const running = job && (job.state === 'queued' || job.state === 'running');
  const onChange = props.onChange;
  useEffect(() => {
    if (!job || !running) return;
    const ctl = new AbortController();
    followJob(job.id, setJob, ctl.signal).then((j) => {
      if (j.state !== 'running' && j.state !== 'queued') onChange();
      if (j.state === 'failed') setError(new Error(j.error || 'the job failed'));
    }, setError);
    return () => ctl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [job?.id]);
  const ds = wb.datasets.find((d) => d.name === 'mnist-test') ?? wb.datasets.find((d) => d.labels) ?? wb.datasets[0];
  const start = async (what: 'references' | 'embed') => {
    setError(undefined);
    try {
      if (what === 'references') {
        const layers = (await conceptsApi.layers(props.modelId)).slice(0, 3).map((l) => l.tensor);
        setJob(await conceptsApi.buildReferences({ modelId: props.modelId, dataset: ds!.name, layers, k: 16 }));
      } else setJob(await lensApi.embed({ referenceSet: props.referenceSet!, foundation: props.foundation! }));
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div className="references-panel" data-testid="lens-build">
      <h3 className="section">Lens index</h3>
      {props.index && (
        <p className="small" data-testid="lens-index" data-components={props.index.components}>
          {props.index.components} components embedded ({props.index.skipped} dead skipped), mean clarity {props.index.meanClarity.toFixed(2)}
        </p>
      )}
      {running ? (
        <div className="job-progress" data-testid="lens-progress">
          <span className="progress big">
            <span style={{ width: `${job.progress.total ? (100 * job.progress.done) / job.progress.total : 0}%` }} />
          </span>
          <span>
            {job.kind === 'lens-embed' ? 'components' : 'samples'} {job.progress.done} / {job.progress.total}
          </span>
          <button type="button" onClick={() => api.cancelJob(job.id).then(setJob, setError)}>
            Cancel
          </button>
        </div>
      ) : !props.referenceSet ? (
        ds ? (
          <button type="button" className="button" onClick={() => start('references')} data-testid="lens-build-references">
            Build reference samples on {ds.name}
          </button>
        ) : (
          <p className="muted small">No dataset registered.</p>
        )
      ) : (
        <button type="button" className="button" onClick={() => start('embed')} disabled={!props.foundation} data-testid="lens-embed">
          {props.index ? 'Embed again' : 'Embed components'}
        </button>
      )}
      <ErrorBox error={error} />
    </div>
  );
}

function SearchPanel(props: { index: LensIndexSummary; vocabulary: string[]; selected?: Hit; onSelect: (h: Hit) => void; onResults: (h: Hit[]) => void }) {
  const [text, setText] = useState('seven');
  const [query, setQuery] = useState('seven');
  const [vocab, setVocab] = useState(props.vocabulary.join(', '));
  useEffect(() => setVocab(props.vocabulary.join(', ')), [props.vocabulary.join(',')]);
  const key = JSON.stringify([props.index.id, query, vocab]);
  const res = useAsync(query ? () => lensApi.search(props.index.id, { text: query, top: 8, vocabulary: list(vocab), threshold: 0.3 }) : undefined, key);
  const onResults = props.onResults;
  useEffect(() => onResults(res.value?.results ?? []), [res.value, onResults]);
  return (
    <Panel title="Search components" actions={res.loading ? <Spinner label="searching…" /> : undefined}>
      <form
        className="inline-controls"
        onSubmit={(e) => {
          e.preventDefault();
          setQuery(text.trim());
        }}
      >
        <input value={text} onChange={(e) => setText(e.target.value)} placeholder="a concept, e.g. seven or a loop" aria-label="search text" data-testid="lens-query" style={{ minWidth: 260 }} />
        <button type="submit" className="button" data-testid="lens-search">
          Search
        </button>
        <input value={vocab} onChange={(e) => setVocab(e.target.value)} aria-label="label vocabulary" title="labels: the best of these concepts per component (calibrated score ≥ 0.3)" data-testid="lens-vocabulary" style={{ minWidth: 300 }} />
      </form>
      <ErrorBox error={res.error} />
      <p className="muted small">Ranked by cosine between the text's embedding and each component's (the mean embedding of its cropped reference samples); calibrated = cosine minus the mean cosine with neutral prompts.</p>
      <div className="lens-results" data-testid="lens-results">
        {(res.value?.results ?? []).map((h) => (
          <figure key={`${h.layer}#${h.channel}`} className={props.selected && props.selected.layer === h.layer && props.selected.channel === h.channel ? 'concept-card selected' : 'concept-card'} onClick={() => props.onSelect(h)} data-testid="lens-hit" data-layer={h.layer} data-channel={h.channel} style={{ cursor: 'pointer' }}>
            <figcaption>
              <strong>
                {h.rank}. {layerName(h.layer)} #{h.channel}
              </strong>
              <span className="concept-share">cos {h.cosine.toFixed(2)} · cal {h.calibrated.toFixed(2)}</span>
            </figcaption>
            <img src={h.strip} alt={`reference samples of ${h.layer} #${h.channel}`} className="lens-strip" />
            <p className="small">
              label <strong data-testid="lens-label">{h.label ?? '—'}</strong> · clarity {h.clarity.toFixed(2)}
              {h.polysemantic ? ' · possibly polysemantic' : ''}
            </p>
          </figure>
        ))}
        {res.value && res.value.results.length === 0 && <Empty>No component.</Empty>}
      </div>
    </Panel>
  );
}

function ComponentPanel(props: { index: LensIndexSummary; hit: Hit }) {
  const { index, hit } = props;
  const detail = useAsync(() => lensApi.component(index.id, hit.layer, hit.channel), `${index.id}:${hit.layer}:${hit.channel}`);
  const layers = index.spec.layers;
  const lowerOptions = layers.filter((l) => l !== hit.layer);
  const [lower, setLower] = useState<string>();
  const low = lower && lowerOptions.includes(lower) ? lower : lowerOptions[Math.max(0, layers.indexOf(hit.layer) - 1)] ?? lowerOptions[0];
  const [split, setSplit] = useState<PureSplit>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  useEffect(() => setSplit(undefined), [hit.layer, hit.channel]);
  const d = detail.value;
  return (
    <Panel title={`Component ${layerName(hit.layer)} #${hit.channel}`} actions={detail.loading ? <Spinner /> : undefined}>
      <ErrorBox error={detail.error ?? error} />
      {d && (
        <div data-testid="lens-component">
          <img src={d.strip} alt="reference samples" className="lens-strip wide" />
          <p className="small">
            clarity {d.clarity.toFixed(3)} · spread {d.polysemanticity.spread.toFixed(3)} · 2-way silhouette {d.polysemanticity.silhouette.toFixed(2)} ({d.polysemanticity.clusters > 1 ? 'possibly polysemantic' : 'one meaning'}) {d.nearest ? `· nearest ${layerName(d.nearest.layer)} #${d.nearest.channel} (cos ${d.nearest.cosine.toFixed(2)})` : ''}
          </p>
        </div>
      )}
      {low && (
        <div className="inline-controls">
          <span className="small">PURE: cluster its circuits in</span>
          <select value={low} onChange={(e) => setLower(e.target.value)} aria-label="lower layer" data-testid="lens-lower">
            {lowerOptions.map((l) => (
              <option key={l} value={l}>
                {layerName(l)}
              </option>
            ))}
          </select>
          <button
            type="button"
            className="button"
            data-testid="lens-pure"
            disabled={busy}
            onClick={async () => {
              setBusy(true);
              setError(undefined);
              try {
                setSplit(await lensApi.pure(index.id, { layer: hit.layer, channel: hit.channel, lower: low }));
              } catch (e) {
                setError(e);
              } finally {
                setBusy(false);
              }
            }}
          >
            Split (PURE)
          </button>
          {busy && <Spinner label="clustering circuits…" />}
        </div>
      )}
      {split && (
        <div data-testid="lens-pure-result" data-k={split.k}>
          <p className="small">
            {split.k} virtual components (silhouette {split.silhouette.toFixed(2)}): clarity {split.clarity.toFixed(3)} → {split.splitClarity.toFixed(3)} — {split.clearer ? 'the split is clearer' : 'the split is not clearer'}
          </p>
          {split.clusters.map((c, i) => (
            <figure key={c.cluster} className="concept-card small" data-testid="lens-pure-cluster">
              <figcaption>
                <strong>virtual #{c.cluster}</strong>
                <span className="concept-share">
                  {c.size} samples · clarity {c.clarity.toFixed(2)} · via {c.circuit.slice(0, 3).map((x) => `#${x.channel}`).join(' ')}
                </span>
              </figcaption>
              <img src={split.strips[i]} alt={`cluster ${c.cluster}`} className="lens-strip" />
            </figure>
          ))}
        </div>
      )}
    </Panel>
  );
}

function SteerPanel(props: { index: LensIndexSummary; hits: Hit[] }) {
  const wb = useWorkbench();
  const layer = props.hits[0]?.layer;
  const channels = props.hits.filter((h) => h.layer === layer).map((h) => h.channel);
  const [factor, setFactor] = useState(0);
  const dataset = props.index.dataset;
  const ds = wb.datasets.find((d) => d.name === dataset);
  const [sample, setSample] = useState(0);
  useEffect(() => {
    if (ds?.labels) setSample(Math.max(0, ds.labels.indexOf(7)));
  }, [ds?.name]);
  const [result, setResult] = useState<SteerResult>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const run = async (save = false) => {
    if (!layer) return;
    setBusy(true);
    setError(undefined);
    try {
      setResult(await lensApi.steer(props.index.id, { layer, channels, factor, dataset, index: sample, save }));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Panel title="Steer the found components" actions={busy ? <Spinner label="compiling and explaining…" /> : undefined}>
      {!layer ? (
        <Empty>Search first: the components found in the top result's layer are steered.</Empty>
      ) : (
        <>
          <div className="inline-controls">
            <span className="small">
              {layerName(layer)} #{channels.join(', #')} ×
            </span>
            <input type="range" min={0} max={3} step={0.25} value={factor} onChange={(e) => setFactor(Number(e.target.value))} aria-label="factor" data-testid="lens-factor" />
            <span className="mono small">{factor.toFixed(2)}</span>
            <span className="small">on {dataset} #</span>
            <input type="number" min={0} max={(ds?.count ?? 1) - 1} value={sample} onChange={(e) => setSample(Math.max(0, Number(e.target.value) || 0))} aria-label="sample" data-testid="lens-steer-sample" style={{ width: 80 }} />
            <button type="button" className="button" onClick={() => run(false)} disabled={busy} data-testid="lens-steer">
              Apply
            </button>
            <button type="button" onClick={() => run(true)} disabled={busy} data-testid="lens-steer-save">
              Save as model
            </button>
          </div>
          <ErrorBox error={error} />
          {result && (
            <div className="steer-compare" data-testid="lens-steer-result" data-before={result.before.prediction} data-after={result.after.prediction} data-drop={(result.before.probabilities[result.before.prediction]! - result.after.probabilities[result.before.prediction]!).toFixed(4)}>
              {(['before', 'after'] as const).map((k) => (
                <figure key={k} className="concept-card">
                  <figcaption>
                    <strong>{k}</strong>
                    <span className="concept-share">
                      predicts {result[k].prediction} ({(100 * result[k].probabilities[result[k].prediction]!).toFixed(1)} %)
                    </span>
                  </figcaption>
                  <img src={result[k].heatmap} alt={`LRP heatmap ${k}`} />
                </figure>
              ))}
              {result.modelId && (
                <p className="small" data-testid="lens-steer-saved">
                  saved as model <a href={`#/explain?model=${result.modelId}`}>{result.modelId.slice(0, 12)}…</a>
                </p>
              )}
            </div>
          )}
        </>
      )}
    </Panel>
  );
}

function AuditPanel(props: { index: LensIndexSummary; classCount: number }) {
  const layers = props.index.spec.layers;
  const [layer, setLayer] = useState(layers[layers.length - 1]!);
  const [cls, setCls] = useState(7);
  const [should, setShould] = useState('seven');
  const [shouldNot, setShouldNot] = useState('a loop, one');
  const [report, setReport] = useState<AuditReport>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const run = async () => {
    setBusy(true);
    setError(undefined);
    try {
      setReport(await lensApi.audit(props.index.id, { layer, cls, should: list(should), shouldNot: list(shouldNot), threshold: 0.3 }));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Panel title="Audit a class" actions={busy ? <Spinner /> : undefined}>
      <div className="inline-controls">
        <select value={cls} onChange={(e) => setCls(Number(e.target.value))} aria-label="audited class" data-testid="lens-audit-class">
          {Array.from({ length: props.classCount }, (_, c) => (
            <option key={c} value={c}>
              class {c}
            </option>
          ))}
        </select>
        <select value={layer} onChange={(e) => setLayer(e.target.value)} aria-label="audit layer">
          {layers.map((l) => (
            <option key={l} value={l}>
              {layerName(l)}
            </option>
          ))}
        </select>
        <input value={should} onChange={(e) => setShould(e.target.value)} aria-label="should rely on" title="concepts the class should rely on (comma-separated)" data-testid="lens-should" />
        <input value={shouldNot} onChange={(e) => setShouldNot(e.target.value)} aria-label="should not rely on" title="concepts it should not rely on (comma-separated)" data-testid="lens-should-not" />
        <button type="button" className="button" onClick={run} disabled={busy} data-testid="lens-audit">
          Audit
        </button>
      </div>
      <ErrorBox error={error} />
      {report && (
        <div data-testid="lens-audit-result" data-valid={report.validShare.toFixed(4)}>
          <BarChart title={`share of class ${report.cls}'s relevance at ${layerName(report.layer)} (${report.samples} samples)`} data={report.groups.map((g) => ({ label: `${g.kind === 'valid' ? '✓' : g.kind === 'spurious' ? '✗' : '·'} ${g.concept}`, value: 100 * g.share }))} unit=" %" />
          <p className="small">
            valid {(100 * report.validShare).toFixed(1)} % · spurious {(100 * report.spuriousShare).toFixed(1)} %
          </p>
          {report.spurious.slice(0, 6).map((s) => (
            <figure key={s.channel} className="concept-card small" data-testid="lens-spurious">
              <figcaption>
                <strong>
                  #{s.channel} “{s.concept}”
                </strong>
                <span className="concept-share">{(100 * s.share).toFixed(1)} %</span>
              </figcaption>
              {report.strips[String(s.channel)] && <img src={report.strips[String(s.channel)]} alt={`samples activating #${s.channel}`} className="lens-strip" />}
            </figure>
          ))}
        </div>
      )}
    </Panel>
  );
}
