/**
 * One import orchestrator for the worker and the CLI: a reference bundle (zip or loose files) or one
 * interaction file (+ optional metadata) → a prepared dataset, with progress events and warnings.
 */
import { StudioError, throwIfCancelled } from '../errors.ts';
import { estimateEta, throttleProgress, type ProgressEvent, type ProgressSink } from '../events.ts';
import { importReferenceBundle, looksLikeReferenceBundle, type ImportedEmbedding } from './referenceBundle.ts';
import type { ByteSource } from './lines.ts';
import { parseMetadata } from './metadata.ts';
import { parseInteractions } from './parse.ts';
import { prepareDataset } from './prepare.ts';
import type { InteractionFormat, MetadataFormat, ParseReport, PrepareConfig, PreparedDataset } from './types.ts';

export interface ImportSourceFile {
  name: string;
  size?: number;
  open(): ByteSource;
  bytes?(): Promise<Uint8Array>;
}

export interface ImportInput {
  files: ImportSourceFile[];
  metadata?: ImportSourceFile;
  /** Dataset name; '' = the bundle's file prefix, or the input file name without extensions. */
  name: string;
  format: InteractionFormat | 'auto';
  metadataFormat?: MetadataFormat | 'auto';
  config: PrepareConfig;
  signal?: AbortSignal;
  onEvent?: ProgressSink;
}

export interface ImportOutput {
  dataset: PreparedDataset;
  /** Non-fatal findings for the user (malformed lines skipped, items without titles…). */
  warnings: string[];
  /** `.npy` tables found in a reference bundle (empty otherwise). */
  embeddings: ImportedEmbedding[];
}

const PROGRESS_MS = 200;

/** A dataset name from a file name: `reviews_X_5.json.gz` → `reviews_X_5`. */
export function defaultDatasetName(fileName: string): string {
  const i = Math.max(fileName.lastIndexOf('/'), fileName.lastIndexOf('\\'));
  let b = fileName.slice(i + 1).replace(/\.(gz|zip)$/i, '');
  b = b.replace(/\.(json|jsonl|txt|csv|tsv|inter)$/i, '');
  return b || 'dataset';
}

