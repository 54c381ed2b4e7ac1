// The dashboard's build: Preact's JSX through vite's own oxc transform (no Babel, no
// preset plugin), one hashed JS and CSS bundle under dist/assets/ for api/static to serve.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Hashed names under assets/: api/static caches them for a year.
    assetsDir: 'assets',
    reportCompressedSize: false,
    chunkSizeWarningLimit: 400,
  },
});
