export * from './types.ts';
export * from './importTable.ts';
export * from './dual.ts';
export * from './tfidf.ts';
export * from './svd.ts';
