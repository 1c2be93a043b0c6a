// CSV exports must not hand a spreadsheet a formula: text starting with = + - @ (or a tab / CR) is
// neutralised with a leading apostrophe, numbers stay numbers.
import { describe, expect, it } from 'vitest';
import { csvField, readCsv, writeCsv } from '../../../src/core/io/csv.ts';
import { buildMetricsCsv, parseCsv, type RunRow } from '../../../src/core/runs/runTable.ts';

describe('csv cells', () => {
  it('neutralises formula-like text and keeps numbers', () => {
    expect(csvField('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`);
    expect(csvField('+1')).toBe("'+1");
    expect(csvField('-cmd')).toBe("'-cmd");
    expect(csvField('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvField('\tx')).toBe("'\tx");
    expect(csvField(-0.5)).toBe('-0.5');
    // a negative number formatted as text stays a number; text that only starts like one does not
    expect(csvField('-0.003500')).toBe('-0.003500');
    expect(csvField('-1e-5')).toBe('-1e-5');
    expect(csvField('-1+2')).toBe("'-1+2");
    expect(csvField('-2,3')).toBe(`"'-2,3"`);
    expect(csvField('plain name')).toBe('plain name');
    expect(readCsv(writeCsv(['a'], [['=1+1']]))[1][0]).toBe("'=1+1");
  });

  it('the Runs table CSV neutralises a run named like a formula', () => {
    const row = {
      stage: 'joint', id: 'r', name: '=cmd|calc', datasetId: 'd1', datasetName: '@toy', createdAt: 0, status: 'finished', backend: 'wasm', adapter: null,
      seed: null, durationSeconds: null, headline: null, preset: 'quick', presetInferred: false, config: null, configDiff: [], metrics: { 'test_ndcg@10': -0.5 }, curves: [],
    } as unknown as RunRow;
    const csv = parseCsv(buildMetricsCsv([row]));
    expect(csv[1][2]).toBe("'=cmd|calc");
    expect(csv[1][3]).toBe("'@toy");
    expect(csv[1][13]).toBe('-0.5');
  });
});
