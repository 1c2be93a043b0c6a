import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { pthStateDict, readPth, type PthTensor } from '../../../src/core/io/pth.ts';
import { pyFloat, pyOrderedDict, writePth, writePthStateDict, PTH_ALIGNMENT, type PyValue } from '../../../src/core/io/pthWrite.ts';
import { listZip } from '../../../src/core/io/zip.ts';
import { RQVAE_SINGLE, Rqvae, type RqvaeConfig } from '../../../src/core/models/rqvae.ts';
import { exportRqvaePth, readRqvaePth } from '../../../src/core/tokenizer/stateDict.ts';

const fx = (n: string) => new Uint8Array(readFileSync(resolve(__dirname, 'fixtures', n)));

const f32 = (shape: number[], seed: number) => {
  const n = shape.reduce((a, b) => a * b, 1);
  return { dtype: 'float32' as const, shape, data: Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(seed * 31 + i) * 3.5)) };
};
const smallStateDict = () => ({
  'encoder.weight': f32([3, 4], 1),
  'encoder.bias': f32([3], 2),
  scalar: f32([], 3),
  empty: f32([0, 5], 4),
  'codes.long': { dtype: 'int64' as const, shape: [2, 3], data: BigInt64Array.from([0n, -1n, 2n ** 40n, -(2n ** 62n), 7n, 9007199254740993n]) },
  'codes.int': { dtype: 'int32' as const, shape: [4], data: Int32Array.from([0, -5, 2147483647, -2147483648]) },
});
const nestedCheckpoint = (): PyValue => ({
  state_dict: pyOrderedDict(smallStateDict()),
  epoch: 3,
  best_collision_rate: 0.125,
  lr: pyFloat(1),
  note: 'rqvae ✓',
  big: 2 ** 40,
  neg: -70000,
  flags: [true, false, null],
});

const valuesOf = (t: { data: ArrayLike<number | bigint> }) => Array.from(t.data as ArrayLike<number | bigint>, (x) => (typeof x === 'bigint' ? x.toString() : x));

describe('PyTorch checkpoint writer', () => {
  it('writes torch.save\'s zip layout: stored members, data 64-byte aligned, version 3, little byte order', () => {
    const bytes = writePthStateDict(smallStateDict());
    const members = listZip(bytes);
    expect(members.map((m) => m.name)).toEqual(['archive/data.pkl', 'archive/byteorder', ...[0, 1, 2, 3, 4, 5].map((k) => `archive/data/${k}`), 'archive/version']);
    const dv = new DataView(bytes.buffer, bytes.byteOffset);
    let p = 0;
    for (let i = 0; i < members.length; i++) {
      expect(dv.getUint32(p, true)).toBe(0x04034b50);
      expect(dv.getUint16(p + 8, true)).toBe(0); // stored
      const size = dv.getUint32(p + 18, true);
      const data = p + 30 + dv.getUint16(p + 26, true) + dv.getUint16(p + 28, true);
      expect(data % PTH_ALIGNMENT).toBe(0);
      p = data + size;
    }
    const byName = Object.fromEntries(Object.entries(readPthMembers(bytes)));
    expect(byName['archive/version']).toBe('3\n');
    expect(byName['archive/byteorder']).toBe('little');
  });

  it('reads back with our restricted reader: same names, dtypes, shapes and values (state dict and nested checkpoint)', () => {
    const sd = smallStateDict();
    const back = pthStateDict(readPth(writePthStateDict(sd)).root);
    expect(Object.keys(back)).toEqual(Object.keys(sd));
    for (const [k, t] of Object.entries(sd)) {
      expect(back[k].dtype).toBe(t.dtype);
      expect(back[k].shape).toEqual(t.shape);
      expect(valuesOf(back[k])).toEqual(valuesOf(t));
    }
    const root = readPth(writePth(nestedCheckpoint(), { archiveName: '12' })).root as Map<string, unknown>;
    expect([...root.keys()]).toEqual(['state_dict', 'epoch', 'best_collision_rate', 'lr', 'note', 'big', 'neg', 'flags']);
    expect(root.get('epoch')).toBe(3);
    expect(root.get('best_collision_rate')).toBe(0.125);
    expect(root.get('lr')).toBe(1);
    expect(root.get('note')).toBe('rqvae ✓');
    expect(root.get('big')).toBe(2 ** 40);
    expect(root.get('neg')).toBe(-70000);
    expect(root.get('flags')).toEqual([true, false, null]);
    const sd2 = pthStateDict(root);
    expect(Object.keys(sd2)).toEqual(Object.keys(sd));
    expect(valuesOf(sd2['codes.long'])).toEqual(valuesOf(sd['codes.long']));
  });

  it('tensors sharing one data array (tied weights) share one storage', () => {
    const w = f32([2, 2], 5);
    const bytes = writePthStateDict({ 'model.shared.weight': w, 'model.lm_head.weight': { shape: w.shape, data: w.data } });
    expect(listZip(bytes).filter((m) => m.name.includes('/data/')).length).toBe(1);
    const back = pthStateDict(readPth(bytes).root);
    expect(valuesOf(back['model.lm_head.weight'])).toEqual(valuesOf(w));
  });

  it('round-trips the torch.save-layout fixture through our reader and writer', () => {
    const a = pthStateDict(readPth(fx('tiny_rqvae_state_dict.pth')).root);
    const b = pthStateDict(readPth(writePthStateDict(a)).root);
    expect(Object.keys(b)).toEqual(Object.keys(a));
    for (const k of Object.keys(a)) {
      expect(b[k].shape).toEqual(a[k].shape);
      expect(valuesOf(b[k])).toEqual(valuesOf(a[k]));
    }
  });

  it('refuses what it cannot encode, naming the tensor', () => {
    expect(() => writePthStateDict({ x: { shape: [3], data: new Float32Array(2) } })).toThrow(/tensor x: shape \[3\] holds 3 elements, the data 2/);
    expect(() => writePthStateDict({ h: { dtype: 'float16', shape: [1], data: new Float32Array(1) } })).toThrow(/tensor h is float16/);
    expect(() => writePth({ n: 2 ** 60 })).toThrow(/not a safe integer/);
  });
});

