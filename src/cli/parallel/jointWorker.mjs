// worker_threads entry of a data-parallel joint run: registers tsx so the TypeScript worker runs directly.
import { register } from 'tsx/esm/api';

register();
await import('./jointWorker.ts');
