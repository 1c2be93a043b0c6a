/**
 * What the fuzzer feeds: every importer of the studio and the CLI with valid seed inputs built here
 * (writers of this repository, the .pth fixtures), so each mutation starts from a file the reader
 * accepts. A target's `run` must return or throw a StudioError; anything else is a finding.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, strToU8, zipSync } from 'fflate';
import { importToDataset } from '../src/core/data/importer.ts';
import type { ImportSourceFile } from '../src/core/data/importer.ts';
import { importReferenceBundle, referenceBundleFiles, type BundleFile } from '../src/core/data/referenceBundle.ts';
import { DEFAULT_PREPARE_CONFIG } from '../src/core/data/types.ts';
import { packJointCheckpoint, readJointBundle, readJointConfigYaml, unpackJointCheckpoint, writeBundleFiles, writeJointBundle, writeJointConfigYaml } from '../src/core/io/jointBundle.ts';
import { npyToFloat32, npyToInt32, parseNpy, writeNpy } from '../src/core/io/npy.ts';
import { pthStateDict, readPth } from '../src/core/io/pth.ts';
import { f32Tensor, i32Tensor, readSafetensors, toFloat32, writeSafetensors } from '../src/core/io/safetensors.ts';
import { gunzipChecked, unzipChecked } from '../src/core/io/zip.ts';
import { readReferenceConfigYaml, readReferenceRun, referenceLayoutFiles } from '../src/core/io/referenceLayout.ts';
import { readTokenizerFile } from '../src/cli/tokenizerFile.ts';
import { exportRqvaeSafetensors } from '../src/core/tokenizer/stateDict.ts';
import { tinyCheckpoint } from '../test/core/io/checkpointFixture.ts';

export interface FuzzTarget {
  name: string;
  /** Valid inputs the mutations start from. */
  seeds(): Promise<Uint8Array[]> | Uint8Array[];
  run(bytes: Uint8Array): unknown;
}

const ROOT = join(import.meta.dirname, '..');
const fixture = (name: string) => new Uint8Array(readFileSync(join(ROOT, 'test/core/io/fixtures', name)));

function source(name: string, bytes: Uint8Array): ImportSourceFile {
  return {
    name,
    size: bytes.length,
    open: async function* () {
      yield bytes;
    },
  };
}

/** 60 users over 12 items (every user ≥ 5 items: survives the 5-core), amazon2014 review lines. */
function reviewLines(): string {
  const lines: string[] = [];
  for (let u = 0; u < 60; u++) {
    for (let k = 0; k < 6; k++) {
      lines.push(JSON.stringify({ reviewerID: `A${u}X`, asin: `B00${(u * 7 + k * 5) % 12}`, overall: 1 + ((u + k) % 5), unixReviewTime: 1_300_000_000 + u * 1000 + k, reviewText: 'fine', summary: 'ok' }));
    }
  }
  return lines.join('\n') + '\n';
}

async function preparedBundle(): Promise<BundleFile[]> {
  const { dataset } = await importToDataset({ files: [source('seed.json', strToU8(reviewLines()))], name: 'Seed', format: 'amazon2014', config: DEFAULT_PREPARE_CONFIG });
  return referenceBundleFiles(dataset);
}

function bundleInput() {
  const c = tinyCheckpoint();
  return { recommender: c.current.recommender, recommenderConfig: c.recommenderConfig, tokenizer: c.current.tokenizer, tokenizerConfig: c.tokenizerConfig, codes: c.current.codes, config: c.config, history: [], metrics: { etegrec: {} } };
}

/** A GRPO bundle as `etegrec grpo` writes it and the studio stores it: no metrics.csv, GRPO metrics.json. */
function grpoBundleFiles(): Record<string, Uint8Array> {
  const files = writeBundleFiles({ ...bundleInput(), metrics: { valid_before: { 'ndcg@10': 0.01 }, valid_after: { 'ndcg@10': 0.02 }, test: { 'ndcg@10': 0.02 }, best_epoch: 0, history: [] } });
  delete files['metrics.csv'];
  return files;
}