async function readAll(f: ImportSourceFile, onBytes: (n: number) => void, signal?: AbortSignal): Promise<Uint8Array> {
  if (f.bytes) {
    const b = await f.bytes();
    onBytes(b.length);
    return b;
  }
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of f.open()) {
    throwIfCancelled(signal);
    parts.push(chunk);
    total += chunk.length;
    onBytes(chunk.length);
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** Human-readable summary of what a parser skipped ('' when nothing). */
export function describeReport(r: ParseReport): string[] {
  const out: string[] = [];
  const first = r.problems.slice(0, 5).map((p) => `line ${p.line}: ${p.reason}`).join('; ');
  if (r.malformedLines > 0) {
    out.push(`${r.file}: ${r.malformedLines.toLocaleString('en-US')} malformed line(s) skipped` + (first ? ` (first: ${first})` : ''));
  }
  if (r.missingFieldRows > 0) {
    // the first problems (with their lines) go with the first message
    out.push(`${r.file}: ${r.missingFieldRows.toLocaleString('en-US')} row(s) without a required field dropped` + (first && r.malformedLines === 0 ? ` (first: ${first})` : ''));
  }
  return out;
}

export async function importToDataset(input: ImportInput): Promise<ImportOutput> {
  const { signal } = input;
  const sink = throttleProgress(input.onEvent ?? (() => {}), PROGRESS_MS);
  const warnings: string[] = [];
  const onEvent: ProgressSink = (e: ProgressEvent) => {
    if (e.type === 'log' && e.level === 'warn' && !warnings.includes(e.message)) warnings.push(e.message);
    sink(e);
  };
  try {
    if (!input.files.length) throw new StudioError({ code: 'bad_option', message: 'No input file was given' });
    const names = input.files.map((f) => f.name);
    const totalBytes = input.files.every((f) => f.size !== undefined)
      ? input.files.reduce((a, f) => a + (f.size ?? 0), 0) : undefined;
    const start = Date.now();
    const bytesProgress = (phase: string, done: number) => onEvent({
      type: 'progress', stage: 'data', phase, done, unit: 'bytes',
      ...(totalBytes !== undefined ? { total: totalBytes } : {}),
      ...(() => { const eta = estimateEta(start, Date.now(), done, totalBytes); return eta === undefined ? {} : { etaSeconds: eta }; })(),
    });

    if (input.format === 'reference' || looksLikeReferenceBundle(names)) {
      onEvent({ type: 'phase', stage: 'data', phase: 'read', message: `reading ${names.join(', ')}` });
      let read = 0;
      const files = [];
      for (const f of input.files) {
        files.push({ name: f.name, bytes: await readAll(f, (n) => { read += n; bytesProgress('read', read); }, signal) });
      }
      const res = await importReferenceBundle(files, { name: input.name, config: input.config, signal, onEvent });
      for (const w of res.warnings) if (!warnings.includes(w)) warnings.push(w);
      return { dataset: res.dataset, warnings, embeddings: res.embeddings };
    }

    if (input.files.length > 1) {
      throw new StudioError({
        code: 'bad_option',
        message: `Expected one interaction file (or the files of a reference bundle), got ${input.files.length}: ${names.join(', ')}`,
      });
    }
    const file = input.files[0];
    onEvent({ type: 'phase', stage: 'data', phase: 'parse', message: `parsing ${file.name}` });
    const raw = await parseInteractions(file.open(), file.name, input.format, {
      signal,
      ...(file.size !== undefined ? { totalBytes: file.size } : {}),
      onProgress: (bytes) => bytesProgress('parse', bytes),
    });
    sink.flush();
    warnings.push(...describeReport(raw.report));
    onEvent({
      type: 'log', stage: 'data', level: 'info',
      message: `${file.name}: ${raw.count.toLocaleString('en-US')} interactions, ${raw.userNames.length.toLocaleString('en-US')} users, ` +
        `${raw.itemNames.length.toLocaleString('en-US')} items (format ${raw.format})`,
    });

    let titles: Map<string, string> | undefined;
    let metadataReport: ParseReport | undefined;
    let metadataFormat: MetadataFormat | undefined;
    if (input.metadata) {
      const m = input.metadata;
      onEvent({ type: 'phase', stage: 'data', phase: 'metadata', message: `parsing ${m.name}` });
      const mStart = Date.now();
      const res = await parseMetadata(m.open(), m.name, input.metadataFormat ?? 'auto', {
        signal,
        ...(m.size !== undefined ? { totalBytes: m.size } : {}),
        onProgress: (bytes) => onEvent({
          type: 'progress', stage: 'data', phase: 'metadata', done: bytes, unit: 'bytes',
          ...(m.size !== undefined ? { total: m.size } : {}),
          ...(() => { const eta = estimateEta(mStart, Date.now(), bytes, m.size); return eta === undefined ? {} : { etaSeconds: eta }; })(),
        }),
      });
      sink.flush();
      titles = res.titles;
      metadataReport = res.report;
      metadataFormat = res.report.format as MetadataFormat;
      warnings.push(...describeReport(res.report));
    }

    throwIfCancelled(signal);
    const dataset = prepareDataset(raw, input.config, input.name || defaultDatasetName(file.name), {
      signal, onEvent, files: [file.name, ...(input.metadata ? [input.metadata.name] : [])],
      ...(titles ? { titles } : {}),
      ...(metadataFormat ? { metadataFormat } : {}),
      ...(metadataReport ? { metadataReport } : {}),
    });
    if (dataset.itemTitles) {
      const missing = dataset.itemIds.length - dataset.stats.itemsWithTitles;
      if (missing > 0) {
        warnings.push(`${missing.toLocaleString('en-US')} of ${dataset.itemIds.length.toLocaleString('en-US')} items have no title in ${input.metadata!.name}`);
      }
    }
    onEvent({ type: 'phase', stage: 'data', phase: 'done', message: `${dataset.stats.num_users} users, ${dataset.stats.num_items} items, ${dataset.stats.num_interactions} interactions` });
    return { dataset, warnings, embeddings: [] };
  } finally {
    sink.flush();
  }
}
