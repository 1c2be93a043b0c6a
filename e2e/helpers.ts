/** Shared helpers of the data-stage e2e specs. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, type Page } from '@playwright/test';

const here = dirname(fileURLToPath(import.meta.url));

export interface SampleExpectations {
  num_users: number;
  num_items: number;
  num_interactions: number;
  train_sequences: number;
}

/**
 * Expected statistics of the bundled sample: the reference implementation's dataset_stats.json
 * (shared conformance material) where this checkout has it, else the spec's values.
 */
export function sampleExpectations(): SampleExpectations {
  const candidates = [
    process.env.ETEGREC_SHARED && resolve(process.env.ETEGREC_SHARED, 'conformance/data-prep-instrument2014/dataset_stats.json'),
    resolve(here, '../../shared/conformance/data-prep-instrument2014/dataset_stats.json'),
  ].filter((p): p is string => !!p);
  for (const path of candidates) {
    if (existsSync(path)) return JSON.parse(readFileSync(path, 'utf8')) as SampleExpectations;
  }
  return { num_users: 1429, num_items: 900, num_interactions: 10261, train_sequences: 5974 };
}

/** 10261 → "10,261", as the UI shows counts. */
export function fmt(n: number): string {
  return new Intl.NumberFormat('en-US').format(n);
}

/** Opens the studio and waits until the stored datasets have been read. */
export async function openStudio(page: Page, hash = '#/data'): Promise<void> {
  await page.goto(`/${hash}`);
  await expect(page.getByRole('heading', { name: 'ETEGRec Studio' })).toBeVisible();
}

export async function waitForDatasetList(page: Page): Promise<void> {
  await expect(page.getByTestId('dataset-list').or(page.getByTestId('no-datasets'))).toBeVisible();
}

/**
 * Waits until a job (sample or import) has ended: on success the app opens the dataset page; on
 * failure the error box appears, and this throws with its text so the test report says why.
 */
export async function waitForImported(page: Page): Promise<void> {
  const page_ = page.getByTestId('dataset-page');
  const error = page.getByTestId('error-box');
  await expect(page_.or(error)).toBeVisible({ timeout: 120_000 });
  if (await error.isVisible()) throw new Error(`Import failed: ${await error.innerText()}`);
  await expect(page.getByTestId('stat-users')).toBeVisible();
}

/** Loads the bundled sample and waits for its dataset page. */
export async function loadSample(page: Page): Promise<void> {
  await waitForDatasetList(page);
  await page.getByTestId('load-sample').click();
  await waitForImported(page);
}

/** The statistics cards as text, keyed by test id. */
export async function readStats(page: Page): Promise<Record<string, string>> {
  const ids = [
    'stat-users', 'stat-items', 'stat-interactions', 'stat-sparsity', 'stat-train-samples',
    'stat-valid-samples', 'stat-test-samples', 'stat-seq-length',
  ];
  const out: Record<string, string> = {};
  for (const id of ids) out[id] = (await page.getByTestId(id).textContent()) ?? '';
  return out;
}

/** Rows of the stored-datasets table as text (name and counts), in display order. */
export async function readDatasetRows(page: Page): Promise<string[]> {
  await waitForDatasetList(page);
  const rows = page.getByTestId('dataset-row');
  const n = await rows.count();
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const row = rows.nth(i);
    const cells = await Promise.all(
      ['open-dataset', 'row-users', 'row-items', 'row-interactions'].map((id) => row.getByTestId(id).textContent()),
    );
    out.push(cells.join(' | '));
  }
  return out;
}
