/**
 * Prints the WebGPU adapter Node sees through the npm `webgpu` package (Dawn) as ONE JSON object
 * {backend, adapter, attempts} on stdout, or {error, hint} and exit 3 when there is none.
 * Used by bench/gpu-check.sh before the stages run. Usage: npx tsx bench/adapter.ts
 */
import { emit, startBackend } from './common.ts';

const report = await startBackend('webgpu');
emit({ backend: report.backend, adapter: report.adapter, attempts: report.attempts });
