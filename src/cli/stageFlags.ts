/**
 * Command-line flags generated from a stage declaration: one flag per config field (`--lr_rec`,
 * `--t5.d_model`, `--finetune.epochs`; bools as `--forge` / `--no-forge`), older flag names kept as
 * aliases, `--set key=value` for the same fields, and the --help lines. Parsing goes through the
 * declaration's own resolve, so the CLI refuses exactly what the studio's form refuses.
 */
import type { ParseArgsConfig } from 'node:util';
import { fieldsHelp, resolveStage, type ConfigContext, type FieldDecl, type StageDecl } from '../core/stages/fields.ts';
import { UsageError, type ParsedArgs } from './command.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/** The flags of a stage's fields (`reserved`: names the command itself uses for something else). */
export function stageOptions(decl: StageDecl<object>, reserved: readonly string[] = []): Options {
  const out: Options = {};
  const add = (name: string, type: 'string' | 'boolean') => {
    if (!reserved.includes(name) && !(name in out)) out[name] = { type };
  };
  for (const f of decl.fields) {
    if (f.kind === 'bool') {
      add(f.key, 'boolean');
      add(`no-${f.key}`, 'boolean');
    } else add(f.key, 'string');
    for (const a of f.aliases ?? []) add(a, f.kind === 'bool' ? 'boolean' : 'string');
  }
  return { ...out, set: { type: 'string', multiple: true } };
}

function flagsOf(f: FieldDecl, reserved: readonly string[]): string[] {
  const names = [f.key, ...(f.aliases ?? [])].filter((n) => !reserved.includes(n));
  return f.kind === 'bool' ? [...names, `no-${f.key}`] : names;
}

/**
 * The config of a command line: `preset` plus every field flag and `--set` given. Errors name the
 * flag and what it expects (exit code 2 through UsageError).
 */
export function stageConfigFromArgs<C extends object>(decl: StageDecl<C>, preset: string, v: ParsedArgs['values'], ctx: ConfigContext = {}, reserved: readonly string[] = []): C {
  const overrides: Record<string, unknown> = {};
  const flagOfKey = new Map<string, string>();
  for (const f of decl.fields) {
    for (const name of flagsOf(f, reserved)) {
      const raw = v[name];
      if (raw === undefined) continue;
      const value = name === `no-${f.key}` ? false : raw;
      if (f.key in overrides && JSON.stringify(overrides[f.key]) !== JSON.stringify(value)) {
        throw new UsageError(`--${flagOfKey.get(f.key)} and --${name} set ${f.key} twice`);
      }
      overrides[f.key] = value;
      flagOfKey.set(f.key, name);
    }
  }
  for (const s of (v.set ?? []) as string[]) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set: "${s}" is not key=value`);
    const key = s.slice(0, eq).trim();
    overrides[key] = s.slice(eq + 1).trim();
    flagOfKey.set(key, `set ${key}=…`);
  }
  const r = resolveStage(decl, preset, overrides, ctx);
  if (!r.ok) {
    const msg = r.errors.map((e) => (flagOfKey.has(e.field) ? `--${flagOfKey.get(e.field)}: ${e.message}` : e.message)).join('; ');
    throw new UsageError(msg);
  }
  return r.config;
}

/** The "Config fields" part of a command's --help. */
export function stageFlagsHelp(decl: StageDecl<object>, preset = decl.defaultPreset): string {
  return `Config fields (${decl.title}; every value of the config, shown with the ${preset} preset's value;
bools also as --no-<key>; --set <key>=<value> sets the same fields):
${fieldsHelp(decl, preset)}`;
}
