// The stage declarations: every field refuses bad text and out-of-range values with its name, the
// presets resolve to the configs they had before the declarations existed, and every config value
// has a field (so the form, the CLI and links can set it).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { diffStageConfigs, fieldsHelp, formValuesOf, overridesFrom, parseFieldValue, resolveStage, validateStageConfig, type FieldDecl, type StageDecl } from '../../../src/core/stages/fields.ts';
import { JOINT_STAGE, applyJointSettings } from '../../../src/core/stages/joint.ts';
import { EMBEDDINGS_STAGE } from '../../../src/core/stages/embeddings.ts';
import { tokenizerStage } from '../../../src/core/stages/tokenizer.ts';
import { GRPO_STAGE } from '../../../src/core/stages/grpo.ts';

// Resolved presets as they were before the declarations (dumped from the previous commit).
const before = JSON.parse(readFileSync(join(__dirname, 'presets-before.json'), 'utf8')) as Record<string, Record<string, unknown>>;

const STAGES: StageDecl<object>[] = [JOINT_STAGE, EMBEDDINGS_STAGE, tokenizerStage(256), GRPO_STAGE] as StageDecl<object>[];

/** Values a field must refuse. */
function badValues(f: FieldDecl): unknown[] {
  if (f.kind === 'bool') return ['yes', '1', 'abc', 2];
  if (f.kind === 'enum') return ['nope', '', 3];
  if (f.kind === 'ints' || f.kind === 'floats') {
    const n = f.length ?? 2;
    const out: unknown[] = ['abc', Array(n).fill('NaN').join(','), Array(n).fill('Infinity').join(',')];
    if (f.length) out.push(Array(f.length + 1).fill(String(f.min ?? 1)).join(','));
    if (f.min !== undefined) out.push(Array(n).fill(String(f.min - 1)).join(','));
    if (f.kind === 'ints') out.push(Array(n).fill('2.5').join(','));
    return out;
  }
  const out: unknown[] = ['abc', 'NaN', 'Infinity', '-Infinity', NaN, Infinity, '1e', '0x10'];
  if (f.min !== undefined) out.push(f.exclusiveMin ? f.min : f.min - 1);
  if (f.max !== undefined) out.push(f.exclusiveMax ? f.max : f.max + 1);
  if (f.kind === 'int') out.push('1.5', 2.5);
  if (!f.nullable) out.push('');
  return out;
}

