/**
 * The shared chart end to end (wasm): after a tiny tokenizer + joint run, the joint charts have
 * axis titles, a PNG download that is a real PNG (SVG → canvas under the CSP), a CSV download
 * of the plotted values, and a smoothing slider that adds the smoothed curve over the raw one.
 */
import { readFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import { finishTinyJointRun, prepareTable, trainTinyTokenizer } from './helpers.ts';

test('charts: axis titles, PNG and CSV downloads, smoothing', async ({ page }) => {
  test.setTimeout(240_000);
  await prepareTable(page, 'wasm');
  await trainTinyTokenizer(page, 5, 32);
  await finishTinyJointRun(page, 'chart-run');

  const loss = page.getByTestId('joint-loss-chart');
  await expect(loss).toHaveAttribute('data-points', /^[1-9]/);
  await expect(loss.locator('.chart-axis-title', { hasText: 'epoch' }).first()).toBeVisible();
  await expect(loss.locator('.chart-axis-title', { hasText: 'loss' }).first()).toBeVisible();
  // no tick label repeats on the y axis
  const ticks = await loss.locator('.recharts-yAxis .recharts-cartesian-axis-tick-value').allTextContents();
  expect(new Set(ticks).size).toBe(ticks.length);

  const [png] = await Promise.all([page.waitForEvent('download'), loss.getByTestId('joint-loss-chart-png').click()]);
  expect(png.suggestedFilename()).toMatch(/\.png$/);
  const bytes = await readFile((await png.path())!);
  expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  expect(bytes.length).toBeGreaterThan(2000);
  await png.saveAs('test-results/screens/charts-joint-loss-download.png');

  const [csv] = await Promise.all([page.waitForEvent('download'), loss.getByTestId('joint-loss-chart-csv').click()]);
  const lines = (await readFile((await csv.path())!, 'utf8')).trim().split('\n');
  expect(lines[0].split(',')[0]).toBe('epoch');
  expect(lines.length - 1).toBe(Number(await loss.getAttribute('data-points')));

  const before = await loss.locator('.recharts-line').count();
  await loss.getByTestId('joint-loss-chart-smoothing').fill('0.6');
  await expect(loss.locator('.recharts-line')).toHaveCount(before * 2);

  await loss.scrollIntoViewIfNeeded();
  const theme = () => page.evaluate(() => document.documentElement.dataset.theme);
  for (let i = 0; i < 2; i++) {
    const t = await theme();
    await page.getByTestId('joint-charts').screenshot({ path: `test-results/screens/charts-joint-${t}.png` });
    await page.getByTestId('theme-toggle').click();
    await expect.poll(theme).not.toBe(t);
  }
});
