/** The dataset's stored tokenizers: inspect, export (safetensors + code.json), delete; and the import form. */
import { useState } from 'react';
import type { EmbeddingSummary } from '../../../../workers/api.ts';
import type { SnapshotKind, TokenizerImportResult, TokenizerSummary } from '../../../../workers/tokenizerApi.ts';
import type { StudioErrorInfo } from '../../../core/errors.ts';
import { downloadBytes } from '../../download.ts';
import { formatBytes, formatPercent } from '../../format.ts';
import { LocalTime } from '../LocalTime.tsx';
import { getStudioClient } from '../../workerClient.ts';
import { useTokenizerStore } from '../../stores/tokenizer.ts';
import { ErrorBox } from '../ErrorBox.tsx';

const pct = (x: number) => formatPercent(x, 2);

export function TokenizerList({ datasetId, tokenizers, loaded }: { datasetId: string; tokenizers: TokenizerSummary[]; loaded: boolean }) {
  const viewId = useTokenizerStore((s) => s.view.id);
  const { openView, remove } = useTokenizerStore.getState();
  const [error, setError] = useState<StudioErrorInfo | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  async function exportOne(t: TokenizerSummary, which: 'safetensors' | 'code', snapshot?: SnapshotKind): Promise<void> {
    setBusy(`${t.id}:${which}`);
    setError(null);
    try {
      const r = await getStudioClient().exportTokenizer(t.id, snapshot);
      if (!r.ok) setError(r.error);
      else if (which === 'safetensors') downloadBytes(r.value.safetensors.fileName, r.value.safetensors.bytes, 'application/octet-stream');
      else downloadBytes(r.value.codeJson.fileName, new TextEncoder().encode(r.value.codeJson.text), 'application/json');
    } catch (err) {
      setError({ code: 'internal', message: err instanceof Error ? err.message : String(err) });
    } finally {
      setBusy(null);
    }
  }

  return (
    <section className="card" data-testid="tok-list">
      <h3>Stored tokenizers</h3>
      {!loaded ? (
        <p className="muted">Loading…</p>
      ) : tokenizers.length === 0 ? (
        <p className="muted" data-testid="tok-none">No tokenizer yet: train one above or import one below.</p>
      ) : (
        <table className="compact tok-table">
          <thead>
            <tr>
              <th>name</th><th>source</th><th>items</th><th>codebooks</th><th>collision</th><th>Gini mean</th><th>max suffix</th><th>size</th><th>created</th><th />
            </tr>
          </thead>
          <tbody>
            {tokenizers.map((t) => (
              <tr key={t.id} data-testid="tok-row" data-id={t.id} data-source={t.source} className={viewId === t.id ? 'selected' : undefined}>
                <td data-testid="tok-name">
                  {t.name}
                  <div className="small muted">on {t.embeddingName} ({t.inDim}-d)</div>
                  {t.snapshots.collision && (
                    <div className="small muted" data-testid="tok-snapshots">
                      best collision @ epoch {t.snapshots.collision.epoch + 1}
                      {(['gini', 'loss'] as const).map((k) => {
                        const s = t.snapshots[k];
                        return s ? (
                          <span key={k}>
                            {' '}· best {k === 'gini' ? 'Gini' : 'loss'} @ {s.epoch + 1}{' '}
                            <button className="link-button" data-testid={`tok-export-${k}`} disabled={busy !== null} onClick={() => void exportOne(t, 'safetensors', k)}>
                              .safetensors
                            </button>
                          </span>
                        ) : null;
                      })}
                    </div>
                  )}
                </td>
                <td>{t.source}</td>
                <td>{t.items}</td>
                <td>{t.numEmbList.join(' × ')} · e {t.eDim}</td>
                <td data-testid="tok-collision">{pct(t.collisionRate)}</td>
                <td>{t.giniMean.toFixed(4)}</td>
                <td>{t.maxSuffix}</td>
                <td>{formatBytes(t.sizeBytes)}</td>
                <td className="small"><LocalTime ms={t.createdAt} /></td>
                <td>
                  <div className="row nowrap">
                    <button data-testid="tok-inspect" onClick={() => void openView(t.id)}>Inspect</button>
                    <button data-testid="tok-export-safetensors" disabled={busy !== null} onClick={() => void exportOne(t, 'safetensors')} title={`${t.tensorCount} tensors, reference keys`}>
                      .safetensors
                    </button>
                    <button data-testid="tok-export-codejson" disabled={busy !== null} onClick={() => void exportOne(t, 'code')}>code.json</button>
                    <button
                      className="secondary"
                      data-testid="tok-delete"
                      onClick={() => {
                        if (confirm(`Delete tokenizer "${t.name}"?`)) void remove(datasetId, t.id).then((r) => { if (!r.ok) setError(r.error); });
                      }}
                    >
                      Delete
                    </button>
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {error && <ErrorBox error={error} onDismiss={() => setError(null)} />}
    </section>
  );
}

export function ImportTokenizerPanel({ datasetId, embeddings }: { datasetId: string; embeddings: EmbeddingSummary[] }) {
  const [file, setFile] = useState<File | null>(null);
  const [embeddingId, setEmbeddingId] = useState('');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<TokenizerImportResult | null>(null);
  const [error, setError] = useState<StudioErrorInfo | null>(null);
  const { importTokenizer } = useTokenizerStore.getState();

  return (
    <section className="card" data-testid="tok-import-panel">
      <h3>Import a tokenizer</h3>
      <p className="small muted">
        A <code>.safetensors</code> exported here, or the reference implementation's RQ-VAE <code>.pth</code>. Tensors
        are matched by their reference names and shapes; any mismatch is refused and nothing is stored. The item codes
        are computed with an embedding table of the tokenizer's input width.
      </p>
      <div className="row">
        <input type="file" accept=".safetensors,.pth,.pt" data-testid="tok-import-file" onChange={(e) => { setFile(e.target.files?.[0] ?? null); setResult(null); setError(null); }} />
        <label>
          codes from{' '}
          <select data-testid="tok-import-embedding" value={embeddingId} onChange={(e) => setEmbeddingId(e.target.value)}>
            <option value="">newest table of the right width</option>
            {embeddings.map((e) => <option key={e.id} value={e.id}>{e.name} ({e.cols}-d)</option>)}
          </select>
        </label>
        <button
          className="primary"
          data-testid="tok-import-submit"
          disabled={!file || busy}
          onClick={async () => {
            if (!file) return;
            setBusy(true);
            setResult(null);
            setError(null);
            const r = await importTokenizer(datasetId, file, embeddingId || undefined);
            setBusy(false);
            if (r.ok) setResult(r.value);
            else setError(r.error);
          }}
        >
          {busy ? 'Importing…' : 'Import'}
        </button>
      </div>
      {result && (
        <p className="note ok" data-testid="tok-import-result">
          Imported "{result.tokenizer.name}": <strong data-testid="tok-import-message">{result.message}</strong> · collision{' '}
          {pct(result.tokenizer.collisionRate)} on {result.tokenizer.embeddingName}
        </p>
      )}
      {error && <ErrorBox error={error} title="Import refused" onDismiss={() => setError(null)} />}
    </section>
  );
}
