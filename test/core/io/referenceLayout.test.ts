import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { strFromU8, strToU8, unzipSync } from 'fflate';
import { parseNpy } from '../../../src/core/io/npy.ts';
import { pthStateDict, readPth } from '../../../src/core/io/pth.ts';
import {
  readCheckpointFiles,
  readReferenceConfigYaml,
  readReferenceRun,
  referenceLayoutFiles,
  referenceLayoutZip,
  REFERENCE_CONFIG_KEYS,
  type ReferenceLayoutInput,
} from '../../../src/core/io/referenceLayout.ts';
import { listZip } from '../../../src/core/io/zip.ts';
import { readFlatYaml } from '../../../src/core/io/yaml.ts';
import { EtegrecRecommender, recommenderStateDictShapes, SEMANTIC, SHARED, type RecommenderConfig } from '../../../src/core/models/recommender.ts';
import { RQVAE_SINGLE, Rqvae, rqvaeStateDictShapes, type RqvaeConfig } from '../../../src/core/models/rqvae.ts';
import { jointTrainConfig } from '../../../src/core/train/jointSchedule.ts';

const N = 6;
const tinyRec: RecommenderConfig = {
  t5: { num_layers: 2, num_decoder_layers: 1, d_model: 16, d_ff: 32, num_heads: 2, d_kv: 8, relative_attention_num_buckets: 32, relative_attention_max_distance: 128, layer_norm_epsilon: 1e-6, dropout_rate: 0.1 },
  code_length: 4,
  code_num: 8,
  e_dim: 4,
  semantic_hidden_size: 12,
  n_items_plus_pad: N + 1,
  initializer_range: 0.02,
};
const tinyTok: RqvaeConfig = { ...RQVAE_SINGLE, in_dim: 12, layers: [10], e_dim: 4, num_emb_list: [8, 8, 8], sk_epsilons: [0, 0, 0] };

/** The keys the reference's main.py / trainer.py / vq.py read (spec §7; its config/Instrument2014.yaml). */
const REFERENCE_KEYS = [
  'dataset', 'seed', 'reproducibility', 'log_dir', 'map_path', 'data_path', 'semantic_emb_path', 'semantic_hidden_size', 'code_num', 'code_length',
  'epochs', 'lr_rec', 'lr_id', 'weight_decay', 'id_vq_loss', 'id_code_loss', 'id_kl_loss', 'id_dec_cl_loss', 'rec_vq_loss', 'rec_code_loss', 'rec_kl_loss', 'rec_dec_cl_loss',
  'cycle', 'sim', 'warmup_steps', 'batch_size', 'eval_batch_size', 'num_workers', 'eval_step', 'learner', 'lr_scheduler_type', 'gradient_accumulation_steps',
  'max_his_len', 'early_stop', 'metrics', 'valid_metric', 'max_length', 'encoder_layers', 'decoder_layers', 'd_model', 'd_ff', 'num_heads', 'd_kv', 'dropout_rate',
  'activation_function', 'feed_forward_proj', 'num_beams', 'alpha', 'warm_epoch', 'rqvae_path', 'num_emb_list', 'beta', 'e_dim', 'layers', 'vq_type', 'dist', 'tau',
  'kmeans_init', 'kmeans_iters', 'dropout_prob', 'bn', 'loss_type',
];

function codeTable(n: number, k: number): Int32Array {
  const c = new Int32Array((n + 1) * 4).fill(-1, 0, 4);
  for (let i = 1; i <= n; i++) c.set([(i * 3) % k, (i * 5) % k, (i * 7) % k, i % 2], i * 4);
  return c;
}

