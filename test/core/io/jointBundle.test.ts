import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { strFromU8, strToU8, unzipSync } from 'fflate';
import { StudioError } from '../../../src/core/errors.ts';
import {
  METRICS_CSV_COLUMNS,
  packJointCheckpoint,
  readJointBundle,
  readJointConfigYaml,
  unpackJointCheckpoint,
  writeBundleFiles,
  writeJointBundle,
  writeJointConfigYaml,
  writeRecommenderSafetensors,
  type JointBundleInput,
} from '../../../src/core/io/jointBundle.ts';
import { csvField, readCsv, writeCsv } from '../../../src/core/io/csv.ts';
import { readSafetensors, writeSafetensors, f32Tensor } from '../../../src/core/io/safetensors.ts';
import { yamlNumber } from '../../../src/core/io/yaml.ts';
import { EtegrecRecommender, paperRecommenderConfig, recommenderStateDictShapes, type RecommenderConfig } from '../../../src/core/models/recommender.ts';
import { RQVAE_DUAL, RQVAE_SINGLE, Rqvae, rqvaeStateDictShapes, type RqvaeConfig } from '../../../src/core/models/rqvae.ts';
import type { NamedArray } from '../../../src/core/nn/params.ts';
import { writeCodeJson } from '../../../src/core/tokenizer/codes.ts';
import { JOINT_PRESETS, jointTrainConfig } from '../../../src/core/train/jointSchedule.ts';
import type { JointCheckpoint, JointEpochRecord } from '../../../src/core/train/jointTypes.ts';

const keys = JSON.parse(readFileSync(resolve(__dirname, '../../../../shared/conformance/state-dict-keys.json'), 'utf8')) as Record<string, Record<string, (number | string)[]>>;
const fixture = (n: string) => new Uint8Array(readFileSync(resolve(__dirname, 'fixtures', n)));

const N = 6;
const tinyRec: RecommenderConfig = {
  t5: {
    num_layers: 2,
    num_decoder_layers: 2,
    d_model: 16,
    d_ff: 32,
    num_heads: 2,
    d_kv: 8,
    relative_attention_num_buckets: 32,
    relative_attention_max_distance: 128,
    layer_norm_epsilon: 1e-6,
    dropout_rate: 0.1,
  },
  code_length: 4,
  code_num: 8,
  e_dim: 4,
  semantic_hidden_size: 12,
  n_items_plus_pad: N + 1,
  initializer_range: 0.02,
};
const tinyTok: RqvaeConfig = { ...RQVAE_SINGLE, in_dim: 12, layers: [10], e_dim: 4, num_emb_list: [8, 8, 8], sk_epsilons: [0, 0, 0] };

function codeTable(n: number, k: number): Int32Array {
  const c = new Int32Array((n + 1) * 4).fill(-1, 0, 4);
  for (let i = 1; i <= n; i++) c.set([(i * 3) % k, (i * 5) % k, (i * 7) % k, i % 2], i * 4);
  return c;
}

function record(epoch: number, phase: JointEpochRecord['phase'], extra: Partial<JointEpochRecord> = {}): JointEpochRecord {
  return {
    stage: 'alternating',
    epoch,
    phase,
    weights: { vq: phase === 'tokenizer' ? 1 : 0, code: phase === 'tokenizer' ? 0 : 1, kl: 1e-4, decCl: 3e-4 },
    loss: { total: 1.5 + epoch, code: 1.25, kl: 0.01, decCl: 0.2, vq: 0.3, recon: 0.1, rq: 0.2 },
    lrRecommender: 5e-3,
    lrTokenizer: 1e-4,
    gradNormRecommender: 0.75,
    seconds: 1.5,
    samplesPerSecond: 1000,
    ...extra,
  };
}

const valid = { metrics: { 'recall@1': 0.01, 'recall@5': 0.05, 'ndcg@5': 0.03, 'recall@10': 0.08, 'ndcg@10': 0.04 }, invalidRate: 0.001, count: 100, generated: 2000 };
const history: JointEpochRecord[] = [
  record(0, 'tokenizer', { gradNormTokenizer: 0.5, codes: { collisionRate: 0.1, churn: 3, churnRate: 0.5, maxSuffix: 1, giniMean: 0.2 } }),
  record(1, 'recommender', { valid, improved: true }),
  record(2, 'tokenizer', { stage: 'finetune' }),
];

