/**
 * Job form fields that are more than one input: a method with its composite and parameter form (explain-dataset),
 * a list of such methods (evaluate), and the localisation masks of an evaluation (a threshold or an uploaded .npy).
 * The parameter forms are the ones Explain and Compare use, generated from GET /api/methods.
 */
import { useState } from 'react';
import { useWorkbench } from '../app/workbench';
import { toBase64 } from '../services/api';
import { compositeOptions, methodOptions } from './Controls';
import { Field, Select } from './common';
import { ParamForm, specsFor, valuesFor } from './ParamForm';

export interface MethodChoice {
  method: string;
  composite?: string;
  params?: Record<string, number | string>;
}

/** A method, its composite (lrp) and its parameter form. */
export function MethodChoiceFields(props: { value: MethodChoice; onChange: (v: MethodChoice) => void; idPrefix: string; field?: string }) {
  const { methods } = useWorkbench();
  const { value, idPrefix } = props;
  const composite = value.method === 'lrp' ? value.composite ?? 'epsilon-plus-flat' : undefined;
  const specs = specsFor(methods, value.method, composite);
  const info = methods?.methods.find((m) => m.name === value.method);
  return (
    <div className="method-choice" data-testid={`${idPrefix}method-choice`}>
      <Field label="Method" hint={info?.description}>
        <Select value={value.method} onChange={(method) => props.onChange({ method, ...(method === 'lrp' ? { composite: 'epsilon-plus-flat' } : {}) })} options={methodOptions(false)} testId={`${idPrefix}method`} />
      </Field>
      {value.method === 'lrp' && (
        <Field label="Composite">
          <Select value={composite!} onChange={(c) => props.onChange({ method: 'lrp', composite: c })} options={compositeOptions(methods?.composites)} testId={`${idPrefix}composite`} />
        </Field>
      )}
      <ParamForm specs={specs} values={valuesFor(specs, value.params ?? {})} field={props.field} onChange={(params) => props.onChange({ ...value, params })} idPrefix={idPrefix} />
    </div>
  );
}

/** The methods an evaluation compares, each with its parameters; at least one. */
export function MethodListFields(props: { value: MethodChoice[]; onChange: (v: MethodChoice[]) => void }) {
  const { value } = props;
  const set = (k: number, m: MethodChoice) => props.onChange(value.map((x, i) => (i === k ? m : x)));
  return (
    <div className="method-list" data-testid="job-methods">
      {value.map((m, k) => (
        <div className="method-row" key={k}>
          <div className="method-row-head">
            <strong>Method {k + 1}</strong>
            {value.length > 1 && (
              <button type="button" className="link" onClick={() => props.onChange(value.filter((_, i) => i !== k))} data-testid={`job-method-${k}-remove`}>
                remove
              </button>
            )}
          </div>
          <MethodChoiceFields value={m} onChange={(v) => set(k, v)} idPrefix={`job-method-${k}-`} />
        </div>
      ))}
      <button type="button" className="button" onClick={() => props.onChange([...value, { method: 'gradient' }])} data-testid="job-method-add">
        Add a method
      </button>
    </div>
  );
}

export type MasksChoice = { mode: 'none' } | { mode: 'threshold'; threshold: string } | { mode: 'file'; name: string; npy: string };

/** The request's `masks` for a choice (undefined: none). */
export function masksBody(m: MasksChoice): { threshold: number } | { npy: string } | undefined {
  if (m.mode === 'threshold') return { threshold: Number(m.threshold) };
  if (m.mode === 'file') return { npy: m.npy };
  return undefined;
}

/** Localisation masks: none, pixels brighter than a threshold, or a .npy of binary masks. */
export function MasksField(props: { value: MasksChoice; onChange: (v: MasksChoice) => void; field?: string }) {
  const { value } = props;
  const [fileError, setFileError] = useState<string>();
  const bad = props.field?.startsWith('masks');
  const pick = async (file: File | undefined) => {
    setFileError(undefined);
    if (!file) return;
    if (!file.name.toLowerCase().endsWith('.npy')) {
      setFileError(`${file.name} is not a .npy file: masks are a NumPy array of 0/1 values, one per sample`);
      return;
    }
    props.onChange({ mode: 'file', name: file.name, npy: toBase64(new Uint8Array(await file.arrayBuffer())) });
  };
  return (
    <Field label="Masks (localisation metrics)" hint="the region each sample's explanation should point at: pointing-game, attribution-localisation, top-k-intersection, relevance mass/rank accuracy and auc need them">
      <div className={bad ? 'masks bad' : 'masks'}>
        <Select
          value={value.mode}
          onChange={(mode) => props.onChange(mode === 'threshold' ? { mode, threshold: '0.5' } : mode === 'file' ? { mode, name: '', npy: '' } : { mode: 'none' })}
          options={[
            { value: 'none', label: 'none' },
            { value: 'threshold', label: 'pixels brighter than…' },
            { value: 'file', label: 'upload masks (.npy)' },
          ]}
          testId="job-masks-mode"
        />
        {value.mode === 'threshold' && (
          <input type="number" min={0} max={1} step={0.05} value={value.threshold} onChange={(e) => props.onChange({ mode: 'threshold', threshold: e.target.value })} title="intensity between 0 (black) and 1 (white); 0.5 marks the strokes of MNIST digits" data-testid="job-masks-threshold" />
        )}
        {value.mode === 'file' && (
          <>
            <input type="file" accept=".npy" onChange={(e) => void pick(e.target.files?.[0])} data-testid="job-masks-file" />
            <span className="small muted">{value.name ? `${value.name} · ` : ''}0/1 per pixel, one mask per dataset sample or per evaluated sample</span>
          </>
        )}
        {fileError && <span className="error-text" role="alert">{fileError}</span>}
      </div>
    </Field>
  );
}
