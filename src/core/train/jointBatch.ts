/**
 * One batch of joint ETEGRec training (spec §5.5), one function per epoch phase. The run
 * (jointRun.ts) owns the modules, the optimisers and their schedules; these functions build the
 * losses and hand the gradients to `applyRec` / `applyTok`.
 *
 * Per batch (B rows, unique-target subset U):
 * * recommender epoch — T frozen (dT, zr_t computed off the tape); the loss on R's trainables is
 *   w_code·CE + w_kl·KL(dS[U], dT[U]) + w_cl·InfoNCE(zr_t[U], h_D[U]). With micro-batches, CE and
 *   KL are summed per micro-batch with their exact weights (n_m/B, |U_m|/|U|); InfoNCE couples all
 *   of U, so a first pass without the tape computes h_D for the whole batch and ∂InfoNCE/∂h_D, and
 *   the taped pass adds Σ g·h_D (the same dropout masks are replayed from the saved RNG state):
 *   the summed gradient equals the full-batch gradient.
 * * tokenizer epoch — R frozen and in eval mode, so its outputs z_E, h_D are constants computed off
 *   the tape (micro-batched); the tokenizer loss runs over the whole batch: w_vq·(recon + α·rq on
 *   S[U]) + w_kl·KL + w_cl·InfoNCE.
 * * joint epoch ("w/o AT") — both modules on one tape; with micro-batches the alignment terms and
 *   vq use each micro-batch's own unique targets (documented approximation; exact when
 *   micro_batch_size ≥ batch_size).
 *
 * A micro-batch (one gradient tape, at most micro_batch_size rows) runs its encoder in length
 * groups: runs of rows (in history-length order) whose histories pad to the same bucketed length,
 * each at its own width, their outputs concatenated. So padding is bounded by the bucket, not by
 * the micro-batch's longest history, and a small micro-batch is not needed to keep padding low —
 * with one micro-batch per batch the cached-InfoNCE first pass is not needed at all.
 */
import * as tf from '@tensorflow/tfjs';
import { psaInfoNceLoss, selectRows, siaKlLoss, uniqueFirstIndex } from '../losses/alignment.ts';
import type { EtegrecRecommender } from '../models/recommender.ts';
import type { Rqvae } from '../models/rqvae.ts';
import { bucketLength } from '../eval/evaluateGenerative.ts';
import type { Rng } from '../rng.ts';
import type { DeviceBatches } from './deviceBatches.ts';
import { LOSS_KEYS } from './jointMetrics.ts';
import type { EpochPlan, JointTrainConfig } from './jointSchedule.ts';
import type { JointSamples, LossTerms } from './jointTypes.ts';

/** What a batch step needs of the run. */
export interface BatchModels {
  cfg: JointTrainConfig;
  train: JointSamples;
  rec: EtegrecRecommender;
  tok: Rqvae;
  semanticVar: tf.Variable;
  dropoutRng: Rng;
  batches: DeviceBatches;
  /** Clip, step the recommender's optimiser and schedule; disposes the grads, returns the pre-clip norm. */
  applyRec(grads: tf.NamedTensorMap): tf.Scalar;
  /** The same for the tokenizer. */
  applyTok(grads: tf.NamedTensorMap): tf.Scalar;
}

export interface BatchResult {
  terms: Record<keyof LossTerms, tf.Scalar>;
  recNorm?: tf.Scalar;
  tokNorm?: tf.Scalar;
}

type Norms = Omit<BatchResult, 'terms'>;

/** One micro-batch: rows [from, to) of the sorted batch, run as the length groups `groups`. */
interface Part {
  from: number;
  to: number;
  groups: [number, number][];
}

/** The recommender outputs a batch step uses, for the rows of one micro-batch. */
interface PartOutput {
  logits: tf.Tensor3D;
  seqProject: tf.Tensor2D;
  decLatent: tf.Tensor2D;
  /** The target codes of the rows. */
  Y: tf.Tensor2D;
}

