/**
 * Concepts (CRP): pick a model, a dataset sample and a layer; see the layer's most relevant channels ("concepts")
 * with their share of the relevance, each concept's conditional heatmap on the input and its reference samples
 * (dataset samples that express it most, cropped to the concept); click a concept to split it into sub-concepts of
 * the layer below; a class's concept atlas. Reference samples come from a `concept-references` job, which the view
 * starts (with progress, cancel and resume) when the model has none yet.
 */
import { useEffect, useMemo, useState } from 'react';
import type { RouteState } from '../app/route';
import { useAsync } from '../app/useAsync';
import { useWorkbench } from '../app/workbench';
import { Empty, ErrorBox, Field, Panel, Spinner } from '../components/common';
import { ModelSelect } from '../components/ModelSelect';
import { useFollowJob } from '../app/useFollowJob';
import { api, type Job } from '../services/api';
import { conceptsApi, type ChannelLayer, type ChannelShare, type ConceptSummary, type ReferenceSet } from '../services/concepts-api';

const TOP = 6;

/** A short readable name of an ONNX tensor: '/conv2/Conv_output_0' → 'conv2'. */
export function layerName(tensor: string): string {
  const parts = tensor.split('/').filter(Boolean);
  return parts.length > 1 ? parts.slice(0, -1).join('/') : tensor;
}

function pct(share: number): string {
  return `${(share * 100).toFixed(1)} %`;
}

