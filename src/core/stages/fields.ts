/**
 * The declaration of a pipeline stage's configuration, read by every layer that shows, edits,
 * parses, stores or validates it (the studio's form, the CLI's flags and --help, share links, YAML,
 * the runs table's diff, the workers). A stage declares once: its fields (kind, label, unit, range,
 * allowed values, help), its presets with provenance, and its consistency checks; `resolveStage`
 * turns a preset plus overrides (text from a form, a flag or a link, or typed JSON) into a config or
 * field-named errors. No tfjs, DOM or storage here.
 */

/** Where a value comes from: the paper, the official code, the fork, or our own choice. */
export type Provenance = 'paper' | 'official' | 'fork' | 'ours';

export interface ProvenanceNote {
  sources: Provenance[];
  note: string;
}

export const note = (sources: Provenance[], text: string): ProvenanceNote => ({ sources, note: text });

/**
 * A provenance written as text ("ours: …", "official code …", "1e-3 — official [O]", "[F]", "[P]",
 * "changed by us") as sources + note, so every stage's presets read the same way.
 */
export function noteFromText(text: string): ProvenanceNote {
  const sources: Provenance[] = [];
  const add = (p: Provenance) => { if (!sources.includes(p)) sources.push(p); };
  if (/\[P\b|\bpaper\b/i.test(text) && !/\(paper \d/.test(text)) add('paper');
  if (/\[O\b|\bofficial\b|RecBole/.test(text)) add('official');
  if (/\[F\b|\bfork\b/.test(text)) add('fork');
  if (/^ours\b|changed by us|\bours\b/i.test(text)) add('ours');
  if (!sources.length) add('ours');
  return { sources, note: text };
}

/** The four stages of the pipeline, named the same everywhere. */
export type StageName = 'embeddings' | 'tokenizer' | 'joint' | 'grpo';

/** What a declaration configures: a pipeline stage, or an experiment sweep over joint runs. */
export type DeclName = StageName | 'experiments';

/**
 * int / float: a finite number (integers for int); ints / floats: a comma-separated list of them;
 * bool: true or false; enum: one of `options`; enums: a non-empty set of `options`, comma-separated,
 * kept in the declaration's order.
 */
export type FieldKind = 'int' | 'float' | 'bool' | 'enum' | 'ints' | 'floats' | 'enums';

export type FieldValue = number | boolean | string | number[] | string[] | null;

export interface FieldDecl {
  /** The config path, nested names dotted ('lr_rec', 't5.d_model', 'finetune.epochs'). */
  key: string;
  kind: FieldKind;
  label: string;
  unit?: string;
  help: string;
  /** Inclusive bounds (of each element, for lists). */
  min?: number;
  max?: number;
  /** The lower bound itself is not allowed (a learning rate > 0). */
  exclusiveMin?: boolean;
  /** The upper bound itself is not allowed (a dropout probability < 1). */
  exclusiveMax?: boolean;
  options?: readonly string[];
  /** Lists: exactly this many elements. */
  length?: number;
  /** null is a value ('all'); given as the text 'all' or an empty entry. */
  nullable?: boolean;
  /** May be absent from a stored config (it was added later; absent means its default). */
  optional?: boolean;
  /** Shown in the stage page's form (the rest: in "all settings"); every field has a CLI flag. */
  main?: boolean;
  /** Older CLI flag names that still work (e.g. 'batch' for batch_size). */
  aliases?: readonly string[];
  /** Read / write a value that is not a plain config path (e.g. the ablation variant's name). */
  get?(config: object): FieldValue | undefined;
  set?(config: object, value: FieldValue): void;
}

export interface FieldError {
  /** The field's key ('config' for the whole). */
  field: string;
  message: string;
}

export interface PresetDecl<C> {
  name: string;
  description: string;
  values: C;
  /** Per field key (or a group's key, or 'other' for the rest), where the value comes from. */
  provenance: Record<string, ProvenanceNote>;
}

/** What a config is checked against beyond its own values (the data it will train on, the backend). */
export interface ConfigContext {
  /** Items of the dataset (beams cannot exceed the number of distinct code paths). */
  numItems?: number;
  /** Bytes the backend can hold (a memory estimate above it is refused). */
  memoryLimitBytes?: number;
}

export interface StageDecl<C extends object> {
  stage: DeclName;
  title: string;
  fields: readonly FieldDecl[];
  presets: Readonly<Record<string, PresetDecl<C>>>;
  defaultPreset: string;
  /** Inconsistent combinations, after every field is in range. */
  check?(config: C, ctx: ConfigContext): FieldError[];
  /** Peak memory of training with `config`, in bytes (compared with ctx.memoryLimitBytes). */
  memoryEstimate?(config: C, ctx: ConfigContext): number;
}

/** The memory a backend can give one training (the 4 GiB wasm32 heap; others are not bounded here). */
export function backendMemoryLimit(backend: string): number | undefined {
  return backend === 'wasm' ? 4 * 2 ** 30 : undefined;
}

export type Resolved<C> = { ok: true; config: C } | { ok: false; errors: FieldError[] };

// ---- paths ------------------------------------------------------------------------------------

function getPath(obj: object, key: string): unknown {
  let v: unknown = obj;
  for (const p of key.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = Object.prototype.hasOwnProperty.call(v, p) ? (v as Record<string, unknown>)[p] : undefined;
  }
  return v;
}

function setPath(obj: object, key: string, value: unknown): void {
  const parts = key.split('.');
  let o = obj as Record<string, unknown>;
  for (const p of parts.slice(0, -1)) {
    const next = o[p];
    if (next === null || typeof next !== 'object') o[p] = {};
    o = o[p] as Record<string, unknown>;
  }
  o[parts[parts.length - 1]] = value;
}

/** A field's value in a config. */
export function fieldValue(f: FieldDecl, config: object): FieldValue | undefined {
  return f.get ? f.get(config) : (getPath(config, f.key) as FieldValue | undefined);
}

function setFieldValue(f: FieldDecl, config: object, value: FieldValue): void {
  if (f.set) f.set(config, value);
  else setPath(config, f.key, value);
}

// ---- text ↔ values ----------------------------------------------------------------------------

/** A value as the form, a flag or a link writes it ('1e-3', 'true', '512,256', 'all'). */
export function formatFieldValue(v: FieldValue | undefined): string {
  if (v === undefined) return '';
  if (v === null) return 'all';
  if (Array.isArray(v)) return v.join(',');
  return String(v);
}

function rangeText(f: FieldDecl): string {
  const lo = f.min === undefined ? '' : `${f.exclusiveMin ? '>' : '≥'} ${f.min}`;
  const hi = f.max === undefined ? '' : `${f.exclusiveMax ? '<' : '≤'} ${f.max}`;
  return [lo, hi].filter(Boolean).join(' and ');
}

/** What a field accepts, in words ("an integer ≥ 1 and ≤ 4096"). */
export function expectedText(f: FieldDecl): string {
  const range = rangeText(f);
  const r = range ? ` ${range}` : '';
  const nul = f.nullable ? ' (or "all")' : '';
  switch (f.kind) {
    case 'int': return `an integer${r}${nul}`;
    case 'float': return `a finite number${r}${nul}`;
    case 'bool': return 'true or false';
    case 'enum': return `one of ${(f.options ?? []).join(', ')}`;
    case 'enums': return `one or more of ${(f.options ?? []).join(', ')}, comma-separated, each once`;
    case 'ints': return `${f.length ? `${f.length} ` : 'a list of '}comma-separated integers${r ? ` (each${r})` : ''}`;
    case 'floats': return `${f.length ? `${f.length} ` : 'a list of '}comma-separated finite numbers${r ? ` (each${r})` : ''}`;
  }
}

function inRange(f: FieldDecl, x: number): boolean {
  if (f.min !== undefined && (f.exclusiveMin ? !(x > f.min) : !(x >= f.min))) return false;
  if (f.max !== undefined && (f.exclusiveMax ? !(x < f.max) : !(x <= f.max))) return false;
  return true;
}

function parseNumber(raw: unknown, integer: boolean): number | null {
  let x: number;
  if (typeof raw === 'number') x = raw;
  else if (typeof raw === 'string' && raw.trim() !== '' && /^[\s+\-0-9.eE]+$/.test(raw)) x = Number(raw.trim());
  else return null;
  if (!Number.isFinite(x)) return null;
  if (integer && !Number.isSafeInteger(x)) return null;
  return x;
}

function shown(raw: unknown): string {
  if (typeof raw === 'string') return `"${raw}"`;
  try {
    return JSON.stringify(raw) ?? String(raw);
  } catch {
    return String(raw);
  }
}

/**
 * One field's value from text (form, flag, link) or typed JSON (a stored config, a request):
 * the value, or the error naming the field and what it expects.
 */
export function parseFieldValue(f: FieldDecl, raw: unknown): { ok: true; value: FieldValue } | { ok: false; error: FieldError } {
  const fail = (): { ok: false; error: FieldError } => ({ ok: false, error: { field: f.key, message: `${f.key} must be ${expectedText(f)}, got ${shown(raw)}` } });
  if (f.nullable && (raw === null || raw === 'all' || raw === '')) return { ok: true, value: null };
  switch (f.kind) {
    case 'int':
    case 'float': {
      const x = parseNumber(raw, f.kind === 'int');
      return x !== null && inRange(f, x) ? { ok: true, value: x } : fail();
    }
    case 'bool':
      if (raw === true || raw === 'true') return { ok: true, value: true };
      if (raw === false || raw === 'false') return { ok: true, value: false };
      return fail();
    case 'enum':
      return typeof raw === 'string' && (f.options ?? []).includes(raw) ? { ok: true, value: raw } : fail();
    case 'enums': {
      const items = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.replace(/^\[|\]$/g, '').split(',').map((x) => x.trim()).filter(Boolean) : [];
      const options = f.options ?? [];
      if (!items.length || !items.every((x) => typeof x === 'string' && options.includes(x)) || new Set(items).size !== items.length) return fail();
      return { ok: true, value: options.filter((o) => items.includes(o)) };
    }
    case 'ints':
    case 'floats': {
      const items: unknown[] = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.replace(/^\[|\]$/g, '').split(',') : [];
      if (!items.length || (f.length !== undefined && items.length !== f.length)) return fail();
      const out: number[] = [];
      for (const it of items) {
        const x = parseNumber(it, f.kind === 'ints');
        if (x === null || !inRange(f, x)) return fail();
        out.push(x);
      }
      return { ok: true, value: out };
    }
  }
}

// ---- lookup -----------------------------------------------------------------------------------

/** The field of a key or an older alias (flags may spell '_' as '-'). */
export function findField(decl: StageDecl<object>, key: string): FieldDecl | undefined {
  const k = key.trim();
  return decl.fields.find((f) => f.key === k || f.aliases?.includes(k)) ??
    decl.fields.find((f) => f.key.replace(/_/g, '-') === k || f.key === k.replace(/-/g, '_'));
}

/** Nested override objects ({t5: {d_model: 64}}) as dotted keys. */
export function flattenOverrides(decl: StageDecl<object>, overrides: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(overrides)) {
    const key = prefix + k;
    if (v === undefined) continue;
    // an object is a group's members ({sia: false} of ablation), never one field's value
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) Object.assign(out, flattenOverrides(decl, v as Record<string, unknown>, `${key}.`));
    else out[key] = v;
  }
  return out;
}

// ---- resolve and validate ---------------------------------------------------------------------

/** Every field of a (complete) config in range and every consistency check passing. */
export function validateStageConfig<C extends object>(decl: StageDecl<C>, config: C, ctx: ConfigContext = {}): FieldError[] {
  const errors: FieldError[] = [];
  for (const f of decl.fields) {
    const v = fieldValue(f, config);
    if (v === undefined) {
      if (f.optional) continue;
      errors.push({ field: f.key, message: `${f.key} is missing (expected ${expectedText(f)})` });
      continue;
    }
    const r = parseFieldValue(f, v);
    // a typed config keeps its types: the text "5" where a number belongs is an error too
    const typed = f.kind === 'int' || f.kind === 'float' ? typeof v === 'number' || v === null : f.kind === 'bool' ? typeof v === 'boolean' : true;
    if (!r.ok) errors.push(r.error);
    else if (!typed) errors.push({ field: f.key, message: `${f.key} must be ${expectedText(f)}, got ${shown(v)}` });
  }
  if (errors.length) return errors;
  errors.push(...(decl.check?.(config, ctx) ?? []));
  if (decl.memoryEstimate && ctx.memoryLimitBytes && errors.length === 0) {
    const bytes = decl.memoryEstimate(config, ctx);
    if (bytes > ctx.memoryLimitBytes) {
      errors.push({ field: 'config', message: `training would need about ${gib(bytes)} GiB, more than the backend's ${gib(ctx.memoryLimitBytes)} GiB: use smaller model sizes or micro-batches` });
    }
  }
  return errors;
}

const gib = (b: number) => (b / 2 ** 30).toFixed(1);

/**
 * A preset with overrides applied: keys are field keys or aliases (nested objects allowed), values
 * text or typed. Unknown keys, unparsable or out-of-range values and inconsistent combinations come
 * back as errors, each naming its field; nothing is applied partly.
 */
export function resolveStage<C extends object>(decl: StageDecl<C>, preset: string, overrides: Record<string, unknown> = {}, ctx: ConfigContext = {}): Resolved<C> {
  const p = Object.prototype.hasOwnProperty.call(decl.presets, preset) ? decl.presets[preset] : undefined;
  if (!p) return { ok: false, errors: [{ field: 'preset', message: `preset must be one of ${Object.keys(decl.presets).join(', ')}, got ${shown(preset)}` }] };
  const config = structuredClone(p.values);
  const errors: FieldError[] = [];
  const flat = flattenOverrides(decl as StageDecl<object>, overrides);
  // a group's value (an ablation variant) goes first so its members' own overrides win
  const entries = Object.entries(flat).map(([k, v]) => ({ k, v, f: findField(decl as StageDecl<object>, k) }));
  entries.sort((a, b) => Number(Boolean(b.f?.set)) - Number(Boolean(a.f?.set)));
  for (const { k, v, f } of entries) {
    if (!f) {
      errors.push({ field: k, message: `unknown setting "${k}" for the ${decl.title} stage` });
      continue;
    }
    const r = parseFieldValue(f, v);
    if (!r.ok) errors.push(r.error);
    else setFieldValue(f, config, r.value);
  }
  if (errors.length) return { ok: false, errors };
  const bad = validateStageConfig(decl, config, ctx);
  return bad.length ? { ok: false, errors: bad } : { ok: true, config };
}

/** resolveStage that throws one Error listing the field-named problems. */
export function resolveStageOrThrow<C extends object>(decl: StageDecl<C>, preset: string, overrides: Record<string, unknown> = {}, ctx: ConfigContext = {}): C {
  const r = resolveStage(decl, preset, overrides, ctx);
  if (!r.ok) throw new ConfigErrors(r.errors);
  return r.config;
}

export class ConfigErrors extends Error {
  constructor(readonly errors: FieldError[]) {
    super(errors.map((e) => e.message).join('; '));
    this.name = 'ConfigErrors';
  }
}

// ---- reading a config back --------------------------------------------------------------------

/** Field key → text of every field of a config (what a form shows). */
export function formValuesOf(decl: StageDecl<object>, config: object): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of decl.fields) out[f.key] = formatFieldValue(fieldValue(f, config));
  return out;
}

