/** Text embeddings (TF-IDF + SVD), .npy import, and the dual-input builder of the embeddings stage. */
import { useState, type FormEvent } from 'react';
import type { DatasetSummary, EmbeddingKind, EmbeddingSummary } from '../../../../workers/api.ts';
import type { StudioErrorInfo } from '../../../core/errors.ts';
import { useEmbeddingsStore } from '../../stores/embeddings.ts';
import { formatInt } from '../../format.ts';
import { ErrorBox } from '../ErrorBox.tsx';
import { ProgressLine } from './ProgressLine.tsx';

export function TextPanel({ dataset }: { dataset: DatasetSummary }) {
  const text = useEmbeddingsStore((s) => s.text);
  const computeText = useEmbeddingsStore((s) => s.computeText);
  const cancelText = useEmbeddingsStore((s) => s.cancelText);
  const [dim, setDim] = useState('256');
  const titled = dataset.stats.itemsWithTitles;
  const mine = text.datasetId === dataset.id;
  const dimValue = Number(dim);
  const dimOk = Number.isInteger(dimValue) && dimValue >= 1 && dimValue <= 4096;

  return (
    <section className="card" data-testid="text-panel">
      <h3>Text embeddings: TF-IDF + SVD</h3>
      {titled === 0 ? (
        <p className="muted" data-testid="text-disabled-note">
          This dataset has no item titles, so there is no text to encode. Re-import it together with item metadata
          (titles) to compute TF-IDF text embeddings here.
        </p>
      ) : (
        <p className="hint">
          {formatInt(titled)} of {formatInt(dataset.stats.num_items)} items have a title. Titles → TF-IDF (sublinear tf,
          smoothed idf) → randomized truncated SVD → unit-length rows: an offline stand-in for the reference's
          sentence-t5 encoder.
        </p>
      )}
      <p className="hint" data-testid="text-import-note">
        A pretrained sentence encoder's output (e.g. sentence-t5-base, 768-d, N or N+1 rows) can be imported as a
        <strong> text</strong> table with “Import .npy” instead.
      </p>
      <form
        className="row"
        onSubmit={(e: FormEvent) => {
          e.preventDefault();
          if (dimOk) void computeText(dataset.id, { dim: dimValue });
        }}
      >
        <fieldset className="inline-field" disabled={titled === 0 || text.running}>
          <label>
            Width{' '}
            <input
              type="number"
              min={1}
              max={4096}
              className="num-input"
              data-testid="text-dim"
              value={dim}
              aria-invalid={!dimOk}
              onChange={(e) => setDim(e.target.value)}
            />
          </label>
          <button type="submit" className="primary" data-testid="text-compute" disabled={!dimOk}>
            Compute text embeddings
          </button>
        </fieldset>
        {text.running && mine && (
          <button type="button" className="danger" disabled={text.cancelling} onClick={() => void cancelText()}>
            {text.cancelling ? 'Cancelling…' : 'Cancel'}
          </button>
        )}
      </form>
      {text.running && mine && <ProgressLine progress={text.progress} startedAt={text.startedAt} testId="text-progress" />}
      {mine && !text.running && text.error && (
        <ErrorBox error={text.error} title={text.error.code === 'cancelled' ? 'Cancelled — nothing was stored' : 'Text embeddings failed — nothing was stored'} />
      )}
      {mine && !text.running && text.result && (
        <p className="small" data-testid="text-result">
          Stored <strong>{text.result.name}</strong> ({formatInt(text.result.rows)} × {text.result.cols}).
          {text.warnings.map((w, i) => <span key={i} className="warn"> {w}</span>)}
        </p>
      )}
    </section>
  );
}