export function ConceptsView(props: { route: RouteState; set: (p: Partial<RouteState>, mode?: 'push' | 'replace') => void }) {
  const { route, set } = props;
  const wb = useWorkbench();
  const modelId = route.model ?? wb.models[0]?.id;
  const classCount = classesOf(wb.models.find((m) => m.id === modelId));
  const [dsName, indexText] = (route.sample ?? '').split('/');
  const dataset = wb.datasets.find((d) => d.name === dsName) ?? wb.datasets.find((d) => d.name === 'mnist-samples') ?? wb.datasets[0];
  const index = dataset && dsName === dataset.name && indexText !== undefined ? Number(indexText) : 0;
  const layers = useAsync(modelId ? () => conceptsApi.layers(modelId) : undefined, modelId ?? '');
  const [layerChoice, setLayer] = useState<string>();
  const all = layers.value ?? [];
  // Default: the second layer with channels (conv2 of the MNIST CNN): early enough for visual concepts, late enough to be composite.
  const layer = all.find((l) => l.tensor === layerChoice) ?? all[Math.min(1, all.length - 1)];
  const lower = layer ? all[all.indexOf(layer) - 1] : undefined;
  const [refreshSets, setRefreshSets] = useState(0);
  const sets = useAsync(modelId ? () => conceptsApi.referenceSets(modelId) : undefined, `${modelId}:${refreshSets}`);
  const refSet = pickSet(sets.value ?? [], layer?.tensor);
  const [focus, setFocus] = useState<number>();
  useEffect(() => setFocus(undefined), [modelId, dataset?.name, index, layer?.tensor]);

  const key = JSON.stringify([modelId, dataset?.name, index, layer?.tensor, lower?.tensor, route.target]);
  const run = useAsync(
    modelId && dataset && layer
      ? () => conceptsApi.explain({ modelId, dataset: dataset.name, index, layer: layer.tensor, ...(lower ? { lower: lower.tensor } : {}), top: TOP, target: route.target === 'pred' ? 'pred' : Number(route.target) })
      : undefined,
    key,
  );
  const ex = run.value;
  const focused = ex?.concepts.find((c) => c.channel === focus);

  return (
    <div className="workspace">
      <aside className="sidebar">
        <Field label="Model">
          <ModelSelect value={modelId} onChange={(model) => set({ model })} />
        </Field>
        {dataset && (
          <Field label="Input" hint={dataset.labels ? `true class ${dataset.labels[index]}` : undefined}>
            <div className="samples">
              <div className="samples-head">
                <select value={dataset.name} onChange={(e) => set({ sample: `${e.target.value}/0` })} data-testid="concept-dataset">
                  {wb.datasets.map((d) => (
                    <option key={d.name} value={d.name}>
                      {d.name} ({d.count})
                    </option>
                  ))}
                </select>
                <input type="number" min={0} max={dataset.count - 1} value={index} onChange={(e) => set({ sample: `${dataset.name}/${Math.max(0, Math.min(dataset.count - 1, Number(e.target.value) || 0))}` })} aria-label="sample index" data-testid="concept-index" style={{ width: 80 }} />
              </div>
              <div className="thumbs">
                {Array.from({ length: Math.min(12, dataset.count) }, (_, i) => (
                  <button type="button" key={i} className={i === index ? 'thumb active' : 'thumb'} onClick={() => set({ sample: `${dataset.name}/${i}` })} title={`${dataset.name} #${i}`} data-testid={`concept-sample-${i}`}>
                    <img src={api.sampleUrl(dataset.name, i)} alt={`sample ${i}`} loading="lazy" />
                  </button>
                ))}
              </div>
            </div>
          </Field>
        )}
        <Field label="Layer" hint={lower ? `sub-concepts in ${layerName(lower.tensor)}` : 'the lowest layer: no sub-concepts'}>
          <select value={layer?.tensor ?? ''} onChange={(e) => setLayer(e.target.value)} data-testid="concept-layer">
            {all.map((l) => (
              <option key={l.tensor} value={l.tensor}>
                {layerName(l.tensor)} · {l.channels} channels
              </option>
            ))}
          </select>
        </Field>
        <Field label="Explained class">
          <select value={route.target} onChange={(e) => set({ target: e.target.value })} data-testid="concept-target">
            <option value="pred">predicted class</option>
            {Array.from({ length: classCount }, (_, c) => (
              <option key={c} value={String(c)}>
                class {c}
              </option>
            ))}
          </select>
        </Field>
        <hr />
        {modelId && <ReferencesPanel modelId={modelId} layers={all} sets={sets.value ?? []} onChange={() => setRefreshSets((n) => n + 1)} />}
      </aside>
      <main className="stage">
        <ErrorBox error={layers.error ?? run.error ?? sets.error} />
        {!modelId ? (
          <Panel>
            <p className="lead">Choose a model, or upload one under <a href="#/models">Models</a>.</p>
          </Panel>
        ) : (
          <>
            <Panel title={layer ? `Concepts of ${layerName(layer.tensor)}` : 'Concepts'} actions={run.loading ? <Spinner label="computing concept relevances…" /> : undefined}>
              {ex && dataset && (
                <div className="concept-head" data-testid="concept-summary" data-target={ex.target}>
                  <img className="concept-input" src={api.sampleUrl(dataset.name, index)} alt={`${dataset.name} #${index}`} />
                  <p>
                    Class <strong>{ex.target}</strong> explained by the {ex.channels} channels of <code>{layerName(ex.layer)}</code>: the relevance arriving there is {ex.total.toFixed(3)}; the top {ex.concepts.length} carry{' '}
                    {pct(ex.concepts.reduce((s, c) => s + Math.max(0, c.share), 0))} of it (shares of Σ|R|). Red: evidence for the class, blue: against.
                    {lower && ' Click a concept to split it into the channels of the layer below.'}
                  </p>
                </div>
              )}
              {!refSet && ex && <p className="notice">No reference samples for this layer yet: build them on the left to see what each concept is.</p>}
              <div className="concept-grid" data-testid="concepts">
                {ex?.concepts.map((c) => (
                  <ConceptCard key={c.channel} concept={c} layer={ex.layer} refSet={refSet} active={c.channel === focus} onFocus={lower ? () => setFocus(c.channel === focus ? undefined : c.channel) : undefined} />
                ))}
              </div>
            </Panel>
            {focused && lower && (
              <Panel title={`Sub-concepts of ${layerName(layer!.tensor)} #${focused.channel} in ${layerName(lower.tensor)}`}>
                <p className="muted small">The relevance of concept #{focused.channel} ({focused.relevance.toFixed(3)}) propagated, conditioned on that channel alone, into the channels of {layerName(lower.tensor)}; shares of its Σ|R|.</p>
                <div className="concept-grid" data-testid="sub-concepts">
                  {(focused.subConcepts ?? []).map((s) => (
                    <SubConceptCard key={s.channel} sub={s} layer={lower.tensor} refSet={refSet && refSet.spec.layers.includes(lower.tensor) ? refSet : pickSet(sets.value ?? [], lower.tensor)} />
                  ))}
                </div>
                <button type="button" className="link small" onClick={() => setLayer(lower.tensor)} data-testid="go-lower">
                  explain the input at {layerName(lower.tensor)} instead
                </button>
              </Panel>
            )}
            {refSet && layer && ex && <AtlasPanel refSet={refSet} layer={layer.tensor} initialClass={ex.target} classCount={classCount} />}
          </>
        )}
      </main>
    </div>
  );
}

/** Number of classes of a classifier: the last axis of its first output when fixed (10 when unknown). */
export function classesOf(model: { outputs: { shape: (number | string)[] }[] } | undefined): number {
  const last = model?.outputs[0]?.shape.at(-1);
  return typeof last === 'number' && last > 0 ? Math.min(last, 1000) : 10;
}

