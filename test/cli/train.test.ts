// `etegrec train` end to end on a tiny synthetic interaction file (prepare → sasrec → rqvae → train):
// the bundle files against the reference key/shape list (paper preset), code.json and config.yaml
// layouts, metrics.json's keys, the per-epoch CSV, resume from the checkpoint file, and refusals.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSafetensors, writeSafetensors } from '../../src/core/io/safetensors.ts';
import * as tf from '@tensorflow/tfjs';
import { packJointCheckpoint, writeBundleFiles } from '../../src/core/io/jointBundle.ts';
import { tinyCheckpoint } from '../core/io/checkpointFixture.ts';
import { EtegrecRecommender } from '../../src/core/models/recommender.ts';
import { Rqvae, type RqvaeConfig } from '../../src/core/models/rqvae.ts';
import { trainConfigFromArgs } from '../../src/cli/train.ts';
import { jointTrainConfig } from '../../src/core/train/jointSchedule.ts';
import { buildCodeTable } from '../../src/core/tokenizer/codes.ts';

const ROOT = resolve(__dirname, '../..');
const BIN = join(ROOT, 'bin/etegrec.mjs');
const KEYS = resolve(ROOT, '../shared/conformance/state-dict-keys.json');
const work = mkdtempSync(join(tmpdir(), 'etegrec-train-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 280_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** 80 users walking through 30 items in order from a random start (5–9 interactions each). */
function writeInteractions(path: string): void {
  let s = 7;
  const rnd = (n: number) => {
    s = (s * 1103515245 + 12345) >>> 0;
    return s % n;
  };
  const lines: string[] = [];
  for (let u = 0; u < 80; u++) {
    const len = 5 + rnd(5);
    const start = rnd(30);
    for (let j = 0; j < len; j++) lines.push(`u${u}\ti${(start + j) % 30}\t5\t${1_000_000 + j * 100 + u}`);
  }
  writeFileSync(path, 'user_id:token\titem_id:token\trating:float\ttimestamp:float\n' + lines.join('\n') + '\n');
}

const METRICS = ['recall@1', 'recall@5', 'recall@10', 'ndcg@5', 'ndcg@10'];

describe('etegrec train', () => {
  const data = join(work, 'data');
  const emb = join(work, 'emb');
  const tok = join(work, 'tok');
  const out = join(work, 'out');
  let items = 0;

  beforeAll(() => {
    const input = join(work, 'toy.inter');
    writeInteractions(input);
    const p = cli('prepare', input, '--out', data, '--name', 'Toy', '--quiet');
    expect(p.stderr).not.toMatch(/error/i);
    expect(p.code).toBe(0);
    items = Object.keys(JSON.parse(readFileSync(join(data, 'Toy.emb_map.json'), 'utf8'))).length - 1;
    expect(cli('sasrec', '--data', data, '--out', emb, '--epochs', '1', '--max-steps', '2', '--quiet').code).toBe(0);
    // the paper RQ-VAE layout needs 256-d input: the quick SASRec table is 64-d, so pretrain on it
    const r = cli('rqvae', '--data', data, '--emb', join(emb, 'Toy_emb_64.npy'), '--out', tok, '--epochs', '4', '--eval-step', '2', '--quiet');
    expect(r.code).toBe(0);
  }, 300_000);

  it('writes the bundle with the reference recommender keys and metrics.json', () => {
    const r = cli(
      'train', '--data', data, '--emb', join(emb, 'Toy_emb_64.npy'), '--tokenizer', join(tok, 'tokenizer.safetensors'), '--out', out,
      '--preset', 'paper', '--epochs', '2', '--finetune-epochs', '1', '--quiet',
    );
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    for (const f of ['recommender.safetensors', 'tokenizer.safetensors', 'code.json', 'config.yaml', 'metrics.csv', 'metrics.json']) {
      expect(existsSync(join(out, f))).toBe(true);
    }
    // the paper T5 with a 64-d semantic table: every reference key, the dec_adapter / semantic widths follow D_s = 64
    const ref = JSON.parse(readFileSync(KEYS, 'utf8')).recommender_single_256 as Record<string, (number | string)[]>;
    const st = readSafetensors(new Uint8Array(readFileSync(join(out, 'recommender.safetensors'))));
    expect(Object.keys(st.tensors).sort()).toEqual(Object.keys(ref).sort());
    for (const [k, shape] of Object.entries(ref)) {
      const want = shape.map((d) => (d === 'N_PLUS_1' ? items + 1 : d === 256 && /semantic_embedding|dec_adapter/.test(k) ? 64 : d));
      expect([k, st.tensors[k].shape]).toEqual([k, want]);
    }
    const codes = JSON.parse(readFileSync(join(out, 'code.json'), 'utf8')) as number[][];
    expect(codes).toHaveLength(items + 1);
    expect(codes[0]).toEqual([-1, -1, -1, -1]);
    expect(new Set(codes.slice(1).map((c) => c.join(','))).size).toBe(items);

    const m = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    for (const part of [m.etegrec.test, m.etegrec.test_before_finetune]) {
      expect(Object.keys(part).sort()).toEqual([...METRICS].sort());
      for (const k of METRICS) expect(part[k]).toBeGreaterThanOrEqual(0);
      expect(part['recall@10']).toBeGreaterThanOrEqual(part['recall@5']);
      expect(part['recall@5']).toBeGreaterThanOrEqual(part['recall@1']);
    }
    // config.yaml: flat reference-style keys with the run's values
    const yaml = readFileSync(join(out, 'config.yaml'), 'utf8');
    expect(yaml).toMatch(/^epochs: 2$/m);
    expect(yaml).toMatch(/^cycle: 2$/m);
    expect(yaml).toMatch(/^d_model: 128$/m);
    // metrics.csv: a header and one row per epoch (2 alternating + 1 finetune)
    const csv = readFileSync(join(out, 'metrics.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(1 + 3);
    expect(csv[1].startsWith('alternating,0,tokenizer')).toBe(true);
    expect(csv[3].startsWith('finetune,0,recommender')).toBe(true);
    // a finished run removes its checkpoint
    expect(existsSync(`${out}.checkpoint.safetensors`)).toBe(false);
  }, 300_000);

  it('train --resume refuses a checkpoint with malformed metadata or a flipped data byte (issue 15)', () => {
    // a finished run deletes its checkpoint: a tiny valid one (the refusals come before any data check)
    const good = packJointCheckpoint(tinyCheckpoint());
    const f = readSafetensors(good);
    expect(Object.keys(JSON.parse(f.metadata.checksums))).toHaveLength(Object.keys(f.tensors).length);
    const state = JSON.parse(f.metadata.state) as Record<string, unknown>;
    delete state.rngState;
    const noRng = join(work, 'no-rng.safetensors');
    writeFileSync(noRng, writeSafetensors(f.tensors, { ...f.metadata, state: JSON.stringify(state) }));
    const flipped = join(work, 'flipped.safetensors');
    const bytes = good.slice();
    const t = f.tensors['current.recommender.model.shared.weight'];
    bytes[t.bytes.byteOffset + 3] ^= 0x01;
    writeFileSync(flipped, bytes);
    for (const [file, pattern] of [[noRng, /no-rng\.safetensors, field state\.rngState: Checkpoint metadata: state\.rngState is not an object/], [flipped, /flipped\.safetensors, field current\.recommender\.model\.shared\.weight: .*corrupted/]] as const) {
      const dest = join(work, `resumed-${file.length}`);
      const r = cli('train', '--data', data, '--emb', join(emb, 'Toy_emb_64.npy'), '--tokenizer', join(tok, 'tokenizer.safetensors'), '--out', dest, '--checkpoint', file, '--resume', '--quiet');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr).not.toMatch(/TypeError/);
      expect(existsSync(dest)).toBe(false);
    }
  }, 120_000);

  it('refuses a tokenizer whose input width does not match the embeddings', () => {
    const wrong = join(work, 'wrong.safetensors');
    // the recommender bundle is a valid safetensors file but not a tokenizer
    const r = cli('train', '--data', data, '--emb', join(emb, 'Toy_emb_64.npy'), '--tokenizer', join(out, 'recommender.safetensors'), '--out', join(work, 'bad'), '--quiet');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/error/i);
    expect(existsSync(join(work, 'bad'))).toBe(false);
    expect(existsSync(wrong)).toBe(false);
  }, 120_000);

  it('grpo fine-tunes a bundle and writes valid_before, valid_after and test', async () => {
    // a tiny random SFT bundle over the toy items (the CLI only needs a consistent bundle)
    await tf.setBackend('cpu');
    const tokCfg: RqvaeConfig = { in_dim: 64, layers: [32], e_dim: 16, num_emb_list: [8, 8, 8], beta: 0.25, quant_loss_weight: 1, sk_epsilons: [0, 0, 0], sk_iters: 50 };
    const t5 = { num_layers: 1, num_decoder_layers: 1, d_model: 16, d_ff: 24, num_heads: 2, d_kv: 8, relative_attention_num_buckets: 32, relative_attention_max_distance: 128, layer_norm_epsilon: 1e-6, dropout_rate: 0.1 };
    const rc = { t5, code_length: 4, code_num: 8, e_dim: 16, semantic_hidden_size: 64, n_items_plus_pad: items + 1, initializer_range: 0.02 };
    const rec = new EtegrecRecommender(rc, 1);
    const tok = new Rqvae(tokCfg, 2);
    const prefix = new Int32Array(items * 3);
    for (let i = 0; i < items; i++) prefix.set([i % 8, Math.floor(i / 8) % 8, Math.floor(i / 64) % 8], i * 3);
    const files = writeBundleFiles({
      recommender: await rec.stateDict(),
      recommenderConfig: rc,
      tokenizer: await tok.params.stateDict(),
      tokenizerConfig: tokCfg,
      codes: buildCodeTable(prefix, items, { codebookSize: 8 }).codes,
      config: jointTrainConfig('quick'),
      history: [],
    });
    rec.dispose();
    tok.dispose();
    const bundle = join(work, 'sft');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(bundle);
    for (const [n, b] of Object.entries(files)) writeFileSync(join(bundle, n), b);
    const g = join(work, 'grpo');
    const r = cli('grpo', '--data', data, '--checkpoint', bundle, '--out', g, '--epochs', '1', '--batch', '128', '--group', '2', '--quiet');
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const m = JSON.parse(readFileSync(join(g, 'metrics.json'), 'utf8'));
    for (const part of [m.valid_before, m.valid_after, m.test]) {
      for (const k of METRICS) expect(part[k]).toBeGreaterThanOrEqual(0);
    }
    expect(m.history).toHaveLength(1);
    expect(Number.isFinite(m.history[0].kl)).toBe(true);
    // the best GRPO state keeps every reference key
    const st = readSafetensors(new Uint8Array(readFileSync(join(g, 'recommender.safetensors'))));
    expect(Object.keys(st.tensors).sort()).toEqual(Object.keys(readSafetensors(files['recommender.safetensors']).tensors).sort());
  }, 300_000);
});

describe('etegrec train options', () => {
  it('maps --warm-epoch and --train-limit onto the config and refuses bad values', () => {
    const { config } = trainConfigFromArgs({ preset: 'quick', 'warm-epoch': '0', 'train-limit': '300' });
    expect(config.warm_epoch).toBe(0);
    expect(config.train_limit).toBe(300);
    const dflt = trainConfigFromArgs({ preset: 'quick' }).config;
    expect(dflt.warm_epoch).toBe(2); // the quick preset's
    expect(dflt.train_limit).toBe(0);
    expect(() => trainConfigFromArgs({ 'train-limit': '-5' })).toThrow(/train-limit/);
    expect(() => trainConfigFromArgs({ 'warm-epoch': 'x' })).toThrow(/warm-epoch/);
  });

  it('maps --length-bucket and refuses 0', () => {
    expect(trainConfigFromArgs({ preset: 'quick', 'length-bucket': '7' }).config.length_bucket).toBe(7);
    expect(trainConfigFromArgs({ preset: 'quick' }).config.length_bucket).toBe(5); // the quick preset's
    expect(trainConfigFromArgs({ preset: 'paper' }).config.length_bucket).toBe(10); // the paper preset's
    expect(() => trainConfigFromArgs({ 'length-bucket': '0' })).toThrow(/length-bucket/);
  });
});
