/** The studio's pipeline stages (design/architecture.md), as the nav and the routes name them. */
import type { InteractionFormat } from '../core/data/types.ts';

export interface StageInfo {
  id: string;
  label: string;
  built: boolean;
}

export const STAGES: StageInfo[] = [
  { id: 'data', label: '1 · Data', built: true },
  { id: 'embeddings', label: '2 · Item embeddings', built: true },
  { id: 'tokenizer', label: '3 · Tokenizer (RQ-VAE)', built: true },
  { id: 'joint', label: '4 · Joint training', built: true },
  { id: 'grpo', label: '5 · Fine-tuning (GRPO)', built: true },
];

/** One line per interaction format, shown next to the format select. */
export const FORMAT_DESCRIPTIONS: Record<InteractionFormat | 'auto', string> = {
  auto: 'Detect the format from the file name and the first lines.',
  amazon2014: 'Amazon 2014 reviews, JSON lines: reviewerID, asin, unixReviewTime (s), overall.',
  amazon2018: 'Amazon 2018 reviews, JSON lines: the 2014 fields plus vote/verified/style.',
  amazon2023: 'Amazon 2023 reviews, JSONL: user_id, parent_asin, timestamp (ms), rating.',
  s3rec: 'Sequence file: "user item1 item2 …" per line, in chronological order.',
  sasrec: 'Sequence file: "user item" pairs per line, grouped by user, chronological.',
  reference: 'Reference ETEGRec bundle: .train/.valid/.test.jsonl + .emb_map.json (+ .inter), or one .zip.',
};

export const FORMAT_OPTIONS = Object.keys(FORMAT_DESCRIPTIONS) as (InteractionFormat | 'auto')[];

export const INTERACTION_FILE_ACCEPT = '.json,.jsonl,.gz,.txt,.zip,.inter,.tsv';
export const METADATA_FILE_ACCEPT = '.json,.jsonl,.gz,.txt,.tsv';
