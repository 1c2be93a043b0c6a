/**
 * The stage forms' check (src/app/stageForm.ts): every field of every stage's declaration refuses
 * text that is not a value of it, naming the field, so the page's Start stays disabled; values
 * equal to the preset's are not edits; what the form sends resolves to the same config in the worker.
 */
import { describe, expect, it } from 'vitest';
import { checkForm, editedValues, formContext, presetFormValues, startBlockers } from '../../src/app/stageForm.ts';
import { EMBEDDINGS_STAGE } from '../../src/core/stages/embeddings.ts';
import { resolveStage, type FieldDecl, type StageDecl } from '../../src/core/stages/fields.ts';
import { GRPO_STAGE } from '../../src/core/stages/grpo.ts';
import { SWEEP_DECL } from '../../src/core/stages/experiments.ts';
import { JOINT_STAGE } from '../../src/core/stages/joint.ts';
import { tokenizerStage } from '../../src/core/stages/tokenizer.ts';

const STAGES: StageDecl<object>[] = [EMBEDDINGS_STAGE, tokenizerStage(64), JOINT_STAGE, GRPO_STAGE, SWEEP_DECL] as StageDecl<object>[];

/** Text a user could type that the field must refuse. */
function badTexts(f: FieldDecl): string[] {
  switch (f.kind) {
    case 'int':
    case 'float': {
      const out = ['abc', 'NaN', 'Infinity', '1e999'];
      if (f.max !== undefined) out.push(String(f.max * 2 + 1));
      if (f.min !== undefined) out.push(String(f.min - 1));
      if (f.kind === 'int') out.push('1.5');
      return out;
    }
    case 'ints':
    case 'floats':
      return ['abc', '1,NaN,2', '1,Infinity,2'];
    case 'bool':
      return ['yes'];
    case 'enum':
      return ['no-such-option'];
    case 'enums':
      return ['', 'no-such-option', `${f.options?.[0]},${f.options?.[0]}`];
  }
}

describe('stage forms', () => {
  for (const decl of STAGES) {
    it(`${decl.stage}: every preset's own values are valid and unedited`, () => {
      for (const name of Object.keys(decl.presets)) {
        const values = presetFormValues(decl, name);
        expect(Object.keys(values).sort()).toEqual(decl.fields.map((f) => f.key).sort());
        const c = checkForm(decl, name, values);
        expect(c.errors).toEqual([]);
        expect(c.edited).toEqual({});
        expect(c.config).toEqual(decl.presets[name].values);
      }
    });

    it(`${decl.stage}: every field refuses non-numbers, NaN, Inf and out-of-range text with its name`, () => {
      const preset = decl.defaultPreset;
      for (const f of decl.fields) {
        for (const bad of badTexts(f)) {
          const values = { ...presetFormValues(decl, preset), [f.key]: bad };
          const c = checkForm(decl, preset, values);
          expect(c.config, `${decl.stage} ${f.key} = ${bad}`).toBeNull();
          expect(c.byField[f.key]?.[0], `${decl.stage} ${f.key} = ${bad}`).toContain(f.key);
          expect(startBlockers(c).length).toBeGreaterThan(0);
        }
      }
    });
  }

  it('the same number written differently is not an edit; a real edit resolves as the worker resolves it', () => {
    const values = { ...presetFormValues(JOINT_STAGE as StageDecl<object>, 'quick'), lr_rec: '1e-3', 't5.d_model': '48', ablation: 'no_sia' };
    expect(JOINT_STAGE.presets.quick.values.lr_rec).toBe(0.001);
    const edited = editedValues(JOINT_STAGE as StageDecl<object>, 'quick', values);
    expect(edited).toEqual({ 't5.d_model': '48', ablation: 'no_sia' });
    const c = checkForm(JOINT_STAGE, 'quick', values);
    const worker = resolveStage(JOINT_STAGE, 'quick', edited);
    expect(worker.ok && c.config).toEqual(worker.ok ? worker.config : null);
    expect(c.config?.t5.d_model).toBe(48);
    expect(c.config?.ablation.sia).toBe(false);
  });

  it('an oversized model, beams over the items and a memory estimate over the wasm heap are refused in the form', () => {
    const base = presetFormValues(JOINT_STAGE as StageDecl<object>, 'quick');
    expect(checkForm(JOINT_STAGE, 'quick', { ...base, 't5.d_model': '100000' }).byField['t5.d_model']?.[0]).toMatch(/t5\.d_model must be an integer/);
    expect(checkForm(JOINT_STAGE, 'quick', { ...base, num_beams: '500', return_beams: '10' }, formContext(300, 'wasm')).byField.num_beams?.[0]).toMatch(/300 items/);
    const huge = { ...base, 't5.d_model': '2048', 't5.d_ff': '16384', 't5.num_layers': '48', 't5.num_decoder_layers': '48', micro_batch_size: '4096', batch_size: '4096' };
    expect(checkForm(JOINT_STAGE, 'quick', huge, formContext(900, 'wasm')).byField.config?.[0]).toMatch(/GiB/);
    // webgpu is not bounded here: the same config passes the form there
    expect(checkForm(JOINT_STAGE, 'quick', huge, formContext(900, 'webgpu')).errors).toEqual([]);
  });

  it("lists the page's own reasons before the refused values", () => {
    const c = checkForm(GRPO_STAGE, 'quick', { ...presetFormValues(GRPO_STAGE as StageDecl<object>, 'quick'), lr: 'abc' });
    expect(startBlockers(c, [false, 'choose a joint run', null])).toEqual(['choose a joint run', 'lr must be a finite number ≥ 0 and ≤ 10, got "abc"']);
  });
});