/** A batch sorted for micro-batching, with its unique-target rows and the loss accumulators. */
interface Batch {
  B: number;
  U: Int32Array;
  targetIds: Int32Array;
  w: EpochPlan['weights'];
  parts: Part[];
  /** The recommender forward over one micro-batch (inside the caller's tidy / tape). */
  forward: (part: Part, o: { training: boolean; rng?: Rng }) => PartOutput;
  /** Releases the batch's device inputs. */
  dispose: () => void;
  zt: tf.Tensor2D;
  terms: Record<keyof LossTerms, tf.Scalar>;
  addTerm: (k: keyof LossTerms, v: tf.Tensor, f?: number) => void;
  sign: JointTrainConfig['sia_sign'];
  recVars: tf.Variable[];
  tokVars: tf.Variable[];
}

/** Rows of a batch that belong to the micro-batch [from, to), as local indices. */
function localRows(index: Int32Array, from: number, to: number): number[] {
  const out: number[] = [];
  for (const i of index) if (i >= from && i < to) out.push(i - from);
  return out;
}

/** Sums gradient maps (disposing the inputs). */
function addGrads(acc: tf.NamedTensorMap | null, g: tf.NamedTensorMap): tf.NamedTensorMap {
  if (!acc) return g;
  const out: tf.NamedTensorMap = {};
  for (const k of Object.keys(g)) out[k] = acc[k] ? tf.add(acc[k], g[k]) : g[k];
  for (const k of Object.keys(acc)) if (!g[k]) out[k] = acc[k];
  tf.dispose(Object.keys(g).filter((k) => acc[k]).flatMap((k) => [acc[k], g[k]]));
  return out;
}

/** One batch of §5.5 under `plan`; returns device scalars of the loss terms and the grad norms. */
export function trainBatch(m: BatchModels, plan: EpochPlan, rows: number[]): BatchResult {
  const b = prepareBatch(m, plan, rows);
  try {
    const norms = plan.phase === 'recommender' ? recommenderBatch(m, plan, b) : plan.phase === 'tokenizer' ? tokenizerBatch(m, b) : jointBatch(m, b);
    return { terms: b.terms, ...norms };
  } finally {
    b.dispose();
  }
}

