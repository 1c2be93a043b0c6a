/**
 * Diagnostics and the collapse warning end to end (wasm, ?backend=wasm): a tiny joint run (tiny T5,
 * one alternating + one finetune epoch) gives (nearly) every test user the same list, so the joint
 * page's results, its run list, the recommendations view and the Runs page flag it with the
 * reasons; the results show the invalid-code rate and the diagnostics beside Recall/NDCG, the
 * recommendations view the popularity top-10 of the training data, and the Runs CSV the flat
 * diagnostics metrics.
 */
import { readFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import { parseCsv } from '../src/core/runs/runTable.ts';
import { finishTinyJointRun, prepareTable, sampleExpectations, screenshotThemes, trainTinyTokenizer } from './helpers.ts';

const expected = sampleExpectations();

test('a collapsed tiny joint run is flagged with its reasons on the joint page, the recommendations view and the Runs page', async ({ page }) => {
  test.setTimeout(240_000);
  const t0 = Date.now();
  const lap = (what: string) => console.log(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  await prepareTable(page, 'wasm');
  await trainTinyTokenizer(page, 5, 32);
  lap('table + tokenizer');
  await finishTinyJointRun(page, 'tiny-run');
  lap('joint run');

  // Joint page: the results of the run just trained, with its test diagnostics and the warning.
  const results = page.getByTestId('joint-results');
  await expect(results).toContainText('Results of tiny-run');
  const warning = results.getByTestId('collapse-warning');
  await expect(warning).toBeVisible();
  await expect(warning).toContainText('Collapsed model');
  await expect(warning.getByTestId('collapse-reasons').locator('li').first()).toContainText(/of users get the same top-4 list|history-shuffle gap/);
  const testRow = results.getByTestId('joint-result-test');
  await expect(testRow).toHaveAttribute('data-collapsed', 'true');
  await expect(testRow.getByTestId('result-invalid')).toHaveText(/^\d+\.\d %$/);
  await expect(testRow.getByTestId('result-distinct_top1')).toHaveText(new RegExp(`^\\d+ / ${expected.num_users}$`));
  await expect(testRow.getByTestId('result-shuffle')).toHaveText(/^-?\d\.\d{4} nats$/);
  await expect(results.getByTestId('joint-result-test_before_finetune')).toBeVisible();
  await expect(results.getByTestId('joint-result-valid_latest').getByTestId('result-modal')).toHaveText(/^\d+\.\d %$/);
  const row = page.getByTestId('joint-row').filter({ hasText: 'tiny-run' });
  await expect(row.getByTestId('collapse-badge')).toBeVisible();
  await expect(row.getByTestId('joint-test-invalid')).toHaveText(/^\d+\.\d %$/);
  await expect(row.getByTestId('joint-test-distinct')).toHaveText(new RegExp(` / ${expected.num_users}$`));
  // The validation diagnostics are charted from the stored epochs.
  await expect(page.getByTestId('joint-distinct-chart')).toHaveAttribute('data-points', /^[1-9]/);
  await expect(page.getByTestId('joint-lists-chart')).toHaveAttribute('data-points', /^[1-9]/);
  await expect(page.getByTestId('joint-shuffle-chart')).toHaveAttribute('data-points', /^[1-9]/);

  // Recommendations: the user's list beside the popularity top-10, and the run's diagnostics.
  await row.getByTestId('joint-recs').click();
  const view = page.getByTestId('joint-recs-view');
  await expect(view.getByTestId('joint-rec-result')).toBeVisible({ timeout: 60_000 });
  await expect(view.getByTestId('joint-rec-popular-item')).toHaveCount(10);
  const counts = (await view.getByTestId('joint-rec-popular-item').locator('td:nth-child(3)').allTextContents()).map(Number);
  expect(counts[0]).toBeGreaterThan(0);
  expect(counts).toEqual([...counts].sort((a, b) => b - a));
  await expect(view.getByTestId('joint-rec-diagnostics')).toContainText(`Over all ${expected.num_users} test users`);
  await expect(view.getByTestId('collapse-warning')).toBeVisible();
  await expect(view.getByTestId('joint-rec-popular-share')).toContainText(/\d of 4 generated items are in the popularity top-10/);
  await screenshotThemes(page, 'diagnostics-joint');
  lap('joint page checked');

  // Runs page: the warning row under the run, the invalid rate beside the headline, the CSV columns.
  await page.getByTestId('stage-runs').click();
  const runRow = page.locator('[data-testid="runs-row"][data-stage="joint"]');
  await expect(runRow).toHaveCount(1);
  await expect(runRow).toHaveAttribute('data-collapsed', 'true');
  await expect(runRow.getByTestId('runs-metric')).toContainText(/test ndcg@10 \d\.\d{4}/);
  await expect(runRow.getByTestId('runs-invalid')).toHaveText(/^invalid codes \d+\.\d %$/);
  const warnRow = page.getByTestId('runs-warning-row');
  await expect(warnRow).toHaveCount(1);
  await expect(warnRow.getByTestId('collapse-warning')).toContainText('tiny-run');
  await expect(warnRow.locator('li').first()).toBeVisible();
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('runs-export-csv').click()]);
  const csv = parseCsv(await readFile((await download.path())!, 'utf8'));
  const finals = new Map(csv.filter((l) => l[0] === 'joint' && l[10] === 'final').map((l) => [l[12], Number(l[13])]));
  for (const m of ['test_distinct_top1', 'test_distinct_top10', 'test_coverage@10', 'test_modal_top10_share', 'test_popularity_overlap@10', 'test_invalid_rate', 'test_shuffle_gap', 'test_ce_real', 'test_ce_shuffled']) {
    expect(finals.has(m), m).toBe(true);
    expect(Number.isFinite(finals.get(m)), m).toBe(true);
  }
  expect(finals.get('test_diagnostics_k')).toBe(4);
  expect(finals.get('test_ce_shuffled')! - finals.get('test_ce_real')!).toBeCloseTo(finals.get('test_shuffle_gap')!, 5);
  expect(finals.get('test_modal_top10_share')! > 0.5 || finals.get('test_shuffle_gap')! < 0.02).toBe(true);
  await screenshotThemes(page, 'diagnostics-runs');
  lap('diagnostics e2e total');
});
