// The "continue on the reference trainer" layout checked with PyTorch, where /usr/bin/python3 has
// torch (Debian python3-torch; .ci/run installs it): every exported .pt/.pth loads with
// torch.load(weights_only=True) and load_state_dict(strict=True) into the reference's modules built
// from the exported YAML's keys (reference_torch_check.py), and an evaluation in Python on a few
// test users — the reference's beam search and Recall/NDCG — gives the studio's scores.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { strToU8 } from 'fflate';
import { evaluateGenerative } from '../../../src/core/eval/evaluateGenerative.ts';
import { referenceLayoutFiles, type ReferenceLayoutInput } from '../../../src/core/io/referenceLayout.ts';
import { readFlatYaml } from '../../../src/core/io/yaml.ts';
import { EtegrecRecommender, SEMANTIC, type RecommenderConfig } from '../../../src/core/models/recommender.ts';
import { RQVAE_SINGLE, Rqvae, type RqvaeConfig } from '../../../src/core/models/rqvae.ts';
import { jointTrainConfig } from '../../../src/core/train/jointSchedule.ts';
import type { JointSamples } from '../../../src/core/train/jointTypes.ts';
import type { JointTrainConfig } from '../../../src/core/train/jointSchedule.ts';
import type { NamedArray } from '../../../src/core/nn/params.ts';
import { readReferenceRun } from '../../../src/core/io/referenceLayout.ts';
import { readTokenizerFile } from '../../../src/cli/tokenizerFile.ts';

