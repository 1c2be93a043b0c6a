/**
 * The runs page end to end (wasm, ?backend=wasm): two tiny RQ-VAE tokenizers on an imported .npy
 * table (the second started with Alt+S), both listed on #/runs (beside the prepared dataset's data run), compared (a chart with two series),
 * their config diff against the preset, the all-metrics CSV export parsed back, the joint page's
 * share link round trip (a new page restores the form; a corrupted link is refused and ignored),
 * the dark-mode toggle (remembered) and the hidden-tab banner.
 */
import { readFile } from 'node:fs/promises';
import { expect, test, type Page } from '@playwright/test';
import { openTokenizer, prepareTable, tinyTokenizerConfig } from './helpers.ts';

async function trainTokenizer(page: Page, count: number, viaShortcut: boolean): Promise<void> {
  await openTokenizer(page);
  await expect(page.getByTestId('tok-preset')).toBeEnabled();
  await page.getByTestId('tok-preset').selectOption('quick');
  await tinyTokenizerConfig(page, 10, 5);
  if (viaShortcut) {
    await page.locator('body').click({ position: { x: 1, y: 1 } });
    await page.keyboard.press('Alt+KeyS');
  } else await page.getByTestId('tok-train').click();
  await expect(page.getByTestId('tok-list').getByTestId('tok-row')).toHaveCount(count, { timeout: 120_000 });
}

