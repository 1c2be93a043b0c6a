export * from './params.ts';
export * from './layers.ts';
