/** Data stage, overview: stored datasets, the sample, the importer, the current job, storage. */
import { DatasetList } from '../components/DatasetList.tsx';
import { ImportForm } from '../components/ImportForm.tsx';
import { ImportWarnings, JobPanel } from '../components/JobPanel.tsx';
import { StorageMeter } from '../components/StorageMeter.tsx';
import { useJobStore } from '../stores/job.ts';
import { datasetHref, navigate } from '../route.ts';

export function DatasetsPage() {
  const running = useJobStore((s) => s.running);
  const loadSample = useJobStore((s) => s.loadSample);

  async function onLoadSample() {
    const result = await loadSample();
    if (result) navigate(datasetHref(result.dataset.id));
  }

  return (
    <div className="page">
      <div className="page-head">
        <div>
          <h2>Datasets</h2>
          <p className="muted">
            Import interactions, filter them (k-core), order them per user and split them leave-one-out, as the
            reference data preparation does. Everything stays in this browser.
          </p>
        </div>
        <div className="sample-box">
          <button
            type="button"
            className="primary"
            data-testid="load-sample"
            onClick={() => void onLoadSample()}
            disabled={running}
          >
            Load sample dataset
          </button>
          <p className="hint">Amazon 2014 Musical Instruments, 5-core (1,429 users · 900 items).</p>
        </div>
      </div>
      <JobPanel />
      <ImportWarnings />
      <DatasetList />
      <div className="two-col">
        <ImportForm />
        <StorageMeter />
      </div>
    </div>
  );
}
