/**
 * Stage 3, the RQ-VAE item tokenizer of one dataset: pretraining on a stored embedding table with
 * live collision / Gini curves, the stored tokenizers (export, import), and the codebook inspector.
 */
import { useEffect, useState } from 'react';
import { Inspector } from '../components/tokenizer/Inspector.tsx';
import { ImportTokenizerPanel, TokenizerList } from '../components/tokenizer/TokenizerList.tsx';
import { TrainPanel } from '../components/tokenizer/TrainPanel.tsx';
import { useDatasetsStore } from '../stores/datasets.ts';
import { useTokenizerStore } from '../stores/tokenizer.ts';
import { datasetHref, navigate, tokenizerHref } from '../route.ts';
import { formatInt, plural } from '../format.ts';
import '../tokenizer.css';

export function TokenizerPage({ datasetId }: { datasetId: string | null }) {
  const datasets = useDatasetsStore((s) => s.datasets);
  const loaded = useDatasetsStore((s) => s.loaded);
  const embeddings = useTokenizerStore((s) => (datasetId ? s.embeddings[datasetId] : undefined));
  const tokenizers = useTokenizerStore((s) => (datasetId ? s.tokenizers[datasetId] : undefined));
  const listError = useTokenizerStore((s) => s.listError);
  const refresh = useTokenizerStore((s) => s.refresh);
  const dataset = datasets.find((d) => d.id === datasetId);
  const [embeddingId, setEmbeddingId] = useState('');

  useEffect(() => {
    if (!datasetId && datasets.length > 0) navigate(tokenizerHref(datasets[0].id));
  }, [datasetId, datasets]);

  useEffect(() => {
    if (dataset) void refresh(dataset.id);
  }, [dataset, refresh]);

  const emb = embeddings?.find((e) => e.id === embeddingId) ?? embeddings?.[0];

  return (
    <div className="page" data-testid="tokenizer-page">
      <div className="page-head">
        <div>
          <h2>Item tokenizer (RQ-VAE)</h2>
          <p className="muted">
            Each item becomes a short code ⟨c1, c2, c3, suffix⟩ learned by a residual-quantised VAE on its embedding —
            the tokens the generative recommender reads and writes. Watch collisions and code usage while it trains,
            then inspect the codebooks.
          </p>
        </div>
        <label className="dataset-picker">
          Dataset{' '}
          <select data-testid="tok-dataset" value={dataset?.id ?? ''} onChange={(e) => navigate(tokenizerHref(e.target.value))} disabled={datasets.length === 0}>
            {!dataset && <option value="">{datasets.length ? 'choose a dataset' : 'no datasets'}</option>}
            {datasets.map((d) => (
              <option key={d.id} value={d.id}>{d.name} ({formatInt(d.stats.num_items)} items)</option>
            ))}
          </select>
        </label>
      </div>
      {!dataset ? (
        <p className="muted" data-testid="tok-no-dataset">
          {!loaded ? 'Loading…' : datasets.length === 0 ? 'No datasets yet. Load the sample or import one in the data stage first.' : 'Pick a dataset.'}{' '}
          <a href="#/data">Go to the data stage</a>
        </p>
      ) : (
        <>
          <p className="small muted">
            <a href={datasetHref(dataset.id)}>{dataset.name}</a>: {formatInt(dataset.stats.num_items)} items ·{' '}
            {embeddings === undefined ? '…' : plural(embeddings.length, 'embedding table')} ·{' '}
            {tokenizers === undefined ? '…' : plural(tokenizers.length, 'tokenizer')}
          </p>
          {listError && <p className="error-text small">{listError.message}</p>}
          {embeddings !== undefined && (
            <TrainPanel datasetId={dataset.id} embeddings={embeddings} embeddingId={emb?.id ?? ''} onEmbedding={setEmbeddingId} />
          )}
          <TokenizerList datasetId={dataset.id} tokenizers={tokenizers ?? []} loaded={tokenizers !== undefined} />
          <Inspector tokenizers={tokenizers ?? []} />
          <ImportTokenizerPanel datasetId={dataset.id} embeddings={embeddings ?? []} />
        </>
      )}
    </div>
  );
}
