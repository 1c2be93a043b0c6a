export * from './db.ts';
export * from './datasets.ts';
export * from './errors.ts';
export * from './artifacts.ts';
export * from './jointRuns.ts';
export * from './grpoRuns.ts';
export * from './experiments.ts';
export * from './tokenizers.ts';
