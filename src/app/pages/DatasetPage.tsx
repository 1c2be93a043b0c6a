/** Data stage, one dataset: statistics, charts, items, user sequences, source report, export. */
import { useState } from 'react';
import type { DatasetSummary } from '../../../workers/api.ts';
import type { StudioErrorInfo } from '../../core/errors.ts';
import { DatasetCharts } from '../components/DatasetCharts.tsx';
import { ErrorBox } from '../components/ErrorBox.tsx';
import { ItemTable } from '../components/ItemTable.tsx';
import { ImportWarnings } from '../components/JobPanel.tsx';
import { SequenceViewer } from '../components/SequenceViewer.tsx';
import { SourceReport } from '../components/SourceReport.tsx';
import { StatCards } from '../components/StatCards.tsx';
import { useDatasetsStore } from '../stores/datasets.ts';
import { getStudioClient } from '../workerClient.ts';
import { formatBytes } from '../format.ts';
import { LocalTime } from '../components/LocalTime.tsx';
import { downloadBytes } from '../download.ts';

function ExportButton({ dataset }: { dataset: DatasetSummary }) {
  const [state, setState] = useState<'idle' | 'busy' | 'done'>('idle');
  const [error, setError] = useState<StudioErrorInfo | null>(null);
  const [last, setLast] = useState<string | null>(null);

  async function onExport() {
    setState('busy');
    setError(null);
    const res = await getStudioClient().exportDataset(dataset.id);
    if (res.ok) {
      downloadBytes(res.value.fileName, res.value.bytes, 'application/zip');
      setLast(`${res.value.fileName} (${formatBytes(res.value.bytes.byteLength)})`);
      setState('done');
    } else {
      setError(res.error);
      setState('idle');
    }
  }

  return (
    <div className="export">
      <button type="button" data-testid="export-dataset" onClick={() => void onExport()} disabled={state === 'busy'}>
        {state === 'busy' ? 'Exporting…' : 'Export reference format (.zip)'}
      </button>
      {last && <span className="hint"> Saved {last}.</span>}
      {error && <ErrorBox error={error} title="Export failed" onDismiss={() => setError(null)} />}
    </div>
  );
}

export function DatasetPage({ datasetId }: { datasetId: string }) {
  const datasets = useDatasetsStore((s) => s.datasets);
  const loaded = useDatasetsStore((s) => s.loaded);
  const dataset = datasets.find((d) => d.id === datasetId);

  if (!dataset) {
    return (
      <div className="page">
        <p>
          <a href="#/data">← All datasets</a>
        </p>
        <p className="muted" data-testid="dataset-missing">
          {loaded ? 'This dataset is not stored in this browser (deleted, or imported elsewhere).' : 'Loading…'}
        </p>
      </div>
    );
  }

  const hasTimestamps = dataset.stats.interactionsOverTime.length > 0;
  return (
    <div className="page" data-testid="dataset-page">
      <p>
        <a href="#/data" data-testid="back-to-datasets">← All datasets</a>
      </p>
      <div className="page-head">
        <div>
          <h2 data-testid="dataset-title">{dataset.name}</h2>
          <p className="muted">
            {dataset.source.format} · created <LocalTime ms={dataset.createdAt} /> · {formatBytes(dataset.sizeBytes)} stored
          </p>
        </div>
        <ExportButton dataset={dataset} />
      </div>
      <ImportWarnings datasetId={dataset.id} />
      <StatCards stats={dataset.stats} />
      <DatasetCharts stats={dataset.stats} hasTimestamps={hasTimestamps} />
      <ItemTable datasetId={dataset.id} />
      <SequenceViewer datasetId={dataset.id} hasTimestamps={hasTimestamps} />
      <SourceReport dataset={dataset} />
    </div>
  );
}
