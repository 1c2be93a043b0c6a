// `etegrec export-reference` on a tiny prepared dataset and a tiny bundle: the folder tree and the
// zip hold the reference repository's paths; the reference run folder reads back through
// `evaluate --checkpoint` with the same scores as the studio's bundle; refusals.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { unzipSync } from 'fflate';
import { writeBundleFiles } from '../../src/core/io/jointBundle.ts';
import { EtegrecRecommender, type RecommenderConfig } from '../../src/core/models/recommender.ts';
import { RQVAE_SINGLE, Rqvae, type RqvaeConfig } from '../../src/core/models/rqvae.ts';
import { jointTrainConfig } from '../../src/core/train/jointSchedule.ts';

const ROOT = resolve(__dirname, '../..');
const BIN = join(ROOT, 'bin/etegrec.mjs');
const work = mkdtempSync(join(tmpdir(), 'etegrec-exportref-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const data = join(work, 'data');
const bundle = join(work, 'bundle');
let N = 0;

beforeAll(async () => {
  const lines: string[] = [];
  for (let u = 0; u < 30; u++) for (let j = 0; j < 5; j++) lines.push(`u${u}\ti${(u + j) % 12}\t5\t${1_000_000 + j * 100 + u}`);
  writeFileSync(join(work, 'toy.inter'), 'user_id:token\titem_id:token\trating:float\ttimestamp:float\n' + lines.join('\n') + '\n');
  const p = cli('prepare', join(work, 'toy.inter'), '--out', data, '--name', 'Toy', '--kcore', '2', '--quiet');
  expect(p.code, p.stderr).toBe(0);
  N = Object.keys(JSON.parse(readFileSync(join(data, 'Toy.emb_map.json'), 'utf8'))).length - 1;
  await tf.setBackend('cpu');
  const rc: RecommenderConfig = {
    t5: { num_layers: 1, num_decoder_layers: 1, d_model: 8, d_ff: 16, num_heads: 2, d_kv: 4, relative_attention_num_buckets: 32, relative_attention_max_distance: 128, layer_norm_epsilon: 1e-6, dropout_rate: 0 },
    code_length: 4, code_num: 4, e_dim: 3, semantic_hidden_size: 6, n_items_plus_pad: N + 1, initializer_range: 0.02,
  };
  const tc: RqvaeConfig = { ...RQVAE_SINGLE, in_dim: 6, layers: [5], e_dim: 3, num_emb_list: [4, 4, 4], sk_epsilons: [0, 0, 0] };
  const rec = new EtegrecRecommender(rc, 1);
  const tok = new Rqvae(tc, 2);
  const codes = new Int32Array((N + 1) * 4).fill(-1, 0, 4);
  for (let i = 1; i <= N; i++) codes.set([i % 4, (i >> 2) % 4, 0, 0], i * 4);
  const files = writeBundleFiles({
    recommender: await rec.stateDict(), recommenderConfig: rc, tokenizer: await tok.params.stateDict(), tokenizerConfig: tc, codes,
    config: jointTrainConfig('quick', { t5: rc.t5, num_beams: 4, return_beams: 3 }), history: [], metrics: { etegrec: { best_epoch: 5, test: { 'ndcg@10': 0.1 } } },
  });
  rec.dispose();
  tok.dispose();
  mkdirSync(bundle);
  for (const [n, b] of Object.entries(files)) writeFileSync(join(bundle, n), b);
}, 120_000);

const PATHS = [
  'config/Toy.yaml', 'RecBole/dataset/Toy/Toy.train.jsonl', 'RecBole/dataset/Toy/Toy.valid.jsonl', 'RecBole/dataset/Toy/Toy.test.jsonl',
  'RecBole/dataset/Toy/Toy.emb_map.json', 'RecBole/dataset/Toy/Toy_emb_6.npy', 'RQVAE/rqvae_ckpt/Toy/studio-bundle/best_collision_model.pth',
  'myckpt/Toy/studio-bundle/5.pt', 'myckpt/Toy/studio-bundle/5.pt.rqvae', 'myckpt/Toy/studio-bundle/5.code.json',
  'accelerate_config_ddp.yaml', 'run.sh', 'STUDIO_EXPORT.md',
];

describe('etegrec export-reference', () => {
  it('--help lists every option', () => {
    const r = cli('export-reference', '--help');
    expect(r.code).toBe(0);
    for (const o of ['--run', '--data', '--out', '--name', '--run-name', '--epoch', '--gpus', '--zip']) expect(r.stdout).toContain(o);
  });

  it('writes the reference layout (folder tree, run.sh executable) and the same as one zip', () => {
    const out = join(work, 'ref');
    const r = cli('export-reference', '--run', bundle, '--data', data, '--out', out, '--gpus', '2');
    expect(r.stderr).not.toMatch(/error/);
    expect(r.code).toBe(0);
    for (const p of PATHS) expect(existsSync(join(out, p)), p).toBe(true);
    expect(statSync(join(out, 'run.sh')).mode & 0o111).not.toBe(0);
    expect(readFileSync(join(out, 'accelerate_config_ddp.yaml'), 'utf8')).toMatch(/^num_processes: 2$/m);
    const z = cli('export-reference', '--run', bundle, '--data', data, '--out', join(work, 'refzip'), '--zip');
    expect(z.code, z.stderr).toBe(0);
    const entries = unzipSync(new Uint8Array(readFileSync(join(work, 'refzip', 'Toy_reference.zip'))));
    expect(Object.keys(entries).filter((k) => !k.endsWith('dataset_stats.json') && !k.endsWith('.inter')).sort()).toEqual([...PATHS].sort());
    expect(entries['myckpt/Toy/studio-bundle/5.pt']).toEqual(new Uint8Array(readFileSync(join(out, 'myckpt/Toy/studio-bundle/5.pt'))));
  }, 60_000);

  it('the reference run folder (with its YAML) evaluates exactly like the studio bundle', () => {
    const runDir = join(work, 'ref', 'myckpt/Toy/studio-bundle');
    copyFileSync(join(work, 'ref', 'config/Toy.yaml'), join(runDir, 'Toy.yaml'));
    const a = cli('evaluate', '--data', data, '--checkpoint', bundle, '--limit', '8', '--backend', 'cpu', '--quiet');
    const b = cli('evaluate', '--data', join(work, 'ref/RecBole/dataset/Toy'), '--checkpoint', runDir, '--limit', '8', '--backend', 'cpu', '--quiet');
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    const strip = (s: string) => {
      const o = JSON.parse(s) as Record<string, unknown>;
      delete o.seconds;
      delete o.checkpoint;
      delete o.data;
      return o;
    };
    expect(strip(b.stdout)).toEqual(strip(a.stdout));
  }, 90_000);

  it('grpo --checkpoint <reference run folder> reports the matched tensors and its YAML, and refuses a YAML of other weights', () => {
    const runDir = join(work, 'ref', 'myckpt/Toy/studio-bundle');
    const flags = ['--epochs', '1', '--train_limit', '8', '--batch_size', '4', '--group_size', '2', '--num_beams', '4', '--return_beams', '4', '--valid_limit', '4', '--test_limit', '4', '--backend', 'cpu'];
    const g = cli('grpo', '--data', data, '--checkpoint', runDir, '--out', join(work, 'grpo'), ...flags);
    expect(g.code, g.stderr).toBe(0);
    expect(g.stderr).toMatch(/(\d+) of \1 recommender tensors matched; (\d+) of \2 tokenizer tensors matched; \d+ items \(5\.pt \+ Toy\.yaml\)/);
    expect(existsSync(join(work, 'grpo', 'recommender.safetensors'))).toBe(true);
    const bad = join(work, 'badrun');
    mkdirSync(bad);
    for (const n of ['5.pt', '5.pt.rqvae', '5.code.json']) copyFileSync(join(runDir, n), join(bad, n));
    writeFileSync(join(bad, 'Toy.yaml'), readFileSync(join(runDir, 'Toy.yaml'), 'utf8').replace(/^d_model: 8$/m, 'd_model: 128'));
    const r = cli('grpo', '--data', data, '--checkpoint', bad, '--out', join(work, 'grpo2'), ...flags);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/d_model is 128 in Toy.yaml, but 5.pt has 8: the config does not belong to these weights/);
    expect(existsSync(join(work, 'grpo2'))).toBe(false);
  }, 120_000);

  it('refuses a missing prepared dataset and a dataset of another size, writing nothing', () => {
    const r = cli('export-reference', '--run', bundle, '--out', join(work, 'x'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/No prepared dataset at .*stages\/data: pass --data/);
    const other = join(work, 'other');
    mkdirSync(other);
    for (const s of ['train.jsonl', 'valid.jsonl', 'test.jsonl']) copyFileSync(join(data, `Toy.${s}`), join(other, `Toy.${s}`));
    const map = JSON.parse(readFileSync(join(data, 'Toy.emb_map.json'), 'utf8')) as Record<string, number>;
    map.extra = N + 1;
    writeFileSync(join(other, 'Toy.emb_map.json'), JSON.stringify(map));
    const m = cli('export-reference', '--run', bundle, '--data', other, '--out', join(work, 'y'));
    expect(m.code).toBe(1);
    expect(m.stderr).toMatch(/id map has \d+ entries, the run's semantic table \d+ rows/);
    expect(existsSync(join(work, 'y'))).toBe(false);
  }, 60_000);
});
