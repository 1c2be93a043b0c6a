/**
 * A stage page's experiment configuration in the URL hash:
 * `#/<stage>/<datasetId>?cfg=<base64url JSON>` — the SASRec, tokenizer, joint and GRPO pages.
 *
 * v2 (written now): `{v: 2, stage, preset, overrides, inputs?, name?}`, where `overrides` holds only
 * the fields whose text differs from the preset's (field key → text as `formatFieldValue` writes it),
 * read against the stage's declaration (src/core/stages). v1 (links made before):
 * `{v: 1, preset, values, embeddingId?, tokenizerId?, name?}` with the form's full text map (the
 * tokenizer and SASRec pages wrote JSON text: '[512,256]', '"gelu"') — still read.
 *
 * Pure: encode, decode with validation (a corrupted link gives a clear message and is ignored), the
 * check against a page's declaration, and the hash's query part.
 */
import { fieldValue, findField, formatFieldValue, parseFieldValue, type FieldDecl, type FieldError, type StageDecl, type DeclName, type StageName } from '../core/stages/fields.ts';
import { JOINT_STAGE } from '../core/stages/joint.ts';

/** A v1 link: the preset, the form's full text map, the joint page's inputs. */
export interface SharedConfigV1 {
  v: 1;
  preset: string;
  /** The form's values (config path → string), as the page edits them. */
  values: Record<string, string>;
  embeddingId?: string;
  tokenizerId?: string;
  name?: string;
}

/** The v1 shape under its old name (the joint page still builds and reads it; see sharedConfigOf). */
export type SharedJointConfig = SharedConfigV1;

/** A v2 link: the stage, its preset and only the fields that differ from it. */
export interface SharedConfigV2 {
  v: 2;
  stage: DeclName;
  preset: string;
  /** Field key → text (formatFieldValue), only where it differs from the preset's. */
  overrides: Record<string, string>;
  /** What the run reads besides its config (e.g. embeddingId, tokenizerId), carried as given. */
  inputs?: Record<string, string>;
  name?: string;
}

export type SharedConfig = SharedConfigV1 | SharedConfigV2;

export type DecodedLink = { ok: true; value: SharedConfig } | { ok: false; message: string };
/** A link as the v1 shape (decodeShareConfig / sharedConfigOf). */
export type Decoded = { ok: true; value: SharedConfigV1 } | { ok: false; message: string };

const STAGES: readonly DeclName[] = ['embeddings', 'tokenizer', 'joint', 'grpo'];

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

export function encodeShareConfig(c: SharedConfig): string {
  return toBase64Url(new TextEncoder().encode(JSON.stringify(c)));
}

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** A JSON object of text values, or the reason it is not. */
function textMap(x: unknown, what: string): Record<string, string> | string {
  if (!isRecord(x)) return `no ${what}`;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(x)) {
    if (typeof v !== 'string') return `value of "${k}" is not text`;
    out[k] = v;
  }
  return out;
}

/** A link's text (the cfg parameter) as a v1 or v2 configuration, shape-checked. */
export function decodeShareLink(text: string): DecodedLink {
  const bad = (why: string): DecodedLink => ({ ok: false, message: `The shared configuration in the link could not be read (${why}); it was ignored.` });
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(fromBase64Url(text)));
  } catch (err) {
    return bad(err instanceof Error && /base64url/.test(err.message) ? err.message : 'it is not valid base64url JSON; the link may be cut off');
  }
  if (!isRecord(json)) return bad('it is not an object');
  const o = json;
  if (o.v !== 1 && o.v !== 2) return bad(`unknown version ${JSON.stringify(o.v)}`);
  if (typeof o.preset !== 'string' || !o.preset) return bad('no preset');
  if (o.name !== undefined && typeof o.name !== 'string') return bad('name is not text');
  const name = typeof o.name === 'string' ? { name: o.name } : {};
  if (o.v === 1) {
    const values = textMap(o.values, 'values');
    if (typeof values === 'string') return bad(values);
    for (const k of ['embeddingId', 'tokenizerId'] as const) {
      if (o[k] !== undefined && typeof o[k] !== 'string') return bad(`${k} is not text`);
    }
    return {
      ok: true,
      value: {
        v: 1, preset: o.preset, values,
        ...(typeof o.embeddingId === 'string' ? { embeddingId: o.embeddingId } : {}),
        ...(typeof o.tokenizerId === 'string' ? { tokenizerId: o.tokenizerId } : {}),
        ...name,
      },
    };
  }
  if (typeof o.stage !== 'string' || !STAGES.includes(o.stage as DeclName)) return bad(`unknown stage ${JSON.stringify(o.stage)}`);
  const overrides = textMap(o.overrides, 'overrides');
  if (typeof overrides === 'string') return bad(overrides);
  let inputs: Record<string, string> | undefined;
  if (o.inputs !== undefined) {
    const m = textMap(o.inputs, 'inputs');
    if (typeof m === 'string') return bad(m === 'no inputs' ? 'inputs is not an object' : `inputs: ${m}`);
    inputs = m;
  }
  return { ok: true, value: { v: 2, stage: o.stage as DeclName, preset: o.preset, overrides, ...(inputs ? { inputs } : {}), ...name } };
}

