/**
 * The tokenizer stage end to end in Chromium with WebGPU (SwiftShader's software adapter): a seeded
 * 900 × 32 item table is imported as .npy, a tiny RQ-VAE (3 × 16 codes) pretrains in the worker with
 * live collision / Gini charts, the inspector shows an item's code path, and the exported
 * safetensors imports back with "N of N tensors matched" and identical codes. Shapes stay small
 * and fixed (every new shader shape compiles slowly on SwiftShader).
 */
import { readFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import { npyBytes, openTokenizer, prepareTable, safetensorsNames, sampleExpectations, screenshotThemes, TABLE_DIM, tinyTokenizerConfig } from './helpers.ts';

const expected = sampleExpectations();
const DIM = TABLE_DIM;

/** Tiny shapes for SwiftShader: 32 → 64 → 16, codebooks 3 × 16. */
const tinyConfig = tinyTokenizerConfig;

test('RQ-VAE pretrains on webgpu with live collision/Gini, inspects, exports and imports back', async ({ page }) => {
  test.setTimeout(300_000);
  const t0 = Date.now();
  await prepareTable(page);
  await openTokenizer(page);

  await expect(page.getByTestId('tokenizer-page')).toBeVisible();
  await expect(page.getByTestId('tok-none')).toBeVisible();
  await expect(page.getByTestId('tok-embedding')).toContainText(`${expected.num_items} × ${DIM}`);
  await expect(page.getByTestId('tok-backend')).toContainText('webgpu');
  await page.getByTestId('tok-preset').selectOption('quick');
  await expect(page.getByTestId('tok-field-in_dim')).toHaveText(String(DIM));
  await expect(page.getByTestId('tok-field-num_emb_list')).toHaveValue('256,256,256');
  await tinyConfig(page, 30);
  await expect(page.getByTestId('tok-changed-num_emb_list')).toBeVisible();
  await expect(page.getByTestId('tok-changed-count')).toContainText('values differ from the quick preset');

  await page.getByTestId('tok-train').click();
  await expect(page.getByTestId('tok-progress')).toBeVisible();
  const collision = page.getByTestId('tok-collision-chart');
  const gini = page.getByTestId('tok-gini-chart');

  // Pause mid-training: the label shows, the epochs stop advancing; Alt+P resumes.
  const lossChart = page.getByTestId('tok-loss-chart');
  await expect(lossChart).toHaveAttribute('data-points', /^[1-9]/, { timeout: 180_000 });
  await page.getByTestId('tok-pause').click();
  await expect(page.getByTestId('tok-paused')).toBeVisible();
  await expect(page.getByTestId('tok-pause')).toHaveText('Resume');
  await page.waitForTimeout(1000); // the batch in flight finishes, its events flush
  const pausedAt = await lossChart.getAttribute('data-points');
  const phaseAt = await page.getByTestId('tok-progress-phase').textContent();
  await page.waitForTimeout(2000);
  expect(await lossChart.getAttribute('data-points')).toBe(pausedAt);
  expect(await page.getByTestId('tok-progress-phase').textContent()).toBe(phaseAt);
  expect(Number(pausedAt)).toBeLessThan(30);
  await page.keyboard.press('Alt+KeyP');
  await expect(page.getByTestId('tok-paused')).toBeHidden();
  await expect(page.getByTestId('tok-pause')).toHaveText('Pause');
  await expect(collision).toHaveAttribute('data-points', /^[1-9]/, { timeout: 180_000 });
  await expect(gini).toHaveAttribute('data-points', /^[1-9]/);
  const tTrain = Date.now();
  await expect(page.getByTestId('tok-note')).toContainText('Stored', { timeout: 180_000 });
  console.log(`training ended ${((Date.now() - tTrain) / 1000).toFixed(1)} s after the first collision point; ${((Date.now() - t0) / 1000).toFixed(1)} s so far`);
  await expect(collision).toHaveAttribute('data-points', '6');
  await expect(gini.locator('.recharts-line')).toHaveCount(4);
  await expect(page.getByTestId('tok-loss-chart')).toHaveAttribute('data-points', '30');
  await expect(page.getByTestId('tok-note')).toContainText('webgpu');
  // The last evaluation's metrics all arrive (they may trail the job's result).
  await expect(page.getByTestId('tok-latest-largest')).toHaveText(/^\d+$/);

  const row = page.getByTestId('tok-list').getByTestId('tok-row');
  await expect(row).toHaveCount(1);
  await row.getByTestId('tok-inspect').click();
  const inspector = page.getByTestId('tok-inspector');
  await expect(inspector.getByTestId('tok-usage-l1')).toHaveAttribute('data-bars', '16');
  await expect(inspector.getByTestId('tok-pca')).toHaveAttribute('data-points', String(expected.num_items + 16));
  await inspector.getByTestId('tok-pca-item').last().hover({ force: true });
  await expect(inspector.getByTestId('tok-pca-hover-item')).toContainText('#');
  // Axes, zoom and pan, a legend of the codes in use (click one: only its items stay bright).
  const pca = inspector.getByTestId('tok-pca');
  await expect(pca.getByTestId('tok-pca-xaxis')).toContainText('PC1');
  await expect(pca.getByTestId('tok-pca-yaxis')).toContainText('PC2');
  const used = Number(await inspector.getByTestId('tok-usage-l1').getAttribute('data-used'));
  await expect(pca.getByTestId('tok-pca-legend-code')).toHaveCount(used);
  await expect(pca.getByTestId('tok-pca-legend')).toContainText('can look alike');
  await pca.getByTestId('tok-pca-zoom-in').click();
  await expect(pca).toHaveAttribute('data-zoom', '1.50');
  const box = (await pca.locator('svg').boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.wheel(0, -200);
  await expect(pca).toHaveAttribute('data-zoom', '1.88');
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 + 60, box.y + box.height / 2 + 20, { steps: 4 });
  await page.mouse.up();
  await expect(pca).toHaveAttribute('data-zoom', '1.88'); // a pan keeps the zoom
  await pca.getByTestId('tok-pca-legend-code').first().click();
  await expect(pca.getByTestId('tok-pca-focus-clear')).toBeVisible();
  await screenshotThemes(page, 'tokenizer-inspector-zoomed');
  await pca.getByTestId('tok-pca-reset').click();
  await expect(pca).toHaveAttribute('data-zoom', '1.00');
  await pca.getByTestId('tok-pca-focus-clear').click();

  // Search an item by its id and see its code path and nearest codes.
  await inspector.getByTestId('tok-search').fill('7');
  await inspector.getByTestId('tok-search-result').first().click();
  await expect(inspector.getByTestId('tok-item-label')).toContainText('#7');
  await expect(inspector.getByTestId('tok-code-path')).toHaveAttribute('data-code', /^\d+,\d+,\d+,\d+$/);
  await expect(inspector.getByTestId('tok-nearest').locator('tbody tr')).toHaveCount(3);
  await inspector.getByTestId('tok-tree-l1').first().click();
  await expect(inspector.getByTestId('tok-tree-l2').first()).toBeVisible();
  await page.screenshot({ path: 'test-results/screens/tokenizer-page.png', fullPage: true });

  // Export: reference-keyed safetensors and code.json (N+1 rows).
  let dl = page.waitForEvent('download');
  await row.getByTestId('tok-export-safetensors').click();
  const st = await dl;
  expect(st.suggestedFilename()).toMatch(/\.safetensors$/);
  const stBytes = await readFile(await st.path());
  const names = safetensorsNames(stBytes);
  expect(names).toContain('rq.vq_layers.0.embedding.weight');
  expect(names).toContain('encoder.mlp_layers.1.weight');
  dl = page.waitForEvent('download');
  await row.getByTestId('tok-export-codejson').click();
  const cj = await dl;
  expect(cj.suggestedFilename()).toMatch(/code\.json$/);
  const codes = JSON.parse(await readFile(await cj.path(), 'utf8')) as number[][];
  expect(codes).toHaveLength(expected.num_items + 1);
  expect(codes[0]).toEqual([-1, -1, -1, -1]);
  expect(new Set(codes.slice(1).map((c) => c.join(','))).size).toBe(expected.num_items);

  // Import it back: every tensor matches and the codes are the same.
  await page.getByTestId('tok-import-file').setInputFiles({ name: st.suggestedFilename(), mimeType: 'application/octet-stream', buffer: stBytes });
  await page.getByTestId('tok-import-submit').click();
  await expect(page.getByTestId('tok-import-message')).toHaveText(`${names.length} of ${names.length} tensors matched`, { timeout: 60_000 });
  await expect(row).toHaveCount(2);
  await inspector.getByTestId('tok-compare').click();
  await expect(inspector.getByTestId('tok-compare-result')).toHaveAttribute('data-changed', '0');
  // A re-import: the ids line up, so changed codes are shown; every grouping agrees (ARI 1).
  await expect(inspector.getByTestId('tok-compare-result')).toHaveAttribute('data-ids-line-up', 'true');
  for (const l of [1, 2, 3]) await expect(inspector.getByTestId(`tok-agreement-l${l}`).getByTestId('tok-agreement-ari')).toHaveText('1.000');
  await inspector.getByTestId('tok-compare-panel').scrollIntoViewIfNeeded();
  await screenshotThemes(page, 'tokenizer-compare');

  // A file that is not a tokenizer is refused with a specific error.
  await page.getByTestId('tok-import-file').setInputFiles({ name: 'items.npy', mimeType: 'application/octet-stream', buffer: npyBytes(4, 4) });
  await page.getByTestId('tok-import-submit').click();
  await expect(page.getByTestId('tok-import-panel').getByTestId('error-box')).toContainText('.safetensors');
  await expect(row).toHaveCount(2);
  console.log(`tokenizer e2e total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});

test('cancelling a tokenizer run after an evaluation keeps the best snapshot so far', async ({ page }) => {
  test.setTimeout(240_000);
  await prepareTable(page);
  await openTokenizer(page);
  await expect(page.getByTestId('tok-preset')).toBeEnabled();
  await tinyConfig(page, 5000);
  await page.getByTestId('tok-train').click();
  await expect(page.getByTestId('tok-collision-chart')).toHaveAttribute('data-points', /^[1-9]/, { timeout: 180_000 });
  await expect(page.getByTestId('tok-progress-eta')).toBeVisible();
  await page.getByTestId('tok-cancel').click();
  await expect(page.getByTestId('tok-note')).toContainText('Cancelled after', { timeout: 60_000 });
  await expect(page.getByTestId('tok-note')).toContainText('best-collision snapshot');
  const row = page.getByTestId('tok-list').getByTestId('tok-row');
  await expect(row).toHaveCount(1);
  await expect(row.getByTestId('tok-collision')).toHaveText(/%$/);

  // A second, independently trained tokenizer (another seed): compared by its groupings, not its ids.
  await tinyConfig(page, 5);
  await page.getByTestId('tok-field-seed').fill('7');
  await page.getByTestId('tok-train').click();
  await expect(page.getByTestId('tok-note')).toContainText('Stored', { timeout: 180_000 });
  await expect(row).toHaveCount(2);
  await row.first().getByTestId('tok-inspect').click();
  const inspector = page.getByTestId('tok-inspector');
  await inspector.getByTestId('tok-compare').click();
  const result = inspector.getByTestId('tok-compare-result');
  await expect(result).toHaveAttribute('data-ids-line-up', 'false');
  await expect(inspector.getByTestId('tok-compare-kind')).toContainText('Independently trained');
  for (const l of [1, 2, 3]) await expect(inspector.getByTestId(`tok-agreement-l${l}`).getByTestId('tok-agreement-ari')).toHaveText(/^-?\d\.\d{3}$/);
  await inspector.getByTestId('tok-compare-panel').scrollIntoViewIfNeeded();
  await screenshotThemes(page, 'tokenizer-compare-runs');
});