export interface FieldChange {
  key: string;
  from: FieldValue | undefined;
  to: FieldValue | undefined;
}

/** The fields whose value differs between two configs of a stage, in declaration order. */
export function diffStageConfigs(decl: StageDecl<object>, a: object, b: object): FieldChange[] {
  const out: FieldChange[] = [];
  for (const f of decl.fields) {
    const x = fieldValue(f, a);
    const y = fieldValue(f, b);
    if (JSON.stringify(x) !== JSON.stringify(y)) out.push({ key: f.key, from: x, to: y });
  }
  return out;
}

/** The overrides that turn a preset into `config` (field key → typed value), e.g. for a share link. */
export function overridesFrom(decl: StageDecl<object>, preset: string, config: object): Record<string, FieldValue> {
  const base = decl.presets[preset]?.values;
  const out: Record<string, FieldValue> = {};
  if (!base) return out;
  for (const c of diffStageConfigs(decl, base, config)) if (c.to !== undefined) out[c.key] = c.to;
  return out;
}

/** Where a field's value comes from in a preset: its own note, its group's, or the preset's catch-all. */
export function provenanceOf(p: PresetDecl<object> | undefined, key: string): ProvenanceNote | undefined {
  if (!p) return undefined;
  const own = (k: string) => (Object.prototype.hasOwnProperty.call(p.provenance, k) ? p.provenance[k] : undefined);
  return own(key) ?? own(key.split('.')[0]) ?? own('other');
}