/** A v2 link in the v1 shape (values = the overrides; embeddingId / tokenizerId from the inputs). */
function asV1(c: SharedConfig): SharedConfigV1 {
  if (c.v === 1) return c;
  const { embeddingId, tokenizerId } = c.inputs ?? {};
  return {
    v: 1, preset: c.preset, values: { ...c.overrides },
    ...(embeddingId !== undefined ? { embeddingId } : {}),
    ...(tokenizerId !== undefined ? { tokenizerId } : {}),
    ...(c.name !== undefined ? { name: c.name } : {}),
  };
}

/**
 * A link's text in the v1 shape, for a page that still reads `values` after setting the preset (the
 * joint ConfigPanel): a v2 link's values are its overrides, which is the same once the preset is set.
 */
export function decodeShareConfig(text: string): Decoded {
  const d = decodeShareLink(text);
  return d.ok ? { ok: true, value: asV1(d.value) } : d;
}

/** The hash's query parameters (after '?'), e.g. cfg. */
export function hashParams(hash: string): URLSearchParams {
  const at = hash.indexOf('?');
  return new URLSearchParams(at < 0 ? '' : hash.slice(at + 1));
}

/** The stage pages with a share link; the hash route of each is `#/<stage>/<datasetId>`. */
export type ShareStage = StageName;

/** `#/<stage>/<datasetId>?cfg=…`: the same codec for every stage. */
export function stageShareHash(stage: ShareStage, datasetId: string, c: SharedConfig): string {
  return `#/${stage}/${encodeURIComponent(datasetId)}?cfg=${encodeShareConfig(c)}`;
}

/**
 * The joint page's link. A v1 configuration (what the joint ConfigPanel builds) is written as v2:
 * the overrides against JOINT_STAGE's preset, the two ids as inputs.
 */
export function jointShareHash(datasetId: string, c: SharedConfig): string {
  if (c.v === 2) return stageShareHash('joint', datasetId, c);
  const inputs: Record<string, string> = {};
  if (c.embeddingId !== undefined) inputs.embeddingId = c.embeddingId;
  if (c.tokenizerId !== undefined) inputs.tokenizerId = c.tokenizerId;
  const link = shareLinkFor(JOINT_STAGE as StageDecl<object>, { preset: c.preset, values: c.values, inputs, ...(c.name !== undefined ? { name: c.name } : {}) });
  return stageShareHash('joint', datasetId, link);
}

/** The stage of a hash route (`#/joint/…` → joint), null for other pages. */
function stageOfHash(hash: string): DeclName | null {
  const m = /^#\/([a-z]+)/.exec(hash);
  return m && STAGES.includes(m[1] as DeclName) ? (m[1] as DeclName) : null;
}

function wrongStage(link: DeclName, page: DeclName): string {
  return `The shared configuration is for the ${link} stage, not this page's (${page}); it was ignored.`;
}

/** The shared configuration of a hash (v1 or v2): null when there is none. */
export function sharedLinkOf(hash: string): DecodedLink | null {
  const cfg = hashParams(hash).get('cfg');
  return cfg === null ? null : decodeShareLink(cfg);
}

/**
 * The shared configuration of a hash in the v1 shape: null when there is none. A v2 link made for
 * another stage than the hash's page is refused.
 */
export function sharedConfigOf(hash: string): Decoded | null {
  const d = sharedLinkOf(hash);
  if (!d) return null;
  if (!d.ok) return d;
  const page = stageOfHash(hash);
  if (d.value.v === 2 && page && d.value.stage !== page) return { ok: false, message: wrongStage(d.value.stage, page) };
  return { ok: true, value: asV1(d.value) };
}

// ---- against the stage's declaration ------------------------------------------------------------

/** A field's text as formatFieldValue writes its parsed value (unparsable text as it is). */
function normalText(f: FieldDecl, text: string): string {
  const r = parseFieldValue(f, text);
  return r.ok ? formatFieldValue(r.value) : text;
}

function presetText(f: FieldDecl, preset: object | undefined): string | undefined {
  return preset ? formatFieldValue(fieldValue(f, preset)) : undefined;
}

/**
 * The v2 link of a page's form: only the fields (of `fields`, default all of the declaration) whose
 * text differs from the preset's, each as formatFieldValue writes it. Text that does not parse is
 * carried as typed (the receiving page reports it).
 */
