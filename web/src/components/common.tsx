/** Small building blocks shared by the views. */
import type { ReactNode } from 'react';
import { ApiError } from '../services/api';

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const e = error as Error & { hint?: string };
  // ApiError carries the service's problem+json; errors of the on-device core (XsysError) carry a hint too.
  return (
    <div className="error" role="alert">
      <strong>{e instanceof ApiError ? e.title : 'Could not compute this'}</strong>
      {e instanceof ApiError ? e.detail && <p>{e.detail}</p> : <p>{e.message ?? String(error)}</p>}
      {typeof e.hint === 'string' && e.hint && <p className="hint">{e.hint}</p>}
    </div>
  );
}

export function Field(props: { label: string; children: ReactNode; hint?: string }) {
  return (
    <label className="field">
      <span className="field-label">{props.label}</span>
      {props.children}
      {props.hint && <span className="field-hint">{props.hint}</span>}
    </label>
  );
}

export function Select(props: { value: string; onChange: (v: string) => void; options: (string | { value: string; label: string; disabled?: boolean })[]; testId?: string; disabled?: boolean }) {
  return (
    <select value={props.value} onChange={(e) => props.onChange(e.target.value)} data-testid={props.testId} disabled={props.disabled}>
      {props.options.map((o) => {
        const opt = typeof o === 'string' ? { value: o, label: o } : o;
        return (
          <option key={opt.value} value={opt.value} disabled={opt.disabled}>
            {opt.label}
          </option>
        );
      })}
    </select>
  );
}

export function Panel(props: { title?: string; actions?: ReactNode; children: ReactNode; className?: string }) {
  return (
    <section className={`panel ${props.className ?? ''}`}>
      {(props.title || props.actions) && (
        <header className="panel-head">
          {props.title && <h2>{props.title}</h2>}
          {props.actions}
        </header>
      )}
      {props.children}
    </section>
  );
}

/** Keyboard activation (Enter / Space) for elements that act as buttons but are not <button>s, e.g. drop zones. */
export function pressable(action: () => void) {
  return {
    role: 'button' as const,
    tabIndex: 0,
    onClick: action,
    onKeyDown: (e: { key: string; preventDefault(): void }) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        action();
      }
    },
  };
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}

export function Spinner({ label }: { label?: string }) {
  return (
    <span className="spinner" role="status">
      <span className="spinner-dot" />
      {label}
    </span>
  );
}

export function shortId(id: string): string {
  return id.length > 12 ? id.slice(0, 10) : id;
}

export function when(iso: string | undefined, short = false): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return short && d.toDateString() === new Date().toDateString() ? d.toLocaleTimeString() : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}
