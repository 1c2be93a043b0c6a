import { defineConfig } from '@playwright/test';
import base from './playwright.config.ts';

// The production build, served by `vite preview` (the same COOP/COEP and CSP headers as a static
// host would need): what only a bundled, minified build can break, e.g. the threaded wasm binary.
// Specs: e2e/*.preview.spec.ts. Run: npx playwright test -c playwright.preview.config.ts
const port = Number(process.env.E2E_PORT ?? 5198);
const outDir = 'node_modules/.e2e-preview-dist';

export default defineConfig({
  ...base,
  testIgnore: [],
  testMatch: '**/*.preview.spec.ts',
  use: { ...base.use, baseURL: `http://127.0.0.1:${port}` },
  webServer: {
    command: `npx vite build --outDir ${outDir} --emptyOutDir --logLevel warn && npx vite preview --outDir ${outDir} --host 127.0.0.1 --port ${port} --strictPort`,
    url: `http://127.0.0.1:${port}`,
    reuseExistingServer: false,
    timeout: 240_000,
  },
});
