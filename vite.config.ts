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
  // blob: is tfjs-wasm's threaded factory, which its pthread workers load with importScripts
  `script-src 'self' blob: 'wasm-unsafe-eval'${dev ? " 'unsafe-inline'" : ''}`,
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

// tfjs-backend-wasm starts its pthread workers from the threaded factory's source text
// (`factory.toString()` in a blob). The factory reads `_scriptDir` from its enclosing closure, which
// a production build renames, so every pthread worker threw "e is not defined" and the threaded
// backend never started. Declaring the variable inside the factory makes the function self-contained.
const THREADED_FACTORY = 'tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js';
const FACTORY_HEAD = 'return (\nfunction(WasmBackendModuleThreadedSimd) {\n';
const wasmThreadedFactory: Plugin = {
  name: 'tfjs-wasm-threaded-factory',
  transform(code, id) {
    if (!id.replace(/\\/g, '/').includes(THREADED_FACTORY)) return null;
    if (!code.includes(FACTORY_HEAD)) this.error(`${THREADED_FACTORY}: unexpected layout (tfjs upgraded?); cannot make the threaded factory self-contained`);
    return code.replace(FACTORY_HEAD, `${FACTORY_HEAD}var _scriptDir = typeof document !== 'undefined' && document.currentScript ? document.currentScript.src : undefined;\n`);
  },
};

export default defineConfig({
  plugins: [react(), cspMeta],
  server: { headers: { ...isolationHeaders, 'Content-Security-Policy': csp(true) } },
  preview: { headers: { ...isolationHeaders, 'Content-Security-Policy': csp(false) } },
  // worker bundles have their own plugin list: tfjs runs in the studio worker
  worker: { format: 'es', plugins: () => [wasmThreadedFactory] },
  build: { target: 'es2022', chunkSizeWarningLimit: 4096 },
});
