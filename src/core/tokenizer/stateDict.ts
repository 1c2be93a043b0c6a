/**
 * RQ-VAE weights ↔ the reference state-dict keys (state-dict-keys.json: `encoder.mlp_layers.*`,
 * `rq.vq_layers.{l}.embedding.weight`, `decoder.mlp_layers.*`, linear weights [out, in]).
 * Import reports "N of M tensors matched" and refuses mismatched shapes: the reference loads with
 * strict=False, where a wrong file silently loads nothing.
 */
import { StudioError } from '../errors.ts';
import { CHECKSUMS_KEY, tensorChecksums, verifyTensorChecksums } from '../io/checksum.ts';
import { pthStateDict, readPth } from '../io/pth.ts';
import { writePthStateDict } from '../io/pthWrite.ts';
import { f32Tensor, readSafetensors, toFloat32, writeSafetensors, type SafeTensor } from '../io/safetensors.ts';
import { RQVAE_SINGLE, rqvaeStateDictShapes, type Rqvae, type RqvaeConfig } from '../models/rqvae.ts';
import type { NamedArray } from '../nn/params.ts';

export interface StateDictReport {
  matched: number;
  total: number;
  missing: string[];
  unexpected: string[];
  mismatched: { name: string; expected: number[]; found: number[] }[];
  /** "15 of 15 tensors matched" plus what is wrong. */
  message: string;
}

/** Drops a DataParallel `module.` prefix when every key has it. */
export function stripModulePrefix<T>(dict: Record<string, T>): Record<string, T> {
  const keys = Object.keys(dict);
  if (!keys.length || !keys.every((k) => k.startsWith('module.'))) return dict;
  return Object.fromEntries(keys.map((k) => [k.slice(7), dict[k]]));
}

export function compareStateDict(expected: Record<string, number[]>, found: Record<string, { shape: number[] }>): StateDictReport {
  const missing: string[] = [];
  const mismatched: StateDictReport['mismatched'] = [];
  let matched = 0;
  for (const [name, shape] of Object.entries(expected)) {
    const f = found[name];
    if (!f) missing.push(name);
    else if (f.shape.length !== shape.length || f.shape.some((d, i) => d !== shape[i])) mismatched.push({ name, expected: shape, found: f.shape });
    else matched++;
  }
  const unexpected = Object.keys(found).filter((k) => !(k in expected));
  const total = Object.keys(expected).length;
  const parts = [`${matched} of ${total} tensors matched`];
  if (mismatched.length) parts.push(`${mismatched.length} with a different shape (${mismatched.slice(0, 3).map((m) => `${m.name}: expected ${JSON.stringify(m.expected)}, found ${JSON.stringify(m.found)}`).join('; ')})`);
  if (missing.length) parts.push(`${missing.length} missing (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''})`);
  if (unexpected.length) parts.push(`${unexpected.length} unexpected (${unexpected.slice(0, 3).join(', ')}${unexpected.length > 3 ? ', …' : ''})`);
  return { matched, total, missing, unexpected, mismatched, message: parts.join('; ') };
}

/** Infers the layout from the encoder/codebook shapes of a reference state dict. */
export function inferRqvaeConfig(dict: Record<string, { shape: number[] }>, base: RqvaeConfig = RQVAE_SINGLE): RqvaeConfig {
  const widths: number[] = [];
  for (let idx = 1; ; idx += 3) {
    const w = dict[`encoder.mlp_layers.${idx}.weight`];
    if (!w || w.shape.length !== 2) break;
    if (!widths.length) widths.push(w.shape[1]);
    widths.push(w.shape[0]);
  }
  const num: number[] = [];
  for (let l = 0; dict[`rq.vq_layers.${l}.embedding.weight`]; l++) num.push(dict[`rq.vq_layers.${l}.embedding.weight`].shape[0]);
  if (widths.length < 2 || !num.length) {
    throw new StudioError({ code: 'malformed_input', message: 'Not an RQ-VAE tokenizer state dict: no encoder.mlp_layers.1.weight or rq.vq_layers.0.embedding.weight' });
  }
  return { ...base, in_dim: widths[0], layers: widths.slice(1, -1), e_dim: widths[widths.length - 1], num_emb_list: num };
}

/**
 * Loads reference-named tensors (PyTorch layout) into the model. Refuses (assigning nothing) on any
 * shape mismatch, and — unless allowPartial — on missing keys.
 */
