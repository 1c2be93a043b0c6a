import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { bucketGrid, relativePositionBucket } from '../../../src/core/models/t5.ts';

const root = resolve(__dirname, '../../../../shared/conformance');
const manifest = JSON.parse(readFileSync(`${root}/pytorch/t5/manifest.json`, 'utf8')) as {
  relative_buckets: Record<string, Record<string, number>>;
};

describe('T5 relative position buckets', () => {
  it('spec §5.3 bidirectional table (32 buckets, max distance 128)', () => {
    const table: [number, number][] = [
      [-199, 15], [-64, 14], [-32, 12], [-16, 10], [-8, 8], [-7, 7], [-1, 1], [0, 0], [1, 17], [7, 23],
      [8, 24], [12, 25], [16, 26], [32, 28], [64, 30], [128, 31], [129, 31], [1000, 31],
    ];
    for (const [rel, b] of table) expect([rel, relativePositionBucket(rel, true, 32, 128)]).toEqual([rel, b]);
  });

  it('spec §5.3 unidirectional: −3, −2, −1 → 3, 2, 1; rel ≥ 0 → 0', () => {
    expect([-3, -2, -1].map((r) => relativePositionBucket(r, false))).toEqual([3, 2, 1]);
    expect([0, 1, 2, 50, 500].map((r) => relativePositionBucket(r, false))).toEqual([0, 0, 0, 0, 0]);
  });

  it("manifest's relative_buckets (both functions)", () => {
    const bi = manifest.relative_buckets.bidirectional_32_128;
    const uni = manifest.relative_buckets.unidirectional_32_128;
    for (const [rel, b] of Object.entries(bi)) expect([rel, relativePositionBucket(Number(rel), true, 32, 128)]).toEqual([rel, b]);
    for (const [rel, b] of Object.entries(uni)) expect([rel, relativePositionBucket(Number(rel), false, 32, 128)]).toEqual([rel, b]);
  });

  it('grid is rel = key − query, row-major', () => {
    const g = bucketGrid(3, 3, true);
    expect(Array.from(g)).toEqual([0, 17, 18, 1, 0, 17, 2, 1, 0]);
    expect(Array.from(bucketGrid(3, 3, false))).toEqual([0, 0, 0, 1, 0, 0, 2, 1, 0]);
  });
});
