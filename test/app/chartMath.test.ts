/** The shared chart's pure helpers: ticks by value range, single-point domains, EMA, scale split, CSV. */
import { describe, expect, it } from 'vitest';
import { chartCsv, chartFileName, ema, formatExact, lineStyle, splitScales, tickFormatter, valueAxis } from '../../src/app/components/chartMath.ts';

describe('valueAxis / tick formatting', () => {
  it('formats large steps with grouping, not "55.000"', () => {
    const a = valueAxis([0, 55_000]);
    expect(a.ticks.map(a.format)).toContain('40,000');
    expect(a.ticks.map(a.format).every((s) => !/\.000/.test(s))).toBe(true);
    expect(valueAxis([55, 56]).ticks.map(valueAxis([55, 56]).format).some((s) => s.endsWith('.000'))).toBe(false);
  });

  it('never repeats a tick label', () => {
    for (const [lo, hi, pct] of [[0, 0.0012, true], [0, 0.001, false], [4.9, 5.1, false], [0.00011, 0.00013, false], [0, 3e7, false], [0.2, 0.23, true]] as const) {
      const a = valueAxis([lo, hi], { percent: pct });
      const labels = a.ticks.map(a.format);
      expect(new Set(labels).size, `${lo}–${hi}: ${labels.join(' ')}`).toBe(labels.length);
      expect(labels.length).toBeGreaterThanOrEqual(2);
    }
  });

  it('percent of a fraction: "12.5 %" style, never past 100 % for fractions', () => {
    const a = valueAxis([0.1, 0.95], { percent: true, zero: true });
    expect(a.domain[1]).toBeLessThanOrEqual(1);
    expect(a.format(0.5)).toBe('50 %');
    expect(tickFormatter(0.001, { percent: true })(0.0015)).toBe('0.2 %');
  });

  it('a single point does not stretch the axis', () => {
    const one = valueAxis([0.04], { percent: true, zero: true });
    expect(one.domain[0]).toBe(0);
    expect(one.domain[1]).toBeLessThanOrEqual(0.05);
    const zero = valueAxis([0], { percent: true, zero: true });
    expect(zero.domain).toEqual([0, 0.01]);
    const five = valueAxis([5]);
    expect(five.domain[0]).toBeGreaterThanOrEqual(4.4);
    expect(five.domain[1]).toBeLessThanOrEqual(5.6);
  });

  it('integer axes have integer ticks', () => {
    const a = valueAxis([0, 3], { integer: true });
    expect(a.ticks.every(Number.isInteger)).toBe(true);
  });

  it('covers the data', () => {
    const a = valueAxis([0.0013, 0.0009, 0.0021]);
    expect(a.domain[0]).toBeLessThanOrEqual(0.0009);
    expect(a.domain[1]).toBeGreaterThanOrEqual(0.0021);
  });
});

describe('formatExact', () => {
  it('shows 6 significant digits', () => {
    expect(formatExact(5.123456789)).toBe('5.12346');
    expect(formatExact(0.0000123456)).toBe('1.23456e-5');
    expect(formatExact(55000)).toBe('55,000');
    expect(formatExact(0.1234, true)).toBe('12.34 %');
    expect(formatExact(undefined)).toBe('—');
  });
});

describe('ema (TensorBoard smoothing)', () => {
  it('is the identity at 0 and debiased otherwise', () => {
    expect(ema([1, 2, 3], 0)).toEqual([1, 2, 3]);
    const s = ema([1, 1, 1], 0.9) as number[];
    s.forEach((v) => expect(v).toBeCloseTo(1, 12));
    const t = ema([0, 10], 0.5) as number[];
    expect(t[0]).toBe(0);
    expect(t[1]).toBeCloseTo((0.5 * 0 * 0.5 + 0.5 * 10) / 0.75, 12);
  });

  it('keeps gaps and non-finite values out of the average', () => {
    const s = ema([2, undefined, NaN, 2], 0.6);
    expect(s[1]).toBeUndefined();
    expect(Number.isNaN(s[2])).toBe(true);
    expect(s[3]).toBeCloseTo(2, 12);
  });
});

describe('splitScales', () => {
  it('puts the tokenizer loss (~1e-3) on a second axis beside the recommender loss (~5)', () => {
    const rows = [
      { x: 1, tok: 0.0012 }, { x: 2, rec: 5.1 }, { x: 3, tok: 0.0009 }, { x: 4, rec: 4.8 }, { x: 5, ft: 4.2 },
    ];
    expect(splitScales(rows, ['tok', 'rec', 'ft'])).toEqual(['tok']);
  });
  it('keeps series of similar scale on one axis', () => {
    expect(splitScales([{ a: 0.2, b: 0.05 }], ['a', 'b'])).toEqual([]);
    expect(splitScales([{ a: 1 }], ['a'])).toEqual([]);
  });
});

describe('chartCsv / file names / line style', () => {
  it('writes a header, raw values and blanks for gaps, quoting names', () => {
    const csv = chartCsv([{ x: 1, a: 0.5 }, { x: 2, b: 3 }], 'x', 'epoch', [{ key: 'a', name: 'loss, tok' }, { key: 'b', name: 'b' }]);
    expect(csv).toBe('epoch,"loss, tok",b\n1,0.5,\n2,,3\n');
  });
  it('names files from the title', () => {
    expect(chartFileName('Total loss per epoch, by phase')).toBe('total-loss-per-epoch-by-phase');
  });
  it('draws few points straight with dots', () => {
    expect(lineStyle(3)).toEqual({ type: 'linear', dot: true });
    expect(lineStyle(500)).toEqual({ type: 'monotone', dot: false });
  });
});
