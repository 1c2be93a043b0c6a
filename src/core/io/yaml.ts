/**
 * A tiny writer/reader for the flat `key: value` YAML of the reference's config.yaml (no YAML
 * dependency). Values are scalars (numbers, booleans, null, strings) or flow lists of scalars
 * (`[512, 256]`). Nested objects are flattened into dotted keys (`finetune.lr: 0.0005`,
 * `finetune.weights.code: 1`), so every line stays `key: value` and PyYAML's safe_load reads the
 * file as one flat mapping. Floats are written so that YAML 1.1 (PyYAML) reads them as floats
 * (`1.0e-7`, never `1e-7`, which PyYAML reads as a string).
 */
import { StudioError } from '../errors.ts';

export type YamlScalar = number | boolean | string | null;
export type YamlValue = YamlScalar | YamlScalar[];

const RESERVED = /^(true|false|yes|no|on|off|y|n|null|~|\.inf|-\.inf|\.nan)$/i;
const PLAIN = /^[A-Za-z_][A-Za-z0-9_@./-]*$/;

export function yamlNumber(v: number): string {
  if (Number.isNaN(v)) return '.nan';
  if (v === Infinity) return '.inf';
  if (v === -Infinity) return '-.inf';
  if (Object.is(v, -0)) return '-0.0';
  const s = String(v);
  const m = /^(-?\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (m) return `${m[1]}.${m[2] ?? '0'}e${m[3]}`;
  return s;
}

export function yamlScalar(v: YamlScalar): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return yamlNumber(v);
  if (PLAIN.test(v) && !RESERVED.test(v)) return v;
  return JSON.stringify(v);
}

/** Flattens nested plain objects into dotted keys (arrays of scalars stay flow lists). */
export function flattenForYaml(obj: Record<string, unknown>, prefix = '', out: Record<string, YamlValue> = {}): Record<string, YamlValue> {
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined) continue;
    const key = prefix ? `${prefix}.${k}` : k;
    if (v && typeof v === 'object' && !Array.isArray(v)) flattenForYaml(v as Record<string, unknown>, key, out);
    else out[key] = v as YamlValue;
  }
  return out;
}

/** `key: value` lines; `comments` become leading `# …` lines. */
export function writeFlatYaml(values: Record<string, YamlValue>, comments: string[] = []): string {
  const lines = comments.map((c) => `# ${c}`);
  for (const [k, v] of Object.entries(values)) {
    lines.push(`${k}: ${Array.isArray(v) ? `[${v.map(yamlScalar).join(', ')}]` : yamlScalar(v)}`);
  }
  return lines.join('\n') + '\n';
}

function parseScalar(raw: string, fileName: string, line: number): YamlScalar {
  const s = raw.trim();
  if (s === '' || s === '~' || s === 'null' || s === 'Null' || s === 'NULL') return null;
  if (/^(true|True|TRUE)$/.test(s)) return true;
  if (/^(false|False|FALSE)$/.test(s)) return false;
  if (/^[-+]?\.(inf|Inf|INF)$/.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  if (/^\.(nan|NaN|NAN)$/.test(s)) return NaN;
  if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) return Number(s);
  if (s.startsWith('"')) {
    try {
      return JSON.parse(s) as string;
    } catch {
      throw new StudioError({ code: 'malformed_input', file: fileName, line, message: 'Unterminated or invalid double-quoted string', found: s.slice(0, 40) });
    }
  }
  if (s.startsWith("'")) {
    if (!s.endsWith("'") || s.length < 2) throw new StudioError({ code: 'malformed_input', file: fileName, line, message: 'Unterminated single-quoted string' });
    return s.slice(1, -1).replace(/''/g, "'");
  }
  return s;
}

/**
 * Reads flat `key: value` YAML (comments, blank lines, flow lists of scalars). Indented lines
 * (nested block mappings) are folded into dotted keys one level per indentation step.
 */
export function readFlatYaml(text: string, fileName = 'config.yaml'): Record<string, YamlValue> {
  const out: Record<string, YamlValue> = {};
  const stack: { indent: number; key: string }[] = [];
  text.split(/\r?\n/).forEach((rawLine, i) => {
    const line = i + 1;
    const noComment = rawLine.replace(/(^|\s)#.*$/, '');
    if (!noComment.trim() || noComment.trim() === '---') return;
    const indent = noComment.length - noComment.trimStart().length;
    const m = /^([^:]+?):(\s+(.*))?$/.exec(noComment.trim());
    if (!m) throw new StudioError({ code: 'malformed_input', file: fileName, line, message: 'Expected a "key: value" line', found: rawLine.trim().slice(0, 60) });
    while (stack.length && stack[stack.length - 1].indent >= indent) stack.pop();
    const key = [...stack.map((s) => s.key), m[1].trim()].join('.');
    const rest = (m[3] ?? '').trim();
    if (rest === '') {
      stack.push({ indent, key: m[1].trim() });
      return;
    }
    if (rest.startsWith('[')) {
      if (!rest.endsWith(']')) throw new StudioError({ code: 'malformed_input', file: fileName, line, field: key, message: 'Unterminated flow list' });
      const inner = rest.slice(1, -1).trim();
      out[key] = inner ? inner.split(',').map((x) => parseScalar(x, fileName, line)) : [];
    } else out[key] = parseScalar(rest, fileName, line);
  });
  return out;
}
