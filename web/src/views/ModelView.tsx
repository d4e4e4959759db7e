/** Models: upload, inputs and outputs, the operator histogram, and which LRP rule each node gets under a composite. */
import { useRef, useState } from 'react';
import { COMPOSITE_NAMES } from '../../../src/browser/index.js';
import type { RouteState } from '../app/route';
import { useAsync } from '../app/useAsync';
import { useWorkbench } from '../app/workbench';
import { Empty, ErrorBox, Panel, pressable, Select, Spinner, when } from '../components/common';
import { api, type ModelDetail, type TensorInfo } from '../services/api';
import { ModelSettings } from '../components/ModelSettings';

function bytes(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB` : `${(n / 1024).toFixed(0)} kB`;
}

export function ModelView(props: { route: RouteState; set: (p: Partial<RouteState>, mode?: 'push' | 'replace') => void }) {
  const { route, set } = props;
  const wb = useWorkbench();
  const [uploading, setUploading] = useState(false);
  const [uploadError, setUploadError] = useState<unknown>();
  const [over, setOver] = useState(false);
  const file = useRef<HTMLInputElement>(null);
  const detail = useAsync<ModelDetail>(route.model ? () => api.model(route.model!, route.composite) : undefined, `${route.model}:${route.composite}`);

  const upload = async (f: File | undefined) => {
    if (!f) return;
    setUploading(true);
    setUploadError(undefined);
    try {
      const m = await api.uploadModel(f.name.replace(/\.onnx$/i, ''), await f.arrayBuffer());
      await wb.refreshModels();
      set({ model: m.id });
    } catch (e) {
      setUploadError(e);
    } finally {
      setUploading(false);
    }
  };

  return (
    <div className="workspace">
      <aside className="sidebar">
        <div
          className={over ? 'dropzone tall over' : 'dropzone tall'}
          onDragOver={(e) => {
            e.preventDefault();
            setOver(true);
          }}
          onDragLeave={() => setOver(false)}
          onDrop={(e) => {
            e.preventDefault();
            setOver(false);
            void upload(e.dataTransfer.files[0]);
          }}
          {...pressable(() => file.current?.click())}
        >
          <span>
            <strong>{uploading ? 'Uploading…' : 'Upload an ONNX model'}</strong>
            <small>drop a .onnx file here or click</small>
          </span>
          <input ref={file} type="file" accept=".onnx" hidden onChange={(e) => void upload(e.target.files?.[0])} data-testid="model-file" />
        </div>
        <ErrorBox error={uploadError} />
        <nav className="model-list" aria-label="models">
          {wb.models.map((m) => (
            <button type="button" key={m.id} className={m.id === route.model ? 'model-item active' : 'model-item'} onClick={() => set({ model: m.id })}>
              <strong>{m.name}</strong>
              <small>
                {bytes(m.bytes)} · opset {m.opset} · {m.inputs.map((i) => `[${i.shape.join('×')}]`).join(' ')}
              </small>
            </button>
          ))}
          {wb.models.length === 0 && <p className="muted">No models yet.</p>}
        </nav>
      </aside>
      <main className="stage">
        {!route.model ? (
          <Panel>
            <p className="lead">Upload a model or pick one on the left to see its structure and the LRP rule of every layer.</p>
          </Panel>
        ) : (
          <>
            <ErrorBox error={detail.error} />
            {detail.loading && !detail.value && <Spinner label="reading the model…" />}
            {detail.value && <ModelDetails m={detail.value} route={route} set={set} onDeleted={() => wb.refreshModels().then(() => set({ model: undefined }))} />}
          </>
        )}
      </main>
    </div>
  );
}

/** 'gamma(gamma=0.25,stabilizer=0.000001)' → a chip with the rule's name and its parameters beside it. */
function RuleCell({ rule }: { rule: string }) {
  const m = rule.match(/^([^(]+)\((.*)\)$/);
  const name = m ? m[1]! : rule;
  const params = m ? m[2]!.split(',').filter(Boolean).map((kv) => kv.replace('=', ' ')) : [];
  return (
    <span className="rule-cell">
      <span className={`rule rule-${name.split(/[^a-z]/)[0]}`}>{name}</span>
      {params.length > 0 && <span className="rule-params">{params.join(' · ')}</span>}
    </span>
  );
}

function Tensors({ title, list }: { title: string; list: TensorInfo[] }) {
  return (
    <table className="table">
      <thead>
        <tr>
          <th>{title}</th>
          <th>type</th>
          <th>shape</th>
        </tr>
      </thead>
      <tbody>
        {list.map((t) => (
          <tr key={t.name}>
            <td className="mono">{t.name}</td>
            <td>{t.dtype}</td>
            <td className="mono">[{t.shape.join(', ')}]</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ModelDetails({ m, route, set, onDeleted }: { m: ModelDetail; route: RouteState; set: (p: Partial<RouteState>) => void; onDeleted: () => void }) {
  const ops = Object.entries(m.opHistogram).sort((a, b) => b[1] - a[1]);
  const max = Math.max(1, ...ops.map(([, n]) => n));
  const ruled = m.nodes.filter((n) => n.rule);
  return (
    <div className="model-details" data-testid="model-details">
      <Panel
        title={m.name}
        actions={
          <div className="actions">
            <a className="button primary" href={`#/explain?model=${m.id}&device=${route.device}`}>
              Explain with this model
            </a>
            <button
              type="button"
              className="button danger"
              onClick={async () => {
                if (confirm(`Delete model ${m.name}?`)) {
                  await api.deleteModel(m.id);
                  onDeleted();
                }
              }}
            >
              Delete
            </button>
          </div>
        }
      >
        <p className="muted mono small">
          sha256 {m.id} · {bytes(m.bytes)} · opset {m.opset} · added {when(m.createdAt)}
        </p>
        <div className="two-col">
          <Tensors title="input" list={m.inputs} />
          <Tensors title="output" list={m.outputs} />
        </div>
      </Panel>
      <ModelSettings m={m} />
      <div className="two-col">
        <Panel title="Operators">
          <ul className="bars" data-testid="op-histogram">
            {ops.map(([op, n]) => (
              <li key={op}>
                <span className="bar-label mono">{op}</span>
                <span className="bar">
                  <span style={{ width: `${(n / max) * 100}%` }} />
                </span>
                <span className="bar-value">{n}</span>
              </li>
            ))}
          </ul>
          {m.unsupported.length > 0 && (
            <div className="error">
              <strong>{m.unsupported.length} node(s) cannot be explained yet</strong>
              <ul>
                {m.unsupported.map((u) => (
                  <li key={u.node}>
                    <span className="mono">{u.node}</span> ({u.opType}): {u.hint}
                  </li>
                ))}
              </ul>
            </div>
          )}
        </Panel>
        <Panel title="Rules" actions={<span className="compact"><Select value={route.composite} onChange={(composite) => set({ composite })} options={[...COMPOSITE_NAMES]} testId="model-composite" /></span>}>
          {ruled.length === 0 && <Empty>No layer gets a rule under this composite.</Empty>}
          <table className="table" data-testid="rule-table">
            <thead>
              <tr>
                <th>node</th>
                <th>op</th>
                <th>rule</th>
              </tr>
            </thead>
            <tbody>
              {m.nodes.map((n) => (
                <tr key={n.name} className={n.rule ? '' : 'dim'}>
                  <td className="mono">{n.name}</td>
                  <td>{n.opType}</td>
                  <td>{n.rule ? <RuleCell rule={n.rule} /> : <span className="muted">—</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Panel>
      </div>
    </div>
  );
}