let rec: EtegrecRecommender;
let tok: Rqvae;
let input: JointBundleInput;

beforeAll(async () => {
  expect(await tf.setBackend('cpu')).toBe(true);
  rec = new EtegrecRecommender(tinyRec, 3);
  tok = new Rqvae(tinyTok, 4);
  input = {
    recommender: await rec.stateDict(),
    recommenderConfig: tinyRec,
    tokenizer: await tok.params.stateDict(),
    tokenizerConfig: tinyTok,
    codes: codeTable(N, 8),
    config: jointTrainConfig('paper', { epochs: 7, id_kl_loss: 1e-7, finetune: { lr: 2e-4 }, ablation: { psa: false } }),
    history,
    metrics: { test: valid },
    extraFiles: { 'README.txt': 'hello' },
  };
});

const sameArray = (a: NamedArray, b: NamedArray) => {
  expect(a.shape).toEqual(b.shape);
  expect(new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength)).toEqual(new Uint8Array(b.data.buffer, b.data.byteOffset, b.data.byteLength));
};

function forwardLogits(m: EtegrecRecommender): Float32Array {
  return tf.tidy(() => {
    const codes = tf.tensor2d([0, 1, 2, 1, 3, 4, 5, 0, -1, -1, -1, -1, 7, 6, 5, 1, 2, 2, 2, 0, 1, 1, 1, 1], [2, 12], 'int32');
    const labels = tf.tensor2d([1, 2, 3, 0, 4, 5, 6, 1], [2, 4], 'int32');
    const out = m.forward(codes, labels);
    return tf.concat([tf.reshape(out.logits, [-1]), tf.reshape(out.seqProject, [-1]), tf.reshape(out.decLatent, [-1])]).dataSync() as Float32Array;
  });
}