function readPthMembers(bytes: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  const dv = new DataView(bytes.buffer, bytes.byteOffset);
  let p = 0;
  while (dv.getUint32(p, true) === 0x04034b50) {
    const size = dv.getUint32(p + 18, true);
    const nl = dv.getUint16(p + 26, true);
    const name = new TextDecoder().decode(bytes.subarray(p + 30, p + 30 + nl));
    const data = p + 30 + nl + dv.getUint16(p + 28, true);
    if (!name.includes('/data')) out[name] = new TextDecoder().decode(bytes.subarray(data, data + size));
    p = data + size;
  }
  return out;
}

const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

// torch.load(weights_only=True) every file; print names → dtype/shape/values (int64 as strings),
// plain values, and whether each dict is an OrderedDict. With a config, also load the RQ-VAE state
// dict strictly into the reference's module layout (MLPLayers: Dropout, Linear, ReLU per block).
const DUMP = `
import collections, io, json, pickle, sys, torch
import torch.nn as nn
def flat(v, path, out):
    if isinstance(v, torch.Tensor):
        vals = v.flatten().tolist()
        if v.dtype == torch.int64: vals = [str(x) for x in vals]
        out[path] = {'dtype': str(v.dtype).replace('torch.', ''), 'shape': list(v.shape), 'values': vals}
    elif isinstance(v, dict):
        out[path + '#type'] = type(v).__name__
        for k, x in v.items(): flat(x, (path + '/' if path else '') + str(k), out)
    elif isinstance(v, (list, tuple)):
        out[path] = {'list': [x for x in v]}
    else:
        out[path] = {'value': v, 'type': type(v).__name__}
    return out
class MLPLayers(nn.Module):
    def __init__(self, layers):
        super().__init__()
        mods = []
        for idx, (i, o) in enumerate(zip(layers[:-1], layers[1:])):
            mods += [nn.Dropout(0.0), nn.Linear(i, o)]
            if idx != len(layers) - 2: mods.append(nn.ReLU())
        self.mlp_layers = nn.Sequential(*mods)
class VQ(nn.Module):
    def __init__(self, k, e):
        super().__init__(); self.embedding = nn.Embedding(k, e)
class RQ(nn.Module):
    def __init__(self, ks, e):
        super().__init__(); self.vq_layers = nn.ModuleList([VQ(k, e) for k in ks])
class RQVAE(nn.Module):
    def __init__(self, c):
        super().__init__()
        w = [c['in_dim']] + c['layers'] + [c['e_dim']]
        self.encoder = MLPLayers(w); self.rq = RQ(c['num_emb_list'], c['e_dim']); self.decoder = MLPLayers(w[::-1])
res = {}
for arg in sys.argv[1:]:
    path, _, cfg = arg.partition('=')
    try:
        obj = torch.load(path, weights_only=True); mode = 'weights_only'
    except pickle.UnpicklingError as e:
        # torch < 2.0's weights-only unpickler has no BINFLOAT: a checkpoint torch.save wrote with a
        # Python float fails the same way. Record whether torch's own file fails too, then load fully.
        if 'Unsupported operand 71' not in str(e): raise
        buf = io.BytesIO(); torch.save({'x': 0.5}, buf); buf.seek(0)
        try:
            torch.load(buf, weights_only=True); mode = 'float refused, though torch.save floats load'
        except pickle.UnpicklingError:
            mode = 'full (this torch cannot weights_only-load floats, even its own)'
        obj = torch.load(path, weights_only=False)
    entry = {'flat': flat(obj, '', {}), 'mode': mode}
    if cfg:
        m = RQVAE(json.loads(cfg))
        r = m.load_state_dict(obj, strict=True)
        entry['strict'] = {'missing': list(r.missing_keys), 'unexpected': list(r.unexpected_keys)}
        x = torch.linspace(-1, 1, json.loads(cfg)['in_dim']).unsqueeze(0)
        entry['encoded'] = m.encoder.mlp_layers(x)[0].tolist()
    res[path] = entry
print(json.dumps(res))
`;

