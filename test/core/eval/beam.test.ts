import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { npyToInt32, parseNpy } from '../../../src/core/io/npy.ts';
import { CodeTrie, beamSearch, topKDescending } from '../../../src/core/eval/beam.ts';
import { EtegrecRecommender, type RecommenderConfig } from '../../../src/core/models/recommender.ts';
import type { NamedArray } from '../../../src/core/nn/params.ts';
import { Rng } from '../../../src/core/rng.ts';

const root = resolve(__dirname, '../../../../shared/conformance');
const dir = `${root}/pytorch/t5`;
const manifest = JSON.parse(readFileSync(`${dir}/manifest.json`, 'utf8')) as Record<string, unknown> & { config: Record<string, number> };
const npy = (p: string) => parseNpy(new Uint8Array(readFileSync(`${dir}/${p}.npy`)));
const f32 = (p: string) => Float32Array.from(npy(p).data as Float32Array);
const i32 = (p: string) => npyToInt32(npy(p));
const shapeOf = (p: string) => (manifest[p] as { shape: number[] }).shape;

function tinyConfig(): RecommenderConfig {
  const c = manifest.config;
  return {
    t5: {
      num_layers: c.encoder_layers,
      num_decoder_layers: c.decoder_layers,
      d_model: c.d_model,
      d_ff: c.d_ff,
      num_heads: c.num_heads,
      d_kv: c.d_kv,
      relative_attention_num_buckets: c.relative_attention_num_buckets,
      relative_attention_max_distance: c.relative_attention_max_distance,
      layer_norm_epsilon: c.layer_norm_epsilon,
      dropout_rate: c.dropout_rate,
    },
    code_length: c.code_length,
    code_num: c.code_num,
    e_dim: c.e_dim,
    semantic_hidden_size: c.semantic_hidden_size,
    n_items_plus_pad: c.n_items_plus_pad,
    initializer_range: 0.02,
  };
}

const codesArr = i32('input_codes');
const [B, LC] = shapeOf('input_codes');

/** Exhaustive log-probabilities of all K⁴ sequences for one sample, by teacher forcing. */
async function exhaustive(model: EtegrecRecommender, hist: Int32Array): Promise<Float64Array> {
  const K = model.config.code_num;
  const n = K ** 4;
  const labels = new Int32Array(n * 4);
  for (let s = 0; s < n; s++) for (let t = 0; t < 4; t++) labels[s * 4 + t] = Math.floor(s / K ** (3 - t)) % K;
  const lpT = tf.tidy(() => {
    const codes = tf.tile(tf.tensor2d(hist, [1, hist.length], 'int32'), [n, 1]) as tf.Tensor2D;
    const lab = tf.tensor2d(labels, [n, 4], 'int32');
    const o = model.forward(codes, lab);
    return tf.logSoftmax(o.logits);
  });
  const lp = (await lpT.data()) as Float32Array;
  lpT.dispose();
  const out = new Float64Array(n);
  for (let s = 0; s < n; s++) for (let t = 0; t < 4; t++) out[s] += lp[(s * 4 + t) * K + labels[s * 4 + t]];
  return out;
}

describe('topKDescending', () => {
  it('sorted descending, ties by lower index', () => {
    expect(topKDescending([1, 3, 3, -Infinity, 2], 4)).toEqual([1, 2, 4, 0]);
  });
  it('equals a full stable sort on random values with ties and -Infinity, for every k', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let trial = 0; trial < 50; trial++) {
      const n = 1 + Math.floor(rand() * 60);
      const values = Array.from({ length: n }, () => (rand() < 0.2 ? -Infinity : Math.floor(rand() * 8)));
      const sorted = values.map((_, i) => i).sort((a, b) => (values[b] === values[a] ? a - b : values[b] > values[a] ? 1 : -1));
      for (const k of [0, 1, 3, n, n + 5]) expect(topKDescending(values, k)).toEqual(sorted.slice(0, Math.min(k, n)));
    }
  });
});

