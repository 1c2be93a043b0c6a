/**
 * The joint-training page's experiment configuration in the URL hash:
 * `#/joint/<datasetId>?cfg=<base64url JSON>` (preset, the edited values, the chosen inputs, the run
 * name). Pure: encode, decode with validation (a corrupted link gives a clear message and is
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

export function jointShareHash(datasetId: string, c: SharedJointConfig): string {
  return `#/joint/${encodeURIComponent(datasetId)}?cfg=${encodeShareConfig(c)}`;
}

/** The shared configuration of a hash: null when there is none. */
export function sharedConfigOf(hash: string): Decoded | null {
  const cfg = hashParams(hash).get('cfg');
  return cfg === null ? null : decodeShareConfig(cfg);
}
