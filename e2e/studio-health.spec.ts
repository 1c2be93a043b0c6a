/**
 * Runs a researcher can trust at a glance, in one wasm session at 1280 px:
 * - a wasm memory fault ("memory access out of bounds", injected with the development build's test
 *   hook: every training in that worker then fails, as in a worker whose heap was overrun) fails the
 *   tokenizer training with a true message, the worker is restarted and the header says so, and
 *   the next training in the same tab works;
 * - a tiny joint run interrupted by a reload reads "interrupted" in the run list, the interrupted
 *   panel and the Runs table; the form shows that run's configuration and the charts its curves
 *   without picking it;
 * - the Runs table fits 1280 px (no horizontal overflow of the page or of the table's box);
 * - a joint run whose loss becomes NaN (a NaN weight, by the test hook) reads failed (NaN loss);
 * - light and dark screenshots of the pages touched.
 */
import { expect, test, type Page } from '@playwright/test';
import { openTokenizer, prepareTable, screenshotThemes, tinyTokenizerConfig, TINY_JOINT_FIELDS } from './helpers.ts';

const JOINT_FIELDS: Record<string, string> = {
  ...TINY_JOINT_FIELDS,
  // 8 alternating epochs on the whole split: the run is paused after the first, then reloaded
  epochs: '8', eval_step: '2', lr_rec: '0.0025',
};

/** As long as the names the studio makes up (dataset_joint_preset…), so the Runs table must wrap it. */
const NAME = 'health-run_Instruments2014-sample_joint_quick_seed2020_interrupted';

async function startTokenizer(page: Page): Promise<void> {
  await openTokenizer(page);
  await expect(page.getByTestId('tok-preset')).toBeEnabled();
  await page.getByTestId('tok-preset').selectOption('quick');
  await tinyTokenizerConfig(page, 10, 5, 32);
  await page.getByTestId('tok-train').click();
}

async function noHorizontalOverflow(page: Page, testId: string): Promise<void> {
  const sizes = await page.evaluate((id) => {
    const doc = document.scrollingElement!;
    const box = document.querySelector(`[data-testid="${id}"]`)!;
    return { doc: [doc.scrollWidth, doc.clientWidth], box: [box.scrollWidth, box.clientWidth] };
  }, testId);
  expect(sizes.doc[0], `page scrollWidth ${sizes.doc[0]} > clientWidth ${sizes.doc[1]}`).toBeLessThanOrEqual(sizes.doc[1]);
  expect(sizes.box[0], `${testId} scrollWidth ${sizes.box[0]} > clientWidth ${sizes.box[1]}`).toBeLessThanOrEqual(sizes.box[1]);
}

