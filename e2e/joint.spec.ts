/**
 * Joint training end to end in Chromium with WebGPU (SwiftShader): the sample + a seeded 32-d table
 * + a tiny tokenizer, then a short joint run (tiny T5, batch = micro-batch, 4 beams, 16 valid users)
 * with live charts; the page is reloaded after the first stored epoch, the interrupted run resumes
 * from its checkpoint and finishes; the recommendations view shows a test user; the exported bundle
 * is unzipped and checked in Node, and imports back with "N of N tensors matched".
 */
import { readFile } from 'node:fs/promises';
import { strFromU8, unzipSync } from 'fflate';
import { expect, test } from '@playwright/test';
import { prepareTable, safetensorsNames, sampleExpectations, trainTinyTokenizer } from './helpers.ts';

const expected = sampleExpectations();
/**
 * Backend: WebGPU by default (SwiftShader's software adapter on machines without a GPU), with one
 * encoder width (each new shape compiles new shaders on the CPU there), 2 training batches per epoch
 * (train_limit) and 16 valid users: ~8.5 min on the 2-core project machine with another job running
 * (the test passes cover all 1,429 users). E2E_JOINT_BACKEND=wasm
 * runs the same spec on wasm (?backend=wasm) with the sample's full training split.
 * (Before the tfjs-webgpu work-arounds in src/core/tfjs/webgpuFixes.ts no epoch finished here: int →
 * float casts under a transpose and a 34-input addN compiled invalid shaders.)
 */
const BACKEND = process.env.E2E_JOINT_BACKEND ?? 'webgpu';
/** Timeout multiplier: SwiftShader compiles every shader on the CPU and runs them there. */
const SLOW = BACKEND === 'webgpu' ? 3 : 1;

const JOINT_FIELDS: Record<string, string> = {
  epochs: '2',
  'finetune.epochs': '1',
  batch_size: '128',
  micro_batch_size: '128',
  cycle: '2',
  warm_epoch: '0',
  eval_step: '2',
  warmup_steps: '4',
  num_beams: '4',
  return_beams: '4',
  eval_batch_size: '128',
  eval_limit: '32',
  't5.d_model': '16',
  't5.num_layers': '1',
  't5.num_decoder_layers': '1',
  't5.num_heads': '2',
  't5.d_kv': '8',
  't5.d_ff': '24',
  // one encoder width for every batch: each new shape compiles new shaders (slow on SwiftShader)
  ...(BACKEND === 'webgpu' ? { max_history: '10', length_bucket: '10', train_limit: '256', eval_limit: '16' } : {}),
};