export const TARGETS: FuzzTarget[] = [
  {
    name: 'npy',
    seeds: () => [writeNpy(Float32Array.from({ length: 24 }, (_, i) => i / 7), [6, 4]), writeNpy(Int32Array.from([1, 2, 3]), [3])],
    run: (b) => {
      const a = parseNpy(b, 'fuzz.npy');
      return /i/.test(a.dtype) ? npyToInt32(a, 'fuzz.npy') : npyToFloat32(a, 'fuzz.npy');
    },
  },
  {
    name: 'safetensors',
    seeds: () => [writeSafetensors({ a: f32Tensor(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]), b: i32Tensor(Int32Array.from([7, 8]), [2]) }, { note: 'seed' })],
    run: (b) => {
      const f = readSafetensors(b, 'fuzz.safetensors');
      for (const [k, t] of Object.entries(f.tensors)) if (t.dtype === 'F32') toFloat32(t, k);
      return f;
    },
  },
  {
    name: 'pth',
    seeds: () => [fixture('tiny_rqvae_state_dict.pth'), fixture('tiny_rqvae_ckpt.pth'), fixture('tiny_recommender.pt')],
    run: (b) => pthStateDict(readPth(b, 'fuzz.pth').root, 'fuzz.pth'),
  },
  {
    name: 'zip',
    seeds: () => [zipSync({ 'a.txt': strToU8('hello zip '.repeat(20)), 'd/b.bin': Uint8Array.from({ length: 300 }, (_, i) => i % 251) })],
    run: (b) => unzipChecked(b, { fileName: 'fuzz.zip' }),
  },
  {
    name: 'gzip',
    seeds: () => [gzipSync(strToU8(reviewLines()))],
    run: (b) => gunzipChecked(b, { fileName: 'fuzz.gz' }),
  },
  {
    name: 'reviews',
    seeds: () => [strToU8(reviewLines())],
    run: (b) => importToDataset({ files: [source('fuzz.json', b)], name: 'Fuzz', format: 'auto', config: DEFAULT_PREPARE_CONFIG }),
  },
  {
    name: 'sequences',
    seeds: () => [strToU8(Array.from({ length: 60 }, (_, u) => [`u${u}`, ...Array.from({ length: 6 }, (_, k) => `i${(u * 7 + k * 5) % 12}`)].join(' ')).join('\n') + '\n')],
    run: (b) => importToDataset({ files: [source('fuzz.txt', b)], name: 'Fuzz', format: 'auto', config: DEFAULT_PREPARE_CONFIG }),
  },
  {
    name: 'metadata',
    seeds: () => [strToU8(Array.from({ length: 12 }, (_, i) => JSON.stringify({ asin: `B00${i}`, title: `Item ${i} – a "guitar" string`, categories: [['Musical Instruments']] })).join('\n') + '\n')],
    run: (b) => importToDataset({
      files: [source('seed.json', strToU8(reviewLines()))], metadata: source('fuzz_meta.json', b), metadataFormat: 'auto',
      name: 'Fuzz', format: 'amazon2014', config: DEFAULT_PREPARE_CONFIG,
    }),
  },
  {
    name: 'reference-bundle',
    seeds: async () => {
      const files = await preparedBundle();
      return [zipSync(Object.fromEntries(files.map((f) => [f.name, f.bytes])))];
    },
    run: (b) => importReferenceBundle([{ name: 'fuzz.zip', bytes: b }], { config: DEFAULT_PREPARE_CONFIG }),
  },
  {
    name: 'joint-bundle',
    seeds: () => [writeJointBundle(bundleInput())],
    run: (b) => readJointBundle(b, { fileName: 'fuzz.zip' }),
  },
  {
    // the zip the studio exports, then read as the CLI reads an output folder (no zip CRC guarding the files)
    name: 'grpo-bundle',
    seeds: () => [zipSync(grpoBundleFiles())],
    run: (b) => readJointBundle(unzipChecked(b, { fileName: 'fuzz.grpo.zip' }), { fileName: 'fuzz-grpo-dir' }),
  },
  {
    name: 'tokenizer',
    seeds: () => {
      const c = tinyCheckpoint();
      const file = exportRqvaeSafetensors(c.current.tokenizer, c.tokenizerConfig, { epoch: '3' });
      // and one written before checksums existed, so mutated tensor bytes reach the rest of the reader
      const f = readSafetensors(file);
      const { checksums: _none, ...old } = f.metadata;
      return [file, writeSafetensors(f.tensors, old)];
    },
    run: (b) => readTokenizerFile(b, 'fuzz.tokenizer.safetensors'),
  },
  {
    name: 'joint-checkpoint',
    seeds: () => [packJointCheckpoint(tinyCheckpoint())],
    run: (b) => unpackJointCheckpoint(b, 'fuzz.checkpoint.safetensors'),
  },
  {
    name: 'config-yaml',
    seeds: () => {
      const c = tinyCheckpoint();
      return [strToU8(writeJointConfigYaml(c.config, c.recommenderConfig, c.tokenizerConfig))];
    },
    run: (b) => readJointConfigYaml(new TextDecoder().decode(b), 'fuzz.yaml'),
  },
  {
    name: 'reference-config',
    seeds: async () => [referenceLayoutFileOf(await referenceLayout(), 'config/')],
    run: (b) => readReferenceConfigYaml(new TextDecoder().decode(b), 'fuzz.yaml'),
  },
  {
    // the reference's run folder (<epoch>.pt, .pt.rqvae, .code.json and its YAML), zipped
    name: 'reference-run',
    seeds: async () => {
      const files = await referenceLayout();
      const run: Record<string, Uint8Array> = {};
      for (const f of files) if (f.path.startsWith('myckpt/')) run[f.path.split('/').pop()!] = f.bytes;
      run['config.yaml'] = referenceLayoutFileOf(files, 'config/');
      return [zipSync(run, { level: 1 })];
    },
    run: (b) => readReferenceRun(unzipChecked(b, { fileName: 'fuzz.zip' }), { fileName: 'fuzz.zip' }),
  },
];

