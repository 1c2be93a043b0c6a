/**
 * Item → code table (spec §5.2): [c1, c2, c3, suffix] per item, row 0 = PAD [-1, -1, -1, -1].
 * suffix = number of earlier items (smaller id) with the same 3-tuple. Optional FORGE rewrite of
 * level 3 (fork default; off in the studio): within each (c1, c2) group, in first-appearance order,
 * member j gets c3 = (adler32("(c1, c2)") mod K + j) mod K.
 */
import { StudioError } from '../errors.ts';

/** zlib adler32 (a = 1, b = 0; mod 65521), as an unsigned 32-bit number. */
export function adler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < bytes.length; i++) {
    a = (a + bytes[i]) % 65521;
    b = (b + a) % 65521;
  }
  return b * 65536 + a;
}

/** The Python tuple text "(c1, c2)" → adler32 mod K. */
export function forgeOffset(c1: number, c2: number, K = 256): number {
  return adler32(new TextEncoder().encode(`(${c1}, ${c2})`)) % K;
}

export interface CodeTableOptions {
  forge?: boolean;
  /** Level-3 codebook size for FORGE (256). */
  codebookSize?: number;
}

export interface CodeTable {
  /** (N + 1) × 4, row-major; row 0 is PAD. */
  codes: Int32Array;
  items: number;
  maxSuffix: number;
  /** maxSuffix + 1 > codebookSize: the reference would fail at lookup (official code raises). */
  suffixOverflow: boolean;
}

/** prefix: N × 3 level-wise argmin codes for items 1..N (row i−1 = item i). */
export function buildCodeTable(prefix: Int32Array, n: number, opts: CodeTableOptions = {}): CodeTable {
  if (prefix.length !== n * 3) throw new RangeError(`prefix has ${prefix.length} entries, expected ${n} × 3`);
  const K = opts.codebookSize ?? 256;
  const p = Int32Array.from(prefix);
  if (opts.forge) {
    const groups = new Map<number, number[]>(); // insertion order = first appearance
    for (let i = 0; i < n; i++) {
      const key = p[i * 3] * 65536 + p[i * 3 + 1];
      let g = groups.get(key);
      if (!g) groups.set(key, (g = []));
      g.push(i);
    }
    for (const members of groups.values()) {
      const off = forgeOffset(p[members[0] * 3], p[members[0] * 3 + 1], K);
      members.forEach((i, j) => (p[i * 3 + 2] = (off + j) % K));
    }
  }
  const codes = new Int32Array((n + 1) * 4);
  codes.fill(-1, 0, 4);
  const seen = new Map<string, number>();
  let maxSuffix = 0;
  for (let i = 0; i < n; i++) {
    const key = `${p[i * 3]},${p[i * 3 + 1]},${p[i * 3 + 2]}`;
    const s = seen.get(key) ?? 0;
    seen.set(key, s + 1);
    maxSuffix = Math.max(maxSuffix, s);
    codes.set([p[i * 3], p[i * 3 + 1], p[i * 3 + 2], s], (i + 1) * 4);
  }
  return { codes, items: n, maxSuffix, suffixOverflow: maxSuffix + 1 > K };
}

/** code.json as Python's json.dump writes it: [[-1, -1, -1, -1], [c1, c2, c3, s], …]. */
export function writeCodeJson(codes: Int32Array): string {
  const rows: string[] = [];
  for (let r = 0; r < codes.length / 4; r++) rows.push(`[${codes[r * 4]}, ${codes[r * 4 + 1]}, ${codes[r * 4 + 2]}, ${codes[r * 4 + 3]}]`);
  return `[${rows.join(', ')}]`;
}

/** Parses and validates code.json; returns (N + 1) × 4 codes. */
export function readCodeJson(text: string, fileName = 'code.json'): { codes: Int32Array; items: number } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new StudioError({ code: 'malformed_input', file: fileName, message: `Not valid JSON: ${(e as Error).message}` });
  }
  if (!Array.isArray(v) || v.length < 1) {
    throw new StudioError({ code: 'malformed_input', file: fileName, message: 'Expected a JSON list of N+1 code rows', found: typeof v });
  }
  const codes = new Int32Array(v.length * 4);
  v.forEach((row: unknown, r) => {
    if (!Array.isArray(row) || row.length !== 4 || !row.every((c) => Number.isInteger(c))) {
      throw new StudioError({ code: 'malformed_input', file: fileName, message: `Row ${r} is not a list of 4 integers`, found: JSON.stringify(row)?.slice(0, 60) });
    }
    const pad = r === 0;
    for (const c of row as number[]) {
      if (pad ? c !== -1 : c < 0) {
        throw new StudioError({ code: 'malformed_input', file: fileName, message: pad ? 'Row 0 (PAD) must be [-1, -1, -1, -1]' : `Row ${r} has a negative code`, found: JSON.stringify(row) });
      }
      // an Int32Array wraps larger values (4294967296 → 0), which would pass every later range check
      if (c > 0x7fffffff) {
        throw new StudioError({ code: 'malformed_input', file: fileName, message: `Row ${r} has a code beyond the 32-bit range`, expected: 'codes below 2^31', found: JSON.stringify(row) });
      }
    }
    codes.set(row as number[], r * 4);
  });
  return { codes, items: v.length - 1 };
}
