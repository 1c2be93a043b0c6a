/**
 * The item-embeddings stage end to end in Chromium with WebGPU (SwiftShader's software adapter):
 * SASRec trains in the worker with live charts and ends with a results table and a stored table
 * that downloads as a (900, hidden) float32 .npy; a .npy with the wrong row count is refused with
 * a specific error and nothing is stored. Shapes stay small and fixed (shader compiles are slow).
 */
import { readFile } from 'node:fs/promises';
import { expect, test, type Page } from '@playwright/test';
import { loadSample, openStudio, sampleExpectations, waitForDatasetList, waitForImported } from './helpers.ts';

const expected = sampleExpectations();

/** A float32 C-order .npy of the given shape. */
function npyBytes(rows: number, cols: number): Buffer {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const data = Buffer.alloc(rows * cols * 4);
  for (let i = 0; i < rows * cols; i++) data.writeFloatLE(i / 100, i * 4);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), data]);
}

/** Shape and dtype from a .npy header. */
function npyHeader(bytes: Buffer): { descr: string; shape: number[]; dataBytes: number } {
  expect(bytes.subarray(0, 6).toString('latin1')).toBe('\x93NUMPY');
  const major = bytes[6];
  const len = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = bytes.subarray(start, start + len).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1] ?? '';
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '')
    .split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  return { descr, shape, dataBytes: bytes.length - start - len };
}

/**
 * SwiftShader runs every op as a software dispatch: a small model (1 layer, 32-d, histories of
 * 10), 3 steps of 128 per epoch, the loss every step, and valid/test ranked in one chunk each.
 * Returns hidden_size.
 */
async function smallConfig(page: Page): Promise<number> {
  const hidden = 32;
  const edits: Record<string, string> = {
    hidden_size: String(hidden),
    inner_size: String(hidden),
    n_layers: '1',
    MAX_ITEM_LIST_LENGTH: '10',
    train_batch_size: '128',
    micro_batch_size: '128',
    eval_batch_size: '1536',
    log_every: '1',
  };
  for (const [key, value] of Object.entries(edits)) await page.getByTestId(`sasrec-field-${key}`).fill(value);
  await page.getByTestId('sasrec-max-steps').fill('3');
  return hidden;
}

