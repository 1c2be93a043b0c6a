/**
 * A safe parser for Python literals (the subset `ast.literal_eval` accepts that data files use):
 * dict, list, tuple (-> array), str, int, float, True/False/None. Never evaluates anything; names,
 * calls, sets, bytes and operators other than a leading sign are rejected.
 */

export class PyLiteralError extends Error {
  constructor(message: string, readonly offset: number) {
    super(`${message} at offset ${offset}`);
    this.name = 'PyLiteralError';
  }
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\', "'": "'", '"': '"', n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', '\n': '',
};

/** A few common names for `\N{…}`; others are rejected (no Unicode name table in the bundle). */
const UNICODE_NAMES: Record<string, string> = {
  'NO-BREAK SPACE': '\u00a0', 'EM DASH': '\u2014', 'EN DASH': '\u2013', 'BULLET': '\u2022',
  'HORIZONTAL ELLIPSIS': '\u2026', 'DEGREE SIGN': '\u00b0', 'REGISTERED SIGN': '\u00ae',
  'TRADE MARK SIGN': '\u2122', 'COPYRIGHT SIGN': '\u00a9', 'LEFT SINGLE QUOTATION MARK': '\u2018',
  'RIGHT SINGLE QUOTATION MARK': '\u2019', 'LEFT DOUBLE QUOTATION MARK': '\u201c',
  'RIGHT DOUBLE QUOTATION MARK': '\u201d', 'SPACE': ' ', 'MICRO SIGN': '\u00b5',
};

const NAME_RE = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER_RE = /[+-]?[ \t]*(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?)/y;

export interface PyLiteralOptions {
  /**
   * Integer literals beyond ±(2^53 − 1) as their exact decimal digits (a string, as Python's
   * str(int) writes them) instead of a rounded double: for ids, which must stay exact.
   */
  unsafeIntegersAsText?: boolean;
}

export function parsePythonLiteral(text: string, opts: PyLiteralOptions = {}): unknown {
  const p = new Parser(text, opts.unsafeIntegersAsText ?? false);
  p.ws();
  const v = p.value();
  p.ws();
  if (p.i < text.length) p.fail(`unexpected ${JSON.stringify(text[p.i])} after the literal`);
  return v;
}

class Parser {
  i = 0;
  constructor(readonly s: string, readonly unsafeIntegersAsText = false) {}

  fail(msg: string): never {
    throw new PyLiteralError(msg, this.i);
  }