function prepareBatch(m: BatchModels, plan: EpochPlan, rows: number[]): Batch {
  const cfg = m.cfg;
  const train = m.train;
  const B = rows.length;
  // U: first occurrence of each distinct target in the batch's own order (§5.5)
  const U0 = uniqueFirstIndex(Int32Array.from(rows, (r) => train.targets[r])).index;
  // Rows sorted by history length, so each micro-batch is padded only to its own longest history.
  // Exact: padding is masked, the losses are sums over rows, and U keeps its rows (re-indexed).
  const perm = Array.from(rows.keys()).sort((a, b) => train.lens[rows[a]] - train.lens[rows[b]] || a - b);
  const position = new Int32Array(B);
  perm.forEach((orig, pos) => (position[orig] = pos));
  const sorted = perm.map((i) => rows[i]);
  const U = Int32Array.from(U0, (i) => position[i]);
  const targetIds = Int32Array.from(sorted, (r) => train.targets[r]);
  const w = plan.weights;
  const micro = Math.max(1, Math.min(cfg.micro_batch_size, B));
  const parts = microBatches(Int32Array.from(sorted, (r) => bucketLength(train.lens[r], cfg.length_bucket, train.L)), micro);
  // encoder inputs and labels of each length group, gathered on the device from the row ids
  // (DeviceBatches) once per batch: the cached-InfoNCE passes both read them
  const inputs = new Map<number, { X: tf.Tensor2D; Y: tf.Tensor2D }>();
  const groupInput = (from: number, to: number) => {
    let t = inputs.get(from);
    if (!t) {
      const rowsOf = sorted.slice(from, to);
      t = { X: tf.keep(m.batches.historyCodes(rowsOf)), Y: tf.keep(m.batches.targetCodes(rowsOf)) };
      inputs.set(from, t);
    }
    return t;
  };
  const forward = (part: Part, o: { training: boolean; rng?: Rng }): PartOutput => {
    const outs = part.groups.map(([a, b]) => {
      const { X, Y } = groupInput(a, b);
      return { ...m.rec.forward(X, Y, o), Y };
    });
    if (outs.length === 1) return outs[0];
    const cat = <T extends tf.Tensor>(f: (x: (typeof outs)[number]) => T) => tf.concat(outs.map(f), 0) as T;
    return { logits: cat((x) => x.logits), seqProject: cat((x) => x.seqProject), decLatent: cat((x) => x.decLatent), Y: cat((x) => x.Y) };
  };
  const zt = tf.tidy(() => tf.gather(m.semanticVar, tf.tensor1d(targetIds, 'int32')) as tf.Tensor2D);
  const terms = Object.fromEntries(LOSS_KEYS.map((k) => [k, tf.scalar(0)])) as Record<keyof LossTerms, tf.Scalar>;
  // its own tidy: it is also called outside one (the cached InfoNCE), where tf.mul(v, f) leaked
  const addTerm = (k: keyof LossTerms, v: tf.Tensor, f = 1) => {
    const next = tf.tidy(() => tf.add(terms[k], f === 1 ? v : tf.mul(v, f)) as tf.Scalar);
    terms[k].dispose();
    terms[k] = tf.keep(next);
  };
  const sign = cfg.sia_sign;
  const recVars = [...m.rec.trainableVariables().values()];
  const tokVars = [...m.tok.params.trainable().values()];
  const dispose = () => {
    for (const t of inputs.values()) tf.dispose([t.X, t.Y]);
    zt.dispose();
  };
  return { B, U, targetIds, w, parts, forward, dispose, zt, terms, addTerm, sign, recVars, tokVars };
}

/**
 * Splits rows sorted by history length (`widths`: each row's bucketed length, non-decreasing) into
 * micro-batches of at most `micro` rows, each a list of length groups (runs of equal width).
 * Consecutive groups share a micro-batch while it has room, so a micro-batch is cut only at `micro`.
 */
export function microBatches(widths: ArrayLike<number>, micro: number): Part[] {
  const parts: Part[] = [];
  let cur: Part | null = null;
  for (let i = 0; i < widths.length; i++) {
    if (!cur || i - cur.from >= micro) {
      cur = { from: i, to: i, groups: [] };
      parts.push(cur);
    }
    const last = cur.groups[cur.groups.length - 1];
    if (last && widths[last[0]] === widths[i]) last[1] = i + 1;
    else cur.groups.push([i, i + 1]);
    cur.to = i + 1;
  }
  return parts;
}

