import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { StudioError } from '../../../src/core/errors.ts';
import { readSafetensors } from '../../../src/core/io/safetensors.ts';
import { RQVAE_DUAL, RQVAE_SINGLE, Rqvae } from '../../../src/core/models/rqvae.ts';
import { compareStateDict, exportRqvaeSafetensors, importRqvaeStateDict, inferRqvaeConfig, readRqvaeSafetensors } from '../../../src/core/tokenizer/stateDict.ts';

const keys = JSON.parse(readFileSync(resolve(__dirname, '../../../../shared/conformance/state-dict-keys.json'), 'utf8')) as Record<string, Record<string, number[]>>;

describe('tokenizer state dict ↔ reference keys', () => {
  beforeAll(async () => {
    expect(await tf.setBackend('wasm')).toBe(true);
  });

  it.each([
    ['single', RQVAE_SINGLE, 'tokenizer_single_256'],
    ['dual', RQVAE_DUAL, 'tokenizer_dual_1024'],
  ] as const)('%s: safetensors has exactly the reference keys and shapes, and loads back', async (_n, cfg, key) => {
    const a = new Rqvae(cfg, 1);
    const bytes = exportRqvaeSafetensors(await a.params.stateDict(), cfg, { epoch: '3' });
    const raw = readSafetensors(bytes);
    expect(Object.keys(raw.tensors)).toEqual(Object.keys(keys[key]));
    for (const [k, s] of Object.entries(keys[key])) {
      expect(raw.tensors[k].shape).toEqual(s);
      expect(raw.tensors[k].dtype).toBe('F32');
    }
    expect(raw.metadata.epoch).toBe('3');
    const back = readRqvaeSafetensors(bytes);
    expect(back.config.in_dim).toBe(cfg.in_dim);
    expect(back.config.layers).toEqual(cfg.layers);
    const b = new Rqvae(back.config, 2);
    const rep = importRqvaeStateDict(b, back.state);
    const total = Object.keys(keys[key]).length;
    expect(rep.message).toBe(`${total} of ${total} tensors matched`);
    const wa = await a.params.get('encoder.mlp_layers.1.weight').data();
    expect(await b.params.get('encoder.mlp_layers.1.weight').data()).toEqual(wa);
    // PyTorch layout on disk: [out, in] = transpose of the stored [in, out]
    const disk = back.state['encoder.mlp_layers.1.weight'];
    const [out, inn] = disk.shape;
    expect(disk.data[1 * inn + 0]).toBe(wa[0 * out + 1]);
    a.dispose();
    b.dispose();
  });

  it('refuses mismatched shapes (nothing assigned) and reports N of M', async () => {
    const single = new Rqvae(RQVAE_SINGLE, 1);
    const dual = new Rqvae(RQVAE_DUAL, 1);
    const before = await single.params.get('rq.vq_layers.0.embedding.weight').data();
    let err: StudioError | undefined;
    try {
      importRqvaeStateDict(single, await dual.params.stateDict());
    } catch (e) {
      err = e as StudioError;
    }
    expect(err).toBeInstanceOf(StudioError);
    expect(err!.message).toMatch(/^Tokenizer weights do not fit: 7 of 15 tensors matched; 8 with a different shape/);
    expect(err!.message).toMatch(/unexpected/);
    expect(await single.params.get('rq.vq_layers.0.embedding.weight').data()).toEqual(before);
    // missing keys: refused unless allowPartial
    const sd = await single.params.stateDict();
    delete sd['decoder.mlp_layers.7.bias'];
    expect(() => importRqvaeStateDict(single, sd)).toThrow(/14 of 15 tensors matched; 1 missing \(decoder.mlp_layers.7.bias\)/);
    expect(importRqvaeStateDict(single, sd, { allowPartial: true }).matched).toBe(14);
    // DataParallel prefix
    const pref = Object.fromEntries(Object.entries(await single.params.stateDict()).map(([k, v]) => [`module.${k}`, v]));
    expect(importRqvaeStateDict(single, pref).matched).toBe(15);
    single.dispose();
    dual.dispose();
  });

  it('compareStateDict and inferRqvaeConfig', () => {
    const r = compareStateDict({ a: [2, 3], b: [4] }, { a: { shape: [2, 3] }, c: { shape: [1] } });
    expect(r).toMatchObject({ matched: 1, total: 2, missing: ['b'], unexpected: ['c'] });
    const dual = Object.fromEntries(Object.entries(keys.tokenizer_dual_1024).map(([k, s]) => [k, { shape: s }]));
    expect(inferRqvaeConfig(dual)).toMatchObject({ in_dim: 1024, layers: [1024, 512, 256], e_dim: 128, num_emb_list: [256, 256, 256] });
    expect(() => inferRqvaeConfig({})).toThrow(/Not an RQ-VAE/);
  });
});
