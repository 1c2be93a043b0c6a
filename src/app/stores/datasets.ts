/** Datasets store: the stored datasets and the browser's storage usage, refreshed after changes. */
import { create } from 'zustand';
import type { DatasetSummary, StorageInfo } from '../../../workers/api.ts';
import type { StudioErrorInfo } from '../../core/errors.ts';
import { getStudioClient } from '../workerClient.ts';

interface DatasetsState {
  datasets: DatasetSummary[];
  /** False until the first list has arrived. */
  loaded: boolean;
  listError: StudioErrorInfo | null;
  storage: StorageInfo | null;
  storageError: StudioErrorInfo | null;
  /** Answer of navigator.storage.persist(), once asked. */
  persistAnswer: 'granted' | 'denied' | 'unsupported' | null;
  deleteError: StudioErrorInfo | null;
  refresh(): Promise<void>;
  refreshStorage(): Promise<void>;
  remove(id: string): Promise<boolean>;
  requestPersist(): Promise<void>;
}

export const useDatasetsStore = create<DatasetsState>()((set, get) => ({
  datasets: [],
  loaded: false,
  listError: null,
  storage: null,
  storageError: null,
  persistAnswer: null,
  deleteError: null,

  async refresh() {
    const res = await getStudioClient().listDatasets();
    if (res.ok) {
      const datasets = [...res.value].sort((a, b) => b.createdAt - a.createdAt);
      set({ datasets, loaded: true, listError: null });
    } else {
      set({ loaded: true, listError: res.error });
    }
    await get().refreshStorage();
  },

  async refreshStorage() {
    const res = await getStudioClient().storageInfo();
    if (res.ok) set({ storage: res.value, storageError: null });
    else set({ storageError: res.error });
  },

  async remove(id) {
    const res = await getStudioClient().deleteDataset(id);
    if (!res.ok) {
      set({ deleteError: res.error });
      return false;
    }
    set({ deleteError: null, datasets: get().datasets.filter((d) => d.id !== id) });
    await get().refresh();
    return true;
  },

  async requestPersist() {
    if (!navigator.storage?.persist) {
      set({ persistAnswer: 'unsupported' });
      return;
    }
    const granted = await navigator.storage.persist();
    set({ persistAnswer: granted ? 'granted' : 'denied' });
    await get().refreshStorage();
  },
}));
