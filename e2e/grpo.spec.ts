/**
 * GRPO end to end in Chromium on wasm (?backend=wasm, as the joint spec): the sample + a seeded
 * table + a tiny tokenizer + a finished tiny joint run, then one epoch of the quick preset's
 * training subset (384 histories, batch 32 → 12 updates; G 2, 4 beams, 16 valid/test users) with
 * one chart point per update, the valid_before / valid_after / test table, the run list, the export
 * bundle (read in Node); a second run cancelled after its first epoch keeps its best state (listed
 * as cancelled, table filled, exportable); delete.
 */
import { readFile } from 'node:fs/promises';
import { strFromU8, unzipSync } from 'fflate';
import { expect, test } from '@playwright/test';
import { finishTinyJointRun, prepareTable, safetensorsNames, screenshotThemes, trainTinyTokenizer } from './helpers.ts';

// The quick preset's batch (32) and training subset (384) are kept: 12 updates per epoch.
const GRPO_FIELDS: Record<string, string> = {
  group_size: '2', epochs: '1', top_k: '8', lr: '0.001', num_beams: '4', return_beams: '4',
  eval_batch_size: '128', valid_limit: '16', test_limit: '16',
};
const UPDATES_PER_EPOCH = 12;

test('GRPO: from a finished joint run, live charts, results table, export and delete', async ({ page }) => {
  test.setTimeout(480_000);
  const t0 = Date.now();
  const lap = (what: string) => console.log(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  await prepareTable(page, 'wasm');
  await trainTinyTokenizer(page, 5, 32);
  lap('table + tokenizer');
  await finishTinyJointRun(page, 'sft-run');
  lap('joint run');

  await page.getByTestId('stage-grpo').click();
  await expect(page).toHaveURL(/#\/grpo\/.+/);
  await expect(page.getByTestId('grpo-page')).toBeVisible();
  await expect(page.getByTestId('grpo-none')).toBeVisible();
  await expect(page.getByTestId('grpo-joint-run')).toContainText('sft-run');
  await page.getByTestId('grpo-preset').selectOption('paper');
  await expect(page.getByTestId('grpo-field-kl_coeff')).toHaveValue('0.05');
  await expect(page.getByTestId('grpo-fields')).toContainText('fork');
  await page.getByTestId('grpo-preset').selectOption('quick');
  await expect(page.getByTestId('grpo-fields')).toContainText('ours');
  await expect(page.getByTestId('grpo-field-train_limit')).toHaveValue('384');
  await expect(page.getByTestId('grpo-field-batch_size')).toHaveValue('32');
  for (const [k, v] of Object.entries(GRPO_FIELDS)) await page.getByTestId(`grpo-field-${k}`).fill(v);
  await page.getByTestId('grpo-name').fill('e2e-grpo');
  await page.getByTestId('grpo-start').click();
  await expect(page.getByTestId('grpo-progress')).toBeVisible();
  await expect(page.getByTestId('grpo-cancel')).toBeVisible();
  // The pre-GRPO validation is the first live point; it fills the SFT row of the running run's table.
  await expect(page.getByTestId('grpo-valid-chart')).toHaveAttribute('data-points', /^[1-9]/, { timeout: 120_000 });
  await expect(page.getByTestId('grpo-results-table').getByTestId('grpo-result-valid_before')).toContainText(/\d\.\d{4}/, { timeout: 30_000 });
  // Per-update points stream in while the epoch runs (before its validation).
  await expect.poll(async () => Number(await page.getByTestId('grpo-reward-chart').getAttribute('data-points')), { timeout: 120_000 }).toBeGreaterThanOrEqual(2);
  const epochStart = Date.now();
  await expect(page.getByTestId('grpo-note')).toContainText('Finished', { timeout: 180_000 });
  lap(`GRPO finished (${((Date.now() - epochStart) / 1000).toFixed(1)} s after the second update)`);
  for (const id of ['grpo-reward-chart', 'grpo-kl-chart', 'grpo-policy-chart', 'grpo-lr-chart']) {
    await expect(page.getByTestId(id)).toHaveAttribute('data-points', String(UPDATES_PER_EPOCH));
  }
  await expect(page.getByTestId('grpo-valid-chart')).toHaveAttribute('data-points', '2');

  const table = page.getByTestId('grpo-results-table');
  for (const key of ['valid_before', 'valid_after', 'test']) await expect(table.getByTestId(`grpo-result-${key}`)).toContainText(/\d\.\d{4}/);
  // Diagnostics beside Recall/NDCG; the collapse warning exactly when the test row is flagged.
  const testRow = table.getByTestId('grpo-result-test');
  await expect(testRow.getByTestId('result-invalid')).toHaveText(/^\d+\.\d %$/);
  await expect(testRow.getByTestId('result-distinct_top1')).toHaveText(/^\d+ \/ 16$/);
  await expect(testRow.getByTestId('result-shuffle')).toHaveText(/^-?\d\.\d{4} nats$/);
  await expect(table.getByTestId('grpo-result-valid_before').getByTestId('result-modal')).toHaveText(/^\d+\.\d %$/);
  const flagged = (await testRow.getAttribute('data-collapsed')) === 'true';
  await expect(page.getByTestId('grpo-results').getByTestId('collapse-warning')).toHaveCount(flagged ? 1 : 0);
  await expect(page.getByTestId('grpo-row').filter({ hasText: 'e2e-grpo' }).getByTestId('collapse-badge')).toHaveCount(flagged ? 1 : 0);
  const row = page.getByTestId('grpo-row').filter({ hasText: 'e2e-grpo' });
  await expect(row).toHaveCount(1);
  await expect(row.getByTestId('grpo-row-status')).toHaveText('finished');
  await expect(row).toContainText('sft-run');
  await screenshotThemes(page, 'grpo-page');

  // Cancel after the first epoch's validation: the run keeps its best state (exportable), not tested.
  await page.getByTestId('grpo-field-epochs').fill('3');
  await page.getByTestId('grpo-name').fill('e2e-grpo-cancel');
  await page.getByTestId('grpo-start').click();
  await expect(page.getByTestId('grpo-cancel')).toBeVisible();
  await expect(page.getByTestId('grpo-valid-chart')).toHaveAttribute('data-points', '2', { timeout: 180_000 });
  await page.getByTestId('grpo-cancel').click();
  await expect(page.getByTestId('grpo-note')).toContainText('Cancelled after 1 epoch(s); kept', { timeout: 120_000 });
  const cancelledRow = page.getByTestId('grpo-row').filter({ hasText: 'e2e-grpo-cancel' });
  await expect(cancelledRow.getByTestId('grpo-row-status')).toHaveText('cancelled');
  await expect(cancelledRow.getByTestId('grpo-export')).toBeEnabled();
  await expect(page.getByTestId('grpo-cancelled-note')).toContainText('best state validated so far is kept');
  await expect(page.getByTestId('grpo-results-table').getByTestId('grpo-result-valid_before')).toContainText(/\d\.\d{4}/);
  await expect(page.getByTestId('grpo-results-table').getByTestId('grpo-result-test')).toContainText('not tested');
  await screenshotThemes(page, 'grpo-page-cancelled');
  const dl2 = page.waitForEvent('download');
  await cancelledRow.getByTestId('grpo-export').click();
  const cancelledFiles = unzipSync(new Uint8Array(await readFile(await (await dl2).path())));
  expect(Object.keys(cancelledFiles)).toEqual(expect.arrayContaining(['recommender.safetensors', 'metrics.json']));
  expect(JSON.parse(strFromU8(cancelledFiles['metrics.json'])).cancelled).toBe(true);
  await cancelledRow.getByTestId('grpo-delete').click();
  await expect(cancelledRow).toHaveCount(0);

  // Export: GRPO recommender + SFT tokenizer + code.json + metrics.json {valid_before, valid_after, test}.
  const dl = page.waitForEvent('download');
  await row.getByTestId('grpo-export').click();
  const bundle = await dl;
  expect(bundle.suggestedFilename()).toBe('e2e-grpo.bundle.zip');
  const files = unzipSync(new Uint8Array(await readFile(await bundle.path())));
  expect(Object.keys(files)).toEqual(expect.arrayContaining(['recommender.safetensors', 'tokenizer.safetensors', 'code.json', 'metrics.json']));
  expect(safetensorsNames(files['recommender.safetensors'])).toContain('semantic_embedding.weight');
  const metrics = JSON.parse(strFromU8(files['metrics.json'])) as Record<string, Record<string, number>>;
  for (const k of ['valid_before', 'valid_after', 'test']) expect(metrics[k]['ndcg@10']).toBeGreaterThanOrEqual(0);

  // Reload: the stored run and its table come back; then delete it.
  await page.reload();
  await expect(page.getByTestId('grpo-row')).toHaveCount(1);
  await expect(page.getByTestId('grpo-results-table')).toBeVisible();
  await expect(page.getByTestId('grpo-reward-chart')).toHaveAttribute('data-points', String(UPDATES_PER_EPOCH));
  await page.getByTestId('grpo-delete').click();
  await expect(page.getByTestId('grpo-none')).toBeVisible();
  lap('GRPO e2e total');
});