/** Recommender epoch: T frozen (its outputs on the targets are constants). */
function recommenderBatch(m: BatchModels, plan: EpochPlan, { B, U, w, parts, forward, zt, addTerm, sign, recVars }: Batch): Norms {
  let recNorm: tf.Scalar | undefined;
  const { dT, zr } = tf.tidy(() => {
    const f = m.tok.forward(zt);
    return { dT: tf.keep(f.distances), zr: tf.keep(f.recon) };
  });
  const rngStart = m.dropoutRng.getState();
  let grad: tf.Tensor2D | null = null;
  const useCache = w.decCl !== 0 && parts.length > 1;
  if (useCache) {
    // pass 1: h_D of the whole batch (same dropout masks as pass 2), InfoNCE and ∂/∂h_D
    const hs: tf.Tensor[] = [];
    for (const part of parts) hs.push(tf.tidy(() => forward(part, { training: plan.recommenderMode === 'train', rng: m.dropoutRng }).decLatent));
    const hD = tf.concat(hs, 0) as tf.Tensor2D;
    tf.dispose(hs);
    const { value, grad: g } = tf.tidy(() => {
      const vg = tf.valueAndGrad((h: tf.Tensor) => psaInfoNceLoss(zr, h, { rows: U }));
      const r = vg(hD);
      return { value: r.value, grad: r.grad as tf.Tensor2D };
    });
    addTerm('decCl', value);
    addTerm('total', value, w.decCl);
    value.dispose();
    hD.dispose();
    grad = g;
    m.dropoutRng.setState(rngStart);
  }
  let acc: tf.NamedTensorMap | null = null;
  // weight 0 over several micro-batches: the logged InfoNCE is still the full batch's (negatives
  // from all of U), from the h_D kept off the gradient
  const logLatents: tf.Tensor[] = [];
  for (const part of parts) {
    const { from: a, to: b } = part;
    const n = b - a;
    const Um = parts.length > 1 ? localRows(U, a, b) : Array.from(U);
    const { value, grads } = tf.tidy(() => {
      const dTm = parts.length > 1 ? tf.slice(dT, [a, 0, 0], [n, -1, -1]) : dT;
      const zrm = parts.length > 1 ? tf.slice(zr, [a, 0], [n, -1]) : zr;
      return tf.variableGrads(() => {
        const out = forward(part, { training: plan.recommenderMode === 'train', rng: m.dropoutRng });
        const code = m.rec.codeLoss(out.logits, out.Y);
        const dS = m.tok.quantize(out.seqProject).distances;
        const kl = Um.length ? siaKlLoss(dS, dTm, { sign, rows: Um }) : tf.scalar(0);
        const klW = parts.length > 1 ? Um.length / U.length : 1;
        const codeW = n / B;
        addTerm('code', code, codeW);
        addTerm('kl', kl, klW);
        let total = tf.add(tf.mul(code, w.code * codeW), tf.mul(kl, w.kl * klW));
        addTerm('total', total);
        if (useCache && grad) {
          // Σ g·h_D has the InfoNCE's gradient, not its value (logged from pass 1)
          const gm = tf.slice(grad, [a, 0], [n, -1]);
          total = tf.add(total, tf.mul(tf.sum(tf.mul(gm, out.decLatent)), w.decCl));
        } else if (parts.length === 1) {
          const cl = psaInfoNceLoss(zrm, out.decLatent, { rows: Um });
          addTerm('decCl', cl);
          addTerm('total', cl, w.decCl);
          total = tf.add(total, tf.mul(cl, w.decCl));
        } else {
          logLatents.push(tf.keep(tf.clone(out.decLatent)));
        }
        return total as tf.Scalar;
      }, recVars);
    });
    acc = addGrads(acc, grads);
    value.dispose();
  }
  if (logLatents.length) {
    const cl = tf.tidy(() => psaInfoNceLoss(zr, tf.concat(logLatents, 0) as tf.Tensor2D, { rows: U }));
    addTerm('decCl', cl);
    cl.dispose();
    tf.dispose(logLatents);
  }
  tf.dispose([dT, zr]);
  grad?.dispose();
  if (acc) recNorm = m.applyRec(acc);
  return { recNorm };
}