test('wasm memory fault restarts the worker; an interrupted run reads interrupted everywhere; the Runs table fits 1280 px; a NaN run reads failed (NaN loss)', async ({ page }) => {
  test.setTimeout(480_000);
  await page.setViewportSize({ width: 1280, height: 900 });
  await prepareTable(page, 'wasm');

  // A wasm memory fault: the training fails saying what happened, the worker is replaced.
  await openTokenizer(page);
  await page.evaluate(() => (window as unknown as { __etegrecTest: { injectWorkerFault(): Promise<void> } }).__etegrecTest.injectWorkerFault());
  await startTokenizer(page);
  const error = page.getByTestId('error-box');
  await expect(error).toBeVisible({ timeout: 120_000 });
  await expect(error).toHaveAttribute('data-code', 'worker_memory');
  await expect(error.getByTestId('error-message')).toContainText('memory access out of bounds');
  await expect(error.getByTestId('error-message')).toContainText('was restarted');
  const banner = page.getByTestId('worker-restart-banner');
  await expect(banner).toContainText('ran out of WebAssembly memory');
  await expect(banner).toContainText('restarted');
  await expect(page.getByTestId('backend-panel').getByTestId('backend-name')).toHaveText('wasm', { timeout: 60_000 });
  await expect(page.getByTestId('tok-list').getByTestId('tok-row')).toHaveCount(0);
  await screenshotThemes(page, 'health-tokenizer-restarted');

  // The next training in the same tab runs on the fresh worker.
  await startTokenizer(page);
  await expect(page.getByTestId('tok-note')).toContainText('Stored', { timeout: 180_000 });
  await expect(page.getByTestId('tok-list').getByTestId('tok-row')).toHaveCount(1);
  await page.getByTestId('worker-restart-dismiss').click();
  await expect(banner).toHaveCount(0);

  // A tiny joint run, reloaded after its first stored epoch.
  await page.getByTestId('stage-joint').click();
  await expect(page.getByTestId('joint-start')).toBeEnabled();
  await page.getByTestId('joint-preset').selectOption('quick');
  for (const [k, v] of Object.entries(JOINT_FIELDS)) await page.getByTestId(`joint-field-${k}`).fill(v);
  await page.getByTestId('joint-name').fill(NAME);
  await page.getByTestId('joint-start').click();
  const row = page.getByTestId('joint-row').filter({ hasText: 'health-run' });
  await expect(page.getByTestId('joint-loss-chart')).toHaveAttribute('data-points', /^[1-9]/, { timeout: 240_000 });
  await page.getByTestId('joint-pause').click();
  await expect(page.getByTestId('joint-paused')).toBeVisible({ timeout: 60_000 });
  await expect(row.getByTestId('joint-epochs')).toHaveText(/^[1-7] \+ 0 finetune$/, { timeout: 60_000 });
  const stored = Number((await row.getByTestId('joint-epochs').textContent())!.split(' ')[0]);
  await page.reload();
  await expect(page.getByTestId('joint-page')).toBeVisible();

  // Interrupted in the list and the panel; the form shows this run's values; its curves are drawn.
  await expect(row.getByTestId('joint-status')).toHaveText('interrupted', { timeout: 60_000 });
  await expect(page.getByTestId('joint-interrupted-row')).toContainText(NAME);
  await expect(page.getByTestId('joint-interrupted-row')).toContainText(`${stored} epoch${stored === 1 ? '' : 's'} stored`);
  await expect(page.getByTestId('joint-form-of')).toContainText(`interrupted run ${NAME}`);
  await expect(page.getByTestId('joint-field-epochs')).toHaveValue('8');
  await expect(page.getByTestId('joint-field-eval_limit')).toHaveValue('16');
  await expect(page.getByTestId('joint-field-t5.d_model')).toHaveValue('16');
  expect(Number(await page.getByTestId('joint-field-lr_rec').inputValue())).toBe(0.0025);
  await expect(page.getByTestId('joint-loss-chart')).toHaveAttribute('data-points', String(stored));
  await expect(page.getByTestId('joint-collision-chart')).toHaveAttribute('data-points', /^[1-9]/);
  await expect(page.getByTestId('joint-chart-run').locator('option:checked')).toHaveText(NAME);
  await screenshotThemes(page, 'health-joint-interrupted');
  // An edit is the user's: the note goes, the value stays.
  await page.getByTestId('joint-field-epochs').fill('5');
  await expect(page.getByTestId('joint-form-of')).toHaveCount(0);
  await expect(page.getByTestId('joint-field-epochs')).toHaveValue('5');

  // The Runs table: interrupted there too, and it fits 1280 px.
  await page.getByTestId('stage-runs').click();
  const runsRow = page.getByTestId('runs-row').filter({ hasText: 'health-run' });
  await expect(runsRow.getByTestId('runs-status')).toHaveText('interrupted');
  await expect(page.getByTestId('runs-row')).toHaveCount(3); // the prepared data, the tokenizer, the joint run
  await expect(page.getByTestId('runs-count')).toHaveText('3 of 3 runs');
  await noHorizontalOverflow(page, 'runs-table-wrap');
  await expect(runsRow.getByTestId('runs-delete')).toBeInViewport();
  await expect(runsRow.getByTestId('runs-metric')).toBeInViewport();
  await screenshotThemes(page, 'health-runs-1280');
  // With a diff panel and a comparison open it still fits.
  await runsRow.getByTestId('runs-diff').click();
  await expect(page.getByTestId('runs-diff-panel')).toContainText('health-run');
  await noHorizontalOverflow(page, 'runs-table-wrap');

  // A run whose loss becomes NaN (the test hook puts one NaN in its tokenizer's weights) stops with
  // the place it happened and reads "failed (NaN loss)" in its list and the Runs table.
  await page.getByTestId('stage-joint').click();
  await expect(page.getByTestId('joint-start')).toBeEnabled();
  await page.evaluate(() => (window as unknown as { __etegrecTest: { injectWorkerFault(k: string): Promise<void> } }).__etegrecTest.injectWorkerFault('nan_weights'));
  await page.getByTestId('joint-name').fill('nan-run');
  await page.getByTestId('joint-start').click();
  const nanRow = page.getByTestId('joint-row').filter({ hasText: 'nan-run' });
  await expect(nanRow.getByTestId('joint-status')).toHaveText('failed (NaN loss)', { timeout: 180_000 });
  await expect(page.getByTestId('error-box').filter({ hasText: 'diverged' }).first()).toContainText(/loss became NaN at alternating epoch 1, batch 1/);
  await page.getByTestId('stage-runs').click();
  await expect(page.getByTestId('runs-row').filter({ hasText: 'nan-run' }).getByTestId('runs-status')).toHaveText('failed (NaN loss)');
});
