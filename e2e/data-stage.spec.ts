/**
 * The data stage end to end, in Chromium with WebGPU enabled: backend panel, the bundled sample,
 * persistence across reloads, malformed input, export → re-import, delete, items and sequences.
 * Every test starts from a clean IndexedDB (Playwright gives each test a fresh browser context).
 */
import { readFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import { fmt, loadSample, openStudio, readDatasetRows, readStats, sampleExpectations, screenshotThemes, waitForDatasetList, waitForImported } from './helpers.ts';

const expected = sampleExpectations();

test('the backend panel names the backend in use and the adapter', async ({ page }) => {
  await openStudio(page, '#/data', 'webgpu');
  const panel = page.getByTestId('backend-panel');
  await expect(panel).toBeVisible();
  // With --enable-unsafe-webgpu, headless Chromium offers SwiftShader's software WebGPU adapter.
  await expect(panel.getByTestId('backend-name')).toHaveText('webgpu', { timeout: 120_000 });
  await expect(panel.getByTestId('adapter-fallback')).toBeVisible();
  await panel.getByText('details').click();
  await expect(panel.getByTestId('adapter-is-fallback')).toHaveText('true');
  await expect(panel.getByTestId('backend-source')).toContainText('page address');
  await expect(panel.getByTestId('backend-attempts').locator('li').first()).toContainText('webgpu');
  // Every stage is built, GRPO included.
  await expect(page.getByTestId('stage-grpo')).not.toContainText('not yet built');
  await expect(page.getByTestId('stage-grpo')).toHaveAttribute('href', /#\/grpo/);
  await expect(page.getByTestId('stage-joint')).not.toContainText('not yet built');
});

test('loading the sample shows its statistics', async ({ page }) => {
  await openStudio(page);
  await loadSample(page);
  await expect(page.getByTestId('stat-users')).toHaveText(fmt(expected.num_users));
  await expect(page.getByTestId('stat-items')).toHaveText(fmt(expected.num_items));
  await expect(page.getByTestId('stat-interactions')).toHaveText(fmt(expected.num_interactions));
  await expect(page.getByTestId('stat-train-samples')).toHaveText(fmt(expected.train_sequences));
  const sparsity = 1 - expected.num_interactions / (expected.num_users * expected.num_items);
  await expect(page.getByTestId('stat-sparsity')).toHaveText(`${(sparsity * 100).toFixed(2)} %`);
  await expect(page.getByTestId('seq-length-histogram').locator('.recharts-bar-rectangle').first()).toBeVisible();
  await expect(page.getByTestId('interactions-over-time').locator('.recharts-area')).toBeVisible();
  await page.screenshot({ path: 'test-results/screens/dataset-page.png', fullPage: true });
});

test('a loaded dataset is still there after a reload', async ({ page }) => {
  await openStudio(page);
  await loadSample(page);
  const before = await readStats(page);
  await page.reload();
  await expect(page.getByTestId('stat-users')).toHaveText(fmt(expected.num_users));
  expect(await readStats(page)).toEqual(before);
  await page.getByTestId('back-to-datasets').click();
  const rows = await readDatasetRows(page);
  expect(rows).toHaveLength(1);
  expect(rows[0]).toContain(fmt(expected.num_interactions));
  await page.screenshot({ path: 'test-results/screens/datasets-page.png', fullPage: true });
});

test('a malformed file gives a specific error and leaves the stored datasets unchanged', async ({ page }) => {
  await openStudio(page);
  await loadSample(page);
  await page.getByTestId('back-to-datasets').click();
  const rowsBefore = await readDatasetRows(page);
  expect(rowsBefore).toHaveLength(1);

  // JSON lines that all are broken: truncated objects and plain prose.
  const broken = [
    '{"reviewerID": "A1", "asin": "B0001", "unixReviewTime": ',
    '{"reviewerID": "A2" "asin": "B0002"}',
    'this is not json at all',
    '{"reviewerID": "A3", "asin": "B0003", "unixReviewTime": 1400000000, "overall": 5.0',
  ].join('\n');
  await page.getByTestId('import-files').setInputFiles({
    name: 'broken_reviews.json',
    mimeType: 'application/json',
    buffer: Buffer.from(broken, 'utf8'),
  });
  await page.getByTestId('import-name').fill('Broken');
  await page.getByTestId('import-format').selectOption('amazon2014');
  await page.getByTestId('import-submit').click();

  const box = page.getByTestId('error-box');
  await expect(box).toBeVisible();
  await expect(box).not.toHaveAttribute('data-code', 'internal');
  await expect(box.getByTestId('error-message')).toContainText('broken_reviews.json');
  await expect(box).toContainText(/line \d+/);
  await page.screenshot({ path: 'test-results/screens/import-error.png', fullPage: true });

  expect(await readDatasetRows(page)).toEqual(rowsBefore);
  await page.reload();
  expect(await readDatasetRows(page)).toEqual(rowsBefore);

  // A file in no known format is refused too, naming the problem.
  await page.getByTestId('import-files').setInputFiles({
    name: 'mystery.txt',
    mimeType: 'text/plain',
    buffer: Buffer.from('\u0000\u0001\u0002 binary-ish garbage\n###\n', 'utf8'),
  });
  await page.getByTestId('import-submit').click();
  await expect(page.getByTestId('error-box')).toBeVisible();
  await expect(page.getByTestId('error-box')).not.toHaveAttribute('data-code', 'internal');
  expect(await readDatasetRows(page)).toEqual(rowsBefore);
});

test('an exported dataset re-imports with identical statistics', async ({ page }) => {
  await openStudio(page);
  await loadSample(page);
  const original = await readStats(page);

  const downloadPromise = page.waitForEvent('download');
  await page.getByTestId('export-dataset').click();
  const download = await downloadPromise;
  expect(download.suggestedFilename()).toMatch(/\.zip$/);
  const path = await download.path();
  const buffer = await readFile(path);
  expect(buffer.subarray(0, 2).toString('latin1')).toBe('PK');

  await page.getByTestId('back-to-datasets').click();
  await waitForDatasetList(page);
  await page.getByTestId('import-files').setInputFiles({
    name: download.suggestedFilename(),
    mimeType: 'application/zip',
    buffer,
  });
  await page.getByTestId('import-name').fill('Reimported');
  await page.getByTestId('import-submit').click();
  await waitForImported(page);
  await expect(page.getByTestId('dataset-title')).toHaveText('Reimported');
  expect(await readStats(page)).toEqual(original);

  await page.getByTestId('back-to-datasets').click();
  expect(await readDatasetRows(page)).toHaveLength(2);
});

test('a deleted dataset is gone, also after a reload', async ({ page }) => {
  await openStudio(page);
  await loadSample(page);
  await page.getByTestId('back-to-datasets').click();
  expect(await readDatasetRows(page)).toHaveLength(1);

  const del = page.getByTestId('delete-dataset');
  await del.click();
  await expect(del).toHaveText('Confirm delete');
  await del.click();
  await expect(page.getByTestId('no-datasets')).toBeVisible();
  await page.reload();
  await expect(page.getByTestId('no-datasets')).toBeVisible();
  expect(await readDatasetRows(page)).toEqual([]);
});

test('the item table pages through items and the sequence viewer shows a user with split badges', async ({ page }) => {
  await openStudio(page);
  await loadSample(page);

  const table = page.getByTestId('item-table');
  await expect(table.getByTestId('item-row')).toHaveCount(20);
  await expect(table.getByTestId('item-pager')).toContainText(`of ${fmt(expected.num_items)}`);
  // Sort by interactions: the first row has the largest count.
  await table.getByTestId('item-sort').selectOption('count');
  const countsSortedDesc = async () => {
    const cells = await table.getByTestId('item-row').locator('td:nth-child(4)').allTextContents();
    const nums = cells.map((c) => Number(c.replace(/,/g, '')));
    return nums.length === 20 && nums.every((n, i) => i === 0 || nums[i - 1] >= n) && nums[0] > nums[19];
  };
  await expect.poll(countsSortedDesc).toBe(true);
  // Search by the first row's ASIN finds it.
  const asin = (await table.getByTestId('item-row').first().locator('td:nth-child(2)').textContent())!.trim();
  await table.getByTestId('item-search').fill(asin);
  await expect(table.getByTestId('item-row')).toHaveCount(1);
  await expect(table.getByTestId('item-row')).toContainText(asin);

  const viewer = page.getByTestId('sequence-viewer');
  const firstUser = viewer.getByTestId('user-option').first();
  await expect(firstUser).toBeVisible();
  const lengthText = (await firstUser.locator('.small').textContent())!;
  const length = Number(lengthText.replace(/[^0-9]/g, ''));
  await firstUser.click();
  await expect(viewer.getByTestId('sequence-row')).toHaveCount(length);
  const badges = await viewer.getByTestId('split-badge').allTextContents();
  expect(badges[badges.length - 1]).toBe('test');
  expect(badges[badges.length - 2]).toBe('valid');
  expect(badges.slice(0, -2).every((b) => b === 'train')).toBe(true);
  await expect(viewer.getByTestId('sequence-row').first().locator('td:nth-child(2)')).toHaveText(/^\d{4}-\d{2}-\d{2}$/);
  await page.screenshot({ path: 'test-results/screens/items-sequences.png', fullPage: true });
});

test('cancelling a sample load stores nothing; the storage meter answers a persist request', async ({ page, context }) => {
  // Hold the sample's data file back so that the job is still running when Cancel is clicked.
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => { release = resolve; });
  let requested = 0;
  await context.route('**/sample/*.gz', async (route) => {
    requested++;
    await held;
    await route.continue().catch(() => undefined);
  });
  await openStudio(page);
  await waitForDatasetList(page);
  await page.getByTestId('load-sample').click();
  await expect(page.getByTestId('job-panel')).toBeVisible();
  await expect.poll(() => requested).toBe(1);
  await page.getByTestId('cancel-job').click();
  release();
  await expect(page.getByTestId('job-cancelled')).toBeVisible();
  await expect(page.getByTestId('no-datasets')).toBeVisible();
  await page.reload();
  await expect(page.getByTestId('no-datasets')).toBeVisible();

  await expect(page.getByTestId('storage-meter')).toContainText('used of');
  await page.getByRole('button', { name: 'Request persistent storage' }).click();
  await expect(page.getByTestId('persist-answer')).toBeVisible();
});

test('a sequence file without timestamps imports and hides the timeline with a note', async ({ page }) => {
  await openStudio(page);
  await waitForDatasetList(page);
  // S3-Rec layout: `user item1 item2 …`, chronological; 12 users over 8 items, every one ≥ 5 times.
  const lines = Array.from({ length: 12 }, (_, u) => {
    const items = Array.from({ length: 6 }, (_, k) => ((u + k) % 8) + 1);
    return `${u + 1} ${items.join(' ')}`;
  });
  await page.getByTestId('import-files').setInputFiles({
    name: 'tiny_sequences.txt',
    mimeType: 'text/plain',
    buffer: Buffer.from(lines.join('\n') + '\n', 'utf8'),
  });
  await page.getByTestId('import-format').selectOption('s3rec');
  await page.getByTestId('import-submit').click();
  await waitForImported(page);
  await expect(page.getByTestId('dataset-title')).toHaveText('tiny_sequences');
  await expect(page.getByTestId('stat-users')).toHaveText('12');
  await expect(page.getByTestId('stat-items')).toHaveText('8');
  await expect(page.getByTestId('stat-interactions')).toHaveText('72');
  await expect(page.getByTestId('no-timestamps')).toBeVisible();
  await expect(page.getByTestId('report-format')).toHaveText('s3rec');
  const viewer = page.getByTestId('sequence-viewer');
  await viewer.getByTestId('user-option').first().click();
  await expect(viewer.getByTestId('sequence-row')).toHaveCount(6);
  await expect(viewer.getByTestId('split-badge').last()).toHaveText('test');
});

test('a link with a malformed % escape shows an error with a way back; the page runs under its content security policy', async ({ page }) => {
  await page.addInitScript(() => {
    const w = window as unknown as { cspViolations: string[] };
    w.cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => w.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  const response = await page.goto('/#/data');
  expect(response?.headers()['content-security-policy']).toContain("default-src 'self'");
  await loadSample(page);
  await page.goto('/#/data/%E0%A4%A');
  await expect(page.getByTestId('bad-link-message')).toContainText('malformed % escape');
  await page.getByTestId('bad-link-home').click();
  await expect(page.getByTestId('dataset-list')).toBeVisible();
  expect(await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)).toEqual([]);
});

test('auto passes over the software WebGPU adapter for wasm and says why; a choice in the header is remembered', async ({ page }) => {
  await openStudio(page);
  const panel = page.getByTestId('backend-panel');
  await expect(panel.getByTestId('backend-name')).toHaveText('wasm', { timeout: 120_000 });
  await expect(panel.getByTestId('backend-auto-reason')).toContainText('software');
  await expect(panel.getByTestId('backend-choice')).toHaveValue('auto');
  await panel.getByTestId('backend-choice').selectOption('webgpu');
  await expect(panel.getByTestId('backend-name')).toHaveText('webgpu', { timeout: 120_000 });
  await page.reload();
  await expect(panel.getByTestId('backend-name')).toHaveText('webgpu', { timeout: 120_000 });
  await expect(panel.getByTestId('backend-choice')).toHaveValue('webgpu');
  await panel.getByText('details').click();
  await expect(panel.getByTestId('backend-source')).toContainText("this browser's choice");
  await screenshotThemes(page, 'backend-choice');
  await panel.getByTestId('backend-choice').selectOption('auto');
  await expect(panel.getByTestId('backend-name')).toHaveText('wasm', { timeout: 120_000 });
});