test('joint training: live charts, reload mid-run and resume, recommendations, bundle export and import', async ({ page }) => {
  test.setTimeout(420_000 * SLOW);
  const t0 = Date.now();
  const lap = (what: string) => console.log(`${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  await prepareTable(page, BACKEND);
  // 3 × 32 codes: with 16 the de-dup suffix of the sample's clustered table can reach 16, which
  // the bundle reader refuses (suffix must be < code_num) — see the note in the report.
  await trainTinyTokenizer(page, 10, 32);
  lap('table + tokenizer');

  await page.getByTestId('stage-joint').click();
  await expect(page).toHaveURL(/#\/joint\/.+/);
  await expect(page.getByTestId('joint-page')).toBeVisible();
  await expect(page.getByTestId('joint-none')).toBeVisible();
  await expect(page.getByTestId('joint-tokenizer')).toContainText('32×32×32');
  await page.getByTestId('joint-preset').selectOption('paper');
  await expect(page.getByTestId('joint-field-lr_rec')).toHaveValue('0.005');
  await expect(page.getByTestId('joint-fields')).toContainText('official');
  await page.getByTestId('joint-preset').selectOption('quick');
  await expect(page.getByTestId('joint-fields')).toContainText('ours');
  for (const [k, v] of Object.entries(JOINT_FIELDS)) await page.getByTestId(`joint-field-${k}`).fill(v);
  await page.getByTestId('joint-name').fill('e2e-run');
  await page.getByTestId('joint-start').click();
  await expect(page.getByTestId('joint-progress')).toBeVisible();
  await expect(page.getByTestId('joint-cancel')).toBeVisible();

  // The first (tokenizer) epoch: live points, then the stored record says 1 epoch.
  const loss = page.getByTestId('joint-loss-chart');
  await expect(loss).toHaveAttribute('data-points', /^[1-9]/, { timeout: 240_000 * SLOW });
  await expect(page.getByTestId('joint-collision-chart')).toHaveAttribute('data-points', '1');
  await expect(page.getByTestId('joint-churn-chart')).toHaveAttribute('data-points', '1');
  await expect(page.getByTestId('joint-lr-chart')).toHaveAttribute('data-points', /^[1-9]/);
  const row = page.getByTestId('joint-row').filter({ hasText: 'e2e-run' });
  await expect(row.getByTestId('joint-epochs')).toHaveText('1 + 0 finetune', { timeout: 30_000 * SLOW });
  lap('first epoch stored');

  // Reload mid-run: the worker dies; the run is listed as interrupted and resumes from epoch 2.
  await page.reload();
  await expect(page.getByTestId('joint-page')).toBeVisible();
  // The reloaded page starts its backend again; the resumed run must use the same one.
  const backendName = page.getByTestId('backend-panel').getByTestId('backend-name');
  await expect(backendName).not.toHaveText('starting…', { timeout: 120_000 });
  const attempts = await page.getByTestId('backend-panel').getByTestId('backend-attempts').textContent().catch(() => '');
  console.log(`backend after reload: ${await backendName.textContent()} (${attempts})`);
  await expect(backendName).toHaveText(BACKEND);
  const interrupted = page.getByTestId('joint-interrupted-row');
  await expect(interrupted).toHaveCount(1);
  await expect(interrupted).toContainText('e2e-run');
  await expect(interrupted).toContainText('1 epoch stored');
  await expect(row.getByTestId('joint-status')).toHaveText('interrupted');
  await page.getByTestId('joint-resume-interrupted').click();
  // The stored epoch's curves are back at once.
  await expect(page.getByTestId('joint-collision-chart')).toHaveAttribute('data-points', '1');
  await expect(page.getByTestId('joint-note')).toContainText('Finished', { timeout: 300_000 * SLOW });
  await expect(page.getByTestId('joint-note')).toContainText(`Finished on ${BACKEND}`);
  lap('resumed run finished');
  await expect(page.getByTestId('joint-loss-chart')).toHaveAttribute('data-points', '3');
  await expect(page.getByTestId('joint-valid-chart')).toHaveAttribute('data-points', /^[1-9]/);
  await expect(row.getByTestId('joint-status')).toHaveText('finished');
  await expect(row.getByTestId('joint-epochs')).toHaveText('2 + 1 finetune');
  await expect(row.getByTestId('joint-test-ndcg')).toHaveText(/^\d\.\d{4}$/);
  await expect(page.getByTestId('joint-interrupted')).toHaveCount(0);

  // Recommendations of a test user.
  await row.getByTestId('joint-recs').click();
  const view = page.getByTestId('joint-recs-view');
  await expect(view.getByTestId('joint-rec-result')).toBeVisible({ timeout: 60_000 * SLOW });
  expect(await view.getByTestId('joint-rec-history-item').count()).toBeGreaterThan(0);
  await expect(view.getByTestId('joint-rec-gen')).toHaveCount(4);
  await expect(view.getByTestId('joint-rec-target')).toContainText('#');
  await expect(view.getByTestId('joint-rec-gen').first()).toContainText('⟨');
  await view.getByTestId('joint-rec-next').click();
  await expect(view.getByTestId('joint-rec-user')).not.toHaveText('');
  await page.screenshot({ path: 'test-results/screens/joint-page.png', fullPage: true });

  // Export the bundle and read it in Node.
  const dl = page.waitForEvent('download');
  await row.getByTestId('joint-export').click();
  const bundle = await dl;
  expect(bundle.suggestedFilename()).toBe('e2e-run.bundle.zip');
  const zipBytes = await readFile(await bundle.path());
  const files = unzipSync(new Uint8Array(zipBytes));
  expect(Object.keys(files).sort()).toEqual(['code.json', 'config.yaml', 'metrics.csv', 'metrics.json', 'recommender.safetensors', 'tokenizer.safetensors']);
  const recKeys = safetensorsNames(files['recommender.safetensors']);
  expect(recKeys).toContain('model.shared.weight');
  expect(recKeys).toContain('semantic_embedding.weight');
  expect(recKeys.some((k) => k.startsWith('model.encoder.block.0.layer.0.SelfAttention.'))).toBe(true);
  const tokKeys = safetensorsNames(files['tokenizer.safetensors']);
  expect(tokKeys).toContain('rq.vq_layers.0.embedding.weight');
  const codes = JSON.parse(strFromU8(files['code.json'])) as number[][];
  expect(codes).toHaveLength(expected.num_items + 1);
  expect(codes[0]).toEqual([-1, -1, -1, -1]);
  expect(new Set(codes.slice(1).map((c) => c.join(','))).size).toBe(expected.num_items);
  const yaml = strFromU8(files['config.yaml']).split('\n');
  expect(yaml).toContain('d_model: 16');
  expect(yaml).toContain('num_beams: 4');
  expect(yaml.some((l) => l.startsWith('lr_rec: '))).toBe(true);
  const csv = strFromU8(files['metrics.csv']).trim().split('\n');
  expect(csv).toHaveLength(1 + 3);
  const metrics = JSON.parse(strFromU8(files['metrics.json'])) as { etegrec: { test: Record<string, number>; test_before_finetune: Record<string, number> } };
  expect(Object.keys(metrics.etegrec.test)).toEqual(expect.arrayContaining(['recall@1', 'recall@5', 'ndcg@5', 'recall@10', 'ndcg@10']));
  expect(metrics.etegrec.test_before_finetune['ndcg@10']).toBeGreaterThanOrEqual(0);

  // Import it back.
  const total = recKeys.length + tokKeys.length;
  await page.getByTestId('joint-import-file').setInputFiles({ name: 'e2e-run.bundle.zip', mimeType: 'application/zip', buffer: zipBytes });
  await page.getByTestId('joint-import-submit').click();
  await expect(page.getByTestId('joint-import-message')).toHaveText(`${total} of ${total} tensors matched`, { timeout: 60_000 });
  await expect(page.getByTestId('joint-row')).toHaveCount(2);
  lap('joint e2e total');
});
