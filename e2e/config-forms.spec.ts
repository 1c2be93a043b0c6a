/**
 * The config form of every stage page reads the stage's declaration: a value it refuses ("abc" in
 * a number, an oversized d_model) is marked on its row, Start is disabled and the reason listed
 * under it, and nothing reaches the worker (no run is stored); fixing the value enables Start again.
 */
import { expect, test, type Page } from '@playwright/test';
import { prepareTable, screenshotThemes, trainTinyTokenizer } from './helpers.ts';

async function refusedThenFixed(page: Page, prefix: string, field: string, start: string, bad: string, message: RegExp): Promise<void> {
  const input = page.getByTestId(`${prefix}-field-${field}`);
  const before = await input.inputValue();
  await input.fill(bad);
  await expect(page.getByTestId(`${prefix}-error-${field}`)).toContainText(message);
  await expect(page.getByTestId(start)).toBeDisabled();
  await expect(page.getByTestId(`${prefix}-start-reasons`)).toContainText(message);
  await input.fill(before);
  await expect(page.getByTestId(`${prefix}-error-${field}`)).toHaveCount(0);
}

test('every stage form refuses what its declaration refuses, with the reason beside Start', async ({ page }) => {
  test.setTimeout(240_000);
  await prepareTable(page, 'wasm');

  // Embeddings (SASRec): the learning rate as text; after the fix Start is enabled again.
  await expect(page.getByTestId('sasrec-preset')).toBeEnabled();
  await refusedThenFixed(page, 'sasrec', 'learning_rate', 'sasrec-train', 'abc', /learning_rate must be a finite number/);
  await expect(page.getByTestId('sasrec-train')).toBeEnabled();
  // a consistency check of the declaration: heads must divide the width
  await page.getByTestId('sasrec-field-n_heads').fill('3');
  await expect(page.getByTestId('sasrec-start-reasons')).toContainText('must be a multiple of n_heads');
  await expect(page.getByTestId('sasrec-train')).toBeDisabled();
  await page.getByTestId('sasrec-field-n_heads').fill('2');
  await expect(page.getByTestId('sasrec-train')).toBeEnabled();

  // Tokenizer: a float where an integer belongs; then train a tiny one for the joint page.
  await trainTinyTokenizer(page, 2);
  await refusedThenFixed(page, 'tok', 'epochs', 'tok-train', '2.5', /epochs must be an integer/);
  await page.getByTestId('tok-field-num_emb_list').fill('16, x, 16');
  await expect(page.getByTestId('tok-error-num_emb_list')).toContainText('num_emb_list must be 3 comma-separated integers');
  await expect(page.getByTestId('tok-train')).toBeDisabled();
  await page.getByTestId('tok-field-num_emb_list').fill('16, 16, 16');
  await expect(page.getByTestId('tok-train')).toBeEnabled();

  // Joint: "abc" in lr_rec, then an oversized d_model: refused before the worker sees it.
  await page.getByTestId('stage-joint').click();
  await expect(page.getByTestId('joint-page')).toBeVisible();
  await expect(page.getByTestId('joint-start')).toBeEnabled();
  // a 2-epoch tokenizer collides heavily: the page says so beside its select
  await expect(page.getByTestId('joint-tokenizer-collision')).toContainText('cannot tell those items apart');
  await refusedThenFixed(page, 'joint', 'lr_rec', 'joint-start', 'abc', /lr_rec must be a finite number > 0/);
  await page.getByTestId('joint-field-t5.d_model').fill('100000');
  await expect(page.getByTestId('joint-error-t5.d_model')).toContainText('t5.d_model must be an integer ≥ 8 and ≤ 2048, got "100000"');
  await expect(page.getByTestId('joint-start')).toBeDisabled();
  await expect(page.getByTestId('joint-start-reasons')).toContainText('t5.d_model');
  await expect(page.getByTestId('joint-changed-t5.d_model')).toBeVisible();
  await screenshotThemes(page, 'config-form-joint-refused');
  // beams above the dataset's items (a check that needs the data, made in the form too)
  await page.getByTestId('joint-field-t5.d_model').fill('16');
  await page.getByTestId('joint-field-num_beams').fill('950');
  await page.getByTestId('joint-field-return_beams').fill('10');
  await expect(page.getByTestId('joint-start-reasons')).toContainText(/num_beams .* must not exceed the dataset's \d+ items/);
  await expect(page.getByTestId('joint-start')).toBeDisabled();
  await expect(page.getByTestId('joint-none')).toBeVisible();

  // GRPO: no joint run yet, and a refused value: both reasons are listed.
  await page.getByTestId('stage-grpo').click();
  await expect(page.getByTestId('grpo-page')).toBeVisible();
  await page.getByTestId('grpo-field-kl_coeff').fill('NaN');
  await expect(page.getByTestId('grpo-error-kl_coeff')).toContainText('kl_coeff must be a finite number');
  await expect(page.getByTestId('grpo-start')).toBeDisabled();
  await expect(page.getByTestId('grpo-start-reasons')).toContainText('choose a finished joint run');
  await expect(page.getByTestId('grpo-start-reasons')).toContainText('kl_coeff');
});
