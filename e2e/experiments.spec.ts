/**
 * The Experiments view end to end (wasm, ?backend=wasm): on the sample + a seeded table + a tiny
 * tokenizer, an ablation sweep of 2 variants (full, w/o L_SIA) × 2 seeds with the tiny joint
 * values; the page is reloaded after the first run has finished, the sweep is listed as
 * interrupted and Resume trains the remaining runs; the table fills in (mean ± sd per variant, the
 * paired difference to full), the CSV download is parsed and matches it, and the four runs are
 * ordinary joint runs on the Runs page.
 */
import { readFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import { parseCsv } from '../src/core/runs/runTable.ts';
import { prepareTable, screenshotThemes, TINY_JOINT_FIELDS, trainTinyTokenizer } from './helpers.ts';

test('experiments: a 2 × 2 ablation sweep survives a reload, fills its table and exports its CSV', async ({ page }) => {
  test.setTimeout(420_000);
  const t0 = Date.now();
  const lap = (what: string) => console.log(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  await prepareTable(page, 'wasm');
  await trainTinyTokenizer(page, 5, 32);
  lap('table + tokenizer');

  await page.getByTestId('stage-experiments').click();
  await expect(page).toHaveURL(/#\/experiments\/.+/);
  await expect(page.getByTestId('exp-none')).toBeVisible();
  // The presets are the worker's (every joint preset), not a fixed list.
  await expect(page.getByTestId('exp-preset')).toBeEnabled();
  const presets = await page.getByTestId('exp-preset').locator('option').allTextContents();
  expect(presets).toEqual(expect.arrayContaining(['quick', 'paper']));
  await expect(page.getByTestId('exp-tokenizer')).toContainText('32×32×32');
  await page.getByTestId('exp-preset').selectOption('quick');
  for (const v of ['no_psa', 'no_both', 'no_alternation', 'no_end_to_end']) await page.getByTestId(`exp-variant-${v}`).uncheck();
  await expect(page.getByTestId('exp-variant-full')).toBeChecked();
  await expect(page.getByTestId('exp-variant-no_sia')).toBeChecked();
  await page.getByTestId('exp-sweep-field-seeds').fill('0');
  await expect(page.getByTestId('exp-sweep-error-seeds')).toContainText('seeds must be an integer ≥ 1 and ≤ 50');
  await expect(page.getByTestId('exp-start')).toBeDisabled();
  await page.getByTestId('exp-sweep-field-seeds').fill('2');
  await expect(page.getByTestId('exp-plan')).toHaveText(/^2 variant\(s\) × 2 seed\(s\) \(2020–2021\) = 4 joint run\(s\)\./);
  await page.getByTestId('exp-fields-details').locator(':scope > summary').click();
  await expect(page.getByTestId('exp-field-ablation')).toHaveCount(0);
  await expect(page.getByTestId('exp-field-seed')).toHaveCount(0);
  for (const [k, v] of Object.entries(TINY_JOINT_FIELDS)) await page.getByTestId(`exp-field-${k}`).fill(v);
  await page.getByTestId('exp-name').fill('e2e-sweep');
  await page.getByTestId('exp-start').click();
  await expect(page.getByTestId('exp-progress')).toBeVisible();
  await expect(page.getByTestId('exp-cancel')).toBeVisible();

  // The first run finishes: one row per variant started filling in (full has its first seed).
  const sweep = page.getByTestId('exp-sweep').filter({ hasText: 'e2e-sweep' });
  await expect(sweep.getByTestId('exp-sweep-progress')).toHaveText('1 of 4 run(s) finished', { timeout: 180_000 });
  await expect(sweep.locator('[data-testid="exp-variant-row"][data-variant="full"]')).toHaveAttribute('data-seeds', '1');
  lap('first run finished');
  await screenshotThemes(page, 'experiments-running');

  // Reload mid-sweep: the worker dies; the sweep is listed as interrupted and resumes.
  await page.reload();
  await expect(page.getByTestId('experiments-page')).toBeVisible();
  await expect(page.getByTestId('backend-panel').getByTestId('backend-name')).toHaveText('wasm', { timeout: 120_000 });
  await expect(sweep.getByTestId('exp-sweep-status')).toHaveText('interrupted');
  await expect(sweep.getByTestId('exp-sweep-progress')).toHaveText('1 of 4 run(s) finished');
  await expect(sweep.getByTestId('exp-resume')).toContainText('3 left');
  await sweep.getByTestId('exp-resume').click();
  await expect(sweep.getByTestId('exp-sweep-status')).toHaveText('running');
  await expect(page.getByTestId('exp-note')).toContainText('Finished: 4 of 4 run(s)', { timeout: 300_000 });
  lap('sweep finished');

  // The table: both variants over both seeds, mean ± sd, the paired difference to full.
  await expect(sweep.getByTestId('exp-sweep-status')).toHaveText('finished');
  await expect(sweep.getByTestId('exp-sweep-progress')).toHaveText('4 of 4 run(s) finished');
  const rows = sweep.getByTestId('exp-variant-row');
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0)).toHaveAttribute('data-variant', 'full');
  await expect(rows.nth(1)).toHaveAttribute('data-variant', 'no_sia');
  for (let i = 0; i < 2; i++) {
    await expect(rows.nth(i).getByTestId('exp-cell-seeds')).toHaveText('2');
    for (const m of ['recall@5', 'recall@10', 'ndcg@5', 'ndcg@10']) await expect(rows.nth(i).getByTestId(`exp-cell-${m}`)).toHaveText(/^\d\.\d{4} ± \d\.\d{4}$/);
    await expect(rows.nth(i).getByTestId('exp-cell-distinct')).toHaveText(/^\d+(\.\d)?( ± \d+\.\d)?$/);
    await expect(rows.nth(i).getByTestId('exp-cell-shuffle')).toHaveText(/^-?\d\.\d{4}( ± \d\.\d{4})?$/);
    await expect(rows.nth(i).getByTestId('exp-cell-invalid')).toHaveText(/^\d+\.\d %$/);
  }
  await expect(rows.nth(0).getByTestId('exp-cell-vsfull')).toHaveText('—');
  await expect(rows.nth(1).getByTestId('exp-cell-vsfull')).toHaveText(/^[+−]?\d\.\d{4} ± \d\.\d{4} \(full ahead [0-2]\/2\)$/);
  await expect(sweep.getByTestId('exp-ordering')).toContainText('Ranking by mean test N@10');
  await sweep.getByTestId('exp-runs-details').locator('summary').click();
  await expect(sweep.locator('[data-testid="exp-run"][data-status="finished"]')).toHaveCount(4);
  await screenshotThemes(page, 'experiments');

  // The CSV: one row per variant, its means matching the table.
  const [download] = await Promise.all([page.waitForEvent('download'), sweep.getByTestId('exp-csv').click()]);
  expect(download.suggestedFilename()).toBe('e2e-sweep.ablation.csv');
  const csv = parseCsv(await readFile((await download.path())!, 'utf8'));
  const header = csv[0];
  for (const col of ['variant', 'label', 'seeds', 'ndcg@10_mean', 'ndcg@10_sd', 'recall@10_mean', 'distinctTop1_mean', 'shuffleGap_mean', 'invalidRate_mean', 'ndcg@10_diff_vs_full_mean', 'ndcg@10_full_ahead']) {
    expect(header, col).toContain(col);
  }
  const body = csv.slice(1).filter((r) => r.length > 1).map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
  expect(body.map((r) => r.variant)).toEqual(['full', 'no_sia']);
  expect(body.map((r) => r.seeds)).toEqual(['2', '2']);
  const shown = (await rows.nth(1).getByTestId('exp-cell-ndcg@10').textContent())!.split(' ± ');
  expect(Number(body[1]['ndcg@10_mean']).toFixed(4)).toBe(shown[0]);
  expect(Number(body[1]['ndcg@10_sd']).toFixed(4)).toBe(shown[1]);
  expect(body[0]['ndcg@10_diff_vs_full_mean']).toBe('');
  expect(body[1]['ndcg@10_full_ahead']).toMatch(/^[0-2]\/2$/);
  expect(Number.isFinite(Number(body[1]['ndcg@10_diff_vs_full_mean']))).toBe(true);

  // Each run is an ordinary joint run, named per entry, on the Runs page.
  await page.getByTestId('stage-runs').click();
  await page.getByTestId('runs-filter-stage').selectOption('joint');
  const names = (await page.getByTestId('runs-name').allTextContents()).sort();
  expect(names).toHaveLength(4);
  expect(names.map((n) => n.replace(/^.*_ablate_/, ''))).toEqual(['full_seed2020', 'full_seed2021', 'no_sia_seed2020', 'no_sia_seed2021']);
  lap('experiments e2e total');
});
