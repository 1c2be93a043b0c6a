/**
 * Stage 3 (RQ-VAE item tokenizer) part of the worker contract. Types only: the UI imports these
 * shapes; workers/tokenizer.ts implements them. StudioWorkerApi (api.ts) extends TokenizerWorkerApi.
 */
import type { RqvaeTrainConfig } from '../src/core/stages/tokenizer.ts';
import type { ExportedFile, ProgressCallback, Result } from './contract.ts';

export type TokenizerPresetName = 'quick' | 'paper';

/** The RQ-VAE training config (declared once in src/core/stages/tokenizer.ts). */
export type TokenizerConfig = RqvaeTrainConfig;

export interface TokenizerPresetInfo {
  name: TokenizerPresetName;
  description: string;
  /** Resolved for the requested input width (single 256-d / dual 1024-d / any other width). */
  config: TokenizerConfig;
  /** Where each value comes from ([O] official, [F] fork, [P] paper, or "changed by us"). */
  provenance: Record<string, string>;
}

// Weight snapshots are declared with the stored record (type-only: no IndexedDB code reaches the UI).
export type { SnapshotInfo, SnapshotKind } from '../src/storage/tokenizers.ts';
import type { SnapshotInfo, SnapshotKind } from '../src/storage/tokenizers.ts';

/** A stored tokenizer of a dataset, without its data. */
export interface TokenizerSummary {
  id: string;
  datasetId: string;
  name: string;
  /** The embedding table it was trained on (or whose rows gave the imported tokenizer's codes). */
  embeddingId: string | null;
  embeddingName: string;
  /** 'rqvae' (trained here) or 'import:<file>'. */
  source: string;
  createdAt: number;
  items: number;
  inDim: number;
  eDim: number;
  layers: number[];
  numEmbList: number[];
  /** Collision rate of the level-wise codes before the de-dup suffix. */
  collisionRate: number;
  giniMean: number;
  giniPerLevel: number[];
  maxSuffix: number;
  /** Reference tensors in the stored safetensors. */
  tensorCount: number;
  /** Weight snapshots stored ('collision' is the one in use: its codes are the table). */
  snapshots: Partial<Record<SnapshotKind, SnapshotInfo>>;
  sizeBytes: number;
  /** Provenance: config, seed, backend, epochs, curves… (structured-cloneable). */
  meta: Record<string, unknown>;
}

export interface TokenizerTrainResult {
  cancelled: boolean;
  /** Null when nothing could be stored (a cancel before the first epoch ended). */
  tokenizer: TokenizerSummary | null;
  note: string;
  epochsRun: number;
  stoppedEarly: boolean;
  seconds: number;
  backend: string;
  seed: number;
}

export interface ItemRef {
  id: number;
  asin: string;
  title: string | null;
}

export interface CollisionGroup {
  /** The shared 3-tuple. */
  prefix: number[];
  items: ItemRef[];
}

export type { Projection } from '../src/core/eval/codebook.ts';
import type { Projection } from '../src/core/eval/codebook.ts';
import type { PrefixAgreement } from '../src/core/eval/partition.ts';

/** Everything the codebook inspector draws; built in the worker. */
export interface TokenizerView {
  summary: TokenizerSummary;
  /** (N + 1) × 4 row-major [c1, c2, c3, suffix]; row 0 = PAD. */
  codes: Int32Array;
  asins: string[];
  titles: (string | null)[];
  /** Per level, usage count of each code (length K). */
  usage: number[][];
  /** Groups of items sharing their 3-tuple, largest first (at most 50). */
  collisions: CollisionGroup[];
  collisionGroupCount: number;
  /** Per level, the codebook vectors in 2-D (level 1 in the item-latent PCA basis, others in their own). */
  codebookPca: Projection[];
  /** The item latents (encoder output) in 2-D, null when the embedding table is gone. */
  latentPca: Projection | null;
  /** Per item and level the 5 nearest codes to its residual (N × L × 5) and their squared distances; null without the table. */
  nearest: { k: number; codes: Int32Array; dists: Float32Array } | null;
}

export interface TokenizerExport {
  safetensors: ExportedFile;
  codeJson: { fileName: string; text: string };
  tensorCount: number;
}

export interface TokenizerImportResult {
  tokenizer: TokenizerSummary;
  /** "15 of 15 tensors matched" … */
  message: string;
  matched: number;
  total: number;
}

export interface TokenizerComparison {
  items: number;
  /** Items whose code differs at each level (of the 3 + suffix). */
  changedPerLevel: number[];
  /** Items whose full 4-tuple differs. */
  changed: number;
  /** The first changed items (at most 200). */
  rows: { id: number; asin: string; title: string | null; a: number[]; b: number[] }[];
  /** Partition agreement (ARI, NMI) of the groupings by the level-1, level-1–2 and level-1–3 codes. */
  agreement: PrefixAgreement[];
  /**
   * The raw ids line up (one run's checkpoints, a re-import): "changed codes" means something.
   * False for independently trained tokenizers, whose ids are arbitrary labels.
   */
  idsLineUp: boolean;
}

export interface TokenizerWorkerApi {
  /** The RQ-VAE presets resolved for an input width (the core module imports tfjs, so the UI asks here). */
  getTokenizerPresets(inDim: number): Promise<Result<TokenizerPresetInfo[]>>;
  /**
   * Pretrains the RQ-VAE on a stored embedding table on the current backend and stores the
   * best-collision snapshot (weights + code table); a cancel keeps the best snapshots so far.
   */
  trainTokenizer(
    datasetId: string,
    embeddingId: string,
    config: TokenizerConfig,
    jobId: string,
    onEvent: ProgressCallback,
  ): Promise<Result<TokenizerTrainResult>>;
  listTokenizers(datasetId: string): Promise<Result<TokenizerSummary[]>>;
  getTokenizerView(id: string): Promise<Result<TokenizerView>>;
  /** The best-collision weights (default) or another stored snapshot's, and the code table. */
  exportTokenizer(id: string, snapshot?: SnapshotKind): Promise<Result<TokenizerExport>>;
  /**
   * A `.safetensors` (as exported) or a reference `.pth`; the codes come from `embeddingId` or the
   * dataset's newest table of the tokenizer's input width. Nothing is stored on a mismatch.
   */
  importTokenizer(datasetId: string, file: Blob, fileName: string, embeddingId?: string): Promise<Result<TokenizerImportResult>>;
  compareTokenizers(aId: string, bId: string): Promise<Result<TokenizerComparison>>;
  deleteTokenizer(id: string): Promise<Result<void>>;
}
