/**
 * One evaluation as every stage reports it: beam search with Recall/NDCG, the invalid-code rate
 * and the list diagnostics, plus (when asked, on the test split) the history-shuffle test.
 */
import type { EtegrecRecommender } from '../models/recommender.ts';
import type { JointSamples } from '../train/jointTypes.ts';
import { evaluateGenerative, type GenerativeEvalOptions } from './evaluateGenerative.ts';
import type { GenerativeResult } from './generative.ts';
import { historyShuffleTest } from './shuffleTest.ts';

export interface SplitEvalOptions extends GenerativeEvalOptions {
  /** Run the history-shuffle test with this seed (on the same samples and limit). */
  shuffleSeed?: number;
  split?: 'valid' | 'test';
  /** Called before the shuffle test starts (a phase label). */
  onShuffleTest?: () => void;
}

export async function evaluateSplit(model: EtegrecRecommender, codeTable: Int32Array, samples: JointSamples, opts: SplitEvalOptions): Promise<GenerativeResult> {
  const result = await evaluateGenerative(model, codeTable, samples, opts);
  if (opts.shuffleSeed !== undefined && result.diagnostics) {
    opts.onShuffleTest?.();
    result.diagnostics.shuffle = await historyShuffleTest(model, codeTable, samples, {
      seed: opts.shuffleSeed,
      batchSize: opts.batchSize,
      lengthBucket: opts.lengthBucket ?? 10,
      split: opts.split ?? 'test',
      limit: opts.limit,
      signal: opts.signal,
    });
  }
  return result;
}
