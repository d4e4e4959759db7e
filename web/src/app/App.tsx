/** The shell: navigation, the device/server switch, and the current view. */
import { useWorkbench } from './workbench';
import { formatRoute, useRoute, type View } from './route';
import { ModelView } from '../views/ModelView';
import { ExplainView } from '../views/ExplainView';
import { CompareView } from '../views/CompareView';
import { HistoryView } from '../views/HistoryView';
import { EvalView } from '../views/EvalView';
import { WorkersView } from '../views/WorkersView';
import { ConceptsView } from '../views/ConceptsView';
import { StrategiesView } from '../views/StrategiesView';
import { LensView } from '../views/LensView';
import { CorrectionView } from '../views/CorrectionView';

const TABS: { view: View; label: string }[] = [
  { view: 'models', label: 'Models' },
  { view: 'explain', label: 'Explain' },
  { view: 'compare', label: 'Compare' },
  { view: 'concepts', label: 'Concepts' },
  { view: 'strategies', label: 'Strategies' },
  { view: 'lens', label: 'Lens' },
  { view: 'correction', label: 'Correction' },
  { view: 'history', label: 'History' },
  { view: 'eval', label: 'Evaluation' },
  { view: 'workers', label: 'Workers' },
];

export function App() {
  const [route, set] = useRoute();
  const wb = useWorkbench();
  const local = route.device === 'local';
  return (
    <div className="app">
      <header className="topbar">
        <a className="brand" href="#/explain">
          <span className="logo" aria-hidden>
            x
          </span>
          xsys <span className="brand-sub">workbench</span>
        </a>
        <nav className="tabs" aria-label="views">
          {TABS.map((t) => (
            <a key={t.view} href={formatRoute({ ...route, view: t.view })} className={route.view === t.view ? 'tab active' : 'tab'} aria-current={route.view === t.view ? 'page' : undefined}>
              {t.label}
            </a>
          ))}
        </nav>
        <div className="device-switch" role="radiogroup" aria-label="where explanations are computed" title={local ? 'The model runs in this browser; inputs never leave this machine.' : 'The xsys service computes and records explanations.'}>
          <span className="device-label">Compute on</span>
          <button type="button" role="radio" aria-checked={local} className={local ? 'on' : ''} onClick={() => set({ device: 'local' })} data-testid="device-local">
            This device
          </button>
          <button type="button" role="radio" aria-checked={!local} className={!local ? 'on' : ''} onClick={() => set({ device: 'server' })} data-testid="device-server">
            Server
          </button>
        </div>
      </header>
      {local && <div className="privacy">Explanations run in this browser (onnxruntime-web). Inputs stay on this device and are not recorded in History.</div>}
      {wb.offline && <div className="error banner">The xsys service cannot be reached ({wb.offline}). Start it with <code>xsys serve</code>.</div>}
      {route.view === 'models' && <ModelView route={route} set={set} />}
      {route.view === 'explain' && <ExplainView route={route} set={set} />}
      {route.view === 'compare' && <CompareView route={route} set={set} />}
      {route.view === 'history' && <HistoryView route={route} set={set} />}
      {route.view === 'eval' && <EvalView route={route} set={set} />}
      {route.view === 'workers' && <WorkersView route={route} set={set} />}
      {route.view === 'concepts' && <ConceptsView route={route} set={set} />}
      {route.view === 'strategies' && <StrategiesView route={route} set={set} />}
      {route.view === 'lens' && <LensView route={route} set={set} />}
      {route.view === 'correction' && <CorrectionView route={route} set={set} />}
      <footer className="footer">
        {wb.health ? `xsys ${wb.health.version} · onnxruntime ${wb.health.ortVersion}` : ''}
      </footer>
    </div>
  );
}
