/**
 * A stage page's experiment configuration in the URL hash:
 * `#/<stage>/<datasetId>?cfg=<base64url JSON>` (preset, the edited values, the chosen inputs, the run
 * name) — the joint page, the tokenizer page, the SASRec panel and the GRPO page. Pure: encode, decode with validation (a corrupted link gives a clear message and is
 * ignored), and the hash's query part.
 */

export interface SharedJointConfig {
  v: 1;
  preset: string;
  /** The form's values (config path → string), as the page edits them. */
  values: Record<string, string>;
  embeddingId?: string;
  tokenizerId?: string;
  name?: string;
}

export type Decoded = { ok: true; value: SharedJointConfig } | { ok: false; message: string };

function toBase64Url(bytes: Uint8Array): string {
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(s: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) throw new Error('it is not base64url text');
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4);
  const bin = atob(b64);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

export function encodeShareConfig(c: SharedJointConfig): string {
  return toBase64Url(new TextEncoder().encode(JSON.stringify(c)));
}

export function decodeShareConfig(text: string): Decoded {
  const bad = (why: string): Decoded => ({ ok: false, message: `The shared configuration in the link could not be read (${why}); it was ignored.` });
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(fromBase64Url(text)));
  } catch (err) {
    return bad(err instanceof Error && /base64url/.test(err.message) ? err.message : 'it is not valid base64url JSON; the link may be cut off');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return bad('it is not an object');
  const o = json as Record<string, unknown>;
  if (o.v !== 1) return bad(`unknown version ${JSON.stringify(o.v)}`);
  if (typeof o.preset !== 'string' || !o.preset) return bad('no preset');
  if (typeof o.values !== 'object' || o.values === null || Array.isArray(o.values)) return bad('no values');
  const values: Record<string, string> = {};
  for (const [k, v] of Object.entries(o.values as Record<string, unknown>)) {
    if (typeof v !== 'string') return bad(`value of "${k}" is not text`);
    values[k] = v;
  }
  for (const k of ['embeddingId', 'tokenizerId', 'name'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'string') return bad(`${k} is not text`);
  }
  return {
    ok: true,
    value: {
      v: 1, preset: o.preset, values,
      ...(typeof o.embeddingId === 'string' ? { embeddingId: o.embeddingId } : {}),
      ...(typeof o.tokenizerId === 'string' ? { tokenizerId: o.tokenizerId } : {}),
      ...(typeof o.name === 'string' ? { name: o.name } : {}),
    },
  };
}

/** The hash's query parameters (after '?'), e.g. cfg. */
export function hashParams(hash: string): URLSearchParams {
  const at = hash.indexOf('?');
  return new URLSearchParams(at < 0 ? '' : hash.slice(at + 1));
}

/** The stage pages with a share link; the hash route of each is `#/<stage>/<datasetId>`. */
export type ShareStage = 'joint' | 'tokenizer' | 'embeddings' | 'grpo';

/** `#/<stage>/<datasetId>?cfg=…`: the same codec for every stage's preset + edited values. */
export function stageShareHash(stage: ShareStage, datasetId: string, c: SharedJointConfig): string {
  return `#/${stage}/${encodeURIComponent(datasetId)}?cfg=${encodeShareConfig(c)}`;
}

export function jointShareHash(datasetId: string, c: SharedJointConfig): string {
  return stageShareHash('joint', datasetId, c);
}

export type Resolved =
  | { ok: true; preset: string; values: Record<string, string>; name?: string; ignored: string[] }
  | { ok: false; message: string };

/**
 * A decoded configuration checked against a page: its preset must be one of `presets`; values of
 * keys the page does not edit are dropped (named in `ignored`), the others kept as text.
 */
export function resolveSharedConfig(c: SharedJointConfig, presets: readonly string[], fields: readonly string[]): Resolved {
  if (!presets.includes(c.preset)) {
    return { ok: false, message: `The shared configuration names an unknown preset "${c.preset}"; it was ignored.` };
  }
  const values: Record<string, string> = {};
  const ignored: string[] = [];
  for (const [k, v] of Object.entries(c.values)) {
    if (fields.includes(k)) values[k] = v;
    else ignored.push(k);
  }
  return { ok: true, preset: c.preset, values, ...(c.name ? { name: c.name } : {}), ignored };
}

/** The shared configuration of a hash: null when there is none. */
export function sharedConfigOf(hash: string): Decoded | null {
  const cfg = hashParams(hash).get('cfg');
  return cfg === null ? null : decodeShareConfig(cfg);
}

/**
 * Typed values (numbers, booleans, arrays) as the codec's text values: JSON per key, only the keys
 * whose value differs from `preset` (a link carries the edits, the preset gives the rest).
 */
export function jsonValuesOf(config: Record<string, unknown>, preset: Record<string, unknown>, keys: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of keys) {
    const v = JSON.stringify(config[k]);
    if (v !== undefined && v !== JSON.stringify(preset[k])) out[k] = v;
  }
  return out;
}

/**
 * The inverse of jsonValuesOf, checked against the preset's value of each key: JSON that parses to
 * the same kind (number, boolean, string, array of numbers) is kept; anything else is named in `bad`.
 */
export function parseJsonValues(values: Record<string, string>, preset: Record<string, unknown>): { values: Record<string, unknown>; bad: string[] } {
  const out: Record<string, unknown> = {};
  const bad: string[] = [];
  const kind = (v: unknown): string => (Array.isArray(v) ? 'array' : typeof v);
  for (const [k, text] of Object.entries(values)) {
    let v: unknown;
    try { v = JSON.parse(text); } catch { bad.push(k); continue; }
    const ref = preset[k];
    const ok = kind(v) === kind(ref) &&
      (typeof v !== 'number' || Number.isFinite(v)) &&
      (!Array.isArray(v) || v.every((x) => typeof x === 'number' && Number.isFinite(x)));
    if (ok) out[k] = v;
    else bad.push(k);
  }
  return { values: out, bad };
}
