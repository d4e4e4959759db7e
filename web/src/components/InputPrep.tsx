/**
 * Input preparation and what the model sees: invert and crop for uploaded pictures, and the preprocessed tensor
 * (resized, greyscale or RGB, normalised) drawn at its own resolution, so a drawing that will be misread shows it.
 */
import { useAsync } from '../app/useAsync';
import { useWorkbench } from '../app/workbench';
import type { ModelSummary } from '../services/api';
import { deviceInput, formatPrep, imagePreprocess, parsePrep, tensorImage, type InputChoice } from '../services/inputs';

export function InputPrepPanel(props: { choice: InputChoice; model: ModelSummary; prep?: string; onPrep: (prep: string | undefined) => void }) {
  const { datasets } = useWorkbench();
  const prep = parsePrep(props.prep);
  const dropped = props.choice.kind === 'dropped' && !props.choice.image.name.toLowerCase().endsWith('.npy');
  const key = JSON.stringify([props.model.id, props.choice.kind === 'dropped' ? props.choice.image.url : props.choice.kind === 'sample' ? `${props.choice.dataset}/${props.choice.index}` : props.choice.sha, dropped ? props.prep : '']);
  const seen = useAsync(async () => {
    const t = await deviceInput(props.choice, props.model, datasets, dropped ? props.prep : undefined);
    return { url: tensorImage(t), dims: t.dims };
  }, key);
  const pre = imagePreprocess(props.model, datasets);
  const toggle = (k: 'invert' | 'crop') => props.onPrep(formatPrep({ ...prep, [k]: !prep[k] }));
  return (
    <div className="input-prep" data-testid="input-prep">
      {dropped && (
        <div className="prep-options">
          <label className="check" title="swap dark and light: a dark drawing on white paper for a model trained on light digits on black">
            <input type="checkbox" checked={prep.invert} onChange={() => toggle('invert')} data-testid="prep-invert" /> invert
          </label>
          <label className="check" title="crop to the drawing, centred on a square with a margin, before resizing">
            <input type="checkbox" checked={prep.crop} onChange={() => toggle('crop')} data-testid="prep-crop" /> crop to drawing
          </label>
        </div>
      )}
      <div className="model-sees">
        {seen.value ? <img src={seen.value.url} alt="the model input after preprocessing" data-testid="model-sees" /> : <span className="thumb-blank" />}
        <span className="small">
          <strong>What the model sees</strong>
          <br />
          {seen.value ? `[${seen.value.dims.join(', ')}]` : seen.error ? <span className="error-text">{(seen.error as Error).message}</span> : '…'}
          {dropped && pre.size ? ` · resized to ${pre.size[0]}×${pre.size[1]}` : ''}
          {dropped && pre.grayscale ? ' · grey' : ''}
          {dropped && pre.mean ? ` · mean ${pre.mean.join('/')} std ${pre.std?.join('/')}` : ''}
        </span>
      </div>
    </div>
  );
}
