/**
 * Stage 2, item embeddings of one dataset: SASRec (collaborative), TF-IDF text embeddings, .npy
 * import, the dual input, and the dataset's stored tables.
 */
import { useEffect } from 'react';
import { DualPanel, ImportPanel, TextPanel } from '../components/embeddings/EmbeddingPanels.tsx';
import { EmbeddingList } from '../components/embeddings/EmbeddingList.tsx';
import { SasrecPanel } from '../components/embeddings/SasrecPanel.tsx';
import { useDatasetsStore } from '../stores/datasets.ts';
import { useEmbeddingsStore } from '../stores/embeddings.ts';
import { datasetHref, embeddingsHref, navigate } from '../route.ts';
import { formatInt } from '../format.ts';
import '../embeddings.css';

export function EmbeddingsPage({ datasetId }: { datasetId: string | null }) {
  const datasets = useDatasetsStore((s) => s.datasets);
  const loaded = useDatasetsStore((s) => s.loaded);
  const tables = useEmbeddingsStore((s) => (datasetId ? s.tables[datasetId] : undefined));
  const refresh = useEmbeddingsStore((s) => s.refresh);
  const dataset = datasets.find((d) => d.id === datasetId);

  // No dataset in the URL: open the newest one.
  useEffect(() => {
    if (!datasetId && datasets.length > 0) navigate(embeddingsHref(datasets[0].id));
  }, [datasetId, datasets]);

  useEffect(() => {
    if (dataset) void refresh(dataset.id);
  }, [dataset, refresh]);

  return (
    <div className="page" data-testid="embeddings-page">
      <div className="page-head">
        <div>
          <h2>Item embeddings</h2>
          <p className="muted">
            Collaborative (SASRec trained here, or imported) and text embeddings per item, aligned to the dataset's item
            ids — the input of the tokenizer stage.
          </p>
        </div>
        <label className="dataset-picker">
          Dataset{' '}
          <select
            data-testid="embeddings-dataset"
            value={dataset?.id ?? ''}
            onChange={(e) => navigate(embeddingsHref(e.target.value))}
            disabled={datasets.length === 0}
          >
            {!dataset && <option value="">{datasets.length ? 'choose a dataset' : 'no datasets'}</option>}
            {datasets.map((d) => (
              <option key={d.id} value={d.id}>
                {d.name} ({formatInt(d.stats.num_items)} items)
              </option>
            ))}
          </select>
        </label>
      </div>

      {!dataset ? (
        <p className="muted" data-testid="embeddings-no-dataset">
          {!loaded
            ? 'Loading…'
            : datasets.length === 0
              ? 'No datasets yet. Load the sample or import one in the data stage first.'
              : datasetId
                ? 'This dataset is not stored in this browser (deleted, or imported elsewhere). Pick another one.'
                : 'Pick a dataset.'}{' '}
          <a href="#/data">Go to the data stage</a>
        </p>
      ) : (
        <>
          <p className="small muted" data-testid="embeddings-dataset-info">
            <a href={datasetHref(dataset.id)}>{dataset.name}</a>: {formatInt(dataset.stats.num_items)} items ·{' '}
            {formatInt(dataset.stats.num_users)} users · {formatInt(dataset.stats.train_sequences)} training samples · item
            titles for {formatInt(dataset.stats.itemsWithTitles)} items
          </p>
          <SasrecPanel datasetId={dataset.id} />
          <EmbeddingList tables={tables ?? []} loaded={tables !== undefined} />
          <div className="two-col">
            <TextPanel dataset={dataset} />
            <ImportPanel dataset={dataset} />
          </div>
          <DualPanel key={dataset.id} datasetId={dataset.id} tables={tables ?? []} />
        </>
      )}
    </div>
  );
}