describe('joint export bundle', () => {
  it('zip holds the bundle files; recommender.safetensors has exactly the reference keys/shapes (F32) and reads back bitwise', () => {
    const zip = writeJointBundle(input);
    const entries = unzipSync(zip);
    expect(Object.keys(entries).sort()).toEqual(['README.txt', 'code.json', 'config.yaml', 'metrics.csv', 'metrics.json', 'recommender.safetensors', 'tokenizer.safetensors']);
    const st = readSafetensors(entries['recommender.safetensors']);
    const shapes = recommenderStateDictShapes(tinyRec);
    expect(Object.keys(st.tensors)).toEqual(Object.keys(shapes));
    for (const [k, s] of Object.entries(shapes)) {
      expect(st.tensors[k].shape).toEqual(s);
      expect(st.tensors[k].dtype).toBe('F32');
    }
    expect(JSON.parse(st.metadata.config)).toEqual(tinyRec);
    expect(Object.keys(readSafetensors(entries['tokenizer.safetensors']).tensors)).toEqual(Object.keys(rqvaeStateDictShapes(tinyTok)));
    expect(JSON.parse(strFromU8(entries['metrics.json']))).toEqual({ test: valid });
    expect(writeBundleFiles(input)['code.json']).toEqual(entries['code.json']);

    const back = readJointBundle(zip, { fileName: 'run.zip' });
    expect(back.recommenderConfig).toEqual(tinyRec);
    expect(back.tokenizerConfig).toEqual(tinyTok);
    expect(Object.keys(back.recommender)).toEqual(Object.keys(shapes));
    for (const k of Object.keys(shapes)) sameArray(back.recommender[k], input.recommender[k]);
    for (const k of Object.keys(input.tokenizer)) sameArray(back.tokenizer[k], input.tokenizer[k]);
    expect(back.codes).toEqual(input.codes);
    expect(back.config).toEqual(input.config);
    expect(back.report.warnings).toEqual([]);
    const total = Object.keys(shapes).length;
    expect(back.report).toMatchObject({ matched: total, expected: total, missing: [], unexpected: [], wrongShape: [], items: N });
    expect(back.report.message).toContain(`${total} of ${total} recommender tensors matched`);
  });

  it('a fresh EtegrecRecommender loaded from the parsed bundle gives the same outputs', () => {
    const back = readJointBundle(writeBundleFiles(input));
    const m = new EtegrecRecommender(back.recommenderConfig, 99);
    const before = forwardLogits(m);
    m.loadStateDict(back.recommender);
    const want = forwardLogits(rec);
    expect(forwardLogits(m)).toEqual(want);
    expect(before).not.toEqual(want);
    m.dispose();
  });

  it('paper configuration: recommender.safetensors keys and shapes equal state-dict-keys.json (single and dual); config inferred from shapes', () => {
    for (const [dim, key, tokCfg] of [
      [256, 'recommender_single_256', RQVAE_SINGLE],
      [1024, 'recommender_dual_1024', RQVAE_DUAL],
    ] as const) {
      const cfg = paperRecommenderConfig(11, dim);
      const ref = Object.fromEntries(Object.entries(keys[key]).map(([k, s]) => [k, s.map((x) => (x === 'N_PLUS_1' ? 11 : x))]));
      const zeros = (sh: Record<string, number[]>) => Object.fromEntries(Object.entries(sh).map(([k, s]) => [k, { shape: s, data: new Float32Array(s.reduce((a, b) => a * b, 1)) }]));
      const bytes = writeRecommenderSafetensors(zeros(recommenderStateDictShapes(cfg)), cfg);
      const st = readSafetensors(bytes);
      expect(Object.keys(st.tensors)).toEqual(Object.keys(ref));
      for (const [k, s] of Object.entries(ref)) expect(st.tensors[k].shape).toEqual(s);
      const files = writeBundleFiles({ ...input, recommender: zeros(recommenderStateDictShapes(cfg)), recommenderConfig: cfg, tokenizer: zeros(rqvaeStateDictShapes(tokCfg)), tokenizerConfig: tokCfg, codes: codeTable(10, 256) });
      const back = readJointBundle({ 'recommender.safetensors': bytes, 'tokenizer.safetensors': files['tokenizer.safetensors'], 'code.json': files['code.json'] });
      expect(back.recommenderConfig).toEqual(cfg);
      expect(back.report.matched).toBe(Object.keys(ref).length);
      expect(back.config).toBeUndefined();
    }
  });

  describe('refuses mismatched state dicts with "N of M matched"', () => {
    const total = () => Object.keys(recommenderStateDictShapes(tinyRec)).length;
    const withRecommender = (edit: (d: Record<string, NamedArray>) => void) => {
      const files = writeBundleFiles(input);
      const d: Record<string, NamedArray> = { ...input.recommender };
      edit(d);
      const tensors = Object.fromEntries(Object.entries(d).map(([k, a]) => [k, f32Tensor(a.data, a.shape)]));
      return { ...files, 'recommender.safetensors': writeSafetensors(tensors) };
    };
    const refused = (files: Record<string, Uint8Array>, pattern: RegExp) => {
      let err: unknown;
      try {
        readJointBundle(files);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(StudioError);
      expect((err as StudioError).info.file).toBe('recommender.safetensors');
      expect((err as StudioError).message).toMatch(pattern);
      return err as StudioError;
    };
    it('missing key', () => {
      const e = refused(withRecommender((d) => delete d['model.decoder.block.1.layer.1.EncDecAttention.k.weight']), new RegExp(`${total() - 1} of ${total()} matched.*missing \\(model\\.decoder\\.block\\.1\\.layer\\.1\\.EncDecAttention\\.k\\.weight\\)`));
      expect((e.info.details as { missing: string[] }).missing).toEqual(['model.decoder.block.1.layer.1.EncDecAttention.k.weight']);
    });
    it('wrong shape', () => {
      refused(withRecommender((d) => (d['token_embeddings.2.weight'] = { shape: [7, 16], data: new Float32Array(7 * 16) })), new RegExp(`${total() - 1} of ${total()} matched.*token_embeddings\\.2\\.weight: expected \\[8,16\\], found \\[7,16\\]`));
    });
    it('extra key', () => {
      refused(withRecommender((d) => (d['foo.weight'] = { shape: [2], data: new Float32Array(2) })), new RegExp(`${total()} of ${total()} matched; 1 unexpected \\(foo\\.weight\\)`));
    });
    it('tied alias that differs from model.shared.weight', () => {
      refused(withRecommender((d) => (d['model.lm_head.weight'] = { shape: [1, 16], data: new Float32Array(16).fill(2) })), /model\.lm_head\.weight differs from model\.shared\.weight/);
    });
  });

  it('checks code.json against the semantic table and the codebooks, and the tokenizer against the recommender', () => {
    const files = writeBundleFiles(input);
    expect(() => readJointBundle({ ...files, 'code.json': strToU8(writeCodeJson(codeTable(N - 1, 8))) })).toThrow(/code\.json: 6 code rows, but recommender\.safetensors has 7 semantic rows/);
    const big = codeTable(N, 8);
    big[3 * 4 + 1] = 8;
    expect(() => readJointBundle({ ...files, 'code.json': strToU8(writeCodeJson(big)) })).toThrow(/code\.json: Row 3 \(item 3\) position 1 has code 8, must be < 8/);
    const tok2 = new Rqvae({ ...tinyTok, num_emb_list: [8, 8] }, 1);
    return tok2.params.stateDict().then((sd) => {
      const t = writeBundleFiles({ ...input, tokenizer: sd, tokenizerConfig: { ...tinyTok, num_emb_list: [8, 8], sk_epsilons: [0, 0] } })['tokenizer.safetensors'];
      expect(() => readJointBundle({ ...files, 'tokenizer.safetensors': t })).toThrow(/tokenizer\.safetensors: The tokenizer has 2 codebooks, the recommender's code_length 4 needs 3/);
      tok2.dispose();
      expect(() => readJointBundle({ 'code.json': files['code.json'], 'tokenizer.safetensors': files['tokenizer.safetensors'] })).toThrow(/No recommender file: expected recommender\.safetensors or \.\+\.pt/);
      expect(() => readJointBundle(new Uint8Array([1, 2, 3]), { fileName: 'x.zip' })).toThrow(/x\.zip: Cannot read the zip archive/);
    });
  });

  it('imports reference checkpoint files: <epoch>.pt (module. prefixes, tied storages), <epoch>.pt.rqvae, <epoch>.code.json', () => {
    const expected = JSON.parse(strFromU8(fixture('tiny_recommender_expected.json'))) as Record<string, { shape: number[]; values: number[] }>;
    const codes = new Int32Array(5 * 4).fill(-1, 0, 4);
    for (let i = 1; i < 5; i++) codes.set([i % 5, (i + 1) % 5, (i + 2) % 5, 0], i * 4);
    const back = readJointBundle({ '12.pt': fixture('tiny_recommender.pt'), '12.pt.rqvae': fixture('tiny_rqvae_state_dict.pth'), '12.code.json': strToU8(writeCodeJson(codes)) });
    expect(back.report.files).toEqual({ recommender: '12.pt', tokenizer: '12.pt.rqvae', codes: '12.code.json' });
    expect(back.recommenderConfig).toMatchObject({ code_length: 4, code_num: 5, e_dim: 3, semantic_hidden_size: 4, n_items_plus_pad: 5 });
    expect(back.recommenderConfig.t5).toMatchObject({ num_layers: 1, num_decoder_layers: 1, d_model: 8, d_ff: 16, num_heads: 2, d_kv: 4, relative_attention_num_buckets: 32 });
    expect(Object.keys(back.recommender)).toEqual(Object.keys(expected));
    for (const [k, e] of Object.entries(expected)) {
      expect(back.recommender[k].shape).toEqual(e.shape);
      expect(Array.from(back.recommender[k].data)).toEqual(e.values);
    }
    expect(back.tokenizerConfig).toMatchObject({ in_dim: 4, layers: [6], e_dim: 3, num_emb_list: [5, 5, 5] });
    expect(back.codes).toEqual(codes);
    const m = new EtegrecRecommender(back.recommenderConfig, 1);
    m.loadStateDict(back.recommender);
    m.dispose();
  });

  it('config.yaml is flat reference-style key: value lines with the expected values', () => {
    const text = strFromU8(writeBundleFiles(input)['config.yaml']);
    const kv: Record<string, string> = {};
    for (const line of text.split('\n')) {
      if (!line || line.startsWith('#')) continue;
      const m = /^([A-Za-z_][\w.@]*): (.+)$/.exec(line);
      expect(m, line).not.toBeNull();
      kv[m![1]] = m![2];
    }
    expect(kv).toMatchObject({
      epochs: '7', cycle: '2', warm_epoch: '10', lr_rec: '0.005', lr_id: '0.0001', id_vq_loss: '1', id_code_loss: '0',
      id_kl_loss: '1.0e-7', id_dec_cl_loss: '0.0003', rec_code_loss: '1', batch_size: '512', num_beams: '20', lr_scheduler_type: 'cosine',
      'ablation.psa': 'false', 'ablation.sia': 'true', 'finetune.lr': '0.0002', 'finetune.weights.code': '1',
      d_model: '16', num_layers: '2', num_decoder_layers: '2', d_ff: '32', num_heads: '2', d_kv: '8', code_num: '8', code_length: '4',
      e_dim: '4', semantic_hidden_size: '12', n_items: '6', 'rqvae.layers': '[10]', 'rqvae.num_emb_list': '[8, 8, 8]',
    });
    expect([yamlNumber(1e-7), yamlNumber(2.5e-10), yamlNumber(1e21), yamlNumber(0.5), yamlNumber(NaN)]).toEqual(['1.0e-7', '2.5e-10', '1.0e+21', '0.5', '.nan']);
  });

  it('metrics.csv: header, one row per epoch record, RFC 4180 quoting', () => {
    const text = strFromU8(writeBundleFiles(input)['metrics.csv']);
    const rows = readCsv(text);
    expect(rows[0]).toEqual(METRICS_CSV_COLUMNS);
    expect(rows.length).toBe(history.length + 1);
    const row = (i: number) => Object.fromEntries(METRICS_CSV_COLUMNS.map((c, j) => [c, rows[i][j]]));
    expect(row(1)).toMatchObject({ stage: 'alternating', epoch: '0', phase: 'tokenizer', collision_rate: '0.1', lr_id: '0.0001', 'valid_ndcg@10': '' });
    expect(row(2)).toMatchObject({ phase: 'recommender', 'valid_ndcg@10': '0.04', improved: 'true', grad_norm_id: '' });
    expect(row(3).stage).toBe('finetune');
    expect(csvField('a,"b"')).toBe('"a,""b"""');
    expect(csvField('line\nbreak')).toBe('"line\nbreak"');
    const tricky = writeCsv(['x', 'y'], [['a,"b"', 'c\r\nd'], [1.5, null]]);
    expect(tricky).toBe('x,y\r\n"a,""b""","c\r\nd"\r\n1.5,\r\n');
    expect(readCsv(tricky)).toEqual([['x', 'y'], ['a,"b"', 'c\r\nd'], ['1.5', '']]);
  });
});

describe('joint checkpoint pack/unpack', () => {
  const ckpt = (): JointCheckpoint => ({
    format: 'etegrec-joint-checkpoint',
    version: 1,
    config: input.config,
    recommenderConfig: tinyRec,
    tokenizerConfig: tinyTok,
    stage: 'finetune',
    nextEpoch: 3,
    finished: false,
    current: { recommender: input.recommender, tokenizer: input.tokenizer, codes: input.codes },
    optimizer: {
      recommender: { step: 17, m: [Float32Array.from([1, -0, NaN, 3e-38]), new Float32Array(0)], v: [Float32Array.from([0.5, 2, Infinity, 1e-45]), new Float32Array(0)] },
      tokenizer: { step: 0, m: [], v: [] },
    },
    schedulerSteps: { recommender: 17, tokenizer: 8 },
    rngState: { shuffle: 123456789, dropout: 4294967295 },
    early: { best: 0.04, bad: 2, bestEpoch: 1 },
    best: { recommender: input.recommender, tokenizer: input.tokenizer, codes: codeTable(N, 5), epoch: 1, stage: 'alternating', valid },
    history: [...history, record(3, 'joint', { loss: { total: NaN, code: -0, kl: Infinity, decCl: -Infinity, vq: 0.1 + 0.2, recon: 1e-310, rq: 0 } })],
    testBeforeFinetune: valid,
  });

  it('round trip is exact (bitwise arrays, NaN/−0/∞ in the history)', () => {
    const c = ckpt();
    const bytes = packJointCheckpoint(c);
    const back = unpackJointCheckpoint(bytes, 'ckpt.safetensors');
    expect(back).toEqual(c);
    expect(Object.keys(back)).toEqual(expect.arrayContaining(Object.keys(c)));
    for (const k of Object.keys(c.current.recommender)) sameArray(back.current.recommender[k], c.current.recommender[k]);
    for (const k of Object.keys(c.best!.tokenizer)) sameArray(back.best!.tokenizer[k], c.best!.tokenizer[k]);
    const m = back.optimizer.recommender.m[0];
    expect(new Uint8Array(m.buffer)).toEqual(new Uint8Array(c.optimizer.recommender.m[0].buffer));
    expect(Object.is(back.history[3].loss.code, -0)).toBe(true);
    expect(back.history[3].loss.total).toBeNaN();
    expect(back.history[3].loss.recon).toBe(1e-310);
    expect(back.best!.codes).toEqual(c.best!.codes);
    expect(back.test).toBeUndefined();
    const names = Object.keys(readSafetensors(bytes).tensors);
    expect(names).toContain('current.recommender.model.shared.weight');
    expect(names).toContain('current.codes');
    expect(names).toContain('best.tokenizer.rq.vq_layers.2.embedding.weight');
    expect(names).toContain('optimizer.recommender.v.1');
    // modifying the unpacked arrays does not touch the file
    back.current.codes[4] = 99;
    expect(unpackJointCheckpoint(bytes).current.codes[4]).toBe(c.current.codes[4]);
    const noBest = unpackJointCheckpoint(packJointCheckpoint({ ...c, best: null }));
    expect(noBest.best).toBeNull();
  });

  it('wrong or corrupted files give clear errors', () => {
    const bytes = packJointCheckpoint(ckpt());
    expect(() => unpackJointCheckpoint(writeBundleFiles(input)['recommender.safetensors'], 'rec.safetensors')).toThrow(
      /rec\.safetensors, field __metadata__\.format: Not an ETEGRec joint checkpoint \(expected etegrec-joint-checkpoint, found pt\)/,
    );
    expect(() => unpackJointCheckpoint(bytes.subarray(0, bytes.length - 10), 'c.st')).toThrow(/c\.st.*safetensors: .*ends beyond the end of the file/);
    expect(() => unpackJointCheckpoint(new Uint8Array([1, 2, 3]), 'c.st')).toThrow(StudioError);
    const f = readSafetensors(bytes);
    const v2 = writeSafetensors(f.tensors, { ...f.metadata, version: '2' });
    expect(() => unpackJointCheckpoint(v2, 'c.st')).toThrow(/Unsupported joint checkpoint version \(expected 1, found 2\)/);
    const { ['optimizer.recommender.v.1']: _gone, ...fewer } = f.tensors;
    expect(() => unpackJointCheckpoint(writeSafetensors(fewer, f.metadata), 'c.st')).toThrow(/Checkpoint tensor optimizer\.recommender\.v\.1 is missing/);
    expect(() => unpackJointCheckpoint(writeSafetensors(f.tensors, { ...f.metadata, state: '{oops' }), 'c.st')).toThrow(/metadata is not valid JSON/);
  });
});

describe('config.yaml against the joint declaration', () => {
  const rc = { t5: { ...JOINT_PRESETS.quick.values.t5 }, code_length: 4, code_num: 256, e_dim: 128, semantic_hidden_size: 64, n_items_plus_pad: 901, initializer_range: 0.02 };
  const tc = { in_dim: 64, layers: [512, 256], e_dim: 128, num_emb_list: [256, 256, 256], beta: 0.25, quant_loss_weight: 1, sk_epsilons: [0, 0, 0], sk_iters: 50 };
  it('round-trips a preset and refuses NaN, infinities and out-of-range values by field', () => {
    const text = writeJointConfigYaml(JOINT_PRESETS.converge.values, rc, tc);
    expect(readJointConfigYaml(text).config).toEqual(JOINT_PRESETS.converge.values);
    const cases: [RegExp, string, string][] = [
      [/^lr_rec: .*$/m, 'lr_rec: .nan', 'lr_rec'],
      [/^lr_id: .*$/m, 'lr_id: .inf', 'lr_id'],
      [/^num_beams: .*$/m, 'num_beams: 0', 'num_beams'],
      [/^t5\.d_model: .*$/m, 't5.d_model: 100000', 't5.d_model'],
      [/^cycle: .*$/m, 'cycle: 3', 'eval_step'],
    ];
    for (const [line, repl, field] of cases) {
      let err: unknown;
      try {
        readJointConfigYaml(text.replace(line, repl));
      } catch (e) {
        err = e;
      }
      expect(err, repl).toBeInstanceOf(StudioError);
      expect((err as StudioError).info.field, repl).toBe(field);
      expect((err as StudioError).info.file).toBe('config.yaml');
    }
  });
});