/** The most useful reference set for a layer: a complete one first, else the furthest along. */
function pickSet(sets: readonly ReferenceSet[], layer: string | undefined): ReferenceSet | undefined {
  if (!layer) return undefined;
  const withLayer = sets.filter((s) => s.spec.layers.includes(layer) && s.processed > 0);
  return withLayer.sort((a, b) => Number(b.complete) - Number(a.complete) || b.processed - a.processed)[0];
}

function ShareBar({ share }: { share: number }) {
  return (
    <span className="bar" title={pct(share)}>
      <span className={share < 0 ? 'neg' : ''} style={{ width: `${Math.min(100, Math.abs(share) * 100)}%` }} />
    </span>
  );
}

function ConceptCard(props: { concept: ConceptSummary; layer: string; refSet?: ReferenceSet; active: boolean; onFocus?: () => void }) {
  const { concept: c } = props;
  return (
    <figure className={props.active ? 'concept-card active' : 'concept-card'} data-testid="concept-card" data-channel={c.channel}>
      <figcaption>
        <button type="button" className="link concept-title" onClick={props.onFocus} disabled={!props.onFocus} data-testid="concept-drill">
          #{c.channel}
        </button>
        <span className="concept-share" data-testid="concept-share">
          {pct(c.share)}
        </span>
      </figcaption>
      <ShareBar share={c.share} />
      <img className="concept-heatmap" src={c.heatmap} alt={`conditional heatmap of channel ${c.channel}`} />
      {props.refSet && <References refSet={props.refSet} layer={props.layer} channel={c.channel} />}
    </figure>
  );
}

function SubConceptCard(props: { sub: ChannelShare; layer: string; refSet?: ReferenceSet }) {
  const { sub } = props;
  return (
    <figure className="concept-card small" data-testid="sub-concept" data-channel={sub.channel}>
      <figcaption>
        <strong>#{sub.channel}</strong>
        <span className="concept-share">{pct(sub.share)}</span>
      </figcaption>
      <ShareBar share={sub.share} />
      {props.refSet ? <References refSet={props.refSet} layer={props.layer} channel={sub.channel} /> : <p className="muted small">no reference samples for this layer</p>}
    </figure>
  );
}

/** A concept's reference samples by relevance, each cropped to the concept. */
function References(props: { refSet: ReferenceSet; layer: string; channel: number; cls?: number; n?: number }) {
  const key = JSON.stringify([props.refSet.id, props.refSet.processed, props.layer, props.channel, props.cls]);
  const refs = useAsync(() => conceptsApi.samples(props.refSet.id, { layer: props.layer, channel: props.channel, n: props.n ?? 4, cls: props.cls }), key);
  if (refs.error) return <ErrorBox error={refs.error} />;
  return (
    <div className="refs" data-testid="references">
      {(refs.value ?? []).map((r) => (
        <img key={r.index} src={r.crop} alt={`reference sample ${r.index}`} title={`${props.refSet.dataset} #${r.index} · relevance ${r.value.toFixed(3)} · crop ${r.box.join(',')}`} data-testid="reference" />
      ))}
      {refs.loading && !refs.value && <Spinner />}
    </div>
  );
}

