/**
 * What a stage page's config form needs from the stage's declaration (src/core/stages): the text of
 * every field in a preset, which values the user changed, and the check that decides whether Start
 * is enabled — the same `resolveStage` the worker and the CLI apply, so a value the form accepts is
 * one the trainer accepts.
 */
import {
  backendMemoryLimit,
  formValuesOf,
  parseFieldValue,
  resolveStage,
  type ConfigContext,
  type FieldDecl,
  type FieldError,
  type StageDecl,
} from '../core/stages/fields.ts';

/** Field key → text of every field of a preset (what the form shows after choosing it). */
export function presetFormValues(decl: StageDecl<object>, preset: string): Record<string, string> {
  const p = decl.presets[preset];
  return p ? formValuesOf(decl, p.values) : {};
}

/** The same value written differently ("1e-3" and "0.001", "2, 3" and "2,3") is not a change. */
function sameValue(f: FieldDecl, a: string, b: string): boolean {
  if (a === b) return true;
  const x = parseFieldValue(f, a);
  const y = parseFieldValue(f, b);
  return x.ok && y.ok && JSON.stringify(x.value) === JSON.stringify(y.value);
}

/** The fields whose text differs from the preset's (unparsable text counts as a change). */
export function editedValues(decl: StageDecl<object>, preset: string, values: Record<string, string>): Record<string, string> {
  const base = presetFormValues(decl, preset);
  const out: Record<string, string> = {};
  for (const f of decl.fields) {
    const v = values[f.key];
    if (v === undefined || base[f.key] === undefined) continue;
    if (!sameValue(f, v, base[f.key])) out[f.key] = v;
  }
  return out;
}

export interface FormCheck<C> {
  /** The resolved config, or null when a value is refused. */
  config: C | null;
  errors: FieldError[];
  /** Field key → its messages ('config' and 'preset' for the whole). */
  byField: Record<string, string[]>;
  /** The edited values (field key → text), as a start request or a share link carries them. */
  edited: Record<string, string>;
}

/** The form's values checked as the worker will check them (ranges, consistency, memory). */
export function checkForm<C extends object>(decl: StageDecl<C>, preset: string, values: Record<string, string>, ctx: ConfigContext = {}): FormCheck<C> {
  const edited = editedValues(decl as StageDecl<object>, preset, values);
  const r = resolveStage(decl, preset, edited, ctx);
  const errors = r.ok ? [] : r.errors;
  const byField: Record<string, string[]> = {};
  for (const e of errors) (byField[e.field] ??= []).push(e.message);
  return { config: r.ok ? r.config : null, errors, byField, edited };
}

/** Why Start is disabled: the page's own reasons (no input chosen, a job running) and the refused values. */
export function startBlockers(check: Pick<FormCheck<object>, 'errors'>, pageReasons: readonly (string | false | null | undefined)[] = []): string[] {
  return [...pageReasons.filter((r): r is string => typeof r === 'string' && r.length > 0), ...check.errors.map((e) => e.message)];
}

/** What a form checks beyond its own values: the items of the chosen data and the backend's memory. */
export function formContext(numItems: number | undefined, backend: string | undefined): ConfigContext {
  const memoryLimitBytes = backend ? backendMemoryLimit(backend) : undefined;
  return { ...(numItems !== undefined ? { numItems } : {}), ...(memoryLimitBytes !== undefined ? { memoryLimitBytes } : {}) };
}