// ---- the command line -------------------------------------------------------------------------

/** The flag of a field: --lr_rec, --t5.d_model. */
export const flagOf = (f: FieldDecl): string => `--${f.key}`;

/** The --help lines of a stage's fields, generated from the declaration (preset values in parentheses). */
export function fieldsHelp(decl: StageDecl<object>, preset = decl.defaultPreset): string {
  const values = decl.presets[preset]?.values ?? {};
  const lines: string[] = [];
  for (const f of decl.fields) {
    const arg = f.kind === 'enum' ? ` <${(f.options ?? []).join('|')}>` : f.kind === 'enums' ? ' <a,b,…>' : f.kind === 'ints' || f.kind === 'floats' ? ' <a,b,…>' : f.kind === 'bool' ? '' : ' <n>';
    // a bool is a switch: --forge turns it on, --no-forge off
    const head = f.kind === 'bool' ? `  ${flagOf(f)} | --no-${f.key}` : `  ${flagOf(f)}${arg}`;
    const alias = f.aliases?.length ? ` (also --${f.aliases.join(', --')})` : '';
    const unit = f.unit ? ` [${f.unit}]` : '';
    const def = formatFieldValue(fieldValue(f, values));
    const expects = f.kind === 'bool' ? '' : `; ${expectedText(f)}`;
    lines.push(`${head.padEnd(34)} ${f.help}${unit}${expects}; ${preset} ${def}${alias}`);
  }
  return lines.join('\n');
}
