/**
 * A parameter form generated from the service's declarations (GET /api/methods): one input per parameter, with its
 * default as the placeholder, its range enforced by the input and its description as help. Only values the user
 * changed are kept (in the URL); the service fills in the rest and records them all in provenance.
 */
import type { ParamSpec } from '../services/api';

type Values = Record<string, number | string>;

export function ParamForm(props: { specs: ParamSpec[]; values: Values; onChange: (v: Values) => void; field?: string; idPrefix?: string }) {
  const { specs, values } = props;
  if (specs.length === 0) return null;
  const set = (name: string, raw: string) => {
    const next = { ...values };
    if (raw.trim() === '') delete next[name];
    else next[name] = specs.find((s) => s.name === name)?.type === 'string' ? raw : Number(raw);
    props.onChange(next);
  };
  return (
    <fieldset className="param-form" data-testid={`${props.idPrefix ?? ''}params`}>
      <legend>Parameters</legend>
      {specs.map((s) => {
        const v = values[s.name];
        const bad = props.field === `params.${s.name}`;
        const range = s.min !== undefined && s.max !== undefined ? `${s.min} … ${s.max}` : '';
        return (
          <label key={s.name} className={bad ? 'param bad' : 'param'} title={s.description}>
            <span className="param-name">{s.name}</span>
            {s.type === 'string' ? (
              <input type="text" value={v === undefined ? '' : String(v)} placeholder={s.default !== undefined ? String(s.default) : 'automatic'} onChange={(e) => set(s.name, e.target.value)} data-testid={`${props.idPrefix ?? ''}param-${s.name}`} />
            ) : (
              <input
                type="number"
                value={v === undefined ? '' : String(v)}
                placeholder={s.default !== undefined ? String(s.default) : 'automatic'}
                min={s.min}
                max={s.max}
                step={s.type === 'integer' ? 1 : 'any'}
                onChange={(e) => set(s.name, e.target.value)}
                data-testid={`${props.idPrefix ?? ''}param-${s.name}`}
              />
            )}
            <span className="param-help">
              {s.description}
              {range && <span className="muted"> · {range}</span>}
            </span>
          </label>
        );
      })}
    </fieldset>
  );
}

/** The declarations that apply to a method (and, for a method that takes a composite — lrp, crp —, its composite's). */
export function specsFor(methods: { methods: { name: string; params: ParamSpec[]; composite?: boolean }[]; composites: { name: string; params: ParamSpec[] }[] } | undefined, method: string, composite?: string): ParamSpec[] {
  if (!methods) return [];
  const decl = methods.methods.find((x) => x.name === method);
  const m = decl?.params ?? [];
  const c = decl?.composite && composite ? methods.composites.find((x) => x.name === composite)?.params ?? [] : [];
  return [...m, ...c];
}

/** The user's values that belong to these declarations (a method switch leaves the other method's values behind). */
export function valuesFor(specs: ParamSpec[], values: Values): Values {
  return Object.fromEntries(Object.entries(values).filter(([k]) => specs.some((s) => s.name === k)));
}