/** The tiny checkpoint laid out for the reference trainer, on a dataset of its item count. */
async function referenceLayout() {
  const input = bundleInput();
  const n = input.recommenderConfig.n_items_plus_pad - 1;
  const map: Record<string, number> = { '[PAD]': 0 };
  for (let i = 1; i <= n; i++) map[`I${i}`] = i;
  const line = strToU8(JSON.stringify({ user_id: 'u', target_id: 'I2', inter_history: ['I1'] }) + '\n');
  return referenceLayoutFiles({
    ...input, name: 'Fuzz', run: 'run', epoch: 1, gpus: 2,
    datasetFiles: [{ name: 'f.train.jsonl', bytes: line }, { name: 'f.valid.jsonl', bytes: line }, { name: 'f.test.jsonl', bytes: line }, { name: 'f.emb_map.json', bytes: strToU8(JSON.stringify(map)) }],
  });
}

function referenceLayoutFileOf(files: { path: string; bytes: Uint8Array }[], prefix: string): Uint8Array {
  return files.find((f) => f.path.startsWith(prefix))!.bytes;
}

/**
 * Targets that misbehave on purpose (not run by default): they check that the harness itself turns
 * a hang, a memory blow-up and a non-StudioError into findings. Each accepts its seed.
 */
const isSeed = (b: Uint8Array) => b.length === 1 && b[0] === 1;
export const SELFTEST_TARGETS: FuzzTarget[] = [
  {
    name: 'selftest-hang',
    seeds: () => [Uint8Array.of(1)],
    run: (b) => {
      if (isSeed(b)) return;
      for (;;) { /* never answers */ }
    },
  },
  {
    name: 'selftest-memory',
    seeds: () => [Uint8Array.of(1)],
    run: (b) => {
      if (isSeed(b)) return;
      // off the V8 heap, every page touched: the resident set grows past any limit the test sets
      keep.push(new Uint8Array(320 << 20).fill(1));
    },
  },
  {
    name: 'selftest-crash',
    seeds: () => [Uint8Array.of(1)],
    run: (b) => {
      if (isSeed(b)) return;
      throw new TypeError('not a StudioError');
    },
  },
];
const keep: Uint8Array[] = [];

/** Every target by name, the self-tests included. */
export const ALL_TARGETS: FuzzTarget[] = [...TARGETS, ...SELFTEST_TARGETS];
