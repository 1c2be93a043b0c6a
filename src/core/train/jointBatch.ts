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
import { dealParts, flattenGrads, unflattenGrads, type BatchPeers } from './dataParallel.ts';
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
  /** Data-parallel replicas (dataParallel.ts): this one computes only the micro-batches dealt to it. */
  peers?: BatchPeers;
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
  /** Whether this replica computes micro-batch i (always, without peers). */
  mine: (i: number) => boolean;
  /** With peers: puts the dropout Rng where micro-batch i starts in the one-thread stream (i = parts.length: after the batch). */
  seekDropout: (i: number, training: boolean) => void;
  /** Batch-wide terms are logged by one replica only (their sum over replicas is then the value). */
  lead: boolean;
  /** With peers: no replica computes more than one micro-batch (batch-wide rows can be exchanged on the tape). */
  onePartEach: boolean;
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
  const widths = Int32Array.from(sorted, (r) => bucketLength(train.lens[r], cfg.length_bucket, train.L));
  const peers = m.peers;
  // replicas share a batch of one micro-batch by its length groups (one share each: the
  // recommender's InfoNCE then needs no first pass); larger batches are dealt by micro-batches
  const micros = microBatches(widths, micro);
  const shares = peers && peers.size > 1 && micros.length === 1 ? replicaShares(micros[0], widths, peers.size, m.rec.config.t5.dropout_rate > 0) : null;
  const parts = shares ?? micros;
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
  // a micro-batch's cost and dropout draws are the sums over its length groups (one forward each)
  const groupEncLen = (g: [number, number]) => m.batches.encoderLength(sorted.slice(g[0], g[1]));
  const owner = shares ? shares.map((_, i) => i) : peers ? dealParts(parts.map((p) => p.groups.reduce((c, g) => c + (g[1] - g[0]) * groupEncLen(g), 0)), peers.size) : [];
  const mine = (i: number) => !peers || owner[i] === peers.rank;
  const rngStart = m.dropoutRng.getState();
  let drawStart: number[] | null = null;
  const seekDropout = (i: number, training: boolean) => {
    if (!peers || !training) return;
    if (!drawStart) {
      drawStart = [0];
      parts.forEach((p, j) => drawStart!.push(drawStart![j] + p.groups.reduce((d, g) => d + m.rec.dropoutDraws(g[1] - g[0], groupEncLen(g)), 0)));
    }
    m.dropoutRng.setState(rngStart).skip(drawStart[i]);
  };
  const dispose = () => {
    for (const t of inputs.values()) tf.dispose([t.X, t.Y]);
    zt.dispose();
  };
  const onePartEach = !!peers && new Set(owner).size === owner.length;
  return { B, U, targetIds, w, parts, forward, dispose, zt, terms, addTerm, sign, recVars, tokVars, mine, seekDropout, lead: !peers || peers.rank === 0, onePartEach };
}

/**
 * Splits rows sorted by history length (`widths`: each row's bucketed length, non-decreasing) into
 * micro-batches of at most `micro` rows, each a list of length groups (runs of equal width).
 * Consecutive groups share a micro-batch while it has room, so a micro-batch is cut only at `micro`.
 */
export function microBatches(widths: ArrayLike<number>, micro: number): Part[] {
  const starts: number[] = [];
  for (let i = 0; i < widths.length; i += micro) starts.push(i);
  return partsAt(widths, starts);
}

/**
 * A length group's fixed cost in the units of replicaShares (a row costs its encoder width plus one):
 * one forward and backward pass is ~2,700 kernel calls at ~10 µs whatever its rows, about as much
 * as 180 such row units take in compute (measured at the quick preset's shapes on the sample).
 */
const GROUP_COST = 180;

/**
 * Splits one micro-batch into at most `k` contiguous shares, one per replica, minimising the
 * costliest share (rows by encoder width + 1, plus GROUP_COST per length group or piece of one a
 * share runs). With `wholeGroups` a share holds whole length groups, so each row's dropout draws stay
 * where the one-thread stream has them; without dropout a group may be cut anywhere.
 */