test('runs page: list, compare, diff, export, share link, dark mode, hidden-tab banner', async ({ page, context }) => {
  test.setTimeout(240_000);
  await prepareTable(page, 'wasm');
  await trainTokenizer(page, 1, false);
  await trainTokenizer(page, 2, true);

  // Runs: both tokenizers, as runs of the RQ-VAE stage, and the prepared dataset as a data run.
  await page.getByTestId('stage-runs').click();
  await expect(page).toHaveURL(/#\/runs$/);
  const rows = page.getByTestId('runs-row');
  await expect(rows).toHaveCount(3);
  await expect(page.locator('[data-testid="runs-row"][data-stage="data"]')).toHaveCount(1);
  await expect(page.locator('[data-testid="runs-row"][data-stage="data"]').getByTestId('runs-metric')).toContainText('interactions');
  await expect(page.locator('[data-testid="runs-row"][data-stage="rqvae"]')).toHaveCount(2);
  await expect(rows.first().getByTestId('runs-metric')).toContainText('collision rate');
  await expect(rows.first()).toContainText('wasm');
  await page.getByTestId('runs-filter-stage').selectOption('joint');
  await expect(rows).toHaveCount(0);
  await page.getByTestId('runs-filter-stage').selectOption('');
  await page.getByTestId('runs-filter-text').fill('no such run');
  await expect(rows).toHaveCount(0);
  await page.getByTestId('runs-filter-text').fill('');
  await page.getByTestId('runs-filter-stage').selectOption('rqvae');
  await page.getByTestId('runs-sort-name').click();
  await expect(rows).toHaveCount(2);

  // Compare: two series.
  await rows.nth(0).getByTestId('runs-select').check();
  await rows.nth(1).getByTestId('runs-select').check();
  const chart = page.getByTestId('runs-compare-chart');
  await expect(chart).toHaveAttribute('data-series', '2');
  await page.getByTestId('runs-compare-metric').selectOption('collision_rate');
  await expect(chart).toHaveAttribute('data-points', /^[1-9]/);
  await expect(chart.locator('.recharts-line')).toHaveCount(2);

  // Config diff against the (nearest) quick preset, with provenance.
  await rows.first().getByTestId('runs-diff').click();
  const diff = page.getByTestId('runs-diff-panel');
  await expect(diff).toContainText('quick preset');
  await expect(diff.getByTestId('runs-diff-row').filter({ hasText: 'epochs' }).first()).toContainText('changed by us');

  // Export all metrics as CSV: it parses, and has both runs' final and curve metrics.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('runs-export-csv').click()]);
  const csv = await readFile((await download.path())!, 'utf8');
  const lines = csv.trim().split('\n').map((l) => l.split(','));
  expect(lines[0]).toEqual(['stage', 'run_id', 'run_name', 'dataset', 'created', 'status', 'backend', 'adapter', 'seed', 'preset', 'kind', 'epoch', 'metric', 'value']);
  expect(new Set(lines.slice(1).map((l) => l[1])).size).toBe(3);
  expect(lines.some((l) => l[0] === 'data' && l[12] === 'num_interactions')).toBe(true);
  expect(lines.some((l) => l[10] === 'final' && l[12] === 'collision_rate')).toBe(true);
  expect(lines.some((l) => l[10] === 'curve' && l[12] === 'loss')).toBe(true);

  // Share link: the joint form (preset + overrides + name) round-trips through the URL.
  await page.getByTestId('stage-joint').click();
  await expect(page.getByTestId('joint-config')).toBeVisible();
  await expect(page.getByTestId('joint-preset')).toBeEnabled();
  await page.getByTestId('joint-preset').selectOption('quick');
  await page.getByTestId('joint-field-epochs').fill('3');
  await page.getByTestId('joint-field-t5.d_model').fill('48');
  await page.getByTestId('joint-field-ablation').selectOption('no_sia');
  await page.getByTestId('joint-name').fill('shared run');
  await page.getByTestId('joint-share').click();
  const url = await page.getByTestId('joint-share-url').inputValue();
  expect(url).toMatch(/#\/joint\/.+\?cfg=[A-Za-z0-9_-]+$/);
  const other = await context.newPage();
  await other.goto(url);
  await expect(other.getByTestId('joint-share-note')).toContainText('restored');
  await expect(other.getByTestId('joint-field-epochs')).toHaveValue('3');
  await expect(other.getByTestId('joint-field-t5.d_model')).toHaveValue('48');
  await expect(other.getByTestId('joint-field-ablation')).toHaveValue('no_sia');
  await expect(other.getByTestId('joint-name')).toHaveValue('shared run');
  await other.goto(url.replace(/cfg=.*/, 'cfg=bm90LWpzb24'));
  await other.reload();
  await expect(other.getByTestId('joint-share-note')).toContainText('could not be read');
  await expect(other.getByTestId('joint-field-epochs')).not.toHaveValue('3');
  await other.close();

  // Share link of the tokenizer page: the RQ-VAE preset + edited values round-trip too.
  await page.getByTestId('stage-tokenizer').click();
  await expect(page.getByTestId('tok-preset')).toBeEnabled();
  await page.getByTestId('tok-preset').selectOption('quick');
  await page.getByTestId('tok-field-epochs').fill('7');
  await page.getByTestId('tok-share').click();
  const tokUrl = await page.getByTestId('tok-share-url').inputValue();
  expect(tokUrl).toMatch(/#\/tokenizer\/.+\?cfg=[A-Za-z0-9_-]+$/);
  const third = await context.newPage();
  await third.goto(tokUrl);
  await expect(third.getByTestId('tok-share-note')).toContainText('restored');
  await expect(third.getByTestId('tok-field-epochs')).toHaveValue('7');
  await third.close();

  // Dark mode: toggled and remembered.
  const theme = () => page.evaluate(() => document.documentElement.dataset.theme);
  const before = await theme();
  await page.getByTestId('theme-toggle').click();
  const after = await theme();
  expect(after).not.toBe(before);
  await page.reload();
  await expect(page.getByTestId('theme-toggle')).toBeVisible();
  expect(await theme()).toBe(after);
  await expect(page.getByTestId('shortcuts-help')).toHaveAttribute('title', /Alt\+S/);

  // The hidden-tab banner.
  await page.evaluate(() => {
    Object.defineProperty(document, 'hidden', { value: true, configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  await expect(page.getByTestId('hidden-banner')).toContainText('Background tabs are throttled');
});
