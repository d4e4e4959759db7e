/**
 * Settings stored with a model: how images become its input (size, greyscale, mean, std, channel order, layout) and,
 * for text models, its tokenizer.json. The service applies them whenever a request gives none.
 */
import { useRef, useState } from 'react';
import { useWorkbench } from '../app/workbench';
import { api, type ModelSummary, type Preprocess } from '../services/api';
import { ErrorBox, Panel } from './common';

const list = (s: string) =>
  s
    .split(/[\s,/]+/)
    .filter(Boolean)
    .map(Number);

export function isTokenModel(m: ModelSummary | undefined): boolean {
  return !!m && m.inputs.some((i) => i.dtype === 'int64' || i.dtype === 'int32') && !m.inputs.some((i) => i.dtype === 'float32');
}

export function ModelSettings({ m }: { m: ModelSummary }) {
  const wb = useWorkbench();
  const p = m.preprocess ?? {};
  const [form, setForm] = useState({
    h: String(p.size?.[0] ?? ''),
    w: String(p.size?.[1] ?? ''),
    grayscale: !!p.grayscale,
    mean: (p.mean ?? []).join(', '),
    std: (p.std ?? []).join(', '),
    channelOrder: p.channelOrder ?? 'rgb',
    layout: p.layout ?? 'nchw',
  });
  const [state, setState] = useState<{ saving?: boolean; saved?: string; error?: unknown }>({});
  const tok = useRef<HTMLInputElement>(null);
  const save = async () => {
    setState({ saving: true });
    try {
      const mean = list(form.mean);
      const std = list(form.std);
      const pre: Preprocess = {
        ...(form.h && form.w ? { size: [Number(form.h), Number(form.w)] as [number, number] } : {}),
        grayscale: form.grayscale,
        ...(mean.length ? { mean } : {}),
        ...(std.length ? { std } : {}),
        channelOrder: form.channelOrder as 'rgb' | 'bgr',
        layout: form.layout as 'nchw' | 'nhwc',
      };
      await api.setPreprocess(m.id, pre);
      await wb.refreshModels();
      setState({ saved: 'saved' });
    } catch (e) {
      setState({ error: e });
    }
  };
  const uploadTokenizer = async (f: File | undefined) => {
    if (!f) return;
    setState({ saving: true });
    try {
      let doc: unknown;
      try {
        doc = JSON.parse(await f.text());
      } catch {
        throw new Error(`${f.name} is not JSON: a Hugging Face tokenizer.json is expected`);
      }
      await api.setTokenizer(m.id, doc);
      await wb.refreshModels();
      setState({ saved: `tokenizer ${f.name} stored` });
    } catch (e) {
      setState({ error: e });
    }
  };
  const text = isTokenModel(m);
  return (
    <Panel title={text ? 'Tokenizer' : 'Preprocessing'}>
      {text ? (
        <div className="model-settings" data-testid="tokenizer-settings">
          <p className="small">
            {m.tokenizer ? (
              <>
                Tokenizer stored (<span className="mono">{m.tokenizer.slice(0, 12)}</span>). Explain this model with text under <a href={`#/explain?model=${m.id}`}>Explain</a>.
              </>
            ) : (
              'A text model: store its tokenizer.json (Hugging Face format) to explain it with text in the workbench.'
            )}
          </p>
          <button type="button" className="button" onClick={() => tok.current?.click()} data-testid="tokenizer-button">
            {m.tokenizer ? 'Replace tokenizer.json' : 'Upload tokenizer.json'}
          </button>
          <input ref={tok} type="file" accept=".json,application/json" hidden onChange={(e) => void uploadTokenizer(e.target.files?.[0])} data-testid="tokenizer-file" />
        </div>
      ) : (
        <div className="model-settings" data-testid="preprocess-settings">
          <p className="small muted">How a picture becomes this model’s input; used for every uploaded image unless a request says otherwise.</p>
          <div className="settings-grid">
            <label>
              height
              <input type="number" min={1} max={4096} value={form.h} onChange={(e) => setForm({ ...form, h: e.target.value })} data-testid="pre-h" />
            </label>
            <label>
              width
              <input type="number" min={1} max={4096} value={form.w} onChange={(e) => setForm({ ...form, w: e.target.value })} data-testid="pre-w" />
            </label>
            <label>
              mean (per channel)
              <input type="text" value={form.mean} placeholder="0.485, 0.456, 0.406" onChange={(e) => setForm({ ...form, mean: e.target.value })} data-testid="pre-mean" />
            </label>
            <label>
              std (per channel)
              <input type="text" value={form.std} placeholder="0.229, 0.224, 0.225" onChange={(e) => setForm({ ...form, std: e.target.value })} data-testid="pre-std" />
            </label>
            <label>
              channel order
              <select value={form.channelOrder} onChange={(e) => setForm({ ...form, channelOrder: e.target.value as 'rgb' | 'bgr' })} data-testid="pre-order">
                <option value="rgb">RGB</option>
                <option value="bgr">BGR (Caffe, OpenCV)</option>
              </select>
            </label>
            <label>
              layout
              <select value={form.layout} onChange={(e) => setForm({ ...form, layout: e.target.value as 'nchw' | 'nhwc' })} data-testid="pre-layout">
                <option value="nchw">NCHW (PyTorch)</option>
                <option value="nhwc">NHWC (TensorFlow)</option>
              </select>
            </label>
            <label className="check">
              <input type="checkbox" checked={form.grayscale} onChange={(e) => setForm({ ...form, grayscale: e.target.checked })} data-testid="pre-gray" /> greyscale
            </label>
          </div>
          <button type="button" className="button" onClick={() => void save()} disabled={state.saving} data-testid="pre-save">
            Save preprocessing
          </button>
        </div>
      )}
      {state.saved && <p className="small ok-text" data-testid="settings-saved">{state.saved}</p>}
      <ErrorBox error={state.error} />
    </Panel>
  );
}