describe('stage declarations', () => {
  for (const decl of STAGES) {
    describe(decl.stage, () => {
      it('every field refuses non-numeric, NaN, Inf and out-of-range input, naming the field', () => {
        let checked = 0;
        for (const f of decl.fields) {
          for (const bad of badValues(f)) {
            const r = resolveStage(decl, decl.defaultPreset, { [f.key]: bad });
            expect(r.ok, `${decl.stage}.${f.key} = ${String(bad)}`).toBe(false);
            if (!r.ok) {
              expect(r.errors[0].field).toBe(f.key);
              expect(r.errors[0].message).toContain(f.key);
            }
            checked++;
          }
        }
        expect(checked).toBeGreaterThan(decl.fields.length * 2);
      });

      it('every preset resolves without overrides; its values pass validation', () => {
        for (const name of Object.keys(decl.presets)) {
          const r = resolveStage(decl, name, {});
          expect(r.ok, name).toBe(true);
          expect(validateStageConfig(decl, decl.presets[name].values)).toEqual([]);
        }
      });

      it('every value of every preset has a field (a flag, a form entry, a link key)', () => {
        const keys = new Set(decl.fields.map((f) => f.key));
        const leaves = (o: Record<string, unknown>, prefix = ''): string[] =>
          Object.entries(o).flatMap(([k, v]) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? leaves(v as Record<string, unknown>, `${prefix}${k}.`) : [`${prefix}${k}`]));
        for (const p of Object.values(decl.presets)) {
          const missing = leaves(p.values as Record<string, unknown>).filter((k) => !keys.has(k));
          expect(missing, p.name).toEqual([]);
        }
      });

      it('a config round-trips through its overrides and its form text', () => {
        const name = decl.defaultPreset;
        const base = decl.presets[name].values;
        const other = Object.keys(decl.presets).find((p) => p !== name)!;
        const target = decl.presets[other].values;
        const viaOverrides = resolveStage(decl, name, overridesFrom(decl, name, target));
        expect(viaOverrides.ok && viaOverrides.config).toEqual(target);
        const viaText = resolveStage(decl, name, formValuesOf(decl, target));
        expect(viaText.ok && viaText.config).toEqual(target);
        expect(diffStageConfigs(decl, base, base)).toEqual([]);
      });

      it('--help lines exist for every field with its flag', () => {
        const help = fieldsHelp(decl);
        for (const f of decl.fields) expect(help).toContain(`--${f.key}${f.kind === "bool" ? " | --no-" + f.key : " "}`);
      });

      it('unknown keys are refused by name', () => {
        const r = resolveStage(decl, decl.defaultPreset, { no_such_field: 1 });
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.errors[0]).toMatchObject({ field: 'no_such_field' });
        expect(resolveStage(decl, 'nope', {}).ok).toBe(false);
      });
    });
  }

  it('presets resolve to the same configs as before the declarations (converge, GRPO: only their new values)', () => {
    const paper = resolveStage(JOINT_STAGE, 'paper', {});
    expect(paper.ok && paper.config, 'joint paper').toEqual(before.joint.paper);
    // quick (and converge, which shares its values) since: one micro-batch per batch of 64
    const quick = resolveStage(JOINT_STAGE, 'quick', {});
    expect(quick.ok && quick.config, 'joint quick').toEqual({ ...(before.joint.quick as object), micro_batch_size: 64 });
    const conv = resolveStage(JOINT_STAGE, 'converge', {});
    expect(conv.ok).toBe(true);
    if (conv.ok) expect(diffStageConfigs(JOINT_STAGE as StageDecl<object>, before.joint.converge as object, conv.config).map((c) => c.key).sort()).toEqual(['finetune.epochs', 'micro_batch_size', 't5.dropout_rate']);
    for (const name of ['paper', 'quick']) {
      const e = resolveStage(EMBEDDINGS_STAGE, name, {});
      expect(e.ok && e.config, `embeddings ${name}`).toEqual(before.embeddings[name]);
      // GRPO's fields added since (the training subset, constrained sampling): the rest as before
      const g = resolveStage(GRPO_STAGE, name, {});
      if (!g.ok) throw new Error(`grpo ${name}: ${g.errors[0].message}`);
      const { train_limit, constrained_sampling, ...rest } = g.config;
      expect(rest, `grpo ${name}`).toEqual(before.grpo[name]);
      expect([train_limit, constrained_sampling], `grpo ${name} new fields`).toEqual(name === 'quick' ? [384, false] : [null, false]);
      for (const dim of [64, 256, 1024]) {
        const t = resolveStage(tokenizerStage(dim), name, {});
        expect(t.ok && t.config, `tokenizer ${name}@${dim}`).toEqual(before.tokenizer[`${name}@${dim}`]);
      }
    }
  });

  it('text and typed overrides parse by the field kind; nested objects and aliases work', () => {
    const r = resolveStage(JOINT_STAGE, 'quick', { lr_rec: '7e-4', 't5.dropout_rate': 0.2, finetune: { epochs: '3' }, batch: '32', ablation: 'no_sia', 'ablation.psa': false });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.lr_rec).toBe(7e-4);
    expect(r.config.t5.dropout_rate).toBe(0.2);
    expect(r.config.finetune.epochs).toBe(3);
    expect(r.config.batch_size).toBe(32);
    expect(r.config.ablation).toEqual({ sia: false, psa: false, alternation: true, endToEnd: true });
    const g = resolveStage(GRPO_STAGE, 'quick', { valid_limit: 'all', test_limit: '100' });
    expect(g.ok && [g.config.valid_limit, g.config.test_limit]).toEqual([null, 100]);
    const t = resolveStage(tokenizerStage(64), 'quick', { num_emb_list: '64,64,32', layers: '[128]' });
    expect(t.ok && [t.config.num_emb_list, t.config.layers]).toEqual([[64, 64, 32], [128]]);
  });

  it('inconsistent combinations are refused with the field named', () => {
    const cases: [StageDecl<object>, Record<string, unknown>, string][] = [
      [JOINT_STAGE as StageDecl<object>, { cycle: 4, eval_step: 3 }, 'eval_step'],
      [JOINT_STAGE as StageDecl<object>, { num_beams: 4, return_beams: 10 }, 'return_beams'],
      [EMBEDDINGS_STAGE as StageDecl<object>, { hidden_size: 64, n_heads: 3 }, 'n_heads'],
      [tokenizerStage(64) as StageDecl<object>, { sk_epsilons: '0,0' }, 'sk_epsilons'],
      [GRPO_STAGE as StageDecl<object>, { num_beams: 5, return_beams: 10 }, 'return_beams'],
    ];
    for (const [decl, o, field] of cases) {
      const r = resolveStage(decl, decl.defaultPreset, o);
      expect(r.ok, JSON.stringify(o)).toBe(false);
      if (!r.ok) expect(r.errors.map((e) => e.field)).toContain(field);
    }
    const beams = resolveStage(JOINT_STAGE, 'quick', { num_beams: 50 }, { numItems: 40 });
    expect(beams.ok).toBe(false);
    if (!beams.ok) expect(beams.errors[0]).toMatchObject({ field: 'num_beams' });
  });

  it('an oversized model is refused before training (range, then the memory estimate)', () => {
    const huge = resolveStage(JOINT_STAGE, 'quick', { 't5.d_model': 100000 });
    expect(huge.ok).toBe(false);
    if (!huge.ok) expect(huge.errors[0]).toMatchObject({ field: 't5.d_model' });
    const big = { 't5.d_model': 2048, 't5.d_ff': 16384, 't5.num_layers': 24, 't5.num_decoder_layers': 24, 't5.num_heads': 32, 't5.d_kv': 128, micro_batch_size: 512, batch_size: 512, max_history: 50 };
    const limit = { memoryLimitBytes: 4 * 2 ** 30 };
    const r = resolveStage(JOINT_STAGE, 'quick', big, limit);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0].message).toMatch(/GiB/);
    // the paper's own size fits in the wasm heap (it trains there)
    expect(resolveStage(JOINT_STAGE, 'paper', {}, limit).ok).toBe(true);
  });

  it('a config read from a file is checked whole: NaN, Inf, wrong types and missing values are named', () => {
    const q = structuredClone(JOINT_STAGE.presets.quick.values);
    expect(validateStageConfig(JOINT_STAGE, { ...q, lr_rec: NaN }).map((e) => e.field)).toEqual(['lr_rec']);
    expect(validateStageConfig(JOINT_STAGE, { ...q, t5: { ...q.t5, d_kv: Infinity } }).map((e) => e.field)).toEqual(['t5.d_kv']);
    expect(validateStageConfig(JOINT_STAGE, { ...q, epochs: '5' as unknown as number }).map((e) => e.field)).toEqual(['epochs']);
    const { cycle: _drop, ...noCycle } = q;
    expect(validateStageConfig(JOINT_STAGE, noCycle as typeof q).map((e) => e.field)).toEqual(['cycle']);
    expect(validateStageConfig(JOINT_STAGE, { ...q, train_limit: undefined })).toEqual([]); // stored before it existed
  });

  it('key=value settings use the same fields and errors', () => {
    const q = JOINT_STAGE.presets.quick.values;
    expect(applyJointSettings(q, ['t5.d_model=32']).t5.d_model).toBe(32);
    expect(() => applyJointSettings(q, ['t5.d_model=abc'])).toThrow(/t5\.d_model must be an integer/);
    expect(() => applyJointSettings(q, ['t5.d_model=100000'])).toThrow(/t5\.d_model must be an integer ≥ 8 and ≤ 2048/);
  });

  it('parseFieldValue keeps large exact integers and refuses unsafe ones', () => {
    const seed = JOINT_STAGE.fields.find((f) => f.key === 'seed')!;
    expect(parseFieldValue(seed, '4294967295')).toEqual({ ok: true, value: 4294967295 });
    expect(parseFieldValue(seed, '4294967296').ok).toBe(false);
    expect(parseFieldValue({ ...seed, max: undefined }, String(2 ** 53 + 2)).ok).toBe(false);
  });
});
