// Entry of a read worker thread (read-pool.ts): a worker starts without the parent's
// TypeScript loader when the parent was started by vitest or by `register()` (as
// stack/runlens.mjs does), so it registers tsx itself before loading the TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./read-worker.ts');