async function openEmbeddings(page: Page): Promise<void> {
  await openStudio(page, '#/data', 'webgpu');
  await expect(page.getByTestId('backend-panel').getByTestId('backend-name')).toHaveText('webgpu', { timeout: 120_000 });
  await loadSample(page);
  await page.getByTestId('stage-embeddings').click();
  await expect(page).toHaveURL(/#\/embeddings\/.+/);
  await expect(page.getByTestId('embeddings-page')).toBeVisible();
  await expect(page.getByTestId('sasrec-preset')).toBeVisible();
}

test('SASRec trains on webgpu with live charts, stores a 900-row table and downloads it as .npy', async ({ page }) => {
  test.setTimeout(240_000);
  const t0 = Date.now();
  await openEmbeddings(page);
  await expect(page.getByTestId('sasrec-backend')).toContainText('webgpu');
  await expect(page.getByTestId('text-disabled-note')).toBeVisible(); // the sample has no titles
  await expect(page.getByTestId('no-embeddings')).toBeVisible();

  await page.getByTestId('sasrec-preset').selectOption('quick');
  await expect(page.getByTestId('sasrec-field-hidden_size')).toHaveValue('64');
  await page.getByTestId('sasrec-epochs').fill('2');
  await expect(page.getByTestId('sasrec-changed-epochs')).toBeVisible();
  const hidden = await smallConfig(page);
  await expect(page.getByTestId('sasrec-changed-hidden_size')).toBeVisible();
  await expect(page.getByTestId('sasrec-changed-count')).toContainText('values differ from the quick preset');

  await page.getByTestId('sasrec-train').click();
  await expect(page.getByTestId('sasrec-progress')).toBeVisible();
  // The loss chart gets points while the job is still running (progress with an ETA shown).
  const lossChart = page.getByTestId('sasrec-loss-chart');
  await expect(lossChart).toHaveAttribute('data-points', /^[1-9]/, { timeout: 120_000 });
  await expect(page.getByTestId('sasrec-progress')).toBeVisible();
  await expect(page.getByTestId('sasrec-progress-eta')).toBeVisible();
  await expect(lossChart.locator('.recharts-line-dot').first()).toBeVisible();
  const tTrain = Date.now();

  await expect(page.getByTestId('sasrec-results')).toBeVisible({ timeout: 180_000 });
  console.log(`training finished ${((Date.now() - tTrain) / 1000).toFixed(1)} s after the first loss point`);
  await expect(page.getByTestId('sasrec-valid-chart')).toHaveAttribute('data-points', '2');
  await expect(page.getByTestId('sasrec-valid-chart').locator('.recharts-line')).toHaveCount(2);
  await expect(lossChart).toHaveAttribute('data-points', '6');
  for (const row of ['sasrec-test', 'popularity-test', 'sasrec-valid', 'popularity-valid']) {
    const cells = page.getByTestId(`results-${row}`).locator('td[data-metric]');
    await expect(cells).toHaveCount(4);
    for (const text of await cells.allTextContents()) {
      const v = Number(text);
      expect(v, `${row}: ${text}`).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
  }
  await expect(page.getByTestId('sasrec-note')).toContainText('Stored');

  const row = page.getByTestId('embedding-list').getByTestId('embedding-row');
  await expect(row).toHaveCount(1);
  await expect(row).toHaveAttribute('data-kind', 'collab');
  await expect(row).toHaveAttribute('data-source', 'sasrec');
  await expect(row.getByTestId('embedding-rows')).toHaveText(String(expected.num_items));
  await expect(row.getByTestId('embedding-cols')).toHaveText(String(hidden));
  await expect(row.getByTestId('embedding-metrics')).toContainText('test R@10');

  const downloadPromise = page.waitForEvent('download');
  await row.getByTestId('embedding-download').click();
  const download = await downloadPromise;
  expect(download.suggestedFilename()).toMatch(/\.npy$/);
  const bytes = await readFile(await download.path());
  const header = npyHeader(bytes);
  expect(header.descr).toBe('<f4');
  expect(header.shape).toEqual([expected.num_items, hidden]);
  expect(header.dataBytes).toBe(expected.num_items * hidden * 4);
  await page.screenshot({ path: 'test-results/screens/embeddings-page.png', fullPage: true });
  console.log(`SASRec e2e total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});

test('importing a .npy with the wrong row count names the problem and stores nothing', async ({ page }) => {
  await openEmbeddings(page);
  await expect(page.getByTestId('no-embeddings')).toBeVisible();
  await page.getByTestId('embedding-import-file').setInputFiles({
    name: 'wrong_rows.npy', mimeType: 'application/octet-stream', buffer: npyBytes(10, 4),
  });
  await page.getByTestId('embedding-import-kind').selectOption('text');
  await page.getByTestId('embedding-import-submit').click();
  const box = page.getByTestId('embedding-import-panel').getByTestId('error-box');
  await expect(box).toBeVisible();
  await expect(box).toHaveAttribute('data-code', 'embedding_row_mismatch');
  await expect(box.getByTestId('error-message')).toContainText('wrong_rows.npy');
  await expect(box.getByTestId('error-message')).toContainText('10 rows');
  await expect(box.getByTestId('error-message')).toContainText(`${expected.num_items} items`);
  await expect(page.getByTestId('no-embeddings')).toBeVisible();

  // The right shape (N+1 rows with a PAD row) is accepted and listed with N rows.
  await page.getByTestId('embedding-import-file').setInputFiles({
    name: 'text_ok.npy', mimeType: 'application/octet-stream', buffer: npyBytes(expected.num_items + 1, 8),
  });
  await page.getByTestId('embedding-import-submit').click();
  await expect(page.getByTestId('embedding-import-result')).toBeVisible();
  const row = page.getByTestId('embedding-list').getByTestId('embedding-row');
  await expect(row).toHaveCount(1);
  await expect(row).toHaveAttribute('data-kind', 'text');
  await expect(row.getByTestId('embedding-rows')).toHaveText(String(expected.num_items));
  await expect(row.getByTestId('embedding-cols')).toHaveText('8');

  // Delete (with its confirm step) empties the list again.
  await row.getByTestId('embedding-delete').click();
  await row.getByTestId('embedding-delete').click();
  await expect(page.getByTestId('no-embeddings')).toBeVisible();
});

test('cancelling SASRec after a validated epoch keeps the best table so far', async ({ page }) => {
  test.setTimeout(180_000);
  await openEmbeddings(page);
  await page.getByTestId('sasrec-preset').selectOption('quick');
  await smallConfig(page);
  await page.getByTestId('sasrec-epochs').fill('50');
  await page.getByTestId('sasrec-train').click();
  await expect(page.getByTestId('sasrec-valid-chart')).toHaveAttribute('data-points', '1', { timeout: 120_000 });
  await page.getByTestId('sasrec-cancel').click();
  await expect(page.getByTestId('sasrec-note')).toContainText('best table so far', { timeout: 60_000 });
  await expect(page.getByTestId('sasrec-results')).toBeVisible();
  const row = page.getByTestId('embedding-list').getByTestId('embedding-row');
  await expect(row).toHaveCount(1);
  await expect(row).toHaveAttribute('data-kind', 'collab');
  await expect(row.getByTestId('embedding-rows')).toHaveText(String(expected.num_items));
  await expect(row.getByTestId('embedding-metrics')).toContainText('cancelled run');
});

test('a dataset with titles gets TF-IDF text embeddings and a dual input with an imported collab table', async ({ page }) => {
  // 40 users over 12 items (all survive 2-core), titles sharing words so TF-IDF has a vocabulary.
  const items = 12;
  const reviews: string[] = [];
  for (let u = 0; u < 40; u++) {
    for (let k = 0; k < 6 + (u % 4); k++) {
      reviews.push(JSON.stringify({ reviewerID: `U${u}`, asin: `I${(u + k) % items}`, unixReviewTime: 1_400_000_000 + u * 100 + k, overall: 4 }));
    }
  }
  const words = ['guitar', 'piano', 'drum', 'strings', 'stand', 'pedal', 'cable', 'case'];
  const meta = Array.from({ length: items }, (_, i) =>
    JSON.stringify({ asin: `I${i}`, title: `${words[i % 4]} ${words[4 + (i % 3)]} ${words[(i + 1) % 8]} model ${i}` }));

  await openStudio(page);
  await waitForDatasetList(page);
  await page.getByTestId('import-files').setInputFiles({ name: 'titled_reviews.json', mimeType: 'application/json', buffer: Buffer.from(reviews.join('\n')) });
  await page.getByTestId('import-metadata').setInputFiles({ name: 'titled_meta.json', mimeType: 'application/json', buffer: Buffer.from(meta.join('\n')) });
  await page.getByTestId('import-name').fill('Titled');
  await page.getByTestId('import-kcore').fill('2');
  await page.getByTestId('import-submit').click();
  await waitForImported(page);
  await page.getByTestId('stage-embeddings').click();
  await expect(page.getByTestId('embeddings-dataset-info')).toContainText(`titles for ${items} items`);

  await expect(page.getByTestId('text-disabled-note')).toHaveCount(0);
  await page.getByTestId('text-dim').fill('4');
  await page.getByTestId('text-compute').click();
  await expect(page.getByTestId('text-result')).toBeVisible({ timeout: 60_000 });
  const rows = page.getByTestId('embedding-list').getByTestId('embedding-row');
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toHaveAttribute('data-source', 'tfidf-svd');
  await expect(rows.first().getByTestId('embedding-rows')).toHaveText(String(items));
  await expect(rows.first().getByTestId('embedding-cols')).toHaveText('4');

  await page.getByTestId('embedding-import-file').setInputFiles({
    name: 'collab.npy', mimeType: 'application/octet-stream', buffer: npyBytes(items, 2),
  });
  await page.getByTestId('embedding-import-kind').selectOption('collab');
  await page.getByTestId('embedding-import-submit').click();
  await expect(page.getByTestId('embedding-import-result')).toBeVisible();
  await expect(rows).toHaveCount(2);

  await page.getByTestId('dual-normalize').check();
  await page.getByTestId('dual-build').click();
  await expect(page.getByTestId('dual-result')).toBeVisible();
  await expect(rows).toHaveCount(3);
  const dual = page.locator('[data-testid="embedding-row"][data-kind="dual"]');
  await expect(dual.getByTestId('embedding-cols')).toHaveText('6');
  await expect(dual.getByTestId('embedding-metrics')).toContainText('L2-normalised');
});
