// One request per key: a new key aborts the previous request; the previous data stays on
// screen while the next loads (no layout jump, no flash of empty charts).
import { useEffect, useRef, useState } from 'preact/hooks';

export interface QueryState<T> {
  data: T | null;
  error: Error | null;
  loading: boolean;
  /** ms the last successful request took. */
  ms: number | null;
  /** The key `data` was loaded for (the previous one while a new key loads). */
  dataKey: string | null;
}

export function useQuery<T>(key: string | null, load: (signal: AbortSignal) => Promise<T>): QueryState<T> & { reload(): void } {
  const [state, setState] = useState<QueryState<T>>({ data: null, error: null, loading: key !== null, ms: null, dataKey: null });
  const [generation, setGeneration] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    if (key === null) {
      setState({ data: null, error: null, loading: false, ms: null, dataKey: null });
      return;
    }
    const controller = new AbortController();
    const started = performance.now();
    setState((previous) => ({ ...previous, loading: true }));
    loadRef.current(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setState({ data, error: null, loading: false, ms: performance.now() - started, dataKey: key });
      },
      (error: Error) => {
        if (!controller.signal.aborted) setState((previous) => ({ ...previous, error, loading: false }));
      },
    );
    return () => controller.abort();
  }, [key, generation]);
  return { ...state, reload: () => setGeneration((value) => value + 1) };
}