export function importRqvaeStateDict(model: Rqvae, dict: Record<string, NamedArray>, opts: { allowPartial?: boolean } = {}): StateDictReport {
  const d = stripModulePrefix(dict);
  const report = compareStateDict(rqvaeStateDictShapes(model.config), d);
  if (report.mismatched.length || report.matched === 0 || (report.missing.length && !opts.allowPartial)) {
    throw new StudioError({ code: 'malformed_input', message: `Tokenizer weights do not fit: ${report.message}`, details: report });
  }
  const use: Record<string, NamedArray> = {};
  for (const k of Object.keys(rqvaeStateDictShapes(model.config))) if (d[k]) use[k] = d[k];
  model.params.loadStateDict(use);
  return report;
}

/**
 * Every reference key in reference order, with the CRC-32 of every tensor in
 * `__metadata__.checksums` (checked by readRqvaeSafetensors); throws if the state lacks a key or a
 * shape differs.
 */
export function exportRqvaeSafetensors(state: Record<string, NamedArray>, config: RqvaeConfig, metadata: Record<string, string> = {}): Uint8Array {
  const shapes = rqvaeStateDictShapes(config);
  const report = compareStateDict(shapes, state);
  if (report.matched !== report.total || report.unexpected.length) {
    throw new StudioError({ code: 'internal', message: `Cannot export the tokenizer: ${report.message}` });
  }
  const tensors: Record<string, SafeTensor> = {};
  for (const k of Object.keys(shapes)) tensors[k] = f32Tensor(state[k].data, shapes[k]);
  return writeSafetensors(tensors, {
    format: 'pt',
    model: 'etegrec-rqvae',
    config: JSON.stringify({ in_dim: config.in_dim, layers: config.layers, e_dim: config.e_dim, num_emb_list: config.num_emb_list, beta: config.beta, quant_loss_weight: config.quant_loss_weight }),
    ...metadata,
    [CHECKSUMS_KEY]: tensorChecksums(tensors),
  });
}

export interface ReadTokenizerOptions {
  /** Told when the file carries no checksums (written before they existed, or by another tool). */
  onWarning?: (message: string) => void;
}

/**
 * Reads a tokenizer safetensors file into reference-named float32 arrays plus its config. Every
 * tensor's CRC-32 is checked against `__metadata__.checksums` (a flipped byte is refused, naming
 * the tensor); a file without checksums is read, `verified` false and `onWarning` told.
 */
export function readRqvaeSafetensors(bytes: Uint8Array, fileName?: string, opts: ReadTokenizerOptions = {}): { state: Record<string, NamedArray>; config: RqvaeConfig; metadata: Record<string, string>; verified: boolean } {
  const f = readSafetensors(bytes, fileName);
  const verified = verifyTensorChecksums(f.tensors, f.metadata[CHECKSUMS_KEY], fileName ?? 'tokenizer.safetensors', opts.onWarning, 'tokenizer file');
  const state: Record<string, NamedArray> = {};
  for (const [k, t] of Object.entries(f.tensors)) state[k] = { shape: t.shape, data: toFloat32(t, k) };
  const s = stripModulePrefix(state);
  return { state: s, config: inferRqvaeConfig(s), metadata: f.metadata, verified };
}

/** Reads the tokenizer weights of a PyTorch .pth (a state dict, or a checkpoint holding one). */
export function readRqvaePth(bytes: Uint8Array, fileName?: string): { state: Record<string, NamedArray>; config: RqvaeConfig } {
  const sd = pthStateDict(readPth(bytes, fileName).root, fileName);
  const state: Record<string, NamedArray> = {};
  for (const [k, t] of Object.entries(sd)) {
    if (!(t.data instanceof Float32Array)) {
      throw new StudioError({ code: 'malformed_input', file: fileName, field: k, message: `Tensor ${k} is ${t.dtype}, expected floating point` });
    }
    state[k] = { shape: t.shape, data: t.data };
  }
  const s = stripModulePrefix(state);
  return { state: s, config: inferRqvaeConfig(s) };
}

/**
 * The tokenizer as a PyTorch state dict `.pth` (torch.save's zip layout, every reference key in
 * reference order, float32 [out, in]), which the reference's RQVAE loads with torch.load; throws
 * like {@link exportRqvaeSafetensors} if the state lacks a key or a shape differs.
 */
export function exportRqvaePth(state: Record<string, NamedArray>, config: RqvaeConfig, opts: { archiveName?: string } = {}): Uint8Array {
  const shapes = rqvaeStateDictShapes(config);
  const report = compareStateDict(shapes, state);
  if (report.matched !== report.total || report.unexpected.length) {
    throw new StudioError({ code: 'internal', message: `Cannot export the tokenizer: ${report.message}` });
  }
  const tensors: Record<string, { dtype: 'float32'; shape: number[]; data: Float32Array }> = {};
  for (const k of Object.keys(shapes)) tensors[k] = { dtype: 'float32', shape: shapes[k], data: state[k].data };
  return writePthStateDict(tensors, opts);
}
