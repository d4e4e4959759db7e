/** App-wide data: models, datasets, the service's health, and an image dropped into the page (never uploaded by itself). */
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';
import { api, type Dataset, type Health, type Methods, type ModelSummary } from '../services/api';
import type { DroppedImage } from '../services/inputs';

interface Workbench {
  models: ModelSummary[];
  datasets: Dataset[];
  /** The dataset list has been read (it may be empty). */
  datasetsLoaded: boolean;
  /** Methods and composites with their parameter declarations (GET /api/methods). */
  methods?: Methods;
  health?: Health;
  offline?: string;
  refreshModels: () => Promise<void>;
  dropped?: DroppedImage;
  setDropped: (d: DroppedImage | undefined) => void;
}

const Ctx = createContext<Workbench | null>(null);

export function WorkbenchProvider({ children }: { children: ReactNode }) {
  const [models, setModels] = useState<ModelSummary[]>([]);
  const [datasets, setDatasets] = useState<Dataset[]>([]);
  const [datasetsLoaded, setDatasetsLoaded] = useState(false);
  const [health, setHealth] = useState<Health>();
  const [methods, setMethods] = useState<Methods>();
  const [offline, setOffline] = useState<string>();
  const [dropped, setDroppedState] = useState<DroppedImage>();
  const refreshModels = useCallback(async () => {
    setModels(await api.models());
  }, []);
  useEffect(() => {
    api.health().then(setHealth, (e: Error) => setOffline(e.message));
    refreshModels().catch(() => undefined);
    api.datasets().then(
      (d) => (setDatasets(d), setDatasetsLoaded(true)),
      () => setDatasetsLoaded(true),
    );
    api.methods().then(setMethods, () => undefined);
  }, [refreshModels]);
  const setDropped = useCallback((d: DroppedImage | undefined) => {
    setDroppedState((old) => {
      if (old && old.url !== d?.url) URL.revokeObjectURL(old.url);
      return d;
    });
  }, []);
  return <Ctx.Provider value={{ models, datasets, datasetsLoaded, methods, health, offline, refreshModels, dropped, setDropped }}>{children}</Ctx.Provider>;
}

export function useWorkbench(): Workbench {
  const v = useContext(Ctx);
  if (!v) throw new Error('useWorkbench outside WorkbenchProvider');
  return v;
}
