import { describe, expect, it } from 'vitest';
import { parsePythonLiteral } from '../../../src/core/data/pyliteral.ts';

describe('parsePythonLiteral', () => {
  it('parses scalars', () => {
    expect(parsePythonLiteral('True')).toBe(true);
    expect(parsePythonLiteral('False')).toBe(false);
    expect(parsePythonLiteral('None')).toBeNull();
    expect(parsePythonLiteral('42')).toBe(42);
    expect(parsePythonLiteral('-7')).toBe(-7);
    expect(parsePythonLiteral('+3')).toBe(3);
    expect(parsePythonLiteral('3.25')).toBe(3.25);
    expect(parsePythonLiteral('-1.5e-3')).toBe(-0.0015);
    expect(parsePythonLiteral('.5')).toBe(0.5);
    expect(parsePythonLiteral('1_000')).toBe(1000);
    expect(parsePythonLiteral('0x1F')).toBe(31);
    expect(parsePythonLiteral("  'x'  ")).toBe('x');
  });

  it('parses nested dicts, lists and tuples with trailing commas', () => {
    const text = "{'asin': '0000031852', 'title': 'Girls Ballet Tutu', 'price': 3.17, 'related': {'also_bought': ['B00JHONN1S', 'B002BZX8Z6'], 'n': (1, 2, (3,))}, 'salesRank': {'Toys & Games': 211836}, 'categories': [['Sports & Outdoors', 'Other Sports']], 'x': (), 'y': [], 'z': {}, 1: None, }";
    expect(parsePythonLiteral(text)).toEqual({
      asin: '0000031852', title: 'Girls Ballet Tutu', price: 3.17,
      related: { also_bought: ['B00JHONN1S', 'B002BZX8Z6'], n: [1, 2, [3]] },
      salesRank: { 'Toys & Games': 211836 }, categories: [['Sports & Outdoors', 'Other Sports']],
      x: [], y: [], z: {}, 1: null,
    });
    expect(parsePythonLiteral("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }")).toEqual({ descr: '<f4', fortran_order: false, shape: [3] });
    expect(parsePythonLiteral('(5)')).toBe(5);
    expect(parsePythonLiteral('[1,\n 2]')).toEqual([1, 2]);
  });

  it('handles quotes and escapes', () => {
    expect(parsePythonLiteral(`"it's"`)).toBe("it's");
    expect(parsePythonLiteral(`'say "hi"'`)).toBe('say "hi"');
    expect(parsePythonLiteral(String.raw`'a\'b\\c\"d'`)).toBe(`a'b\\c"d`);
    expect(parsePythonLiteral(String.raw`'l1\nl2\tt\r'`)).toBe('l1\nl2\tt\r');
    expect(parsePythonLiteral(String.raw`'\xe9\u00e9\U0001F600\x41'`)).toBe('éé😀A');
    expect(parsePythonLiteral(String.raw`'\101\0'`)).toBe('A\0');
    expect(parsePythonLiteral(String.raw`'\N{EM DASH}'`)).toBe('—');
    expect(parsePythonLiteral(String.raw`'keep \d unknown'`)).toBe('keep \\d unknown');
    expect(parsePythonLiteral(String.raw`r'\n raw'`)).toBe('\\n raw');
    expect(parsePythonLiteral(`u'unicode'`)).toBe('unicode');
    expect(parsePythonLiteral(`'a' "b"`)).toBe('ab');
    expect(parsePythonLiteral(`'''tri'ple'''`)).toBe("tri'ple");
    expect(parsePythonLiteral(`'日本語 ✓ 😀'`)).toBe('日本語 ✓ 😀');
    expect(parsePythonLiteral(`'''a''b'''`)).toBe("a''b");
    expect(parsePythonLiteral(String.raw`['a\nb', 'c', "d\te", 'plain', 'x\'y']`)).toEqual(['a\nb', 'c', 'd\te', 'plain', "x'y"]);
    expect(parsePythonLiteral("['ok', 'multi\\\nline']")).toEqual(['ok', 'multiline']);
    expect(() => parsePythonLiteral("['ok', 'bad\nline']")).toThrow(/newline/);
    expect(parsePythonLiteral('"""x\ny"""')).toBe('x\ny');
  });

  it('is safe with __proto__ keys', () => {
    const v = parsePythonLiteral("{'__proto__': {'polluted': 1}}") as Record<string, unknown>;
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects anything that is not a literal', () => {
    for (const bad of [
      "__import__('os').system('ls')", 'open("x")', 'foo', "{'a': foo}", '[1, 2', "{'a' 1}", "'unterminated",
      '1 + 2', '{1, 2}', "b'bytes'", 'lambda: 1', '[x for x in y]', '1j', '', "{'a': 1} extra", 'nan', 'inf',
      String.raw`'\xZZ'`, 'f(1)', '...', "'a\nb'",
    ]) {
      expect(() => parsePythonLiteral(bad), bad).toThrow();
    }
  });
});
