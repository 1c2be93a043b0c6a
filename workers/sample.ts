/** Fetching the bundled sample (public/sample/sample.json + its data file) relative to the app base. */
import { StudioError } from '../src/core/errors.ts';
import type { InteractionFormat } from '../src/core/data/types.ts';
import { blobSource, type BlobImportSource } from './jobs.ts';

export interface SampleManifest {
  file: string;
  format: InteractionFormat | 'auto';
  name: string;
  kcore: number;
  maxLen: number;
  attribution?: string;
}

export type FetchLike = (url: string, init?: { signal?: AbortSignal }) => Promise<{
  ok: boolean;
  status: number;
  statusText?: string;
  json(): Promise<unknown>;
  blob(): Promise<Blob>;
}>;

/** The app's base URL seen from a worker (Vite's BASE_URL resolved against the origin). */
export function appBaseUrl(origin: string, baseUrl: string): string {
  return new URL(baseUrl || '/', origin.endsWith('/') ? origin : `${origin}/`).href;
}

export async function fetchSample(
  appBase: string,
  signal?: AbortSignal,
  fetchFn: FetchLike = (url, init) => fetch(url, init),
): Promise<{ manifest: SampleManifest; source: BlobImportSource }> {
  const manifestUrl = new URL('sample/sample.json', appBase).href;
  const res = await fetchOk(fetchFn, manifestUrl, signal);
  let json: unknown;
  try {
    json = await res.json();
  } catch (err) {
    if (signal?.aborted) throw err;
    // A dev server answers a missing file with index.html (SPA fallback), hence "not JSON".
    throw new StudioError({
      code: 'not_found',
      file: manifestUrl,
      message: 'The bundled sample manifest is missing or not JSON (is public/sample/sample.json deployed?)',
    });
  }
  const manifest = validateManifest(json, manifestUrl);
  const fileUrl = new URL(manifest.file, manifestUrl).href;
  const data = await (await fetchOk(fetchFn, fileUrl, signal)).blob();
  return { manifest, source: blobSource(manifest.file, data) };
}

async function fetchOk(fetchFn: FetchLike, url: string, signal?: AbortSignal) {
  let res;
  try {
    res = await fetchFn(url, { signal });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new StudioError({ code: 'not_found', message: `Could not fetch the bundled sample (${url}): ${String((err as Error)?.message ?? err)}` });
  }
  if (!res.ok) {
    throw new StudioError({ code: 'not_found', file: url, message: `Could not fetch the bundled sample: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}` });
  }
  return res;
}

function validateManifest(x: unknown, url: string): SampleManifest {
  const m = x as Partial<SampleManifest> | null;
  const bad = (field: string, expected: string, found: unknown): never => {
    throw new StudioError({ code: 'malformed_input', file: url, field, message: 'Invalid sample manifest', expected, found: JSON.stringify(found) });
  };
  if (!m || typeof m !== 'object') bad('(root)', 'an object', m);
  if (typeof m!.file !== 'string' || !m!.file) bad('file', 'a file name', m!.file);
  if (typeof m!.name !== 'string' || !m!.name) bad('name', 'a name', m!.name);
  if (m!.format !== undefined && typeof m!.format !== 'string') bad('format', 'a format name', m!.format);
  if (m!.kcore !== undefined && !Number.isInteger(m!.kcore)) bad('kcore', 'an integer', m!.kcore);
  if (m!.maxLen !== undefined && !(Number.isInteger(m!.maxLen) && m!.maxLen! > 0)) bad('maxLen', 'a positive integer', m!.maxLen);
  return {
    file: m!.file!,
    name: m!.name!,
    format: m!.format ?? 'auto',
    kcore: m!.kcore ?? 5,
    maxLen: m!.maxLen ?? 50,
    attribution: m!.attribution,
  };
}
