/**
 * The config form of every stage page, drawn from the stage's declaration (src/core/stages): one
 * row per field — key, value, unit, a "changed" badge with the preset's value, and where the
 * preset's value comes from. The main fields are shown; the rest sit under "All settings". A value
 * the declaration refuses is marked on its row with the reason; `StartReasons` lists them beside
 * the page's disabled Start button.
 */
import { useState } from 'react';
import { formatFieldValue, fieldValue, provenanceOf, type FieldDecl, type StageDecl } from '../../core/stages/fields.ts';
import type { FormCheck } from '../stageForm.ts';

export interface StageConfigFormProps {
  decl: StageDecl<object>;
  preset: string;
  /** Field key → the text the user sees (every field of the declaration). */
  values: Record<string, string>;
  onChange: (key: string, text: string) => void;
  check: FormCheck<object>;
  /** Test ids: `<p>-fields`, `<p>-field-<key>`, `<p>-changed-<key>`, `<p>-error-<key>`, `<p>-changed-count`, `<p>-all-settings`. */
  testIdPrefix: string;
  /** A different test id for some fields' inputs (kept for older specs). */
  fieldTestIds?: Readonly<Record<string, string>>;
  /** Fields the page sets itself and does not show (e.g. the seed of a sweep). */
  hidden?: readonly string[];
  /** Fields shown but not editable here (e.g. the width that follows the chosen table). */
  readOnly?: readonly string[];
  disabled?: boolean;
}

function FieldInput({ f, text, id, testId, invalid, disabled, onChange }: {
  f: FieldDecl; text: string; id: string; testId: string; invalid: boolean; disabled: boolean; onChange: (t: string) => void;
}) {
  if (f.kind === 'bool') {
    return <input id={id} type="checkbox" data-testid={testId} checked={text === 'true'} disabled={disabled} onChange={(e) => onChange(String(e.target.checked))} />;
  }
  if (f.kind === 'enum') {
    const options = f.options ?? [];
    return (
      <select id={id} data-testid={testId} value={text} disabled={disabled || options.length < 2} aria-invalid={invalid}
        title={options.length < 2 ? 'The only option implemented' : undefined} onChange={(e) => onChange(e.target.value)}>
        {!options.includes(text) && <option value={text}>{text}</option>}
        {options.map((o) => <option key={o} value={o}>{o}</option>)}
      </select>
    );
  }
  return (
    <input id={id} type="text" inputMode={f.kind === 'int' || f.kind === 'float' ? 'decimal' : 'text'} className={`num-input${invalid ? ' invalid' : ''}`}
      data-testid={testId} value={text} size={f.kind === 'ints' || f.kind === 'floats' ? 14 : 10} aria-invalid={invalid} disabled={disabled}
      onChange={(e) => onChange(e.target.value)} />
  );
}

function FieldRows({ fields, props }: { fields: readonly FieldDecl[]; props: StageConfigFormProps }) {
  const { decl, preset, values, check, testIdPrefix: p, fieldTestIds, readOnly, disabled, onChange } = props;
  const info = decl.presets[preset];
  return (
    <>
      {fields.map((f) => {
        const base = info ? formatFieldValue(fieldValue(f, info.values)) : '';
        const text = values[f.key] ?? base;
        const changed = Object.prototype.hasOwnProperty.call(check.edited, f.key);
        const errors = check.byField[f.key] ?? [];
        const id = `${p}-field-${f.key}`;
        const testId = fieldTestIds?.[f.key] ?? id;
        const note = provenanceOf(info, f.key);
        return (
          <tr key={f.key} className={changed ? 'changed' : undefined} data-testid={`${p}-config-row`} data-key={f.key}>
            <td><label htmlFor={id} title={f.help}><code>{f.key}</code></label>{f.label !== f.key && <div className="small muted">{f.label}</div>}</td>
            <td>
              <div className="inline-field">
                {readOnly?.includes(f.key)
                  ? <span data-testid={testId}>{text}</span>
                  : <FieldInput f={f} text={text} id={id} testId={testId} invalid={errors.length > 0} disabled={Boolean(disabled)} onChange={(t) => onChange(f.key, t)} />}
                {changed && (
                  <span className="badge badge-warn" data-testid={`${p}-changed-${f.key}`} title={`${preset} preset: ${base}`}>changed · preset {base}</span>
                )}
              </div>
              {errors.map((m) => <div key={m} className="small error-text" data-testid={`${p}-error-${f.key}`}>{m}</div>)}
            </td>
            <td className="small muted">{f.unit ?? ''}</td>
            <td className="small provenance">
              {note && note.sources.map((s) => <span key={s} className={`badge${s === 'ours' ? ' badge-warn' : ''}`} data-testid={`${p}-prov-source`}>{s}</span>)}{' '}
              <span className="muted">{changed ? `changed by you; the preset's value: ${note?.note ?? 'as the paper'}` : note?.note ?? 'as the paper preset'}</span>
            </td>
          </tr>
        );
      })}
    </>
  );
}

function Table({ fields, props, testId }: { fields: readonly FieldDecl[]; props: StageConfigFormProps; testId?: string }) {
  return (
    <div className="table-wrap">
      <table className="table config-table compact" data-testid={testId}>
        <thead><tr><th>Key</th><th>Value</th><th>Unit</th><th>Source of the preset value</th></tr></thead>
        <tbody><FieldRows fields={fields} props={props} /></tbody>
      </table>
    </div>
  );
}

export function StageConfigForm(props: StageConfigFormProps) {
  const { decl, preset, check, testIdPrefix: p, hidden } = props;
  const shown = decl.fields.filter((f) => !hidden?.includes(f.key));
  const main = shown.filter((f) => f.main);
  const rest = shown.filter((f) => !f.main);
  const restHasError = rest.some((f) => check.byField[f.key]?.length);
  const [open, setOpen] = useState(false);
  const changedCount = Object.keys(check.edited).filter((k) => !hidden?.includes(k)).length;
  const whole = [...(check.byField.config ?? []), ...(check.byField.preset ?? [])];
  return (
    <div className="stage-config" data-testid={`${p}-fields`}>
      <p className="small" data-testid={`${p}-changed-count`}>
        {changedCount ? `${changedCount} value${changedCount === 1 ? '' : 's'} differ${changedCount === 1 ? 's' : ''} from the ${preset} preset` : `All values as in the ${preset} preset`}
      </p>
      <Table fields={main.length ? main : shown} props={props} />
      {main.length > 0 && rest.length > 0 && (
        <details data-testid={`${p}-all-settings`} open={open || restHasError} onToggle={(e) => setOpen((e.target as HTMLDetailsElement).open)}>
          <summary>All settings ({rest.length} more)</summary>
          <Table fields={rest} props={props} />
        </details>
      )}
      {whole.map((m) => <p key={m} className="small error-text" data-testid={`${p}-error-config`}>{m}</p>)}
    </div>
  );
}

/** The reasons a Start button is disabled, listed under it. */
export function StartReasons({ reasons, testId }: { reasons: readonly string[]; testId: string }) {
  if (!reasons.length) return null;
  return (
    <ul className="small error-text start-reasons" data-testid={testId}>
      {reasons.map((r) => <li key={r}>{r}</li>)}
    </ul>
  );
}
