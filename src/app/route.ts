/**
 * The page's location as a tiny hash route: `#/data` (datasets) or `#/data/<datasetId>` (one
 * dataset). The URL is the state, so a reload or a shared link lands on the same view.
 */
import { useSyncExternalStore } from 'react';

export type Route = { page: 'datasets' } | { page: 'dataset'; datasetId: string };

export function parseRoute(hash: string): Route {
  const m = /^#\/data\/(.+)$/.exec(hash);
  if (m) return { page: 'dataset', datasetId: decodeURIComponent(m[1]) };
  return { page: 'datasets' };
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
