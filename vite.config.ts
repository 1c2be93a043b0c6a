import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

// COOP/COEP make the page cross-origin isolated so tfjs-wasm may use threads where the browser allows.
const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

// The studio needs no network beyond its own origin: scripts, workers, wasm (compiled, never
// eval'd JavaScript) and data all come from 'self'; downloads are blob: URLs. The dev server adds
// what Vite's dev mode needs (React Refresh's inline preamble, the HMR websocket).
const csp = (dev: boolean) => [
  "default-src 'self'",
  `script-src 'self' 'wasm-unsafe-eval'${dev ? " 'unsafe-inline'" : ''}`,
  "worker-src 'self' blob:",
  `connect-src 'self'${dev ? ' ws: wss:' : ''}`,
  "img-src 'self' data: blob:",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

// A static host may not send headers: the built page carries the policy itself (frame-ancestors
// is header-only, so it is left out of the meta tag).
const cspMeta: Plugin = {
  name: 'csp-meta',
  apply: 'build',
  transformIndexHtml: () => [{
    tag: 'meta',
    attrs: { 'http-equiv': 'Content-Security-Policy', content: csp(false).replace("; frame-ancestors 'none'", '') },
    injectTo: 'head-prepend',
  }],
};

export default defineConfig({
  plugins: [react(), cspMeta],
  server: { headers: { ...isolationHeaders, 'Content-Security-Policy': csp(true) } },
  preview: { headers: { ...isolationHeaders, 'Content-Security-Policy': csp(false) } },
  worker: { format: 'es' },
  build: { target: 'es2022', chunkSizeWarningLimit: 4096 },
});
