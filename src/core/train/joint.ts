/**
 * Joint ETEGRec training (spec §5): alternating tokenizer / recommender epochs with the per-batch
 * losses of §5.5, code-table rebuilds, validation by beam search, early stopping, the finetune
 * stage, and the tests before and after finetuning. Resumable: after every finished epoch the
 * caller receives a JointCheckpoint holding everything needed to continue exactly.
 *
 * This file: the entry point (inputs checked, histories cut); the run: jointRun.ts; one batch of
 * each phase: jointBatch.ts; the epoch plans: jointSchedule.ts.
 */
import { StudioError } from '../errors.ts';
import { popularityTopK } from '../eval/diagnostics.ts';
import { SEMANTIC, type RecommenderConfig } from '../models/recommender.ts';
import type { RqvaeConfig } from '../models/rqvae.ts';
import type { NamedArray } from '../nn/params.ts';
import { subsampleEvenly, trainCountsFromSamples, truncateHistories } from './jointData.ts';
import { JointRun } from './jointRun.ts';
import { validateJointConfig, type JointTrainConfig } from './jointSchedule.ts';
import type { JointData, JointResult, JointTrainOptions } from './jointTypes.ts';

export type { JointTrainOptions } from './jointTypes.ts';
export { codeTableStats } from './jointMetrics.ts';

/** The recommender config of a run: the config's T5, the dataset's item count and semantic width, the tokenizer's latent width. */
export function jointRecommenderConfig(cfg: JointTrainConfig, numItems: number, semanticDim: number, tokenizer: RqvaeConfig): RecommenderConfig {
  return {
    t5: { ...cfg.t5 },
    code_length: 4,
    code_num: tokenizer.num_emb_list[0],
    e_dim: tokenizer.e_dim,
    semantic_hidden_size: semanticDim,
    n_items_plus_pad: numItems + 1,
    initializer_range: 0.02,
  };
}

/**
 * Runs (or resumes) joint training, the tests before and after finetuning included. Tensors are
 * all released at the end, also on error or cancellation; the last checkpoint handed to
 * `onCheckpoint` survives a crash.
 */
export async function trainJoint(data: JointData, config: JointTrainConfig, opts: JointTrainOptions = {}): Promise<JointResult> {
  const cfg = opts.resume ? opts.resume.config : config;
  const errs = validateJointConfig(cfg);
  if (errs.length) throw new StudioError({ code: 'bad_option', message: `joint training config: ${errs.join('; ')}` });
  let tokConfig: RqvaeConfig;
  let tokState: Record<string, NamedArray>;
  let recConfig: RecommenderConfig;
  if (opts.resume) {
    const c = opts.resume;
    if (c.format !== 'etegrec-joint-checkpoint' || c.version !== 1) throw new StudioError({ code: 'malformed_input', message: 'not a joint-training checkpoint (format/version)' });
    if (c.current.codes.length !== (data.numItems + 1) * 4) {
      throw new StudioError({ code: 'malformed_input', message: `checkpoint code table has ${c.current.codes.length / 4} rows, the dataset needs ${data.numItems + 1}` });
    }
    tokConfig = c.tokenizerConfig;
    tokState = c.current.tokenizer;
    recConfig = c.recommenderConfig;
  } else {
    if (!opts.tokenizer) throw new StudioError({ code: 'bad_option', message: 'joint training needs a pretrained tokenizer' });
    tokConfig = opts.tokenizer.config;
    tokState = opts.tokenizer.state;
    if (tokConfig.in_dim !== data.semanticDim) {
      throw new StudioError({
        code: 'bad_option',
        message: `the tokenizer expects ${tokConfig.in_dim}-d inputs but the semantic table is ${data.semanticDim}-d`,
      });
    }
    if (tokConfig.num_emb_list.length !== 3) throw new StudioError({ code: 'bad_option', message: `ETEGRec needs a 3-level tokenizer, got ${tokConfig.num_emb_list.length} levels` });
    recConfig = jointRecommenderConfig(cfg, data.numItems, data.semanticDim, tokConfig);
  }
  const h = cfg.max_history;
  const train = subsampleEvenly(truncateHistories(data.train, h), cfg.train_limit ?? 0);
  const cut: JointData = { ...data, train, valid: truncateHistories(data.valid, h), test: truncateHistories(data.test, h) };
  const popularTop = popularityTopK(trainCountsFromSamples(data.train, data.numItems), 10);
  const run = new JointRun(cfg, cut, recConfig, tokConfig, tokState, opts, popularTop);
  try {
    if (opts.resume) run.restore(opts.resume);
    else {
      await run.init();
      await run.opts.onCheckpoint?.(await run.checkpoint());
    }
    return await run.run();
  } finally {
    run.dispose();
  }
}

export { SEMANTIC };
