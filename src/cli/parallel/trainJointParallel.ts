/**
 * Data-parallel joint training over worker_threads (Node): `workers` replicas, each with its own
 * tfjs backend and JointRun, share every batch through SharedArrayBuffer slots
 * (src/core/train/dataParallel.ts has the arithmetic). The main thread only relays replica 0's
 * events, epochs and checkpoints and returns its result; the run equals trainJoint's up to the
 * association of float sums.
 */
import { Worker } from 'node:worker_threads';
import type { BackendName } from '../../core/backend.ts';
import { StudioError } from '../../core/errors.ts';
import { recommenderStateDictShapes } from '../../core/models/recommender.ts';
import { jointRecommenderConfig } from '../../core/train/joint.ts';
import type { JointTrainConfig } from '../../core/train/jointSchedule.ts';
import type { JointData, JointEpochRecord, JointResult, JointTrainOptions } from '../../core/train/jointTypes.ts';
import type { JointWorkerInput, JointWorkerMessage } from './jointWorker.ts';
import { abortPeers, allocatePeerMemory } from './sharedPeers.ts';

export interface ParallelOptions {
  workers: number;
  backend: BackendName;
  /** Every replica's tensor count after each of its epochs (tests: flat over epochs, in every worker). */
  onReplicaEpoch?: (rank: number, record: JointEpochRecord, numTensors: number) => void;
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Floats one replica exchanges at most: every trainable gradient at once (bounded by the state
 * dicts, which also hold the frozen semantic table) with a presence flag each, a batch of rows, or
 * the codes one beam search generated.
 */
function slotCapacity(data: JointData, cfg: JointTrainConfig, opts: JointTrainOptions): number {
  const c = opts.resume ?? null;
  const tokConfig = c ? c.tokenizerConfig : opts.tokenizer?.config;
  const tokState = c ? c.current.tokenizer : opts.tokenizer?.state;
  if (!tokConfig || !tokState) return 0; // trainJoint refuses the run with its own message
  const recConfig = c ? c.recommenderConfig : jointRecommenderConfig(cfg, data.numItems, data.semanticDim, tokConfig);
  const recShapes = Object.values(recommenderStateDictShapes(recConfig));
  const tokShapes = Object.values(tokState).map((a) => a.shape);
  const grads = [...recShapes, ...tokShapes].reduce((n, s) => n + size(s) + 1, 0);
  const rows = cfg.batch_size * Math.max(recConfig.semantic_hidden_size, recConfig.e_dim);
  // the beam search's pooled codes: every user of the larger split, return_beams × code_length each
  const generated = Math.max(data.valid.count, data.test.count) * cfg.return_beams * recConfig.code_length;
  return Math.max(grads, rows, generated) + 64;
}

export async function trainJointParallel(data: JointData, config: JointTrainConfig, opts: JointTrainOptions, par: ParallelOptions): Promise<JointResult> {
  const cfg = opts.resume ? opts.resume.config : config;
  const K = par.workers;
  const memory = allocatePeerMemory(K, slotCapacity(data, cfg, opts));
  const url = new URL('./jointWorker.mjs', import.meta.url);
  const workers: Worker[] = [];
  let result: JointResult | null = null;
  const errors: { message: string; info?: StudioError['info']; echo: boolean }[] = [];
  // checkpoints are written in the order replica 0 sent them; the result waits for the last write
  let writes: Promise<void> = Promise.resolve();
  const onAbort = () => abortPeers(memory);
  opts.signal?.addEventListener('abort', onAbort);
  try {
    await Promise.all(
      Array.from({ length: K }, (_, rank) => {
        const input: JointWorkerInput = {
          rank,
          memory,
          backend: par.backend,
          data,
          config,
          options: { ...(opts.tokenizer ? { tokenizer: opts.tokenizer } : {}), ...(opts.resume ? { resume: opts.resume } : {}), ...(opts.maxEpochs !== undefined ? { maxEpochs: opts.maxEpochs } : {}) },
        };
        const w = new Worker(url, { workerData: input });
        workers.push(w);
        return new Promise<void>((resolve) => {
          let ended = false;
          const end = () => {
            if (!ended) {
              ended = true;
              resolve();
            }
          };
          w.on('message', (m: JointWorkerMessage) => {
            if (m.type === 'event') opts.onEvent?.(m.event);
            else if (m.type === 'epoch') {
              par.onReplicaEpoch?.(m.rank, m.record, m.numTensors);
              if (m.rank === 0) opts.onEpoch?.(m.record);
            } else if (m.type === 'checkpoint') {
              const c = m.checkpoint;
              writes = writes.then(() => opts.onCheckpoint?.(c)).catch((e: unknown) => {
                errors.push({ message: e instanceof Error ? e.message : String(e), ...(e instanceof StudioError ? { info: e.info } : {}), echo: false });
                abortPeers(memory);
              });
            } else if (m.type === 'result') {
              if (m.rank === 0) result = m.result;
              end();
            } else if (m.type === 'error') {
              errors.push(m);
              end();
            }
          });
          w.on('error', (e) => {
            errors.push({ message: e.message, echo: false });
            abortPeers(memory);
            end();
          });
          w.on('exit', (code) => {
            if (!ended) errors.push({ message: `data-parallel worker ${rank} exited with code ${code}`, echo: false });
            end();
          });
        });
      }),
    );
    await writes;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await Promise.all(workers.map((w) => w.terminate()));
  }
  const cause = errors.find((e) => !e.echo) ?? errors[0];
  if (cause) throw cause.info ? new StudioError(cause.info) : new StudioError({ code: opts.signal?.aborted ? 'cancelled' : 'internal', message: cause.message });
  if (!result) throw new StudioError({ code: 'internal', message: 'data-parallel joint training ended without a result from worker 0' });
  return result;
}
