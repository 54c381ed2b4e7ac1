// A chart or table panel with a fixed body height and its state as an overlay (loading,
// empty, error), so nothing moves when data arrives. data-state is what the tests wait on.
import type { ComponentChildren } from 'preact';

export type PanelState = 'loading' | 'ready' | 'empty' | 'error';

export function stateOf(query: { data: unknown; error: Error | null; loading: boolean }, isEmpty: boolean): PanelState {
  if (query.error) return 'error';
  if (query.data === null) return 'loading';
  return isEmpty ? 'empty' : 'ready';
}

export function Panel(props: {
  title: ComponentChildren;
  state: PanelState;
  error?: Error | null;
  empty?: string;
  height?: number | string;
  actions?: ComponentChildren;
  class?: string;
  id?: string;
  loading?: boolean;
  children: ComponentChildren;
}) {
  const { state } = props;
  return (
    <section class={`panel ${props.class ?? ''}`} data-state={state} id={props.id}>
      <header class="panel-head">
        <h2>{props.title}</h2>
        {props.loading && state !== 'loading' ? <span class="spinner small" aria-label="refreshing" /> : null}
        <div class="panel-actions">{props.actions}</div>
      </header>
      <div class="panel-body" style={props.height !== undefined ? { height: typeof props.height === 'number' ? `${props.height}px` : props.height } : undefined}>
        {props.children}
        {state === 'loading' ? <div class="overlay"><span class="spinner" /> loading…</div> : null}
        {state === 'empty' ? <div class="overlay muted">{props.empty ?? 'No data in this range.'}</div> : null}
        {state === 'error' ? <div class="overlay error" role="alert">{props.error?.message ?? 'failed'}</div> : null}
      </div>
    </section>
  );
}
