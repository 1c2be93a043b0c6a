/** A tiny, valid joint checkpoint (shapes from the configs, deterministic values) for tests. */
import { recommenderStateDictShapes, SHARED, TIED_ALIASES, type RecommenderConfig } from '../../../src/core/models/recommender.ts';
import { RQVAE_SINGLE, rqvaeStateDictShapes, type RqvaeConfig } from '../../../src/core/models/rqvae.ts';
import type { NamedArray } from '../../../src/core/nn/params.ts';
import { jointTrainConfig } from '../../../src/core/train/jointSchedule.ts';
import type { JointCheckpoint } from '../../../src/core/train/jointTypes.ts';

const N = 5;
const rc: RecommenderConfig = {
  t5: { num_layers: 1, num_decoder_layers: 1, d_model: 8, d_ff: 16, num_heads: 2, d_kv: 4, relative_attention_num_buckets: 8, relative_attention_max_distance: 16, layer_norm_epsilon: 1e-6, dropout_rate: 0.1 },
  code_length: 4, code_num: 4, e_dim: 4, semantic_hidden_size: 6, n_items_plus_pad: N + 1, initializer_range: 0.02,
};
const tc: RqvaeConfig = { ...RQVAE_SINGLE, in_dim: 6, layers: [5], e_dim: 4, num_emb_list: [4, 4, 4], sk_epsilons: [0, 0, 0] };

function state(shapes: Record<string, number[]>, seed: number): Record<string, NamedArray> {
  const out: Record<string, NamedArray> = {};
  let x = seed;
  for (const [k, shape] of Object.entries(shapes)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = ((x = (x * 1103515245 + 12345) >>> 0) % 1000) / 1000 - 0.5;
    out[k] = { shape, data };
  }
  return out;
}

/** The tied aliases hold the shared embedding's values, as in the reference. */
function tied(s: Record<string, NamedArray>): Record<string, NamedArray> {
  for (const a of TIED_ALIASES) s[a] = { shape: s[SHARED].shape.slice(), data: s[SHARED].data.slice() };
  return s;
}

export function tinyCheckpoint(): JointCheckpoint {
  const codes = new Int32Array((N + 1) * 4).fill(-1, 0, 4);
  for (let i = 1; i <= N; i++) codes.set([i % 4, (i * 3) % 4, (i * 5) % 4, 0], i * 4);
  return {
    format: 'etegrec-joint-checkpoint',
    version: 1,
    config: jointTrainConfig('quick', { epochs: 4 }),
    recommenderConfig: rc,
    tokenizerConfig: tc,
    stage: 'finetune',
    nextEpoch: 1,
    finished: false,
    current: { recommender: tied(state(recommenderStateDictShapes(rc), 1)), tokenizer: state(rqvaeStateDictShapes(tc), 2), codes },
    optimizer: { recommender: { step: 3, m: [Float32Array.from([1, 2])], v: [Float32Array.from([3, 4])] }, tokenizer: { step: 0, m: [], v: [] } },
    schedulerSteps: { recommender: 3, tokenizer: 1 },
    rngState: { shuffle: 7, dropout: 9 },
    early: { best: 0, bad: 0, bestEpoch: -1 },
    best: null,
    history: [],
  };
}

