/**
 * The header's backend choice is remembered per browser: choosing one reloads the page onto it, a
 * plain reload keeps it, and "auto" forgets it. A ?backend= address wins for that page only.
 */
import { expect, test } from '@playwright/test';
import { openStudio } from './helpers.ts';

test('the backend choice persists across reloads and the address overrides it', async ({ page }) => {
  test.setTimeout(180_000);
  await openStudio(page, '#/data');
  const choice = page.getByTestId('backend-choice');
  const name = page.getByTestId('backend-panel').getByTestId('backend-name');
  await expect(name).not.toHaveText('', { timeout: 120_000 });

  await Promise.all([page.waitForEvent('load'), choice.selectOption('cpu')]);
  await expect(name).toHaveText('cpu', { timeout: 120_000 });
  await expect(choice).toHaveValue('cpu');
  expect(await page.evaluate(() => localStorage.getItem('etegrec.backend'))).toBe('cpu');

  await page.reload();
  await expect(name).toHaveText('cpu', { timeout: 120_000 });
  await expect(choice).toHaveValue('cpu');

  // the address wins for this page, and the remembered choice stays
  await page.goto('/?backend=wasm#/data');
  await expect(name).toHaveText('wasm', { timeout: 120_000 });
  expect(await page.evaluate(() => localStorage.getItem('etegrec.backend'))).toBe('cpu');

  // auto forgets the choice (the address parameter is dropped on the way)
  await Promise.all([page.waitForEvent('load'), choice.selectOption('auto')]);
  await expect(page).not.toHaveURL(/backend=/);
  await expect(choice).toHaveValue('auto');
  expect(await page.evaluate(() => localStorage.getItem('etegrec.backend'))).toBeNull();
});