export function replicaShares(part: Part, widths: ArrayLike<number>, k: number, wholeGroups: boolean): Part[] {
  const { from, to } = part;
  const cuts = wholeGroups ? part.groups.map((g) => g[0]) : Array.from({ length: to - from }, (_, i) => from + i);
  cuts.push(to);
  const rowCost = [0];
  const groupOf: number[] = [];
  part.groups.forEach(([a, b], gi) => {
    for (let i = a; i < b; i++) {
      rowCost.push(rowCost[rowCost.length - 1] + widths[i] + 1);
      groupOf.push(gi);
    }
  });
  const cost = (i: number, j: number) => rowCost[j - from] - rowCost[i - from] + GROUP_COST * (groupOf[j - 1 - from] - groupOf[i - from] + 1);
  // best[s][c]: the least costliest share of rows [from, cuts[c]) in s shares, and its last cut
  const n = cuts.length;
  const shares = Math.min(k, n - 1);
  let best = cuts.map((c, ci) => ({ worst: ci ? cost(from, c) : 0, prev: [] as number[] }));
  for (let s = 2; s <= shares; s++) {
    best = cuts.map((c, ci) => {
      let out = { worst: Infinity, prev: [] as number[] };
      for (let pi = s - 1; pi < ci; pi++) {
        const w = Math.max(best[pi].worst, cost(cuts[pi], c));
        if (w < out.worst) out = { worst: w, prev: [...best[pi].prev, cuts[pi]] };
      }
      return out;
    });
  }
  return partsAt(widths, [from, ...best[n - 1].prev], to);
}

/** Micro-batches starting at `starts` (increasing) and ending at `end`, each cut into its length groups. */
function partsAt(widths: ArrayLike<number>, starts: number[], end = widths.length): Part[] {
  return starts.map((from, j) => {
    const to = j + 1 < starts.length ? starts[j + 1] : end;
    const groups: [number, number][] = [];
    for (let i = from; i < to; i++) {
      const last = groups[groups.length - 1];
      if (last && widths[last[0]] === widths[i]) last[1] = i + 1;
      else groups.push([i, i + 1]);
    }
    return { from, to, groups };
  });
}

/** Sums this replica's partial loss terms over the replicas (in place). */
function sumTerms(peers: BatchPeers, terms: Record<keyof LossTerms, tf.Scalar>): void {
  const sum = peers.allSum(Float32Array.from(LOSS_KEYS, (k) => terms[k].dataSync()[0]));
  LOSS_KEYS.forEach((k, i) => {
    terms[k].dispose();
    terms[k] = tf.scalar(sum[i]);
  });
}

/** The sum over replicas of their gradient maps (disposing this replica's). */
function sumGrads(peers: BatchPeers, vars: tf.Variable[], acc: tf.NamedTensorMap | null): tf.NamedTensorMap {
  const flat = flattenGrads(vars, acc);
  if (acc) tf.dispose(Object.values(acc));
  return unflattenGrads(vars, peers.allSum(flat));
}

/** Rows [B, width] assembled over the replicas from the micro-batch rows each computed. */
function gatherRows(peers: BatchPeers, B: number, width: number, own: { from: number; rows: tf.Tensor }[]): tf.Tensor2D {
  const buf = new Float32Array(B * width);
  for (const { from, rows } of own) buf.set(rows.dataSync() as Float32Array, from * width);
  return tf.tensor2d(peers.allSum(buf), [B, width]);
}

/**
 * The n rows of a batch-wide tensor with this replica's rows [from, from + own rows) kept on the tape
 * and every other replica's received through the shared sum as constants: a loss over all n rows then
 * has its gradient on the own rows only, and the sum over replicas is the whole gradient.
 */