  ws(): void {
    const s = this.s;
    let i = this.i;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11) i++;
      else if (c === 92 && s.charCodeAt(i + 1) === 10) i += 2; // explicit line continuation
      else break;
    }
    this.i = i;
  }

  value(): unknown {
    const s = this.s;
    const c = s[this.i];
    if (c === undefined) this.fail('unexpected end of input');
    if (c === '{') return this.dict();
    if (c === '[') return this.seq('[', ']');
    if (c === '(') return this.tuple();
    if (c === "'" || c === '"') return this.strings();
    if (c === '-' || c === '+' || c === '.' || (c >= '0' && c <= '9')) return this.number();
    if (/[A-Za-z_]/.test(c)) {
      NAME_RE.lastIndex = this.i;
      const m = NAME_RE.exec(s)!;
      const name = m[0];
      const next = s[this.i + name.length];
      // String prefixes: u'' and r''/R'' (raw) are literals; b'' bytes are not supported.
      if ((next === "'" || next === '"') && /^(u|U|r|R|ur|UR|Ur|uR)$/.test(name)) return this.strings();
      if (name === 'True') { this.i += 4; return true; }
      if (name === 'False') { this.i += 5; return false; }
      if (name === 'None') { this.i += 4; return null; }
      this.fail(`name ${JSON.stringify(name)} is not a literal`);
    }
    this.fail(`unexpected ${JSON.stringify(c)}`);
  }

  dict(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.i++;
    this.ws();
    if (this.s[this.i] === '}') { this.i++; return out; }
    for (;;) {
      this.ws();
      if (this.s[this.i] === '}') { this.i++; return out; } // trailing comma
      const k = this.value();
      if (k !== null && typeof k === 'object') this.fail('unhashable dict key');
      this.ws();
      if (this.s[this.i] !== ':') this.fail(this.s[this.i] === ',' || this.s[this.i] === '}' ? 'sets are not supported' : "expected ':'");
      this.i++;
      this.ws();
      const v = this.value();
      const key = String(k === true ? 'True' : k === false ? 'False' : k === null ? 'None' : k);
      if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
      else out[key] = v;
      this.ws();
      const c = this.s[this.i];
      if (c === ',') { this.i++; continue; }
      if (c === '}') { this.i++; return out; }
      this.fail("expected ',' or '}'");
    }
  }

  seq(open: string, close: string): unknown[] {
    const out: unknown[] = [];
    this.i++;
    for (;;) {
      this.ws();
      if (this.s[this.i] === close) { this.i++; return out; }
      out.push(this.value());
      this.ws();
      const c = this.s[this.i];
      if (c === ',') { this.i++; continue; }
      if (c === close) { this.i++; return out; }
      this.fail(`expected ',' or '${close}' in ${open}${close}`);
    }
  }

  tuple(): unknown {
    const start = this.i;
    this.i++;
    this.ws();
    if (this.s[this.i] === ')') { this.i++; return []; }
    const first = this.value();
    this.ws();
    if (this.s[this.i] === ')') { this.i++; return first; } // parenthesised expression, not a tuple
    this.i = start;
    return this.seq('(', ')');
  }

  /** One or more adjacent string literals (Python concatenates them). */
  strings(): string {
    let out = this.string();
    for (;;) {
      const save = this.i;
      this.ws();
      const c = this.s[this.i];
      if (c === "'" || c === '"' || ((c === 'u' || c === 'r' || c === 'R' || c === 'U') && /['"]/.test(this.s[this.i + 1] ?? ''))) {
        out += this.string();
      } else {
        this.i = save;
        return out;
      }
    }
  }

  // Lazily cached positions of the next backslash / line break (amortised linear scanning).
  private nextBs = -1;
  private nextNl = -1;

  private nextPos(cache: number, ch: string): number {
    if (cache >= this.i) return cache;
    const k = this.s.indexOf(ch, this.i);
    return k < 0 ? Infinity : k;
  }

  string(): string {
    const s = this.s;
    let raw = false;
    while (s[this.i] !== "'" && s[this.i] !== '"') {
      if (s[this.i] === 'r' || s[this.i] === 'R') raw = true;
      this.i++;
    }
    const q = s[this.i];
    const triple = s[this.i + 1] === q && s[this.i + 2] === q;
    this.i += triple ? 3 : 1;
    let out = '';
    let runStart = this.i;
    for (;;) {
      const qi = s.indexOf(q, this.i);
      if (qi < 0) this.fail('unterminated string');
      this.nextBs = this.nextPos(this.nextBs, '\\');
      const stop = Math.min(qi, this.nextBs);
      if (!triple) {
        this.nextNl = Math.min(this.nextPos(this.nextNl, '\n'), this.nextPos(this.nextNl, '\r'));
        if (this.nextNl < stop) { this.i = this.nextNl; this.fail('newline in a single-quoted string'); }
      }
      if (stop === qi) {
        if (triple && !(s[qi + 1] === q && s[qi + 2] === q)) { this.i = qi + 1; continue; }
        out += s.slice(runStart, qi);
        this.i = qi + (triple ? 3 : 1);
        return out;
      }
      out += s.slice(runStart, stop);
      this.i = stop;
      if (raw) {
        // Raw strings keep the backslash but it still protects the next character from closing.
        out += s.slice(this.i, this.i + 2);
        this.i += 2;
      } else {
        out += this.escape();
      }
      runStart = this.i;
    }
  }

  escape(): string {
    const s = this.s;
    const e = s[this.i + 1];
    if (e === undefined) this.fail('unterminated escape');
    if (e in SIMPLE_ESCAPES) { this.i += 2; return SIMPLE_ESCAPES[e]; }
    if (e === '\r') { this.i += s[this.i + 2] === '\n' ? 3 : 2; return ''; }
    if (e === 'x' || e === 'u' || e === 'U') {
      const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
      const hex = s.slice(this.i + 2, this.i + 2 + n);
      if (hex.length !== n || !/^[0-9a-fA-F]+$/.test(hex)) this.fail(`bad \\${e} escape`);
      const cp = parseInt(hex, 16);
      if (cp > 0x10ffff) this.fail(`\\${e} escape out of range`);
      this.i += 2 + n;
      return String.fromCodePoint(cp);
    }
    if (e >= '0' && e <= '7') {
      const m = /^[0-7]{1,3}/.exec(s.slice(this.i + 1, this.i + 4))!;
      this.i += 1 + m[0].length;
      return String.fromCodePoint(parseInt(m[0], 8));
    }
    if (e === 'N') {
      const m = /^\{([^}]*)\}/.exec(s.slice(this.i + 2, this.i + 100));
      if (!m) this.fail('bad \\N escape');
      const ch = UNICODE_NAMES[m[1].toUpperCase()];
      if (ch === undefined) this.fail(`unsupported \\N{${m[1]}} escape`);
      this.i += 2 + m[0].length;
      return ch;
    }
    // Python keeps unknown escapes verbatim (backslash included).
    this.i += 2;
    return '\\' + e;
  }

  number(): number | string {
    const s = this.s;
    NUMBER_RE.lastIndex = this.i;
    const m = NUMBER_RE.exec(s);
    if (!m) this.fail('bad number');
    let text = m[0].replace(/\s+/g, '').replace(/_/g, '');
    const after = s[this.i + m[0].length];
    if (after !== undefined && /[A-Za-z0-9_.]/.test(after)) this.fail('bad number (complex numbers and names are not literals)');
    this.i += m[0].length;
    let sign = 1;
    if (text[0] === '-' || text[0] === '+') { if (text[0] === '-') sign = -1; text = text.slice(1); }
    let v: number;
    if (/^0[xX]/.test(text)) v = parseInt(text.slice(2), 16);
    else if (/^0[oO]/.test(text)) v = parseInt(text.slice(2), 8);
    else if (/^0[bB]/.test(text)) v = parseInt(text.slice(2), 2);
    else v = Number(text);
    if (Number.isNaN(v)) this.fail('bad number');
    if (this.unsafeIntegersAsText && !Number.isSafeInteger(v) && /^(?:0[xXoObB][0-9a-fA-F]+|\d+)$/.test(text)) {
      // BigInt reads 0x/0o/0b and decimal alike; Python's str(int) is the decimal digits
      const big = BigInt(text);
      if (big !== 0n) return (sign < 0 ? '-' : '') + big.toString();
    }
    return sign * v;
  }
}
