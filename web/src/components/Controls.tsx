/** Method, composite, target and display controls shared by the explain and compare views. */
import { COLORMAP_NAMES, COMPOSITE_NAMES, METHOD_NAMES } from '../../../src/browser/index.js';
import type { RouteState } from '../app/route';
import { runsOnDevice } from '../services/device';
import { Field, Select } from './common';

export function methodOptions(local: boolean) {
  return METHOD_NAMES.map((m) => ({ value: m, label: local && !runsOnDevice(m) ? `${m} (server only)` : m, disabled: local && !runsOnDevice(m) }));
}

export function MethodControls(props: { route: RouteState; set: (p: Partial<RouteState>) => void }) {
  const { route, set } = props;
  const local = route.device === 'local';
  return (
    <>
      <Field label="Method">
        <Select value={route.method} onChange={(method) => set({ method })} options={methodOptions(local)} testId="method" />
      </Field>
      {route.method === 'lrp' && (
        <Field label="Composite" hint="which LRP rule each layer uses">
          <Select value={route.composite} onChange={(composite) => set({ composite })} options={[...COMPOSITE_NAMES]} testId="composite" />
        </Field>
      )}
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
