// The dashboard's entry: styles, the app, and a hook the benchmark drives (uPlot itself,
// so it can time a chart draw in the page without a second copy of the library).
import { render } from 'preact';
import uPlot from 'uplot';
import { App } from './app.tsx';
import './styles.css';

(window as unknown as { __runlens: unknown }).__runlens = { uPlot };
render(<App />, document.getElementById('app')!);
