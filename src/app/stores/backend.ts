/** Backend store: which tfjs backend the worker runs on, and why (initBackend is called once). */
import { create } from 'zustand';
import type { BackendName, BackendReport } from '../../../workers/api.ts';
import { getStudioClient, onWorkerRestart } from '../workerClient.ts';

const INIT_TIMEOUT_MS = 90_000;

/** What the header's selector offers: auto (a GPU if there is a real one, else wasm) or one backend. */
export type BackendChoice = 'auto' | BackendName;
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'webgpu', 'wasm', 'cpu'];
const CHOICE_KEY = 'etegrec.backend';

/** Where the backend order came from: the page URL (?backend=), this browser's saved choice, or auto. */
export type BackendSource = 'url' | 'saved' | 'auto';

interface BackendState {
  status: 'idle' | 'starting' | 'ready' | 'failed';
  report: BackendReport | null;
  error: string | null;
  /** The saved choice of this browser ('auto' when none). */
  choice: BackendChoice;
  source: BackendSource;
  /** The last time the worker was replaced after a wasm memory fault (null: never in this page). */
  restart: { at: number; reason: string; count: number } | null;
  init(): Promise<void>;
  /** Saves the choice for this browser and reloads the page, which starts the worker on it. */
  choose(choice: BackendChoice): void;
}

/** The choice saved in this browser (localStorage), 'auto' when none or unreadable. */
export function savedBackendChoice(): BackendChoice {
  try {
    const v = typeof localStorage === 'undefined' ? null : localStorage.getItem(CHOICE_KEY);
    return v && (BACKEND_CHOICES as readonly string[]).includes(v) ? (v as BackendChoice) : 'auto';
  } catch {
    return 'auto';
  }
}

/** The order to start: the URL's, else the saved choice (then wasm, then cpu), else auto (undefined). */
export function startPreference(search?: string, saved: BackendChoice = savedBackendChoice()): { preference: BackendName[] | undefined; source: BackendSource } {
  const url = backendPreference(search);
  if (url) return { preference: url, source: 'url' };
  if (saved !== 'auto') return { preference: [...new Set<BackendName>([saved, 'wasm', 'cpu'])], source: 'saved' };
  return { preference: undefined, source: 'auto' };
}

const BACKENDS: BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

/** `?backend=wasm` (or a comma list) in the page URL forces the backend order; absent = auto. */
export function backendPreference(search = typeof location === 'undefined' ? '' : location.search): BackendName[] | undefined {
  const raw = new URLSearchParams(search).get('backend');
  if (!raw) return undefined;
  const list = raw.split(',').map((s) => s.trim().toLowerCase()).filter((s): s is BackendName => (BACKENDS as string[]).includes(s));
  return list.length ? list : undefined;
}

/** `?threads=N` in the page URL: wasm threads to ask for (the threaded binary, where the page is isolated). */
export function threadsParam(search = typeof location === 'undefined' ? '' : location.search): number | undefined {
  const raw = new URLSearchParams(search).get('threads');
  const n = raw === null ? NaN : Number(raw);
  return Number.isInteger(n) && n >= 1 && n <= 64 ? n : undefined;
}

export const useBackendStore = create<BackendState>()((set, get) => ({
  status: 'idle',
  report: null,
  error: null,
  choice: savedBackendChoice(),
  source: 'auto',
  restart: null,
  choose(choice) {
    try {
      if (choice === 'auto') localStorage.removeItem(CHOICE_KEY);
      else localStorage.setItem(CHOICE_KEY, choice);
    } catch {
      // storage refused (private mode): the choice holds for this page only
    }
    set({ choice });
    // the worker's backend is chosen once: start again on the new one (a URL ?backend= would win)
    const url = new URL(location.href);
    if (url.searchParams.has('backend')) {
      url.searchParams.delete('backend');
      location.replace(url.toString());
    } else location.reload();
  },
  async init() {
    if (get().status !== 'idle') return;
    const { preference, source } = startPreference();
    set({ status: 'starting', source });
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`The studio worker did not answer within ${INIT_TIMEOUT_MS / 1000} s.`)),
          INIT_TIMEOUT_MS,
        );
      });
      const report = await Promise.race([getStudioClient().initBackend(preference, threadsParam()), timeout]);
      set({ status: 'ready', report, error: null });
    } catch (err) {
      set({ status: 'failed', error: err instanceof Error ? err.message : String(err) });
    } finally {
      clearTimeout(timer);
    }
  },
}));

// A restarted worker (wasm memory fault) is said in the header, and its backend report replaces the old one.
onWorkerRestart(({ at, reason, backend }) => {
  useBackendStore.setState((s) => ({ restart: { at, reason, count: (s.restart?.count ?? 0) + 1 } }));
  backend.then(
    (report) => useBackendStore.setState({ status: 'ready', report, error: null }),
    (err: unknown) => useBackendStore.setState({ status: 'failed', error: err instanceof Error ? err.message : String(err) }),
  );
});
