/**
 * The production build (vite build + vite preview, playwright.preview.config.ts) trains on the
 * threaded SIMD wasm binary with every core: the page is cross-origin isolated, the backend panel
 * reports ≥ 2 threads, and a short SASRec epoch completes in the worker with no page error. A
 * bundling regression (the pthread workers load tfjs's threaded factory from its source text) shows
 * here as pthread errors and a backend that never starts, or a fall-back to one thread.
 */
import { expect, test } from '@playwright/test';
import { loadSample, openStudio } from './helpers.ts';

test('the production build trains SASRec on the threaded wasm binary with every core when asked (?threads=N)', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });

  await openStudio(page, '#/data', 'wasm');
  expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(true);
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  test.skip(cores < 2, `one core (hardwareConcurrency ${cores}): nothing to run in parallel`);
  // one thread unless asked: ?threads=N
  await page.goto(`/?backend=wasm&threads=${cores}#/data`);

  const panel = page.getByTestId('backend-panel');
  await expect(panel.getByTestId('backend-name')).toHaveText('wasm', { timeout: 120_000 });
  await expect(panel.getByTestId('backend-threads')).toHaveText(`${cores} threads`);
  await expect(panel.getByTestId('backend-wasm-binary')).toContainText('threaded SIMD binary');

  await loadSample(page);
  await page.getByTestId('stage-embeddings').click();
  await expect(page.getByTestId('embeddings-page')).toBeVisible();
  await page.getByTestId('sasrec-preset').selectOption('quick');
  await page.getByTestId('sasrec-epochs').fill('1');
  await page.getByTestId('sasrec-max-steps').fill('4');
  await page.getByTestId('sasrec-train').click();
  await expect(page.getByTestId('sasrec-backend')).toContainText('wasm');
  await expect(page.getByTestId('sasrec-results')).toBeVisible({ timeout: 150_000 });
  const cells = page.getByTestId('results-sasrec-test').locator('td[data-metric]');
  await expect(cells).toHaveCount(4);
  for (const text of await cells.allTextContents()) {
    expect(Number(text)).toBeGreaterThanOrEqual(0);
    expect(Number(text)).toBeLessThanOrEqual(1);
  }
  expect(errors, errors.join('\n')).toEqual([]);
});