describe.each(['cpu', 'wasm'])('beam search (%s)', (backend) => {
  let model: EtegrecRecommender;
  beforeAll(async () => {
    expect(await tf.setBackend(backend)).toBe(true);
    model = new EtegrecRecommender(tinyConfig(), 0);
    const dict: Record<string, NamedArray> = {};
    for (const k of manifest.state_dict_keys as string[]) dict[k] = { shape: shapeOf(`params/${k}`), data: f32(`params/${k}`) };
    model.loadStateDict(dict);
  });
  afterAll(() => model.dispose());

  it('equals the reference beam_sequences / beam_scores (5 beams, return 3); no tensors leak', async () => {
    const codes = tf.tensor2d(codesArr, [B, LC], 'int32');
    const before = tf.memory().numTensors;
    const res = await beamSearch(model, codes, { beams: 5, returnCount: 3 });
    expect(tf.memory().numTensors).toBe(before);
    codes.dispose();
    expect(Array.from(res.sequences)).toEqual(Array.from(i32('beam_sequences')));
    const want = f32('beam_scores');
    let err = 0;
    for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(res.scores[i] - want[i]) / Math.abs(want[i]));
    console.log(backend, 'beam score max rel error', err);
    expect(err).toBeLessThan(1e-5);
  });

  it('equals exhaustive search when beams = K³ (K = 4: 256 sequences); trie constraint keeps real codes only', async () => {
    const cfg = { ...tinyConfig(), code_num: 4, initializer_range: 0.5 };
    const m = new EtegrecRecommender(cfg, 11);
    const rng = new Rng(3);
    const Lh = 5;
    const hists: Int32Array[] = [];
    for (let s = 0; s < 2; s++) {
      const h = new Int32Array(Lh * 4).fill(-1);
      for (let i = 0; i < (s === 0 ? Lh : 2) * 4; i++) h[i] = rng.int(4);
      hists.push(h);
    }
    const codes = tf.tensor2d(Int32Array.from([...hists[0], ...hists[1]]), [2, Lh * 4], 'int32');
    const R = 10;
    const res = await beamSearch(m, codes, { beams: 64, returnCount: R });
    // a table of 6 real items for the constrained run
    const table = new Int32Array([-1, -1, -1, -1, 0, 1, 2, 3, 0, 1, 2, 0, 0, 1, 3, 3, 3, 3, 3, 3, 2, 0, 1, 1, 1, 1, 1, 1]);
    const trie = new CodeTrie(table, 4, 4);
    const con = await beamSearch(m, codes, { beams: 6, returnCount: 6, constraint: trie });
    codes.dispose();
    for (let s = 0; s < 2; s++) {
      const all = await exhaustive(m, hists[s]);
      const order = topKDescending(all, R);
      const seqs = order.map((i) => [3, 2, 1, 0].map((p) => Math.floor(i / 4 ** p) % 4));
      expect(Array.from(res.sequences.subarray(s * R * 4, (s + 1) * R * 4))).toEqual(seqs.flat());
      for (let r = 0; r < R; r++) expect(res.scores[s * R + r]).toBeCloseTo(all[order[r]], 4);
      // constrained: exactly the 6 items, ordered by their exhaustive scores
      const items = [];
      for (let i = 1; i < 7; i++) {
        const c = Array.from(table.subarray(i * 4, i * 4 + 4));
        items.push({ c, score: all[((c[0] * 4 + c[1]) * 4 + c[2]) * 4 + c[3]] });
      }
      items.sort((a, b) => b.score - a.score);
      expect(Array.from(con.sequences.subarray(s * 24, (s + 1) * 24))).toEqual(items.flatMap((x) => x.c));
      for (let r = 0; r < 6; r++) expect(con.scores[s * 6 + r]).toBeCloseTo(items[r].score, 4);
    }
    m.dispose();
  });
});