export function ImportPanel({ dataset }: { dataset: DatasetSummary }) {
  const importTable = useEmbeddingsStore((s) => s.importTable);
  const [file, setFile] = useState<File | null>(null);
  const [kind, setKind] = useState<EmbeddingKind>('collab');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<StudioErrorInfo | null>(null);
  const [done, setDone] = useState<EmbeddingSummary | null>(null);
  const [inputKey, setInputKey] = useState(0);

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    if (!file) return;
    setBusy(true);
    setError(null);
    setDone(null);
    const res = await importTable(dataset.id, file, kind);
    setBusy(false);
    if (res.ok) {
      setDone(res.value);
      setFile(null);
      setInputKey((k) => k + 1);
    } else {
      setError(res.error);
    }
  }

  return (
    <section className="card" data-testid="embedding-import-panel">
      <h3>Import .npy</h3>
      <p className="hint">
        A float table with {formatInt(dataset.stats.num_items)} rows (one per item, in item-id order) or{' '}
        {formatInt(dataset.stats.num_items + 1)} rows (row 0 = PAD, dropped), as the reference writes them.
      </p>
      <form className="form-grid" onSubmit={(e) => void onSubmit(e)}>
        <label htmlFor="embedding-import-file">File</label>
        <div>
          <input
            key={inputKey}
            id="embedding-import-file"
            type="file"
            accept=".npy"
            data-testid="embedding-import-file"
            onChange={(e) => setFile(e.target.files?.[0] ?? null)}
          />
        </div>
        <label htmlFor="embedding-import-kind">Kind</label>
        <div>
          <select id="embedding-import-kind" data-testid="embedding-import-kind" value={kind} onChange={(e) => setKind(e.target.value as EmbeddingKind)}>
            <option value="collab">collab (collaborative, e.g. SASRec)</option>
            <option value="text">text (e.g. a sentence encoder)</option>
          </select>
        </div>
        <span />
        <div>
          <button type="submit" data-testid="embedding-import-submit" disabled={!file || busy}>
            {busy ? 'Importing…' : 'Import'}
          </button>
        </div>
      </form>
      {error && <ErrorBox error={error} title="Import failed — nothing was stored" onDismiss={() => setError(null)} />}
      {done && (
        <p className="small" data-testid="embedding-import-result">
          Stored <strong>{done.name}</strong> ({formatInt(done.rows)} × {done.cols}, {done.kind}).
        </p>
      )}
    </section>
  );
}

export function DualPanel({ datasetId, tables }: { datasetId: string; tables: EmbeddingSummary[] }) {
  const buildDual = useEmbeddingsStore((s) => s.buildDual);
  const collabs = tables.filter((t) => t.kind === 'collab');
  const texts = tables.filter((t) => t.kind === 'text');
  const [collabId, setCollabId] = useState('');
  const [textId, setTextId] = useState('');
  const [normalize, setNormalize] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<StudioErrorInfo | null>(null);
  const [done, setDone] = useState<EmbeddingSummary | null>(null);
  const c = collabs.find((t) => t.id === collabId) ?? collabs[0];
  const t = texts.find((x) => x.id === textId) ?? texts[0];

  async function onBuild() {
    if (!c || !t) return;
    setBusy(true);
    setError(null);
    setDone(null);
    const res = await buildDual(datasetId, c.id, t.id, normalize);
    setBusy(false);
    if (res.ok) setDone(res.value);
    else setError(res.error);
  }

  return (
    <section className="card" data-testid="dual-panel">
      <h3>Dual semantic input</h3>
      <p className="hint">[collab ‖ text] per item, collab first; optionally each part scaled to unit length (the reference default is off).</p>
      {collabs.length === 0 || texts.length === 0 ? (
        <p className="muted" data-testid="dual-missing">Needs one collab and one text table of this dataset.</p>
      ) : (
        <div className="form-grid">
          <label htmlFor="dual-collab">Collab</label>
          <div>
            <select id="dual-collab" data-testid="dual-collab" value={c?.id ?? ''} onChange={(e) => setCollabId(e.target.value)}>
              {collabs.map((x) => <option key={x.id} value={x.id}>{x.name} ({x.cols})</option>)}
            </select>
          </div>
          <label htmlFor="dual-text">Text</label>
          <div>
            <select id="dual-text" data-testid="dual-text" value={t?.id ?? ''} onChange={(e) => setTextId(e.target.value)}>
              {texts.map((x) => <option key={x.id} value={x.id}>{x.name} ({x.cols})</option>)}
            </select>
          </div>
          <span />
          <label className="checkbox">
            <input type="checkbox" data-testid="dual-normalize" checked={normalize} onChange={(e) => setNormalize(e.target.checked)} /> L2-normalise each part
          </label>
          <span />
          <div>
            <button type="button" data-testid="dual-build" disabled={busy} onClick={() => void onBuild()}>
              {busy ? 'Building…' : `Build (${(c?.cols ?? 0) + (t?.cols ?? 0)} columns)`}
            </button>
          </div>
        </div>
      )}
      {error && <ErrorBox error={error} title="Could not build the dual input — nothing was stored" onDismiss={() => setError(null)} />}
      {done && (
        <p className="small" data-testid="dual-result">
          Stored <strong>{done.name}</strong> ({formatInt(done.rows)} × {done.cols}).
        </p>
      )}
    </section>
  );
}
