/** A config from the UI or a stored run checked against its stage declaration, as a StudioError. */
import { StudioError } from '../src/core/errors.ts';
import { expectedText, fieldValue, validateStageConfig, type ConfigContext, type StageDecl } from '../src/core/stages/fields.ts';

/** The first problem of `config` (null when valid), naming the field, what it expects and what it got. */
export function firstConfigError<C extends object>(decl: StageDecl<C>, config: C, what: string, ctx: ConfigContext = {}): StudioError | null {
  if (!config || typeof config !== 'object') {
    return new StudioError({ code: 'bad_option', field: 'config', message: `No ${what} configuration was given`, expected: 'an object', found: String(config) });
  }
  const errs = validateStageConfig(decl, config, ctx);
  if (!errs.length) return null;
  const e = errs[0];
  const f = decl.fields.find((x) => x.key === e.field);
  const found = f ? fieldValue(f, config) : undefined;
  return new StudioError({
    code: 'bad_option',
    field: e.field,
    message: errs.map((x) => x.message).join('; '),
    ...(f ? { expected: expectedText(f) } : {}),
    ...(found !== undefined ? { found: typeof found === 'object' ? JSON.stringify(found) : String(found) } : {}),
  });
}