interface Dumped { mode?: string; flat: Record<string, { dtype?: string; shape?: number[]; values?: (number | string)[]; value?: unknown; type?: string; list?: unknown[] } | string>; strict?: { missing: string[]; unexpected: string[] }; encoded?: number[] }

function torchLoad(files: Record<string, { bytes: Uint8Array; rqvae?: RqvaeConfig }>): Record<string, Dumped> {
  const dir = mkdtempSync(join(tmpdir(), 'pthwrite-'));
  const args: string[] = [];
  for (const [name, f] of Object.entries(files)) {
    const path = join(dir, name);
    writeFileSync(path, f.bytes);
    args.push(f.rqvae ? `${path}=${JSON.stringify({ in_dim: f.rqvae.in_dim, layers: f.rqvae.layers, e_dim: f.rqvae.e_dim, num_emb_list: f.rqvae.num_emb_list })}` : path);
  }
  const r = spawnSync(PYTHON, ['-c', DUMP, ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`python3 torch.load failed:\n${r.stderr}`);
  const out = JSON.parse(r.stdout) as Record<string, Dumped>;
  return Object.fromEntries(Object.keys(files).map((n) => [n, out[join(dir, n)]]));
}

/** Every tensor of `ours` (flattened) appears in torch's dump with the same dtype, shape and values. */
function expectSameTensors(d: Dumped, ours: Record<string, PthTensor | { dtype?: string; shape: number[]; data: ArrayLike<number | bigint> }>) {
  const torchNames = Object.keys(d.flat).filter((k) => !k.endsWith('#type') && typeof d.flat[k] === 'object' && 'dtype' in (d.flat[k] as object));
  expect(torchNames.sort()).toEqual(Object.keys(ours).sort());
  for (const [k, t] of Object.entries(ours)) {
    const e = d.flat[k] as { dtype: string; shape: number[]; values: (number | string)[] };
    expect(e.dtype, k).toBe(t.dtype ?? 'float32');
    expect(e.shape, k).toEqual(t.shape);
    expect(e.values, k).toEqual(valuesOf(t));
  }
}

describe.skipIf(!hasTorch)(`PyTorch checkpoint writer × torch.load(weights_only=True) (${hasTorch ? 'python3 has torch' : 'SKIPPED: /usr/bin/python3 cannot import torch; apt-get install -y python3-torch libopenblas0-pthread'})`, () => {
  it('torch loads the state dict and the nested checkpoint: every tensor, dtype, shape, value; ints, floats, strings, OrderedDict', () => {
    const sd = smallStateDict();
    const noFloats = { state_dict: pyOrderedDict(sd), epoch: 3, note: 'x', big: 2 ** 40, neg: -70000, flags: [true, false, null] };
    const got = torchLoad({ 'sd.pth': { bytes: writePthStateDict(sd) }, '3.pt': { bytes: writePth(nestedCheckpoint()) }, '4.pt': { bytes: writePth(noFloats) } });
    expect(got['sd.pth'].mode).toBe('weights_only');
    expect(got['4.pt'].mode).toBe('weights_only');
    expect(got['4.pt'].flat.epoch).toEqual({ value: 3, type: 'int' });
    // Python floats: weights_only on torch ≥ 2.0; torch 1.13 (Debian bookworm) refuses BINFLOAT even in its own files
    expect(['weights_only', 'full (this torch cannot weights_only-load floats, even its own)']).toContain(got['3.pt'].mode);
    expect(got['sd.pth'].flat['#type']).toBe('OrderedDict');
    expectSameTensors(got['sd.pth'], sd);
    const ck = got['3.pt'].flat;
    expect(ck['#type']).toBe('dict');
    expect(ck['state_dict#type']).toBe('OrderedDict');
    expect(ck.epoch).toEqual({ value: 3, type: 'int' });
    expect(ck.best_collision_rate).toEqual({ value: 0.125, type: 'float' });
    expect(ck.lr).toEqual({ value: 1, type: 'float' });
    expect(ck.note).toEqual({ value: 'rqvae ✓', type: 'str' });
    expect(ck.big).toEqual({ value: 2 ** 40, type: 'int' });
    expect(ck.neg).toEqual({ value: -70000, type: 'int' });
    expect(ck.flags).toEqual({ list: [true, false, null] });
    expectSameTensors({ flat: Object.fromEntries(Object.entries(ck).filter(([k]) => k.startsWith('state_dict/')).map(([k, v]) => [k.slice('state_dict/'.length), v])) }, sd);
  });

  it('the studio\'s RQ-VAE export (reference keys) loads strictly into the reference module layout and encodes like the studio', async () => {
    await tf.setBackend('cpu');
    const cfg: RqvaeConfig = { ...RQVAE_SINGLE, in_dim: 8, layers: [6, 5], e_dim: 4, num_emb_list: [5, 5, 5] };
    const model = new Rqvae(cfg, 7);
    const state = await model.params.stateDict();
    const bytes = exportRqvaePth(state, cfg);
    const got = torchLoad({ 'rqvae.pth': { bytes, rqvae: cfg } })['rqvae.pth'];
    expect(got.strict).toEqual({ missing: [], unexpected: [] });
    expectSameTensors(got, state);
    // our reader gets the same back, and the encoder agrees with torch's on one input
    const back = readRqvaePth(bytes);
    expect(back.config.layers).toEqual(cfg.layers);
    const x = Float32Array.from({ length: cfg.in_dim }, (_, i) => Math.fround(-1 + (2 * i) / (cfg.in_dim - 1)));
    let h = Array.from(x);
    for (let idx = 1; state[`encoder.mlp_layers.${idx}.weight`]; idx += 3) {
      const w = state[`encoder.mlp_layers.${idx}.weight`];
      const b = state[`encoder.mlp_layers.${idx}.bias`].data;
      const [o, i] = w.shape;
      const next = Array.from({ length: o }, (_, r) => b[r] + h.reduce((s, v, c) => s + w.data[r * i + c] * v, 0));
      h = state[`encoder.mlp_layers.${idx + 3}.weight`] ? next.map((v) => Math.max(0, v)) : next;
    }
    expect(got.encoded!.length).toBe(cfg.e_dim);
    got.encoded!.forEach((v, j) => expect(v).toBeCloseTo(h[j], 4));
  });

  it('the fixture read by our reader and rewritten by our writer loads in torch exactly like the original', () => {
    const orig = fx('tiny_rqvae_state_dict.pth');
    const sd = pthStateDict(readPth(orig).root);
    const got = torchLoad({ 'orig.pth': { bytes: orig }, 'rewritten.pth': { bytes: writePthStateDict(sd) } });
    expectSameTensors(got['orig.pth'], sd);
    expectSameTensors(got['rewritten.pth'], sd);
    const strip = (d: Dumped) => Object.fromEntries(Object.entries(d.flat).filter(([k]) => !k.endsWith('#type')));
    expect(strip(got['rewritten.pth'])).toEqual(strip(got['orig.pth']));
  });
});

