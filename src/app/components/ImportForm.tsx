/** Import form: interaction file(s), optional metadata, name, format, k-core and max history length. */
import { useState, type FormEvent } from 'react';
import type { ImportRequest } from '../../../workers/api.ts';
import type { InteractionFormat } from '../../core/data/types.ts';
import { DEFAULT_PREPARE_CONFIG } from '../../core/data/types.ts';
import { useJobStore } from '../stores/job.ts';
import { datasetHref, navigate } from '../route.ts';
import { FORMAT_DESCRIPTIONS, FORMAT_OPTIONS, INTERACTION_FILE_ACCEPT, METADATA_FILE_ACCEPT } from '../stages.ts';
import { formatBytes } from '../format.ts';

/** "reviews_Musical_Instruments_5.json.gz" → "reviews_Musical_Instruments_5". */
function defaultName(files: File[]): string {
  if (files.length === 0) return '';
  return files[0].name.replace(/(\.(gz|zip))+$/i, '').replace(/\.(jsonl?|txt|inter|tsv)$/i, '').replace(/\.(train|valid|test)$/i, '');
}

export function ImportForm() {
  const running = useJobStore((s) => s.running);
  const importDataset = useJobStore((s) => s.importDataset);
  const [files, setFiles] = useState<File[]>([]);
  const [metadata, setMetadata] = useState<File | null>(null);
  const [name, setName] = useState('');
  const [format, setFormat] = useState<InteractionFormat | 'auto'>('auto');
  const [kcore, setKcore] = useState(String(DEFAULT_PREPARE_CONFIG.kcore));
  const [maxLen, setMaxLen] = useState(String(DEFAULT_PREPARE_CONFIG.maxLen));
  const [formKey, setFormKey] = useState(0);

  const kcoreNum = Number(kcore);
  const maxLenNum = Number(maxLen);
  const kcoreOk = Number.isInteger(kcoreNum) && kcoreNum >= 0;
  const maxLenOk = Number.isInteger(maxLenNum) && maxLenNum >= 1;
  const effectiveName = name.trim() || defaultName(files);
  const canSubmit = !running && files.length > 0 && kcoreOk && maxLenOk && effectiveName !== '';

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    if (!canSubmit) return;
    const request: ImportRequest = {
      files: files.map((f) => ({ name: f.name, data: f })),
      name: effectiveName,
      format,
      config: { kcore: kcoreNum, maxLen: maxLenNum },
    };
    if (metadata) {
      request.metadata = { name: metadata.name, data: metadata };
      request.metadataFormat = 'auto';
    }
    const result = await importDataset(request);
    if (result) {
      setFiles([]);
      setMetadata(null);
      setName('');
      setFormKey((k) => k + 1);
      navigate(datasetHref(result.dataset.id));
    }
  }

  return (
    <section className="card">
      <h3>Import a dataset</h3>
      <form key={formKey} className="form-grid" onSubmit={(e) => void onSubmit(e)}>
        <label htmlFor="import-files">Interaction file(s)</label>
        <div>
          <input
            id="import-files"
            type="file"
            multiple
            accept={INTERACTION_FILE_ACCEPT}
            data-testid="import-files"
            onChange={(e) => setFiles(Array.from(e.target.files ?? []))}
          />
          <p className="hint">
            Reviews (.json/.jsonl, optionally .gz), sequence files (.txt), or a reference bundle (its files, or one .zip).
            {files.length > 0 && (
              <> Selected: {files.map((f) => `${f.name} (${formatBytes(f.size)})`).join(', ')}.</>
            )}
          </p>
        </div>

        <label htmlFor="import-metadata">Item metadata (optional)</label>
        <div>
          <input
            id="import-metadata"
            type="file"
            accept={METADATA_FILE_ACCEPT}
            data-testid="import-metadata"
            onChange={(e) => setMetadata(e.target.files?.[0] ?? null)}
          />
          <p className="hint">Titles: Amazon meta files (2014/2018/2023) or a TSV of item_id, asin, title.</p>
        </div>

        <label htmlFor="import-name">Name</label>
        <input
          id="import-name"
          type="text"
          data-testid="import-name"
          placeholder={defaultName(files) || 'e.g. Instruments-5core'}
          value={name}
          onChange={(e) => setName(e.target.value)}
        />

        <label htmlFor="import-format">Format</label>
        <div>
          <select
            id="import-format"
            data-testid="import-format"
            value={format}
            onChange={(e) => setFormat(e.target.value as InteractionFormat | 'auto')}
          >
            {FORMAT_OPTIONS.map((f) => (
              <option key={f} value={f}>{f === 'auto' ? 'auto-detect' : f}</option>
            ))}
          </select>
          <p className="hint">{FORMAT_DESCRIPTIONS[format]}</p>
        </div>

        <label htmlFor="import-kcore">k-core</label>
        <div>
          <input
            id="import-kcore"
            type="number"
            min={0}
            step={1}
            data-testid="import-kcore"
            value={kcore}
            onChange={(e) => setKcore(e.target.value)}
            aria-invalid={!kcoreOk}
          />
          <p className={kcoreOk ? 'hint' : 'hint bad'}>
            Iterated filter: users, then items with fewer than k interactions are dropped until stable. 0 or 1 disables it.
          </p>
        </div>

        <label htmlFor="import-maxlen">Max history length</label>
        <div>
          <input
            id="import-maxlen"
            type="number"
            min={1}
            step={1}
            data-testid="import-maxlen"
            value={maxLen}
            onChange={(e) => setMaxLen(e.target.value)}
            aria-invalid={!maxLenOk}
          />
          <p className={maxLenOk ? 'hint' : 'hint bad'}>Most recent items kept in each sample's history (reference: 50).</p>
        </div>

        <span />
        <div className="row">
          <button type="submit" className="primary" data-testid="import-submit" disabled={!canSubmit}>
            Import
          </button>
          {files.length === 0 && <span className="hint">Choose at least one file.</span>}
        </div>
      </form>
    </section>
  );
}
