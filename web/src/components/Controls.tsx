/** Method, composite, target and display controls shared by the explain and compare views. */
import { COLORMAP_NAMES, COMPOSITE_NAMES, METHOD_NAMES } from '../../../src/browser/index.js';
import { formatParams, parseParams, type RouteState } from '../app/route';
import { useWorkbench } from '../app/workbench';
import { ParamForm, specsFor, valuesFor } from './ParamForm';
import { runsOnDevice } from '../services/device';
import { Field, Select } from './common';

export function methodOptions(local: boolean) {
  return METHOD_NAMES.map((m) => ({ value: m, label: local && !runsOnDevice(m) ? `${m} (server only)` : m, disabled: local && !runsOnDevice(m) }));
}

/** Composites for CNNs and the rest first; the transformer ones (AttnLRP family) labelled as such. */
export function compositeOptions(families?: { name: string; family: 'any' | 'transformer' }[]) {
  return COMPOSITE_NAMES.map((c) => (families?.find((f) => f.name === c)?.family === 'transformer' ? { value: c, label: `${c} (for transformers)` } : { value: c, label: c }));
}

export function MethodControls(props: { route: RouteState; set: (p: Partial<RouteState>) => void; field?: string }) {
  const { route, set } = props;
  const { methods } = useWorkbench();
  const local = route.device === 'local';
  const specs = specsFor(methods, route.method, route.composite);
  const values = valuesFor(specs, parseParams(route.params));
  const comp = methods?.composites.find((c) => c.name === route.composite);
  const methodInfo = methods?.methods.find((m) => m.name === route.method);
  return (
    <>
      <Field label="Method" hint={methodInfo?.description}>
        <Select value={route.method} onChange={(method) => set({ method, params: undefined })} options={methodOptions(local)} testId="method" />
      </Field>
      {methodInfo?.composite && (
        <Field label="Composite" hint={comp ? `${comp.description}${comp.family === 'transformer' ? '. Meant for attention models; on a CNN it is gradient × input with identity activations.' : ''}` : 'which LRP rule each layer uses'}>
          <Select value={route.composite} onChange={(composite) => set({ composite, params: undefined })} options={compositeOptions(methods?.composites)} testId="composite" />
        </Field>
      )}
      {!local && <ParamForm specs={specs} values={values} field={props.field} onChange={(v) => set({ params: formatParams(v) })} />}
      <Field label="Target" hint="click a prediction to explain that class">
        <div className="target-row">
          <Select
            value={route.target === 'pred' ? 'pred' : 'class'}
            onChange={(v) => set({ target: v === 'pred' ? 'pred' : route.target === 'pred' ? '0' : route.target })}
            options={[{ value: 'pred', label: 'predicted class' }, { value: 'class', label: 'class…' }]}
            testId="target-mode"
          />
          {route.target !== 'pred' && <input type="number" min={0} value={route.target} onChange={(e) => set({ target: e.target.value })} data-testid="target" />}
        </div>
      </Field>
    </>
  );
}

export function DisplayControls(props: { route: RouteState; set: (p: Partial<RouteState>, mode?: 'push' | 'replace') => void }) {
  const { route, set } = props;
  return (
    <>
      <Field label="Colour map">
        <Select value={route.cmap} onChange={(cmap) => set({ cmap }, 'replace')} options={[...COLORMAP_NAMES]} testId="cmap" />
      </Field>
      <Field label={`Heatmap opacity · ${Math.round(route.opacity * 100)}%`}>
        <input type="range" min={0} max={1} step={0.05} value={route.opacity} onChange={(e) => set({ opacity: Number(e.target.value) }, 'replace')} data-testid="opacity" />
      </Field>
    </>
  );
}
