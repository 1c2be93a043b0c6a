/**
 * "Continue on the reference trainer" in Chromium, without training (seconds, on wasm): the sample,
 * a bundle built in Node for its 900 items (a tiny recommender and tokenizer, seeded values) imported
 * as a finished run, then the button's download — unzipped in Node to the reference repository's
 * paths — and that zip dropped back on the import ("N of N tensors matched").
 */
import { readFile } from 'node:fs/promises';
import { strFromU8, unzipSync } from 'fflate';
import { expect, test } from '@playwright/test';
import { writeJointBundle } from '../src/core/io/jointBundle.ts';
import { recommenderStateDictShapes, SHARED, TIED_ALIASES, type RecommenderConfig } from '../src/core/models/recommender.ts';
import { RQVAE_SINGLE, rqvaeStateDictShapes, type RqvaeConfig } from '../src/core/models/rqvae.ts';
import { jointTrainConfig } from '../src/core/train/jointSchedule.ts';
import { loadSample, openStudio, sampleExpectations, screenshotThemes } from './helpers.ts';

const N = sampleExpectations().num_items;

function tinyBundle(): Uint8Array {
  let s = 12345;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 0.2;
  const arrays = (shapes: Record<string, number[]>) => Object.fromEntries(Object.entries(shapes).map(([k, shape]) => [k, { shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, rnd) }]));
  const rc: RecommenderConfig = {
    t5: { num_layers: 1, num_decoder_layers: 1, d_model: 8, d_ff: 16, num_heads: 2, d_kv: 4, relative_attention_num_buckets: 32, relative_attention_max_distance: 128, layer_norm_epsilon: 1e-6, dropout_rate: 0 },
    code_length: 4, code_num: 16, e_dim: 4, semantic_hidden_size: 32, n_items_plus_pad: N + 1, initializer_range: 0.02,
  };
  const tc: RqvaeConfig = { ...RQVAE_SINGLE, in_dim: 32, layers: [16], e_dim: 4, num_emb_list: [16, 16, 16], sk_epsilons: [0, 0, 0] };
  const recommender = arrays(recommenderStateDictShapes(rc));
  for (const a of TIED_ALIASES) recommender[a] = recommender[SHARED];
  const codes = new Int32Array((N + 1) * 4).fill(-1, 0, 4);
  for (let i = 1; i <= N; i++) codes.set([i % 16, (i >> 4) % 16, (i >> 8) % 16, 0], i * 4);
  return writeJointBundle({
    recommender, recommenderConfig: rc, tokenizer: arrays(rqvaeStateDictShapes(tc)), tokenizerConfig: tc, codes,
    config: jointTrainConfig('quick', { t5: rc.t5, num_beams: 4, return_beams: 4 }), history: [],
  });
}

test('a finished joint run downloads as the reference repository layout, and that zip imports back', async ({ page }) => {
  await openStudio(page, '#/data', 'wasm');
  await loadSample(page);
  await page.getByTestId('stage-joint').click();
  await expect(page.getByTestId('joint-page')).toBeVisible();
  await expect(page.getByTestId('joint-none')).toBeVisible();
  await page.getByTestId('joint-import-file').setInputFiles({ name: 'tiny.bundle.zip', mimeType: 'application/zip', buffer: Buffer.from(tinyBundle()) });
  await page.getByTestId('joint-import-submit').click();
  await expect(page.getByTestId('joint-import-message')).toHaveText(/^(\d+) of \1 tensors matched$/, { timeout: 60_000 });
  const row = page.getByTestId('joint-row').first();
  await expect(row).toHaveAttribute('data-status', 'finished');

  await page.getByTestId('joint-reference-gpus').fill('4');
  const dl = page.waitForEvent('download');
  await row.getByTestId('joint-export-reference').click();
  const download = await dl;
  expect(download.suggestedFilename()).toBe('tiny.reference.zip');
  const files = unzipSync(new Uint8Array(await readFile(await download.path())));
  const names = Object.keys(files);
  const ds = names.find((n) => n.startsWith('config/'))!.slice('config/'.length, -'.yaml'.length);
  for (const p of [`RecBole/dataset/${ds}/${ds}.train.jsonl`, `RecBole/dataset/${ds}/${ds}.valid.jsonl`, `RecBole/dataset/${ds}/${ds}.test.jsonl`, `RecBole/dataset/${ds}/${ds}.emb_map.json`,
    `RecBole/dataset/${ds}/${ds}_emb_32.npy`, `RQVAE/rqvae_ckpt/${ds}/studio-tiny/best_collision_model.pth`, `myckpt/${ds}/studio-tiny/0.pt`, `myckpt/${ds}/studio-tiny/0.pt.rqvae`,
    `myckpt/${ds}/studio-tiny/0.code.json`, 'accelerate_config_ddp.yaml', 'run.sh', 'STUDIO_EXPORT.md']) {
    expect(names, p).toContain(p);
  }
  expect(strFromU8(files['accelerate_config_ddp.yaml'])).toMatch(/^num_processes: 4$/m);
  expect(strFromU8(files[`config/${ds}.yaml`])).toMatch(/^d_model: 8$/m);
  expect(Object.keys(JSON.parse(strFromU8(files[`RecBole/dataset/${ds}/${ds}.emb_map.json`])))).toHaveLength(N + 1);
  await screenshotThemes(page, 'joint-reference-export');

  await page.getByTestId('joint-import-file').setInputFiles({ name: 'tiny.reference.zip', mimeType: 'application/zip', buffer: await readFile(await download.path()) });
  await page.getByTestId('joint-import-submit').click();
  await expect(page.getByTestId('joint-import-message')).toHaveText(/^(\d+) of \1 tensors matched$/, { timeout: 60_000 });
  await expect(page.getByTestId('joint-row')).toHaveCount(2);
});
