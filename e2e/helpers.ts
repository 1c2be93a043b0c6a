/** Shared helpers of the e2e specs (data stage, and the seeded table + tiny tokenizer of stages 3–4). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, type Page } from '@playwright/test';

const here = dirname(fileURLToPath(import.meta.url));

export interface SampleExpectations {
  num_users: number;
  num_items: number;
  num_interactions: number;
  train_sequences: number;
}

/**
 * Expected statistics of the bundled sample: the reference implementation's dataset_stats.json
 * (shared conformance material) where this checkout has it, else the spec's values.
 */
export function sampleExpectations(): SampleExpectations {
  const candidates = [
    process.env.ETEGREC_SHARED && resolve(process.env.ETEGREC_SHARED, 'conformance/data-prep-instrument2014/dataset_stats.json'),
    resolve(here, '../../shared/conformance/data-prep-instrument2014/dataset_stats.json'),
  ].filter((p): p is string => !!p);
  for (const path of candidates) {
    if (existsSync(path)) return JSON.parse(readFileSync(path, 'utf8')) as SampleExpectations;
  }
  return { num_users: 1429, num_items: 900, num_interactions: 10261, train_sequences: 5974 };
}

/** 10261 → "10,261", as the UI shows counts. */
export function fmt(n: number): string {
  return new Intl.NumberFormat('en-US').format(n);
}

/** Opens the studio and waits until the stored datasets have been read. */
export async function openStudio(page: Page, hash = '#/data', backend?: string): Promise<void> {
  await page.goto(`/${backend ? `?backend=${backend}` : ''}${hash}`);
  await expect(page.getByRole('heading', { name: 'ETEGRec Studio' })).toBeVisible();
}

export async function waitForDatasetList(page: Page): Promise<void> {
  await expect(page.getByTestId('dataset-list').or(page.getByTestId('no-datasets'))).toBeVisible();
}

/**
 * Waits until a job (sample or import) has ended: on success the app opens the dataset page; on
 * failure the error box appears, and this throws with its text so the test report says why.
 */
export async function waitForImported(page: Page): Promise<void> {
  const page_ = page.getByTestId('dataset-page');
  const error = page.getByTestId('error-box');
  await expect(page_.or(error)).toBeVisible({ timeout: 120_000 });
  if (await error.isVisible()) throw new Error(`Import failed: ${await error.innerText()}`);
  await expect(page.getByTestId('stat-users')).toBeVisible();
}

/** Loads the bundled sample and waits for its dataset page. */
export async function loadSample(page: Page): Promise<void> {
  await waitForDatasetList(page);
  await page.getByTestId('load-sample').click();
  await waitForImported(page);
}

/** The statistics cards as text, keyed by test id. */
export async function readStats(page: Page): Promise<Record<string, string>> {
  const ids = [
    'stat-users', 'stat-items', 'stat-interactions', 'stat-sparsity', 'stat-train-samples',
    'stat-valid-samples', 'stat-test-samples', 'stat-seq-length',
  ];
  const out: Record<string, string> = {};
  for (const id of ids) out[id] = (await page.getByTestId(id).textContent()) ?? '';
  return out;
}

/** Rows of the stored-datasets table as text (name and counts), in display order. */
export async function readDatasetRows(page: Page): Promise<string[]> {
  await waitForDatasetList(page);
  const rows = page.getByTestId('dataset-row');
  const n = await rows.count();
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const row = rows.nth(i);
    const cells = await Promise.all(
      ['open-dataset', 'row-users', 'row-items', 'row-interactions'].map((id) => row.getByTestId(id).textContent()),
    );
    out.push(cells.join(' | '));
  }
  return out;
}

// ---- stages 3–4: a seeded item table and a tiny tokenizer --------------------------------------

/** Width of the seeded item table. */
export const TABLE_DIM = 32;

