import { useEffect, useRef, useState } from 'react';

/** Runs `fn` whenever `key` changes; results of superseded runs are dropped. */
export function useAsync<T>(fn: (() => Promise<T>) | undefined, key: string): { value?: T; error?: unknown; loading: boolean } {
  const [state, setState] = useState<{ value?: T; error?: unknown; loading: boolean }>({ loading: false });
  const seq = useRef(0);
  useEffect(() => {
    if (!fn) {
      setState({ loading: false });
      return;
    }
    const mine = ++seq.current;
    setState((s) => ({ value: s.value, loading: true }));
    fn().then(
      (value) => mine === seq.current && setState({ value, loading: false }),
      (error: unknown) => mine === seq.current && setState({ error, loading: false }),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);
  return state;
}
