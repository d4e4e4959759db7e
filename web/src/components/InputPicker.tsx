/** Choose what to explain: a dataset sample (thumbnails) or an image dropped / picked from disk. */
import { useRef, useState } from 'react';
import { useWorkbench } from '../app/workbench';
import { pressable } from './common';
import { api, type Dataset } from '../services/api';
import { ACCEPTED_INPUTS, describeInput, rejectReason, type InputChoice } from '../services/inputs';
import { useDisplayUrl } from '../app/useDisplayUrl';

const THUMBS = 12;

export function InputPicker(props: { choice?: InputChoice; onSample: (sample: string | undefined) => void; local: boolean; datasets?: Dataset[] }) {
  const wb = useWorkbench();
  const { setDropped } = wb;
  // The datasets this model can take (the caller filters by shape); all of them when it does not say.
  const datasets = props.datasets ?? wb.datasets;
  const [dataset, setDataset] = useState<string>();
  const [over, setOver] = useState(false);
  const [rejected, setRejected] = useState<string>();
  const file = useRef<HTMLInputElement>(null);
  const imageUrl = useDisplayUrl(props.choice);
  const ds = datasets.find((d) => d.name === (dataset ?? (props.choice?.kind === 'sample' ? props.choice.dataset : datasets[0]?.name)));
  const label = props.choice?.kind === 'sample' ? datasets.find((d) => d.name === (props.choice as { dataset: string }).dataset)?.labels?.[props.choice.index] : undefined;
  const take = (f: File | undefined) => {
    if (!f) return;
    const why = rejectReason(f);
    setRejected(why);
    if (why) return;
    setDropped({ blob: f, url: URL.createObjectURL(f), name: f.name });
    props.onSample(undefined);
  };
  return (
    <div className="input-picker">
      <div
        className={over ? 'dropzone over' : 'dropzone'}
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          take(e.dataTransfer.files[0]);
        }}
        {...pressable(() => file.current?.click())}
      >
        {props.choice ? (
          <>
            {imageUrl && <img src={imageUrl} alt="" />}
            <span>
              <strong>{describeInput(props.choice)}</strong>
              <small>{label !== undefined ? `true class ${label}` : props.local && props.choice.kind === 'dropped' ? 'stays on this device' : 'drop an image to replace'}</small>
            </span>
          </>
        ) : (
          <span>
            <strong>Drop an image</strong>
            <small>or click to choose a file</small>
          </span>
        )}
        <input ref={file} type="file" accept={ACCEPTED_INPUTS} hidden onChange={(e) => take(e.target.files?.[0])} data-testid="image-file" />
      </div>
      {rejected && (
        <div className="error" role="alert" data-testid="input-rejected">
          {rejected}
        </div>
      )}
      {datasets.length === 0 && wb.datasets.length > 0 && <p className="muted small" data-testid="no-compatible-datasets">No dataset here has this model’s input shape; drop an image or a .npy instead.</p>}
      {ds && (
        <div className="samples">
          <div className="samples-head">
            <span>Samples</span>
            {datasets.length > 1 ? (
              <select value={ds.name} onChange={(e) => setDataset(e.target.value)}>
                {datasets.map((d) => (
                  <option key={d.name}>{d.name}</option>
                ))}
              </select>
            ) : (
              <span className="muted">{ds.name}</span>
            )}
          </div>
          <div className="thumbs">
            {Array.from({ length: Math.min(THUMBS, ds.count) }, (_, i) => {
              const active = props.choice?.kind === 'sample' && props.choice.dataset === ds.name && props.choice.index === i;
              return (
                <button type="button" key={i} className={active ? 'thumb active' : 'thumb'} onClick={() => props.onSample(`${ds.name}/${i}`)} title={`${ds.name} #${i}`} data-testid={`sample-${i}`}>
                  <img src={api.sampleUrl(ds.name, i)} alt={`sample ${i}`} loading="lazy" />
                </button>
              );
            })}
          </div>
        </div>
      )}
    </div>
  );
}
