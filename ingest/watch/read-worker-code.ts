// The read worker as one bundled CommonJS script. Started through tsx, a worker spent
// ~470 ms loading before its first job (tsx's loader thread ~200 ms, then zod's ~100
// modules through the loader hooks ~290 ms): most of a 3,000-run backfill. Bundled by
// esbuild (the one tsx itself runs on, resolved through tsx, so no new dependency) it
// starts in ~100 ms. Built once per process, asynchronously (esbuild works in its own
// process; the main thread reads inline meanwhile); null when esbuild cannot be used,
// and the pool then starts workers through tsx (read-worker.mjs).
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

let built: Promise<string | null> | null = null;

interface EsbuildApi {
  build(options: Record<string, unknown>): Promise<{ outputFiles?: Array<{ text: string }> }>;
}

export function readWorkerCode(log: (line: string) => void): Promise<string | null> {
  built ??= bundle().catch((error: unknown) => {
    log(`watch: cannot bundle the read worker (${(error as Error).message}); starting it through tsx`);
    return null;
  });
  return built;
}

async function bundle(): Promise<string> {
  const fromTsx = createRequire(fileURLToPath(import.meta.resolve('tsx')));
  const esbuild = fromTsx(fromTsx.resolve('esbuild')) as EsbuildApi;
  const result = await esbuild.build({
    entryPoints: [fileURLToPath(new URL('./read-worker.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    minify: true,
    write: false,
    logLevel: 'silent',
  });
  const code = result.outputFiles?.[0]?.text;
  if (!code) throw new Error('esbuild produced no output');
  return code;
}
