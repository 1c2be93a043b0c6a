import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { zipSync } from 'fflate';
import * as tf from '@tensorflow/tfjs';
import { StudioError } from '../../../src/core/errors.ts';
import { pthStateDict, readPth, type PthTensor } from '../../../src/core/io/pth.ts';
import { Rqvae } from '../../../src/core/models/rqvae.ts';
import { importRqvaeStateDict, readRqvaePth } from '../../../src/core/tokenizer/stateDict.ts';

// Fixtures written by fixtures/make_pth.py (torch.save's zip layout and pickle opcodes, without torch).
const fx = (n: string) => new Uint8Array(readFileSync(resolve(__dirname, 'fixtures', n)));
const expected = JSON.parse(new TextDecoder().decode(fx('tiny_rqvae_expected.json'))) as Record<string, { shape: number[]; values: number[] }>;

function pickleZip(pkl: number[], extra: Record<string, Uint8Array> = {}): Uint8Array {
  return zipSync({ 'archive/data.pkl': Uint8Array.from(pkl), ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [`archive/${k}`, v])) }, { level: 0 });
}
const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));

const rejects = (bytes: Uint8Array, re: RegExp) => {
  let err: unknown;
  try {
    readPth(bytes, 'x.pth');
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(StudioError);
  expect((err as Error).message).toMatch(re);
};

describe('restricted .pth reader', () => {
  it('reads a torch.save state dict: every tensor, views with strides/offsets into shared storage', () => {
    const sd = pthStateDict(readPth(fx('tiny_rqvae_state_dict.pth')).root);
    expect(Object.keys(sd)).toEqual(Object.keys(expected));
    for (const [k, e] of Object.entries(expected)) {
      expect(sd[k].dtype).toBe('float32');
      expect(sd[k].shape).toEqual(e.shape);
      expect(Array.from(sd[k].data as Float32Array)).toEqual(e.values);
    }
  });

  it('reads a wrapped checkpoint (ints, floats, bools, None, strings, lists, int64/float64 tensors)', () => {
    const root = readPth(fx('tiny_rqvae_ckpt.pth')).root as Map<string, unknown>;
    expect(root.get('epoch')).toBe(3);
    expect(root.get('best_collision_rate')).toBe(0.125);
    expect(root.get('note')).toBe('rqvae');
    expect(root.get('flags')).toEqual([true, false, null]);
    expect(root.get('big')).toBe(2 ** 40);
    expect(root.get('neg')).toBe(-70000);
    const step = root.get('step') as PthTensor;
    expect(step.dtype).toBe('int64');
    expect(Array.from(step.data as BigInt64Array)).toEqual([1000n, 1001n]);
    expect((root.get('half') as PthTensor).dtype).toBe('float64');
    const sd = pthStateDict(root);
    expect(Object.keys(sd)).toEqual(Object.keys(expected));
  });

  it('loads into an RQ-VAE of the inferred layout ([out, in] → stored [in, out])', async () => {
    await tf.setBackend('cpu');
    const { state, config } = readRqvaePth(fx('tiny_rqvae_ckpt.pth'));
    expect(config).toMatchObject({ in_dim: 4, layers: [6], e_dim: 3, num_emb_list: [5, 5, 5] });
    const m = new Rqvae(config, 0);
    const rep = importRqvaeStateDict(m, state);
    expect(rep.message).toBe('11 of 11 tensors matched');
    const w = await m.params.get('decoder.mlp_layers.4.weight').data(); // stored [6, 4] = transpose of [4, 6]
    const e = expected['decoder.mlp_layers.4.weight'].values; // [4, 6] row-major
    expect(w[1 * 4 + 2]).toBe(e[2 * 6 + 1]);
    m.dispose();
  });

  it('rejects non-whitelisted globals (no code execution)', () => {
    // c os\nsystem\n (X "echo" t R .
    const evil = [0x80, 2, ...ascii('cos\nsystem\n'), 0x28, 0x58, 4, 0, 0, 0, ...ascii('echo'), 0x74, 0x52, 0x2e];
    rejects(pickleZip(evil), /global os\.system is not allowed/);
    const builtins = [0x80, 2, ...ascii('c__builtin__\neval\n'), 0x2e];
    rejects(pickleZip(builtins), /global __builtin__\.eval is not allowed/);
  });

  it('rejects unknown opcodes, bad structure and broken archives with clear errors', () => {
    rejects(pickleZip([0x80, 2, 0x81, 0x2e]), /opcode 0x81 .* not allowed/); // NEWOBJ
    rejects(pickleZip([0x80, 2, 0x69]), /opcode 0x69/); // INST
    rejects(pickleZip([0x80, 2, 0x7d]), /truncated/);
    rejects(pickleZip([0x80, 2, 0x68, 5, 0x2e]), /memo 5 is not defined/);
    rejects(pickleZip([0x80, 2, 0x4e, 0x4e, 0x2e]), /unbalanced/);
    // a storage whose bytes are missing
    const tensorPkl = [
      0x80, 2, ...ascii('ctorch._utils\n_rebuild_tensor_v2\n'), 0x28,
      0x28, 0x58, 7, 0, 0, 0, ...ascii('storage'), ...ascii('ctorch\nFloatStorage\n'), 0x58, 1, 0, 0, 0, ...ascii('0'), 0x58, 3, 0, 0, 0, ...ascii('cpu'), 0x4b, 4, 0x74, 0x51,
      0x4b, 0, 0x4b, 4, 0x85, 0x4b, 1, 0x85, 0x89, ...ascii('ccollections\nOrderedDict\n'), 0x29, 0x52, 0x74, 0x52, 0x2e,
    ];
    rejects(pickleZip(tensorPkl), /storage data\/0 is missing/);
    const ok = readPth(pickleZip(tensorPkl, { 'data/0': new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer) })).root as PthTensor;
    expect(Array.from(ok.data as Float32Array)).toEqual([1, 2, 3, 4]);
    rejects(pickleZip(tensorPkl, { 'data/0': new Uint8Array(8) }), /has 8 bytes, expected 16/);
    rejects(new Uint8Array([0x80, 2, 0x7d, 0x2e]), /legacy/);
    rejects(new Uint8Array([1, 2, 3, 4, 5]), /not a zip/);
    rejects(zipSync({ 'a/other.txt': new Uint8Array(1) }), /no data\.pkl/);
    rejects(pickleZip([0x80, 2, 0x2e], { byteorder: new TextEncoder().encode('big') }), /big-endian/);
  });
});