const jsonl = (rows: object[]) => strToU8(rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
const datasetFiles = (items = N) => {
  const map: Record<string, number> = { '[PAD]': 0 };
  for (let i = 1; i <= items; i++) map[`A${i}`] = i;
  return [
    { name: 'toy.train.jsonl', bytes: jsonl([{ user_id: 'u1', target_id: 'A2', inter_history: ['A1'] }]) },
    { name: 'toy.valid.jsonl', bytes: jsonl([{ user_id: 'u1', target_id: 'A3', inter_history: ['A1', 'A2'] }]) },
    { name: 'toy.test.jsonl', bytes: jsonl([{ user_id: 'u1', target_id: 'A4', inter_history: ['A1', 'A2', 'A3'] }]) },
    { name: 'toy.emb_map.json', bytes: strToU8(JSON.stringify(map)) },
    { name: 'toy.inter', bytes: strToU8('user_id:token\titem_id:token\trating:float\ttimestamp:float\tsplit:token\n') },
  ];
};

let input: ReferenceLayoutInput;
beforeAll(async () => {
  expect(await tf.setBackend('cpu')).toBe(true);
  const rec = new EtegrecRecommender(tinyRec, 3);
  const tok = new Rqvae(tinyTok, 4);
  input = {
    name: 'Toy2014',
    run: 'studio-run_1',
    epoch: 7,
    datasetFiles: datasetFiles(),
    recommender: await rec.stateDict(),
    recommenderConfig: tinyRec,
    tokenizer: await tok.params.stateDict(),
    tokenizerConfig: tinyTok,
    codes: codeTable(N, 8),
    config: jointTrainConfig('quick', { t5: tinyRec.t5, lr_rec: 2e-3, id_kl_loss: 1e-7, forge: true, finetune: { lr: 2e-4 }, ablation: { psa: false } }),
    gpus: 4,
    test: { 'ndcg@10': 0.05 },
    source: 'studio run "run 1"',
  };
  rec.dispose();
  tok.dispose();
});

const EXPECTED_PATHS = [
  'RecBole/dataset/Toy2014/Toy2014.train.jsonl',
  'RecBole/dataset/Toy2014/Toy2014.valid.jsonl',
  'RecBole/dataset/Toy2014/Toy2014.test.jsonl',
  'RecBole/dataset/Toy2014/Toy2014.emb_map.json',
  'RecBole/dataset/Toy2014/Toy2014.inter',
  'RecBole/dataset/Toy2014/Toy2014_emb_12.npy',
  'RQVAE/rqvae_ckpt/Toy2014/studio-run_1/best_collision_model.pth',
  'myckpt/Toy2014/studio-run_1/7.pt',
  'myckpt/Toy2014/studio-run_1/7.pt.rqvae',
  'myckpt/Toy2014/studio-run_1/7.code.json',
  'config/Toy2014.yaml',
  'accelerate_config_ddp.yaml',
  'run.sh',
  'STUDIO_EXPORT.md',
].sort();

describe('reference layout export', () => {
  it('lays out the reference repository: config, RecBole dataset, RQ-VAE .pth, myckpt run, accelerate config, run.sh, README', () => {
    const files = referenceLayoutFiles(input);
    expect(files.map((f) => f.path).sort()).toEqual(EXPECTED_PATHS);
    const zip = referenceLayoutZip(files);
    const un = unzipSync(zip);
    expect(Object.keys(un).sort()).toEqual(EXPECTED_PATHS);
    // run.sh keeps its executable bit in the zip (unix external attributes)
    const dv = new DataView(zip.buffer, zip.byteOffset);
    let eocd = zip.length - 22;
    while (dv.getUint32(eocd, true) !== 0x06054b50) eocd--;
    let p = dv.getUint32(eocd + 16, true);
    const modes: Record<string, number> = {};
    for (let i = 0; i < dv.getUint16(eocd + 10, true); i++) {
      const nl = dv.getUint16(p + 28, true);
      const name = strFromU8(zip.subarray(p + 46, p + 46 + nl));
      modes[name] = (dv.getUint32(p + 38, true) >>> 16) & 0o777;
      p += 46 + nl + dv.getUint16(p + 30, true) + dv.getUint16(p + 32, true);
    }
    expect(modes['run.sh']).toBe(0o755);
    expect(modes['config/Toy2014.yaml']).toBe(0o644);
  });

  it('config/<name>.yaml holds exactly the reference keys with the run\'s values; studio extras only as comments', () => {
    const files = referenceLayoutFiles(input);
    const text = strFromU8(files.find((f) => f.path === 'config/Toy2014.yaml')!.bytes);
    const y = readFlatYaml(text);
    expect(Object.keys(y).sort()).toEqual([...REFERENCE_KEYS].sort());
    expect(REFERENCE_CONFIG_KEYS.map((k) => k.key).sort()).toEqual([...REFERENCE_KEYS].sort());
    expect(y).toMatchObject({
      dataset: 'Toy2014', data_path: './RecBole/dataset', map_path: '.emb_map.json', semantic_emb_path: 'Toy2014_emb_12.npy',
      rqvae_path: './RQVAE/rqvae_ckpt/Toy2014/studio-run_1/best_collision_model.pth',
      encoder_layers: 2, decoder_layers: 1, d_model: 16, d_ff: 32, num_heads: 2, d_kv: 8, dropout_rate: 0.1,
      semantic_hidden_size: 12, code_num: 8, code_length: 4, e_dim: 4, layers: [10], num_emb_list: [8, 8, 8], beta: 0.25,
      lr_rec: 2e-3, lr_id: 1e-4, id_kl_loss: 1e-7, cycle: 4, warm_epoch: 2, eval_step: 4, batch_size: 64, max_his_len: 10,
      kmeans_init: false, sim: 'cos', num_beams: 20, seed: 2020,
    });
    // PyYAML (YAML 1.1) reads "1e-07" as a string: floats carry a dot
    expect(text).toMatch(/^id_kl_loss: 1\.0e-7$/m);
    expect(text).toMatch(/^#@studio finetune\.lr: 0\.0002$/m);
    expect(text).toMatch(/^#@studio forge: true$/m);
    expect(text).toMatch(/^#@studio ablation: no_psa$/m);
    expect(text).not.toMatch(/^t5\./m);
    // the model keys follow the tensors, even where a config's t5 block says otherwise
    const other = referenceLayoutFiles({ ...input, config: { ...input.config, t5: { ...input.config.t5, num_layers: 6, d_model: 128 } } });
    expect(readFlatYaml(strFromU8(other.find((f) => f.path === 'config/Toy2014.yaml')!.bytes))).toMatchObject({ encoder_layers: 2, d_model: 16 });
  });

  it('the reference keys map back onto the same studio config (the table inverted), extras included', () => {
    const text = strFromU8(referenceLayoutFiles(input).find((f) => f.path === 'config/Toy2014.yaml')!.bytes);
    const r = readReferenceConfigYaml(text, 'Toy2014.yaml');
    expect(r.config).toEqual(input.config);
    expect(r.warnings).toEqual([]);
    // the reference's own file: its flat keys onto ours; GRPO / unknown keys warned about
    const ref = readReferenceConfigYaml('dataset: Instrument2014\nlr_rec: 0.005\nencoder_layers: 6\nd_model: 128\ncycle: 2\neval_step: 2\nsim: l2\ngrpo_lr: 1e-5\ncollab_emb_path: x.npy\nkmeans_init: False\n', 'instrument.yaml');
    expect(ref.config.t5.num_layers).toBe(6);
    expect(ref.config.cycle).toBe(2);
    expect(ref.warnings.some((w) => /sim is "l2"; the studio trains with "cos" only/.test(w))).toBe(true);
    expect(ref.warnings.some((w) => /GRPO settings ignored \(grpo_lr\)/.test(w))).toBe(true);
    expect(ref.warnings.some((w) => /unknown key collab_emb_path ignored/.test(w))).toBe(true);
    expect(() => readReferenceConfigYaml('lr_rec: -1\n', 'bad.yaml')).toThrow(/lr_rec/);
    expect(() => readReferenceConfigYaml('encoder_layers: 0\n', 'bad.yaml')).toThrow(/encoder_layers \(t5\.num_layers\)/);
  });

  it('<epoch>.pt is the reference state dict (every key, PyTorch shapes, tied aliases in one storage); the semantic .npy is rows 1..N', () => {
    const files = referenceLayoutFiles(input);
    const get = (p: string) => files.find((f) => f.path === p)!.bytes;
    const pt = get('myckpt/Toy2014/studio-run_1/7.pt');
    const sd = pthStateDict(readPth(pt).root);
    const shapes = recommenderStateDictShapes(tinyRec);
    expect(Object.keys(sd)).toEqual(Object.keys(shapes));
    for (const [k, s] of Object.entries(shapes)) {
      expect(sd[k].shape, k).toEqual(s);
      expect(Array.from(sd[k].data as Float32Array), k).toEqual(Array.from(input.recommender[k === 'model.lm_head.weight' || k.endsWith('embed_tokens.weight') ? SHARED : k].data));
    }
    // 3 aliases share model.shared.weight's storage
    expect(listZip(pt).filter((m) => m.name.includes('/data/')).length).toBe(Object.keys(shapes).length - 3);
    const tok = pthStateDict(readPth(get('RQVAE/rqvae_ckpt/Toy2014/studio-run_1/best_collision_model.pth')).root);
    expect(Object.keys(tok)).toEqual(Object.keys(rqvaeStateDictShapes(tinyTok)));
    expect(get('myckpt/Toy2014/studio-run_1/7.pt.rqvae').length).toBeGreaterThan(0);
    const npy = parseNpy(get('RecBole/dataset/Toy2014/Toy2014_emb_12.npy'));
    expect(npy.shape).toEqual([N, 12]);
    expect(Array.from(npy.data as Float32Array)).toEqual(Array.from(input.recommender[SEMANTIC].data.slice(12)));
    expect(JSON.parse(strFromU8(get('myckpt/Toy2014/studio-run_1/7.code.json')))[0]).toEqual([-1, -1, -1, -1]);
  });

  it('accelerate config and run.sh: N processes, the exact launch commands', () => {
    const files = referenceLayoutFiles(input);
    const acc = readFlatYaml(strFromU8(files.find((f) => f.path === 'accelerate_config_ddp.yaml')!.bytes));
    expect(acc).toMatchObject({ num_processes: 4, distributed_type: 'MULTI_GPU', num_machines: 1, mixed_precision: 'no' });
    const one = readFlatYaml(strFromU8(referenceLayoutFiles({ ...input, gpus: 1 }).find((f) => f.path === 'accelerate_config_ddp.yaml')!.bytes));
    expect(one).toMatchObject({ num_processes: 1, distributed_type: 'NO' });
    const sh = strFromU8(files.find((f) => f.path === 'run.sh')!.bytes);
    expect(sh).toContain('accelerate launch --config_file accelerate_config_ddp.yaml main.py --config ./config/Toy2014.yaml');
    expect(sh).toContain('accelerate launch --config_file accelerate_config_ddp.yaml train_grpo.py --config ./config/Toy2014.yaml --sft_ckpt ./myckpt/Toy2014/studio-run_1/7.pt');
    const md = strFromU8(files.find((f) => f.path === 'STUDIO_EXPORT.md')!.bytes);
    expect(md).toMatch(/Not carried over:\*\* the AdamW moments/);
    expect(md).toMatch(/RNG states/);
    expect(md).toMatch(/`forge` = true in the studio; the fork's get_code applies FORGE always/);
    expect(md).toMatch(/`finetune.lr` = 0.0002 in the studio; the reference uses 0.0005/);
  });

  it('refuses bad input before producing anything, naming the problem', () => {
    expect(() => referenceLayoutFiles({ ...input, name: 'a b' })).toThrow(/name "a b" must be letters/);
    expect(() => referenceLayoutFiles({ ...input, run: '../x' })).toThrow(/run "..\/x"/);
    expect(() => referenceLayoutFiles({ ...input, gpus: 0 })).toThrow(/gpus must be an integer/);
    expect(() => referenceLayoutFiles({ ...input, run: 'best.pth' })).toThrow(/must not contain ".pt"/);
    expect(() => referenceLayoutFiles({ ...input, datasetFiles: datasetFiles(N + 1) })).toThrow(/id map has 8 entries, the run's semantic table 7 rows/);
    expect(() => referenceLayoutFiles({ ...input, datasetFiles: datasetFiles().filter((f) => !f.name.endsWith('.test.jsonl')) })).toThrow(/lacks its .test.jsonl/);
  });
});

describe('reference run import', () => {
  const runFiles = (extra: Record<string, Uint8Array> = {}) => {
    const files = referenceLayoutFiles(input);
    const out: Record<string, Uint8Array> = {};
    for (const f of files) if (f.path.startsWith('myckpt/')) out[f.path.split('/').pop()!] = f.bytes;
    out['config.yaml'] = files.find((f) => f.path === 'config/Toy2014.yaml')!.bytes;
    return { ...out, ...extra };
  };

  it('round trip studio → reference layout → studio: identical tensors, code table and config', () => {
    const r = readReferenceRun(runFiles(), { fileName: 'myckpt/Toy2014/run' });
    expect(r.epoch).toBe(7);
    expect(r.report.message).toMatch(/^(\d+) of \1 recommender tensors matched; (\d+) of \2 tokenizer tensors matched; 6 items$/);
    expect(r.recommenderConfig).toEqual(tinyRec);
    expect(r.tokenizerConfig).toEqual(tinyTok);
    expect(r.config).toEqual(input.config);
    expect(r.configFile).toBe('config.yaml');
    expect(Array.from(r.codes)).toEqual(Array.from(input.codes));
    for (const [k, a] of Object.entries(input.recommender)) expect(Array.from(r.recommender[k].data), k).toEqual(Array.from(a.data));
    for (const [k, a] of Object.entries(input.tokenizer)) expect(Array.from(r.tokenizer[k].data), k).toEqual(Array.from(a.data));
    expect(readCheckpointFiles(runFiles()).codes).toEqual(r.codes);
  });

  it('picks the newest <epoch>.pt (or --epoch) and needs its .pt.rqvae and .code.json', () => {
    const f = runFiles();
    const two = { ...f, '3.pt': f['7.pt'], '3.pt.rqvae': f['7.pt.rqvae'], '3.code.json': f['7.code.json'] };
    expect(readReferenceRun(two).epoch).toBe(7);
    expect(readReferenceRun(two, { modified: { '3.pt': 2000, '7.pt': 1000 } }).epoch).toBe(3);
    expect(readReferenceRun(two, { epoch: 3 }).epoch).toBe(3);
    expect(() => readReferenceRun(two, { epoch: 5 })).toThrow(/No 5.pt \(epochs here: 3, 7\)/);
    const { '7.pt.rqvae': _r, ...noTok } = f;
    expect(() => readReferenceRun(noTok)).toThrow(/7.pt needs 7.pt.rqvae beside it/);
  });

  it('refuses a config that does not belong to the weights, and a state dict that does not fit', () => {
    const yaml = strFromU8(runFiles()['config.yaml']);
    expect(() => readReferenceRun(runFiles({ 'config.yaml': strToU8(yaml.replace(/^d_model: 16$/m, 'd_model: 128')) }))).toThrow(/d_model is 128 in config.yaml, but 7.pt has 16/);
    expect(() => readReferenceRun(runFiles({ 'config.yaml': strToU8(yaml.replace(/^num_emb_list: .*$/m, 'num_emb_list: [256, 256, 256]')) }))).toThrow(/num_emb_list is \[256, 256, 256\] in config.yaml, but 7.pt.rqvae has \[8, 8, 8\]/);
    // a recommender .pt with one tensor dropped is refused with the count
    const f = runFiles();
    const rec = pthStateDict(readPth(f['7.pt']).root);
    delete rec['enc_adapter.mlp_layers.1.bias'];
    return import('../../../src/core/io/pthWrite.ts').then(({ writePthStateDict }) => {
      expect(() => readReferenceRun({ ...f, '7.pt': writePthStateDict(rec) })).toThrow(/of \d+ matched/);
    });
  });

  it('without a YAML the paper settings are assumed, with a warning', () => {
    const { 'config.yaml': _c, ...f } = runFiles();
    const r = readReferenceRun(f, { fileName: 'run' });
    expect(r.config).toBeUndefined();
    expect(r.report.warnings.some((w) => /no reference config/.test(w))).toBe(true);
  });
});