/** Builds (or resumes) the reference samples of the model on a dataset: a concept-references job with progress and cancel. */
function ReferencesPanel(props: { modelId: string; layers: readonly ChannelLayer[]; sets: readonly ReferenceSet[]; onChange: () => void }) {
  const wb = useWorkbench();
  const preferred = wb.datasets.find((d) => d.name === 'mnist-test') ?? wb.datasets.find((d) => d.labels) ?? wb.datasets[0];
  const [dsChoice, setDs] = useState<string>();
  const ds = wb.datasets.find((d) => d.name === dsChoice) ?? preferred;
  const [job, setJob] = useState<Job>();
  const [error, setError] = useState<unknown>();
  const running = job && (job.state === 'queued' || job.state === 'running');
  const onChange = props.onChange;
  useFollowJob(job, setJob, (j) => j.state !== 'running' && j.state !== 'queued' && onChange(), setError);
  const existing = useMemo(() => props.sets.filter((s) => s.dataset === ds?.name), [props.sets, ds?.name]);
  const partial = existing.find((s) => !s.complete);
  const start = async () => {
    if (!ds) return;
    setError(undefined);
    try {
      const j = await conceptsApi.buildReferences({ modelId: props.modelId, dataset: ds.name, layers: props.layers.slice(0, 16).map((l) => l.tensor), k: 8 });
      setJob(j);
      onChange();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div className="references-panel" data-testid="references-panel">
      <h3 className="section">Reference samples</h3>
      {props.sets.length > 0 && (
        <ul className="ref-sets">
          {props.sets.map((s) => (
            <li key={s.id} data-testid="reference-set" data-complete={s.complete}>
              {s.dataset} · {s.processed.toLocaleString()} / {s.total.toLocaleString()} samples{s.complete ? '' : ' (partial)'}
            </li>
          ))}
        </ul>
      )}
      {ds ? (
        <>
          <Field label="Dataset" hint={`the top samples per channel of every layer over ${ds.count.toLocaleString()} samples`}>
            <select value={ds.name} onChange={(e) => setDs(e.target.value)} data-testid="references-dataset" disabled={running}>
              {wb.datasets.map((d) => (
                <option key={d.name} value={d.name}>
                  {d.name} ({d.count})
                </option>
              ))}
            </select>
          </Field>
          {running ? (
            <div className="job-progress" data-testid="references-progress">
              <span className="progress big">
                <span style={{ width: `${job.progress.total ? (100 * job.progress.done) / job.progress.total : 0}%` }} />
              </span>
              <span>
                {job.progress.done} / {job.progress.total}
              </span>
              <button type="button" onClick={() => api.cancelJob(job.id).then(setJob, setError)} data-testid="references-cancel">
                Cancel
              </button>
            </div>
          ) : (
            <button type="button" className="button" onClick={start} data-testid="build-references" disabled={existing.some((s) => s.complete)}>
              {existing.some((s) => s.complete) ? 'Built' : partial ? `Resume (${partial.processed} / ${partial.total} done)` : 'Build reference samples'}
            </button>
          )}
        </>
      ) : (
        <p className="muted small">No dataset registered: start the service with a dataset to build reference samples.</p>
      )}
      <ErrorBox error={error} />
    </div>
  );
}

/** A class's concept atlas over the reference dataset, optionally against a second class. */
function AtlasPanel(props: { refSet: ReferenceSet; layer: string; initialClass: number; classCount: number }) {
  const classCount = props.classCount;
  const [cls, setCls] = useState(props.initialClass);
  const [compare, setCompare] = useState<number>();
  useEffect(() => setCls(props.initialClass), [props.initialClass]);
  const key = JSON.stringify([props.refSet.id, props.refSet.processed, props.layer, cls, compare]);
  const atlas = useAsync(() => conceptsApi.atlas(props.refSet.id, { layer: props.layer, cls, top: 6, ...(compare !== undefined ? { compare } : {}) }), key);
  const a = atlas.value;
  return (
    <Panel
      title={`Concept atlas of class ${cls} at ${layerName(props.layer)}`}
      actions={
        <span className="inline-controls">
          <select value={cls} onChange={(e) => setCls(Number(e.target.value))} aria-label="atlas class" data-testid="atlas-class">
            {Array.from({ length: classCount }, (_, c) => (
              <option key={c} value={c}>
                class {c}
              </option>
            ))}
          </select>
          <select value={compare ?? ''} onChange={(e) => setCompare(e.target.value === '' ? undefined : Number(e.target.value))} aria-label="compare with class" data-testid="atlas-compare">
            <option value="">compare with…</option>
            {Array.from({ length: classCount }, (_, c) => (
              <option key={c} value={c}>
                class {c}
              </option>
            ))}
          </select>
        </span>
      }
    >
      <ErrorBox error={atlas.error} />
      {a && (
        <>
          <p className="muted small">
            The channels with the highest mean relevance for class {a.cls} over the {a.samples.toLocaleString()} samples of {props.refSet.dataset} explained as {a.cls}, with the samples of that class that express each most.
          </p>
          {a.concepts.length === 0 ? (
            <Empty>No sample of {props.refSet.dataset} was explained as class {a.cls}.</Empty>
          ) : (
            <div className="concept-grid" data-testid="atlas">
              {a.concepts.map((c) => (
                <figure className="concept-card small" key={c.channel} data-testid="atlas-concept">
                  <figcaption>
                    <strong>#{c.channel}</strong>
                    <span className="concept-share">mean {c.meanRelevance.toFixed(3)}</span>
                  </figcaption>
                  <References refSet={props.refSet} layer={props.layer} channel={c.channel} cls={a.cls} n={3} />
                </figure>
              ))}
            </div>
          )}
          {a.comparison && (
            <p className="small" data-testid="atlas-comparison">
              Shared with class {compare}: {a.comparison.shared.map((c) => `#${c}`).join(', ') || 'none'} · only {a.cls}: {a.comparison.onlyA.map((c) => `#${c}`).join(', ') || 'none'} · only {compare}: {a.comparison.onlyB.map((c) => `#${c}`).join(', ') || 'none'}
            </p>
          )}
        </>
      )}
    </Panel>
  );
}