const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch, yaml, numpy'], { stdio: 'ignore' }).status === 0;
const SCRIPT = resolve(__dirname, 'reference_torch_check.py');
const work = mkdtempSync(join(tmpdir(), 'etegrec-reftorch-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const HIST_ITEMS = 8;
const USERS = 8;
const N = HIST_ITEMS + USERS; // items 1..8 appear in histories, item 8+u is user u's target only
const BEAMS = 6;
const RETURN = 5;
const rc: RecommenderConfig = {
  t5: { num_layers: 2, num_decoder_layers: 2, d_model: 16, d_ff: 24, num_heads: 2, d_kv: 6, relative_attention_num_buckets: 32, relative_attention_max_distance: 128, layer_norm_epsilon: 1e-6, dropout_rate: 0.1 },
  code_length: 4,
  code_num: 8,
  e_dim: 4,
  semantic_hidden_size: 10,
  n_items_plus_pad: N + 1,
  // wide weights: well-separated logits, so the beams do not hinge on float rounding
  initializer_range: 0.3,
};
const tc: RqvaeConfig = { ...RQVAE_SINGLE, in_dim: 10, layers: [12, 6], e_dim: 4, num_emb_list: [8, 8, 8], sk_epsilons: [0, 0, 0] };
const histories = Array.from({ length: USERS }, (_, u) => Array.from({ length: 2 + (u % 3) }, (_, j) => 1 + ((u * 3 + j * 5) % HIST_ITEMS)));
/** The rank at which each user's target code is planted among its generated codes (0 = a miss). */
const PLANT = [1, 2, 3, 5, 0, 4, 1, 2];

interface Checked {
  config_types: Record<string, string>;
  strict: Record<string, { missing: string[]; unexpected: string[]; n: number }>;
  tied: boolean;
  npy_shape: number[];
  npy_equals_table: boolean;
  rq_codes: number[][];
  logits: number[];
  z_e: number[];
  h_d: number[];
  beams: { codes: number[][]; scores: number[] }[];
  ranks: (number | null)[];
  metrics: Record<string, number>;
}

let checked: Checked;
let studio: { state: Record<string, NamedArray>; tokState: Record<string, NamedArray>; codes: Int32Array; config: JointTrainConfig; metrics: Record<string, number>; generated: number[][][]; scores: number[][]; logits: Float32Array; zE: Float32Array; hD: Float32Array; rqCodes: number[][]; yamlValues: Record<string, unknown> };

function samplesOf(): JointSamples {
  const L = 5;
  const h = new Int32Array(USERS * L);
  histories.forEach((items, u) => h.set(items, u * L));
  return { count: USERS, L, histories: h, lens: Int32Array.from(histories.map((x) => x.length)), targets: Int32Array.from({ length: USERS }, (_, u) => HIST_ITEMS + 1 + u) };
}

beforeAll(async () => {
  if (!hasTorch) return;
  await tf.setBackend('cpu');
  const rec = new EtegrecRecommender(rc, 11);
  const tok = new Rqvae(tc, 5);
  const samples = samplesOf();
  // history items: distinct codes; targets provisional (they are never encoder input)
  const codes = new Int32Array((N + 1) * 4).fill(-1, 0, 4);
  for (let i = 1; i <= N; i++) codes.set([i % 8, (i * 3) % 8, (i * 5 + 1) % 8, i > HIST_ITEMS ? 1 : 0], i * 4);
  const opts = { beams: BEAMS, returnCount: RETURN, batchSize: 3, lengthBucket: 2 };
  const generated: number[][][] = [];
  await evaluateGenerative(rec, codes, samples, {
    ...opts,
    onGenerated: (rows, gen) => rows.forEach((r, i) => (generated[r] = Array.from({ length: RETURN }, (_, k) => Array.from(gen.subarray((i * RETURN + k) * 4, (i * RETURN + k + 1) * 4))))),
  });
  // plant each target's code at the chosen rank of its user's list (unique across items)
  const key = (c: ArrayLike<number>) => Array.from(c).join(',');
  const taken = new Set(Array.from({ length: HIST_ITEMS }, (_, i) => key(codes.subarray((i + 1) * 4, (i + 2) * 4))));
  for (let u = 0; u < USERS; u++) {
    const t = HIST_ITEMS + 1 + u;
    let code: number[] | undefined;
    for (let r = PLANT[u]; r >= 1 && r <= RETURN && !code; r++) if (!taken.has(key(generated[u][r - 1]))) code = generated[u][r - 1];
    if (!code) for (let s = 0; s < 8 && !code; s++) { const c = [7, 7, 7, s]; if (!taken.has(key(c)) && !generated.some((g) => g.some((x) => key(x) === key(c)))) code = c; }
    codes.set(code!, t * 4);
    taken.add(key(code!));
  }
  const scores: number[][] = [];
  const final: number[][][] = [];
  const result = await evaluateGenerative(rec, codes, samples, {
    ...opts,
    onGenerated: (rows, gen) => rows.forEach((r, i) => (final[r] = Array.from({ length: RETURN }, (_, k) => Array.from(gen.subarray((i * RETURN + k) * 4, (i * RETURN + k + 1) * 4))))),
  });
  // the beam scores straight from the beam search, for the same users one at a time
  const { beamSearch } = await import('../../../src/core/eval/beam.ts');
  for (let u = 0; u < USERS; u++) {
    const flat = histories[u].flatMap((i) => Array.from(codes.subarray(i * 4, i * 4 + 4)));
    const t = tf.tensor2d(flat, [1, flat.length], 'int32');
    const b = await beamSearch(rec, t, { beams: BEAMS, returnCount: RETURN });
    t.dispose();
    scores.push(Array.from(b.scores));
  }
  // teacher-forced forward on two samples, the second padded (−1 codes are masked)
  const teacherCodes = [...histories[0].slice(0, 2), ...histories[1].slice(0, 2)].map((i) => Array.from(codes.subarray(i * 4, i * 4 + 4)));
  const tcodes = [[...teacherCodes[0], ...teacherCodes[1]], [...teacherCodes[2], -1, -1, -1, -1]];
  const labels = [Array.from(codes.subarray((HIST_ITEMS + 1) * 4, (HIST_ITEMS + 2) * 4)), Array.from(codes.subarray((HIST_ITEMS + 2) * 4, (HIST_ITEMS + 3) * 4))];
  const fwd = tf.tidy(() => {
    const o = rec.forward(tf.tensor2d(tcodes, undefined, 'int32'), tf.tensor2d(labels, undefined, 'int32'));
    return [o.logits.dataSync().slice(), o.seqProject.dataSync().slice(), o.decLatent.dataSync().slice()] as Float32Array[];
  });
  const state = await rec.stateDict();
  const S = state[SEMANTIC].data.slice(rc.semantic_hidden_size);
  const rq = tf.tidy(() => tok.codes(tf.tensor2d(S, [N, rc.semantic_hidden_size])).arraySync() as number[][]);

  const map: Record<string, number> = { '[PAD]': 0 };
  for (let i = 1; i <= N; i++) map[`B${String(i).padStart(3, '0')}`] = i;
  const line = (u: number, target: number, hist: number[]) => JSON.stringify({ user_id: `u${u}`, target_id: `B${String(target).padStart(3, '0')}`, inter_history: hist.map((i) => `B${String(i).padStart(3, '0')}`) });
  const test = histories.map((h, u) => line(u, HIST_ITEMS + 1 + u, h)).join('\n') + '\n';
  const input: ReferenceLayoutInput = {
    name: 'Tiny', run: 'studio-torch', epoch: 3,
    datasetFiles: [
      { name: 'x.train.jsonl', bytes: strToU8(test) }, { name: 'x.valid.jsonl', bytes: strToU8(test) }, { name: 'x.test.jsonl', bytes: strToU8(test) },
      { name: 'x.emb_map.json', bytes: strToU8(JSON.stringify(map)) },
    ],
    recommender: state, recommenderConfig: rc, tokenizer: await tok.params.stateDict(), tokenizerConfig: tc, codes,
    config: jointTrainConfig('quick', { t5: rc.t5, num_beams: BEAMS, return_beams: RETURN, id_kl_loss: 1e-7, lr_rec: 3e-3 }), gpus: 2,
  };
  const files = referenceLayoutFiles(input);
  for (const f of files) {
    mkdirSync(dirname(join(work, f.path)), { recursive: true });
    writeFileSync(join(work, f.path), f.bytes);
  }
  const spec = {
    config: 'config/Tiny.yaml', pt: 'myckpt/Tiny/studio-torch/3.pt', rqvae_pt: 'myckpt/Tiny/studio-torch/3.pt.rqvae',
    pth: 'RQVAE/rqvae_ckpt/Tiny/studio-torch/best_collision_model.pth', code_json: 'myckpt/Tiny/studio-torch/3.code.json',
    emb_map: 'RecBole/dataset/Tiny/Tiny.emb_map.json', npy: 'RecBole/dataset/Tiny/Tiny_emb_10.npy', return_beams: RETURN,
    users: histories.map((h, u) => ({ history: h, target: HIST_ITEMS + 1 + u })),
    teacher: { codes: tcodes, labels },
    resave: 'myckpt/Tiny/Dec-03-2026_09-00-abcdef',
  };
  writeFileSync(join(work, 'spec.json'), JSON.stringify(spec));
  const r = spawnSync(PYTHON, [SCRIPT, work, join(work, 'spec.json')], { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 120_000 });
  if (r.status !== 0) throw new Error(`reference_torch_check.py failed:\n${r.stderr}`);
  checked = JSON.parse(r.stdout) as Checked;
  studio = {
    metrics: result.metrics as Record<string, number>, generated: final, scores, logits: fwd[0], zE: fwd[1], hD: fwd[2], rqCodes: rq,
    yamlValues: readFlatYaml(new TextDecoder().decode(files.find((f) => f.path === 'config/Tiny.yaml')!.bytes)),
    state, tokState: input.tokenizer, codes, config: input.config,
  };
  rec.dispose();
  tok.dispose();
}, 180_000);

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number) => {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  expect(worst).toBeLessThan(tol);
};

describe.skipIf(!hasTorch)(`reference layout × PyTorch (${hasTorch ? 'python3 has torch' : 'SKIPPED: /usr/bin/python3 cannot import torch; apt-get install -y python3-torch libopenblas0-pthread'})`, () => {
  it('PyYAML reads every config key with the studio\'s type (floats as floats, never strings)', () => {
    for (const [k, v] of Object.entries(studio.yamlValues)) {
      const want = typeof v === 'boolean' ? 'bool' : typeof v === 'string' ? 'str' : Array.isArray(v) ? 'list' : Number.isInteger(v) ? ['int', 'float'] : 'float';
      if (Array.isArray(want)) expect(want, k).toContain(checked.config_types[k]);
      else expect(checked.config_types[k], k).toBe(want);
    }
    expect(checked.config_types.id_kl_loss).toBe('float');
    expect(checked.config_types.lr_rec).toBe('float');
  });

  it('torch.load(weights_only=True) + load_state_dict(strict=True): the .pt, .pt.rqvae and .pth into the reference modules', () => {
    for (const k of ['pt', 'rqvae_pt', 'pth']) expect(checked.strict[k], k).toMatchObject({ missing: [], unexpected: [] });
    expect(checked.strict.pt.n).toBeGreaterThan(30);
    expect(checked.tied).toBe(true);
    expect(checked.npy_shape).toEqual([N, rc.semantic_hidden_size]);
    expect(checked.npy_equals_table).toBe(true);
  });

  it('the tokenizer codes the semantic table as in the studio', () => {
    expect(checked.rq_codes).toEqual(studio.rqCodes);
  });

  it('the teacher-forced forward (logits, z_E, h_D) agrees with the studio\'s', () => {
    close(checked.logits, studio.logits, 1e-4);
    close(checked.z_e, studio.zE, 1e-4);
    close(checked.h_d, studio.hD, 1e-4);
  });

  it('the reference beam search on the test users gives the studio\'s lists, scores and Recall/NDCG', () => {
    expect(checked.beams.map((b) => b.codes)).toEqual(studio.generated);
    checked.beams.forEach((b, u) => close(b.scores, studio.scores[u], 1e-4));
    expect(checked.metrics).toEqual(Object.fromEntries(Object.keys(checked.metrics).map((k) => [k, studio.metrics[k]])));
    // the planted ranks, so the scores are not all zero
    expect(checked.ranks.filter((r) => r !== null).length).toBeGreaterThanOrEqual(5);
    expect(checked.metrics['recall@5']).toBeGreaterThan(0);
  });

  it('the files the reference itself writes (torch.save, pickle protocol 4 for the RQ-VAE) read back into the studio unchanged', () => {
    const dir = join(work, 'myckpt/Tiny/Dec-03-2026_09-00-abcdef');
    const files = Object.fromEntries(readdirSync(dir).map((n) => [n, new Uint8Array(readFileSync(join(dir, n)))]));
    const r = readReferenceRun(files, { fileName: dir });
    expect(r.epoch).toBe(9);
    expect(r.report.message).toMatch(/^(\d+) of \1 recommender tensors matched; (\d+) of \2 tokenizer tensors matched; 16 items$/);
    expect(r.config).toEqual(studio.config);
    expect(Array.from(r.codes)).toEqual(Array.from(studio.codes));
    for (const [k, a] of Object.entries(studio.state)) expect(Array.from(r.recommender[k].data), k).toEqual(Array.from(a.data));
    for (const [k, a] of Object.entries(studio.tokState)) expect(Array.from(r.tokenizer[k].data), k).toEqual(Array.from(a.data));
    const best = readTokenizerFile(files['best_collision_0.0100_gini_0.0200.pth'], 'best_collision_0.0100_gini_0.0200.pth');
    expect(best.config.layers).toEqual(tc.layers);
    for (const [k, a] of Object.entries(studio.tokState)) expect(Array.from(best.state[k].data), k).toEqual(Array.from(a.data));
  });
});
