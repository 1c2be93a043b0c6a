/**
 * One replica of a data-parallel joint run (trainJointParallel.ts): its own tfjs backend and
 * its own JointRun, trained on its share of every batch. Replica 0 reports events, epochs,
 * checkpoints and the result to the main thread; every replica reports its tensor count per epoch.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { selectBackend, type BackendName } from '../../core/backend.ts';
import { StudioError } from '../../core/errors.ts';
import { trainJoint } from '../../core/train/joint.ts';
import type { JointTrainConfig } from '../../core/train/jointSchedule.ts';
import type { JointData, JointTrainOptions } from '../../core/train/jointTypes.ts';
import { abortPeers, PeerAborted, SharedPeers, type SharedPeerMemory } from './sharedPeers.ts';

export interface JointWorkerInput {
  rank: number;
  memory: SharedPeerMemory;
  backend: BackendName;
  data: JointData;
  config: JointTrainConfig;
  options: Pick<JointTrainOptions, 'tokenizer' | 'resume' | 'maxEpochs'>;
}

export type JointWorkerMessage =
  | { type: 'event'; event: Parameters<NonNullable<JointTrainOptions['onEvent']>>[0] }
  | { type: 'epoch'; rank: number; record: Parameters<NonNullable<JointTrainOptions['onEpoch']>>[0]; numTensors: number }
  | { type: 'checkpoint'; checkpoint: Parameters<NonNullable<JointTrainOptions['onCheckpoint']>>[0] }
  | { type: 'result'; rank: number; result: Awaited<ReturnType<typeof trainJoint>> | null; numTensors: number }
  | { type: 'error'; rank: number; message: string; info?: StudioError['info']; echo: boolean };

const input = workerData as JointWorkerInput;
const port = parentPort!;
const post = (m: JointWorkerMessage) => port.postMessage(m);

async function main(): Promise<void> {
  const { rank } = input;
  await selectBackend([input.backend]);
  const peers = new SharedPeers(rank, input.memory);
  const reports = rank === 0;
  const result = await trainJoint(input.data, input.config, {
    ...input.options,
    peers,
    ...(reports ? { onEvent: (event) => post({ type: 'event', event }), onCheckpoint: (checkpoint) => post({ type: 'checkpoint', checkpoint }) } : {}),
    onEpoch: (record) => post({ type: 'epoch', rank, record, numTensors: tf.memory().numTensors }),
  });
  post({ type: 'result', rank, result: reports ? result : null, numTensors: tf.memory().numTensors });
}

main().catch((e: unknown) => {
  post({ type: 'error', rank: input.rank, message: e instanceof Error ? e.message : String(e), ...(e instanceof StudioError ? { info: e.info } : {}), echo: e instanceof PeerAborted });
  abortPeers(input.memory);
});
