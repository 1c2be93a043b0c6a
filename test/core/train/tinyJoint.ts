/** A tiny synthetic joint-training setup shared by the trainer tests (cpu backend, seconds to run). */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll } from 'vitest';
import { Rqvae, type RqvaeConfig } from '../../../src/core/models/rqvae.ts';
import type { NamedArray } from '../../../src/core/nn/params.ts';
import { Rng } from '../../../src/core/rng.ts';
import { jointTrainConfig, type JointTrainConfig } from '../../../src/core/train/jointSchedule.ts';
import type { JointData, JointSamples } from '../../../src/core/train/jointTypes.ts';

export const TINY_TOK: RqvaeConfig = { in_dim: 12, layers: [10], e_dim: 6, num_emb_list: [8, 8, 8], beta: 0.25, quant_loss_weight: 1, sk_epsilons: [0, 0, 0], sk_iters: 50 };
export const TINY_ITEMS = 24;

/** Synthetic users walking through items in order from a random start, so there is something to learn. */
export function tinySamples(rng: Rng, count: number, L: number): JointSamples {
  const N = TINY_ITEMS;
  const histories = new Int32Array(count * L);
  const lens = new Int32Array(count);
  const targets = new Int32Array(count);
  for (let s = 0; s < count; s++) {
    const len = 1 + rng.int(L);
    const start = 1 + rng.int(N);
    for (let j = 0; j < len; j++) histories[s * L + j] = ((start + j - 1) % N) + 1;
    lens[s] = len;
    targets[s] = ((start + len - 1) % N) + 1;
  }
  return { count, L, histories, lens, targets };
}

/** 40 train / 10 valid / 10 test samples over 24 items with 12-d semantic vectors. */
export function tinyJointData(): JointData {
  const rng = new Rng(7);
  return {
    numItems: TINY_ITEMS,
    semantic: rng.normalArray(TINY_ITEMS * TINY_TOK.in_dim, 1),
    semanticDim: TINY_TOK.in_dim,
    train: tinySamples(rng, 40, 6),
    valid: tinySamples(rng, 10, 6),
    test: tinySamples(rng, 10, 6),
  };
}

/** A freshly initialised tiny tokenizer's state dict. */
export async function tinyTokenizerState(): Promise<Record<string, NamedArray>> {
  const t = new Rqvae(TINY_TOK, 3);
  const s = await t.params.stateDict();
  t.dispose();
  return s;
}

/** The tiny joint configuration of the trainer tests (1+1-layer T5, d_model 16, batch 16, 4 beams). */
export function tinyJointConfig(over: Parameters<typeof jointTrainConfig>[1] = {}): JointTrainConfig {
  return jointTrainConfig('quick', {
    epochs: 4,
    warm_epoch: 0,
    cycle: 2,
    eval_step: 2,
    warmup_steps: 2,
    batch_size: 16,
    micro_batch_size: 16,
    eval_batch_size: 8,
    num_beams: 4,
    return_beams: 3,
    eval_limit: 0,
    // alignment weights large enough that they move the parameters visibly in a few steps
    rec_kl_loss: 0.1,
    rec_dec_cl_loss: 0.3,
    id_kl_loss: 0.1,
    id_dec_cl_loss: 0.3,
    // dropout on (whatever the quick preset says) so the tests cover the replayed dropout masks
    t5: { num_layers: 1, num_decoder_layers: 1, d_model: 16, d_ff: 24, num_heads: 2, d_kv: 8, dropout_rate: 0.1 },
    ...over,
    finetune: { epochs: 2, eval_step: 1, early_stop: 2, ...(over.finetune ?? {}) },
  });
}

/** Runs the calling test file on the cpu backend (the tiny setups' reference), restoring the previous one after. */
export function useCpuBackend(): void {
  let prevBackend = '';
  beforeAll(async () => {
    prevBackend = tf.getBackend();
    await tf.setBackend('cpu');
  });
  afterAll(async () => {
    if (prevBackend) await tf.setBackend(prevBackend);
  });
}
