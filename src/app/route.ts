/**
 * The page's location as a tiny hash route: `#/data` (datasets), `#/data/<datasetId>` (one
 * dataset), `#/embeddings[/<datasetId>]` (stage 2 for a dataset). The URL is the state, so a reload
 * or a shared link lands on the same view.
 */
import { useSyncExternalStore } from 'react';

export type Route =
  | { page: 'datasets' }
  | { page: 'runs' }
  | { page: 'dataset'; datasetId: string }
  | { page: 'embeddings'; datasetId: string | null }
  | { page: 'tokenizer'; datasetId: string | null }
  | { page: 'joint'; datasetId: string | null }
  | { page: 'grpo'; datasetId: string | null }
  | { page: 'experiments'; datasetId: string | null }
  /** A link whose address cannot be read (a malformed % escape): shown as an error with a way back. */
  | { page: 'bad-link'; hash: string; message: string };

class BadEscape extends Error {}

/** A path part of the hash, decoded; a malformed % escape is reported, not thrown as a URIError. */
function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new BadEscape(`"${part.length > 80 ? `${part.slice(0, 80)}…` : part}" has a malformed % escape`);
  }
}

export function parseRoute(hash: string): Route {
  try {
    return parseRouteParts(hash);
  } catch (err) {
    if (err instanceof BadEscape) return { page: 'bad-link', hash, message: `The address cannot be read: ${err.message}.` };
    throw err;
  }
}

function parseRouteParts(hash: string): Route {
  const m = /^#\/data\/(.+)$/.exec(hash);
  if (m) return { page: 'dataset', datasetId: decodePart(m[1]) };
  const e = /^#\/embeddings(?:\/([^?]+))?(?:\?.*)?$/.exec(hash);
  if (e) return { page: 'embeddings', datasetId: e[1] ? decodePart(e[1]) : null };
  const t = /^#\/tokenizer(?:\/([^?]+))?(?:\?.*)?$/.exec(hash);
  if (t) return { page: 'tokenizer', datasetId: t[1] ? decodePart(t[1]) : null };
  if (/^#\/runs(?:\?.*)?$/.test(hash)) return { page: 'runs' };
  // A shared experiment rides along as `?cfg=…` (src/app/shareConfig.ts).
  const j = /^#\/joint(?:\/([^?]+))?(?:\?.*)?$/.exec(hash);
  if (j) return { page: 'joint', datasetId: j[1] ? decodePart(j[1]) : null };
  const g = /^#\/grpo(?:\/([^?]+))?(?:\?.*)?$/.exec(hash);
  if (g) return { page: 'grpo', datasetId: g[1] ? decodePart(g[1]) : null };
  const x = /^#\/experiments(?:\/([^?]+))?(?:\?.*)?$/.exec(hash);
  if (x) return { page: 'experiments', datasetId: x[1] ? decodePart(x[1]) : null };
  return { page: 'datasets' };
}

export function jointHref(datasetId?: string | null): string {
  return datasetId ? `#/joint/${encodeURIComponent(datasetId)}` : '#/joint';
}

export function grpoHref(datasetId?: string | null): string {
  return datasetId ? `#/grpo/${encodeURIComponent(datasetId)}` : '#/grpo';
}

export function experimentsHref(datasetId?: string | null): string {
  return datasetId ? `#/experiments/${encodeURIComponent(datasetId)}` : '#/experiments';
}

export function embeddingsHref(datasetId?: string | null): string {
  return datasetId ? `#/embeddings/${encodeURIComponent(datasetId)}` : '#/embeddings';
}

export function tokenizerHref(datasetId?: string | null): string {
  return datasetId ? `#/tokenizer/${encodeURIComponent(datasetId)}` : '#/tokenizer';
}

export function datasetHref(datasetId: string): string {
  return `#/data/${encodeURIComponent(datasetId)}`;
}

export function navigate(hash: string): void {
  if (location.hash !== hash) location.hash = hash;
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener('hashchange', onChange);
  return () => window.removeEventListener('hashchange', onChange);
}

export function useHash(): string {
  return useSyncExternalStore(subscribe, () => location.hash);
}

export function useRoute(): Route {
  return parseRoute(useHash());
}
