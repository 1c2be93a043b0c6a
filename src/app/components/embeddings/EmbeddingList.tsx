/** The dataset's stored embedding tables: kind, source, shape, created, metrics; download and delete. */
import { useState } from 'react';
import type { EmbeddingSummary } from '../../../../workers/api.ts';
import type { StudioErrorInfo } from '../../../core/errors.ts';
import { downloadBytes } from '../../download.ts';
import { useEmbeddingsStore } from '../../stores/embeddings.ts';
import { getStudioClient } from '../../workerClient.ts';
import { formatBytes, formatInt, formatPercent } from '../../format.ts';
import { LocalTime } from '../LocalTime.tsx';
import { ErrorBox } from '../ErrorBox.tsx';

/** One line of what the table's meta says about its quality. */
function metricsText(t: EmbeddingSummary): string {
  const m = t.meta as {
    metrics?: { test?: Record<string, number> };
    bestEpoch?: number;
    cancelled?: boolean;
    explainedEnergy?: number;
    normalize?: boolean;
    fileRows?: number;
    droppedPadRow?: boolean;
  };
  if (m.metrics?.test) {
    const test = m.metrics.test;
    const parts = [`test R@10 ${test['recall@10']?.toFixed(4)}`, `N@10 ${test['ndcg@10']?.toFixed(4)}`];
    if (m.bestEpoch !== undefined) parts.push(`epoch ${m.bestEpoch}`);
    if (m.cancelled) parts.push('cancelled run');
    return parts.join(' · ');
  }
  if (typeof m.explainedEnergy === 'number') return `explained energy ${formatPercent(m.explainedEnergy)}`;
  if (t.kind === 'dual') return m.normalize ? 'parts L2-normalised' : 'parts as stored';
  if (m.droppedPadRow) return `PAD row dropped (${formatInt(m.fileRows ?? t.rows + 1)} rows in the file)`;
  return '—';
}

function Actions({ table }: { table: EmbeddingSummary }) {
  const remove = useEmbeddingsStore((s) => s.remove);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState<'download' | 'delete' | null>(null);
  const [error, setError] = useState<StudioErrorInfo | null>(null);

  async function onDownload() {
    setBusy('download');
    setError(null);
    const res = await getStudioClient().exportEmbedding(table.id);
    setBusy(null);
    if (res.ok) downloadBytes(res.value.fileName, res.value.bytes, 'application/octet-stream');
    else setError(res.error);
  }

  async function onDelete() {
    if (!confirming) {
      setConfirming(true);
      return;
    }
    setBusy('delete');
    const res = await remove(table.datasetId, table.id);
    if (!res.ok) {
      setBusy(null);
      setConfirming(false);
      setError(res.error);
    }
  }

  return (
    <>
      <span className="row nowrap">
        <button type="button" className="secondary" data-testid="embedding-download" disabled={busy !== null} onClick={() => void onDownload()}>
          {busy === 'download' ? 'Preparing…' : 'Download .npy'}
        </button>
        <button
          type="button"
          className={confirming ? 'danger' : 'secondary'}
          data-testid="embedding-delete"
          aria-label={confirming ? `Confirm delete of ${table.name}` : `Delete ${table.name}`}
          disabled={busy !== null}
          onClick={() => void onDelete()}
        >
          {busy === 'delete' ? 'Deleting…' : confirming ? 'Confirm delete' : 'Delete'}
        </button>
        {confirming && busy === null && (
          <button type="button" className="link-button" onClick={() => setConfirming(false)}>keep</button>
        )}
      </span>
      {error && <ErrorBox error={error} title="Failed" onDismiss={() => setError(null)} />}
    </>
  );
}

export function EmbeddingList({ tables, loaded }: { tables: EmbeddingSummary[]; loaded: boolean }) {
  const listError = useEmbeddingsStore((s) => s.listError);
  return (
    <section className="card">
      <h3>Embedding tables of this dataset</h3>
      {listError && <ErrorBox error={listError} title="Could not list the embedding tables" />}
      {!loaded ? (
        <p className="muted">Reading the browser's storage…</p>
      ) : tables.length === 0 ? (
        <p className="muted" data-testid="no-embeddings">No tables yet: train SASRec, compute text embeddings or import a .npy.</p>
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="embedding-list">
            <thead>
              <tr>
                <th>Name</th>
                <th>Kind</th>
                <th>Source</th>
                <th className="num">Rows × cols</th>
                <th>Created</th>
                <th>Metrics</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {tables.map((t) => (
                <tr key={t.id} data-testid="embedding-row" data-kind={t.kind} data-source={t.source} data-id={t.id}>
                  <td className="title-cell">{t.name}</td>
                  <td><span className="badge" data-testid="embedding-kind">{t.kind}</span></td>
                  <td className="mono small">{t.source}</td>
                  <td className="num nowrap" data-testid="embedding-shape" title={formatBytes(t.sizeBytes)}>
                    <span data-testid="embedding-rows">{formatInt(t.rows)}</span> × <span data-testid="embedding-cols">{t.cols}</span>
                  </td>
                  <td className="nowrap small"><LocalTime ms={t.createdAt} /></td>
                  <td className="small" data-testid="embedding-metrics">{metricsText(t)}</td>
                  <td className="actions"><Actions table={t} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