function ownRowsOnTape(peers: BatchPeers, n: number, width: number, from: number, own: tf.Tensor2D | null): tf.Tensor2D {
  const all = gatherRows(peers, n, width, own ? [{ from, rows: own }] : []);
  const to = from + (own?.shape[0] ?? 0);
  return tf.concat([tf.slice(all, [0, 0], [from, -1]), own ?? tf.zeros([0, width]), tf.slice(all, [to, 0], [n - to, -1])], 0) as tf.Tensor2D;
}

/** Recommender epoch: T frozen (its outputs on the targets are constants). */
function recommenderBatch(m: BatchModels, plan: EpochPlan, batch: Batch): Norms {
  const { B, U, w, parts, forward, zt, addTerm, sign, recVars, terms, mine, seekDropout, lead, onePartEach } = batch;
  const peers = m.peers;
  const training = plan.recommenderMode === 'train';
  let recNorm: tf.Scalar | undefined;
  const { dT, zr } = tf.tidy(() => {
    const f = m.tok.forward(zt);
    return { dT: tf.keep(f.distances), zr: tf.keep(f.recon) };
  });
  const rngStart = m.dropoutRng.getState();
  let grad: tf.Tensor2D | null = null;
  const width = m.rec.config.semantic_hidden_size;
  // one micro-batch per replica: each replica's taped h_D rows meet the others' (exchanged as
  // constants) in the whole batch's InfoNCE; its gradient reaches only the own rows, so the sum over
  // replicas is the full-batch gradient, without the first pass
  const exchange = peers && onePartEach && w.decCl !== 0 && parts.length > 1 ? peers : null;
  const useCache = w.decCl !== 0 && parts.length > 1 && !exchange;
  if (useCache) {
    // pass 1: h_D of the whole batch (same dropout masks as pass 2), InfoNCE and ∂/∂h_D
    const hs: tf.Tensor[] = [];
    const own: { from: number; rows: tf.Tensor }[] = [];
    parts.forEach((part, i) => {
      if (!mine(i)) return;
      seekDropout(i, training);
      const h = tf.tidy(() => forward(part, { training, rng: m.dropoutRng }).decLatent);
      hs.push(h);
      own.push({ from: part.from, rows: h });
    });
    const hD = peers ? gatherRows(peers, B, width, own) : (tf.concat(hs, 0) as tf.Tensor2D);
    tf.dispose(hs);
    const { value, grad: g } = tf.tidy(() => {
      const vg = tf.valueAndGrad((h: tf.Tensor) => psaInfoNceLoss(zr, h, { rows: U }));
      const r = vg(hD);
      return { value: r.value, grad: r.grad as tf.Tensor2D };
    });
    if (lead) {
      addTerm('decCl', value);
      addTerm('total', value, w.decCl);
    }
    value.dispose();
    hD.dispose();
    grad = g;
    m.dropoutRng.setState(rngStart);
  }
  let acc: tf.NamedTensorMap | null = null;
  // weight 0 over several micro-batches: the logged InfoNCE is still the full batch's (negatives
  // from all of U), from the h_D kept off the gradient
  const logLatents: tf.Tensor[] = [];
  const logOwn: { from: number; rows: tf.Tensor }[] = [];
  for (const [i, part] of parts.entries()) {
    if (!mine(i)) continue;
    seekDropout(i, training);
    const { from: a, to: b } = part;
    const n = b - a;
    const Um = parts.length > 1 ? localRows(U, a, b) : Array.from(U);
    const { value, grads } = tf.tidy(() => {
      const dTm = parts.length > 1 ? tf.slice(dT, [a, 0, 0], [n, -1, -1]) : dT;
      const zrm = parts.length > 1 ? tf.slice(zr, [a, 0], [n, -1]) : zr;
      return tf.variableGrads(() => {
        const out = forward(part, { training, rng: m.dropoutRng });
        const code = m.rec.codeLoss(out.logits, out.Y);
        const dS = m.tok.quantize(out.seqProject).distances;
        const kl = Um.length ? siaKlLoss(dS, dTm, { sign, rows: Um }) : tf.scalar(0);
        const klW = parts.length > 1 ? Um.length / U.length : 1;
        const codeW = n / B;
        addTerm('code', code, codeW);
        addTerm('kl', kl, klW);
        let total = tf.add(tf.mul(code, w.code * codeW), tf.mul(kl, w.kl * klW));
        addTerm('total', total);
        if (exchange) {
          const cl = psaInfoNceLoss(zr, ownRowsOnTape(exchange, B, width, a, out.decLatent), { rows: U });
          if (lead) {
            addTerm('decCl', cl);
            addTerm('total', cl, w.decCl);
          }
          total = tf.add(total, tf.mul(cl, w.decCl));
        } else if (useCache && grad) {
          // Σ g·h_D has the InfoNCE's gradient, not its value (logged from pass 1)
          const gm = tf.slice(grad, [a, 0], [n, -1]);
          total = tf.add(total, tf.mul(tf.sum(tf.mul(gm, out.decLatent)), w.decCl));
        } else if (parts.length === 1) {
          const cl = psaInfoNceLoss(zrm, out.decLatent, { rows: Um });
          addTerm('decCl', cl);
          addTerm('total', cl, w.decCl);
          total = tf.add(total, tf.mul(cl, w.decCl));
        } else {
          const h = tf.keep(tf.clone(out.decLatent));
          logLatents.push(h);
          logOwn.push({ from: a, rows: h });
        }
        return total as tf.Scalar;
      }, recVars);
    });
    acc = addGrads(acc, grads);
    value.dispose();
  }
  // a replica without a micro-batch in this batch still takes its turn in the exchange
  if (exchange && !parts.some((_, i) => mine(i))) exchange.allSum(new Float32Array(B * width));
  const logged = peers ? parts.length > 1 && !useCache && !exchange : logLatents.length > 0;
  if (logged) {
    const cl = tf.tidy(() => psaInfoNceLoss(zr, peers ? gatherRows(peers, B, width, logOwn) : (tf.concat(logLatents, 0) as tf.Tensor2D), { rows: U }));
    if (lead) addTerm('decCl', cl);
    cl.dispose();
  }
  tf.dispose(logLatents);
  tf.dispose([dT, zr]);
  grad?.dispose();
  seekDropout(parts.length, training);
  if (peers) {
    acc = sumGrads(peers, recVars, acc);
    sumTerms(peers, terms);
  }
  if (acc) recNorm = m.applyRec(acc);
  return { recNorm };
}