/** A float32 .npy of clustered rows: 24 seeded centres + small seeded noise. */
export function npyBytes(rows: number, cols: number): Buffer {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${cols}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  let s = 12345;
  const rnd = () => {
    s = (s * 1103515245 + 12345) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  const centres = Array.from({ length: 24 }, () => Array.from({ length: cols }, () => rnd() * 4));
  const data = Buffer.alloc(rows * cols * 4);
  for (let i = 0; i < rows; i++) {
    const c = centres[i % centres.length];
    for (let j = 0; j < cols; j++) data.writeFloatLE(c[j] + rnd() * 0.8, (i * cols + j) * 4);
  }
  return Buffer.concat([head, Buffer.from(header, 'latin1'), data]);
}

/** Tensor names in a safetensors file's header. */
export function safetensorsNames(bytes: Uint8Array): string[] {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(b.readBigUInt64LE(0));
  const header = JSON.parse(b.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  return Object.keys(header).filter((k) => k !== '__metadata__');
}

/** The sample plus a stored N × 32 table imported as .npy (the fastest path to a table). */
export async function prepareTable(page: Page, backend = 'webgpu'): Promise<void> {
  await openStudio(page, '#/data', backend);
  await expect(page.getByTestId('backend-panel').getByTestId('backend-name')).toHaveText(backend, { timeout: 120_000 });
  await loadSample(page);
  await page.getByTestId('stage-embeddings').click();
  await expect(page.getByTestId('embeddings-page')).toBeVisible();
  await page.getByTestId('embedding-import-file').setInputFiles({
    name: 'items32.npy', mimeType: 'application/octet-stream', buffer: npyBytes(sampleExpectations().num_items, TABLE_DIM),
  });
  await page.getByTestId('embedding-import-kind').selectOption('collab');
  await page.getByTestId('embedding-import-submit').click();
  await expect(page.getByTestId('embedding-import-result')).toBeVisible();
}

export async function openTokenizer(page: Page): Promise<void> {
  await page.getByTestId('stage-tokenizer').click();
  await expect(page).toHaveURL(/#\/tokenizer\/.+/);
}

/** Tiny tokenizer shapes for SwiftShader: 32 → 64 → 16, codebooks 3 × 16. */
export async function tinyTokenizerConfig(page: Page, epochs: number, evalStep = 5, codes = 16): Promise<void> {
  const edits: Record<string, string> = {
    layers: '64',
    e_dim: '16',
    num_emb_list: `${codes}, ${codes}, ${codes}`,
    epochs: String(epochs),
    eval_step: String(evalStep),
    warmup_epochs: '2',
    kmeans_iters: '10',
  };
  for (const [key, value] of Object.entries(edits)) await page.getByTestId(`tok-field-${key}`).fill(value);
}

/** Trains a tiny tokenizer on the seeded table (quick preset) and waits until it is stored. */
export async function trainTinyTokenizer(page: Page, epochs = 10, codes = 16): Promise<void> {
  await openTokenizer(page);
  await expect(page.getByTestId('tok-preset')).toBeEnabled();
  await page.getByTestId('tok-preset').selectOption('quick');
  await tinyTokenizerConfig(page, epochs, 5, codes);
  await page.getByTestId('tok-train').click();
  await expect(page.getByTestId('tok-note')).toContainText('Stored', { timeout: 180_000 });
}

/**
 * A finished tiny joint run on the seeded table + tokenizer (prepareTable + trainTinyTokenizer
 * first): tiny T5, 1 alternating epoch + 1 finetune epoch, big batches, 4 beams, 16 valid users.
 */
/** The tiny joint values (field keys of the joint form): tiny T5, 1 + 1 epochs, big batches, 4 beams, 16 valid users. */
export const TINY_JOINT_FIELDS: Record<string, string> = {
  epochs: '1', 'finetune.epochs': '1', batch_size: '512', micro_batch_size: '512', cycle: '2', warm_epoch: '0', eval_step: '1',
  warmup_steps: '2', num_beams: '4', return_beams: '4', eval_batch_size: '128', eval_limit: '16',
  't5.d_model': '16', 't5.num_layers': '1', 't5.num_decoder_layers': '1', 't5.num_heads': '2', 't5.d_kv': '8', 't5.d_ff': '24',
};

export async function finishTinyJointRun(page: Page, name: string): Promise<void> {
  const fields = TINY_JOINT_FIELDS;
  await page.getByTestId('stage-joint').click();
  await expect(page.getByTestId('joint-page')).toBeVisible();
  await expect(page.getByTestId('joint-start')).toBeEnabled();
  await page.getByTestId('joint-preset').selectOption('quick');
  for (const [k, v] of Object.entries(fields)) await page.getByTestId(`joint-field-${k}`).fill(v);
  await page.getByTestId('joint-name').fill(name);
  await page.getByTestId('joint-start').click();
  await expect(page.getByTestId('joint-note')).toContainText('Finished', { timeout: 240_000 });
}

/** Full-page screenshots in the light and the dark theme (test-results/screens/<name>-light|dark.png); the theme is left as found. */
export async function screenshotThemes(page: Page, name: string): Promise<void> {
  const theme = () => page.evaluate(() => document.documentElement.dataset.theme);
  const start = await theme();
  for (let i = 0; i < 2; i++) {
    const t = await theme();
    await page.screenshot({ path: `test-results/screens/${name}-${t}.png`, fullPage: true });
    await page.getByTestId('theme-toggle').click();
    await expect.poll(theme).not.toBe(t);
  }
  expect(await theme()).toBe(start);
}
