/** Picks one of the models known to the service. */
import { useWorkbench } from '../app/workbench';

export function ModelSelect(props: { value?: string; onChange: (id: string) => void }) {
  const { models } = useWorkbench();
  if (models.length === 0) return <p className="muted">No models yet — upload one under <a href="#/models">Models</a>.</p>;
  return (
    <select value={props.value ?? ''} onChange={(e) => props.onChange(e.target.value)} data-testid="model-select">
      {!props.value && <option value="">Choose a model…</option>}
      {models.map((m) => (
        <option key={m.id} value={m.id}>
          {m.name}
        </option>
      ))}
    </select>
  );
}