/** Tokenizer epoch: R frozen and in eval mode (z_E, h_D are constants). */
function tokenizerBatch(m: BatchModels, { B, U, w, parts, forward, zt, terms, addTerm, sign, tokVars, mine, lead }: Batch): Norms {
  const cfg = m.cfg;
  const peers = m.peers;
  const zs: tf.Tensor[] = [];
  const hs: tf.Tensor[] = [];
  const ownZ: { from: number; rows: tf.Tensor }[] = [];
  const ownH: { from: number; rows: tf.Tensor }[] = [];
  for (const [i, part] of parts.entries()) {
    if (!mine(i)) continue;
    const a = part.from;
    const r = tf.tidy(() => {
      const out = forward(part, { training: false });
      addTerm('code', m.rec.codeLoss(out.logits, out.Y), (part.to - part.from) / B);
      return [out.seqProject, out.decLatent];
    });
    zs.push(r[0]);
    hs.push(r[1]);
    ownZ.push({ from: a, rows: r[0] });
    ownH.push({ from: a, rows: r[1] });
  }
  const zE = peers ? gatherRows(peers, B, m.rec.config.e_dim, ownZ) : (tf.concat(zs, 0) as tf.Tensor2D);
  const hD = peers ? gatherRows(peers, B, m.rec.config.semantic_hidden_size, ownH) : (tf.concat(hs, 0) as tf.Tensor2D);
  tf.dispose([...zs, ...hs]);
  // The tokenizer loss reads only the unique-target rows U, each on its own (argmin codes), except
  // the InfoNCE: the replicas share U in equal runs, each tapes its rows' reconstructions and gets
  // the others' as constants for the whole-U InfoNCE. Shares weight the means by |U_r|/|U|; the
  // batch-wide terms (InfoNCE, the code loss's constant) are logged by the lead replica.
  const rank = peers?.rank ?? 0;
  const size = peers?.size ?? 1;
  const lo = Math.floor((rank * U.length) / size);
  const hi = Math.floor(((rank + 1) * U.length) / size);
  const Ur = U.subarray(lo, hi);
  const share = U.length ? Ur.length / U.length : 0;
  let grads: tf.NamedTensorMap | null = null;
  const lossOf = () => {
    let total: tf.Tensor = tf.mul(terms.code, w.code);
    let logged: tf.Tensor = total;
    let recon: tf.Tensor2D | null = null;
    if (Ur.length) {
      const fu = m.tok.forward(selectRows(zt, Ur) as tf.Tensor2D);
      const dS = m.tok.quantize(selectRows(zE, Ur) as tf.Tensor2D).distances;
      const kl = siaKlLoss(dS, fu.distances, { sign });
      const vq = tf.add(fu.reconLoss, tf.mul(fu.rqLoss, cfg.alpha));
      addTerm('kl', kl, share);
      addTerm('vq', vq, share);
      addTerm('recon', fu.reconLoss, share);
      addTerm('rq', fu.rqLoss, share);
      total = tf.add(total, tf.mul(tf.add(tf.mul(vq, w.vq), tf.mul(kl, w.kl)), share));
      logged = total;
      recon = fu.recon;
    }
    const reconU = peers ? ownRowsOnTape(peers, U.length, m.tok.config.in_dim, lo, recon) : recon!;
    const cl = psaInfoNceLoss(reconU, selectRows(hD, U));
    total = tf.add(total, tf.mul(cl, w.decCl));
    if (lead) {
      addTerm('decCl', cl);
      logged = tf.add(logged, tf.mul(cl, w.decCl));
    }
    addTerm('total', logged);
    return total as tf.Scalar;
  };
  if (Ur.length) {
    const r = tf.tidy(() => tf.variableGrads(lossOf, tokVars));
    r.value.dispose();
    grads = r.grads;
  } else tf.tidy(() => void lossOf()); // its turn in the exchange; nothing of the tokenizer to differentiate
  tf.dispose([zE, hD]);
  if (peers) {
    grads = sumGrads(peers, tokVars, grads);
    sumTerms(peers, terms);
  }
  return { tokNorm: m.applyTok(grads!) };
}

/** Joint epoch ("w/o AT"): both modules on one tape, alignment per micro-batch. */
function jointBatch(m: BatchModels, { B, U, targetIds, w, parts, forward, zt, addTerm, sign, recVars, tokVars, terms, mine, seekDropout }: Batch): Norms {
  const peers = m.peers;
  const cfg = m.cfg;
  let recNorm: tf.Scalar | undefined;
  let tokNorm: tf.Scalar | undefined;
  let accR: tf.NamedTensorMap | null = null;
  let accT: tf.NamedTensorMap | null = null;
  const recNames = new Set(recVars.map((v) => v.name));
  for (const [i, part] of parts.entries()) {
    if (!mine(i)) continue;
    seekDropout(i, true);
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
  seekDropout(parts.length, true);
  if (peers) {
    const all = sumGrads(peers, [...recVars, ...tokVars], accR || accT ? { ...accR, ...accT } : null);
    accR = {};
    accT = {};
    for (const [k, g] of Object.entries(all)) (recNames.has(k) ? accR : accT)[k] = g;
    sumTerms(peers, terms);
  }
  if (accR) recNorm = m.applyRec(accR);
  if (accT) tokNorm = m.applyTok(accT);
  return { recNorm, tokNorm };
}