/** Tokenizer epoch: R frozen and in eval mode (z_E, h_D are constants). */
function tokenizerBatch(m: BatchModels, { B, U, w, parts, forward, zt, terms, addTerm, sign, tokVars }: Batch): Norms {
  const cfg = m.cfg;
  const zs: tf.Tensor[] = [];
  const hs: tf.Tensor[] = [];
  for (const part of parts) {
    const r = tf.tidy(() => {
      const out = forward(part, { training: false });
      addTerm('code', m.rec.codeLoss(out.logits, out.Y), (part.to - part.from) / B);
      return [out.seqProject, out.decLatent];
    });
    zs.push(r[0]);
    hs.push(r[1]);
  }
  const zE = tf.concat(zs, 0) as tf.Tensor2D;
  const hD = tf.concat(hs, 0) as tf.Tensor2D;
  tf.dispose([...zs, ...hs]);
  const codeLogged = terms.code;
  const { value, grads } = tf.tidy(() =>
    tf.variableGrads(() => {
      const f = m.tok.forward(zt);
      const dS = m.tok.quantize(zE).distances;
      const kl = siaKlLoss(dS, f.distances, { sign, rows: U });
      const cl = psaInfoNceLoss(f.recon, hD, { rows: U });
      const fu = m.tok.forward(selectRows(zt, U) as tf.Tensor2D);
      const vq = tf.add(fu.reconLoss, tf.mul(fu.rqLoss, cfg.alpha));
      addTerm('kl', kl);
      addTerm('decCl', cl);
      addTerm('vq', vq);
      addTerm('recon', fu.reconLoss);
      addTerm('rq', fu.rqLoss);
      return tf.addN([tf.mul(vq, w.vq), tf.mul(codeLogged, w.code), tf.mul(kl, w.kl), tf.mul(cl, w.decCl)]) as tf.Scalar;
    }, tokVars),
  );
  addTerm('total', value);
  value.dispose();
  tf.dispose([zE, hD]);
  return { tokNorm: m.applyTok(grads) };
}

/** Joint epoch ("w/o AT"): both modules on one tape, alignment per micro-batch. */
function jointBatch(m: BatchModels, { B, U, targetIds, w, parts, forward, zt, addTerm, sign, recVars, tokVars }: Batch): Norms {
  const cfg = m.cfg;
  let recNorm: tf.Scalar | undefined;
  let tokNorm: tf.Scalar | undefined;
  let accR: tf.NamedTensorMap | null = null;
  let accT: tf.NamedTensorMap | null = null;
  const recNames = new Set(recVars.map((v) => v.name));
  for (const part of parts) {
    const { from: a, to: b } = part;
    const n = b - a;
    const Um = parts.length > 1 ? uniqueFirstIndex(targetIds.subarray(a, b)).index : U;
    const f = n / B;
    const { value, grads } = tf.tidy(() => {
      const ztm = parts.length > 1 ? (tf.slice(zt, [a, 0], [n, -1]) as tf.Tensor2D) : zt;
      return tf.variableGrads(() => {
        const out = forward(part, { training: true, rng: m.dropoutRng });
        const code = m.rec.codeLoss(out.logits, out.Y);
        const ft = m.tok.forward(ztm);
        const dS = m.tok.quantize(out.seqProject).distances;
        const kl = siaKlLoss(dS, ft.distances, { sign, rows: Um });
        const cl = psaInfoNceLoss(ft.recon, out.decLatent, { rows: Um });
        const fu = m.tok.forward(selectRows(ztm, Um) as tf.Tensor2D);
        const vq = tf.add(fu.reconLoss, tf.mul(fu.rqLoss, cfg.alpha));
        addTerm('code', code, f);
        addTerm('kl', kl, f);
        addTerm('decCl', cl, f);
        addTerm('vq', vq, f);
        addTerm('recon', fu.reconLoss, f);
        addTerm('rq', fu.rqLoss, f);
        return tf.mul(tf.addN([tf.mul(vq, w.vq), tf.mul(code, w.code), tf.mul(kl, w.kl), tf.mul(cl, w.decCl)]), f) as tf.Scalar;
      }, [...recVars, ...tokVars]);
    });
    const gR: tf.NamedTensorMap = {};
    const gT: tf.NamedTensorMap = {};
    for (const [k, g] of Object.entries(grads)) (recNames.has(k) ? gR : gT)[k] = g;
    accR = addGrads(accR, gR);
    accT = addGrads(accT, gT);
    addTerm('total', value);
    value.dispose();
  }
  if (accR) recNorm = m.applyRec(accR);
  if (accT) tokNorm = m.applyTok(accT);
  return { recNorm, tokNorm };
}