export function shareLinkFor(decl: StageDecl<object>, c: { preset: string; values: Record<string, string>; fields?: readonly string[]; inputs?: Record<string, string>; name?: string }): SharedConfigV2 {
  const base = Object.prototype.hasOwnProperty.call(decl.presets, c.preset) ? decl.presets[c.preset].values : undefined;
  const overrides: Record<string, string> = {};
  for (const f of decl.fields) {
    if (c.fields && !c.fields.includes(f.key)) continue;
    const text = c.values[f.key];
    if (text === undefined) continue;
    const t = normalText(f, text);
    if (t !== presetText(f, base)) overrides[f.key] = t;
  }
  const name = c.name?.trim();
  return {
    v: 2, stage: decl.stage, preset: c.preset, overrides,
    ...(c.inputs && Object.keys(c.inputs).length ? { inputs: { ...c.inputs } } : {}),
    ...(name ? { name } : {}),
  };
}

export type ResolvedLink =
  | {
    ok: true;
    preset: string;
    /** Field key → text (formatFieldValue) of the link's edits: set the preset, then these. */
    values: Record<string, string>;
    inputs: Record<string, string>;
    name?: string;
    /** Keys that are no field the page edits (not applied). */
    ignored: string[];
    /** Values that do not parse, each naming its field (not applied; the rest is). */
    bad: FieldError[];
  }
  | { ok: false; message: string };

/** v1 text: the form's text, or the JSON text the tokenizer and SASRec pages wrote ('"gelu"', 'null'). */
function parseV1(f: FieldDecl, text: string): ReturnType<typeof parseFieldValue> {
  const r = parseFieldValue(f, text);
  if (r.ok) return r;
  let json: unknown;
  try { json = JSON.parse(text); } catch { return r; }
  const j = parseFieldValue(f, json);
  return j.ok ? j : r;
}

/**
 * A decoded link checked against a page: a v2 link's stage must be the page's, its preset one of
 * `presets` and of the declaration; each key must be a field of the declaration that the page edits
 * (`fields`; else named in `ignored`); each value must parse (parseFieldValue; else named in `bad`,
 * and the link's other values still apply). The values come back as formatFieldValue writes them: a
 * v2 link's overrides, a v1 link's values where they differ from the preset.
 */
export function resolveShareLink(c: SharedConfig, page: { stage: DeclName; decl: StageDecl<object>; presets: readonly string[]; fields: readonly string[] }): ResolvedLink {
  const { decl } = page;
  if (c.v === 2 && c.stage !== page.stage) return { ok: false, message: wrongStage(c.stage, page.stage) };
  if (!page.presets.includes(c.preset) || !Object.prototype.hasOwnProperty.call(decl.presets, c.preset)) {
    return { ok: false, message: `The shared configuration names an unknown preset "${c.preset}"; it was ignored.` };
  }
  const base = decl.presets[c.preset].values;
  const values: Record<string, string> = {};
  const ignored: string[] = [];
  const bad: FieldError[] = [];
  for (const [k, text] of Object.entries(c.v === 1 ? c.values : c.overrides)) {
    const f = findField(decl, k);
    if (!f || !page.fields.includes(f.key)) { ignored.push(k); continue; }
    const r = c.v === 1 ? parseV1(f, text) : parseFieldValue(f, text);
    if (!r.ok) { bad.push(r.error); continue; }
    const t = formatFieldValue(r.value);
    // a v1 link carried every field; a v2 link only its edits (kept even where the page's preset agrees)
    if (c.v === 2 || t !== presetText(f, base)) values[f.key] = t;
  }
  const inputs: Record<string, string> = c.v === 2
    ? { ...(c.inputs ?? {}) }
    : { ...(c.embeddingId !== undefined ? { embeddingId: c.embeddingId } : {}), ...(c.tokenizerId !== undefined ? { tokenizerId: c.tokenizerId } : {}) };
  return { ok: true, preset: c.preset, values, inputs, ...(c.name ? { name: c.name } : {}), ignored, bad };
}

/** What restoring a page from its hash gives: the configuration to apply (if any) and the note to show. */
export interface Restored {
  apply?: { preset: string; values: Record<string, string>; inputs?: Record<string, string>; name?: string };
  note?: { ok: boolean; text: string };
}

/** The share link of a page's hash, checked against the page (ShareLink restores with this). */
export function restoreFromHash(hash: string, page: { stage: DeclName; decl: StageDecl<object>; presets: readonly string[]; fields: readonly string[] }): Restored {
  const d = sharedLinkOf(hash);
  if (!d) return {};
  if (!d.ok) return { note: { ok: false, text: d.message } };
  const r = resolveShareLink(d.value, page);
  if (!r.ok) return { note: { ok: false, text: r.message } };
  const ignored = r.ignored.length ? ` Ignored: ${r.ignored.join(', ')}.` : '';
  const bad = r.bad.length ? ` Not applied: ${r.bad.map((e) => e.message).join('; ')}.` : '';
  return {
    apply: { preset: r.preset, values: r.values, ...(Object.keys(r.inputs).length ? { inputs: r.inputs } : {}), ...(r.name ? { name: r.name } : {}) },
    note: { ok: r.bad.length === 0, text: `Configuration restored from the shared link.${ignored}${bad}` },
  };
}
