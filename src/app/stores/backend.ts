/** Backend store: which tfjs backend the worker runs on, and why (initBackend is called once). */
import { create } from 'zustand';
import type { BackendName, BackendReport } from '../../../workers/api.ts';
import { getStudioClient } from '../workerClient.ts';

const INIT_TIMEOUT_MS = 90_000;

interface BackendState {
  status: 'idle' | 'starting' | 'ready' | 'failed';
  report: BackendReport | null;
  error: string | null;
  init(): Promise<void>;
}

const BACKENDS: BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

/** `?backend=wasm` (or a comma list) in the page URL forces the backend order; absent = auto. */
export function backendPreference(search = typeof location === 'undefined' ? '' : location.search): BackendName[] | undefined {
  const raw = new URLSearchParams(search).get('backend');
  if (!raw) return undefined;
  const list = raw.split(',').map((s) => s.trim().toLowerCase()).filter((s): s is BackendName => (BACKENDS as string[]).includes(s));
  return list.length ? list : undefined;
}

export const useBackendStore = create<BackendState>()((set, get) => ({
  status: 'idle',
  report: null,
  error: null,
  async init() {
    if (get().status !== 'idle') return;
    set({ status: 'starting' });
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`The studio worker did not answer within ${INIT_TIMEOUT_MS / 1000} s.`)),
          INIT_TIMEOUT_MS,
        );
      });
      const report = await Promise.race([getStudioClient().initBackend(backendPreference()), timeout]);
      set({ status: 'ready', report, error: null });
    } catch (err) {
      set({ status: 'failed', error: err instanceof Error ? err.message : String(err) });
    } finally {
      clearTimeout(timer);
    }
  },
}));
